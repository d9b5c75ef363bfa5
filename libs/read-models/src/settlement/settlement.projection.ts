import type { PoolClient } from 'pg';
import type { Projection, ProjectedEvent } from '../projection/projection';
import { applyInRounds } from '../projection/coalesce';
import { PROJECTION_SCHEMA } from '../projection/projection-state';

export const SETTLEMENT_RUNS_TABLE = `${PROJECTION_SCHEMA}.settlement_runs`;
export const SETTLEMENT_INVOICES_TABLE = `${PROJECTION_SCHEMA}.settlement_invoices`;
export const SETTLEMENT_NOTES_TABLE = `${PROJECTION_SCHEMA}.settlement_notes`;
export const SETTLEMENT_HALTS_TABLE = `${PROJECTION_SCHEMA}.settlement_halts`;
/** Metering points currently halted in a period (not invoiced since): one row per (GSRN, period). */
export const SETTLEMENT_HALTED_ITEMS_TABLE = `${PROJECTION_SCHEMA}.settlement_halted_items`;
export const ACONTO_PAYMENTS_TABLE = `${PROJECTION_SCHEMA}.aconto_payments`;
export const ACONTO_INVOICES_TABLE = `${PROJECTION_SCHEMA}.aconto_invoices`;

interface Totals {
  exclVat: string;
  vat: string;
  inclVat: string;
}

/** The events `apply` handles (`settlementKeys` knows each). */
const SETTLEMENT_EVENTS: ReadonlySet<string> = new Set([
  'SettlementRunStarted',
  'SettlementRunScheduled',
  'SettlementBatchCompleted',
  'SettlementItemInvoiced',
  'SettlementCompleted',
  'SettlementHaltedForMeteringPoint',
  'SettlementHaltListed',
  'SettlementHaltResolved',
  'InvoiceIssued',
  'SettlementCorrectionIssued',
  'NoteExportAcknowledged',
  'AcontoPaymentRecorded',
  'AcontoInvoiceIssued',
]);

/**
 * Settlement as ERP and the API read it: runs with progress, invoices with lines and aconto,
 * credit/debit notes with their export state (pending until ERP acknowledges), halts, aconto payments and aconto (advance) invoices. Amounts are numeric(18,2), copied from the events'
 * 2-decimal strings (never computed here), so a rebuild gives the same rows line for line.
 */
export const settlementProjection: Projection = {
  name: 'settlement',
  bindings: ['settlement.#'],
  tables: [
    { name: SETTLEMENT_RUNS_TABLE, orderBy: 'run_id' },
    { name: SETTLEMENT_INVOICES_TABLE, orderBy: 'invoice_id' },
    { name: SETTLEMENT_NOTES_TABLE, orderBy: 'note_id' },
    { name: SETTLEMENT_HALTS_TABLE, orderBy: 'event_id' },
    { name: SETTLEMENT_HALTED_ITEMS_TABLE, orderBy: 'period, gsrn' },
    { name: ACONTO_PAYMENTS_TABLE, orderBy: 'payment_id' },
    { name: ACONTO_INVOICES_TABLE, orderBy: 'aconto_invoice_id' },
  ],
  eventTypes: SETTLEMENT_EVENTS,

  async migrate(client: PoolClient) {
    await client.query(`
      CREATE SCHEMA IF NOT EXISTS ${PROJECTION_SCHEMA};
      CREATE TABLE IF NOT EXISTS ${SETTLEMENT_RUNS_TABLE} (
        run_id uuid PRIMARY KEY, period text NOT NULL, status text NOT NULL, items_total int NOT NULL,
        items_done int NOT NULL, items_invoiced int NOT NULL, items_halted int NOT NULL,
        started_at timestamptz NOT NULL, completed_at timestamptz);
      CREATE TABLE IF NOT EXISTS ${SETTLEMENT_INVOICES_TABLE} (
        invoice_id uuid PRIMARY KEY, run_id uuid, customer_id text NOT NULL, gsrn text NOT NULL, period text NOT NULL,
        period_start text NOT NULL, period_end text NOT NULL, payment_model text NOT NULL, lines jsonb NOT NULL,
        total_excl_vat numeric(18,2) NOT NULL, total_vat numeric(18,2) NOT NULL, total_incl_vat numeric(18,2) NOT NULL,
        aconto_paid numeric(18,2) NOT NULL, aconto_difference numeric(18,2) NOT NULL, net_amount_due numeric(18,2) NOT NULL,
        estimated boolean NOT NULL, as_of timestamptz NOT NULL, issued_at timestamptz NOT NULL);
      CREATE INDEX IF NOT EXISTS settlement_invoices_period ON ${SETTLEMENT_INVOICES_TABLE} (period, gsrn);
      CREATE INDEX IF NOT EXISTS settlement_invoices_customer ON ${SETTLEMENT_INVOICES_TABLE} (customer_id);
      CREATE TABLE IF NOT EXISTS ${SETTLEMENT_NOTES_TABLE} (
        note_id uuid PRIMARY KEY, invoice_id uuid NOT NULL, customer_id text NOT NULL, gsrn text NOT NULL, period text NOT NULL,
        note_type text NOT NULL, cause text NOT NULL, lines jsonb NOT NULL,
        total_excl_vat numeric(18,2) NOT NULL, total_vat numeric(18,2) NOT NULL, total_incl_vat numeric(18,2) NOT NULL,
        issued_at timestamptz NOT NULL);
      CREATE INDEX IF NOT EXISTS settlement_notes_customer ON ${SETTLEMENT_NOTES_TABLE} (customer_id);
      ALTER TABLE ${SETTLEMENT_NOTES_TABLE} ADD COLUMN IF NOT EXISTS export_state text NOT NULL DEFAULT 'pending',
        ADD COLUMN IF NOT EXISTS acknowledged_at timestamptz, ADD COLUMN IF NOT EXISTS erp_reference text;
      CREATE INDEX IF NOT EXISTS settlement_notes_export ON ${SETTLEMENT_NOTES_TABLE} (export_state, issued_at, note_id);
      CREATE TABLE IF NOT EXISTS ${SETTLEMENT_HALTS_TABLE} (
        event_id uuid PRIMARY KEY, run_id uuid, gsrn text NOT NULL, period text NOT NULL, reason text NOT NULL, detail jsonb NOT NULL,
        halted_at timestamptz NOT NULL);
      CREATE TABLE IF NOT EXISTS ${SETTLEMENT_HALTED_ITEMS_TABLE} (
        gsrn text NOT NULL, period text NOT NULL, run_id uuid NOT NULL, reason text NOT NULL, detail jsonb NOT NULL, since timestamptz NOT NULL,
        halted_at timestamptz NOT NULL, resolved_at timestamptz, resolved_by_run_id uuid, PRIMARY KEY (period, gsrn));
      CREATE INDEX IF NOT EXISTS settlement_halted_items_reason ON ${SETTLEMENT_HALTED_ITEMS_TABLE} (reason, period, gsrn);
      CREATE TABLE IF NOT EXISTS ${ACONTO_PAYMENTS_TABLE} (
        payment_id text PRIMARY KEY, customer_id text NOT NULL, gsrn text NOT NULL, amount numeric(18,2) NOT NULL, paid_at timestamptz NOT NULL);
      CREATE INDEX IF NOT EXISTS aconto_payments_customer ON ${ACONTO_PAYMENTS_TABLE} (customer_id);
      CREATE TABLE IF NOT EXISTS ${ACONTO_INVOICES_TABLE} (
        aconto_invoice_id uuid PRIMARY KEY, customer_id text NOT NULL, gsrn text NOT NULL, quarter text NOT NULL,
        period_start text NOT NULL, period_end text NOT NULL, amount_excl_vat numeric(18,2) NOT NULL, vat numeric(18,2) NOT NULL,
        amount_incl_vat numeric(18,2) NOT NULL, due_date text NOT NULL, trigger text NOT NULL, settled_period text, basis jsonb NOT NULL,
        issued_at timestamptz NOT NULL);
      CREATE INDEX IF NOT EXISTS aconto_invoices_customer ON ${ACONTO_INVOICES_TABLE} (customer_id);
      CREATE INDEX IF NOT EXISTS aconto_invoices_quarter ON ${ACONTO_INVOICES_TABLE} (quarter, gsrn);`);
  },

  /** `apply` per event in rounds of distinct rows (runs, invoices, notes, halts, aconto), the inserts of a round as one statement. */
  async applyBatch(events: readonly ProjectedEvent[], client: PoolClient) {
    await applyInRounds((event, tx) => this.apply(event, tx), events, client, settlementKeys);
  },

  async apply(event: ProjectedEvent, client: PoolClient) {
    const d = event.data;
    switch (event.type) {
      case 'SettlementRunStarted': {
        // Runs before batching listed their items here; a batched run's total comes with SettlementRunScheduled.
        const items = Array.isArray(d.items) ? d.items.length : 0;
        await client.query(
          `INSERT INTO ${SETTLEMENT_RUNS_TABLE} (run_id, period, status, items_total, items_done, items_invoiced, items_halted, started_at)
           VALUES ($1, $2, 'running', $3, 0, 0, 0, $4) ON CONFLICT (run_id) DO NOTHING`,
          [d.runId, d.periodLabel, items, event.recordedAt],
        );
        return;
      }
      case 'SettlementRunScheduled':
        await client.query(`UPDATE ${SETTLEMENT_RUNS_TABLE} SET items_total = $2 WHERE run_id = $1`, [d.runId, d.items]);
        return;
      // Progress of a batched run: one update per batch of work items, not per item.
      case 'SettlementBatchCompleted':
        await client.query(
          `UPDATE ${SETTLEMENT_RUNS_TABLE} SET items_done = items_done + $2, items_invoiced = items_invoiced + $3, items_halted = items_halted + $4 WHERE run_id = $1`,
          [d.runId, d.items, d.invoiced, d.halted],
        );
        return;
      case 'SettlementItemInvoiced':
        await client.query(`UPDATE ${SETTLEMENT_RUNS_TABLE} SET items_done = items_done + 1, items_invoiced = items_invoiced + 1 WHERE run_id = $1`, [d.runId]);
        return;
      case 'SettlementHaltedForMeteringPoint':
        // Halts of a batched run (with `batch`) are counted by their batch; older runs counted each halt.
        if (d.runId !== null && d.batch === undefined) {
          await client.query(`UPDATE ${SETTLEMENT_RUNS_TABLE} SET items_done = items_done + 1, items_halted = items_halted + 1 WHERE run_id = $1`, [d.runId]);
        }
        await client.query(
          `INSERT INTO ${SETTLEMENT_HALTS_TABLE} (event_id, run_id, gsrn, period, reason, detail, halted_at) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING`,
          [event.eventId, d.runId, d.gsrn, d.periodLabel, d.reason, JSON.stringify(d.detail), event.recordedAt],
        );
        // A run item's halt (issue 9 on: it carries `since`) is listed as the point's current halt, until resolved.
        if (d.runId !== null && typeof d.since === 'string') {
          await client.query(
            `INSERT INTO ${SETTLEMENT_HALTED_ITEMS_TABLE} (gsrn, period, run_id, reason, detail, since, halted_at) VALUES ($1,$2,$3,$4,$5,$6,$7)
             ON CONFLICT (period, gsrn) DO UPDATE SET run_id = EXCLUDED.run_id, reason = EXCLUDED.reason, detail = EXCLUDED.detail, since = EXCLUDED.since, halted_at = EXCLUDED.halted_at
             WHERE EXCLUDED.halted_at >= ${SETTLEMENT_HALTED_ITEMS_TABLE}.halted_at`,
            [d.gsrn, d.periodLabel, d.runId, d.reason, JSON.stringify(d.detail), d.since, event.recordedAt],
          );
        }
        return;
      case 'SettlementHaltListed':
        // A halt recorded before this list existed, not invoiced since (the settlement service's catch-up): listed as of its own halt.
        await client.query(
          `INSERT INTO ${SETTLEMENT_HALTED_ITEMS_TABLE} (gsrn, period, run_id, reason, detail, since, halted_at) VALUES ($1,$2,$3,$4,$5,$6,$7)
           ON CONFLICT (period, gsrn) DO UPDATE SET run_id = EXCLUDED.run_id, reason = EXCLUDED.reason, detail = EXCLUDED.detail, since = EXCLUDED.since, halted_at = EXCLUDED.halted_at
           WHERE EXCLUDED.halted_at >= ${SETTLEMENT_HALTED_ITEMS_TABLE}.halted_at`,
          [d.gsrn, d.periodLabel, d.runId, d.reason, JSON.stringify(d.detail), d.since, d.haltedAt],
        );
        return;
      case 'SettlementHaltResolved':
        // Invoiced since by a later run or a retry: no longer halted (a later halt of the same point lists it again).
        await client.query(
          `UPDATE ${SETTLEMENT_HALTED_ITEMS_TABLE} SET resolved_at = $3, resolved_by_run_id = $4 WHERE period = $1 AND gsrn = $2 AND (resolved_at IS NULL OR resolved_at < $3)`,
          [d.periodLabel, d.gsrn, event.recordedAt, d.runId],
        );
        return;
      case 'SettlementCompleted':
        await client.query(`UPDATE ${SETTLEMENT_RUNS_TABLE} SET status = 'completed', completed_at = $2 WHERE run_id = $1`, [d.runId, event.recordedAt]);
        return;
      case 'InvoiceIssued': {
        const totals = d.totals as Totals;
        const aconto = d.aconto as { paid: string; difference: string; netAmountDue: string };
        await client.query(
          `INSERT INTO ${SETTLEMENT_INVOICES_TABLE} (invoice_id, run_id, customer_id, gsrn, period, period_start, period_end, payment_model, lines,
             total_excl_vat, total_vat, total_incl_vat, aconto_paid, aconto_difference, net_amount_due, estimated, as_of, issued_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18) ON CONFLICT (invoice_id) DO NOTHING`,
          [
            d.invoiceId,
            d.runId,
            d.customerId,
            d.gsrn,
            d.periodLabel,
            d.periodStart,
            d.periodEnd,
            d.paymentModel,
            JSON.stringify(d.lines),
            totals.exclVat,
            totals.vat,
            totals.inclVat,
            aconto.paid,
            aconto.difference,
            aconto.netAmountDue,
            d.estimated,
            d.asOf,
            event.recordedAt,
          ],
        );
        return;
      }
      case 'SettlementCorrectionIssued': {
        const totals = d.totals as Totals;
        await client.query(
          `INSERT INTO ${SETTLEMENT_NOTES_TABLE} (note_id, invoice_id, customer_id, gsrn, period, note_type, cause, lines, total_excl_vat, total_vat, total_incl_vat, issued_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) ON CONFLICT (note_id) DO NOTHING`,
          [d.noteId, d.invoiceId, d.customerId, d.gsrn, d.periodLabel, d.noteType, d.cause, JSON.stringify(d.lines), totals.exclVat, totals.vat, totals.inclVat, event.recordedAt],
        );
        return;
      }
      case 'NoteExportAcknowledged':
        await client.query(`UPDATE ${SETTLEMENT_NOTES_TABLE} SET export_state = 'acknowledged', acknowledged_at = $2, erp_reference = $3 WHERE note_id = $1`, [
          d.noteId,
          d.acknowledgedAt,
          d.erpReference ?? null,
        ]);
        return;
      case 'AcontoPaymentRecorded':
        await client.query(`INSERT INTO ${ACONTO_PAYMENTS_TABLE} (payment_id, customer_id, gsrn, amount, paid_at) VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING`, [
          d.paymentId,
          d.customerId,
          d.gsrn,
          d.amount,
          d.paidAt,
        ]);
        return;
      case 'AcontoInvoiceIssued':
        await client.query(
          `INSERT INTO ${ACONTO_INVOICES_TABLE} (aconto_invoice_id, customer_id, gsrn, quarter, period_start, period_end, amount_excl_vat, vat, amount_incl_vat,
             due_date, trigger, settled_period, basis, issued_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) ON CONFLICT (aconto_invoice_id) DO NOTHING`,
          [
            d.acontoInvoiceId,
            d.customerId,
            d.gsrn,
            d.quarter,
            d.periodStart,
            d.periodEnd,
            d.amountExclVat,
            d.vat,
            d.amountInclVat,
            d.dueDate,
            d.trigger,
            d.settledPeriod ?? null,
            JSON.stringify(d.basis),
            event.recordedAt,
          ],
        );
        return;
      default:
        return;
    }
  },
};

/** The rows of the settlement tables an event touches (null: not one `apply` handles). */
function settlementKeys(event: ProjectedEvent): string[] | null {
  const d = event.data;
  const run = `run:${String(d.runId)}`;
  const item = `item:${String(d.periodLabel)}:${String(d.gsrn)}`;
  switch (event.type) {
    case 'SettlementRunStarted':
    case 'SettlementRunScheduled':
    case 'SettlementBatchCompleted':
    case 'SettlementItemInvoiced':
    case 'SettlementCompleted':
      return [run];
    case 'SettlementHaltedForMeteringPoint':
      return [run, `halt:${event.eventId}`, item];
    case 'SettlementHaltListed':
    case 'SettlementHaltResolved':
      return [item];
    case 'InvoiceIssued':
      return [`invoice:${String(d.invoiceId)}`];
    case 'SettlementCorrectionIssued':
    case 'NoteExportAcknowledged':
      return [`note:${String(d.noteId)}`];
    case 'AcontoPaymentRecorded':
      return [`aconto-payment:${String(d.paymentId)}`];
    case 'AcontoInvoiceIssued':
      return [`aconto-invoice:${String(d.acontoInvoiceId)}`];
    default:
      return null;
  }
}
