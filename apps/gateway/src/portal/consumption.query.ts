import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { addDays, compareLocalDates, daysBetween, isLocalDate, localDayEnd, localDayStart, localLabel, type LocalDate } from '@dh/dk-time';
import { CONSUMPTION_DAILY_TABLE, CONSUMPTION_HOURS_TABLE, CONSUMPTION_MONTHLY_TABLE, dayValueJsonSql, hourElementsSql, METERING_POINTS_TABLE } from '@dh/read-models';
import { meteringPointColumns, type MeteringPointRow } from '../portfolio/metering-point-row';
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
  /** The elements of the `values` array, comma-separated, in time order. */
  valuesJson: string;
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
 */
const METERING_POINT_STATEMENT = {
  name: 'portal-consumption-metering-point',
  text: `SELECT ${meteringPointColumns(undefined, { castToText: true })} FROM ${METERING_POINTS_TABLE} WHERE gsrn = $1 AND customer_id = $2`,
} as const;
const HOURS_STATEMENT = {
  name: 'portal-consumption-hours',
  // The day rows themselves, in order: cheaper for the server than `string_agg` over them (no sort, no 90 KiB
  // aggregate state), and ≤ 31 rows for the gateway to join.
  text: `SELECT hours_json::text AS hours_json, total::text AS total, any_estimated::boolean AS any_estimated, any_missing::boolean AS any_missing
       FROM ${CONSUMPTION_HOURS_TABLE} WHERE gsrn = $1 AND day >= $2 AND day <= $3 ORDER BY day`,
} as const;
const DAYS_STATEMENT = {
  name: 'portal-consumption-days',
  // A year is ≤ 366 rows: one aggregated row is cheaper for the gateway than that many rows and their Σ in big.js.
  text: `SELECT string_agg(coalesce(day_json, ${DAY_VALUE_JSON}), ',' ORDER BY day) AS values_json, coalesce(sum(quantity), 0)::text AS total,
         coalesce(bool_or(estimated), false) AS estimated, coalesce(bool_or(missing), false) AS missing, count(*) FILTER (WHERE start_label IS NULL OR end_label IS NULL)::int AS unlabelled
       FROM ${CONSUMPTION_DAILY_TABLE} WHERE gsrn = $1 AND day >= $2 AND day <= $3`,
} as const;

/** The customer's metering point (`customerId`'s supply on `gsrn`), every consumption request's first read. */
export async function readConsumptionMeteringPoint(pool: Pick<Pool, 'query'>, gsrn: string, customerId: string): Promise<MeteringPointRow | undefined> {
  return (await pool.query<MeteringPointRow>({ ...METERING_POINT_STATEMENT, values: [gsrn, customerId] })).rows[0];
}

/**
 * The hour or day view for [from, to], the values already as JSON text: a year of days or a month of hours costs
 * the gateway one string per day row (hours) or one row (days) instead of shaping hundreds of values.
 * Hours: the ≤ 31 day rows' stored JSON (`hours_json`, every row has it: days-v6's migration filled it on rows
 * written before days-v4, from their arrays), joined here, their exact Σ from the rows' totals. Days: the day rows'
 * stored JSON (`day_json`) concatenated by PostgreSQL; a row without it (written before the projection stored it,
 * days-v5) has its JSON built there from its columns and labels; null when a day row in the range has no stored
 * labels (the caller then shapes them itself; a rebuild of the consumption projection ends both).
 */
export async function readConsumptionJson(pool: Pick<Pool, 'query'>, gsrn: string, from: LocalDate, to: LocalDate, resolution: 'hour' | 'day'): Promise<ConsumptionJson | null> {
  if (resolution === 'hour') {
    const { rows } = await pool.query<[string | null, string | null, boolean | null, boolean | null]>({ ...HOURS_STATEMENT, values: [gsrn, from, to], rowMode: 'array' });
    const parts: string[] = [];
    const totals: string[] = [];
    let estimated = false;
    let missing = false;
    for (const [json, total, anyEstimated, anyMissing] of rows) {
      // As `string_agg` and `sum` would: a row without a value adds nothing.
      if (json !== null) parts.push(json);
      if (total !== null) totals.push(total);
      if (anyEstimated === true) estimated = true;
      if (anyMissing === true) missing = true;
    }
    return { valuesJson: parts.join(','), total: kwhString(sumDecimalText(totals)), estimated, missing };
  }
  const r = (await pool.query<DaysJsonRow>({ ...DAYS_STATEMENT, values: [gsrn, from, to] })).rows[0];
  if (!r || r.unlabelled > 0) return null;
  return { valuesJson: r.values_json ?? '', total: kwhString(r.total), estimated: r.estimated, missing: r.missing };
}

export function totalOf(values: readonly ConsumptionValue[]): string {
  return sumKwh(values.map((v) => v.quantity_kwh));
}
