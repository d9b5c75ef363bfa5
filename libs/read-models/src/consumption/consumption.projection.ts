import type { PoolClient } from 'pg';
import { addDays, compareLocalDates, daysInLocalMonth, localDateOf, localDayEnd, localDayHours, localDayStart, localLabel, parseLocalDate, type LocalDate } from '@dh/dk-time';
import type { Projection, ProjectedEvent } from '../projection/projection';
import { PROJECTION_SCHEMA } from '../projection/projection-state';
import { ANOMALY_BASELINE_DAYS, findUnusualDays } from '../notifications/unusual-consumption';

export const CONSUMPTION_VALUES_TABLE = `${PROJECTION_SCHEMA}.consumption_values`;
export const CONSUMPTION_HOURLY_TABLE = `${PROJECTION_SCHEMA}.consumption_hourly`;
export const CONSUMPTION_DAILY_TABLE = `${PROJECTION_SCHEMA}.consumption_daily`;
export const CONSUMPTION_MONTHLY_TABLE = `${PROJECTION_SCHEMA}.consumption_monthly`;
export const CONSUMPTION_ANOMALIES_TABLE = `${PROJECTION_SCHEMA}.consumption_anomalies`;

const MS_PER_HOUR = 3_600_000;
const RESOLUTION_MINUTES: Readonly<Record<string, number>> = { PT15M: 15, PT1H: 60 };
/** CIM quality codes: A02 not available (missing), A03 estimated. No code means measured. */
const QUALITY_MISSING = 'A02';
const QUALITY_ESTIMATED = 'A03';
const CONSUMPTION_TYPE = 'E17';

interface Point {
  position: number;
  quantity: string | null;
  quality: string | null;
}

function pointsOf(value: unknown): Point[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((p: unknown) => {
    if (typeof p !== 'object' || p === null) return [];
    const r = p as Record<string, unknown>;
    if (typeof r.position !== 'number' || !Number.isSafeInteger(r.position) || r.position < 1) return [];
    return [{ position: r.position, quantity: typeof r.quantity === 'string' ? r.quantity : null, quality: typeof r.quality === 'string' ? r.quality : null }];
  });
}

function instantOf(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : new Date(t);
}

/** The local dates touched by [start, end). */
function localDatesOf(start: Date, end: Date): LocalDate[] {
  const first = localDateOf(start);
  const last = localDateOf(new Date(end.getTime() - 1));
  const out: LocalDate[] = [];
  for (let d = first; compareLocalDates(d, last) <= 0; d = addDays(d, 1)) out.push(d);
  return out;
}

/**
 * Consumption for the portal, pre-aggregated from `ValidatedMeasureDataReceived` (RSM-012):
 *
 * - `consumption_values`: the latest value per metering point and interval. A later document
 *   covering the same interval replaces every value it overlaps (events arrive in log order).
 * - `consumption_hourly`: per UTC hour start (a Copenhagen hour is always a whole UTC hour), Σ of its
 *   quarter-hours or its one hourly value.
 * - `consumption_daily`: per Europe/Copenhagen local day, Σ of the hours in [local midnight, next
 *   local midnight): 23 hours on 2026-03-29, 25 on 2026-10-25.
 * - `consumption_monthly`: per local month, Σ of its days.
 * - `consumption_anomalies`: days of unusual consumption (rule in `notifications/unusual-consumption.ts`).
 *
 * Quantities are `numeric` (exact kWh, never float). `estimated`: some value in the bucket has quality
 * A03. `missing`: some value of the bucket was sent as not available (A02 / no quantity) or the bucket
 * is not fully covered (an hour with fewer than 60 minutes of values, a day with fewer hours than the
 * local day has, a month with fewer days than it has). Only affected buckets are recomputed.
 */
export const consumptionProjection: Projection = {
  name: 'consumption',
  bindings: ['datahub.validated-measure-data-received'],
  tables: [
    { name: CONSUMPTION_VALUES_TABLE, orderBy: 'gsrn, interval_start' },
    { name: CONSUMPTION_HOURLY_TABLE, orderBy: 'gsrn, hour_start' },
    { name: CONSUMPTION_DAILY_TABLE, orderBy: 'gsrn, day' },
    { name: CONSUMPTION_MONTHLY_TABLE, orderBy: 'gsrn, month' },
    { name: CONSUMPTION_ANOMALIES_TABLE, orderBy: 'gsrn, day' },
  ],

  async migrate(client: PoolClient) {
    await client.query(`
      CREATE SCHEMA IF NOT EXISTS ${PROJECTION_SCHEMA};
      CREATE TABLE IF NOT EXISTS ${CONSUMPTION_VALUES_TABLE} (
        gsrn text NOT NULL, interval_start timestamptz NOT NULL, interval_end timestamptz NOT NULL, resolution text NOT NULL,
        quantity numeric, quality text, document_id text, series_id text,
        PRIMARY KEY (gsrn, interval_start));
      CREATE TABLE IF NOT EXISTS ${CONSUMPTION_HOURLY_TABLE} (
        gsrn text NOT NULL, hour_start timestamptz NOT NULL, quantity numeric NOT NULL, covered_minutes int NOT NULL,
        estimated boolean NOT NULL, missing boolean NOT NULL,
        PRIMARY KEY (gsrn, hour_start));
      CREATE TABLE IF NOT EXISTS ${CONSUMPTION_DAILY_TABLE} (
        gsrn text NOT NULL, day date NOT NULL, quantity numeric NOT NULL, hours int NOT NULL, day_hours int NOT NULL,
        estimated boolean NOT NULL, missing boolean NOT NULL,
        PRIMARY KEY (gsrn, day));
      CREATE TABLE IF NOT EXISTS ${CONSUMPTION_MONTHLY_TABLE} (
        gsrn text NOT NULL, month date NOT NULL, quantity numeric NOT NULL, days int NOT NULL, month_days int NOT NULL,
        estimated boolean NOT NULL, missing boolean NOT NULL,
        PRIMARY KEY (gsrn, month));
      CREATE TABLE IF NOT EXISTS ${CONSUMPTION_ANOMALIES_TABLE} (
        gsrn text NOT NULL, day date NOT NULL, quantity numeric NOT NULL, baseline_median numeric NOT NULL, baseline_days int NOT NULL,
        PRIMARY KEY (gsrn, day));
      -- The portal's labels (local wall time with offset, from @dh/dk-time), so reads copy strings. Rows
      -- written before these columns have none until the projection is rebuilt; the portal then labels them itself.
      ALTER TABLE ${CONSUMPTION_HOURLY_TABLE} ADD COLUMN IF NOT EXISTS start_label text, ADD COLUMN IF NOT EXISTS end_label text;
      ALTER TABLE ${CONSUMPTION_DAILY_TABLE} ADD COLUMN IF NOT EXISTS start_label text, ADD COLUMN IF NOT EXISTS end_label text;`);
  },

  async apply(event: ProjectedEvent, client: PoolClient) {
    if (event.type !== 'ValidatedMeasureDataReceived') return;
    const d = event.data;
    const gsrn = typeof d.gsrn === 'string' ? d.gsrn : null;
    const resolution = typeof d.resolution === 'string' ? d.resolution : '';
    const minutes = RESOLUTION_MINUTES[resolution];
    const start = instantOf(d.start);
    const end = instantOf(d.end);
    if (!gsrn || minutes === undefined || !start || !end || end.getTime() <= start.getTime()) return;
    const stepMs = minutes * 60_000;

    // Supersede: every stored value overlapping the document's interval goes.
    const removed = await client.query<{ first: Date | null; last: Date | null }>(
      `WITH gone AS (DELETE FROM ${CONSUMPTION_VALUES_TABLE} WHERE gsrn = $1 AND interval_start < $3 AND interval_end > $2 RETURNING interval_start, interval_end)
       SELECT min(interval_start) AS first, max(interval_end) AS last FROM gone`,
      [gsrn, start, end],
    );
    const starts: Date[] = [];
    const ends: Date[] = [];
    const quantities: (string | null)[] = [];
    const qualities: (string | null)[] = [];
    for (const p of pointsOf(d.points)) {
      const t = start.getTime() + (p.position - 1) * stepMs;
      if (t + stepMs > end.getTime()) continue;
      starts.push(new Date(t));
      ends.push(new Date(t + stepMs));
      quantities.push(p.quality === QUALITY_MISSING ? null : p.quantity);
      qualities.push(p.quality);
    }
    await client.query(
      `INSERT INTO ${CONSUMPTION_VALUES_TABLE} (gsrn, interval_start, interval_end, resolution, quantity, quality, document_id, series_id)
       SELECT $1, s, e, $2, q::numeric, ql, $7, $8 FROM unnest($3::timestamptz[], $4::timestamptz[], $5::text[], $6::text[]) AS t(s, e, q, ql)
       ON CONFLICT (gsrn, interval_start) DO UPDATE SET interval_end = EXCLUDED.interval_end, resolution = EXCLUDED.resolution, quantity = EXCLUDED.quantity,
         quality = EXCLUDED.quality, document_id = EXCLUDED.document_id, series_id = EXCLUDED.series_id`,
      [gsrn, resolution, starts, ends, quantities, qualities, typeof d.documentId === 'string' ? d.documentId : null, typeof d.seriesId === 'string' ? d.seriesId : null],
    );

    const first = removed.rows[0]?.first ?? null;
    const last = removed.rows[0]?.last ?? null;
    const affectedStart = new Date(Math.floor(Math.min(start.getTime(), first?.getTime() ?? Infinity) / MS_PER_HOUR) * MS_PER_HOUR);
    const affectedEnd = new Date(Math.ceil(Math.max(end.getTime(), last?.getTime() ?? -Infinity) / MS_PER_HOUR) * MS_PER_HOUR);
    const days = localDatesOf(affectedStart, affectedEnd);
    await recomputeHours(client, gsrn, affectedStart, affectedEnd);
    await recomputeDays(client, gsrn, days);
    await recomputeMonths(client, gsrn, days);
    if (d.meteringPointType === CONSUMPTION_TYPE) await recomputeAnomalies(client, gsrn, days[0], days[days.length - 1]);
  },
};

async function recomputeHours(client: PoolClient, gsrn: string, from: Date, to: Date): Promise<void> {
  await client.query(`DELETE FROM ${CONSUMPTION_HOURLY_TABLE} WHERE gsrn = $1 AND hour_start >= $2 AND hour_start < $3`, [gsrn, from, to]);
  const hours: Date[] = [];
  for (let t = from.getTime(); t < to.getTime(); t += MS_PER_HOUR) hours.push(new Date(t));
  // date_trunc on the UTC wall time: independent of the session's TimeZone.
  const minutes = `sum(CASE WHEN quantity IS NULL THEN 0 ELSE extract(epoch FROM interval_end - interval_start)::int / 60 END)`;
  await client.query(
    `INSERT INTO ${CONSUMPTION_HOURLY_TABLE} (gsrn, hour_start, quantity, covered_minutes, estimated, missing, start_label, end_label)
     SELECT h.*, l.start_label, l.end_label FROM (
       SELECT $1::text AS gsrn, date_trunc('hour', interval_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour_start, coalesce(sum(quantity), 0) AS quantity,
         ${minutes} AS covered_minutes, coalesce(bool_or(quality = '${QUALITY_ESTIMATED}'), false) AS estimated, bool_or(quantity IS NULL) OR ${minutes} < 60 AS missing
       FROM ${CONSUMPTION_VALUES_TABLE} WHERE gsrn = $1 AND interval_start >= $2 AND interval_start < $3
       GROUP BY 2) h
     JOIN unnest($4::timestamptz[], $5::text[], $6::text[]) AS l(hour_start, start_label, end_label) ON l.hour_start = h.hour_start`,
    [gsrn, from, to, hours, hours.map(localLabel), hours.map((h) => localLabel(new Date(h.getTime() + MS_PER_HOUR)))],
  );
}

async function recomputeDays(client: PoolClient, gsrn: string, days: LocalDate[]): Promise<void> {
  await client.query(`DELETE FROM ${CONSUMPTION_DAILY_TABLE} WHERE gsrn = $1 AND day = ANY($2::date[])`, [gsrn, days]);
  await client.query(
    `INSERT INTO ${CONSUMPTION_DAILY_TABLE} (gsrn, day, quantity, hours, day_hours, estimated, missing, start_label, end_label)
     SELECT $1, d.day, sum(h.quantity), count(*), d.day_hours, bool_or(h.estimated), bool_or(h.missing) OR count(*) < d.day_hours, d.start_label, d.end_label
     FROM unnest($2::date[], $3::timestamptz[], $4::timestamptz[], $5::int[], $6::text[], $7::text[]) AS d(day, s, e, day_hours, start_label, end_label)
     JOIN ${CONSUMPTION_HOURLY_TABLE} h ON h.gsrn = $1 AND h.hour_start >= d.s AND h.hour_start < d.e
     GROUP BY d.day, d.day_hours, d.start_label, d.end_label`,
    [gsrn, days, days.map(localDayStart), days.map(localDayEnd), days.map(localDayHours), days.map((d) => localLabel(localDayStart(d))), days.map((d) => localLabel(localDayEnd(d)))],
  );
}

async function recomputeMonths(client: PoolClient, gsrn: string, days: LocalDate[]): Promise<void> {
  const months = [...new Set(days.map((d) => `${d.slice(0, 7)}-01`))];
  const nexts = months.map((m) => {
    const c = parseLocalDate(m);
    return c.month === 12 ? `${c.year + 1}-01-01` : `${c.year}-${String(c.month + 1).padStart(2, '0')}-01`;
  });
  const lengths = months.map((m) => {
    const c = parseLocalDate(m);
    return daysInLocalMonth(c.year, c.month);
  });
  await client.query(`DELETE FROM ${CONSUMPTION_MONTHLY_TABLE} WHERE gsrn = $1 AND month = ANY($2::date[])`, [gsrn, months]);
  await client.query(
    `INSERT INTO ${CONSUMPTION_MONTHLY_TABLE} (gsrn, month, quantity, days, month_days, estimated, missing)
     SELECT $1, m.month, sum(d.quantity), count(*), m.month_days, bool_or(d.estimated), bool_or(d.missing) OR count(*) < m.month_days
     FROM unnest($2::date[], $3::date[], $4::int[]) AS m(month, next, month_days)
     JOIN ${CONSUMPTION_DAILY_TABLE} d ON d.gsrn = $1 AND d.day >= m.month AND d.day < m.next
     GROUP BY m.month, m.month_days`,
    [gsrn, months, nexts, lengths],
  );
}

/** A changed day can change its own verdict and that of the next {@link ANOMALY_BASELINE_DAYS} days (whose baseline it is in). */
async function recomputeAnomalies(client: PoolClient, gsrn: string, firstDay: LocalDate, lastDay: LocalDate): Promise<void> {
  const until = addDays(lastDay, ANOMALY_BASELINE_DAYS);
  const { rows } = await client.query<{ day: string; quantity: string; missing: boolean }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, quantity::text AS quantity, missing FROM ${CONSUMPTION_DAILY_TABLE}
     WHERE gsrn = $1 AND day >= $2 AND day <= $3 ORDER BY day`,
    [gsrn, addDays(firstDay, -ANOMALY_BASELINE_DAYS), until],
  );
  const unusual = findUnusualDays(rows, { from: firstDay, to: until });
  await client.query(`DELETE FROM ${CONSUMPTION_ANOMALIES_TABLE} WHERE gsrn = $1 AND day >= $2 AND day <= $3`, [gsrn, firstDay, until]);
  if (unusual.length === 0) return;
  await client.query(
    `INSERT INTO ${CONSUMPTION_ANOMALIES_TABLE} (gsrn, day, quantity, baseline_median, baseline_days)
     SELECT $1, day, quantity::numeric, median::numeric, n FROM unnest($2::date[], $3::text[], $4::text[], $5::int[]) AS t(day, quantity, median, n)`,
    [gsrn, unusual.map((u) => u.day), unusual.map((u) => u.quantity), unusual.map((u) => u.median), unusual.map((u) => u.baselineDays)],
  );
}
