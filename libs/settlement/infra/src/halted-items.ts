import type { PoolClient } from 'pg';
import { addDays } from '@dh/dk-time';
import type { EventMetadata, EventStore } from '@dh/event-store';
import type { EventEnvelope } from '@dh/messaging';
import type { SettlementHalted } from '@dh/settlement-domain';
import { haltDetail, haltResolvedEvent, itemHaltedEvent, periodDates, periodLabel, runItemStreamId, type SettlementWorkItemScheduled } from '@dh/settlement-application';

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

