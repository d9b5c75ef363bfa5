import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { addDays, compareLocalDates, daysBetween, isLocalDate, localDayEnd, localDayStart, localLabel, type LocalDate } from '@dh/dk-time';
import { CONSUMPTION_DAILY_TABLE, CONSUMPTION_HOURS_TABLE, CONSUMPTION_MONTHLY_TABLE, dayValueJsonSql, hourElementsSql, METERING_POINTS_TABLE, type DeflatePart } from '@dh/read-models';
import { joinedPart, storedBlock } from './gzip-answer';
import { validationProblem } from './portal-access';
import { addYears, firstOfMonth, kwhString, nextMonth, sumDecimalText, sumKwh } from './local-time';

export const RESOLUTIONS = ['hour', 'day', 'month'] as const;
export type ConsumptionResolution = (typeof RESOLUTIONS)[number];
export const MAX_RANGE_YEARS = 2;
const GSRN = /^\d{18}$/;

export interface ConsumptionQuery {
  gsrn: string;
  from: LocalDate;
  /** Inclusive. */
  to: LocalDate;
  resolution: ConsumptionResolution;
}

/** Validates `gsrn`, `from`, `to` (inclusive local dates, at most two years) and `resolution` (default `day`). */
export function parseConsumptionQuery(q: Record<string, unknown>): ConsumptionQuery {
  const gsrn = q.gsrn;
  if (typeof gsrn !== 'string' || !GSRN.test(gsrn)) throw validationProblem('gsrn', 'must be an 18-digit GSRN');
  const from = q.from;
  const to = q.to;
  if (typeof from !== 'string' || !isLocalDate(from)) throw validationProblem('from', 'must be a local date YYYY-MM-DD');
  if (typeof to !== 'string' || !isLocalDate(to)) throw validationProblem('to', 'must be a local date YYYY-MM-DD');
  if (compareLocalDates(to, from) < 0) throw validationProblem('to', 'must not be before from');
  if (compareLocalDates(to, addYears(from, MAX_RANGE_YEARS)) >= 0) {
    throw validationProblem('to', `the range from..to (inclusive) may cover at most ${MAX_RANGE_YEARS} years: to must be before ${addYears(from, MAX_RANGE_YEARS)}`);
  }
  const resolution = q.resolution ?? 'day';
  if (typeof resolution !== 'string' || !(RESOLUTIONS as readonly string[]).includes(resolution)) throw validationProblem('resolution', 'must be hour, day or month');
  return { gsrn, from, to, resolution: resolution as ConsumptionResolution };
}

export interface ConsumptionValue {
  /** Local wall time with offset, e.g. `2026-10-25T02:00+01:00`. */
  start: string;
  end: string;
  /** resolution day: the local date; month: `YYYY-MM`. */
  date?: string;
  month?: string;
  /** resolution day: 23, 24 or 25. */
  hours?: number;
  quantity_kwh: string;
  estimated: boolean;
  missing: boolean;
}

/**
 * Reads the pre-aggregated read models for [from, to] (local dates, inclusive), already clamped to
 * the customer's supply. Buckets without any value are left out (no zero filling).
 */
export async function readConsumption(db: DataSource, gsrn: string, from: LocalDate, to: LocalDate, resolution: ConsumptionResolution): Promise<ConsumptionValue[]> {
  if (resolution === 'hour') {
    // The day rows' hours (days-v6: only as the portal's JSON elements, which carry the hour's labels).
    const rows: { start: string; end: string; quantity: string; estimated: boolean; missing: boolean }[] = await db.query(
      `SELECT u.e->>'start' AS start, u.e->>'end' AS end, u.e->>'quantity_kwh' AS quantity, (u.e->>'estimated')::boolean AS estimated, (u.e->>'missing')::boolean AS missing
         FROM ${CONSUMPTION_HOURS_TABLE} h CROSS JOIN LATERAL ${hourElementsSql('h', 'u')}
        WHERE h.gsrn = $1 AND h.day >= $2 AND h.day <= $3 ORDER BY h.day, u.i`,
      [gsrn, from, to],
    );
    return rows.map((r) => ({ start: r.start, end: r.end, quantity_kwh: kwhString(r.quantity), estimated: r.estimated, missing: r.missing }));
  }
  if (resolution === 'day') {
    const rows: { day: string; quantity: string; day_hours: number; estimated: boolean; missing: boolean }[] = await db.query(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, quantity::text AS quantity, day_hours, estimated, missing FROM ${CONSUMPTION_DAILY_TABLE}
       WHERE gsrn = $1 AND day >= $2 AND day <= $3 ORDER BY day`,
      [gsrn, from, to],
    );
    return rows.map((r) => ({
      date: r.day,
      start: localLabel(localDayStart(r.day)),
      end: localLabel(localDayEnd(r.day)),
      hours: r.day_hours,
      quantity_kwh: kwhString(r.quantity),
      estimated: r.estimated,
      missing: r.missing,
    }));
  }
  // Months wholly inside the range come from the monthly read model; a month cut by the range (or by
  // the supply) is summed from its days inside the range.
  const out: ConsumptionValue[] = [];
  for (let m = firstOfMonth(from); compareLocalDates(m, to) <= 0; m = nextMonth(m)) {
    const last = addDays(nextMonth(m), -1);
    const partFrom = compareLocalDates(m, from) < 0 ? from : m;
    const partTo = compareLocalDates(last, to) > 0 ? to : last;
    const whole = partFrom === m && partTo === last;
    const rows: { quantity: string | null; estimated: boolean | null; missing: boolean | null; n: number }[] = whole
      ? await db.query(`SELECT quantity::text AS quantity, estimated, missing, days AS n FROM ${CONSUMPTION_MONTHLY_TABLE} WHERE gsrn = $1 AND month = $2`, [gsrn, m])
      : await db.query(
          `SELECT sum(quantity)::text AS quantity, bool_or(estimated) AS estimated, bool_or(missing) AS missing, count(*)::int AS n
           FROM ${CONSUMPTION_DAILY_TABLE} WHERE gsrn = $1 AND day >= $2 AND day <= $3`,
          [gsrn, partFrom, partTo],
        );
    const r = rows[0];
    if (!r || r.quantity === null || r.n === 0) continue;
    const daysInPart = daysBetween(partFrom, partTo) + 1;
    out.push({
      month: m.slice(0, 7),
      start: localLabel(localDayStart(partFrom)),
      end: localLabel(localDayEnd(partTo)),
      quantity_kwh: kwhString(r.quantity),
      estimated: r.estimated === true,
      missing: r.missing === true || r.n < daysInPart,
    });
  }
  return out;
}

/** Hour and day values as the portal sends them, as the JSON text the read models store (no per-value work here). */
export interface ConsumptionJson {
  /** The elements of the `values` array, comma-separated, in time order (null when read as {@link valuesPart}). */
  valuesJson: string | null;
  /**
   * Hours read for a gzip answer: the elements of the `values` array, comma-separated, in time order, as one
   * {@link DeflatePart} (the days' stored parts joined by the database; of no text when no day has hours). Null otherwise.
   */
  valuesPart: DeflatePart | null;
  /** Exact Σ of the values (kWh, at least 3 decimals). */
  total: string;
  estimated: boolean;
  missing: boolean;
}

/** A day's JSON built from the labels the projection stored (see consumption.projection.ts) and exact numeric text (`kwhString` in SQL). */
const DAY_VALUE_JSON = dayValueJsonSql(`to_char(day, 'YYYY-MM-DD')`, 'start_label', 'end_label', 'day_hours', 'quantity', 'estimated', 'missing');

interface DaysJsonRow {
  values_json: string | null;
  total: string;
  estimated: boolean;
  missing: boolean;
  /** Rows without what the fast form needs (written before the projection stored it). */
  unlabelled: number;
}

/**
 * Named statements: PostgreSQL parses and plans each once per connection, not per request (these run for every
 * portal consumption request). A statement prepared before a rebuild swaps the read model's tables runs against the
 * new ones (PostgreSQL analyses it again), but it fails with "cached plan must not change result type" if its result
 * columns' types changed: every result column here has a type of its own (a cast or an aggregate), whatever type the
 * table's column has. Behind a pooler, it must keep protocol-level prepared statements per server connection
 * (PgBouncer ≥ 1.21 with `max_prepared_statements`, or session pooling).
 *
 * Each request is one statement, one round trip: the customer's supply on the GSRN (`$1` GSRN, `$2` customer), the
 * requested range (`$3`..`$4`, inclusive local dates) cut to that supply, and for hours and days the values in the cut
 * range. The cut is made here only, in SQL ({@link SUPPLY_CUT}); the gateway takes it from the row. The supply's dates
 * are read as `date`s whatever type their columns have.
 */
const SUPPLY_CUT = `FROM ${METERING_POINTS_TABLE} mp
  CROSS JOIN LATERAL (SELECT greatest($3::date, mp.supply_start::date) AS cut_from, least($4::date, mp.supply_end::date - 1) AS cut_to) c`;
/** Some day of the requested range is supplied (the values' joins and the cut columns test it). */
const SUPPLIED = `mp.supply_start IS NOT NULL AND c.cut_from <= c.cut_to`;
/** The supply and the cut range (null when no day of the range is supplied), as text. */
const SUPPLY_COLUMNS = `to_char(mp.supply_start::date, 'YYYY-MM-DD') AS supply_start, to_char(mp.supply_end::date, 'YYYY-MM-DD') AS supply_end,
  CASE WHEN ${SUPPLIED} THEN to_char(c.cut_from, 'YYYY-MM-DD') END AS cut_from,
  CASE WHEN ${SUPPLIED} THEN to_char(c.cut_to, 'YYYY-MM-DD') END AS cut_to`;
const CUSTOMER_SUPPLY = `WHERE mp.gsrn = $1 AND mp.customer_id = $2`;

const SUPPLY_STATEMENT = {
  name: 'portal-consumption-supply',
  text: `SELECT ${SUPPLY_COLUMNS} ${SUPPLY_CUT} ${CUSTOMER_SUPPLY}`,
} as const;
const HOURS_STATEMENT = {
  name: 'portal-consumption-supply-hours',
  // The day rows themselves, in order: cheaper for the server than `string_agg` over them (no sort, no 90 KiB
  // aggregate state), and ≤ 31 rows for the gateway to join; the supply's four short columns repeat on each.
  text: `SELECT ${SUPPLY_COLUMNS}, h.hours_json::text AS hours_json, h.total::text AS total, h.any_estimated::boolean AS any_estimated, h.any_missing::boolean AS any_missing
       ${SUPPLY_CUT}
       LEFT JOIN ${CONSUMPTION_HOURS_TABLE} h ON ${SUPPLIED} AND h.gsrn = mp.gsrn AND h.day >= c.cut_from AND h.day <= c.cut_to
       ${CUSTOMER_SUPPLY} ORDER BY h.day`,
} as const;
/** What separates two days' hours in the `values` array, and its stored deflate block as a `bytea` literal. */
const DAY_SEPARATOR = ',';
const DAY_SEPARATOR_BLOCK = `'\\x${storedBlock(DAY_SEPARATOR).toString('hex')}'::bytea`;
const HOURS_DEFLATED_STATEMENT = {
  name: 'portal-consumption-supply-hours-deflated',
  // As HOURS_STATEMENT, in one row: the days' stored deflate parts (about a tenth of the text's bytes) joined in day
  // order with the comma's stored block between them, their CRCs and lengths in the same order, the exact Σ and flags of
  // the day rows (as `totalsOf` takes them from HOURS_STATEMENT's rows), and how many days with hours have no part yet.
  text: `SELECT ${SUPPLY_COLUMNS}, d.parts, d.crcs, d.lengths, d.total, d.estimated, d.missing, d.waiting
       ${SUPPLY_CUT}
       CROSS JOIN LATERAL (
         SELECT string_agg(h.hours_deflate, ${DAY_SEPARATOR_BLOCK} ORDER BY h.day) FILTER (WHERE h.hours_json IS NOT NULL)::bytea AS parts,
                array_agg(h.hours_crc32 ORDER BY h.day) FILTER (WHERE h.hours_json IS NOT NULL)::int[] AS crcs,
                array_agg(h.hours_bytes ORDER BY h.day) FILTER (WHERE h.hours_json IS NOT NULL)::int[] AS lengths,
                coalesce(sum(h.total), 0)::text AS total, coalesce(bool_or(h.any_estimated::boolean), false) AS estimated,
                coalesce(bool_or(h.any_missing::boolean), false) AS missing,
                count(*) FILTER (WHERE h.hours_json IS NOT NULL AND (h.hours_deflate IS NULL OR h.hours_crc32 IS NULL OR h.hours_bytes IS NULL))::int AS waiting
           FROM ${CONSUMPTION_HOURS_TABLE} h WHERE ${SUPPLIED} AND h.gsrn = mp.gsrn AND h.day >= c.cut_from AND h.day <= c.cut_to) d
       ${CUSTOMER_SUPPLY}`,
} as const;
const DAYS_STATEMENT = {
  name: 'portal-consumption-supply-days',
  // A year is ≤ 366 rows: one aggregated row is cheaper for the gateway than that many rows and their Σ in big.js.
  text: `SELECT ${SUPPLY_COLUMNS}, d.values_json, d.total, d.estimated, d.missing, d.unlabelled
       ${SUPPLY_CUT}
       CROSS JOIN LATERAL (
         SELECT string_agg(coalesce(day_json, ${DAY_VALUE_JSON}), ',' ORDER BY day) AS values_json, coalesce(sum(quantity), 0)::text AS total,
                coalesce(bool_or(estimated), false) AS estimated, coalesce(bool_or(missing), false) AS missing,
                count(*) FILTER (WHERE start_label IS NULL OR end_label IS NULL)::int AS unlabelled
           FROM ${CONSUMPTION_DAILY_TABLE} WHERE ${SUPPLIED} AND gsrn = mp.gsrn AND day >= c.cut_from AND day <= c.cut_to) d
       ${CUSTOMER_SUPPLY}`,
} as const;

/** The supply columns of every statement's rows. */
interface SupplyColumns {
  supply_start: string | null;
  supply_end: string | null;
  cut_from: string | null;
  cut_to: string | null;
}

/** A consumption request's read: the customer's supply on the GSRN, the range cut to it, and the values where they come as JSON. */
export interface CustomerConsumption {
  supply: { start: LocalDate | null; end: LocalDate | null };
  /** The requested range (inclusive) cut to the supply; null when no day of it is supplied (no values then). */
  cut: { from: LocalDate; to: LocalDate } | null;
  /**
   * Hours and days: the values in `cut` as JSON text. Null for months, when nothing is supplied, and when a day row in
   * the range has no stored labels (written before the projection stored them): the caller then shapes the values itself.
   */
  json: ConsumptionJson | null;
}

/** The hour view's exact Σ (from the day rows' totals) and flags, as `sum` and `bool_or` would give them. */
function totalsOf(rows: readonly { total: string | null; any_estimated: boolean | null; any_missing: boolean | null }[]): Pick<ConsumptionJson, 'total' | 'estimated' | 'missing'> {
  const totals: string[] = [];
  let estimated = false;
  let missing = false;
  for (const row of rows) {
    if (row.total !== null) totals.push(row.total);
    if (row.any_estimated === true) estimated = true;
    if (row.any_missing === true) missing = true;
  }
  return { total: kwhString(sumDecimalText(totals)), estimated, missing };
}

function supplyOf(row: SupplyColumns): Pick<CustomerConsumption, 'supply' | 'cut'> {
  return {
    supply: { start: row.supply_start as LocalDate | null, end: row.supply_end as LocalDate | null },
    cut: row.cut_from !== null && row.cut_to !== null ? { from: row.cut_from as LocalDate, to: row.cut_to as LocalDate } : null,
  };
}

/**
 * One consumption request's read, in one statement: `customerId`'s supply on `gsrn` (undefined when the customer has
 * none there), [from, to] (inclusive local dates) cut to it, and for hours and days the values in the cut range as
 * JSON text. Hours: the ≤ 31 day rows' stored JSON (`hours_json`, every row has it: days-v6's migration filled it on
 * rows written before days-v4), joined here, their exact Σ from the rows' totals. Days: the day rows' stored JSON
 * (`day_json`) concatenated by PostgreSQL; a row without it (written before the projection stored it, days-v5) has its
 * JSON built there from its columns and labels; `json` is null when a day row in the range has no stored labels (a
 * rebuild of the consumption projection ends both). Hours with `deflated`: the day rows' deflate parts instead of their
 * text, joined by PostgreSQL into one row with their CRCs and lengths (`valuesPart`, for a gzip answer); when a day row
 * in the range has no part yet, its text as without `deflated`.
 */
export async function readCustomerConsumption(
  pool: Pick<Pool, 'query'>,
  gsrn: string,
  customerId: string,
  from: LocalDate,
  to: LocalDate,
  resolution: ConsumptionResolution,
  /** Hours: read the days' stored deflate parts (joined in one row) instead of their text, for a gzip answer ({@link ConsumptionJson.valuesPart}). */
  deflated = false,
): Promise<CustomerConsumption | undefined> {
  const values = [gsrn, customerId, from, to];
  if (resolution === 'hour') {
    type HoursRow = SupplyColumns & { total: string | null; any_estimated: boolean | null; any_missing: boolean | null };
    if (deflated) {
      type DeflatedRow = SupplyColumns & { parts: Buffer | null; crcs: number[] | null; lengths: number[] | null; total: string; estimated: boolean; missing: boolean; waiting: number };
      const row = (await pool.query<DeflatedRow>({ ...HOURS_DEFLATED_STATEMENT, values })).rows[0];
      if (!row) return undefined;
      const read = supplyOf(row);
      if (read.cut === null) return { ...read, json: null };
      // A day whose part is not made yet (written moments ago, or since a rebuild): the whole answer as text.
      if (row.waiting > 0) return readCustomerConsumption(pool, gsrn, customerId, from, to, resolution, false);
      const part = joinedPart(row.parts ?? Buffer.alloc(0), row.crcs ?? [], row.lengths ?? [], DAY_SEPARATOR);
      return { ...read, json: { valuesJson: null, valuesPart: part, total: kwhString(row.total), estimated: row.estimated, missing: row.missing } };
    }
    const { rows } = await pool.query<HoursRow & { hours_json: string | null }>({ ...HOURS_STATEMENT, values });
    const first = rows[0];
    if (!first) return undefined;
    const read = supplyOf(first);
    if (read.cut === null) return { ...read, json: null };
    const texts: string[] = [];
    // As `string_agg` would: a row without a value (or the one row of a range without day rows) adds nothing.
    for (const row of rows) if (row.hours_json !== null) texts.push(row.hours_json);
    return { ...read, json: { valuesJson: texts.join(','), valuesPart: null, ...totalsOf(rows) } };
  }
  if (resolution === 'day') {
    const row = (await pool.query<SupplyColumns & DaysJsonRow>({ ...DAYS_STATEMENT, values })).rows[0];
    if (!row) return undefined;
    const read = supplyOf(row);
    if (read.cut === null || row.unlabelled > 0) return { ...read, json: null };
    return { ...read, json: { valuesJson: row.values_json ?? '', valuesPart: null, total: kwhString(row.total), estimated: row.estimated, missing: row.missing } };
  }
  const row = (await pool.query<SupplyColumns>({ ...SUPPLY_STATEMENT, values })).rows[0];
  return row ? { ...supplyOf(row), json: null } : undefined;
}

export function totalOf(values: readonly ConsumptionValue[]): string {
  return sumKwh(values.map((v) => v.quantity_kwh));
}
