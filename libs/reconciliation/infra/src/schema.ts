import type { Pool } from 'pg';
import { ensureMessagingTables } from '@dh/messaging';
import { DataHubChargeCopy } from '@dh/rates-application';

/** Reconciliation's own schema: its copies of portfolio, rates and settlement facts, DataHub's results, runs and findings. */
export const RECONCILIATION_SCHEMA = 'reconciliation';
export const chargeCopy = new DataHubChargeCopy(RECONCILIATION_SCHEMA);

export async function migrateReconciliation(pool: Pool): Promise<void> {
  const client = await pool.connect();
  await client.query(`SELECT pg_advisory_lock(hashtext('reconciliation-migration'))`);
  try {
    await client.query(`
      CREATE SCHEMA IF NOT EXISTS reconciliation;
      CREATE TABLE IF NOT EXISTS reconciliation.metering_points (
        gsrn text PRIMARY KEY, type text NOT NULL, settlement_method text, grid_area text NOT NULL);
      CREATE TABLE IF NOT EXISTS reconciliation.supplies (
        gsrn text NOT NULL, start_date text NOT NULL, end_date text, grid_area text, reversed boolean NOT NULL DEFAULT false,
        PRIMARY KEY (gsrn, start_date));
      CREATE TABLE IF NOT EXISTS reconciliation.datahub_results (
        series_key text PRIMARY KEY, kind text NOT NULL, grid_area text NOT NULL, period text NOT NULL,
        business_reason text NOT NULL, settlement_version text, calculation_version int, original_transaction_id text,
        received_at timestamptz NOT NULL, data jsonb NOT NULL);
      CREATE INDEX IF NOT EXISTS datahub_results_period ON reconciliation.datahub_results (grid_area, period, kind);
      CREATE TABLE IF NOT EXISTS reconciliation.invoice_lines (
        invoice_id text NOT NULL, line_key text NOT NULL, gsrn text NOT NULL, grid_area text NOT NULL,
        period_from text NOT NULL, period_to text NOT NULL, charge_id text, amount_ore bigint NOT NULL,
        PRIMARY KEY (invoice_id, line_key));
      CREATE INDEX IF NOT EXISTS invoice_lines_area ON reconciliation.invoice_lines (grid_area, period_from);
      CREATE TABLE IF NOT EXISTS reconciliation.pending_runs (
        grid_area text NOT NULL, period text NOT NULL, due_at timestamptz NOT NULL, reason text NOT NULL,
        PRIMARY KEY (grid_area, period));
      CREATE TABLE IF NOT EXISTS reconciliation.reports (
        run_id uuid PRIMARY KEY, grid_area text NOT NULL, period text NOT NULL, completed_at timestamptz NOT NULL,
        summary jsonb NOT NULL, report jsonb NOT NULL);
      CREATE INDEX IF NOT EXISTS reports_period ON reconciliation.reports (grid_area, period, completed_at DESC);
      -- Insertion order: two runs can complete at the same business-clock moment (a simulated or frozen clock), and
      -- the latest report must then be the one stored last, not the one with the smaller random run id.
      ALTER TABLE reconciliation.reports ADD COLUMN IF NOT EXISTS seq bigserial;
      CREATE INDEX IF NOT EXISTS reports_latest ON reconciliation.reports (grid_area, period, seq DESC);
      CREATE TABLE IF NOT EXISTS reconciliation.findings (
        finding_id uuid PRIMARY KEY, grid_area text NOT NULL, period text NOT NULL, kind text NOT NULL, state text NOT NULL,
        facts jsonb NOT NULL, updated_at timestamptz NOT NULL);
      CREATE INDEX IF NOT EXISTS findings_period ON reconciliation.findings (grid_area, period, state);
      CREATE TABLE IF NOT EXISTS reconciliation.requests (
        request_id uuid PRIMARY KEY, kind text NOT NULL, grid_area text NOT NULL, period text NOT NULL, business_reason text NOT NULL,
        settlement_version text, requested_at timestamptz NOT NULL, requested_by text NOT NULL, status text NOT NULL,
        detail jsonb, updated_at timestamptz NOT NULL);`);
    await chargeCopy.migrate(client);
  } finally {
    await client.query(`SELECT pg_advisory_unlock(hashtext('reconciliation-migration'))`);
    client.release();
  }
  await ensureMessagingTables(pool, RECONCILIATION_SCHEMA);
}
