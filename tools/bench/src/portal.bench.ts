import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { SignJWT } from 'jose';
import { Pool } from 'pg';
import { migrateAuth } from '@dh/auth';
import { addDays, localDayHours, localDayStart, type LocalDate } from '@dh/dk-time';
import { gsrnCheckDigit } from '@dh/market-ids';
import { parseDecimal } from '@dh/money';
import { startServiceProcess, type ServiceProcess } from '@dh/platform';
import {
  CONSUMPTION_DAILY_TABLE,
  CONSUMPTION_HOURS_TABLE,
  consumptionProjection,
  dayValueJsonSql,
  hourElementsSql,
  fillHourParts,
  hourValueJsonSql,
  METERING_POINTS_TABLE,
  meteringPointsProjection,
  migrateReadModels,
  type Projection,
} from '@dh/read-models';
import { createBenchDatabase, createBenchVhost, type Cleanup } from './infra';
import { delay, fmt, log, median, msSince, now, result, type BenchResult } from './measure';
import { processCpuMs } from './process-cpu';

/**
 * Portal load (issues 5 and 10). A private database and vhost; a year (2025) of hourly consumption for
 * one template customer's metering point projected into the consumption read models by the projection
 * code itself (one `ValidatedMeasureDataReceived` per local day, as DataHub sends them), then copied in
 * SQL to N customers (their own GSRN and customer id, quantities shifted by n × 0.001 kWh): every day of
 * 2025 and the hours of 1 October – 10 November. The gateway runs as its own process from `dist/`
 * (`RATE_LIMITS=off`); autocannon in this process drives, one after another on the same server, the bare
 * `GET /health/live` (baseline: Nest routing, guard, interceptors, no database), then day × year and
 * hour × month where every request is a random customer (with that customer's own JWT) and a random range
 * (a year of days from one of 60 start days, 31 days of hours from one of 11), so no two consecutive
 * requests share a URL and no cache could serve them. Every response must be 2xx. Every request sends
 * `Accept-Encoding: gzip, deflate, br` as browsers do (`BENCH_PORTAL_ACCEPT_ENCODING`), so hours come gzip-encoded from
 * the days' deflate parts (the copied customers' parts made by `fillHourParts`, as the projections service does). Run at each size of
 * `BENCH_PORTAL_CUSTOMERS` (default 1,000 and 4,000) to show the cost does not grow with the portfolio.
 */

const CONNECTIONS = Number(process.env.BENCH_PORTAL_CONNECTIONS ?? 20);
const SIZES = (process.env.BENCH_PORTAL_CUSTOMERS ?? '1000,4000').split(',').map(Number);
/** Requests per endpoint and size, each to the next customer of a shuffled round (so ≥ 1,000 different customers and URLs). */
const REQUESTS = Number(process.env.BENCH_PORTAL_REQUESTS ?? 2000);
/** Days of the hour view's window seeded per customer (1 October – 10 November 2025). */
const HOUR_WINDOW_FROM = '2025-10-01';
const HOUR_WINDOW_DAYS = 41;
const DAY_RANGE_STARTS = 60;
const HOUR_RANGE_STARTS = 11;
const WARMUP_REQUESTS = 200;
/**
 * Measurements (baseline, day, hour) per gateway and size; each figure is the median over them. One round's p99 is
 * the 20th slowest of 2,000 requests on two shared cores: it moves 1.4–5× between rounds minutes apart with nothing
 * changed (docs/benchmarks.md, "Portal load"), so one round cannot decide the target; default 5.
 */
const ROUNDS = Number(process.env.BENCH_PORTAL_ROUNDS ?? 5);
/**
 * Another checkout (its `dist/`, `register-paths.js`, `tsconfig.base.json` and `node_modules`, e.g. a copy of an
 * earlier build): a second gateway runs from it on the same database and takes turns with this build's.
 */
const COMPARE_ROOT = process.env.BENCH_PORTAL_COMPARE_ROOT;
/** A directory: each gateway writes a V8 CPU profile there (`gateway-<pid>.cpuprofile`) after the loads. */
const PROFILE_DIR = process.env.BENCH_PORTAL_PROFILE_DIR;
/**
 * Node options for the compare gateway only, added to its `NODE_OPTIONS` (e.g. `--max-semi-space-size=64`): two
 * settings of one build side by side (`BENCH_PORTAL_COMPARE_ROOT` may be this checkout).
 */
const COMPARE_NODE_OPTIONS = process.env.BENCH_PORTAL_COMPARE_NODE_OPTIONS;
/** The `Accept-Encoding` every request sends, as a browser does (default `gzip, deflate, br`; empty: none, i.e. identity). */
const ACCEPT_ENCODING = process.env.BENCH_PORTAL_ACCEPT_ENCODING ?? 'gzip, deflate, br';
/**
 * After copying the customers: `VACUUM (ANALYZE)` of the copied tables and a `CHECKPOINT` before measuring (default);
 * `BENCH_PORTAL_SETTLE=0`: only `ANALYZE`, as before 2026-12-06 (the measured loads then also pay the copy's write-back).
 */
const SETTLE = process.env.BENCH_PORTAL_SETTLE !== '0';
const YEAR_FROM = '2025-01-01';
const YEAR_TO = '2025-12-31';
const MONTH_FROM = '2025-10-01';
const MONTH_TO = '2025-10-31';
/** 571313180400000028 is a valid GSRN (GS1 check digit). */
const GSRN = '571313180400000028';
const ISSUER = { issuer: 'https://portal.bench/login', audience: 'datahub-core-portal' };

function hourlyQuantity(day: number, hour: number): string {
  const wh = 150 + ((day * 53 + hour * 97) % 850);
  return `0.${String(wh).padStart(3, '0')}`;
}

async function project(pool: Pool, projection: Projection, events: Array<{ type: string; data: Record<string, unknown> }>, seq: { n: number }): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    for (const event of events) {
      seq.n++;
      await projection.apply(
        { eventId: randomUUID(), type: event.type, streamId: `bench-portal-${seq.n}`, streamRevision: 0n, checkpoint: `1:${seq.n}`, recordedAt: new Date(), data: event.data },
        client,
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** The customer's metering point and supply from 2025-01-01, then a year of hourly values, one event per local day. */
async function seed(pool: Pool, customerId: string): Promise<{ days: number; values: number }> {
  const seq = { n: 0 };
  await migrateReadModels(pool, [meteringPointsProjection, consumptionProjection]);
  await project(
    pool,
    meteringPointsProjection,
    [
      { type: 'MeteringPointRegistered', data: { gsrn: GSRN, type: 'E17', settlementMethod: 'D01', gridArea: '791', priceArea: 'DK1' } },
      { type: 'SupplyStarted', data: { gsrn: GSRN, customerId, startDate: YEAR_FROM, productId: 'flex', billingFrequency: 'quarterly', paymentModel: 'aconto', gridArea: '791' } },
    ],
    seq,
  );
  let days = 0;
  let values = 0;
  let batch: Array<{ type: string; data: Record<string, unknown> }> = [];
  for (let date: LocalDate = YEAR_FROM; date <= YEAR_TO; date = addDays(date, 1)) {
    const hours = localDayHours(date);
    const start = localDayStart(date);
    batch.push({
      type: 'ValidatedMeasureDataReceived',
      data: {
        documentId: `bench-doc-${date}`,
        seriesId: `bench-series-${date}`,
        gsrn: GSRN,
        meteringPointType: 'E17',
        resolution: 'PT1H',
        start: start.toISOString(),
        end: localDayStart(addDays(date, 1)).toISOString(),
        points: Array.from({ length: hours }, (_, i) => ({ position: i + 1, quantity: hourlyQuantity(days, i), quality: i === 5 && days % 30 === 0 ? 'A03' : null })),
      },
    });
    days++;
    values += hours;
    if (batch.length === 31) {
      await project(pool, consumptionProjection, batch, seq);
      batch = [];
    }
  }
  if (batch.length > 0) await project(pool, consumptionProjection, batch, seq);
  return { days, values };
}

async function customerToken(secret: string, customerId: string): Promise<string> {
  return new SignJWT({ customer_id: customerId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER.issuer)
    .setAudience(ISSUER.audience)
    .setSubject(`bench-customer-${customerId}`)
    .setIssuedAt()
    .setExpirationTime('30m')
    .sign(new TextEncoder().encode(secret));
}

interface LoadFigures {
  label: string;
  p50: number;
  p99: number;
  requestsPerSecond: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  bytesPerResponse: number;
  /** Different customers and URLs the requests went to. */
  customers: number;
  urls: number;
  /** CPU time per request (ms): the gateway process, the database's backends, this process (autocannon). */
  cpu: { gateway: number; postgres: number; bench: number };
  /** Blocks of the read models per request read from outside shared_buffers and found in them; checkpoints and buffer writes during the load (cluster-wide). */
  storage: StorageCounters;
}

/** Counters of the database server (see {@link Servers.storage}). */
interface StorageCounters {
  read: number;
  hit: number;
  checkpoints: number;
  checkpointWrites: number;
  backendWrites: number;
}

interface Customer {
  gsrn: string;
  customerId: string;
  authorization: string;
}

/** CPU time (user + system, ms) the processes used so far, from /proc (0 for a process that is gone, or off Linux). */
function cpuMs(pids: readonly number[]): number {
  let ms = 0;
  for (const pid of pids) ms += processCpuMs(pid) ?? 0;
  return ms;
}

/** The server processes one load runs against: the gateway, and the database backends serving the benchmark's database. */
interface Servers {
  gatewayPid: number;
  postgresPids(): Promise<number[]>;
  /**
   * The bench database's read-model blocks read from outside shared_buffers (`read`) and found there (`hit`), heap,
   * index and TOAST; the cluster's checkpoints and the buffers written by the checkpointer and by backends (evicting
   * dirty pages in the request path). PostgreSQL publishes a backend's counts within about a second, so a load's figures may lag a little.
   */
  storage(): Promise<StorageCounters>;
}

const STORAGE_SQL = `SELECT s.read::float8 AS read, s.hit::float8 AS hit, (b.checkpoints_timed + b.checkpoints_req)::float8 AS checkpoints,
    b.buffers_checkpoint::float8 AS "checkpointWrites", b.buffers_backend::float8 AS "backendWrites"
  FROM (SELECT coalesce(sum(heap_blks_read + coalesce(idx_blks_read, 0) + coalesce(toast_blks_read, 0) + coalesce(tidx_blks_read, 0)), 0) AS read,
               coalesce(sum(heap_blks_hit + coalesce(idx_blks_hit, 0) + coalesce(toast_blks_hit, 0) + coalesce(tidx_blks_hit, 0)), 0) AS hit
          FROM pg_statio_user_tables WHERE schemaname = 'read_models') s, pg_stat_bgwriter b`;

/** `pick` chooses each request's path and customer; its distinct customers and paths are counted. */
async function load(label: string, base: string, servers: Servers, amount: number, pick: () => { path: string; customer: Customer | null }): Promise<LoadFigures> {
  const customers = new Set<string>();
  const urls = new Set<string>();
  const pgPids = await servers.postgresPids();
  const storageBefore = await servers.storage();
  const before = { gateway: cpuMs([servers.gatewayPid]), postgres: new Map(pgPids.map((pid) => [pid, cpuMs([pid])])), bench: process.cpuUsage() };
  const r = await autocannon({
    url: base,
    connections: CONNECTIONS,
    amount,
    timeout: 10,
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => {
          const { path, customer } = pick();
          urls.add(path);
          if (customer) customers.add(customer.customerId);
          return { ...request, path, headers: { ...request.headers, ...(ACCEPT_ENCODING === '' ? {} : { 'accept-encoding': ACCEPT_ENCODING }), ...(customer ? { authorization: customer.authorization } : {}) } };
        },
      },
    ],
  });
  const pgAfter = await servers.postgresPids();
  const storageAfter = await servers.storage();
  const bench = process.cpuUsage(before.bench);
  const n = Math.max(1, r.requests.total);
  const cpu = {
    gateway: (cpuMs([servers.gatewayPid]) - before.gateway) / n,
    // Per backend (one opened during the load counts from 0; one closed during it is lost).
    postgres: pgAfter.reduce((sum, pid) => sum + cpuMs([pid]) - (before.postgres.get(pid) ?? 0), 0) / n,
    bench: (bench.user + bench.system) / 1000 / n,
  };
  const perRequest = (key: 'read' | 'hit') => (storageAfter[key] - storageBefore[key]) / n;
  const storage = {
    read: perRequest('read'),
    hit: perRequest('hit'),
    checkpoints: storageAfter.checkpoints - storageBefore.checkpoints,
    checkpointWrites: storageAfter.checkpointWrites - storageBefore.checkpointWrites,
    backendWrites: storageAfter.backendWrites - storageBefore.backendWrites,
  };
  return {
    cpu,
    storage,
    label,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requestsPerSecond: r['2xx'] / r.duration,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    bytesPerResponse: r.requests.total > 0 ? r.throughput.total / r.requests.total : Number.NaN,
    customers: customers.size,
    urls: urls.size,
  };
}

/** One check of a body before the load: the values the read models hold, the total their exact sum. */
async function checkBody(url: string, authorization: string, expectedValues: number): Promise<number> {
  const res = await fetch(url, { headers: { authorization } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { values?: { quantity_kwh: string }[]; total_kwh?: string };
  const values = body.values ?? [];
  if (values.length !== expectedValues) throw new Error(`GET ${url}: ${values.length} values, expected ${expectedValues}`);
  const sum = values.reduce((acc, v) => acc.plus(parseDecimal(v.quantity_kwh)), parseDecimal('0'));
  if (body.total_kwh === undefined || !sum.eq(parseDecimal(body.total_kwh))) throw new Error(`GET ${url}: total_kwh ${body.total_kwh} is not the exact sum ${sum.toFixed()}`);
  return text.length;
}

/** The i-th bench GSRN: 5713131900 + 7 digits + the GS1 check digit. */
function benchGsrn(i: number): string {
  const body = `5713131900${String(i).padStart(7, '0')}`;
  return `${body}${gsrnCheckDigit(body)}`;
}

/**
 * Copies the template customer's read-model rows to customers [from, to): their metering point, every
 * day and the hour window, with quantities shifted by (n mod 97) × 0.001 kWh; in SQL, in batches.
 */
async function cloneCustomers(pool: Pool, template: Customer, customers: readonly Customer[], from: number): Promise<void> {
  // Small statements: a long write transaction would hold back every event-store reader on the cluster.
  for (let start = from; start < customers.length; start += 20) {
    const batch = customers.slice(start, Math.min(customers.length, start + 20));
    const gsrns = batch.map((c) => c.gsrn);
    const ids = batch.map((c) => c.customerId);
    const shifts = batch.map((_, k) => (start + k) % 97);
    await pool.query(
      `INSERT INTO ${METERING_POINTS_TABLE}
       SELECT (jsonb_populate_record(NULL::${METERING_POINTS_TABLE}, to_jsonb(t) || jsonb_build_object('gsrn', x.gsrn, 'customer_id', x.customer_id))).*
       FROM ${METERING_POINTS_TABLE} t, unnest($2::text[], $3::text[]) AS x(gsrn, customer_id) WHERE t.gsrn = $1`,
      [template.gsrn, gsrns, ids],
    );
    // The days, each day's JSON made again with its shifted quantity as the projection makes it (`dayValueJsonSql`).
    await pool.query(
      `INSERT INTO ${CONSUMPTION_DAILY_TABLE} (gsrn, quantity, day, hours, day_hours, estimated, missing, start_label, end_label, day_json)
       SELECT x.gsrn, t.quantity + x.shift * 0.001, t.day, t.hours, t.day_hours, t.estimated, t.missing, t.start_label, t.end_label,
              ${dayValueJsonSql(`to_char(t.day, 'YYYY-MM-DD')`, 't.start_label', 't.end_label', 't.day_hours', 't.quantity + x.shift * 0.001', 't.estimated', 't.missing')}
       FROM ${CONSUMPTION_DAILY_TABLE} t, unnest($2::text[], $3::int[]) AS x(gsrn, shift) WHERE t.gsrn = $1`,
      [template.gsrn, gsrns, shifts],
    );
    // The hours' day rows of the window, each hour shifted, their JSON, Σ and flags made again as the projection makes
    // them (`hourValueJsonSql`) from the template's JSON elements (days-v6: the hours' only copy).
    await pool.query(
      `INSERT INTO ${CONSUMPTION_HOURS_TABLE} (gsrn, day, day_start, hours_json, total, any_estimated, any_missing)
       SELECT x.gsrn, t.day, t.day_start, s.hours_json, s.total, t.any_estimated, t.any_missing
       FROM ${CONSUMPTION_HOURS_TABLE} t, unnest($2::text[], $3::int[]) AS x(gsrn, shift),
         LATERAL (SELECT sum(u.q) AS total,
                         string_agg(${hourValueJsonSql('u.s', 'u.e', 'u.q', 'u.est', 'u.m')}, ',' ORDER BY u.i) AS hours_json
                    FROM (SELECT j.e->>'start' AS s, j.e->>'end' AS e, (j.e->>'quantity_kwh')::numeric + x.shift * 0.001 AS q,
                                 (j.e->>'estimated')::boolean AS est, (j.e->>'missing')::boolean AS m, j.i
                            FROM ${hourElementsSql('t', 'j')}) u) s
       WHERE t.gsrn = $1 AND t.day >= $4 AND t.day < $5`,
      [template.gsrn, gsrns, shifts, HOUR_WINDOW_FROM, addDays(HOUR_WINDOW_FROM, HOUR_WINDOW_DAYS)],
    );
  }
  // Each copied day's deflate part, as the projections service's filler makes them behind the projection (its cost
  // per day row printed: it should not grow with the rows already filled).
  const fillStart = now();
  let parts = 0;
  for (let made = await fillHourParts(pool); made > 0; made = await fillHourParts(pool)) parts += made;
  log(`  the filler made ${parts.toLocaleString('en-US')} hour parts in ${fmt(msSince(fillStart), 'ms')} (${fmt((msSince(fillStart) * 1000) / Math.max(1, parts), 'µs')} per day row, batches of 500, one connection)`);
  if (SETTLE) {
    // What a deployment's autovacuum does after such a load (this server runs with autovacuum off): hint bits and the
    // visibility map set once, not by the measured requests; then a checkpoint, so the write-back of the copy (hundreds
    // of MiB at 4,000 customers) is not spread over the measured loads (see docs/benchmarks.md, 2026-12-06 08:00).
    await pool.query(`VACUUM (ANALYZE) ${METERING_POINTS_TABLE}, ${CONSUMPTION_DAILY_TABLE}, ${CONSUMPTION_HOURS_TABLE}`);
    await pool.query('CHECKPOINT');
  } else {
    await pool.query(`ANALYZE ${METERING_POINTS_TABLE}; ANALYZE ${CONSUMPTION_DAILY_TABLE}; ANALYZE ${CONSUMPTION_HOURS_TABLE}`);
  }
}

/** Every customer once in a random order, then again in another. */
function rounds<T>(items: readonly T[]): () => T {
  let order: T[] = [];
  return () => {
    if (order.length === 0) {
      order = [...items];
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }
    return order.pop()!;
  };
}

interface Gateway {
  /** `this build`, or `compare` for the gateway run from `BENCH_PORTAL_COMPARE_ROOT`. */
  label: string;
  url: string;
  servers: Servers;
}

function logFigures(f: LoadFigures): void {
  log(
    `      ${f.label.padEnd(28)} p50 ${fmt(f.p50, 'ms')}, p99 ${fmt(f.p99, 'ms')}, ${fmt(f.requestsPerSecond, 'req/s')} ` +
      `(${f.requests.toLocaleString('en-US')} requests to ${f.customers.toLocaleString('en-US')} customers, ${f.urls.toLocaleString('en-US')} URLs, ` +
      `${(f.bytesPerResponse / 1024).toFixed(1)} KiB each; non-2xx ${f.non2xx}, errors ${f.errors}, timeouts ${f.timeouts}); ` +
      `CPU per request: gateway ${f.cpu.gateway.toFixed(3)} ms, PostgreSQL ${f.cpu.postgres.toFixed(3)} ms, autocannon ${f.cpu.bench.toFixed(3)} ms; ` +
      `read-model blocks per request: ${f.storage.read.toFixed(1)} read into shared_buffers, ${f.storage.hit.toFixed(1)} hit; ` +
      `during the load (cluster): ${f.storage.checkpoints} checkpoint(s), buffers written by the checkpointer ${f.storage.checkpointWrites}, by backends ${f.storage.backendWrites}`,
  );
}

async function measureSize(gateways: readonly Gateway[], customers: readonly Customer[], size: number): Promise<BenchResult[]> {
  const population = customers.slice(0, size);
  // Each run of an endpoint goes through the customers in its own shuffled rounds.
  const dayYear = (nextCustomer = rounds(population)) => () => {
    const customer = nextCustomer();
    const from = addDays(YEAR_FROM, Math.floor(Math.random() * DAY_RANGE_STARTS));
    return { customer, path: `/api/portal/consumption?gsrn=${customer.gsrn}&resolution=day&from=${from}&to=${YEAR_TO}` };
  };
  const hourMonth = (nextCustomer = rounds(population)) => () => {
    const customer = nextCustomer();
    const from = addDays(HOUR_WINDOW_FROM, Math.floor(Math.random() * HOUR_RANGE_STARTS));
    return { customer, path: `/api/portal/consumption?gsrn=${customer.gsrn}&resolution=hour&from=${from}&to=${addDays(from, 30)}` };
  };
  const live = () => ({ customer: null, path: '/health/live' });
  for (const gateway of gateways) for (const pick of [live, dayYear(), hourMonth()]) await load('warm-up', gateway.url, gateway.servers, WARMUP_REQUESTS, pick);
  const runs = new Map<string, [LoadFigures, LoadFigures, LoadFigures][]>(gateways.map((g) => [g.label, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // With two gateways, they take turns (ABBA…), each measured as a whole (baseline, day, hour) in the same window.
    const order = round % 2 === 0 ? gateways : [...gateways].reverse();
    for (const gateway of order) {
      const figures = [
        await load('GET /health/live', gateway.url, gateway.servers, REQUESTS, live),
        await load('consumption day × 1 year', gateway.url, gateway.servers, REQUESTS, dayYear()),
        await load('consumption hour × 1 month', gateway.url, gateway.servers, REQUESTS, hourMonth()),
      ] as [LoadFigures, LoadFigures, LoadFigures];
      const [baseline, day, hour] = figures;
      log(
        `  ${size.toLocaleString('en-US')} customers, ${gateway.label}${ROUNDS > 1 ? `, round ${round + 1}/${ROUNDS}` : ''} (load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}): ` +
          `p99 ratios day × year ${(day.p99 / baseline.p99).toFixed(2)}×, hour × month ${(hour.p99 / baseline.p99).toFixed(2)}×`,
      );
      for (const f of figures) logFigures(f);
      const bad = figures.filter((f) => f.non2xx > 0 || f.errors > 0 || f.timeouts > 0);
      if (bad.length > 0) throw new Error(`not every response was 2xx: ${bad.map((f) => `${f.label}: non-2xx ${f.non2xx}, errors ${f.errors}, timeouts ${f.timeouts}`).join('; ')}`);
      for (const f of [day, hour]) {
        if (f.customers < Math.min(1000, size) || f.urls < 1000) throw new Error(`${f.label}: only ${f.customers} customers and ${f.urls} URLs; the bench needs at least 1,000 of each`);
      }
      runs.get(gateway.label)!.push(figures);
    }
  }
  const label = `/health/live, ${CONNECTIONS} conn`;
  const out: BenchResult[] = [];
  for (const gateway of gateways) {
    const measured = runs.get(gateway.label)!;
    // Over several rounds: the median of each figure.
    const m = (i: 0 | 1 | 2, key: 'p50' | 'p99' | 'requestsPerSecond') => median(measured.map((f) => f[i][key]));
    const n = `${size.toLocaleString('en-US')} cust.${gateways.length > 1 ? `, ${gateway.label}` : ''}`;
    if (measured.length > 1) {
      const ratios = (i: 1 | 2) => measured.map((f) => f[i].p99 / f[0].p99);
      const spread = (i: 1 | 2) => `${ratios(i).map((r) => `${r.toFixed(2)}×`).join(' / ')} (median ${median(ratios(i)).toFixed(2)}×)`;
      log(`  ${n}, p99 ratio per round: day × year ${spread(1)}, hour × month ${spread(2)}; the summary divides the medians of the p99s`);
    }
    out.push(
      result(`portal day×year p50, ${n}`, m(1, 'p50'), m(0, 'p50'), 'ms', false, label),
      result(`portal day×year p99, ${n}`, m(1, 'p99'), m(0, 'p99'), 'ms', false, label),
      result(`portal day×year throughput, ${n}`, m(1, 'requestsPerSecond'), m(0, 'requestsPerSecond'), 'req/s', true, label),
      result(`portal hour×month p50, ${n}`, m(2, 'p50'), m(0, 'p50'), 'ms', false, label),
      result(`portal hour×month p99, ${n}`, m(2, 'p99'), m(0, 'p99'), 'ms', false, label),
      result(`portal hour×month throughput, ${n}`, m(2, 'requestsPerSecond'), m(0, 'requestsPerSecond'), 'req/s', true, label),
    );
  }
  return out;
}

export async function runPortalBench(cleanup: Cleanup): Promise<BenchResult[]> {
  const db = await createBenchDatabase('portal');
  cleanup.add(`drop database ${db.name}`, () => db.drop());
  const vhost = await createBenchVhost('portal');
  cleanup.add(`delete vhost ${vhost.name}`, () => vhost.drop());
  const pool = new Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => undefined);
  const processes: ServiceProcess[] = [];
  try {
    const secret = randomBytes(32).toString('base64url');
    const sign = async (customerId: string) => `Bearer ${await customerToken(secret, customerId)}`;
    const templateId = randomUUID();
    const template: Customer = { gsrn: GSRN, customerId: templateId, authorization: await sign(templateId) };
    const seedStart = now();
    const seeded = await seed(pool, template.customerId);
    await migrateAuth(pool);
    log(`  seeded the template customer: ${seeded.days} days, ${seeded.values.toLocaleString('en-US')} hourly values through the consumption projection in ${fmt(msSince(seedStart), 'ms')}`);
    const largest = Math.max(...SIZES);
    const customers: Customer[] = [];
    for (let i = 0; i < largest; i++) {
      const customerId = randomUUID();
      customers.push({ gsrn: benchGsrn(i), customerId, authorization: await sign(customerId) });
    }

    const authIssuers = JSON.stringify([{ name: 'bench-portal', kind: 'customer', ...ISSUER, secret, algorithm: 'HS256' }]);
    const gatewayEnv: Record<string, string> = { DATABASE_URL: db.url, AMQP_URL: vhost.url, AUTH_ISSUERS: authIssuers, RATE_LIMITS: 'off' };
    // Node refuses --cpu-prof in NODE_OPTIONS: a preloaded hook runs V8's profiler instead (cpu-profile-hook.ts).
    const env =
      PROFILE_DIR === undefined ? gatewayEnv : { ...gatewayEnv, NODE_OPTIONS: `--require ${join(__dirname, 'cpu-profile-hook.js')}`, BENCH_CPU_PROFILE_DIR: PROFILE_DIR, BENCH_CPU_PROFILE_NAME: 'gateway' };
    const gateways: Gateway[] = [];
    for (const [label, root] of [['this build', undefined], ...(COMPARE_ROOT === undefined ? [] : [['compare', COMPARE_ROOT]])] as [string, string | undefined][]) {
      const started = now();
      const extra: Record<string, string> = root !== undefined && COMPARE_NODE_OPTIONS !== undefined ? { NODE_OPTIONS: [env.NODE_OPTIONS, COMPARE_NODE_OPTIONS].filter((o) => o !== undefined).join(' ') } : {};
      const running = await startServiceProcess('gateway', { ...env, ...extra }, 60_000, root);
      processes.push(running);
      cleanup.add(`stop gateway (${label})`, () => running.stop());
      const gatewayPid = running.child.pid!;
      const postgresPids = async () =>
        (await pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`)).rows.map((r) => r.pid);
      const storage = async () => (await pool.query<StorageCounters>(STORAGE_SQL)).rows[0]!;
      gateways.push({ label, url: running.url, servers: { gatewayPid, postgresPids, storage } });
      log(`  gateway (${label}${root === undefined ? '' : `, ${root}`}) ready at ${running.url} (pid ${running.child.pid}) after ${fmt(msSince(started), 'ms')}`);
    }
    log(`  ${CONNECTIONS} connections, ${REQUESTS.toLocaleString('en-US')} requests per endpoint, ${ROUNDS} round(s)`);

    const out: BenchResult[] = [];
    let cloned = 0;
    for (const size of [...SIZES].sort((a, b) => a - b)) {
      const cloneStart = now();
      await cloneCustomers(pool, template, customers.slice(0, size), cloned);
      log(`  copied the template to customers ${cloned.toLocaleString('en-US')}–${(size - 1).toLocaleString('en-US')} (365 days and ${HOUR_WINDOW_DAYS} days of hours each${SETTLE ? ', then VACUUM (ANALYZE) and CHECKPOINT' : ''}) in ${fmt(msSince(cloneStart), 'ms')}`);
      cloned = size;
      const probe = customers[size - 1]!;
      const octoberHours = (localDayStart(addDays(MONTH_TO, 1)).getTime() - localDayStart(MONTH_FROM).getTime()) / 3_600_000;
      for (const gateway of gateways) {
        const dayBytes = await checkBody(`${gateway.url}/api/portal/consumption?gsrn=${probe.gsrn}&resolution=day&from=${YEAR_FROM}&to=${YEAR_TO}`, probe.authorization, seeded.days);
        const hourBytes = await checkBody(`${gateway.url}/api/portal/consumption?gsrn=${probe.gsrn}&resolution=hour&from=${MONTH_FROM}&to=${MONTH_TO}`, probe.authorization, octoberHours);
        log(`  bodies (${gateway.label}): day × year ${seeded.days} values (${(dayBytes / 1024).toFixed(0)} KiB), hour × month ${octoberHours} values (${(hourBytes / 1024).toFixed(0)} KiB), totals exact`);
      }
      out.push(...(await measureSize(gateways, customers, size)));
    }
    if (PROFILE_DIR !== undefined) {
      // The gateways write their profiles now (a stopped process may not get to its exit handlers).
      for (const p of processes) p.child.kill('SIGUSR2');
      await delay(3_000);
      log(`  CPU profiles of the gateways in ${PROFILE_DIR}`);
    }
    return out;
  } finally {
    // Stopped now rather than at clean-up: the next benchmark should not share the cores with it.
    for (const p of processes) await p.stop();
    await pool.end().catch(() => undefined);
  }
}
