import type { PoolClient } from 'pg';
import type { EventEnvelope } from '@dh/messaging';

type Db = Pick<PoolClient, 'query'>;

/**
 * Serialises a run's work item with the inputs that can change its invoice (issue 9: "an invoice settled
 * during a run never gets a correction for an input that arrives during that run"), with transaction-level
 * PostgreSQL advisory locks:
 * - a metering point's lock (`settlement-mp:<gsrn>`): the work item holds it while it reads the copies and
 *   issues the invoice; the inputs consumer takes it before it copies an event about that metering point (its
 *   metered data, the metered data of its production point, its supplies, master data and charge links). So
 *   either the item reads the committed input, or the consumer's correction looks for invoices after the
 *   item committed and finds it;
 * - the prices lock (`settlement-prices`): every work item holds it shared, the inputs consumer exclusively
 *   while it copies a price (spot, charge, tax, product, grid area mapping, a charge's master data). A price published after the run's
 *   `asOf` is then either seen by the item's own check after issuing (`pricesNewerThan`) or corrected by the
 *   consumer after the item committed.
 * The consumer is a single active consumer and a work item takes one metering point's lock after the shared
 * prices lock, so the locks cannot wait on each other in a cycle.
 */
const PRICES_LOCK = 'settlement-prices';
const meteringPointLock = (gsrn: string): string => `settlement-mp:${gsrn}`;

export async function lockMeteringPoints(tx: Db, gsrns: readonly string[]): Promise<void> {
  for (const g of [...new Set(gsrns)].sort()) await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [meteringPointLock(g)]);
}

/** A work item's locks: the prices shared, then its metering point. */
export async function lockForWorkItem(tx: Db, gsrn: string): Promise<void> {
  await lockForWorkItems(tx, [gsrn]);
}

/**
 * The locks of a batch of work items in two statements, not one per item (issue 8): the prices shared, then their metering points in
 * GSRN order (the order `lockMeteringPoints` takes them in, so two holders never wait on each other in a cycle).
 */
export async function lockForWorkItems(tx: Db, gsrns: readonly string[]): Promise<void> {
  const keys = [...new Set(gsrns)].sort().map(meteringPointLock);
  await tx.query('SELECT pg_advisory_xact_lock_shared(hashtext($1))', [PRICES_LOCK]);
  await tx.query(`SELECT count(pg_advisory_xact_lock(hashtext(k))) FROM (SELECT k FROM unnest($1::text[]) WITH ORDINALITY AS t(k, o) ORDER BY o) s`, [keys]);
}

// A charge's master data (RSM-034 D18) too: a fee's VATPayer prices its VAT, and the copy keeps no version a work item could check.
const PRICE_EVENTS: ReadonlySet<string> = new Set(['SpotPricesPublished', 'ChargePricesPublished', 'ElectricityTaxRateSet', 'ProductDefined', 'GridAreaMapped', 'ChargeInformationRecorded']);
const METERING_POINT_EVENTS: ReadonlySet<string> = new Set(['MeteredDataReceived', 'SupplyStarted', 'SupplyEnded', 'SupplyReversed', 'ElectricHeatingSet', 'ProductionMeteringPointLinked', 'ProductChanged', 'ChargeLinksRecorded']);

/** The inputs consumer's locks for one input event, taken before it is copied (see above). */
export async function lockForInput(tx: Db, envelope: EventEnvelope): Promise<void> {
  if (PRICE_EVENTS.has(envelope.type)) {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [PRICES_LOCK]);
    return;
  }
  if (!METERING_POINT_EVENTS.has(envelope.type)) return;
  const gsrn = envelope.data['gsrn'];
  if (typeof gsrn !== 'string') return;
  // Metered data of a production point changes the invoices of the consumption points beside it.
  const consumption =
    envelope.type === 'MeteredDataReceived'
      ? (
          await tx.query<{ gsrn: string }>(
            `SELECT gsrn FROM settlement.supplies WHERE production_gsrn = $1 UNION SELECT gsrn FROM settlement.production_links WHERE production_gsrn = $1`,
            [gsrn],
          )
        ).rows.map((r) => r.gsrn)
      : [];
  await lockMeteringPoints(tx, [gsrn, ...consumption]);
}

/**
 * True when a price that can change an invoice of `priceArea` in [from, toExclusive) was published
 * after `asOf` (the run's prices instant): spot, charge rows, tax rates, products.
 */
export async function pricesNewerThan(tx: Db, asOf: Date, priceArea: string, from: string, toExclusive: string, fromInstant: Date, toInstant: Date): Promise<boolean> {
  const r = await tx.query<{ newer: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM settlement.spot_prices WHERE price_area = $2 AND start >= $5 AND start < $6 AND published_at > $1)
         OR EXISTS (SELECT 1 FROM settlement.charge_rows WHERE published_at > $1 AND valid_from < $4 AND (valid_to IS NULL OR valid_to > $3))
         OR EXISTS (SELECT 1 FROM settlement.tax_rates WHERE published_at > $1 AND valid_from < $4 AND (valid_to IS NULL OR valid_to > $3))
         OR EXISTS (SELECT 1 FROM settlement.products WHERE published_at > $1 AND valid_from < $4) AS newer`,
    [asOf, priceArea, from, toExclusive, fromInstant, toInstant],
  );
  return r.rows[0]?.newer === true;
}
