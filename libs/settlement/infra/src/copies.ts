import { types as pgTypes, type PoolClient } from 'pg';
import { localDateOf, localDayStart, type LocalDate } from '@dh/dk-time';
import type { EventEnvelope } from '@dh/messaging';
import type { ChargeResolution, ChargeType } from '@dh/rates-domain';
import {
  dataOf,
  periodDates,
  type AcontoPaymentRecorded,
  type ChargePricesPublished,
  type ChargeRecord,
  type ElectricHeatingSet,
  type ElectricityTaxRateSet,
  type ExpectedConsumptionSet,
  type GridAreaMapped,
  type MeteredDataReceived,
  type MeteredDayRecord,
  type MeteredPoint,
  meteredPointsOf,
  type PackedMeteredPoints,
  type ProductChanged,
  type ProductDefined,
  type ProductionMeteringPointLinked,
  type SettlementCopies,
  type SpotPricesPublished,
  type SupplyEnded,
  type SupplyRecord,
  type SupplyReversed,
  type SupplyStarted,
} from '@dh/settlement-application';
import type { BillingPeriod } from '@dh/settlement-domain';
import { settlementChargeCopy } from './schema';

type Db = Pick<PoolClient, 'query'>;

/**
 * The input events settlement copies, by type. A colleague's event names that differ from this
 * contract are mapped here, in one place.
 */
export const COPIED_EVENT_TYPES = [
  'SpotPricesPublished',
  'ChargePricesPublished',
  'ProductDefined',
  'ElectricityTaxRateSet',
  'GridAreaMapped',
  'SupplyStarted',
  'SupplyEnded',
  'SupplyReversed',
  'MeteredDataReceived',
  'AcontoPaymentRecorded',
  'ExpectedConsumptionSet',
  'ElectricHeatingSet',
  'ProductionMeteringPointLinked',
  'ProductChanged',
] as const;

/** Fields without which an input event cannot be copied (a `SupplyStarted` without supply terms, for one). */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  SpotPricesPublished: ['priceArea', 'resolution', 'version', 'publishedAt', 'prices'],
  ChargePricesPublished: ['chargeId', 'owner', 'chargeType', 'code', 'description', 'version', 'publishedAt', 'rows'],
  ProductDefined: ['productId', 'name', 'marginDkkPerKwh', 'monthlySubscriptionDkk', 'validFrom'],
  ElectricityTaxRateSet: ['validFrom', 'normalDkkPerKwh', 'reducedDkkPerKwh'],
  GridAreaMapped: ['gridArea', 'priceArea', 'gridCompanyGln', 'gridTariffChargeId', 'gridSubscriptionChargeId'],
  SupplyStarted: ['gsrn', 'customerId', 'startDate', 'productId', 'gridArea', 'billingFrequency', 'paymentModel'],
  SupplyEnded: ['gsrn', 'endDate'],
  SupplyReversed: ['gsrn', 'startDate'],
  ElectricHeatingSet: ['gsrn', 'electricHeating', 'from'],
  ProductionMeteringPointLinked: ['gsrn', 'productionGsrn', 'from'],
  ProductChanged: ['gsrn', 'productId', 'from'],
};

/**
 * True when the event carries what settlement copies. An event without it is skipped (and
 * acknowledged) rather than halting the ordered inputs queue: e.g. portfolio's `SupplyStarted`
 * carries the settlement facts only when the start request had supply terms.
 */
export function isCopyable(envelope: EventEnvelope): boolean {
  const required = REQUIRED[envelope.type];
  return required === undefined || required.every((k) => envelope.data[k] !== undefined && envelope.data[k] !== null);
}

/** Stores one input event in settlement's copies (inside the inbox transaction). */
export async function applyToCopies(envelope: EventEnvelope, db: Db): Promise<void> {
  // When the fact became known in business time (the command's clock), as price versions' publishedAt is.
  const recordedAt = envelope.occurredAt;
  if (!isCopyable(envelope)) return;
  // DataHub's charge links and price lists (rates' ChargeLinksRecorded, ChargeInformationRecorded, ChargePricesRecorded).
  await settlementChargeCopy.apply(envelope, db);
  switch (envelope.type) {
    case 'SpotPricesPublished': {
      const d = dataOf<SpotPricesPublished>(envelope.data);
      for (const p of d.prices) {
        await db.query(
          `INSERT INTO settlement.spot_prices (price_area, start, resolution, version, published_at, dkk_per_kwh, event_id) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING`,
          [d.priceArea, p.start, d.resolution, d.version, d.publishedAt, p.dkkPerKwh, envelope.eventId],
        );
      }
      return;
    }
    case 'ChargePricesPublished': {
      const d = dataOf<ChargePricesPublished>(envelope.data);
      await db.query(
        `INSERT INTO settlement.charges (charge_id, owner, charge_type, code, description) VALUES ($1,$2,$3,$4,$5)
         ON CONFLICT (charge_id) DO UPDATE SET owner = EXCLUDED.owner, charge_type = EXCLUDED.charge_type, code = EXCLUDED.code, description = EXCLUDED.description`,
        [d.chargeId, d.owner, d.chargeType, d.code, d.description],
      );
      for (const r of d.rows) {
        await db.query(
          `INSERT INTO settlement.charge_rows (charge_id, version, published_at, valid_from, valid_to, resolution, prices, event_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT DO NOTHING`,
          [d.chargeId, d.version, d.publishedAt, r.validFrom, r.validTo, r.resolution, JSON.stringify(r.prices), envelope.eventId],
        );
      }
      return;
    }
    case 'ProductDefined': {
      const d = dataOf<ProductDefined>(envelope.data);
      await db.query(
        `INSERT INTO settlement.products (product_id, valid_from, published_at, name, margin_dkk_per_kwh, monthly_subscription_dkk, export_fee_dkk_per_kwh,
           expected_all_in_price_per_kwh, aconto_quarter_shares, event_id)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT DO NOTHING`,
        [
          d.productId,
          d.validFrom,
          recordedAt,
          d.name,
          d.marginDkkPerKwh,
          d.monthlySubscriptionDkk,
          d.exportFeeDkkPerKwh ?? null,
          d.expectedAllInPricePerKwh ?? null,
          Array.isArray(d.acontoQuarterShares) && d.acontoQuarterShares.length === 4 ? JSON.stringify(d.acontoQuarterShares) : null,
          envelope.eventId,
        ],
      );
      return;
    }
    case 'ElectricityTaxRateSet': {
      const d = dataOf<ElectricityTaxRateSet>(envelope.data);
      await db.query(
        `INSERT INTO settlement.tax_rates (valid_from, published_at, valid_to, normal_dkk_per_kwh, reduced_dkk_per_kwh, event_id) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING`,
        [d.validFrom, recordedAt, d.validTo, d.normalDkkPerKwh, d.reducedDkkPerKwh, envelope.eventId],
      );
      return;
    }
    case 'GridAreaMapped': {
      const d = dataOf<GridAreaMapped>(envelope.data);
      await db.query(
        `INSERT INTO settlement.grid_areas (grid_area, price_area, grid_company_gln, grid_tariff_charge_id, grid_subscription_charge_id) VALUES ($1,$2,$3,$4,$5)
         ON CONFLICT (grid_area) DO UPDATE SET price_area = EXCLUDED.price_area, grid_company_gln = EXCLUDED.grid_company_gln,
           grid_tariff_charge_id = EXCLUDED.grid_tariff_charge_id, grid_subscription_charge_id = EXCLUDED.grid_subscription_charge_id`,
        [d.gridArea, d.priceArea, d.gridCompanyGln, d.gridTariffChargeId, d.gridSubscriptionChargeId],
      );
      return;
    }
    case 'SupplyStarted': {
      const d = dataOf<SupplyStarted>(envelope.data);
      await db.query(
        `INSERT INTO settlement.supplies (gsrn, start_date, customer_id, end_date, product_id, electric_heating, grid_area, production_gsrn, billing_frequency, payment_model, reversed)
         VALUES ($1,$2,$3,NULL,$4,$5,$6,$7,$8,$9,false)
         ON CONFLICT (gsrn, start_date) DO UPDATE SET customer_id = EXCLUDED.customer_id, product_id = EXCLUDED.product_id, electric_heating = EXCLUDED.electric_heating,
           grid_area = EXCLUDED.grid_area, production_gsrn = EXCLUDED.production_gsrn, billing_frequency = EXCLUDED.billing_frequency, payment_model = EXCLUDED.payment_model, reversed = false`,
        [d.gsrn, d.startDate, d.customerId, d.productId, d.electricHeating === true, d.gridArea, d.productionGsrn ?? null, d.billingFrequency, d.paymentModel],
      );
      return;
    }
    case 'SupplyEnded': {
      const d = dataOf<SupplyEnded>(envelope.data);
      // Ends the supply that was running on the end date.
      await db.query(
        `UPDATE settlement.supplies SET end_date = $2
          WHERE gsrn = $1 AND start_date = (SELECT max(start_date) FROM settlement.supplies WHERE gsrn = $1 AND start_date < $2 AND NOT reversed)`,
        [d.gsrn, d.endDate],
      );
      return;
    }
    case 'SupplyReversed': {
      const d = dataOf<SupplyReversed>(envelope.data);
      await db.query(`UPDATE settlement.supplies SET reversed = true WHERE gsrn = $1 AND start_date = $2`, [d.gsrn, d.startDate]);
      return;
    }
    case 'ElectricHeatingSet': {
      const d = dataOf<ElectricHeatingSet>(envelope.data);
      // The latest change for a day wins (events of one stream arrive in order on the single-active inputs queue).
      await db.query(
        `INSERT INTO settlement.electric_heating_changes (gsrn, valid_from, electric_heating) VALUES ($1,$2,$3)
         ON CONFLICT (gsrn, valid_from) DO UPDATE SET electric_heating = EXCLUDED.electric_heating`,
        [d.gsrn, d.from, d.electricHeating === true],
      );
      return;
    }
    case 'ProductionMeteringPointLinked': {
      const d = dataOf<ProductionMeteringPointLinked>(envelope.data);
      await db.query(
        `INSERT INTO settlement.production_links (gsrn, valid_from, production_gsrn) VALUES ($1,$2,$3)
         ON CONFLICT (gsrn, valid_from) DO UPDATE SET production_gsrn = EXCLUDED.production_gsrn`,
        [d.gsrn, d.from, d.productionGsrn],
      );
      return;
    }
    case 'ProductChanged': {
      const d = dataOf<ProductChanged>(envelope.data);
      // The latest change for a day wins (events of one stream arrive in order on the single-active inputs queue).
      await db.query(
        `INSERT INTO settlement.product_changes (gsrn, valid_from, product_id) VALUES ($1,$2,$3)
         ON CONFLICT (gsrn, valid_from) DO UPDATE SET product_id = EXCLUDED.product_id`,
        [d.gsrn, d.from, d.productId],
      );
      return;
    }
    case 'MeteredDataReceived': {
      await insertMeteredDays(db, [{ eventId: envelope.eventId, data: dataOf<MeteredDataReceived>(envelope.data) }]);
      return;
    }
    case 'AcontoPaymentRecorded': {
      const d = dataOf<AcontoPaymentRecorded>(envelope.data);
      await db.query(`INSERT INTO settlement.aconto_payments (payment_id, customer_id, gsrn, amount, paid_at) VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING`, [
        d.paymentId,
        d.customerId,
        d.gsrn,
        d.amount,
        d.paidAt,
      ]);
      return;
    }
    case 'ExpectedConsumptionSet': {
      const d = dataOf<ExpectedConsumptionSet>(envelope.data);
      // The latest setting wins (events of one stream arrive in order on the single-active inputs queue).
      await db.query(
        `INSERT INTO settlement.expected_consumption (gsrn, customer_id, expected_annual_kwh, source, basis, set_at) VALUES ($1,$2,$3,$4,$5,$6)
         ON CONFLICT (gsrn) DO UPDATE SET customer_id = EXCLUDED.customer_id, expected_annual_kwh = EXCLUDED.expected_annual_kwh, source = EXCLUDED.source,
           basis = EXCLUDED.basis, set_at = EXCLUDED.set_at`,
        [d.gsrn, d.customerId, d.expectedAnnualKwh, d.source, d.basis, d.setAt],
      );
      return;
    }
    default:
      return;
  }
}

const INT4_MAX = 2_147_483_647;

/** A day's values as `metered_data` stores them: packed (integer Wh fitting `int`), else the points as objects. */
function storedValues(d: MeteredDataReceived): { firstPosition: number | null; wh: string | null; json: { qualities: [string, number][] } | { points: MeteredPoint[] } } {
  if (d.firstPosition !== undefined && d.wh !== undefined && d.qualities !== undefined) {
    let fits = true;
    let nulls = false;
    for (const v of d.wh) {
      if (v === null) nulls = true;
      else if (!(Math.abs(v) <= INT4_MAX)) fits = false;
    }
    // An int[] literal per day: the array goes as text and is parsed by PostgreSQL's array input, no JSON per value
    // (joined natively when there is no null, which join would write as nothing).
    if (fits) return { firstPosition: d.firstPosition, wh: `{${nulls ? d.wh.map((v) => (v === null ? 'NULL' : String(v))).join(',') : d.wh.join(',')}}`, json: { qualities: d.qualities } };
  }
  return { firstPosition: null, wh: null, json: { points: meteredPointsOf(d) } };
}

/** The multi-row insert of metered days as SQL using parameters `$1`–`$11`, and those parameters. */
function meteredDaysInsert(days: readonly { eventId: string; data: MeteredDataReceived }[]): { sql: string; params: unknown[] } {
  const values = days.map((d) => storedValues(d.data));
  return {
    // Points or qualities as one JSON array (not a jsonb[] literal, whose escaping of every quote costs more than the insert).
    sql: `INSERT INTO settlement.metered_data (gsrn, day, version, document_id, received_at, resolution, start, points, first_position, wh, qualities, event_id)
     SELECT t.gsrn, t.day, t.version, t.document_id, t.received_at, t.resolution, t.start, (p.v->'points')::jsonb, t.first_position, t.wh::int[], (p.v->'qualities')::jsonb, t.event_id
       FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::text[], $7::timestamptz[], $9::uuid[], $10::int[], $11::text[])
            WITH ORDINALITY AS t(gsrn, day, version, document_id, received_at, resolution, start, event_id, first_position, wh, o)
       JOIN json_array_elements($8::json) WITH ORDINALITY AS p(v, o) ON p.o = t.o
     ON CONFLICT DO NOTHING`,
    params: [
      days.map((d) => d.data.gsrn),
      days.map((d) => d.data.day),
      days.map((d) => d.data.version),
      days.map((d) => d.data.documentId),
      days.map((d) => d.data.receivedAt),
      days.map((d) => d.data.resolution),
      days.map((d) => d.data.start),
      JSON.stringify(values.map((v) => v.json)),
      days.map((d) => d.eventId),
      values.map((v) => v.firstPosition),
      values.map((v) => v.wh),
    ],
  };
}

/**
 * Settlement's copy of metered days (`MeteredDataReceived`), any number in one statement: a multi-row insert
 * from arrays (`unnest`), so a batch of series costs one round trip. A day already there (same gsrn, day and
 * version) is left as it is: the metered-data consumer writes the days it recorded, and the inputs consumer
 * writes them again when their events arrive. Values as integer Wh (`wh int[]` from `first_position`, qualities
 * as runs, issue 8) when the event carries them packed and they fit `int`; else as `points` objects (v1 events).
 */
export async function insertMeteredDays(db: Db, days: readonly { eventId: string; data: MeteredDataReceived }[]): Promise<void> {
  if (days.length === 0) return;
  const insert = meteredDaysInsert(days);
  await db.query(insert.sql, insert.params);
}

/**
 * What settlement knows of the metering points' `metered-data-<gsrn>` streams without reading them (issue 8):
 * the revision recorded in `settlement.metered_streams` by the metered-data consumer, and the versions and
 * documents of the asked days from `settlement.metered_data`, in one query. The consumer records a revision only
 * in the transaction that also holds every event of the stream up to it in `metered_data`, so a known revision
 * comes with complete days; a stream another path appended to meanwhile (the `RecordMeteredData` command) makes
 * the batch's append conflict and is read again. GSRNs without a row are left out (the caller reads their stream).
 */
export async function lookupMeteredStreams(
  db: Db,
  series: readonly { gsrn: string; days: readonly string[] }[],
): Promise<Map<string, { revision: bigint; days: Map<string, { version: number; documentIds: string[] }> }>> {
  const out = new Map<string, { revision: bigint; days: Map<string, { version: number; documentIds: string[] }> }>();
  if (series.length === 0) return out;
  const asked = series.flatMap((s) => s.days.map((day) => [s.gsrn, day] as const));
  // One row per known stream and asked day that has data (day null: a known stream without any of the asked days).
  const { rows } = await db.query<{ gsrn: string; revision: string; day: string | null; version: number | null; document_ids: string[] | null }>(
    `SELECT s.gsrn, s.revision::text AS revision, d.day, d.version, d.document_ids
       FROM settlement.metered_streams s
       LEFT JOIN (
         SELECT m.gsrn, m.day, max(m.version)::int AS version, array_agg(m.document_id) AS document_ids
           FROM unnest($2::text[], $3::text[]) AS q(gsrn, day) JOIN settlement.metered_data m ON m.gsrn = q.gsrn AND m.day = q.day
          GROUP BY m.gsrn, m.day
       ) d ON d.gsrn = s.gsrn
      WHERE s.gsrn = ANY($1::text[])`,
    [series.map((s) => s.gsrn), asked.map(([g]) => g), asked.map(([, d]) => d)],
  );
  for (const r of rows) {
    let known = out.get(r.gsrn);
    if (!known) out.set(r.gsrn, (known = { revision: BigInt(r.revision), days: new Map() }));
    if (r.day !== null && r.version !== null) known.days.set(r.day, { version: r.version, documentIds: r.document_ids ?? [] });
  }
  return out;
}

/** Records the streams' revisions after the metered-data consumer wrote their days (same transaction). */
export async function recordMeteredStreams(db: Db, streams: ReadonlyMap<string, { revision: bigint }>): Promise<void> {
  if (streams.size === 0) return;
  const entries = [...streams.entries()];
  await db.query(
    `INSERT INTO settlement.metered_streams (gsrn, revision) SELECT * FROM unnest($1::text[], $2::bigint[])
     ON CONFLICT (gsrn) DO UPDATE SET revision = EXCLUDED.revision`,
    [entries.map(([g]) => g), entries.map(([, s]) => s.revision.toString())],
  );
}

/**
 * The metered-data consumer's writes after a batch, in one statement (one round trip): its days into
 * `metered_data` ({@link insertMeteredDays}) and the streams' revisions into `metered_streams`
 * ({@link recordMeteredStreams}), as a data-modifying CTE in the caller's transaction.
 */
export async function recordMeteredBatch(db: Db, days: readonly { eventId: string; data: MeteredDataReceived }[], streams: ReadonlyMap<string, { revision: bigint }>): Promise<void> {
  if (days.length === 0 || streams.size === 0) {
    await insertMeteredDays(db, days);
    await recordMeteredStreams(db, streams);
    return;
  }
  const insert = meteredDaysInsert(days);
  const entries = [...streams.entries()];
  await db.query(
    `WITH days AS (${insert.sql})
     INSERT INTO settlement.metered_streams (gsrn, revision) SELECT * FROM unnest($12::text[], $13::bigint[])
     ON CONFLICT (gsrn) DO UPDATE SET revision = EXCLUDED.revision`,
    [...insert.params, entries.map(([g]) => g), entries.map(([, s]) => s.revision.toString())],
  );
}

/** Forgets the recorded revision of a stream: the next batch reads it from the event store (and records it again). */
export async function forgetMeteredStream(db: Db, gsrn: string): Promise<void> {
  await db.query(`DELETE FROM settlement.metered_streams WHERE gsrn = $1`, [gsrn]);
}

/** The expected annual kWh of a metering point (its aconto basis), or null when none was set. */
export async function loadExpectedConsumption(db: Db, gsrn: string): Promise<string | null> {
  const r = await db.query<{ expected_annual_kwh: string }>(`SELECT expected_annual_kwh FROM settlement.expected_consumption WHERE gsrn = $1`, [gsrn]);
  return r.rows[0]?.expected_annual_kwh ?? null;
}

interface SupplyRow {
  gsrn: string;
  start_date: string;
  customer_id: string;
  end_date: string | null;
  product_id: string;
  electric_heating: boolean;
  grid_area: string;
  production_gsrn: string | null;
  billing_frequency: 'monthly' | 'quarterly';
  payment_model: 'aconto' | 'actual';
  reversed: boolean;
}

function supplyOf(r: SupplyRow): SupplyRecord {
  return {
    gsrn: r.gsrn,
    customerId: r.customer_id,
    startDate: r.start_date,
    endDate: r.end_date,
    productId: r.product_id,
    electricHeating: r.electric_heating,
    gridArea: r.grid_area,
    productionGsrn: r.production_gsrn,
    billingFrequency: r.billing_frequency,
    paymentModel: r.payment_model,
    reversed: r.reversed,
  };
}

export async function loadSupplies(db: Db, gsrn?: string): Promise<SupplyRecord[]> {
  const rows = gsrn === undefined ? await db.query<SupplyRow>(`SELECT * FROM settlement.supplies`) : await db.query<SupplyRow>(`SELECT * FROM settlement.supplies WHERE gsrn = $1`, [gsrn]);
  return rows.rows.map(supplyOf);
}


/**
 * A packed stored day (integer Wh, issue 8) as settlement reads it: its packed values (`packed`) for a run's kernel,
 * which lays them on its grid directly, and its decimal `points` made only when something reads them (the reference
 * path, explanations, the electric-heating year to date). Both are read through the prototype, so the record's own
 * enumerable fields are those of a day read from points, and it compares as before. A class, not an object literal
 * with a getter and a defined property: V8 builds such a literal on a slow path (≈ 3 µs a day, 31 days a point).
 */
class PackedStoredDay implements MeteredDayRecord {
  readonly #packed: PackedMeteredPoints;
  #points: MeteredPoint[] | undefined;

  constructor(
    readonly gsrn: string,
    readonly day: LocalDate,
    readonly version: number,
    readonly resolution: 'PT15M' | 'PT1H',
    readonly start: Date,
    readonly documentId: string,
    readonly receivedAt: Date,
    packed: PackedMeteredPoints,
  ) {
    this.#packed = packed;
  }

  get points(): MeteredPoint[] {
    return (this.#points ??= meteredPointsOf(this.#packed));
  }

  get packed(): PackedMeteredPoints {
    return this.#packed;
  }
}

/** Columns of a metered-days query (`rowMode: 'array'`), in this order. */
type MeteredRow = [
  gsrn: string,
  day: string,
  version: number,
  resolution: 'PT15M' | 'PT1H',
  start: Date,
  points: MeteredPoint[] | null,
  firstPosition: number | null,
  wh: (number | null)[] | null,
  qualities: [string, number][] | null,
  documentId: string,
  receivedAt: Date,
];

/** A stored day as settlement reads it: packed (see {@link PackedStoredDay}) or, stored before issue 8, with its points. */
function meteredDayOf(r: MeteredRow): MeteredDayRecord {
  const [gsrn, day, version, resolution, start, points, firstPosition, wh, qualities, documentId, receivedAt] = r;
  if (Array.isArray(points) || typeof firstPosition !== 'number' || !Array.isArray(wh) || !Array.isArray(qualities)) {
    return { gsrn, day, version, resolution, start, documentId, receivedAt, points: meteredPointsOf({ points, firstPosition, wh, qualities }) };
  }
  return new PackedStoredDay(gsrn, day, version, resolution, start, documentId, receivedAt, { firstPosition, wh, qualities });
}

const INT4_ARRAY_OID = 1007;
const TIMESTAMPTZ_OID = 1184;

/**
 * The text PostgreSQL sends for a one-dimensional `int[]` (`{1,-2,NULL,3}`), read by character codes into numbers:
 * no string per element (node-postgres's array parser makes one, then parses it). Null when the text is anything
 * else (bounds `[0:2]={…}`, more dimensions, quotes, spaces, more digits than an int has): the caller then uses
 * node-postgres's own parser, so the result never differs from it.
 */
export function parseInt4ArrayText(text: string): (number | null)[] | null {
  const n = text.length;
  if (n < 2 || text.charCodeAt(0) !== 123 /* { */ || text.charCodeAt(n - 1) !== 125 /* } */) return null;
  const out: (number | null)[] = [];
  if (n === 2) return out;
  let i = 1;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 78 /* N */) {
      if (text.charCodeAt(i + 1) !== 85 || text.charCodeAt(i + 2) !== 76 || text.charCodeAt(i + 3) !== 76) return null;
      out.push(null);
      i += 4;
    } else {
      const negative = c === 45; /* - */
      if (negative) i++;
      const start = i;
      let v = 0;
      for (let d = text.charCodeAt(i) - 48; d >= 0 && d <= 9; d = text.charCodeAt(i) - 48) {
        v = v * 10 + d;
        i++;
      }
      if (i === start || i - start > 10) return null;
      out.push(negative ? -v : v);
    }
    const sep = text.charCodeAt(i);
    if (sep === 125 /* } */) return i === n - 1 ? out : null;
    if (sep !== 44 /* , */) return null;
    i++;
  }
}

/**
 * The value parsers of a metered-days query: `int[]` by {@link parseInt4ArrayText} (node-postgres's parser when it
 * declines), and each distinct `timestamptz` text parsed once per query (every point has the same day starts, and
 * the days of one document the same receipt): a new `Date` per value, as node-postgres gives. Everything else as
 * node-postgres parses it.
 */
function meteredRowTypes(): { getTypeParser: (oid: number, format?: string) => (value: string) => unknown } {
  const instants = new Map<string, number>();
  return {
    getTypeParser: (oid: number, format?: string) => {
      const fallback = pgTypes.getTypeParser(oid, (format ?? 'text') as 'text') as (value: string) => unknown;
      if (format !== undefined && format !== 'text') return fallback;
      if (oid === INT4_ARRAY_OID) return (value: string) => parseInt4ArrayText(value) ?? fallback(value);
      if (oid === TIMESTAMPTZ_OID) {
        return (value: string) => {
          const ms = instants.get(value);
          if (ms !== undefined) return new Date(ms);
          const parsed = fallback(value);
          if (parsed instanceof Date) instants.set(value, parsed.getTime());
          return parsed;
        };
      }
      return fallback;
    },
  };
}

/** `loadMeteredDays` for several series at once (one query): their days by GSRN, each in day order. */
export async function loadMeteredDaysOf(db: Db, gsrns: readonly string[], from: LocalDate, toExclusive: LocalDate, knownAt?: Date): Promise<Map<string, MeteredDayRecord[]>> {
  const out = new Map<string, MeteredDayRecord[]>();
  if (gsrns.length === 0) return out;
  const rows = await db.query<MeteredRow>({
    rowMode: 'array' as const,
    text: `SELECT DISTINCT ON (gsrn, day) gsrn, day, version, resolution, start, points, first_position, wh, qualities, document_id, received_at FROM settlement.metered_data
      WHERE gsrn = ANY($1::text[]) AND day >= $2 AND day < $3 AND ($4::timestamptz IS NULL OR received_at <= $4) ORDER BY gsrn, day, version DESC`,
    values: [[...new Set(gsrns)], from, toExclusive, knownAt?.toISOString() ?? null],
    // A run's batch reads 31 days × its points here: node-postgres's generic array and date parsing was most of its CPU.
    types: meteredRowTypes(),
  });
  for (const r of rows.rows) {
    const gsrn = r[0];
    const list = out.get(gsrn);
    if (list === undefined) out.set(gsrn, [meteredDayOf(r)]);
    else list.push(meteredDayOf(r));
  }
  return out;
}

/**
 * The current (highest) version of each day of a series in [from, toExclusive); with `knownAt`, the
 * highest version DataHub had delivered by then (what an invoice issued at that moment was computed from).
 */
export async function loadMeteredDays(db: Db, gsrn: string, from: LocalDate, toExclusive: LocalDate, knownAt?: Date): Promise<MeteredDayRecord[]> {
  return (await loadMeteredDaysOf(db, [gsrn], from, toExclusive, knownAt)).get(gsrn) ?? [];
}

export interface LoadCopiesOptions {
  /** Only metered data versions received at or before this instant (prices are filtered by the settlement's `asOf`). */
  meteredKnownAt?: Date;
  /** The price copies of the period, loaded once (`loadSharedPriceCopies`) for many metering points of a run. */
  shared?: SharedPriceCopies;
}

/** The copies every metering point of a period shares: products, tax rates, grid areas, charges and spot prices. */
export type SharedPriceCopies = Pick<SettlementCopies, 'products' | 'taxRates' | 'gridAreas' | 'charges' | 'spotPrices'>;

/**
 * The price copies of a period: products (those named, else all), tax rates, grid areas, charge rows valid in
 * the period and the spot prices of the grid areas' price areas (those `gridAreasOf` accepts, else all).
 */
export async function loadSharedPriceCopies(db: Db, period: BillingPeriod, filter: { productIds?: string[]; gridAreasOf?: (gridArea: string) => boolean } = {}): Promise<SharedPriceCopies> {
  const { from, toExclusive } = periodDates(period);
  const products = await db.query<{
    product_id: string;
    valid_from: string;
    published_at: Date;
    name: string;
    margin_dkk_per_kwh: string;
    monthly_subscription_dkk: string;
    export_fee_dkk_per_kwh: string | null;
    expected_all_in_price_per_kwh: string | null;
    aconto_quarter_shares: string[] | null;
  }>(
    `SELECT * FROM settlement.products WHERE ($1::text[] IS NULL OR product_id = ANY($1))`,
    [filter.productIds ?? null],
  );
  const taxes = await db.query<{ valid_from: string; published_at: Date; valid_to: string | null; normal_dkk_per_kwh: string; reduced_dkk_per_kwh: string }>(
    `SELECT * FROM settlement.tax_rates ORDER BY valid_from, published_at`,
  );
  const gridAreas = await db.query<{ grid_area: string; price_area: string; grid_company_gln: string; grid_tariff_charge_id: string; grid_subscription_charge_id: string }>(
    `SELECT * FROM settlement.grid_areas`,
  );
  const charges = await db.query<{ charge_id: string; owner: string; charge_type: ChargeType; code: string; description: string }>(`SELECT * FROM settlement.charges ORDER BY charge_id`);
  const chargeRows = await db.query<{ charge_id: string; version: number; published_at: Date; valid_from: string; valid_to: string | null; resolution: ChargeResolution; prices: string[] }>(
    `SELECT * FROM settlement.charge_rows WHERE valid_from < $2 AND (valid_to IS NULL OR valid_to > $1) ORDER BY charge_id, published_at, version, valid_from`,
    [from, toExclusive],
  );
  const areas = [...new Set(gridAreas.rows.filter((g) => filter.gridAreasOf === undefined || filter.gridAreasOf(g.grid_area)).map((g) => g.price_area))];
  const spot = await db.query<{ price_area: string; start: Date; resolution: 'PT15M' | 'PT1H'; version: number; published_at: Date; dkk_per_kwh: string }>(
    `SELECT * FROM settlement.spot_prices WHERE price_area = ANY($1) AND start >= $2 AND start < $3`,
    [areas, localDayStart(from), localDayStart(toExclusive)],
  );
  const byCharge = new Map<string, ChargeRecord>(
    charges.rows.map((c) => [c.charge_id, { chargeId: c.charge_id, owner: c.owner, chargeType: c.charge_type, code: c.code, description: c.description, rows: [] }]),
  );
  for (const r of chargeRows.rows) {
    byCharge.get(r.charge_id)?.rows.push({ validFrom: r.valid_from, validTo: r.valid_to, resolution: r.resolution, prices: r.prices, version: r.version, publishedAt: r.published_at });
  }
  return {
    products: products.rows.map((p) => ({
      productId: p.product_id,
      name: p.name,
      marginDkkPerKwh: p.margin_dkk_per_kwh,
      monthlySubscriptionDkk: p.monthly_subscription_dkk,
      exportFeeDkkPerKwh: p.export_fee_dkk_per_kwh,
      validFrom: p.valid_from,
      publishedAt: p.published_at,
      expectedAllInPricePerKwh: p.expected_all_in_price_per_kwh,
      acontoQuarterShares: p.aconto_quarter_shares,
    })),
    taxRates: taxes.rows.map((t, i) => ({ validFrom: t.valid_from, validTo: t.valid_to, normalDkkPerKwh: t.normal_dkk_per_kwh, reducedDkkPerKwh: t.reduced_dkk_per_kwh, publishedAt: t.published_at, version: i + 1 })),
    gridAreas: gridAreas.rows.map((g) => ({
      gridArea: g.grid_area,
      priceArea: g.price_area,
      gridCompanyGln: g.grid_company_gln,
      gridTariffChargeId: g.grid_tariff_charge_id,
      gridSubscriptionChargeId: g.grid_subscription_charge_id,
    })),
    charges: [...byCharge.values()],
    spotPrices: spot.rows.map((s) => ({ priceArea: s.price_area, start: s.start, resolution: s.resolution, dkkPerKwh: s.dkk_per_kwh, version: s.version, publishedAt: s.published_at })),
  };
}

/** What one metering point's copies hold of its own (everything but the shared price copies). */
type PointCopies = Omit<SettlementCopies, keyof SharedPriceCopies>;

const groupBy = <R extends { gsrn: string }>(rows: readonly R[]): Map<string, R[]> => {
  const out = new Map<string, R[]>();
  for (const r of rows) {
    const list = out.get(r.gsrn);
    if (list === undefined) out.set(r.gsrn, [r]);
    else list.push(r);
  }
  return out;
};

/**
 * The copies of several metering points of one period that are their own: one query per table for all of them
 * (issue 8: a run's worker reads a batch of work items' copies at once), each point's rows as `loadCopies` has them.
 */
async function loadPointCopies(db: Db, gsrns: readonly string[], period: BillingPeriod, knownAt?: Date): Promise<Map<string, PointCopies>> {
  const { from, toExclusive } = periodDates(period);
  const all = [...new Set(gsrns)];
  const supplies = groupBy((await db.query<SupplyRow>(`SELECT * FROM settlement.supplies WHERE gsrn = ANY($1::text[]) ORDER BY gsrn, start_date`, [all])).rows);
  const productChanges = groupBy(
    (await db.query<{ gsrn: string; valid_from: string; product_id: string }>(`SELECT * FROM settlement.product_changes WHERE gsrn = ANY($1::text[]) ORDER BY gsrn, valid_from`, [all])).rows,
  );
  const heating = groupBy(
    (await db.query<{ gsrn: string; valid_from: string; electric_heating: boolean }>(`SELECT * FROM settlement.electric_heating_changes WHERE gsrn = ANY($1::text[]) ORDER BY gsrn, valid_from`, [all]))
      .rows,
  );
  const chargeLinks = await settlementChargeCopy.linksOf(db, all, { start: localDayStart(from), end: localDayStart(toExclusive) });
  // Fees (D02) are charged once, on their link's own start: the stored link, not the one clipped to the period.
  // A link DataHub stopped on its own start (termination = effective date) is no fee.
  // Its VATPayer: the fee's master data (RSM-034) in force on that day, the latest start on or before it.
  const feeLinks = groupBy(
    (
      await db.query<{ gsrn: string; charge_id: string; owner: string; code: string; factor: string; link_from: Date; vat_payer: 'D01' | 'D02' | null }>(
        `SELECT l.gsrn, l.charge_id, l.owner, l.code, l.factor, l.link_from,
                (SELECT i.vat_payer FROM settlement.datahub_charge_information i
                  WHERE i.charge_id = l.charge_id AND i.valid_from <= l.link_from AND (i.valid_to IS NULL OR i.valid_to > l.link_from) ORDER BY i.valid_from DESC LIMIT 1) AS vat_payer
           FROM settlement.datahub_charge_links l
          WHERE l.gsrn = ANY($1::text[]) AND l.charge_type = 'D02' AND l.link_from >= $2 AND l.link_from < $3 AND (l.link_to IS NULL OR l.link_to > l.link_from)
          ORDER BY l.gsrn, l.link_from, l.charge_id`,
        [all, localDayStart(from), localDayStart(toExclusive)],
      )
    ).rows,
  );
  const links = groupBy(
    (await db.query<{ gsrn: string; valid_from: string; production_gsrn: string }>(`SELECT * FROM settlement.production_links WHERE gsrn = ANY($1::text[]) ORDER BY gsrn, valid_from`, [all])).rows,
  );
  // Every production GSRN that may be in force; buildSettlementInput picks the one that is.
  const productionGsrnsOf = new Map<string, string[]>();
  for (const g of all) {
    const own = [...(supplies.get(g) ?? []).map((s) => s.production_gsrn), ...(links.get(g) ?? []).map((l) => l.production_gsrn)].filter((x): x is string => x !== null);
    productionGsrnsOf.set(g, [...new Set(own)].sort());
  }
  // The calendar year before the period, for the electric-heating year to date (buildSettlementInput
  // counts only the days of the supplies it settles).
  const yearStart = `${from.slice(0, 4)}-01-01`;
  const heated = all.filter((g) => from > yearStart && ((supplies.get(g) ?? []).some((s) => s.electric_heating) || (heating.get(g) ?? []).some((h) => h.electric_heating)));
  const productionGsrns = [...new Set(all.flatMap((g) => productionGsrnsOf.get(g)!))];
  const consumption = await loadMeteredDaysOf(db, all, from, toExclusive, knownAt);
  const production = await loadMeteredDaysOf(db, productionGsrns, from, toExclusive, knownAt);
  const consumptionBefore = await loadMeteredDaysOf(db, heated, yearStart, from, knownAt);
  const productionBefore = await loadMeteredDaysOf(db, [...new Set(heated.flatMap((g) => productionGsrnsOf.get(g)!))], yearStart, from, knownAt);
  const out = new Map<string, PointCopies>();
  for (const gsrn of all) {
    const productionOf = (days: Map<string, MeteredDayRecord[]>): MeteredDayRecord[] => productionGsrnsOf.get(gsrn)!.flatMap((g) => days.get(g) ?? []);
    const isHeated = heated.includes(gsrn);
    out.set(gsrn, {
      supplies: (supplies.get(gsrn) ?? []).map(supplyOf),
      electricHeatingChanges: (heating.get(gsrn) ?? []).map((h) => ({ gsrn: h.gsrn, from: h.valid_from, electricHeating: h.electric_heating })),
      productionLinks: (links.get(gsrn) ?? []).map((l) => ({ gsrn: l.gsrn, from: l.valid_from, productionGsrn: l.production_gsrn })),
      productChanges: (productChanges.get(gsrn) ?? []).map((c) => ({ gsrn: c.gsrn, from: c.valid_from, productId: c.product_id })),
      // Clamped to the period by the copy; instants of local midnights as local dates.
      chargeLinks: (chargeLinks.get(gsrn) ?? []).map((l) => ({
        gsrn,
        chargeId: l.chargeId,
        owner: l.owner,
        chargeType: l.chargeType,
        code: l.code,
        factor: l.factor,
        from: localDateOf(new Date(l.from)),
        to: localDateOf(new Date(l.to)),
      })),
      feeLinks: (feeLinks.get(gsrn) ?? []).map((l) => ({ gsrn, chargeId: l.charge_id, owner: l.owner, code: l.code, factor: l.factor, date: localDateOf(l.link_from), vatPayer: l.vat_payer })),
      consumption: consumption.get(gsrn) ?? [],
      production: productionOf(production),
      consumptionBeforePeriod: isHeated ? (consumptionBefore.get(gsrn) ?? []) : [],
      productionBeforePeriod: isHeated ? productionOf(productionBefore) : [],
    });
  }
  return out;
}

/** Everything settlement knows that prices one metering point for one period. */
export async function loadCopies(db: Db, gsrn: string, period: BillingPeriod, options: LoadCopiesOptions = {}): Promise<SettlementCopies> {
  const own = (await loadPointCopies(db, [gsrn], period, options.meteredKnownAt)).get(gsrn)!;
  const shared =
    options.shared ??
    (await loadSharedPriceCopies(db, period, {
      productIds: [...new Set([...own.supplies.map((s) => s.productId), ...(own.productChanges ?? []).map((c) => c.productId)])],
      gridAreasOf: (g) => own.supplies.some((s) => s.gridArea === g),
    }));
  return { ...own, ...shared };
}

/**
 * `loadCopies` for the metering points of a batch of work items (issue 8): the points' own copies with one query
 * per table for all of them, and the period's price copies given (`loadSharedPriceCopies`, loaded once per run).
 */
export async function loadCopiesOf(db: Db, gsrns: readonly string[], period: BillingPeriod, shared: SharedPriceCopies, options: { meteredKnownAt?: Date } = {}): Promise<Map<string, SettlementCopies>> {
  const out = new Map<string, SettlementCopies>();
  for (const [gsrn, own] of await loadPointCopies(db, gsrns, period, options.meteredKnownAt)) out.set(gsrn, { ...own, ...shared });
  return out;
}

/** Aconto the customer paid for a metering point within the period (local dates), exact DKK string. */
export async function acontoPaidInPeriod(db: Db, gsrn: string, period: BillingPeriod, customerId: string): Promise<string> {
  const { from, toExclusive } = periodDates(period);
  const r = await db.query<{ total: string }>(
    `SELECT coalesce(sum(amount), 0)::numeric(18,2)::text AS total FROM settlement.aconto_payments WHERE gsrn = $1 AND paid_at >= $2 AND paid_at < $3 AND customer_id = $4`,
    [gsrn, localDayStart(from), localDayStart(toExclusive), customerId],
  );
  return r.rows[0]!.total;
}
