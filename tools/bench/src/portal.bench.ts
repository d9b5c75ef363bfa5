import { randomBytes, randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { SignJWT } from 'jose';
import { Pool } from 'pg';
import { migrateAuth } from '@dh/auth';
import { addDays, localDayHours, localDayStart, type LocalDate } from '@dh/dk-time';
import { startServiceProcess, type ServiceProcess } from '@dh/platform';
import { consumptionProjection, meteringPointsProjection, migrateReadModels, type Projection } from '@dh/read-models';
import { createBenchDatabase, createBenchVhost, type Cleanup } from './infra';
import { fmt, log, msSince, now, result, type BenchResult } from './measure';

/**
 * Portal load (issue 5). A private database and vhost; a year (2025) of hourly consumption for one
 * customer's metering point projected into the consumption read models by the projection code itself
 * (one `ValidatedMeasureDataReceived` per local day, as DataHub sends them); the gateway started as
 * its own process from `dist/` (`RATE_LIMITS=off`); then autocannon in this process drives, one after
 * another on the same server, the bare `GET /health/live` (baseline: Nest routing, guard, interceptors,
 * no database), `GET /api/portal/consumption?resolution=day` for the year and `resolution=hour` for a
 * month, with a customer JWT. Every response must be 2xx: any non-2xx, error or timeout fails the run.
 */

const CONNECTIONS = Number(process.env.BENCH_PORTAL_CONNECTIONS ?? 20);
const SECONDS = Number(process.env.BENCH_PORTAL_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
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
}

async function load(label: string, url: string, headers: Record<string, string>, seconds: number): Promise<LoadFigures> {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: seconds, headers, timeout: 10 });
  const ok = r['2xx'];
  return {
    label,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requestsPerSecond: ok / r.duration,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    bytesPerResponse: r.requests.total > 0 ? r.throughput.total / r.requests.total : Number.NaN,
  };
}

/** One check of the body before the load: the endpoint answers what the read models hold. */
async function checkBody(url: string, headers: Record<string, string>, expectedValues: number): Promise<number> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  const body: unknown = JSON.parse(text);
  const count = typeof body === 'object' && body !== null && 'values' in body && Array.isArray(body.values) ? body.values.length : -1;
  if (count !== expectedValues) throw new Error(`GET ${url}: ${count} values, expected ${expectedValues}`);
  return text.length;
}

export async function runPortalBench(cleanup: Cleanup): Promise<BenchResult[]> {
  const db = await createBenchDatabase('portal');
  cleanup.add(`drop database ${db.name}`, () => db.drop());
  const vhost = await createBenchVhost('portal');
  cleanup.add(`delete vhost ${vhost.name}`, () => vhost.drop());
  const pool = new Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => undefined);
  let gateway: ServiceProcess | null = null;
  try {
    const customerId = randomUUID();
    const seedStart = now();
    const seeded = await seed(pool, customerId);
    await migrateAuth(pool);
    log(`  seeded ${seeded.days} days, ${seeded.values.toLocaleString('en-US')} hourly values through the consumption projection in ${fmt(msSince(seedStart), 'ms')}`);

    const secret = randomBytes(32).toString('base64url');
    const authIssuers = JSON.stringify([{ name: 'bench-portal', kind: 'customer', ...ISSUER, secret, algorithm: 'HS256' }]);
    const started = now();
    const running = await startServiceProcess('gateway', { DATABASE_URL: db.url, AMQP_URL: vhost.url, AUTH_ISSUERS: authIssuers, RATE_LIMITS: 'off' }, 60_000);
    gateway = running;
    cleanup.add('stop gateway', () => running.stop());
    log(`  gateway ready at ${running.url} (pid ${running.child.pid}) after ${fmt(msSince(started), 'ms')}; ${CONNECTIONS} connections, ${SECONDS} s per endpoint`);

    const auth = { authorization: `Bearer ${await customerToken(secret, customerId)}` };
    const live = `${running.url}/health/live`;
    const dayYear = `${running.url}/api/portal/consumption?gsrn=${GSRN}&resolution=day&from=${YEAR_FROM}&to=${YEAR_TO}`;
    const hourMonth = `${running.url}/api/portal/consumption?gsrn=${GSRN}&resolution=hour&from=${MONTH_FROM}&to=${MONTH_TO}`;
    const octoberHours = (localDayStart(addDays(MONTH_TO, 1)).getTime() - localDayStart(MONTH_FROM).getTime()) / 3_600_000;
    const dayBytes = await checkBody(dayYear, auth, seeded.days);
    const hourBytes = await checkBody(hourMonth, auth, octoberHours);
    log(`  bodies: day × year ${seeded.days} values (${(dayBytes / 1024).toFixed(0)} KiB), hour × month ${octoberHours} values (${(hourBytes / 1024).toFixed(0)} KiB)`);

    for (const url of [live, dayYear, hourMonth]) await load('warm-up', url, auth, WARMUP_SECONDS);
    const figures: LoadFigures[] = [];
    figures.push(await load('GET /health/live', live, auth, SECONDS));
    figures.push(await load('consumption day × 1 year', dayYear, auth, SECONDS));
    figures.push(await load('consumption hour × 1 month', hourMonth, auth, SECONDS));
    for (const f of figures) {
      log(
        `  ${f.label.padEnd(28)} p50 ${fmt(f.p50, 'ms')}, p99 ${fmt(f.p99, 'ms')}, ${fmt(f.requestsPerSecond, 'req/s')} ` +
          `(${f.requests.toLocaleString('en-US')} requests, ${(f.bytesPerResponse / 1024).toFixed(1)} KiB each; non-2xx ${f.non2xx}, errors ${f.errors}, timeouts ${f.timeouts})`,
      );
    }
    const bad = figures.filter((f) => f.non2xx > 0 || f.errors > 0 || f.timeouts > 0);
    if (bad.length > 0) throw new Error(`not every response was 2xx: ${bad.map((f) => `${f.label}: non-2xx ${f.non2xx}, errors ${f.errors}, timeouts ${f.timeouts}`).join('; ')}`);

    const [base, day, hour] = figures;
    const label = `/health/live, ${CONNECTIONS} conn`;
    return [
      result('portal day×year p50', day.p50, base.p50, 'ms', false, label),
      result('portal day×year p99', day.p99, base.p99, 'ms', false, label),
      result('portal day×year throughput', day.requestsPerSecond, base.requestsPerSecond, 'req/s', true, label),
      result('portal hour×month p50', hour.p50, base.p50, 'ms', false, label),
      result('portal hour×month p99', hour.p99, base.p99, 'ms', false, label),
      result('portal hour×month throughput', hour.requestsPerSecond, base.requestsPerSecond, 'req/s', true, label),
    ];
  } finally {
    // Stopped now rather than at clean-up: the next benchmark should not share the cores with it.
    await gateway?.stop();
    await pool.end().catch(() => undefined);
  }
}
