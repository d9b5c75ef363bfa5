import type { Pool, PoolClient } from 'pg';
import { addDays, localDateOf, localDayStart } from '@dh/dk-time';
import type { EventMetadata } from '@dh/event-store';
import type { EventEnvelope } from '@dh/messaging';
import type { BillingPeriod } from '@dh/settlement-domain';
import { dataOf, invoiceIdOf, invoiceStreamId, nameBasedUuid, periodLabel, periodsContaining, settlementMetadata, toJsonObject, type SupplyEnded } from '@dh/settlement-application';
import { underAdvisoryLock } from './advisory-lock';
import { lockForWorkItem } from './input-locks';
import { indexInvoice, invoiceIssuedEventId, invoiceIssuedOf, settleFromCopies, type SettleDeps } from './settle';

/**
 * Final invoices at supply end (issue 9): when a customer supply ends (move-out, end of supply, switched away), the
 * invoice of its last (partial) billing period is issued as soon as the supply has ended on the business clock and
 * its metered data up to the end date is there, without waiting for the period's run. It is the run's invoice: same
 * id (`invoiceIdOf(gsrn, period, customerId)`), same `InvoiceIssued` event id, same computation
 * (`settleFromCopies`), so the period's run finds it issued, counts it and issues nothing for it. A supply reversed
 * (BRS-003, an incorrect switch) is void from its start: no final invoice; what was invoiced is credited in full
 * (corrections). Waiting final invoices are in `settlement.final_invoices` (`pending`), tried again when the metering
 * point's metered data arrives and by a periodic pass.
 */

type Db = Pick<PoolClient, 'query'>;

export interface FinalInvoiceDeps extends SettleDeps {
  /** Business time (the service's clock): a supply has ended once its end date has begun. */
  now: () => Date;
  logger?: { log(message: string): void; warn(message: string): void };
}

interface FinalRow {
  invoice_id: string;
  gsrn: string;
  customer_id: string;
  period: BillingPeriod;
  end_date: string;
  reason: string | null;
}

export type FinalInvoiceOutcome = 'issued' | 'already-invoiced' | 'not-ended-yet' | 'halted' | 'superseded';

/** The billing period of a supply's last supplied day, by its billing frequency. */
export function lastPeriodOf(endDate: string, billingFrequency: string): BillingPeriod {
  const [month, quarter] = periodsContaining(addDays(endDate, -1));
  return billingFrequency === 'quarterly' ? quarter! : month!;
}

/**
 * Tries one waiting final invoice, in `tx` (which holds the metering point's lock: the inputs consumer's or the
 * periodic pass's): issued already (by a run, or an earlier try) → `already-invoiced`; the supply no longer ends
 * on that date or was reversed → `superseded`; its end date not begun on the business clock → waits; the settlement
 * halts (metered data missing up to the end date, a price missing) → waits with the reason; else `InvoiceIssued`
 * is appended (expected revision: the stream as read) and indexed.
 */
export async function tryFinalInvoice(deps: FinalInvoiceDeps, tx: Db, row: FinalRow, metadata: EventMetadata): Promise<FinalInvoiceOutcome> {
  const now = deps.now();
  const label = periodLabel(row.period);
  const mark = async (state: string, reason: string | null) => {
    await tx.query(`UPDATE settlement.final_invoices SET state = $2, last_reason = $3, attempts = attempts + 1, last_attempt_at = $4 WHERE invoice_id = $1`, [row.invoice_id, state, reason, now]);
  };
  const streamId = invoiceStreamId(row.invoice_id);
  const stream = await deps.store.readStream(streamId);
  if (stream.some((e) => e.type === 'InvoiceIssued')) {
    await mark('issued', 'already-invoiced');
    return 'already-invoiced';
  }
  const supply = await tx.query(`SELECT 1 FROM settlement.supplies WHERE gsrn = $1 AND customer_id = $2 AND end_date = $3 AND NOT reversed`, [row.gsrn, row.customer_id, row.end_date]);
  if (supply.rows.length === 0) {
    await mark('superseded', 'the supply no longer ends on this date (moved or reversed)');
    deps.logger?.log(`final invoice ${row.invoice_id} (${row.gsrn}, ${label}, customer ${row.customer_id}): superseded, the supply no longer ends on ${row.end_date}`);
    return 'superseded';
  }
  if (now.getTime() < localDayStart(row.end_date).getTime()) {
    await mark('pending', `the supply ends on ${row.end_date}`);
    return 'not-ended-yet';
  }
  const result = await settleFromCopies(deps, tx, row.gsrn, row.period, now, row.customer_id);
  if (result.outcome !== 'settled') {
    await mark('pending', result.reason);
    deps.logger?.log(`final invoice ${row.invoice_id} (${row.gsrn}, ${label}, customer ${row.customer_id}): waiting, ${result.reason}`);
    return 'halted';
  }
  const data = await invoiceIssuedOf(tx, {
    invoiceId: row.invoice_id,
    runId: nameBasedUuid('final-invoice', row.invoice_id),
    gsrn: row.gsrn,
    period: row.period,
    result,
    final: { supplyEndDate: row.end_date, reason: row.reason },
  });
  const last = stream[stream.length - 1];
  await deps.store.appendToStream(streamId, [{ eventId: invoiceIssuedEventId(row.invoice_id), type: 'InvoiceIssued', data: toJsonObject(data), metadata, occurredAt: now }], {
    expectedRevision: last === undefined ? 'no_stream' : last.streamRevision,
  });
  await indexInvoice(tx, row.invoice_id, row.gsrn, row.period, result);
  await mark('issued', null);
  deps.logger?.log(`final invoice ${row.invoice_id} issued (${row.gsrn}, ${label}, customer ${row.customer_id}, supply ended ${row.end_date}): ${data.totals.inclVat} DKK incl. VAT`);
  return 'issued';
}

const metadataOf = (envelope: EventEnvelope): EventMetadata =>
  settlementMetadata({ correlationId: envelope.metadata.correlationId, causationId: envelope.eventId, actor: 'settlement-final-invoice' });

/**
 * The inputs consumer's part (after the event is copied and its corrections issued, in the same transaction):
 * `SupplyEnded` records the ended customer supply's final invoice as waiting and tries it; metered data of a
 * metering point (any version) and a reversal try its waiting final invoices again.
 */
export async function onFinalInvoiceInput(deps: FinalInvoiceDeps, envelope: EventEnvelope, tx: Db): Promise<void> {
  const gsrn = envelope.data['gsrn'];
  if (typeof gsrn !== 'string') return;
  if (envelope.type === 'SupplyEnded') {
    const d = dataOf<SupplyEnded & { customerId?: string; reason?: string }>(envelope.data);
    // The supply the copy just ended (the one running on the end date).
    const ended = (
      await tx.query<{ customer_id: string; billing_frequency: string }>(
        `SELECT customer_id, billing_frequency FROM settlement.supplies WHERE gsrn = $1 AND end_date = $2 AND NOT reversed ORDER BY start_date DESC LIMIT 1`,
        [gsrn, d.endDate],
      )
    ).rows[0];
    if (ended === undefined) return;
    const period = lastPeriodOf(d.endDate, ended.billing_frequency);
    const invoiceId = invoiceIdOf(gsrn, period, ended.customer_id);
    await tx.query(
      `INSERT INTO settlement.final_invoices (invoice_id, gsrn, customer_id, period_label, period, end_date, reason, state, recorded_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8)
       ON CONFLICT (invoice_id) DO UPDATE SET end_date = EXCLUDED.end_date, reason = EXCLUDED.reason,
         state = CASE WHEN final_invoices.state = 'issued' THEN 'issued' ELSE 'pending' END`,
      [invoiceId, gsrn, ended.customer_id, periodLabel(period), JSON.stringify(period), d.endDate, typeof d.reason === 'string' ? d.reason : null, deps.now()],
    );
  } else if (envelope.type !== 'MeteredDataReceived' && envelope.type !== 'SupplyReversed') {
    return;
  }
  const waiting = await tx.query<FinalRow>(`SELECT invoice_id, gsrn, customer_id, period, end_date, reason FROM settlement.final_invoices WHERE gsrn = $1 AND state = 'pending' ORDER BY invoice_id`, [gsrn]);
  for (const row of waiting.rows) await tryFinalInvoice(deps, tx, row, metadataOf(envelope));
}

export const FINAL_INVOICE_LOCK = 'settlement-final-invoices';

/**
 * The periodic pass (one process at a time: advisory lock): waiting final invoices whose supply has ended on the
 * business clock, least recently tried first, at most `limit`, each in its own transaction holding the metering
 * point's lock (as a run's work item does). Catches what no event triggers: an end date reached after the data,
 * a price arriving later.
 */
export async function retryFinalInvoices(deps: FinalInvoiceDeps & { pool: Pool }, limit = 200): Promise<Record<FinalInvoiceOutcome, number> | null> {
  return underAdvisoryLock(deps.pool, FINAL_INVOICE_LOCK, async (client) => {
    const counts: Record<FinalInvoiceOutcome, number> = { issued: 0, 'already-invoiced': 0, 'not-ended-yet': 0, halted: 0, superseded: 0 };
    const today = localDateOf(deps.now());
    const due = await client.query<FinalRow>(
      `SELECT invoice_id, gsrn, customer_id, period, end_date, reason FROM settlement.final_invoices
        WHERE state = 'pending' AND end_date <= $1 ORDER BY last_attempt_at NULLS FIRST, invoice_id LIMIT $2`,
      [today, limit],
    );
    for (const row of due.rows) {
      await client.query('BEGIN');
      try {
        await lockForWorkItem(client, row.gsrn);
        const metadata = settlementMetadata({ correlationId: row.invoice_id, causationId: null, actor: 'settlement-final-invoice' });
        counts[await tryFinalInvoice(deps, client, row, metadata)]++;
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        deps.logger?.warn(`final invoice ${row.invoice_id}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return counts;
  });
}
