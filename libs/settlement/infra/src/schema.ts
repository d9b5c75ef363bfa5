import type { Pool, PoolClient } from 'pg';
import { ensureMessagingTables } from '@dh/messaging';
import { DataHubChargeCopy } from '@dh/rates-application';

/** Settlement's own schema: its copies of other contexts' facts, its inbox and its invoice index. */
export const SETTLEMENT_SCHEMA = 'settlement';

/** Settlement's copy of DataHub's charge links and price lists (tables `settlement.datahub_charge_*`). */
export const settlementChargeCopy = new DataHubChargeCopy(SETTLEMENT_SCHEMA);

export async function migrateSettlement(pool: Pool): Promise<void> {
  const client: PoolClient = await pool.connect();
  await client.query(`SELECT pg_advisory_lock(hashtext('settlement-migration'))`);
  try {
    await client.query(`
      CREATE SCHEMA IF NOT EXISTS settlement;
      CREATE TABLE IF NOT EXISTS settlement.spot_prices (
        price_area text NOT NULL, start timestamptz NOT NULL, resolution text NOT NULL, version int NOT NULL,
        published_at timestamptz NOT NULL, dkk_per_kwh text NOT NULL,
        PRIMARY KEY (price_area, start, resolution, version, published_at));
      CREATE TABLE IF NOT EXISTS settlement.charges (
        charge_id text PRIMARY KEY, owner text NOT NULL, charge_type text NOT NULL, code text NOT NULL, description text NOT NULL);
      CREATE TABLE IF NOT EXISTS settlement.charge_rows (
        charge_id text NOT NULL, version int NOT NULL, published_at timestamptz NOT NULL, valid_from text NOT NULL, valid_to text,
        resolution text NOT NULL, prices jsonb NOT NULL,
        PRIMARY KEY (charge_id, version, published_at, valid_from));
      CREATE TABLE IF NOT EXISTS settlement.products (
        product_id text NOT NULL, valid_from text NOT NULL, published_at timestamptz NOT NULL, name text NOT NULL,
        margin_dkk_per_kwh text NOT NULL, monthly_subscription_dkk text NOT NULL, export_fee_dkk_per_kwh text,
        PRIMARY KEY (product_id, valid_from, published_at));
      CREATE TABLE IF NOT EXISTS settlement.tax_rates (
        valid_from text NOT NULL, published_at timestamptz NOT NULL, valid_to text, normal_dkk_per_kwh text NOT NULL, reduced_dkk_per_kwh text NOT NULL,
        PRIMARY KEY (valid_from, published_at));
      CREATE TABLE IF NOT EXISTS settlement.grid_areas (
        grid_area text PRIMARY KEY, price_area text NOT NULL, grid_company_gln text NOT NULL,
        grid_tariff_charge_id text NOT NULL, grid_subscription_charge_id text NOT NULL);
      CREATE TABLE IF NOT EXISTS settlement.supplies (
        gsrn text NOT NULL, start_date text NOT NULL, customer_id text NOT NULL, end_date text, product_id text NOT NULL,
        electric_heating boolean NOT NULL, grid_area text NOT NULL, production_gsrn text, billing_frequency text NOT NULL,
        payment_model text NOT NULL, reversed boolean NOT NULL DEFAULT false,
        PRIMARY KEY (gsrn, start_date));
      CREATE TABLE IF NOT EXISTS settlement.metered_data (
        gsrn text NOT NULL, day text NOT NULL, version int NOT NULL, document_id text NOT NULL, received_at timestamptz NOT NULL,
        resolution text NOT NULL, start timestamptz NOT NULL, points jsonb NOT NULL, event_id uuid NOT NULL,
        PRIMARY KEY (gsrn, day, version));
      CREATE TABLE IF NOT EXISTS settlement.metered_streams (gsrn text PRIMARY KEY, revision bigint NOT NULL);
      -- Issue 8: a day's values as integer Wh (wh, from first_position) and quality runs; points (jsonb objects) only for
      -- days written before, or not exact in Wh. Readers take both (meteredPointsOf).
      ALTER TABLE settlement.metered_data ALTER COLUMN points DROP NOT NULL;
      ALTER TABLE settlement.metered_data ADD COLUMN IF NOT EXISTS first_position int;
      ALTER TABLE settlement.metered_data ADD COLUMN IF NOT EXISTS wh int[];
      ALTER TABLE settlement.metered_data ADD COLUMN IF NOT EXISTS qualities jsonb;
      CREATE TABLE IF NOT EXISTS settlement.aconto_payments (
        payment_id text PRIMARY KEY, customer_id text NOT NULL, gsrn text NOT NULL, amount numeric(18,2) NOT NULL, paid_at timestamptz NOT NULL);
      CREATE TABLE IF NOT EXISTS settlement.invoices (
        invoice_id uuid PRIMARY KEY, gsrn text NOT NULL, production_gsrn text, customer_id text NOT NULL, period_label text NOT NULL,
        period_from text NOT NULL, period_to text NOT NULL, price_area text NOT NULL, grid_area text NOT NULL);
      -- Catalog first, ALTER only when needed: an ALTER takes an exclusive lock on a table workers read, and a
      -- process started beside busy workers would otherwise deadlock in its start-up migration (README).
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'settlement' AND table_name = 'products' AND column_name = 'aconto_quarter_shares') THEN
          ALTER TABLE settlement.products ADD COLUMN IF NOT EXISTS expected_all_in_price_per_kwh text, ADD COLUMN IF NOT EXISTS aconto_quarter_shares jsonb;
        END IF;
      END $$;
      -- The event that brought each price row (a correction note names the publications that changed its lines:
      -- correction-causation.ts); rows copied before have none.
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'settlement' AND table_name = 'charge_rows' AND column_name = 'event_id') THEN
          ALTER TABLE settlement.spot_prices ADD COLUMN IF NOT EXISTS event_id uuid;
          ALTER TABLE settlement.charge_rows ADD COLUMN IF NOT EXISTS event_id uuid;
          ALTER TABLE settlement.tax_rates ADD COLUMN IF NOT EXISTS event_id uuid;
          ALTER TABLE settlement.products ADD COLUMN IF NOT EXISTS event_id uuid;
        END IF;
      END $$;
      CREATE TABLE IF NOT EXISTS settlement.expected_consumption (
        gsrn text PRIMARY KEY, customer_id text, expected_annual_kwh text NOT NULL, source text NOT NULL, basis text, set_at timestamptz NOT NULL);
      CREATE TABLE IF NOT EXISTS settlement.electric_heating_changes (
        gsrn text NOT NULL, valid_from text NOT NULL, electric_heating boolean NOT NULL, PRIMARY KEY (gsrn, valid_from));
      CREATE TABLE IF NOT EXISTS settlement.production_links (
        gsrn text NOT NULL, valid_from text NOT NULL, production_gsrn text NOT NULL, PRIMARY KEY (gsrn, valid_from));
      CREATE TABLE IF NOT EXISTS settlement.product_changes (
        gsrn text NOT NULL, valid_from text NOT NULL, product_id text NOT NULL, PRIMARY KEY (gsrn, valid_from));
      -- Settlement runs (run.ts): one row per run, one per batch of work items, one per item's outcome.
      -- A period has runs 1, 2, … (seq): a later run settles what is not yet invoiced (issue 9).
      CREATE TABLE IF NOT EXISTS settlement.runs (
        run_id text PRIMARY KEY, period_label text NOT NULL, seq int NOT NULL DEFAULT 1, scope text NOT NULL DEFAULT 'all', period jsonb NOT NULL, as_of timestamptz NOT NULL,
        cursor_gsrn text, batches_total int NOT NULL DEFAULT 0, items_total int NOT NULL DEFAULT 0, scheduled boolean NOT NULL DEFAULT false,
        batches_done int NOT NULL DEFAULT 0, invoiced int NOT NULL DEFAULT 0, halted int NOT NULL DEFAULT 0, completed boolean NOT NULL DEFAULT false);
      -- Deployments from before later runs: one run per period (period_label UNIQUE) becomes run 1 of its period.
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'settlement' AND table_name = 'runs' AND column_name = 'seq') THEN
          ALTER TABLE settlement.runs ADD COLUMN IF NOT EXISTS seq int NOT NULL DEFAULT 1, ADD COLUMN IF NOT EXISTS scope text NOT NULL DEFAULT 'all';
        END IF;
        IF EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'runs_period_label_key' AND conrelid = 'settlement.runs'::regclass) THEN
          ALTER TABLE settlement.runs DROP CONSTRAINT runs_period_label_key;
        END IF;
      END $$;
      -- Indexes, catalog first as well (CREATE INDEX IF NOT EXISTS locks the table before it finds the index).
      DO $$ BEGIN
        IF to_regclass('settlement.invoices_gsrn') IS NULL THEN CREATE INDEX invoices_gsrn ON settlement.invoices (gsrn, period_from); END IF;
        IF to_regclass('settlement.invoices_customer') IS NULL THEN CREATE INDEX invoices_customer ON settlement.invoices (customer_id, invoice_id); END IF;
        IF to_regclass('settlement.invoices_period') IS NULL THEN CREATE INDEX invoices_period ON settlement.invoices (period_label, invoice_id); END IF;
        IF to_regclass('settlement.runs_period_seq') IS NULL THEN CREATE UNIQUE INDEX runs_period_seq ON settlement.runs (period_label, seq); END IF;
      END $$;
      -- Metering points of a period currently halted (not since invoiced): listed at the API, retried when the
      -- missing input arrives (retry_requested_at later than last_tried_at; see retry.ts).
      CREATE TABLE IF NOT EXISTS settlement.halted_items (
        gsrn text NOT NULL, period_label text NOT NULL, period jsonb NOT NULL, run_id text NOT NULL, reason text NOT NULL, detail jsonb NOT NULL,
        price_area text, halted_since timestamptz NOT NULL, last_tried_at timestamptz NOT NULL, retry_requested_at timestamptz,
        period_from text, period_to text, series_gsrn text, charge_id text,
        PRIMARY KEY (gsrn, period_label));
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'settlement' AND table_name = 'halted_items' AND column_name = 'series_gsrn') THEN
          ALTER TABLE settlement.halted_items ADD COLUMN IF NOT EXISTS period_from text, ADD COLUMN IF NOT EXISTS period_to text,
            ADD COLUMN IF NOT EXISTS series_gsrn text, ADD COLUMN IF NOT EXISTS charge_id text;
        END IF;
        IF to_regclass('settlement.halted_items_period') IS NULL THEN CREATE INDEX halted_items_period ON settlement.halted_items (period_label, gsrn); END IF;
        IF to_regclass('settlement.halted_items_series') IS NULL THEN CREATE INDEX halted_items_series ON settlement.halted_items (series_gsrn) WHERE series_gsrn IS NOT NULL; END IF;
      END $$;
      -- Inputs that may unblock halted items priced by them (spot of a price area, a charge, configuration), one row per
      -- key and date range however many items wait on it (retry.ts); pruned once every halted item was tried after it.
      -- One-time catch-ups done (halted-items.ts listEarlierHalts): name, when, how many rows.
      CREATE TABLE IF NOT EXISTS settlement.catch_ups (name text PRIMARY KEY, done_at timestamptz NOT NULL, items int NOT NULL);
      CREATE TABLE IF NOT EXISTS settlement.halt_retry_requests (
        kind text NOT NULL, key text NOT NULL, day_from text NOT NULL, day_to text NOT NULL, requested_at timestamptz NOT NULL,
        PRIMARY KEY (kind, key, day_from, day_to));

      CREATE TABLE IF NOT EXISTS settlement.run_batches (
        run_id text NOT NULL, batch int NOT NULL, items int NOT NULL, done int NOT NULL, invoiced int NOT NULL, halted int NOT NULL,
        PRIMARY KEY (run_id, batch));
      CREATE TABLE IF NOT EXISTS settlement.run_items (
        run_id text NOT NULL, gsrn text NOT NULL, batch int NOT NULL, outcome text NOT NULL, invoice_ids uuid[], reason text,
        PRIMARY KEY (run_id, gsrn));
      -- A run's last progress on the business clock (a batch scheduled, an item's outcome): a stalled run no longer
      -- holds back a later run of its period (run.ts runStalledSince). Catalog first (see above).
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'settlement' AND table_name = 'runs' AND column_name = 'progress_at') THEN
          ALTER TABLE settlement.runs ADD COLUMN IF NOT EXISTS progress_at timestamptz;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'settlement' AND table_name = 'run_batches' AND column_name = 'progress_at') THEN
          ALTER TABLE settlement.run_batches ADD COLUMN IF NOT EXISTS progress_at timestamptz;
        END IF;
      END $$;
      -- The run scheduler (schedule.ts): one row per period and slot day it decided (a run started, or nothing to settle).
      CREATE TABLE IF NOT EXISTS settlement.run_schedule (
        period_label text NOT NULL, slot_day text NOT NULL, slot int NOT NULL, due_at timestamptz NOT NULL, decided_at timestamptz NOT NULL,
        outcome text NOT NULL, run_id text, started_run_id text, already_started boolean, items int,
        PRIMARY KEY (period_label, slot_day));

      -- Corrections of publications (correction-jobs.ts): one row per publication, its invoices paged by a cursor.
      CREATE TABLE IF NOT EXISTS settlement.correction_jobs (
        job_id uuid PRIMARY KEY, seq bigserial NOT NULL, cause_event_id uuid NOT NULL, cause_type text NOT NULL, cause text NOT NULL,
        selector jsonb NOT NULL, trigger jsonb NOT NULL, cursor_invoice uuid, pages int NOT NULL DEFAULT 0, invoices int NOT NULL DEFAULT 0,
        issued int NOT NULL DEFAULT 0, done boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz);
      DO $$ BEGIN
        IF to_regclass('settlement.correction_jobs_waiting') IS NULL THEN CREATE INDEX correction_jobs_waiting ON settlement.correction_jobs (seq) WHERE NOT done; END IF;
      END $$;
      -- Final invoices at supply end (final-invoice.ts): one row per ended customer supply's last period, pending until issued.
      CREATE TABLE IF NOT EXISTS settlement.final_invoices (
        invoice_id uuid PRIMARY KEY, gsrn text NOT NULL, customer_id text NOT NULL, period_label text NOT NULL, period jsonb NOT NULL,
        end_date text NOT NULL, reason text, state text NOT NULL, recorded_at timestamptz NOT NULL,
        attempts int NOT NULL DEFAULT 0, last_attempt_at timestamptz, last_reason text);
      DO $$ BEGIN
        IF to_regclass('settlement.final_invoices_pending') IS NULL THEN CREATE INDEX final_invoices_pending ON settlement.final_invoices (gsrn) WHERE state = 'pending'; END IF;
      END $$;`);
    await settlementChargeCopy.migrate(client);
  } finally {
    await client.query(`SELECT pg_advisory_unlock(hashtext('settlement-migration'))`);
    client.release();
  }
  await ensureMessagingTables(pool, SETTLEMENT_SCHEMA);
}
