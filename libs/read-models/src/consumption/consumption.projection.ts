import type { PoolClient } from 'pg';
import { seriesPointsOf } from '@dh/cim';
import { addDays, compareLocalDates, daysInLocalMonth, localDateOf, localDayEnd, localDayHours, localDayStart, localLabel, parseLocalDate, type LocalDate } from '@dh/dk-time';
import type { BulkLoader, Projection, ProjectedEvent } from '../projection/projection';
import { PROJECTION_SCHEMA } from '../projection/projection-state';
import { copyField, copyRows } from '../projection/copy';
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

/** The series' points, packed (v2) or as objects (v1); malformed points are skipped. */
function pointsOf(data: Readonly<Record<string, unknown>>): Point[] {
  return (seriesPointsOf(data) ?? []).filter((p) => Number.isSafeInteger(p.position) && p.position >= 1);
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
    const doc = documentOf(event);
    if (doc) await applyDocument(client, doc);
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

/** Metering points per transaction of the bulk loader's `finish`. */
const BULK_FINISH_CHUNK = 500;

const VALUE_COLUMNS = ['gsrn', 'interval_start', 'interval_end', 'resolution', 'quantity', 'quality', 'document_id', 'series_id'];
const HOUR_COLUMNS = ['gsrn', 'hour_start', 'quantity', 'covered_minutes', 'estimated', 'missing', 'start_label', 'end_label'];
/** A quantity as documents carry it ("12.345"); anything else is summed by PostgreSQL instead (see the bulk loader). */
const PLAIN_DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/**
 * An exact sum of decimals with PostgreSQL's `sum(numeric)` scale (the largest scale among the terms), in integer
 * units of that scale held in a double while they are safe integers (kWh to the Wh and below, the usual case).
 */
interface DecimalSum {
  units: number;
  scale: number;
}

/** Adds a plain decimal to the sum; false if the text is not one or the sum would leave the safe integers (the sum is then unusable). */
function addPlainDecimal(sum: DecimalSum, text: string): boolean {
  const m = PLAIN_DECIMAL.exec(text);
  if (!m) return false;
  const fraction = m[3] ?? '';
  const digits = m[2] + fraction;
  if (digits.length > 15) return false;
  const units = m[1] === '-' ? -Number(digits) : Number(digits);
  const scale = fraction.length;
  if (scale > sum.scale) {
    sum.units *= 10 ** (scale - sum.scale);
    sum.scale = scale;
  }
  sum.units += scale < sum.scale ? units * 10 ** (sum.scale - scale) : units;
  return Number.isSafeInteger(sum.units) && sum.scale <= 15;
}

/** The sum as `numeric::text` prints it. */
function formatDecimal({ units, scale }: DecimalSum): string {
  const negative = units < 0;
  const digits = String(negative ? -units : units);
  if (scale === 0) return `${negative ? '-' : ''}${digits}`;
  const padded = digits.padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
}

/** An hour being summed from a page's values (the hourly statement of `applyRound`, in memory). */
interface HourSum extends DecimalSum {
  quantities: number;
  minutes: number;
  estimated: boolean;
  missing: boolean;
}

/**
 * Bulk mode of a rebuild into empty shadow tables. `load` resolves each page's documents against each other in memory
 * and streams the surviving values into the table with `COPY`; the hours of metering points whose page documents
 * touch no hour an earlier page touched (the usual case: DataHub sends each period once, in time order) are summed in
 * memory from the same values, exactly as the hourly statement would (decimal sums at the terms' largest scale), and
 * copied too. A document overlapping an earlier page's hours of its point makes the point "recomputed": what it
 * supersedes is deleted (one DELETE for the page), its values copied, and its hours left to `finish`, which deletes
 * and recomputes them from the values in SQL (likewise for a point with a quantity that is not a plain decimal).
 * `finish` then computes days, months and anomalies from the hours, per chunk of metering points in its own
 * transaction. The tables then hold what `applyBatch` over the same events would have left: every bucket is a function
 * of the values below it, and every anomaly verdict a function of the daily totals before it (for metering points
 * whose documents are consumption, E17; a point sending both kinds would get verdicts on its other days too).
 * Holds per metering point seen the span of hours its documents covered (O(portfolio)), and the labels of the hours.
 */
function consumptionBulkLoader(): BulkLoader {
  /** Per metering point, the whole hours covered by the documents of the pages loaded so far. */
  const spans = new Map<string, { from: number; to: number }>();
  const consumptionGsrns = new Set<string>();
  /** Points whose hours `finish` recomputes in SQL. */
  const recompute = new Set<string>();
  const labels = new Map<number, string>();
  const labelOf = (ms: number): string => {
    let label = labels.get(ms);
    if (label === undefined) labels.set(ms, (label = localLabel(new Date(ms))));
    return label;
  };
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  return {
    async load(events, client) {
      /** Per metering point: the page's surviving values (by start), the end of the latest of them, and the hours its documents cover. */
      const byGsrn = new Map<string, { values: Map<number, { doc: MeasureDocument; i: number }>; maxEnd: number; from: number; to: number }>();
      const superseded: { gsrn: string; s: Date; e: Date }[] = [];
      for (const event of events) {
        const doc = documentOf(event);
        if (!doc) continue;
        if (doc.consumption) consumptionGsrns.add(doc.gsrn);
        const s = doc.start.getTime();
        const e = doc.end.getTime();
        first = Math.min(first, s);
        last = Math.max(last, e);
        const from = Math.floor(s / MS_PER_HOUR) * MS_PER_HOUR;
        const to = Math.ceil(e / MS_PER_HOUR) * MS_PER_HOUR;
        const earlier = spans.get(doc.gsrn);
        if (earlier && from < earlier.to && to > earlier.from) {
          // It overlaps hours of earlier pages: what it supersedes there goes, and the point's hours are recomputed at the end.
          superseded.push({ gsrn: doc.gsrn, s: doc.start, e: doc.end });
          recompute.add(doc.gsrn);
        }
        let entry = byGsrn.get(doc.gsrn);
        if (!entry) byGsrn.set(doc.gsrn, (entry = { values: new Map(), maxEnd: Number.NEGATIVE_INFINITY, from, to }));
        if (s < entry.maxEnd) {
          for (const [start, v] of entry.values) if (start < e && v.doc.ends[v.i].getTime() > s) entry.values.delete(start);
        }
        for (let i = 0; i < doc.starts.length; i++) entry.values.set(doc.starts[i].getTime(), { doc, i });
        entry.maxEnd = Math.max(entry.maxEnd, e);
        entry.from = Math.min(entry.from, from);
        entry.to = Math.max(entry.to, to);
      }
      if (byGsrn.size === 0) return;
      for (const [gsrn, entry] of byGsrn) {
        const span = spans.get(gsrn);
        spans.set(gsrn, span ? { from: Math.min(span.from, entry.from), to: Math.max(span.to, entry.to) } : { from: entry.from, to: entry.to });
      }
      if (superseded.length > 0) {
        // A value overlapping [s, e) starts after s − 1 hour (no resolution is longer): a bounded index range.
        await client.query(
          `DELETE FROM ${CONSUMPTION_VALUES_TABLE} v USING unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS d(gsrn, s, e)
            WHERE v.gsrn = d.gsrn AND v.interval_start > d.s - interval '1 hour' AND v.interval_start < d.e AND v.interval_end > d.s`,
          [superseded.map((r) => r.gsrn), superseded.map((r) => r.s), superseded.map((r) => r.e)],
        );
      }
      const hours: string[] = [];
      /** Instants as COPY text, once per instant of the page (the same hours recur for every metering point). */
      const instants = new Map<number, string>();
      const instantOf = (ms: number): string => {
        let text = instants.get(ms);
        if (text === undefined) instants.set(ms, (text = new Date(ms).toISOString()));
        return text;
      };
      function* valueRows(): Generator<string> {
        for (const [gsrn, entry] of byGsrn) {
          const field = copyField(gsrn);
          const sums = recompute.has(gsrn) ? null : new Map<number, HourSum>();
          let fieldsOf: MeasureDocument | null = null;
          let docFields = '';
          for (const [start, { doc, i }] of entry.values) {
            const quantity = doc.quantities[i];
            const quality = doc.qualities[i];
            const end = doc.ends[i].getTime();
            if (fieldsOf !== doc) {
              fieldsOf = doc;
              docFields = `${copyField(doc.documentId)}\t${copyField(doc.seriesId)}`;
            }
            yield `${field}\t${instantOf(start)}\t${instantOf(end)}\t${copyField(doc.resolution)}\t${copyField(quantity)}\t${copyField(quality)}\t${docFields}`;
            if (!sums) continue;
            const hour = Math.floor(start / MS_PER_HOUR) * MS_PER_HOUR;
            let sum = sums.get(hour);
            if (!sum) sums.set(hour, (sum = { units: 0, scale: 0, quantities: 0, minutes: 0, estimated: false, missing: false }));
            if (quality === QUALITY_ESTIMATED) sum.estimated = true;
            if (quantity === null) sum.missing = true;
            else if (addPlainDecimal(sum, quantity)) {
              sum.quantities++;
              sum.minutes += Math.trunc((end - start) / 60_000);
            } else {
              recompute.add(gsrn);
            }
          }
          if (!sums || recompute.has(gsrn)) continue;
          for (const [hour, sum] of sums) {
            const quantity = sum.quantities > 0 ? formatDecimal(sum) : '0';
            const missing = sum.missing || sum.minutes < 60;
            hours.push(`${field}\t${instantOf(hour)}\t${quantity}\t${sum.minutes}\t${sum.estimated ? 't' : 'f'}\t${missing ? 't' : 'f'}\t${copyField(labelOf(hour))}\t${copyField(labelOf(hour + MS_PER_HOUR))}`);
          }
        }
      }
      await copyRows(client, CONSUMPTION_VALUES_TABLE, VALUE_COLUMNS, valueRows());
      if (hours.length > 0) await copyRows(client, CONSUMPTION_HOURLY_TABLE, HOUR_COLUMNS, hours);
    },

    async finish(inTransaction) {
      if (spans.size === 0) return;
      // Every UTC hour of the span with its labels and local day, every local day with its hours and labels: bounded by time, not by the portfolio.
      const hours: Date[] = [];
      for (let t = Math.floor(first / MS_PER_HOUR) * MS_PER_HOUR; t < Math.ceil(last / MS_PER_HOUR) * MS_PER_HOUR; t += MS_PER_HOUR) hours.push(new Date(t));
      const hourDays = hours.map(localDateOf);
      const days = [...new Set(hourDays)];
      const months = [...new Set(days.map((d) => `${d.slice(0, 7)}-01`))];
      const minutes = `sum(CASE WHEN v.quantity IS NULL THEN 0 ELSE extract(epoch FROM v.interval_end - v.interval_start)::int / 60 END)`;
      const ordered = [...spans.keys()].sort();
      for (let at = 0; at < ordered.length; at += BULK_FINISH_CHUNK) {
        const chunk = ordered.slice(at, at + BULK_FINISH_CHUNK);
        await inTransaction(async (client) => {
          const recomputed = chunk.filter((g) => recompute.has(g));
          if (recomputed.length > 0) {
            await client.query(`DELETE FROM ${CONSUMPTION_HOURLY_TABLE} WHERE gsrn = ANY($1::text[])`, [recomputed]);
            await client.query(
              `INSERT INTO ${CONSUMPTION_HOURLY_TABLE} (gsrn, hour_start, quantity, covered_minutes, estimated, missing, start_label, end_label)
               SELECT h.*, l.start_label, l.end_label FROM (
                 SELECT v.gsrn, date_trunc('hour', v.interval_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour_start, coalesce(sum(v.quantity), 0) AS quantity,
                   ${minutes} AS covered_minutes, coalesce(bool_or(v.quality = '${QUALITY_ESTIMATED}'), false) AS estimated, bool_or(v.quantity IS NULL) OR ${minutes} < 60 AS missing
                 FROM ${CONSUMPTION_VALUES_TABLE} v WHERE v.gsrn = ANY($1::text[])
                 GROUP BY 1, 2) h
               JOIN unnest($2::timestamptz[], $3::text[], $4::text[]) AS l(hour_start, start_label, end_label) ON l.hour_start = h.hour_start`,
              [recomputed, hours, hours.map(localLabel), hours.map((h) => localLabel(new Date(h.getTime() + MS_PER_HOUR)))],
            );
          }
          await client.query(
            `INSERT INTO ${CONSUMPTION_DAILY_TABLE} (gsrn, day, quantity, hours, day_hours, estimated, missing, start_label, end_label)
             SELECT h.gsrn, d.day, sum(h.quantity), count(*), d.day_hours, bool_or(h.estimated), bool_or(h.missing) OR count(*) < d.day_hours, d.start_label, d.end_label
               FROM ${CONSUMPTION_HOURLY_TABLE} h
               JOIN unnest($2::timestamptz[], $3::date[]) AS l(hour_start, day) ON l.hour_start = h.hour_start
               JOIN unnest($4::date[], $5::int[], $6::text[], $7::text[]) AS d(day, day_hours, start_label, end_label) ON d.day = l.day
              WHERE h.gsrn = ANY($1::text[])
              GROUP BY h.gsrn, d.day, d.day_hours, d.start_label, d.end_label`,
            [chunk, hours, hourDays, days, days.map(localDayHours), days.map((d) => localLabel(localDayStart(d))), days.map((d) => localLabel(localDayEnd(d)))],
          );
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
          if (unusual.length === 0) return;
          await client.query(
            `INSERT INTO ${CONSUMPTION_ANOMALIES_TABLE} (gsrn, day, quantity, baseline_median, baseline_days)
             SELECT g, day, quantity::numeric, median::numeric, n FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::int[]) AS t(g, day, quantity, median, n)`,
            [unusual.map((u) => u.gsrn), unusual.map((u) => u.day), unusual.map((u) => u.quantity), unusual.map((u) => u.median), unusual.map((u) => u.baselineDays)],
          );
        });
      }
    },
  };
}


/** What `apply` takes from one `ValidatedMeasureDataReceived` (null: not one it can use). */
interface MeasureDocument {
  gsrn: string;
  resolution: string;
  start: Date;
  end: Date;
  starts: Date[];
  ends: Date[];
  quantities: (string | null)[];
  qualities: (string | null)[];
  documentId: string | null;
  seriesId: string | null;
  consumption: boolean;
}

function documentOf(event: ProjectedEvent): MeasureDocument | null {
  if (event.type !== 'ValidatedMeasureDataReceived') return null;
  const d = event.data;
  const gsrn = typeof d.gsrn === 'string' ? d.gsrn : null;
  const resolution = typeof d.resolution === 'string' ? d.resolution : '';
  const minutes = RESOLUTION_MINUTES[resolution];
  const start = instantOf(d.start);
  const end = instantOf(d.end);
  if (!gsrn || minutes === undefined || !start || !end || end.getTime() <= start.getTime()) return null;
  const stepMs = minutes * 60_000;
  const doc: MeasureDocument = {
    gsrn,
    resolution,
    start,
    end,
    starts: [],
    ends: [],
    quantities: [],
    qualities: [],
    documentId: typeof d.documentId === 'string' ? d.documentId : null,
    seriesId: typeof d.seriesId === 'string' ? d.seriesId : null,
    consumption: d.meteringPointType === CONSUMPTION_TYPE,
  };
  for (const p of pointsOf(d)) {
    const t = start.getTime() + (p.position - 1) * stepMs;
    if (t + stepMs > end.getTime()) continue;
    doc.starts.push(new Date(t));
    doc.ends.push(new Date(t + stepMs));
    doc.quantities.push(p.quality === QUALITY_MISSING ? null : p.quantity);
    doc.qualities.push(p.quality);
  }
  return doc;
}

/** Whole UTC hours covering the document and the values it superseded. */
function affectedWindow(doc: MeasureDocument, first: Date | null, last: Date | null): { from: Date; to: Date } {
  return {
    from: new Date(Math.floor(Math.min(doc.start.getTime(), first?.getTime() ?? Infinity) / MS_PER_HOUR) * MS_PER_HOUR),
    to: new Date(Math.ceil(Math.max(doc.end.getTime(), last?.getTime() ?? -Infinity) / MS_PER_HOUR) * MS_PER_HOUR),
  };
}

/** One round of `applyBatch`: documents of distinct metering points, each step one statement for all. */
async function applyRound(client: PoolClient, docs: MeasureDocument[]): Promise<void> {
  if (docs.length === 1) {
    await applyDocument(client, docs[0]);
    return;
  }
  const removed = await client.query<{ gsrn: string; first: Date; last: Date }>(
    `WITH d AS (SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS d(gsrn, s, e)),
     gone AS (DELETE FROM ${CONSUMPTION_VALUES_TABLE} v USING d WHERE v.gsrn = d.gsrn AND v.interval_start < d.e AND v.interval_end > d.s
              RETURNING v.gsrn, v.interval_start, v.interval_end)
     SELECT gsrn, min(interval_start) AS first, max(interval_end) AS last FROM gone GROUP BY gsrn`,
    [docs.map((d) => d.gsrn), docs.map((d) => d.start), docs.map((d) => d.end)],
  );
  const flat = { gsrn: [] as string[], resolution: [] as string[], s: [] as Date[], e: [] as Date[], q: [] as (string | null)[], ql: [] as (string | null)[], doc: [] as (string | null)[], series: [] as (string | null)[] };
  for (const d of docs) {
    for (let i = 0; i < d.starts.length; i++) {
      flat.gsrn.push(d.gsrn);
      flat.resolution.push(d.resolution);
      flat.s.push(d.starts[i]);
      flat.e.push(d.ends[i]);
      flat.q.push(d.quantities[i]);
      flat.ql.push(d.qualities[i]);
      flat.doc.push(d.documentId);
      flat.series.push(d.seriesId);
    }
  }
  await client.query(
    `INSERT INTO ${CONSUMPTION_VALUES_TABLE} (gsrn, interval_start, interval_end, resolution, quantity, quality, document_id, series_id)
     SELECT g, s, e, r, q::numeric, ql, doc, series
       FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[]) AS t(g, r, s, e, q, ql, doc, series)
     ON CONFLICT (gsrn, interval_start) DO UPDATE SET interval_end = EXCLUDED.interval_end, resolution = EXCLUDED.resolution, quantity = EXCLUDED.quantity,
       quality = EXCLUDED.quality, document_id = EXCLUDED.document_id, series_id = EXCLUDED.series_id`,
    [flat.gsrn, flat.resolution, flat.s, flat.e, flat.q, flat.ql, flat.doc, flat.series],
  );

  const gone = new Map(removed.rows.map((r) => [r.gsrn, r]));
  const windows = docs.map((d) => {
    const window = affectedWindow(d, gone.get(d.gsrn)?.first ?? null, gone.get(d.gsrn)?.last ?? null);
    return { doc: d, ...window, days: localDatesOf(window.from, window.to) };
  });

  // Hours.
  const gs = windows.map((w) => w.doc.gsrn);
  await client.query(
    `DELETE FROM ${CONSUMPTION_HOURLY_TABLE} h USING unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS w(gsrn, f, t)
      WHERE h.gsrn = w.gsrn AND h.hour_start >= w.f AND h.hour_start < w.t`,
    [gs, windows.map((w) => w.from), windows.map((w) => w.to)],
  );
  const hourSet = new Map<number, Date>();
  for (const w of windows) for (let t = w.from.getTime(); t < w.to.getTime(); t += MS_PER_HOUR) hourSet.set(t, new Date(t));
  const hours = [...hourSet.values()];
  const minutes = `sum(CASE WHEN v.quantity IS NULL THEN 0 ELSE extract(epoch FROM v.interval_end - v.interval_start)::int / 60 END)`;
  await client.query(
    `INSERT INTO ${CONSUMPTION_HOURLY_TABLE} (gsrn, hour_start, quantity, covered_minutes, estimated, missing, start_label, end_label)
     SELECT h.*, l.start_label, l.end_label FROM (
       SELECT v.gsrn, date_trunc('hour', v.interval_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour_start, coalesce(sum(v.quantity), 0) AS quantity,
         ${minutes} AS covered_minutes, coalesce(bool_or(v.quality = '${QUALITY_ESTIMATED}'), false) AS estimated, bool_or(v.quantity IS NULL) OR ${minutes} < 60 AS missing
       FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS w(gsrn, f, t)
       JOIN ${CONSUMPTION_VALUES_TABLE} v ON v.gsrn = w.gsrn AND v.interval_start >= w.f AND v.interval_start < w.t
       GROUP BY 1, 2) h
     JOIN unnest($4::timestamptz[], $5::text[], $6::text[]) AS l(hour_start, start_label, end_label) ON l.hour_start = h.hour_start`,
    [gs, windows.map((w) => w.from), windows.map((w) => w.to), hours, hours.map(localLabel), hours.map((h) => localLabel(new Date(h.getTime() + MS_PER_HOUR)))],
  );

  // Days.
  const dayRows = windows.flatMap((w) => w.days.map((day) => ({ gsrn: w.doc.gsrn, day })));
  await client.query(
    `DELETE FROM ${CONSUMPTION_DAILY_TABLE} d USING unnest($1::text[], $2::date[]) AS w(gsrn, day) WHERE d.gsrn = w.gsrn AND d.day = w.day`,
    [dayRows.map((r) => r.gsrn), dayRows.map((r) => r.day)],
  );
  await client.query(
    `INSERT INTO ${CONSUMPTION_DAILY_TABLE} (gsrn, day, quantity, hours, day_hours, estimated, missing, start_label, end_label)
     SELECT d.gsrn, d.day, sum(h.quantity), count(*), d.day_hours, bool_or(h.estimated), bool_or(h.missing) OR count(*) < d.day_hours, d.start_label, d.end_label
     FROM unnest($1::text[], $2::date[], $3::timestamptz[], $4::timestamptz[], $5::int[], $6::text[], $7::text[]) AS d(gsrn, day, s, e, day_hours, start_label, end_label)
     JOIN ${CONSUMPTION_HOURLY_TABLE} h ON h.gsrn = d.gsrn AND h.hour_start >= d.s AND h.hour_start < d.e
     GROUP BY d.gsrn, d.day, d.day_hours, d.start_label, d.end_label`,
    [
      dayRows.map((r) => r.gsrn),
      dayRows.map((r) => r.day),
      dayRows.map((r) => localDayStart(r.day)),
      dayRows.map((r) => localDayEnd(r.day)),
      dayRows.map((r) => localDayHours(r.day)),
      dayRows.map((r) => localLabel(localDayStart(r.day))),
      dayRows.map((r) => localLabel(localDayEnd(r.day))),
    ],
  );

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
  const anomalyWindows = windows.filter((w) => w.doc.consumption).map((w) => ({ gsrn: w.doc.gsrn, from: w.days[0], to: w.days[w.days.length - 1], until: addDays(w.days[w.days.length - 1], ANOMALY_BASELINE_DAYS) }));
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
  if (unusual.length === 0) return;
  await client.query(
    `INSERT INTO ${CONSUMPTION_ANOMALIES_TABLE} (gsrn, day, quantity, baseline_median, baseline_days)
     SELECT g, day, quantity::numeric, median::numeric, n FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::int[]) AS t(g, day, quantity, median, n)`,
    [unusual.map((u) => u.gsrn), unusual.map((u) => u.day), unusual.map((u) => u.quantity), unusual.map((u) => u.median), unusual.map((u) => u.baselineDays)],
  );
}

/** One document: supersede the values it overlaps, store its own, recompute the buckets above them. */
async function applyDocument(client: PoolClient, doc: MeasureDocument): Promise<void> {
  const { gsrn, start, end } = doc;

  // Supersede: every stored value overlapping the document's interval goes.
  const removed = await client.query<{ first: Date | null; last: Date | null }>(
    `WITH gone AS (DELETE FROM ${CONSUMPTION_VALUES_TABLE} WHERE gsrn = $1 AND interval_start < $3 AND interval_end > $2 RETURNING interval_start, interval_end)
     SELECT min(interval_start) AS first, max(interval_end) AS last FROM gone`,
    [gsrn, start, end],
  );
  await client.query(
    `INSERT INTO ${CONSUMPTION_VALUES_TABLE} (gsrn, interval_start, interval_end, resolution, quantity, quality, document_id, series_id)
     SELECT $1, s, e, $2, q::numeric, ql, $7, $8 FROM unnest($3::timestamptz[], $4::timestamptz[], $5::text[], $6::text[]) AS t(s, e, q, ql)
     ON CONFLICT (gsrn, interval_start) DO UPDATE SET interval_end = EXCLUDED.interval_end, resolution = EXCLUDED.resolution, quantity = EXCLUDED.quantity,
       quality = EXCLUDED.quality, document_id = EXCLUDED.document_id, series_id = EXCLUDED.series_id`,
    [gsrn, doc.resolution, doc.starts, doc.ends, doc.quantities, doc.qualities, doc.documentId, doc.seriesId],
  );

  const window = affectedWindow(doc, removed.rows[0]?.first ?? null, removed.rows[0]?.last ?? null);
  const days = localDatesOf(window.from, window.to);
  await recomputeHours(client, gsrn, window.from, window.to);
  await recomputeDays(client, gsrn, days);
  await recomputeMonths(client, gsrn, days);
  if (doc.consumption) await recomputeAnomalies(client, gsrn, days[0], days[days.length - 1]);
}

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

function nextMonth(month: string): string {
  const c = parseLocalDate(month);
  return c.month === 12 ? `${c.year + 1}-01-01` : `${c.year}-${String(c.month + 1).padStart(2, '0')}-01`;
}

function monthLength(month: string): number {
  const c = parseLocalDate(month);
  return daysInLocalMonth(c.year, c.month);
}

async function recomputeMonths(client: PoolClient, gsrn: string, days: LocalDate[]): Promise<void> {
  const months = [...new Set(days.map((d) => `${d.slice(0, 7)}-01`))];
  await client.query(`DELETE FROM ${CONSUMPTION_MONTHLY_TABLE} WHERE gsrn = $1 AND month = ANY($2::date[])`, [gsrn, months]);
  await client.query(
    `INSERT INTO ${CONSUMPTION_MONTHLY_TABLE} (gsrn, month, quantity, days, month_days, estimated, missing)
     SELECT $1, m.month, sum(d.quantity), count(*), m.month_days, bool_or(d.estimated), bool_or(d.missing) OR count(*) < m.month_days
     FROM unnest($2::date[], $3::date[], $4::int[]) AS m(month, next, month_days)
     JOIN ${CONSUMPTION_DAILY_TABLE} d ON d.gsrn = $1 AND d.day >= m.month AND d.day < m.next
     GROUP BY m.month, m.month_days`,
    [gsrn, months, months.map(nextMonth), months.map(monthLength)],
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
