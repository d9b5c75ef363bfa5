import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { addDays } from '@dh/dk-time';
import type { EventMetadata, EventStore, JsonObject } from '@dh/event-store';
import type { EventEnvelope } from '@dh/messaging';
import type { BillingPeriod, SettlementHalted } from '@dh/settlement-domain';
import {
  dataOf,
  haltDetail,
  haltListedEvent,
  haltResolvedEvent,
  itemHaltedEvent,
  periodDates,
  periodLabel,
  runItemStreamId,
  settlementMetadata,
  type SettlementHaltedForMeteringPoint,
  type SettlementWorkItemScheduled,
} from '@dh/settlement-application';
import { underAdvisoryLock } from './advisory-lock';

/**
 * Halted items (issue 9: "halted items are listed with their reason and re-tried automatically when the missing
 * input arrives"); the retry pass is `retry.ts`.
 * - `settlement.halted_items`: one row per (GSRN, period) whose last run item halted and that is not invoiced since;
 *   written by the worker in its inbox transaction with the item's outcome (`recordHaltedItem`, `resolveHaltedItem`).
 * - The inputs consumer, in its transaction, marks what an input may unblock (`requestRetries`): metered data of the
 *   series a halted item lacks (its rows: bounded by that metering point's periods); a spot price, a charge or tax
 *   price, a product or grid-area mapping as one row in `settlement.halt_retry_requests` (key and date range),
 *   however many items wait on it — nothing in that transaction grows with the halted items.
 * - An item is due when such a request is later than its last attempt (`DUE_HALTED_ITEM`, set-based).
 */

type Db = Pick<PoolClient, 'query'>;

/** The halted item `h` is due: an input that may unblock it arrived after its last attempt. */
export const DUE_HALTED_ITEM = `(h.retry_requested_at > h.last_tried_at OR EXISTS (
  SELECT 1 FROM settlement.halt_retry_requests r
   WHERE r.requested_at > h.last_tried_at AND r.day_from < h.period_to AND r.day_to > h.period_from
     AND ((r.kind = 'spot' AND h.reason = 'missing-price' AND r.key = h.price_area)
       OR (r.kind = 'charge' AND h.reason = 'missing-price' AND h.charge_id IS NOT NULL AND (r.key = '*' OR r.key = h.charge_id))
       OR (r.kind = 'configuration' AND h.reason IN ('missing-configuration', 'missing-price')))))`;

/** A run item halted: its row (kept `halted_since` of a point still halted), then its halt event carrying `since`. */
export async function recordHaltedItem(store: EventStore, tx: Db, item: SettlementWorkItemScheduled, halt: SettlementHalted, metadata: EventMetadata, now: Date): Promise<void> {
  const { from, toExclusive } = periodDates(item.period);
  const seriesGsrn = halt.reason === 'missing-metered-data' ? halt.seriesGsrn : null;
  const priceArea = halt.reason === 'missing-price' ? halt.priceArea : null;
  const chargeId = halt.reason === 'missing-price' ? halt.chargeId : null;
  const row = (
    await tx.query<{ halted_since: Date }>(
      `INSERT INTO settlement.halted_items (gsrn, period_label, period, period_from, period_to, run_id, reason, detail, series_gsrn, price_area, charge_id, halted_since, last_tried_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (gsrn, period_label) DO UPDATE SET run_id = EXCLUDED.run_id, reason = EXCLUDED.reason, detail = EXCLUDED.detail, series_gsrn = EXCLUDED.series_gsrn,
         price_area = EXCLUDED.price_area, charge_id = EXCLUDED.charge_id, period_from = EXCLUDED.period_from, period_to = EXCLUDED.period_to,
         last_tried_at = GREATEST(halted_items.last_tried_at, EXCLUDED.last_tried_at)
       RETURNING halted_since`,
      [item.gsrn, periodLabel(item.period), JSON.stringify(item.period), from, toExclusive, item.runId, halt.reason, JSON.stringify(haltDetail(halt)), seriesGsrn, priceArea, chargeId, now, new Date(item.asOf)],
    )
  ).rows[0]!;
  await store.appendToStream(runItemStreamId(item.runId, item.gsrn), [{ ...itemHaltedEvent(item.runId, item.period, item.batch, halt, new Date(row.halted_since)), metadata, occurredAt: now }], {
    expectedRevision: 'any',
  });
}

/** A run item invoiced: a point that was halted in the period leaves the list (`SettlementHaltResolved`). */
export async function resolveHaltedItem(store: EventStore, tx: Db, item: SettlementWorkItemScheduled, invoiceIds: readonly string[], metadata: EventMetadata, now: Date): Promise<void> {
  const deleted = await tx.query<{ run_id: string }>(`DELETE FROM settlement.halted_items WHERE gsrn = $1 AND period_label = $2 RETURNING run_id`, [item.gsrn, periodLabel(item.period)]);
  const halted = deleted.rows[0];
  if (halted === undefined) return;
  await store.appendToStream(runItemStreamId(item.runId, item.gsrn), [{ ...haltResolvedEvent(item.runId, item.period, item.gsrn, halted.run_id, invoiceIds), metadata, occurredAt: now }], {
    expectedRevision: 'any',
  });
}

/** `resolveHaltedItem` for many invoiced items at once: one DELETE, a `SettlementHaltResolved` only for those that were halted. */
export async function resolveHaltedItems(
  store: EventStore,
  tx: Db,
  invoiced: readonly { item: SettlementWorkItemScheduled; invoiceIds: readonly string[]; metadata: EventMetadata; now: Date }[],
): Promise<void> {
  if (invoiced.length === 0) return;
  const deleted = await tx.query<{ gsrn: string; period_label: string; run_id: string }>(
    `DELETE FROM settlement.halted_items h USING unnest($1::text[], $2::text[]) AS k(gsrn, period_label)
      WHERE h.gsrn = k.gsrn AND h.period_label = k.period_label RETURNING h.gsrn, h.period_label, h.run_id`,
    [invoiced.map((i) => i.item.gsrn), invoiced.map((i) => periodLabel(i.item.period))],
  );
  if (deleted.rows.length === 0) return;
  const was = new Map(deleted.rows.map((r) => [`${r.gsrn}/${r.period_label}`, r.run_id]));
  for (const { item, invoiceIds, metadata, now } of invoiced) {
    const key = `${item.gsrn}/${periodLabel(item.period)}`;
    const haltedRun = was.get(key);
    if (haltedRun === undefined) continue;
    was.delete(key);
    await store.appendToStream(runItemStreamId(item.runId, item.gsrn), [{ ...haltResolvedEvent(item.runId, item.period, item.gsrn, haltedRun, invoiceIds), metadata, occurredAt: now }], {
      expectedRevision: 'any',
    });
  }
}

const METERING_POINT_EVENTS: ReadonlySet<string> = new Set(['SupplyStarted', 'SupplyEnded', 'ElectricHeatingSet', 'ProductionMeteringPointLinked', 'ChargeLinksRecorded']);
const OPEN_END = '9999-12-31';

/**
 * The inputs consumer's part (its transaction, after the copy): what the input may unblock is marked due at `now`
 * (the business clock, as the retry run's `asOf` will be). Nothing is done when no halted item could match.
 */
export async function requestRetries(tx: Db, envelope: EventEnvelope, now: Date): Promise<void> {
  const d = envelope.data as Record<string, unknown>;
  const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  const request = async (kind: 'spot' | 'charge' | 'configuration', key: string, from: string, to: string, reasons: string[]): Promise<void> => {
    await tx.query(
      `INSERT INTO settlement.halt_retry_requests (kind, key, day_from, day_to, requested_at)
       SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM settlement.halted_items WHERE reason = ANY($6::text[]))
       ON CONFLICT (kind, key, day_from, day_to) DO UPDATE SET requested_at = GREATEST(halt_retry_requests.requested_at, EXCLUDED.requested_at)`,
      [kind, key, from, to, now, reasons],
    );
  };
  switch (envelope.type) {
    case 'MeteredDataReceived': {
      // The series' day: the items lacking data of this series (consumption or production) in a period holding the day.
      const gsrn = text(d.gsrn);
      const day = text(d.day);
      if (gsrn === null || day === null) return;
      await tx.query(
        `UPDATE settlement.halted_items SET retry_requested_at = $3
          WHERE series_gsrn = $1 AND reason = 'missing-metered-data' AND period_from <= $2 AND period_to > $2 AND (retry_requested_at IS NULL OR retry_requested_at < $3)`,
        [gsrn, day, now],
      );
      return;
    }
    case 'SpotPricesPublished': {
      const area = text(d.priceArea);
      const day = text(d.deliveryDate);
      if (area !== null && day !== null) await request('spot', area, day, addDays(day, 1), ['missing-price']);
      return;
    }
    case 'ChargePricesPublished':
    case 'ElectricityTaxRateSet': {
      const key = envelope.type === 'ChargePricesPublished' ? text(d.chargeId) : '*';
      if (key === null) return;
      const rows = envelope.type === 'ChargePricesPublished' ? (Array.isArray(d.rows) ? (d.rows as { validFrom?: unknown; validTo?: unknown }[]) : []) : [{ validFrom: d.validFrom, validTo: d.validTo }];
      for (const r of rows) {
        const from = text(r.validFrom);
        if (from !== null) await request('charge', key, from.slice(0, 10), text(r.validTo)?.slice(0, 10) ?? OPEN_END, ['missing-price']);
      }
      return;
    }
    case 'ProductDefined':
    case 'GridAreaMapped':
      await request('configuration', '*', text(d.validFrom)?.slice(0, 10) ?? '0000-01-01', OPEN_END, ['missing-configuration', 'missing-price']);
      return;
    default: {
      // Master data of a metering point (its supplies, charge links, electric heating, production link): its items, whatever they lack.
      const gsrn = text(d.gsrn);
      if (!METERING_POINT_EVENTS.has(envelope.type) || gsrn === null) return;
      await tx.query(`UPDATE settlement.halted_items SET retry_requested_at = $2 WHERE gsrn = $1 AND (retry_requested_at IS NULL OR retry_requested_at < $2)`, [gsrn, now]);
    }
  }
}

/** The catch-up's name in `settlement.catch_ups` and its advisory lock. */
export const EARLIER_HALTS_CATCH_UP = 'halted-items-from-earlier-halts';

interface EarlierHalt {
  gsrn: string;
  period_label: string;
  period: BillingPeriod;
  seq: number;
  run_id: string;
  reason: string | null;
  as_of: Date;
  first_run_id: string;
  first_as_of: Date;
}

/**
 * Halts of run items recorded before `settlement.halted_items` existed (their item has a `run_items` row `halted` and a
 * `SettlementHaltedForMeteringPoint` without `since`, but no list row): for each (GSRN, period) whose latest run item
 * halted (nothing invoiced it since) and that has no row, one set-based pass over `run_items` (window functions, hash
 * joins: no per-item scan) finds the halt, then each is listed in its own transaction: the row (reason and detail from
 * its halt event; `halted_since` = the first halt of the streak; `last_tried_at` = its run's asOf; due for one retry
 * now, as its input may have arrived before there was a retry pass), inserted only while no later run has an item of
 * it, and `SettlementHaltListed` (read model `GET /api/settlement/halted`). Once per database (`settlement.catch_ups`;
 * a failure leaves it undone for the next start), one process at a time (advisory lock; null when another holds it).
 * A point a worker invoices at the same instant can stay listed: its retry run finds it invoiced and resolves it.
 * Runs from before batched runs (a run stream, no `settlement.runs` row) have no item rows and are not looked at.
 */
export async function listEarlierHalts(deps: { store: EventStore; pool: Pool }, now: Date): Promise<number | null> {
  return underAdvisoryLock(deps.pool, EARLIER_HALTS_CATCH_UP, async (client) => {
    if ((await client.query(`SELECT 1 FROM settlement.catch_ups WHERE name = $1`, [EARLIER_HALTS_CATCH_UP])).rows.length > 0) return 0;
    const { rows } = await client.query<EarlierHalt>(
      `WITH items AS (
         SELECT ri.gsrn, r.period_label, r.period, r.seq, ri.run_id, ri.outcome, ri.reason, r.as_of,
                max(r.seq) OVER w AS last_seq, max(r.seq) FILTER (WHERE ri.outcome = 'invoiced') OVER w AS invoiced_seq
           FROM settlement.run_items ri JOIN settlement.runs r ON r.run_id = ri.run_id
         WINDOW w AS (PARTITION BY ri.gsrn, r.period_label)),
       streak AS (SELECT gsrn, period_label, min(seq) AS first_seq FROM items WHERE seq > COALESCE(invoiced_seq, 0) GROUP BY gsrn, period_label)
       SELECT l.gsrn, l.period_label, l.period, l.seq, l.run_id, l.reason, l.as_of, f.run_id AS first_run_id, f.as_of AS first_as_of
         FROM items l
         JOIN streak s ON s.gsrn = l.gsrn AND s.period_label = l.period_label
         JOIN items f ON f.gsrn = l.gsrn AND f.period_label = l.period_label AND f.seq = s.first_seq
        WHERE l.seq = l.last_seq AND l.outcome = 'halted'
          AND NOT EXISTS (SELECT 1 FROM settlement.halted_items h WHERE h.gsrn = l.gsrn AND h.period_label = l.period_label)
        ORDER BY l.period_label, l.gsrn`,
    );
    let listed = 0;
    for (const h of rows) if (await listEarlierHalt(deps, h, now)) listed++;
    await client.query(`INSERT INTO settlement.catch_ups (name, done_at, items) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`, [EARLIER_HALTS_CATCH_UP, now, listed]);
    return listed;
  });
}

/** The last halt event on a run item's stream (null when the stream has none). */
async function haltEventOf(store: EventStore, runId: string, gsrn: string): Promise<{ data: SettlementHaltedForMeteringPoint; occurredAt: Date; recordedAt: Date } | null> {
  const halts = (await store.readStream(runItemStreamId(runId, gsrn))).filter((e) => e.type === 'SettlementHaltedForMeteringPoint');
  const last = halts[halts.length - 1];
  return last === undefined ? null : { data: dataOf<SettlementHaltedForMeteringPoint>(last.data), occurredAt: last.occurredAt, recordedAt: last.recordedAt };
}

async function listEarlierHalt(deps: { store: EventStore; pool: Pool }, h: EarlierHalt, now: Date): Promise<boolean> {
  const latest = await haltEventOf(deps.store, h.run_id, h.gsrn);
  const first = h.first_run_id === h.run_id ? latest : await haltEventOf(deps.store, h.first_run_id, h.gsrn);
  const reason = latest?.data.reason ?? h.reason ?? 'invalid-input';
  const detail: JsonObject = latest?.data.detail ?? {};
  const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  // As a halt of the list's time: since = the business time of the first halt, the last one as recorded.
  const haltedAt = latest?.recordedAt ?? new Date(h.as_of);
  const since = first?.occurredAt ?? new Date(h.first_as_of);
  const { from, toExclusive } = periodDates(h.period);
  const tx = await deps.pool.connect();
  try {
    await tx.query('BEGIN');
    // Only while no later run of the period has an item of the point (it would have been listed or resolved by it).
    const inserted = await tx.query(
      `INSERT INTO settlement.halted_items (gsrn, period_label, period, period_from, period_to, run_id, reason, detail, series_gsrn, price_area, charge_id, halted_since, last_tried_at, retry_requested_at)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14
        WHERE NOT EXISTS (SELECT 1 FROM settlement.runs r JOIN settlement.run_items ri ON ri.run_id = r.run_id AND ri.gsrn = $1 WHERE r.period_label = $2 AND r.seq > $15)
       ON CONFLICT (gsrn, period_label) DO NOTHING`,
      [
        h.gsrn,
        h.period_label,
        JSON.stringify(h.period),
        from,
        toExclusive,
        h.run_id,
        reason,
        JSON.stringify(detail),
        reason === 'missing-metered-data' ? text(detail.seriesGsrn) : null,
        reason === 'missing-price' ? text(detail.priceArea) : null,
        reason === 'missing-price' ? text(detail.chargeId) : null,
        since,
        new Date(h.as_of),
        now,
        h.seq,
      ],
    );
    if ((inserted.rowCount ?? 0) > 0) {
      const event = haltListedEvent({ runId: h.run_id, gsrn: h.gsrn, periodLabel: h.period_label, reason, detail, since: since.toISOString(), haltedAt: haltedAt.toISOString() });
      const metadata = settlementMetadata({ correlationId: randomUUID(), causationId: null, actor: 'settlement-catch-up' });
      await deps.store.appendToStream(runItemStreamId(h.run_id, h.gsrn), [{ ...event, metadata, occurredAt: now }], { expectedRevision: 'any' });
    }
    await tx.query('COMMIT');
    return (inserted.rowCount ?? 0) > 0;
  } catch (error) {
    await tx.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    tx.release();
  }
}
