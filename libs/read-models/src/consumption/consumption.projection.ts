import type { PoolClient } from 'pg';
import { isPackedPoints, seriesPointsOf, type PackedPoints } from '@dh/cim';
import { addDays, daysInLocalMonth, localDateOf, localDayEnd, localDayHours, localDayStart, localLabel, parseLocalDate, type LocalDate } from '@dh/dk-time';
import type { BulkLoader, Projection, ProjectedEvent } from '../projection/projection';
import { PROJECTION_SCHEMA } from '../projection/projection-state';
import { BinaryCopyWriter, copyBuffers, copyField, copyRows, CopyWriter, PG_TYPE } from '../projection/copy';
import { ANOMALY_BASELINE_DAYS, ANOMALY_FACTOR, ANOMALY_MIN_BASELINE_DAYS, findUnusualDays } from '../notifications/unusual-consumption';

/** The values: one row per metering point and run of consecutive values of one document within one local day (arrays). */
export const CONSUMPTION_SERIES_TABLE = `${PROJECTION_SCHEMA}.consumption_series`;
/** The hours: one row per metering point and local day, the day's hours as arrays. */
export const CONSUMPTION_HOURS_TABLE = `${PROJECTION_SCHEMA}.consumption_hours`;
/** The labels of a local day's hours, once per day (the same for every metering point): the hours rows' labels. */
export const CONSUMPTION_DAY_LABELS_TABLE = `${PROJECTION_SCHEMA}.consumption_day_labels`;
export const CONSUMPTION_DAILY_TABLE = `${PROJECTION_SCHEMA}.consumption_daily`;
export const CONSUMPTION_MONTHLY_TABLE = `${PROJECTION_SCHEMA}.consumption_monthly`;
export const CONSUMPTION_ANOMALIES_TABLE = `${PROJECTION_SCHEMA}.consumption_anomalies`;
/**
 * The layout before 2026-12-06 (one row per value, one per hour). No longer read or written; a deployment that has
 * them rebuilds the consumption projection (see the README) and may then drop them.
 */
export const LEGACY_CONSUMPTION_TABLES = [`${PROJECTION_SCHEMA}.consumption_values`, `${PROJECTION_SCHEMA}.consumption_hourly`];

const MS_PER_HOUR = 3_600_000;
const RESOLUTION_MINUTES: Readonly<Record<string, number>> = { PT15M: 15, PT1H: 60 };
/** A stored run's step in seconds, from its resolution (SQL; `x` is the series row). */
const STEP_SECONDS = `(CASE x.resolution ${Object.entries(RESOLUTION_MINUTES)
  .map(([r, m]) => `WHEN '${r}' THEN ${m * 60}`)
  .join(' ')} END)`;
/** CIM quality codes: A02 not available (missing), A03 estimated. No code means measured. */
const QUALITY_MISSING = 'A02';
const QUALITY_ESTIMATED = 'A03';
const CONSUMPTION_TYPE = 'E17';
/**
 * A stored run never starts more than this before a value it holds ends (a run lies in one local day, ≤ 25 hours, and
 * its last value may reach one step past the day): the bound of the index range that finds the runs a document overlaps.
 */
const RUN_REACH = `interval '27 hours'`;

/**
 * The series table's values one per row, as the per-value layout held them (gsrn, interval_start, interval_end,
 * resolution, quantity, quality, document_id, series_id): what its checksum hashes, and a view for tests and operators.
 */
export const CONSUMPTION_VALUE_ROWS = `SELECT x.gsrn, x.interval_start + (u.i - 1) * ${STEP_SECONDS} * interval '1 second' AS interval_start,
    x.interval_start + u.i * ${STEP_SECONDS} * interval '1 second' AS interval_end, x.resolution, u.q AS quantity, u.ql AS quality, x.document_id, x.series_id
  FROM ${CONSUMPTION_SERIES_TABLE} x CROSS JOIN LATERAL unnest(x.quantities, x.qualities) WITH ORDINALITY AS u(q, ql, i)`;
/**
 * A day row's hours as JSON elements, one per row with its index in the row from 1 (`<alias>(e, i)`), for a FROM clause
 * (after `CROSS JOIN LATERAL`): `hours_json` holds the elements comma-separated, without the brackets of an array, so
 * the portal's hour view can concatenate rows as they are. `dayRow` names the hours table's row.
 */
export const hourElementsSql = (dayRow: string, alias: string): string => `json_array_elements(('[' || ${dayRow}.hours_json || ']')::json) WITH ORDINALITY AS ${alias}(e, i)`;

/**
 * The hours table's hours one per row (gsrn, hour_start, quantity, estimated, missing, start_label, end_label, hour_json),
 * read from the day row's `hours_json` (days-v6: the day's only copy of its hours; the quantity is the element's exact
 * `quantity_kwh` text, at least three decimals); the day row's other columns (`day_start`, `total`, `any_estimated`,
 * `any_missing`) on the day's first hour, null on its other hours (so the checksum hashes them once per day).
 */
export const CONSUMPTION_HOUR_ROWS = `SELECT h.gsrn, (u.e->>'start')::timestamptz AS hour_start, (u.e->>'quantity_kwh')::numeric AS quantity,
    (u.e->>'estimated')::boolean AS estimated, (u.e->>'missing')::boolean AS missing, u.e->>'start' AS start_label, u.e->>'end' AS end_label, u.e::text AS hour_json,
    CASE WHEN u.i = 1 THEN h.day_start END AS day_start, CASE WHEN u.i = 1 THEN h.total END AS day_total,
    CASE WHEN u.i = 1 THEN h.any_estimated END AS day_estimated, CASE WHEN u.i = 1 THEN h.any_missing END AS day_missing
  FROM ${CONSUMPTION_HOURS_TABLE} h CROSS JOIN LATERAL ${hourElementsSql('h', 'u')}`;

/**
 * A quantity as the portal shows it (`kwhString` of the gateway, in SQL): the exact `numeric` text with at least three
 * decimals (`round` only pads a value with fewer; `numeric` output never uses exponents).
 */
export const kwhTextSql = (quantity: string): string => `CASE WHEN scale(${quantity}) >= 3 THEN (${quantity})::text ELSE round(${quantity}, 3)::text END`;

/**
 * One hour of the portal's consumption answer as JSON text, in SQL (`start`, `end`: its labels; the others SQL
 * expressions of the hour's numeric quantity and booleans): the element `writeDay` writes in the bulk loader, byte
 * for byte, and the one the gateway built per request before the day rows held it.
 */
export const hourValueJsonSql = (start: string, end: string, quantity: string, estimated: string, missing: string): string =>
  `'{"start":"' || (${start}) || '","end":"' || (${end}) || '","quantity_kwh":"' || ${kwhTextSql(quantity)} || '","estimated":' || (${estimated})::text || ',"missing":' || (${missing})::text || '}'`;

/**
 * One day of the portal's consumption answer (resolution day) as JSON text, in SQL (`date`: the local date as
 * `YYYY-MM-DD` text, `start`, `end`: its labels, `dayHours`: 23, 24 or 25; the others SQL expressions of the day's
 * numeric Σ and flags): the element `writeDay` writes in the bulk loader, byte for byte, and the one the gateway
 * built per request from the day row's columns before the day rows held it (days-v5).
 */
export const dayValueJsonSql = (date: string, start: string, end: string, dayHours: string, quantity: string, estimated: string, missing: string): string =>
  `'{"date":"' || (${date}) || '","start":"' || (${start}) || '","end":"' || (${end}) || '","hours":' || (${dayHours})::text || ',"quantity_kwh":"' || ${kwhTextSql(quantity)} || '","estimated":' || (${estimated})::text || ',"missing":' || (${missing})::text || '}'`;

/**
 * The text after an hour's (or a day's) quantity in `hourValueJsonSql` (`dayValueJsonSql`), by [estimated][missing], as
 * bytes: the bulk loader writes an hour's element as the day's `hourJsonHeads[index]` (labels, cached per day), the
 * quantity as `kwhTextSql` prints it (`CopyWriter.decimal` with at least three decimals) and this tail; a day's element
 * likewise from `dayJsonHead`. Dates, labels and decimals need no JSON or COPY escaping.
 */
const HOUR_JSON_TAILS = [
  [Buffer.from('","estimated":false,"missing":false}'), Buffer.from('","estimated":false,"missing":true}')],
  [Buffer.from('","estimated":true,"missing":false}'), Buffer.from('","estimated":true,"missing":true}')],
];

interface Point {
  position: number;
  quantity: string | null;
  quality: string | null;
}

/** The series' points, packed (v2) or as objects (v1); malformed points are skipped. */
function pointsOf(data: Readonly<Record<string, unknown>>): Point[] {
  return (seriesPointsOf(data) ?? []).filter((p) => Number.isSafeInteger(p.position) && p.position >= 1);
}

/** An instant's text as ms since 1970-01-01 UTC, or undefined (no `Date` made: every event of a rebuild has two). */
function timeOf(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/** A local day as the hours table and the labels need it (from `@dh/dk-time`, cached: the same days recur for every metering point). */
interface DayInfo {
  day: LocalDate;
  /** Days since 1970-01-01 (the anomaly baseline's arithmetic). */
  number: number;
  /** Its month's first day (`YYYY-MM-01`, and as days since 1970-01-01) and the month's number of days. */
  month: string;
  monthNumber: number;
  monthDays: number;
  start: number;
  end: number;
  hours: number;
  /** Start label of each hour, then the day's end label (hours + 1). */
  labels: string[];
  labelsLiteral: string;
  /** Per hour, the JSON of `hourValueJsonSql` up to its quantity: `{"start":"…","end":"…","quantity_kwh":"`, as bytes. */
  hourJsonHeads: Buffer[];
  /** The JSON of `dayValueJsonSql` up to the day's quantity: `{"date":"…","start":"…","end":"…","hours":n,"quantity_kwh":"`, as bytes. */
  dayJsonHead: Buffer;
  /** The daily row's labels (start of the day, end of the day) as UTF-8. */
  startLabelBytes: Buffer;
  endLabelBytes: Buffer;
}
const dayInfos = new Map<LocalDate, DayInfo>();
function dayInfo(day: LocalDate): DayInfo {
  let info = dayInfos.get(day);
  if (!info) {
    const start = localDayStart(day).getTime();
    const hours = localDayHours(day);
    const labels = Array.from({ length: hours + 1 }, (_, i) => localLabel(new Date(start + i * MS_PER_HOUR)));
    const hourJsonHeads = Array.from({ length: hours }, (_, i) => Buffer.from(`{"start":"${labels[i]}","end":"${labels[i + 1]}","quantity_kwh":"`));
    const date = parseLocalDate(day);
    info = {
      day,
      number: new Date(0).setUTCFullYear(date.year, date.month - 1, date.day) / 86_400_000,
      month: `${day.slice(0, 7)}-01`,
      monthNumber: new Date(0).setUTCFullYear(date.year, date.month - 1, 1) / 86_400_000,
      monthDays: daysInLocalMonth(date.year, date.month),
      start,
      end: localDayEnd(day).getTime(),
      hours,
      labels,
      labelsLiteral: arrayLiteral(labels),
      hourJsonHeads,
      dayJsonHead: Buffer.from(`{"date":"${day}","start":"${labels[0]}","end":"${labels[hours]}","hours":${hours},"quantity_kwh":"`),
      startLabelBytes: Buffer.from(labels[0]),
      endLabelBytes: Buffer.from(labels[hours]),
    };
    dayInfos.set(day, info);
  }
  return info;
}
const hourDays = new Map<number, LocalDate>();
/** The local day of an instant (local days change on whole UTC hours, so cached per hour). */
function dayOfInstant(ms: number): LocalDate {
  const hour = Math.floor(ms / MS_PER_HOUR) * MS_PER_HOUR;
  let day = hourDays.get(hour);
  if (day === undefined) hourDays.set(hour, (day = localDateOf(new Date(hour))));
  return day;
}

/** The local days touched by [from, to). */
function daysOf(from: number, to: number): LocalDate[] {
  const out: LocalDate[] = [];
  for (let d = dayOfInstant(from); dayInfo(d).start < to; d = addDays(d, 1)) out.push(d);
  return out;
}

/** An element of a PostgreSQL array literal needs quotes unless it is a plain token. */
const ARRAY_PLAIN = /^[A-Za-z0-9.+-]+$/;
/**
 * A PostgreSQL array literal of texts (null as NULL), for `::numeric[]`, `::text[]` casts and COPY. Its elements joined
 * once (one flat string, not a chain of concatenations to flatten later), the plain ones as they are.
 */
function arrayLiteral(items: readonly (string | boolean | null)[]): string {
  const parts = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item === null) parts[i] = 'NULL';
    else if (typeof item === 'boolean') parts[i] = item ? 't' : 'f';
    else parts[i] = ARRAY_PLAIN.test(item) && (item.length !== 4 || item.toUpperCase() !== 'NULL') ? item : `"${item.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  }
  return `{${parts.join(',')}}`;
}

/**
 * Consumption for the portal, pre-aggregated from `ValidatedMeasureDataReceived` (RSM-012):
 *
 * - `consumption_series`: the latest value per metering point and interval, stored as runs: one row per run of
 *   consecutive values of one document within one local day (`quantities numeric[]`, `qualities text[]`, null when none
 *   has a quality). A later document covering the same interval replaces every value it overlaps (events arrive in log
 *   order); the runs it cuts keep their values outside it.
 * - `consumption_hours`: per metering point and Europe/Copenhagen local day, the Σ of each hour's quarter-hours or its one
 *   hourly value, with its flags, as the portal's JSON elements (`hours_json`: the hours with a value, comma-separated,
 *   quantities as exact numeric text) with their exact Σ (`total`) and flags (`any_estimated`, `any_missing`), so the
 *   portal's hour view concatenates ≤ 31 stored texts per month. The JSON is the hours' only copy (days-v6; the arrays
 *   of days-v3 to days-v5 held them a second time): `CONSUMPTION_HOUR_ROWS` reads them back one per row.
 * - `consumption_day_labels`: per local day, the labels of its hours (from `@dh/dk-time`; the portal copies them).
 * - `consumption_daily`: per local day, Σ of its hours: 23 hours on 2026-03-29, 25 on 2026-10-25; and the day as the
 *   portal's JSON element (`day_json`), so the portal's day view concatenates stored texts.
 * - `consumption_monthly`: per local month, Σ of its days.
 * - `consumption_anomalies`: days of unusual consumption (rule in `notifications/unusual-consumption.ts`).
 *
 * Quantities are `numeric` (exact kWh, never float). `estimated`: some value in the bucket has quality
 * A03. `missing`: some value of the bucket was sent as not available (A02 / no quantity) or the bucket
 * is not fully covered (an hour with fewer than 60 minutes of values, a day with fewer hours than the
 * local day has, a month with fewer days than it has). Only affected buckets are recomputed.
 * Two rows per metering point and day instead of one per value and one per hour (docs/benchmarks.md, 14).
 */
export const consumptionProjection: Projection = {
  name: 'consumption',
  bindings: ['datahub.validated-measure-data-received'],
  // Runs and day rows of arrays, labels per day (days-v3, 2026-12-06) instead of a row per value and per hour; each day
  // row's hours also as the portal's JSON text (days-v4), each daily row's day too (days-v5); the day rows' hours only as
  // that JSON, without the arrays (days-v6): a deployment built before is rebuilt at start.
  layout: 'days-v6',
  tables: [
    { name: CONSUMPTION_SERIES_TABLE, orderBy: 'gsrn, interval_start', content: CONSUMPTION_VALUE_ROWS },
    { name: CONSUMPTION_HOURS_TABLE, orderBy: 'gsrn, hour_start', content: CONSUMPTION_HOUR_ROWS },
    // A calendar the hours join (rows of days without hours are harmless and not compared).
    { name: CONSUMPTION_DAY_LABELS_TABLE, orderBy: 'day', content: `SELECT l.* FROM ${CONSUMPTION_DAY_LABELS_TABLE} l WHERE EXISTS (SELECT 1 FROM ${CONSUMPTION_HOURS_TABLE} h WHERE h.day = l.day)` },
    { name: CONSUMPTION_DAILY_TABLE, orderBy: 'gsrn, day' },
    { name: CONSUMPTION_MONTHLY_TABLE, orderBy: 'gsrn, month' },
    { name: CONSUMPTION_ANOMALIES_TABLE, orderBy: 'gsrn, day' },
  ],

  async migrate(client: PoolClient) {
    await client.query(`
      CREATE SCHEMA IF NOT EXISTS ${PROJECTION_SCHEMA};
      CREATE TABLE IF NOT EXISTS ${CONSUMPTION_SERIES_TABLE} (
        gsrn text NOT NULL, interval_start timestamptz NOT NULL, interval_end timestamptz NOT NULL, resolution text NOT NULL,
        quantities numeric[] NOT NULL, qualities text[], document_id text, series_id text,
        PRIMARY KEY (gsrn, interval_start));
      CREATE TABLE IF NOT EXISTS ${CONSUMPTION_HOURS_TABLE} (
        gsrn text NOT NULL, day date NOT NULL, day_start timestamptz NOT NULL,
        PRIMARY KEY (gsrn, day));
      CREATE TABLE IF NOT EXISTS ${CONSUMPTION_DAY_LABELS_TABLE} (day date PRIMARY KEY, labels text[] NOT NULL);
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
      ALTER TABLE ${CONSUMPTION_DAILY_TABLE} ADD COLUMN IF NOT EXISTS start_label text, ADD COLUMN IF NOT EXISTS end_label text;`);
    // days-v2 kept the labels in every hours row; they are per day since days-v3 (checked first: ALTER TABLE locks the table).
    const v2 = await client.query(`SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'labels' AND NOT attisdropped`, [CONSUMPTION_HOURS_TABLE]);
    if (v2.rows.length > 0) await client.query(`ALTER TABLE ${CONSUMPTION_HOURS_TABLE} DROP COLUMN labels`);
    // days-v4: the day's hours as the portal's JSON elements, their exact Σ and flags, so the hour view concatenates
    // stored text. Null on rows written before (the gateway then builds the JSON itself, until the rebuild).
    const v4 = await client.query(`SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'hours_json' AND NOT attisdropped`, [CONSUMPTION_HOURS_TABLE]);
    if (v4.rows.length === 0) {
      await client.query(`ALTER TABLE ${CONSUMPTION_HOURS_TABLE} ADD COLUMN IF NOT EXISTS hours_json text, ADD COLUMN IF NOT EXISTS total numeric,
        ADD COLUMN IF NOT EXISTS any_estimated boolean, ADD COLUMN IF NOT EXISTS any_missing boolean, ALTER COLUMN hours_json SET STATISTICS 0`);
      // lz4 where the server has it: the ~3 KiB of a day's JSON compress about as well as with pglz, faster both ways.
      const lz4 = await client.query(`SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)`);
      if (lz4.rows.length > 0) await client.query(`ALTER TABLE ${CONSUMPTION_HOURS_TABLE} ALTER COLUMN hours_json SET COMPRESSION lz4`);
    }
    // days-v5: the day as the portal's JSON element, so the day view concatenates stored text. Null on rows written
    // before (the gateway then builds it from the row's columns, until the rebuild).
    const v5 = await client.query(`SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'day_json' AND NOT attisdropped`, [CONSUMPTION_DAILY_TABLE]);
    if (v5.rows.length === 0) await client.query(`ALTER TABLE ${CONSUMPTION_DAILY_TABLE} ADD COLUMN IF NOT EXISTS day_json text, ALTER COLUMN day_json SET STATISTICS 0`);
    // days-v6: the day rows' hours only as `hours_json` (the arrays held each hour a second time). A row written before
    // days-v4 (no JSON) first gets it from its arrays and its day's labels, as the gateway built it from them; then
    // the arrays go. (The layout change rebuilds the model at start; this keeps every read exact until the swap.)
    const v6 = await client.query(`SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'quantities' AND NOT attisdropped`, [CONSUMPTION_HOURS_TABLE]);
    if (v6.rows.length > 0) {
      await client.query(
        `UPDATE ${CONSUMPTION_HOURS_TABLE} h SET (hours_json, total, any_estimated, any_missing) = (
           SELECT string_agg(${hourValueJsonSql('l.labels[u.i]', 'l.labels[u.i + 1]', 'u.q', 'u.e', 'u.m')}, ',' ORDER BY u.i), sum(u.q), bool_or(u.e), bool_or(u.m)
             FROM ${CONSUMPTION_DAY_LABELS_TABLE} l CROSS JOIN LATERAL unnest(h.quantities, h.estimated, h.missing) WITH ORDINALITY AS u(q, e, m, i)
            WHERE l.day = h.day AND u.q IS NOT NULL)
          WHERE h.hours_json IS NULL`,
      );
      await client.query(`ALTER TABLE ${CONSUMPTION_HOURS_TABLE} DROP COLUMN quantities, DROP COLUMN estimated, DROP COLUMN missing`);
    }
    // Each day's hours also as a raw deflate part (deflate-part.ts), from which the gateway stitches gzip answers. Filled
    // behind the writers by `fillHourParts` (the projections service's filler): a row is written (or rewritten, as a new
    // row) without one, so a part is never older than its row's `hours_json`; the partial index finds the rows waiting.
    const parts = await client.query(`SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'hours_deflate' AND NOT attisdropped`, [CONSUMPTION_HOURS_TABLE]);
    if (parts.rows.length === 0) {
      await client.query(`ALTER TABLE ${CONSUMPTION_HOURS_TABLE} ADD COLUMN IF NOT EXISTS hours_deflate bytea, ADD COLUMN IF NOT EXISTS hours_crc32 integer,
        ADD COLUMN IF NOT EXISTS hours_bytes integer, ALTER COLUMN hours_deflate SET STATISTICS 0`);
    }
    // Checked first (CREATE INDEX takes a lock that blocks writes even when the index exists). Made on a deployment's
    // existing rows, it holds the projection's writes for its build (every row is waiting for its part then).
    const waiting = await client.query<{ index: string | null }>(`SELECT to_regclass($1)::text AS index`, [`${PROJECTION_SCHEMA}.consumption_hours_without_part`]);
    if (waiting.rows[0]?.index === null) {
      await client.query(`CREATE INDEX IF NOT EXISTS consumption_hours_without_part ON ${CONSUMPTION_HOURS_TABLE} (gsrn, day) WHERE hours_deflate IS NULL AND hours_json IS NOT NULL`);
    }
    // ANALYZE skips the arrays (nothing filters on them; element statistics of 200,000 values cost more than the load).
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = $1::regclass AND attname IN ('quantities', 'qualities') AND attstattarget <> 0 AND attndims > 0`,
      [CONSUMPTION_SERIES_TABLE],
    );
    if (rows[0].n > 0) await client.query(`ALTER TABLE ${CONSUMPTION_SERIES_TABLE} ALTER COLUMN quantities SET STATISTICS 0, ALTER COLUMN qualities SET STATISTICS 0`);
  },

  async apply(event: ProjectedEvent, client: PoolClient) {
    const doc = documentOf(event);
    if (doc) await applyRound(client, [doc]);
  },

  /**
   * The same as `apply` on each document in turn, set-based: the batch is cut into rounds in which no
   * metering point appears twice (a later document for the same point may supersede an earlier one, so
   * it waits for the next round), and each round takes one statement per step for all its documents.
   */
  async applyBatch(events: readonly ProjectedEvent[], client: PoolClient) {
    let round: MeasureDocument[] = [];
    const gsrns = new Set<string>();
    for (const event of events) {
      const doc = documentOf(event);
      if (!doc) continue;
      if (gsrns.has(doc.gsrn)) {
        await applyRound(client, round);
        round = [];
        gsrns.clear();
      }
      round.push(doc);
      gsrns.add(doc.gsrn);
    }
    if (round.length > 0) await applyRound(client, round);
  },

  bulk: () => consumptionBulkLoader(),
};

/** COPY data (series and hours rows) per chunk of a bulk page's COPYs, by default (about 300 days of hourly values). */
const BULK_COPY_CHUNK_BYTES = 1024 * 1024;

/** Metering points per transaction of the bulk loader's `finish`. */
const BULK_FINISH_CHUNK = 500;

const SERIES_COLUMNS = ['gsrn', 'interval_start', 'interval_end', 'resolution', 'quantities', 'qualities', 'document_id', 'series_id'];
const HOURS_COLUMNS = ['gsrn', 'day', 'day_start', 'hours_json', 'total', 'any_estimated', 'any_missing'];
const DAY_LABELS_COLUMNS = ['day', 'labels'];
const DAILY_COLUMNS = ['gsrn', 'day', 'quantity', 'hours', 'day_hours', 'estimated', 'missing', 'start_label', 'end_label', 'day_json'];
const MONTHLY_COLUMNS = ['gsrn', 'month', 'quantity', 'days', 'month_days', 'estimated', 'missing'];
const ANOMALIES_COLUMNS = ['gsrn', 'day', 'quantity', 'baseline_median', 'baseline_days'];

/**
 * An exact sum of decimals with PostgreSQL's `sum(numeric)` scale (the largest scale among the terms), in integer
 * units of that scale held in a double while they are safe integers (kWh to the Wh and below, the usual case).
 */
interface DecimalSum {
  units: number;
  scale: number;
}

/** 10^0 … 10^15, exact doubles (a variable exponent with `**` calls the C library's `pow` on every value). */
const POWERS_OF_TEN: readonly number[] = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/** 10^n for n = 0 … 15; NaN beyond (so a product with it is no safe integer and the caller gives up exactly as before). */
function powerOfTen(n: number): number {
  return n >= 0 && n <= 15 ? POWERS_OF_TEN[n]! : Number.NaN;
}

/** Adds `units` at `scale` to the sum; false if the sum would leave the safe integers (it is then unusable). */
function addUnits(sum: DecimalSum, units: number, scale: number): boolean {
  if (scale > sum.scale) {
    sum.units *= powerOfTen(scale - sum.scale);
    sum.scale = scale;
  }
  sum.units += scale < sum.scale ? units * powerOfTen(sum.scale - scale) : units;
  return Number.isSafeInteger(sum.units) && sum.scale <= 15;
}

/**
 * Adds a plain decimal, a quantity as documents carry it ("12.345": an optional minus, digits, optionally a point and
 * digits; anything else is summed by PostgreSQL instead, see the bulk loader), to the sum; false
 * if the text is not one, has more than 15 digits, or the sum would leave the safe integers. Read character by
 * character (no match array or substrings per value: the bulk loader adds every value of the log).
 */
function addPlainDecimal(sum: DecimalSum, text: string): boolean {
  const n = text.length;
  const negative = n > 0 && text.charCodeAt(0) === 45; // '-'
  let units = 0;
  let digits = 0;
  let scale = 0;
  let point = false;
  for (let i = negative ? 1 : 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      units = units * 10 + (c - 48);
      digits++;
      if (point) scale++;
    } else if (c === 46 && !point && digits > 0) {
      point = true;
    } else {
      return false;
    }
  }
  if (digits === 0 || digits > 15 || (point && scale === 0)) return false;
  return addUnits(sum, negative ? -units : units, scale);
}

/** An hour being summed from a page's values (the hours statement of `recomputeDays`, in memory). */
interface HourSum extends DecimalSum {
  quantities: number;
  minutes: number;
  estimated: boolean;
  missing: boolean;
}

/** The sums of the hours of the local day being summed (at most 25 hours), reused from day to day; `hourSeen`: which hours have a value. */
const hourSums: HourSum[] = Array.from({ length: 25 }, () => ({ units: 0, scale: 0, quantities: 0, minutes: 0, estimated: false, missing: false }));
const hourSeen = new Uint8Array(25);
const dayTotal: DecimalSum = { units: 0, scale: 0 };
const LEFT_BRACE = 0x7b;
const RIGHT_BRACE = 0x7d;
const COMMA = 0x2c;

/**
 * The hours and daily rows of a metering point's runs (in time order, each within one local day), summed in memory as
 * `recomputeDays` sums them in SQL (exact decimal sums at the terms' largest scale), written to `hours` and `daily`.
 * False, with nothing written, if a quantity is not a plain decimal or a sum would leave the safe integers (or the
 * runs are not in time order): the point's days are then left to SQL.
 */
function writeHoursAndDays(gsrn: string, runs: readonly Run[], hours: BinaryCopyWriter, daily: BinaryCopyWriter, written: WrittenDays | null): boolean {
  const hoursMark = hours.mark();
  const dailyMark = daily.mark();
  const giveUp = (): false => {
    hours.rollback(hoursMark);
    daily.rollback(dailyMark);
    return false;
  };
  let info: DayInfo | null = null;
  let previous = Number.NEGATIVE_INFINITY;
  for (const run of runs) {
    if (run.start < previous) return giveUp();
    previous = run.start;
    if (info === null || run.day !== info.day) {
      if (info !== null && !writeDay(gsrn, info, hours, daily, written)) return giveUp();
      info = dayInfo(run.day);
      hourSeen.fill(0);
    }
    const minutes = Math.trunc(run.stepMs / 60_000);
    const wh = run.wh;
    const count = wh === null ? run.quantities.length : wh.length;
    for (let k = 0; k < count; k++) {
      const index = Math.floor((run.start + k * run.stepMs - info.start) / MS_PER_HOUR);
      if (!(index >= 0 && index < info.hours)) return giveUp();
      const sum = hourSums[index];
      if (hourSeen[index] === 0) {
        hourSeen[index] = 1;
        sum.units = 0;
        sum.scale = 0;
        sum.quantities = 0;
        sum.minutes = 0;
        sum.estimated = false;
        sum.missing = false;
      }
      if (run.qualities[k] === QUALITY_ESTIMATED) sum.estimated = true;
      if (wh !== null) {
        // Integer Wh: units at scale 3, as the live path's `numeric` of the same value ("0.150") is summed.
        const units = wh[k];
        if (units === null) sum.missing = true;
        else if (addUnits(sum, units, 3)) {
          sum.quantities++;
          sum.minutes += minutes;
        } else {
          return giveUp();
        }
        continue;
      }
      const quantity = run.quantities[k];
      if (quantity === null) sum.missing = true;
      else if (addPlainDecimal(sum, quantity)) {
        sum.quantities++;
        sum.minutes += minutes;
      } else {
        return giveUp();
      }
    }
  }
  if (info !== null && !writeDay(gsrn, info, hours, daily, written)) return giveUp();
  return true;
}

/**
 * Writes the hours row and the daily row of the day summed in `hourSums` (COPY binary, in the order of `HOURS_COLUMNS`
 * and `DAILY_COLUMNS`), and records the daily row's total and flags in `written` (unless null); false if the day's
 * total would leave the safe integers (part of the hours row may then be written: the caller rolls it back).
 */
function writeDay(gsrn: string, info: DayInfo, hours: BinaryCopyWriter, daily: BinaryCopyWriter, written: WrittenDays | null): boolean {
  let count = 0;
  let dayEstimated = false;
  let hoursMissing = false;
  dayTotal.units = 0;
  dayTotal.scale = 0;
  hours.row(HOURS_COLUMNS.length).text(gsrn).date(info.number).timestamptz(info.start).open();
  // The hours with a value as the portal's JSON elements (`hours_json`), comma-separated: each hour's Σ (0.000 when it
  // has only missing values) and flags; the day's Σ and flags summed on the way (the caller rolls the row back on false).
  for (let index = 0; index < info.hours; index++) {
    if (hourSeen[index] === 0) continue;
    const sum = hourSums[index];
    const missing = sum.missing || sum.minutes < 60;
    if (count > 0) hours.byte(COMMA);
    count++;
    hours.bytes(info.hourJsonHeads[index]);
    if (sum.quantities > 0) {
      if (!addUnits(dayTotal, sum.units, sum.scale)) return false;
      hours.decimal(sum.units, sum.scale, 3);
    } else {
      hours.ascii('0.000');
    }
    hours.bytes(HOUR_JSON_TAILS[sum.estimated ? 1 : 0][missing ? 1 : 0]);
    dayEstimated ||= sum.estimated;
    hoursMissing ||= missing;
  }
  hours.close().numeric(dayTotal.units, dayTotal.scale).bool(dayEstimated).bool(hoursMissing);
  const gaps = count < info.hours;
  const dayMissing = hoursMissing || gaps;
  daily.row(DAILY_COLUMNS.length).text(gsrn).date(info.number).numeric(dayTotal.units, dayTotal.scale).int4(count).int4(info.hours);
  daily.bool(dayEstimated).bool(dayMissing).textBytes(info.startLabelBytes).textBytes(info.endLabelBytes);
  // The day as the portal's JSON element (`day_json`).
  daily.open().bytes(info.dayJsonHead).decimal(dayTotal.units, dayTotal.scale, 3).bytes(HOUR_JSON_TAILS[dayEstimated ? 1 : 0][dayMissing ? 1 : 0]).close();
  if (written !== null) {
    written.infos.push(info);
    written.units.push(dayTotal.units);
    written.scales.push(dayTotal.scale);
    written.flags.push((dayEstimated ? DAY_ESTIMATED : 0) | (dayMissing ? DAY_MISSING : 0));
  }
  return true;
}

/** The daily rows the bulk loader wrote for one metering point (in the order written), for `finish`. */
interface WrittenDays {
  infos: DayInfo[];
  /** The day's Σ in units of 10^-scale, as its `quantity` holds it. */
  units: number[];
  scales: number[];
  flags: number[];
}
const DAY_ESTIMATED = 1;
/**
 * Daily rows a bulk loader keeps in memory for `finish` at most (a few tens of bytes each, and a month row per month
 * kept): beyond it, the points whose days would pass it get their months and anomalies from SQL, so the loader's
 * memory does not grow with portfolio × days.
 */
export const BULK_KEPT_DAYS = 500_000;
const DAY_MISSING = 2;

/** The anomaly factor as an integer, or null when it is not one (anomalies then stay with SQL and `findUnusualDays`). */
const INTEGER_FACTOR = /^[0-9]+$/.test(ANOMALY_FACTOR) ? Number(ANOMALY_FACTOR) : null;

/**
 * The monthly rows and the anomalies of one metering point from the daily rows the bulk loader wrote for it, as
 * COPY data (binary) written to `monthly` and `anomalies`: what `finish`'s SQL (months: Σ of the days, exact; anomalies:
 * {@link findUnusualDays} over the daily totals) gives from the same rows, computed in integers at the point's largest
 * scale. False, with nothing written, if a sum would leave the safe integers (the point is then left to SQL).
 */
function summariseDays(gsrn: string, written: WrittenDays, consumption: boolean, monthly: BinaryCopyWriter, anomalies: BinaryCopyWriter): boolean {
  const monthlyMark = monthly.mark();
  const anomaliesMark = anomalies.mark();
  if (writeSummaryRows(gsrn, written, consumption, monthly, anomalies)) return true;
  monthly.rollback(monthlyMark);
  anomalies.rollback(anomaliesMark);
  return false;
}

/**
 * {@link summariseDays}'s rows, written as they are made (false when it gives up: part of them may be written). Into
 * the writers, not lists of strings of its own: a list's element kind changed with its first row, and the function was
 * deoptimised and compiled again (twice to three times per process) for rows made in a number of ways.
 */
function writeSummaryRows(gsrn: string, written: WrittenDays, consumption: boolean, monthly: BinaryCopyWriter, anomalies: BinaryCopyWriter): boolean {
  const n = written.infos.length;
  if (n === 0) return true;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => written.infos[a].number - written.infos[b].number);
  const sum: DecimalSum = { units: 0, scale: 0 };
  for (let i = 0; i < n; ) {
    const info = written.infos[order[i]];
    sum.units = 0;
    sum.scale = 0;
    let days = 0;
    let estimated = false;
    let missing = false;
    for (; i < n && written.infos[order[i]].month === info.month; i++) {
      const k = order[i];
      if (!addUnits(sum, written.units[k], written.scales[k])) return false;
      days++;
      estimated ||= (written.flags[k] & DAY_ESTIMATED) !== 0;
      missing ||= (written.flags[k] & DAY_MISSING) !== 0;
    }
    monthly.row(MONTHLY_COLUMNS.length).text(gsrn).date(info.monthNumber).numeric(sum.units, sum.scale).int4(days).int4(info.monthDays);
    monthly.bool(estimated).bool(missing || days < info.monthDays);
  }
  if (consumption) {
    if (INTEGER_FACTOR === null) return false;
    // The complete days' totals at the point's largest scale, by day number.
    let scale = 0;
    for (let k = 0; k < n; k++) if ((written.flags[k] & DAY_MISSING) === 0) scale = Math.max(scale, written.scales[k]);
    const firstDay = written.infos[order[0]].number;
    const values = new Float64Array(written.infos[order[n - 1]].number - firstDay + 1).fill(Number.NaN);
    for (let k = 0; k < n; k++) {
      if ((written.flags[k] & DAY_MISSING) !== 0) continue;
      const value = written.units[k] * powerOfTen(scale - written.scales[k]);
      if (!Number.isSafeInteger(value)) return false;
      values[written.infos[k].number - firstDay] = value;
    }
    const baseline = new Float64Array(ANOMALY_BASELINE_DAYS);
    for (const k of order) {
      if ((written.flags[k] & DAY_MISSING) !== 0) continue;
      const at = written.infos[k].number - firstDay;
      let count = 0;
      for (let back = 1; back <= ANOMALY_BASELINE_DAYS; back++) {
        const value = at - back >= 0 ? values[at - back] : Number.NaN;
        if (!Number.isNaN(value)) baseline[count++] = value;
      }
      if (count < ANOMALY_MIN_BASELINE_DAYS) continue;
      const sorted = baseline.subarray(0, count).sort();
      const mid = count >> 1;
      // The median as units at `medianScale`; `limit`: factor × median at `scale`, doubled for an even count (compared with 2 × the day's value).
      let medianUnits: number;
      let medianScale = scale;
      let limit: number;
      let value = values[at];
      if (count % 2 === 1) {
        medianUnits = sorted[mid];
        limit = INTEGER_FACTOR * medianUnits;
      } else {
        const pair = sorted[mid - 1] + sorted[mid];
        medianUnits = pair % 2 === 0 ? pair / 2 : pair * 5;
        if (pair % 2 !== 0) medianScale = scale + 1;
        limit = INTEGER_FACTOR * pair;
        value *= 2;
      }
      if (!Number.isSafeInteger(limit) || !Number.isSafeInteger(medianUnits) || !Number.isSafeInteger(value)) return false;
      if (medianUnits <= 0 || value <= limit) continue;
      // The median without trailing zeros after the point (as big.js's `toFixed()` prints it).
      while (medianScale > 0 && medianUnits % 10 === 0) {
        medianUnits /= 10;
        medianScale--;
      }
      anomalies.row(ANOMALIES_COLUMNS.length).text(gsrn).date(written.infos[k].number).numeric(written.units[k], written.scales[k]);
      anomalies.numeric(medianUnits, medianScale).int4(count);
    }
  }
  return true;
}

/**
 * A run's series row (COPY binary, in the order of `SERIES_COLUMNS`); false, with nothing written, if a quantity is not
 * a plain decimal (the row then goes as text: {@link writeSeriesText}, parsed by the server as `apply`'s are).
 */
function writeSeries(out: BinaryCopyWriter, run: Run): boolean {
  const mark = out.mark();
  out.row(SERIES_COLUMNS.length).text(run.gsrn).timestamptz(run.start).timestamptz(run.end).text(run.resolution);
  const wh = run.wh;
  if (wh !== null) {
    // Integer Wh as numerics of scale 3: what the live path stores from the same value's text ("0.150").
    out.open().arrayHeader(PG_TYPE.numeric, wh.length, wh.includes(null));
    for (let k = 0; k < wh.length; k++) {
      const units = wh[k];
      if (units === null) out.nullField();
      else out.numeric(units, 3);
    }
  } else {
    const quantities = run.quantities;
    out.open().arrayHeader(PG_TYPE.numeric, quantities.length, quantities.includes(null));
    for (const quantity of quantities) {
      if (quantity === null) out.nullField();
      else if (!out.numericText(quantity)) {
        out.rollback(mark);
        return false;
      }
    }
  }
  out.close();
  const qualities = run.qualities;
  if (qualities.some((q) => q !== null)) {
    out.open().arrayHeader(PG_TYPE.text, qualities.length, qualities.includes(null));
    for (const quality of qualities) out.text(quality);
    out.close();
  } else {
    out.nullField();
  }
  out.text(run.documentId).text(run.seriesId);
  return true;
}

/** A run's series row as COPY text (the rows {@link writeSeries} does not write). */
function writeSeriesText(out: CopyWriter, run: Run): void {
  out.text(run.gsrn).tab().text(new Date(run.start).toISOString()).tab().text(new Date(run.end).toISOString()).tab().text(run.resolution).tab();
  writeTextArray(out, run.quantities);
  out.tab();
  if (run.qualities.some((q) => q !== null)) writeTextArray(out, run.qualities);
  else out.text(null);
  out.tab().text(run.documentId).tab().text(run.seriesId).endRow();
}

/** A text[] or numeric[] value as `copyField(arrayLiteral(items))`, its plain elements written as they are. */
function writeTextArray(out: CopyWriter, items: readonly (string | null)[]): void {
  for (const item of items) {
    if (item !== null && !plainArrayElement(item)) {
      out.text(arrayLiteral(items));
      return;
    }
  }
  out.byte(LEFT_BRACE);
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out.byte(COMMA);
    out.ascii(items[i] ?? 'NULL');
  }
  out.byte(RIGHT_BRACE);
}

/** `ARRAY_PLAIN` and not the word NULL, character by character. */
function plainArrayElement(item: string): boolean {
  const n = item.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = item.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2e || c === 0x2b || c === 0x2d)) return false;
  }
  return n !== 4 || item.toUpperCase() !== 'NULL';
}

/** What `apply` takes from one `ValidatedMeasureDataReceived` (null: not one it can use). */
interface MeasureDocument {
  gsrn: string;
  resolution: string;
  stepMs: number;
  start: number;
  end: number;
  /** Each point's start (ms), in the document's order. */
  starts: number[];
  /** The points' quantities as the event carries them (empty when {@link wh} holds them). */
  quantities: (string | null)[];
  /**
   * The bulk loader's form of a packed (v2) series' quantities: integer Wh (kWh at scale 3, what the live path stores
   * from the same points' texts, "0.150"), null where a point has none or is A02; null for a series of `points`.
   */
  wh: (number | null)[] | null;
  qualities: (string | null)[];
  documentId: string | null;
  seriesId: string | null;
  consumption: boolean;
  /** Its points' starts strictly increase (in position order, no position twice): its values are its arrays as they are. */
  ordered: boolean;
}

/**
 * What `apply` takes from an event. `thousandths` (the bulk loader): a packed (v2) series' quantities read straight into
 * {@link MeasureDocument.wh}, no point object or quantity text made per value; else (the live path) as texts.
 */
function documentOf(event: ProjectedEvent, thousandths = false): MeasureDocument | null {
  if (event.type !== 'ValidatedMeasureDataReceived') return null;
  const d = event.data;
  const gsrn = typeof d.gsrn === 'string' ? d.gsrn : null;
  const resolution = typeof d.resolution === 'string' ? d.resolution : '';
  const minutes = RESOLUTION_MINUTES[resolution];
  const start = timeOf(d.start);
  const end = timeOf(d.end);
  if (!gsrn || minutes === undefined || start === undefined || end === undefined || end <= start) return null;
  const stepMs = minutes * 60_000;
  const doc: MeasureDocument = {
    gsrn,
    resolution,
    stepMs,
    start,
    end,
    starts: [],
    quantities: [],
    wh: null,
    qualities: [],
    documentId: typeof d.documentId === 'string' ? d.documentId : null,
    seriesId: typeof d.seriesId === 'string' ? d.seriesId : null,
    consumption: d.meteringPointType === CONSUMPTION_TYPE,
    ordered: true,
  };
  const add = (position: number, quantity: string | null, quality: string | null): void => {
    if (!Number.isSafeInteger(position) || position < 1) return;
    const t = start + (position - 1) * stepMs;
    if (t + stepMs > end) return;
    if (doc.starts.length > 0 && t <= doc.starts[doc.starts.length - 1]) doc.ordered = false;
    doc.starts.push(t);
    doc.quantities.push(quality === QUALITY_MISSING ? null : quantity);
    doc.qualities.push(quality);
  };
  if (Array.isArray(d.points)) {
    // Points as objects, read in place (no copy of each point as `seriesPointsOf` makes): the same checks, and as
    // there a malformed point leaves the document without points.
    for (const p of d.points as unknown[]) {
      if (typeof p !== 'object' || p === null || Array.isArray(p)) return withoutPoints(doc);
      const r = p as Record<string, unknown>;
      const quantity = r.quantity ?? null;
      const quality = r.quality ?? null;
      if (typeof r.position !== 'number' || (quantity !== null && typeof quantity !== 'string') || (quality !== null && typeof quality !== 'string')) return withoutPoints(doc);
      add(r.position, quantity, quality);
    }
  } else if (thousandths) {
    // As `pointsOf` reads them (a malformed packing: no points), the values kept as integers.
    if (isPackedPoints(d)) addPacked(doc, d);
  } else {
    for (const p of pointsOf(d)) add(p.position, p.quantity, p.quality);
  }
  return doc;
}

/**
 * A packed series' values into `doc` as `add` takes the points `unpackPoints` makes of them (positions from
 * `firstPosition`, consecutive: the starts increase; a point ending after the document's end left out, and so every
 * later one), the quantities as integer Wh in `doc.wh`.
 */
function addPacked(doc: MeasureDocument, packed: PackedPoints): void {
  const source = packed.wh;
  const { start, end, stepMs } = doc;
  const from = start + (packed.firstPosition - 1) * stepMs;
  // The values that end by the document's end (the starts increase: a prefix), in arrays of their final length.
  const n = Math.max(0, Math.min(source.length, Math.floor((end - from) / stepMs)));
  const starts = new Array<number>(n);
  const qualities = new Array<string | null>(n);
  let missing = false;
  let i = 0;
  for (const run of packed.qualities) {
    const quality = run[0];
    if (quality === QUALITY_MISSING) missing = true;
    for (let k = run[1]; k > 0 && i < n; k--, i++) {
      starts[i] = from + i * stepMs;
      qualities[i] = quality;
    }
  }
  doc.starts = starts;
  doc.qualities = qualities;
  if (!missing && n === source.length) {
    // Every value kept as it is: the event's own array (read only, like the rest of the event).
    doc.wh = source;
    return;
  }
  const wh = new Array<number | null>(n);
  i = 0;
  for (const run of packed.qualities) {
    const skip = run[0] === QUALITY_MISSING;
    for (let k = run[1]; k > 0 && i < n; k--, i++) wh[i] = skip ? null : source[i];
  }
  doc.wh = wh;
}

function withoutPoints(doc: MeasureDocument): MeasureDocument {
  return { ...doc, starts: [], quantities: [], wh: null, qualities: [], ordered: true };
}

/** A run of consecutive values of one document within one local day: a row of the series table. */
interface Run {
  gsrn: string;
  day: LocalDate;
  start: number;
  end: number;
  stepMs: number;
  resolution: string;
  /** The values' quantities as texts (empty when {@link wh} holds them). */
  quantities: (string | null)[];
  /** The values' quantities as integer Wh, when the run's source is a packed document ({@link MeasureDocument.wh}). */
  wh: (number | null)[] | null;
  qualities: (string | null)[];
  documentId: string | null;
  seriesId: string | null;
}

/** A value with what its run needs: the source it came from (a document or a stored run) and its index there. */
interface SourcedValue {
  start: number;
  source: MeasureDocument | Run;
  i: number;
}

/** Cuts values (sorted by start, one per start) into runs: a new run where the source, the local day or contiguity changes. */
function runsOf(gsrn: string, values: readonly SourcedValue[]): Run[] {
  const runs: Run[] = [];
  let run: Run | null = null;
  let source: MeasureDocument | Run | null = null;
  for (const v of values) {
    const day = dayOfInstant(v.start);
    if (!run || source !== v.source || run.end !== v.start || run.day !== day) {
      source = v.source;
      run = {
        gsrn,
        day,
        start: v.start,
        end: v.start,
        stepMs: v.source.stepMs,
        resolution: v.source.resolution,
        quantities: [],
        wh: v.source.wh === null ? null : [],
        qualities: [],
        documentId: v.source.documentId,
        seriesId: v.source.seriesId,
      };
      runs.push(run);
    }
    // A run has one source: its quantities are all texts or all integer Wh.
    const wh = v.source.wh;
    if (wh !== null && run.wh !== null) run.wh.push(wh[v.i]);
    else run.quantities.push(v.source.quantities[v.i]);
    run.qualities.push(v.source.qualities[v.i]);
    run.end = v.start + v.source.stepMs;
  }
  return runs;
}

/** The runs of a document whose starts strictly increase (`ordered`), sliced from its arrays. */
function runsOfOrderedDocument(doc: MeasureDocument): Run[] {
  const runs: Run[] = [];
  const n = doc.starts.length;
  let from = 0;
  while (from < n) {
    const day = dayOfInstant(doc.starts[from]);
    const dayEnd = dayInfo(day).end;
    let to = from + 1;
    while (to < n && doc.starts[to] === doc.starts[to - 1] + doc.stepMs && doc.starts[to] < dayEnd) to++;
    const whole = from === 0 && to === n;
    runs.push({
      gsrn: doc.gsrn,
      day,
      start: doc.starts[from],
      end: doc.starts[to - 1] + doc.stepMs,
      stepMs: doc.stepMs,
      resolution: doc.resolution,
      quantities: whole || doc.wh !== null ? doc.quantities : doc.quantities.slice(from, to),
      wh: doc.wh === null || whole ? doc.wh : doc.wh.slice(from, to),
      qualities: whole ? doc.qualities : doc.qualities.slice(from, to),
      documentId: doc.documentId,
      seriesId: doc.seriesId,
    });
    from = to;
  }
  return runs;
}

/** A document's values, one per start (a later point at the same position wins), in time order. */
function valuesOfDocument(doc: MeasureDocument): SourcedValue[] {
  const byStart = new Map<number, number>();
  for (let i = 0; i < doc.starts.length; i++) byStart.set(doc.starts[i], i);
  return [...byStart.entries()].sort((a, b) => a[0] - b[0]).map(([start, i]) => ({ start, source: doc, i }));
}

/** The qualities column: null when no value has one. */
function qualitiesLiteral(qualities: readonly (string | null)[]): string | null {
  return qualities.some((q) => q !== null) ? arrayLiteral(qualities) : null;
}

/**
 * Supersede: every stored run overlapping one of the documents' intervals is deleted; its values outside all the
 * intervals of its metering point's documents are written back as runs. Returns per metering point the extent
 * [first, last) of what was deleted (it bounds the buckets to recompute).
 */
async function supersede(client: PoolClient, docs: readonly MeasureDocument[]): Promise<Map<string, { first: number; last: number }>> {
  const removed = await client.query<{ gsrn: string; interval_start: Date; interval_end: Date; resolution: string; quantities: (string | null)[]; qualities: (string | null)[] | null; document_id: string | null; series_id: string | null }>(
    `DELETE FROM ${CONSUMPTION_SERIES_TABLE} x USING unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS d(gsrn, s, e)
      WHERE x.gsrn = d.gsrn AND x.interval_start > d.s - ${RUN_REACH} AND x.interval_start < d.e AND x.interval_end > d.s
      RETURNING x.gsrn, x.interval_start, x.interval_end, x.resolution, x.quantities::text[] AS quantities, x.qualities, x.document_id, x.series_id`,
    [docs.map((d) => d.gsrn), docs.map((d) => new Date(d.start)), docs.map((d) => new Date(d.end))],
  );
  const extents = new Map<string, { first: number; last: number }>();
  if (removed.rows.length === 0) return extents;
  const seen = new Set<string>();
  const cuts = new Map<string, MeasureDocument[]>();
  for (const d of docs) cuts.set(d.gsrn, [...(cuts.get(d.gsrn) ?? []), d]);
  const kept: Run[] = [];
  for (const row of removed.rows) {
    const start = row.interval_start.getTime();
    const end = row.interval_end.getTime();
    // A run several documents of the page overlap is deleted (and returned) once; guard anyway.
    if (seen.has(`${row.gsrn}|${start}`)) continue;
    seen.add(`${row.gsrn}|${start}`);
    const extent = extents.get(row.gsrn);
    extents.set(row.gsrn, { first: Math.min(extent?.first ?? start, start), last: Math.max(extent?.last ?? end, end) });
    const stepMs = RESOLUTION_MINUTES[row.resolution] * 60_000;
    const stored: Run = {
      gsrn: row.gsrn,
      day: dayOfInstant(start),
      start,
      end,
      stepMs,
      resolution: row.resolution,
      quantities: row.quantities,
      wh: null,
      qualities: row.qualities ?? row.quantities.map(() => null),
      documentId: row.document_id,
      seriesId: row.series_id,
    };
    const against = cuts.get(row.gsrn) ?? [];
    const values: SourcedValue[] = [];
    for (let i = 0; i < stored.quantities.length; i++) {
      const s = start + i * stepMs;
      if (!against.some((d) => s < d.end && s + stepMs > d.start)) values.push({ start: s, source: stored, i });
    }
    kept.push(...runsOf(row.gsrn, values));
  }
  await insertRuns(client, kept);
  return extents;
}

async function insertRuns(client: PoolClient, runs: readonly Run[]): Promise<void> {
  if (runs.length === 0) return;
  await client.query(
    `INSERT INTO ${CONSUMPTION_SERIES_TABLE} (gsrn, interval_start, interval_end, resolution, quantities, qualities, document_id, series_id)
     SELECT g, s, e, r, q::numeric[], ql::text[], doc, series
       FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS t(g, s, e, r, q, ql, doc, series)`,
    [
      runs.map((r) => r.gsrn),
      runs.map((r) => new Date(r.start)),
      runs.map((r) => new Date(r.end)),
      runs.map((r) => r.resolution),
      runs.map((r) => arrayLiteral(r.quantities)),
      runs.map((r) => qualitiesLiteral(r.qualities)),
      runs.map((r) => r.documentId),
      runs.map((r) => r.seriesId),
    ],
  );
}

/**
 * Recomputes the hours and the day rows of (metering point, local day) pairs from the stored runs, in SQL (any
 * `numeric` the runs hold): rows of those days deleted, then written again where the day has a value.
 */
async function recomputeDays(client: PoolClient, keys: readonly { gsrn: string; day: LocalDate }[]): Promise<void> {
  if (keys.length === 0) return;
  const gsrns = keys.map((k) => k.gsrn);
  const days = keys.map((k) => k.day);
  await client.query(
    `DELETE FROM ${CONSUMPTION_HOURS_TABLE} h USING unnest($1::text[], $2::date[]) AS k(gsrn, day) WHERE h.gsrn = k.gsrn AND h.day = k.day;`,
    [gsrns, days],
  );
  await client.query(`DELETE FROM ${CONSUMPTION_DAILY_TABLE} d USING unnest($1::text[], $2::date[]) AS k(gsrn, day) WHERE d.gsrn = k.gsrn AND d.day = k.day`, [gsrns, days]);
  const infos = days.map(dayInfo);
  await client.query(
    `WITH d AS (SELECT * FROM unnest($1::text[], $2::date[], $3::timestamptz[], $4::int[], $5::text[]) AS d(gsrn, day, s, n, labels)),
     v AS (
       SELECT d.gsrn, d.day, floor((extract(epoch FROM x.interval_start - d.s) + (u.i - 1) * ${STEP_SECONDS}) / 3600)::int AS hour,
              u.q, u.ql, ${STEP_SECONDS} / 60 AS minutes
         FROM d JOIN ${CONSUMPTION_SERIES_TABLE} x ON x.gsrn = d.gsrn AND x.interval_start >= d.s AND x.interval_start < d.s + d.n * interval '1 hour'
         CROSS JOIN LATERAL unnest(x.quantities, x.qualities) WITH ORDINALITY AS u(q, ql, i)),
     h AS (
       SELECT gsrn, day, hour, coalesce(sum(q), 0) AS quantity, coalesce(bool_or(ql = '${QUALITY_ESTIMATED}'), false) AS estimated,
              bool_or(q IS NULL) OR sum(CASE WHEN q IS NULL THEN 0 ELSE minutes END) < 60 AS missing
         FROM v GROUP BY gsrn, day, hour),
     hours AS (
       INSERT INTO ${CONSUMPTION_HOURS_TABLE} (gsrn, day, day_start, hours_json, total, any_estimated, any_missing)
       SELECT d.gsrn, d.day, d.s,
              string_agg(${hourValueJsonSql('(d.labels::text[])[h.hour + 1]', '(d.labels::text[])[h.hour + 2]', 'h.quantity', 'h.estimated', 'h.missing')}, ',' ORDER BY h.hour),
              sum(h.quantity), bool_or(h.estimated), bool_or(h.missing)
         FROM d JOIN h ON h.gsrn = d.gsrn AND h.day = d.day AND h.hour < d.n
        GROUP BY d.gsrn, d.day, d.s),
     labelled AS (
       INSERT INTO ${CONSUMPTION_DAY_LABELS_TABLE} (day, labels)
       SELECT DISTINCT ON (d.day) d.day, d.labels::text[] FROM d ORDER BY d.day
       ON CONFLICT (day) DO NOTHING)
     INSERT INTO ${CONSUMPTION_DAILY_TABLE} (gsrn, day, quantity, hours, day_hours, estimated, missing, start_label, end_label, day_json)
     SELECT d.gsrn, d.day, sum(h.quantity), count(*), d.n, bool_or(h.estimated), bool_or(h.missing) OR count(*) < d.n, (d.labels::text[])[1], (d.labels::text[])[d.n + 1],
            ${dayValueJsonSql(`to_char(d.day, 'YYYY-MM-DD')`, '(d.labels::text[])[1]', '(d.labels::text[])[d.n + 1]', 'd.n', 'sum(h.quantity)', 'bool_or(h.estimated)', 'bool_or(h.missing) OR count(*) < d.n')}
       FROM d JOIN h ON h.gsrn = d.gsrn AND h.day = d.day AND h.hour < d.n
      GROUP BY d.gsrn, d.day, d.n, d.labels`,
    [gsrns, days, infos.map((i) => new Date(i.start)), infos.map((i) => i.hours), infos.map((i) => i.labelsLiteral)],
  );
}

function nextMonth(month: string): string {
  const c = parseLocalDate(month);
  return c.month === 12 ? `${c.year + 1}-01-01` : `${c.year}-${String(c.month + 1).padStart(2, '0')}-01`;
}

function monthLength(month: string): number {
  const c = parseLocalDate(month);
  return daysInLocalMonth(c.year, c.month);
}

/** One round of `applyBatch` (or `apply`): documents of distinct metering points, each step one statement for all. */
async function applyRound(client: PoolClient, docs: MeasureDocument[]): Promise<void> {
  const gone = await supersede(client, docs);
  await insertRuns(client, docs.flatMap((d) => runsOf(d.gsrn, valuesOfDocument(d))));

  // The whole UTC hours covering each document and what it superseded, as local days.
  const windows = docs.map((d) => {
    const extent = gone.get(d.gsrn);
    const from = Math.floor(Math.min(d.start, extent?.first ?? Infinity) / MS_PER_HOUR) * MS_PER_HOUR;
    const to = Math.ceil(Math.max(d.end, extent?.last ?? -Infinity) / MS_PER_HOUR) * MS_PER_HOUR;
    return { doc: d, days: daysOf(from, to) };
  });
  await recomputeDays(client, windows.flatMap((w) => w.days.map((day) => ({ gsrn: w.doc.gsrn, day }))));

  // Months.
  const monthRows = windows.flatMap((w) => [...new Set(w.days.map((d) => `${d.slice(0, 7)}-01`))].map((month) => ({ gsrn: w.doc.gsrn, month })));
  await client.query(
    `DELETE FROM ${CONSUMPTION_MONTHLY_TABLE} m USING unnest($1::text[], $2::date[]) AS w(gsrn, month) WHERE m.gsrn = w.gsrn AND m.month = w.month`,
    [monthRows.map((r) => r.gsrn), monthRows.map((r) => r.month)],
  );
  await client.query(
    `INSERT INTO ${CONSUMPTION_MONTHLY_TABLE} (gsrn, month, quantity, days, month_days, estimated, missing)
     SELECT m.gsrn, m.month, sum(d.quantity), count(*), m.month_days, bool_or(d.estimated), bool_or(d.missing) OR count(*) < m.month_days
     FROM unnest($1::text[], $2::date[], $3::date[], $4::int[]) AS m(gsrn, month, next, month_days)
     JOIN ${CONSUMPTION_DAILY_TABLE} d ON d.gsrn = m.gsrn AND d.day >= m.month AND d.day < m.next
     GROUP BY m.gsrn, m.month, m.month_days`,
    [monthRows.map((r) => r.gsrn), monthRows.map((r) => r.month), monthRows.map((r) => nextMonth(r.month)), monthRows.map((r) => monthLength(r.month))],
  );

  // Anomalies of consumption points: each window's days and the baseline days after them.
  const anomalyWindows = windows
    .filter((w) => w.doc.consumption)
    .map((w) => ({ gsrn: w.doc.gsrn, from: w.days[0], to: w.days[w.days.length - 1], until: addDays(w.days[w.days.length - 1], ANOMALY_BASELINE_DAYS) }));
  if (anomalyWindows.length === 0) return;
  const { rows } = await client.query<{ gsrn: string; day: string; quantity: string; missing: boolean }>(
    `SELECT d.gsrn, to_char(d.day, 'YYYY-MM-DD') AS day, d.quantity::text AS quantity, d.missing
       FROM unnest($1::text[], $2::date[], $3::date[]) AS w(gsrn, f, t)
       JOIN ${CONSUMPTION_DAILY_TABLE} d ON d.gsrn = w.gsrn AND d.day >= w.f AND d.day <= w.t
      ORDER BY d.gsrn, d.day`,
    [anomalyWindows.map((w) => w.gsrn), anomalyWindows.map((w) => addDays(w.from, -ANOMALY_BASELINE_DAYS)), anomalyWindows.map((w) => w.until)],
  );
  const byGsrn = new Map<string, { day: string; quantity: string; missing: boolean }[]>();
  for (const row of rows) {
    const list = byGsrn.get(row.gsrn) ?? [];
    list.push(row);
    byGsrn.set(row.gsrn, list);
  }
  const unusual = anomalyWindows.flatMap((w) => findUnusualDays(byGsrn.get(w.gsrn) ?? [], { from: w.from, to: w.until }).map((u) => ({ gsrn: w.gsrn, ...u })));
  await client.query(
    `DELETE FROM ${CONSUMPTION_ANOMALIES_TABLE} a USING unnest($1::text[], $2::date[], $3::date[]) AS w(gsrn, f, t) WHERE a.gsrn = w.gsrn AND a.day >= w.f AND a.day <= w.t`,
    [anomalyWindows.map((w) => w.gsrn), anomalyWindows.map((w) => w.from), anomalyWindows.map((w) => w.until)],
  );
  await insertAnomalies(client, unusual);
}

async function insertAnomalies(client: PoolClient, unusual: readonly { gsrn: string; day: string; quantity: string; median: string; baselineDays: number }[]): Promise<void> {
  if (unusual.length === 0) return;
  await client.query(
    `INSERT INTO ${CONSUMPTION_ANOMALIES_TABLE} (gsrn, day, quantity, baseline_median, baseline_days)
     SELECT g, day, quantity::numeric, median::numeric, n FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::int[]) AS t(g, day, quantity, median, n)`,
    [unusual.map((u) => u.gsrn), unusual.map((u) => u.day), unusual.map((u) => u.quantity), unusual.map((u) => u.median), unusual.map((u) => u.baselineDays)],
  );
}

/**
 * Bulk mode of a rebuild into empty shadow tables. `load` resolves each page's documents against each other in memory,
 * cuts the surviving values into runs and streams them into the series table with `COPY`; the hours and days of
 * metering points whose page documents touch no local day an earlier page touched (the usual case: DataHub sends each
 * period once, in time order) are summed in memory from the same values, exactly as `recomputeDays` would (decimal sums
 * at the terms' largest scale), and copied too. A document touching a day an earlier page touched for its point makes
 * the point "recomputed": what it supersedes is deleted (`supersede`, the live path's), its runs copied, and its hours
 * and days left to `finish`, which recomputes every day of the point in SQL (likewise for a point with a quantity that
 * is not a plain decimal). `finish` then computes months and anomalies from the days: of the points summed in memory
 * from the daily totals this loader kept (integers at the point's largest scale, the anomaly rule of
 * {@link findUnusualDays}), copied in one transaction; of the others in SQL, per chunk of metering points in its own
 * transaction. The tables then hold what `applyBatch` over the same events would have left: every bucket is a
 * function of the values below it, and every anomaly verdict a function of the daily totals before it (for metering
 * points whose documents are consumption, E17; a point sending both kinds would get verdicts on its other days too).
 * Holds per metering point seen the span of local days its documents covered (O(portfolio)), and at most `keptDays`
 * (default {@link BULK_KEPT_DAYS}) daily totals for `finish`: a point whose days would pass that is moved to the SQL
 * path of `finish` (its days stay as written). A page's rows are written
 * as COPY data (binary) in bytes and sent in chunks of about `copyChunkBytes` (default 1 MiB), each chunk's COPYs started while
 * the next chunk is computed, so PostgreSQL ingests rows while this process sums the next ones.
 */
export function consumptionBulkLoader(options: { copyChunkBytes?: number; keptDays?: number } = {}): BulkLoader {
  const chunkBytes = options.copyChunkBytes ?? BULK_COPY_CHUNK_BYTES;
  const keptDaysCap = options.keptDays ?? BULK_KEPT_DAYS;
  /** Per metering point, the local days (as [start, end) instants) covered by the documents of the pages loaded so far. */
  const spans = new Map<string, { from: number; to: number }>();
  const consumptionGsrns = new Set<string>();
  /** Points whose hours and days `finish` recomputes in SQL. */
  const recompute = new Set<string>();
  /** Days whose labels this build wrote. */
  const labelledDays = new Set<LocalDate>();
  /** Per metering point not recomputed, the daily rows written (months and anomalies are computed from them in `finish`). */
  const writtenDays = new Map<string, WrittenDays>();
  /** Daily totals held in `writtenDays`, and the points whose months and anomalies `finish` leaves to SQL because of the cap. */
  let keptDays = 0;
  const summariseInSql = new Set<string>();
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  return {
    async load(events, client, aside) {
      /**
       * Per metering point, the page's documents: while they follow each other in time (the usual case) kept as they
       * are (`docs`); once one overlaps an earlier one, resolved value by value (`values`, by start).
       */
      const byGsrn = new Map<string, { docs: MeasureDocument[]; values: Map<number, SourcedValue> | null; maxEnd: number; from: number; to: number }>();
      const cuts: MeasureDocument[] = [];
      for (const event of events) {
        const doc = documentOf(event, true);
        if (!doc) continue;
        if (doc.consumption) consumptionGsrns.add(doc.gsrn);
        const { start: s, end: e } = doc;
        first = Math.min(first, s);
        last = Math.max(last, e);
        const from = dayInfo(dayOfInstant(s)).start;
        const to = dayInfo(dayOfInstant(e - 1)).end;
        const earlier = spans.get(doc.gsrn);
        if (earlier && from < earlier.to && to > earlier.from) {
          // It touches days of earlier pages: what it supersedes there goes, and the point's days are recomputed at the end.
          cuts.push(doc);
          recompute.add(doc.gsrn);
        }
        let entry = byGsrn.get(doc.gsrn);
        if (!entry) byGsrn.set(doc.gsrn, (entry = { docs: [], values: null, maxEnd: Number.NEGATIVE_INFINITY, from, to }));
        if (!entry.values && (s < entry.maxEnd || !doc.ordered)) {
          entry.values = new Map();
          for (const d of entry.docs) for (let i = 0; i < d.starts.length; i++) entry.values.set(d.starts[i], { start: d.starts[i], source: d, i });
        }
        if (entry.values) {
          if (s < entry.maxEnd) {
            for (const [start, v] of entry.values) if (start < e && start + v.source.stepMs > s) entry.values.delete(start);
          }
          for (let i = 0; i < doc.starts.length; i++) entry.values.set(doc.starts[i], { start: doc.starts[i], source: doc, i });
        } else {
          entry.docs.push(doc);
        }
        entry.maxEnd = Math.max(entry.maxEnd, e);
        entry.from = Math.min(entry.from, from);
        entry.to = Math.max(entry.to, to);
      }
      if (byGsrn.size === 0) return;
      for (const [gsrn, entry] of byGsrn) {
        const span = spans.get(gsrn);
        spans.set(gsrn, span ? { from: Math.min(span.from, entry.from), to: Math.max(span.to, entry.to) } : { from: entry.from, to: entry.to });
      }
      if (cuts.length > 0) await supersede(client, cuts);

      // The rows go out in chunks of metering points, each chunk's COPYs started once the previous ones are done, while
      // the next chunk is computed: PostgreSQL ingests one chunk while this process builds the next. The series, hours
      // and daily rows are written as bytes (no string per field or row) in COPY's binary format, which the server
      // stores without parsing numbers, arrays and texts (a series row with a quantity that is not a plain decimal goes
      // as text).
      // The hours (about three quarters of the COPY data, the JSON PostgreSQL parses and compresses) go over `aside`
      // when the caller gives a second connection, so two backends ingest a page's rows.
      let copies: Promise<unknown> = Promise.resolve();
      let asideCopies: Promise<unknown> = Promise.resolve();
      const series = new BinaryCopyWriter();
      const seriesText = new CopyWriter();
      const hours = new BinaryCopyWriter();
      const daily = new BinaryCopyWriter();
      let labelRows: string[] = [];
      const flush = (): void => {
        const hourChunks = hours.take();
        if (hourChunks.length > 0) {
          if (aside) asideCopies = asideCopies.then(() => copyBuffers(aside, CONSUMPTION_HOURS_TABLE, HOURS_COLUMNS, hourChunks, 'binary'));
          else copies = copies.then(() => copyBuffers(client, CONSUMPTION_HOURS_TABLE, HOURS_COLUMNS, hourChunks, 'binary'));
        }
        for (const [table, columns, chunks, format] of [
          [CONSUMPTION_SERIES_TABLE, SERIES_COLUMNS, series.take(), 'binary'],
          [CONSUMPTION_SERIES_TABLE, SERIES_COLUMNS, seriesText.take(), 'text'],
          [CONSUMPTION_DAILY_TABLE, DAILY_COLUMNS, daily.take(), 'binary'],
        ] as const) {
          if (chunks.length > 0) copies = copies.then(() => copyBuffers(client, table, columns, chunks, format));
        }
        const labels = labelRows;
        if (labels.length > 0) copies = copies.then(() => copyRows(client, CONSUMPTION_DAY_LABELS_TABLE, DAY_LABELS_COLUMNS, labels));
        labelRows = [];
        // Awaited at the end of the page; a failure before that must not count as unhandled.
        copies.catch(() => undefined);
        asideCopies.catch(() => undefined);
      };
      for (const [gsrn, entry] of byGsrn) {
        if (series.length + seriesText.length + hours.length >= chunkBytes) {
          flush();
          // A turn of the event loop: the connection sends what is queued and starts the next COPY meanwhile.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        const runs = entry.values
          ? runsOf(gsrn, [...entry.values.values()].sort((a, b) => a.start - b.start))
          : entry.docs.flatMap(runsOfOrderedDocument);
        for (const run of runs) {
          if (!labelledDays.has(run.day)) {
            labelledDays.add(run.day);
            labelRows.push(`${copyField(run.day)}\t${copyField(dayInfo(run.day).labelsLiteral)}`);
          }
          if (!writeSeries(series, run)) writeSeriesText(seriesText, run);
        }
        if (recompute.has(gsrn)) continue;
        let written: WrittenDays | null = null;
        if (!summariseInSql.has(gsrn)) {
          written = writtenDays.get(gsrn) ?? null;
          if (written === null) writtenDays.set(gsrn, (written = { infos: [], units: [], scales: [], flags: [] }));
        }
        const keptBefore = written?.infos.length ?? 0;
        if (!writeHoursAndDays(gsrn, runs, hours, daily, written)) recompute.add(gsrn);
        if (written !== null) {
          keptDays += written.infos.length - keptBefore;
          if (keptDays > keptDaysCap) {
            keptDays -= written.infos.length;
            writtenDays.delete(gsrn);
            summariseInSql.add(gsrn);
          }
        }
      }
      flush();
      // Both chains settled before the page ends (the caller commits or rolls back both connections after this).
      await Promise.allSettled([copies, asideCopies]);
      await copies;
      await asideCopies;
    },

    async finish(inTransaction) {
      if (spans.size === 0) return;
      // Months and anomalies of the points whose days this loader summed, from those days in memory; the others' in SQL.
      // In slices with a turn of the event loop between them, so what the caller runs meanwhile (ANALYZE) is not held up.
      const monthly = new BinaryCopyWriter();
      const anomalies = new BinaryCopyWriter();
      const inSql: string[] = [];
      const gsrns = [...spans.keys()].sort();
      for (let at = 0; at < gsrns.length; at += BULK_FINISH_CHUNK) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        for (const gsrn of gsrns.slice(at, at + BULK_FINISH_CHUNK)) {
          const written = recompute.has(gsrn) || summariseInSql.has(gsrn) ? undefined : writtenDays.get(gsrn);
          if (recompute.has(gsrn) || summariseInSql.has(gsrn) || (written && !summariseDays(gsrn, written, consumptionGsrns.has(gsrn), monthly, anomalies))) inSql.push(gsrn);
        }
      }
      writtenDays.clear();
      summariseInSql.clear();
      keptDays = 0;
      const monthlyChunks = monthly.take();
      const anomalyChunks = anomalies.take();
      if (monthlyChunks.length > 0 || anomalyChunks.length > 0) {
        await inTransaction(async (client) => {
          if (monthlyChunks.length > 0) await copyBuffers(client, CONSUMPTION_MONTHLY_TABLE, MONTHLY_COLUMNS, monthlyChunks, 'binary');
          if (anomalyChunks.length > 0) await copyBuffers(client, CONSUMPTION_ANOMALIES_TABLE, ANOMALIES_COLUMNS, anomalyChunks, 'binary');
        });
      }
      if (inSql.length === 0) return;
      const months: string[] = [];
      for (let m = `${dayOfInstant(first).slice(0, 7)}-01`; m <= `${dayOfInstant(last - 1).slice(0, 7)}-01`; m = nextMonth(m)) months.push(m);
      const ordered = inSql;
      for (let at = 0; at < ordered.length; at += BULK_FINISH_CHUNK) {
        const chunk = ordered.slice(at, at + BULK_FINISH_CHUNK);
        await inTransaction(async (client) => {
          const recomputed = chunk.filter((g) => recompute.has(g));
          for (const gsrn of recomputed) {
            const span = spans.get(gsrn);
            if (span) await recomputeDays(client, daysOf(span.from, span.to).map((day) => ({ gsrn, day })));
          }
          await client.query(
            `INSERT INTO ${CONSUMPTION_MONTHLY_TABLE} (gsrn, month, quantity, days, month_days, estimated, missing)
             SELECT d.gsrn, m.month, sum(d.quantity), count(*), m.month_days, bool_or(d.estimated), bool_or(d.missing) OR count(*) < m.month_days
               FROM ${CONSUMPTION_DAILY_TABLE} d JOIN unnest($2::date[], $3::int[]) AS m(month, month_days) ON m.month = date_trunc('month', d.day)::date
              WHERE d.gsrn = ANY($1::text[])
              GROUP BY d.gsrn, m.month, m.month_days`,
            [chunk, months, months.map(monthLength)],
          );
          const consumption = chunk.filter((g) => consumptionGsrns.has(g));
          if (consumption.length === 0) return;
          const { rows } = await client.query<{ gsrn: string; day: string; quantity: string; missing: boolean }>(
            `SELECT gsrn, to_char(day, 'YYYY-MM-DD') AS day, quantity::text AS quantity, missing FROM ${CONSUMPTION_DAILY_TABLE} WHERE gsrn = ANY($1::text[]) ORDER BY gsrn, day`,
            [consumption],
          );
          const byGsrn = new Map<string, { day: string; quantity: string; missing: boolean }[]>();
          for (const row of rows) {
            const list = byGsrn.get(row.gsrn) ?? [];
            list.push(row);
            byGsrn.set(row.gsrn, list);
          }
          const unusual = [...byGsrn.entries()].flatMap(([gsrn, totals]) =>
            findUnusualDays(totals, { from: totals[0].day, to: totals[totals.length - 1].day }).map((u) => ({ gsrn, ...u })),
          );
          await insertAnomalies(client, unusual);
        });
      }
    },
  };
}
