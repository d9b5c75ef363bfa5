import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { localDayIntervals, localDayStart } from '@dh/dk-time';
import { gsrnCheckDigit } from '@dh/market-ids';
import { CommandClient } from '@dh/messaging';
import { loadConfig, openInfrastructure, startServiceProcess, type Infrastructure, type ServiceProcess } from '@dh/platform';
import { DEFAULT_RATES_CONFIG, buildSettlementInput } from '@dh/settlement-application';
import { INTERVAL_MEASURED, resolvePeriodPrices, settleMeteringPointOnPrices, type PeriodPrices } from '@dh/settlement-domain';
import { loadCopies, loadSharedPriceCopies } from '@dh/settlement-infra';
import { octoberDays, octoberPriceInputs, octoberSpotPrices, PRICES_PUBLISHED, type PriceInput } from './october-prices';
import { createBenchDatabase, createBenchVhost, RABBITMQ_ADMIN_URL, type Cleanup } from './infra';
import { delay, fmt, log, msSince, now, result, type BenchResult } from './measure';
import { processCpuMs } from './process-cpu';

/**
 * A whole settlement run through the real services (issue 8): N metering points × October 2026 (PT1H,
 * 745 values each) settled by `StartSettlementRun` in its own database and vhost: work items scheduled in
 * batches and published to RabbitMQ, ≥ 2 settlement processes competing for them (each settles on its run
 * prices, issues the invoice into the event store and counts the outcome), the relay publishing the
 * invoices and the projections process writing them to read_models.settlement_invoices. Timed from the
 * command until the run is completed and every invoice is projected. Baseline: the settlement kernel
 * alone (`settleMeteringPointOnPrices` on prices resolved once) on the same points, in this process.
 * Checks: every invoice's total incl. VAT in the read model equals the kernel's.
 * Knobs: BENCH_RUN_POINTS (default 1000,10000; 100000 works), BENCH_RUN_PROCESSES (settlement processes,
 * default 2), BENCH_RUN_WORKERS (workers per process, default 1), BENCH_RUN_BATCH (work items per batch, default 500),
 * BENCH_RUN_SEED (`packed`, the default: metered days as `settlement.metered_data` stores schema-2 events, integer
 * Wh in `wh int[]` from `first_position` and quality runs; `v1`: `points` jsonb objects with kWh strings, as days
 * stored before issue 8), BENCH_RUN_PROFILE_DIR (a directory: each settlement process and the projections process write a V8
 * CPU profile of the run there, `settlement-<pid>.cpuprofile` and `projections-<pid>.cpuprofile`, via cpu-profile-hook.ts).
 */

const SIZES = (process.env.BENCH_RUN_POINTS ?? '1000,10000')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0);
const PROCESSES = Math.max(2, Number(process.env.BENCH_RUN_PROCESSES ?? 2));
const WORKERS = Math.max(1, Number(process.env.BENCH_RUN_WORKERS ?? 1));
const BATCH = Math.max(1, Number(process.env.BENCH_RUN_BATCH ?? 500));
/** Work items per worker transaction (SETTLEMENT_WORK_BATCH_SIZE); the service's default when unset. */
const WORK_BATCH = process.env.BENCH_RUN_WORK_BATCH;
const SEED: 'packed' | 'v1' = process.env.BENCH_RUN_SEED === 'v1' ? 'v1' : 'packed';
const PROFILE_DIR = process.env.BENCH_RUN_PROFILE_DIR;
/** BENCH_RUN_TIMELINE=<ms>: every <ms> of the run, one line of where each stage is (see `sampleTimeline`). */
const TIMELINE_MS = Number(process.env.BENCH_RUN_TIMELINE ?? 0);

const PERIOD = { kind: 'month', year: 2026, month: 10 } as const;
const PUBLISHED = PRICES_PUBLISHED;
const days = octoberDays;

const gsrnOf = (i: number): string => {
  const body = `57131318${String(i).padStart(9, '0')}`;
  return `${body}${gsrnCheckDigit(body)}`;
};

/** Wh of point p in hour h: 100..2,099 Wh, reproducible. */
const whOf = (p: number, h: number): number => 100 + ((p * 7919 + h * 104729) % 2000);

/** Peak resident set size of a process (VmHWM), MiB; NaN when unreadable. */
function peakRssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds (user + system) a process has used so far; NaN when unreadable. */
function cpuSeconds(pid: number | undefined): number {
  const ms = pid === undefined ? null : processCpuMs(pid);
  return ms === null ? Number.NaN : ms / 1000;
}

/** The PostgreSQL backends serving the bench database (same machine), by pid. */
async function backendPids(infra: Infrastructure): Promise<number[]> {
  const { rows } = await infra.pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`);
  return rows.map((r) => r.pid);
}

async function seedPrices(infra: Infrastructure): Promise<void> {
  const append = ({ streamId, type, data }: PriceInput) =>
    infra.eventStore.appendToStream(
      streamId,
      [{ eventId: randomUUID(), type, data, metadata: { correlationId: randomUUID(), causationId: null, actor: 'bench', schemaVersion: 1, context: 'rates' }, occurredAt: new Date() }],
      { expectedRevision: 'any' },
    );
  for (const input of octoberPriceInputs()) await append(input);
  for (const day of days()) await append(octoberSpotPrices(day, 1, PUBLISHED));
}

/** Supplies and metered data straight into settlement's copies (bulk, not timed): one supply and 31 days of PT1H per point. */
async function seedPoints(infra: Infrastructure, points: number): Promise<void> {
  const dayList = days();
  const CHUNK = 200;
  for (let first = 0; first < points; first += CHUNK) {
    const last = Math.min(points, first + CHUNK);
    const gsrns: string[] = [];
    for (let p = first; p < last; p++) gsrns.push(gsrnOf(p));
    await infra.pool.query(
      `INSERT INTO settlement.supplies (gsrn, start_date, customer_id, end_date, product_id, electric_heating, grid_area, production_gsrn, billing_frequency, payment_model)
       SELECT g, '2026-01-01', 'customer-' || g, NULL, 'spot', false, '791', NULL, 'monthly', 'actual' FROM unnest($1::text[]) AS g`,
      [gsrns],
    );
    const rowGsrn: string[] = [];
    const rowDay: string[] = [];
    const rowStart: string[] = [];
    const rowPoints: string[] = [];
    const rowWh: string[] = [];
    const rowEvent: string[] = [];
    for (let p = first; p < last; p++) {
      let hour = 0;
      for (const day of dayList) {
        const n = localDayIntervals(day, 'PT1H').length;
        const whs: number[] = [];
        for (let i = 0; i < n; i++) whs.push(whOf(p, hour + i));
        hour += n;
        rowGsrn.push(gsrnOf(p));
        rowDay.push(day);
        rowStart.push(localDayStart(day).toISOString());
        if (SEED === 'v1') rowPoints.push(`[${whs.map((wh, i) => `{"position":${i + 1},"quantityKwh":"${(wh / 1000).toFixed(3)}","quality":"A04"}`).join(',')}]`);
        else rowWh.push(`{${whs.join(',')}}`);
        rowEvent.push(randomUUID());
      }
    }
    if (SEED === 'v1') {
      await infra.pool.query(
        `INSERT INTO settlement.metered_data (gsrn, day, version, document_id, received_at, resolution, start, points, event_id)
         SELECT g, d, 1, 'bench-' || g, '2026-11-02T08:00:00Z', 'PT1H', s::timestamptz, p::jsonb, e::uuid FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(g, d, s, p, e)`,
        [rowGsrn, rowDay, rowStart, rowPoints, rowEvent],
      );
    } else {
      // As insertMeteredDays stores a packed day: integer Wh from position 1, one quality run per day.
      await infra.pool.query(
        `INSERT INTO settlement.metered_data (gsrn, day, version, document_id, received_at, resolution, start, first_position, wh, qualities, event_id)
         SELECT g, d, 1, 'bench-' || g, '2026-11-02T08:00:00Z', 'PT1H', s::timestamptz, 1, w::int[], jsonb_build_array(jsonb_build_array('A04', cardinality(w::int[]))), e::uuid
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(g, d, s, w, e)`,
        [rowGsrn, rowDay, rowStart, rowWh, rowEvent],
      );
    }
  }
}

interface TimelineSample {
  work: number;
  relayed: number;
  queued: string;
  items: number;
  invoices: number;
  projected: number;
  projectionQueue: string;
}

/** A queue's ready/unacknowledged messages from the management API, `r/u`; `?` when unreadable. */
async function queueDepth(vhost: string, queue: string): Promise<string> {
  try {
    const url = new URL(`/api/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}`, RABBITMQ_ADMIN_URL);
    const auth = Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64');
    url.username = '';
    url.password = '';
    const res = await fetch(url, { headers: { authorization: `Basic ${auth}` } });
    if (!res.ok) return '?';
    const q = (await res.json()) as { messages_ready?: number; messages_unacknowledged?: number };
    return `${q.messages_ready ?? '?'}/${q.messages_unacknowledged ?? '?'}`;
  } catch {
    return '?';
  }
}

/**
 * Where each stage of the run is (BENCH_RUN_TIMELINE): work items appended, events published by the relay (up to its
 * checkpoint), settlement.work ready/unacked, items counted, invoices appended, invoices projected, the invoice
 * projection's queue. Counts over the event log: for finding the stage that waits, not for timing.
 */
async function sampleTimeline(infra: Infrastructure, vhost: string, runId: string): Promise<TimelineSample> {
  const es = infra.config.eventStore.kind === 'postgres' ? infra.config.eventStore.schema : 'event_store';
  const [{ rows }, queued, projectionQueue] = await Promise.all([
    infra.pool.query<{ work: string; relayed: string; items: string; invoices: string; projected: string }>(
      `SELECT (SELECT count(*) FROM ${es}.events WHERE type = 'SettlementWorkItemScheduled') AS work,
              (SELECT count(*) FROM ${es}.events e, messaging.relay_checkpoints c
                WHERE c.name = 'domain-events' AND (e.transaction_id, e.global_position) <= (split_part(c.checkpoint, ':', 1)::xid8, split_part(c.checkpoint, ':', 2)::bigint)) AS relayed,
              (SELECT count(*) FROM settlement.run_items WHERE run_id = $1) AS items,
              (SELECT count(*) FROM ${es}.events WHERE type = 'InvoiceIssued') AS invoices,
              (SELECT count(*) FROM read_models.settlement_invoices) AS projected`,
      [runId],
    ),
    queueDepth(vhost, 'settlement.work'),
    queueDepth(vhost, 'projection.settlement'),
  ]);
  const r = rows[0]!;
  return { work: Number(r.work), relayed: Number(r.relayed), queued, items: Number(r.items), invoices: Number(r.invoices), projected: Number(r.projected), projectionQueue };
}

interface RunFigures {
  points: number;
  seconds: number;
  scheduleSeconds: number;
  /** Until the run's counters said completed (every invoice stored), before the projection caught up. */
  settledSeconds: number;
  kernelSeconds: number;
  peakRssMiB: number[];
  mismatches: number;
  /** CPU seconds during the timed run: settlement processes (summed), the projections process, PostgreSQL backends of the bench database. */
  cpu: { settlement: number; projections: number; postgres: number };
}

/** The kernel alone on the same points: prices resolved once (as a worker does), each point's Wh in an Int32Array. */
function kernelAlone(prices: PeriodPrices, points: number): { seconds: number; totals: Map<string, string> } {
  const hours = (prices.endMs - prices.startMs) / 3_600_000;
  const state = new Uint8Array(hours).fill(INTERVAL_MEASURED);
  const wh = new Int32Array(hours);
  const totals = new Map<string, string>();
  const start = now();
  for (let p = 0; p < points; p++) {
    let max = 0;
    for (let h = 0; h < hours; h++) {
      wh[h] = whOf(p, h);
      if (wh[h]! > max) max = wh[h]!;
    }
    const gsrn = gsrnOf(p);
    const r = settleMeteringPointOnPrices(prices, {
      meteringPoint: { gsrn, gridArea: '791', priceArea: 'DK2', electricHeating: false },
      supplyPeriods: [{ start: '2026-01-01', endExclusive: null }],
      consumption: { gsrn, resolution: 'PT1H', startMs: prices.startMs, wh, state, maxWh: max },
      yearToDateMilliKwh: 0n,
    });
    if (r.outcome !== 'settled') throw new Error(`kernel halted ${gsrn}: ${JSON.stringify(r)}`);
    totals.set(gsrn, r.invoice.totals.inclVat.format());
  }
  return { seconds: msSince(start) / 1000, totals };
}

async function runOnce(points: number, cleanup: Cleanup): Promise<RunFigures> {
  const db = await createBenchDatabase('run');
  cleanup.add(`drop database ${db.name}`, () => db.drop());
  const vhost = await createBenchVhost('run');
  cleanup.add(`delete vhost ${vhost.name}`, () => vhost.drop());
  const env = {
    DATABASE_URL: db.url,
    AMQP_URL: vhost.url,
    SETTLEMENT_WORKERS: String(WORKERS),
    SETTLEMENT_RUN_BATCH_SIZE: String(BATCH),
    ...(WORK_BATCH !== undefined ? { SETTLEMENT_WORK_BATCH_SIZE: WORK_BATCH } : {}),
    PAYMENT_OVERDUE_CHECK_INTERVAL_MS: '0',
    // The bench starts its runs itself: no scheduled runs or halt retries (on by default in the service).
    SETTLEMENT_SCHEDULE_INTERVAL_MS: '0',
    SETTLEMENT_HALT_RETRY_INTERVAL_MS: '0',
    LOG_FORMAT: 'json',
  };
  const infra = await openInfrastructure(loadConfig('bench-run', 0, env));
  const processes: ServiceProcess[] = [];
  const commands = new CommandClient({ connection: infra.amqp, defaultTimeoutMs: 60_000 });
  try {
    // Node refuses --cpu-prof in NODE_OPTIONS: a preloaded hook runs V8's profiler instead (cpu-profile-hook.ts).
    const settlementEnv =
      PROFILE_DIR === undefined ? env : { ...env, NODE_OPTIONS: `--require ${join(__dirname, 'cpu-profile-hook.js')}`, BENCH_CPU_PROFILE_DIR: PROFILE_DIR, BENCH_CPU_PROFILE_NAME: 'settlement' };
    const projectionsEnv = PROFILE_DIR === undefined ? env : { ...settlementEnv, BENCH_CPU_PROFILE_NAME: 'projections' };
    for (let i = 0; i < PROCESSES; i++) processes.push(await startServiceProcess('settlement', settlementEnv, 120_000));
    processes.push(await startServiceProcess('projections', projectionsEnv, 120_000));
    await commands.start();
    const seedStart = now();
    await seedPrices(infra);
    for (;;) {
      const { rows } = await infra.pool.query<{ sp: string; cr: string; p: string; t: string; g: string }>(
        `SELECT (SELECT count(*) FROM settlement.spot_prices) AS sp, (SELECT count(*) FROM settlement.charge_rows) AS cr, (SELECT count(*) FROM settlement.products) AS p,
                (SELECT count(*) FROM settlement.tax_rates) AS t, (SELECT count(*) FROM settlement.grid_areas) AS g`,
      );
      const r = rows[0]!;
      if (r.sp === '745' && r.cr === '5' && r.p === '1' && r.t === '1' && r.g === '1') break;
      if (msSince(seedStart) > 120_000) throw new Error(`price copies not complete after 120 s: ${JSON.stringify(r)}`);
      await delay(200);
    }
    await seedPoints(infra, points);
    await infra.pool.query('ANALYZE');
    log(`  ${points.toLocaleString('en-US')} points: seeded in ${(msSince(seedStart) / 1000).toFixed(1)} s (not timed)`);

    // The run: command → scheduled → completed → every invoice projected.
    const cpuBefore = processes.map((p) => cpuSeconds(p.child.pid));
    const pgBefore = new Map((await backendPids(infra)).map((pid) => [pid, cpuSeconds(pid)]));
    const start = now();
    let timeline: Promise<void> | null = null;
    let timelineRunId: string | null = null;
    let timelineStop = false;
    if (TIMELINE_MS > 0) {
      // The run id is known only from the reply: until then, the first run's row.
      timeline = (async () => {
        log(`  timeline: t s | work items appended | events relayed | settlement.work ready/unacked | items counted | invoices appended | projected | projection queue ready/unacked`);
        while (!timelineStop) {
          const runId = timelineRunId ?? (await infra.pool.query<{ run_id: string }>(`SELECT run_id FROM settlement.runs ORDER BY seq LIMIT 1`)).rows[0]?.run_id ?? '';
          const t = await sampleTimeline(infra, vhost.name, runId);
          log(`  timeline: ${(msSince(start) / 1000).toFixed(2)} | ${t.work} | ${t.relayed} | ${t.queued} | ${t.items} | ${t.invoices} | ${t.projected} | ${t.projectionQueue}`);
          await delay(TIMELINE_MS);
        }
      })();
    }
    const reply = (await commands.send('settlement', 'StartSettlementRun', { period: '2026-10' }, { actor: 'bench', timeoutMs: 600_000 })) as { runId: string; items: number };
    const scheduleSeconds = msSince(start) / 1000;
    timelineRunId = reply.runId;
    if (reply.items !== points) throw new Error(`run scheduled ${reply.items} items, expected ${points}`);
    const deadline = Math.max(600_000, points * 100);
    let settledSeconds = Number.NaN;
    for (;;) {
      const { rows } = await infra.pool.query<{ invoices: string; status: string | null; settled: boolean | null }>(
        `SELECT (SELECT count(*) FROM read_models.settlement_invoices) AS invoices, (SELECT status FROM read_models.settlement_runs WHERE run_id::text = $1) AS status,
                (SELECT completed FROM settlement.runs WHERE run_id = $1::text) AS settled`,
        [reply.runId],
      );
      if (rows[0]!.settled === true && Number.isNaN(settledSeconds)) settledSeconds = msSince(start) / 1000;
      if (Number(rows[0]!.invoices) === points && rows[0]!.status === 'completed') break;
      if (msSince(start) > deadline) throw new Error(`run not complete after ${deadline / 1000} s: ${JSON.stringify(rows[0])}`);
      await delay(50);
    }
    const seconds = msSince(start) / 1000;
    const cpuAfter = processes.map((p) => cpuSeconds(p.child.pid));
    let postgresCpu = 0;
    for (const pid of await backendPids(infra)) {
      const after = cpuSeconds(pid);
      if (!Number.isNaN(after)) postgresCpu += after - (pgBefore.get(pid) ?? 0);
    }
    const cpuOf = (i: number): number => cpuAfter[i]! - cpuBefore[i]!;
    let settlementCpu = 0;
    for (let i = 0; i < PROCESSES; i++) settlementCpu += cpuOf(i);
    const cpu = { settlement: settlementCpu, projections: cpuOf(PROCESSES), postgres: postgresCpu };
    timelineStop = true;
    await timeline;
    if (PROFILE_DIR !== undefined) {
      // The processes write their profiles now (a stopped process may not get to its exit handlers).
      for (const p of processes) p.child.kill('SIGUSR2');
      await delay(5_000);
    }
    const peak = processes.slice(0, PROCESSES).map((p) => peakRssMiB(p.child.pid));

    // Baseline: the kernel alone on the same points, on the prices a worker resolves from the same copies.
    const shared = await loadSharedPriceCopies(infra.pool, PERIOD);
    const built = buildSettlementInput(gsrnOf(0), PERIOD, new Date(), await loadCopies(infra.pool, gsrnOf(0), PERIOD, { shared }), DEFAULT_RATES_CONFIG, `customer-${gsrnOf(0)}`);
    if (!built.ok) throw new Error(`cannot build the kernel's input: ${JSON.stringify(built.halt)}`);
    const asOf = new Date((await infra.pool.query<{ as_of: Date }>(`SELECT as_of FROM settlement.runs WHERE run_id = $1`, [reply.runId])).rows[0]!.as_of);
    const prices = resolvePeriodPrices(built.input.prices, '791', built.input.product, PERIOD, asOf);
    kernelAlone(prices, Math.min(points, 200)); // warm-up
    const kernel = kernelAlone(prices, points);
    const { rows } = await infra.pool.query<{ gsrn: string; total: string }>(`SELECT gsrn, total_incl_vat::text AS total FROM read_models.settlement_invoices`);
    let mismatches = 0;
    for (const r of rows) {
      if (kernel.totals.get(r.gsrn) !== r.total) {
        mismatches++;
        if (mismatches <= 3) log(`  MISMATCH ${r.gsrn}: run ${r.total}, kernel ${String(kernel.totals.get(r.gsrn))}`);
      }
    }
    return { points, seconds, scheduleSeconds, settledSeconds, kernelSeconds: kernel.seconds, peakRssMiB: peak, mismatches, cpu };
  } finally {
    await commands.close().catch(() => undefined);
    for (const p of processes.reverse()) await p.stop().catch(() => undefined);
    await infra.close().catch(() => undefined);
  }
}

export async function runRunBench(cleanup: Cleanup): Promise<BenchResult[]> {
  log(`  load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (1 / 5 / 15 min) at the start`);
  log(`  ${PROCESSES} settlement processes × ${WORKERS} worker(s), batches of ${BATCH}, one projections process; October 2026, PT1H (745 values per point), metered days seeded ${SEED === 'v1' ? 'as v1 points (jsonb, kWh strings)' : 'packed (wh int[], quality runs)'}`);
  const figures: RunFigures[] = [];
  for (const points of SIZES) {
    const f = await runOnce(points, cleanup);
    figures.push(f);
    log(
      `  ${points.toLocaleString('en-US')} points: whole run ${f.seconds.toFixed(1)} s = ${((f.seconds / points) * 1000).toFixed(2)} s per 1,000 points ` +
        `(scheduling ${f.scheduleSeconds.toFixed(1)} s of it, run completed at ${f.settledSeconds.toFixed(1)} s, the rest is the projection catching up); kernel alone ${f.kernelSeconds.toFixed(2)} s = ${((f.kernelSeconds / points) * 1000).toFixed(3)} s per 1,000; ` +
        `whole run / kernel = ${(f.kernelSeconds / f.seconds).toPrecision(3)}×; peak RSS per settlement process ${f.peakRssMiB.map((m) => `${m.toFixed(0)} MiB`).join(', ')}; ` +
        `invoice totals differing from the kernel: ${f.mismatches} of ${points}`,
    );
    log(
      `  ${points.toLocaleString('en-US')} points: CPU during the run ${f.cpu.settlement.toFixed(1)} s in the settlement processes, ${f.cpu.projections.toFixed(1)} s in the projections process, ` +
        `${f.cpu.postgres.toFixed(1)} s in PostgreSQL backends of the bench database (per 1,000 points: ${((f.cpu.settlement / points) * 1000).toFixed(2)} / ${((f.cpu.projections / points) * 1000).toFixed(2)} / ${((f.cpu.postgres / points) * 1000).toFixed(2)} s; wall ${((f.seconds / points) * 1000).toFixed(2)} s); load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')} at the end`,
    );
  }
  const first = figures[0];
  const results: BenchResult[] = [];
  for (const f of figures) {
    const perK = (f.seconds / f.points) * 1000;
    results.push(result(`whole run, ${f.points} points (points/s)`, f.points / f.seconds, f.points / f.kernelSeconds, 'points/s', true, 'settlement kernel alone, same points'));
    if (first !== undefined && f !== first) {
      const firstPerK = (first.seconds / first.points) * 1000;
      log(`  growth: ${perK.toFixed(2)} s per 1,000 at ${f.points.toLocaleString('en-US')} vs ${firstPerK.toFixed(2)} at ${first.points.toLocaleString('en-US')} = ${(perK / firstPerK).toFixed(2)}× (target ≤ 1.5×)`);
      results.push(result(`whole run s per 1,000 points, ${f.points} vs ${first.points}`, perK, firstPerK, 's', false, `s per 1,000 points at ${first.points}`));
    }
  }
  const mismatches = figures.reduce((n, f) => n + f.mismatches, 0);
  if (mismatches > 0) throw new Error(`${mismatches} invoices differ from the kernel`);
  log(`  ${fmt(figures.reduce((n, f) => n + f.points, 0), 'invoices')} checked against the kernel: all equal`);
  return results;
}
