import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pg';
import { parseCimXml } from '@dh/cim';
import { DataHubClient, type DataHubInbox, type PeekedMessage } from '@dh/datahub-client';
import { DataHubInboxWorker, QuarantineStore, ReceivedMessageStore } from '@dh/datahub-integration';
import { startDataHubSimulator } from '@dh/datahub-sim';
import { addDays, localDayStart, type LocalDate } from '@dh/dk-time';
import { createPostgresEventStore, type PostgresEventStore } from '@dh/event-store';
import { gsrnCheckDigit } from '@dh/market-ids';
import { AmqpConnection, createRelay, DEFAULT_EVENT_EXCHANGE, type EventRelay } from '@dh/messaging';
import { migrateSettlement, startMeteredDataConsumer } from '@dh/settlement-infra';
import { benchLogger, createBenchDatabase, createBenchVhost, type Cleanup } from './infra';
import type { IngestConsumerChildMessage, IngestConsumerParentMessage } from './ingest-consumer.process';
import { startQueryTimer } from './query-timer';
import { delay, fmt, log, median, msSince, now, result, waitUntil, type BenchResult } from './measure';
import { processCpuMs } from './process-cpu';

/**
 * Ingest end to end (issues 3 and 8). The DataHub simulator (in its own process, over HTTP) holds, per day, RSM-012
 * `NotifyValidatedMeasureData` documents of SERIES_PER_DOCUMENT PT15M series each (DataHub bundles a supplier's
 * metering points) for N metering points × DAYS; the production path takes them from there, wired as the
 * services wire it but in this one process: `DataHubInboxWorker` (peek → `parseCimXml` → the document's events
 * appended to the PostgreSQL event store in batched appends → dequeue) → relay → RabbitMQ → settlement's
 * `settlement.metered-data` consumer (`BENCH_INGEST_CONSUMER_PROCESS=1`: in a process of its own, as in the
 * settlement service; batches of waiting series: their `metered-data-<gsrn>`
 * streams in one `appendToStreams`, their days in `settlement.metered_data` in one multi-row insert). Timed from
 * the first peek until the consumer has recorded the last series, then checked: every day of every metering point
 * in `settlement.metered_data` with all its values. Baseline: a PostgreSQL `COPY` (psql `\copy … FROM STDIN`) of
 * the very same values as `(gsrn, interval_start, wh)` rows into a plain table, net of psql's start and connection
 * (an empty COPY, measured in the same run). Sizes: BENCH_INGEST_METERING_POINTS (default "100,400"), to show
 * the cost per value does not grow with N. Peak RSS of this process (inbox and relay, and the consumer when it
 * runs here) is sampled during each run.
 */

const SIZES = (process.env.BENCH_INGEST_METERING_POINTS ?? '100,400')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0);
const DAYS = Number(process.env.BENCH_INGEST_DAYS ?? 3);
const SERIES_PER_DOCUMENT = Number(process.env.BENCH_INGEST_SERIES_PER_DOCUMENT ?? 100);
const VALUES_PER_DAY = 96;
const COPY_ROUNDS = 3;
const TIMEOUT_MS = 600_000;
const OUR_GLN = '5799999933318';
const DATAHUB_GLN = '5790001330552';
const CLIENT = { clientId: 'bench-supplier', clientSecret: 's3cret-bench-supplier' };
/** Local midnight of 2026-04-01: a month without a DST change; April 1 is the warm-up day. */
const FIRST_DAY: LocalDate = '2026-04-01';
const QUARTER_MS = 900_000;
/** `BENCH_INGEST_STAGES=1`: also print the database time of the measured run by statement (diagnosis). */
const STAGES = process.env.BENCH_INGEST_STAGES === '1';
/** `1`: the inbox keeps each message in `datahub.received_messages`, dequeues it and stores it behind the peeking (record first); default: stores before each dequeue, as the service does by default. */
const RECORD_FIRST = process.env.BENCH_INGEST_RECORD_FIRST === '1';
/** `BENCH_INGEST_PROFILE=<dir>`: a V8 CPU profile of this process during each measured run, `<dir>/ingest-<N>.cpuprofile` (diagnosis). */
const PROFILE_DIR = process.env.BENCH_INGEST_PROFILE;
/**
 * `1`: settlement's metered-data consumer in a process of its own, as it runs in the settlement service while the
 * inbox and its relay run in datahub-integration (`ingest-consumer.process.ts`); default: in this process, beside
 * the inbox and the relay (no gain shown on the shared 2-core machine at load 12–15, 2026-12-06).
 */
const CONSUMER_PROCESS = process.env.BENCH_INGEST_CONSUMER_PROCESS === '1';
/** `1`: the DataHub simulator in this process (before 2026-12-06); default: in its own process. */
const SIM_IN_PROCESS = process.env.BENCH_INGEST_SIM_IN_PROCESS === '1';

function gsrnOf(i: number): string {
  const body = `57131318049${String(i).padStart(6, '0')}`;
  return `${body}${gsrnCheckDigit(body)}`;
}

function scenario(meteringPoints: number): Record<string, unknown> {
  return {
    seed: 'bench-ingest',
    start: localDayStart(FIRST_DAY).toISOString(),
    datahubGln: DATAHUB_GLN,
    tokenLifetimeSeconds: 3600,
    leadTimeDays: 1,
    clients: [{ ...CLIENT, gln: OUR_GLN }],
    meteringPoints: Array.from({ length: meteringPoints }, (_, i) => ({
      gsrn: gsrnOf(i),
      gridArea: '804',
      priceArea: 'DK1',
      type: 'E17',
      settlementMethod: 'D01',
      resolution: 'PT15M',
      profile: { annualKwh: 3000 + 100 * (i % 50), shape: 'household' },
      supply: { supplierGln: OUR_GLN, from: '2026-01-01' },
    })),
    rejections: [],
    forcedSwitches: [],
    charges: [],
    meteredDataSeriesPerDocument: SERIES_PER_DOCUMENT,
  };
}

/** The simulator as the bench drives it: its URL, its clock moved forward, stopped. */
interface BenchSimulator {
  url: string;
  /** The simulator's process id when it runs in its own process. */
  pid: number | null;
  advanceTo(instant: Date): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The DataHub simulator in its own process (the CLI, `dist/tools/datahub-sim/src/main.js`), as DataHub is another
 * machine: its HTTP serving is not on our event loop (default). `BENCH_INGEST_SIM_IN_PROCESS=1`: in this process.
 */
async function startSimulator(scenarioJson: Record<string, unknown>): Promise<BenchSimulator> {
  if (SIM_IN_PROCESS) {
    const sim = await startDataHubSimulator({ port: 0, scenario: scenarioJson });
    return { url: sim.url, pid: null, advanceTo: async (instant) => sim.control.advanceTo(instant), stop: () => sim.stop() };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-ingest-sim-'));
  const file = path.join(dir, 'scenario.json');
  writeFileSync(file, JSON.stringify(scenarioJson));
  const root = path.resolve(__dirname, '../../../..');
  const child = spawn(process.execPath, ['-r', path.join(root, 'register-paths.js'), path.join(root, 'dist/tools/datahub-sim/src/main.js'), '--scenario', file, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.once('exit', (code) => reject(new Error(`datahub-sim exited ${code}: ${err.trim()}`)));
  });
  return {
    url,
    pid: child.pid ?? null,
    advanceTo: async (instant) => {
      const response = await fetch(`${url}/sim/clock`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ to: instant.toISOString() }) });
      if (!response.ok) throw new Error(`datahub-sim clock: ${response.status} ${await response.text()}`);
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Settlement's metered-data consumer as the bench drives it: its counters, its process (when its own), stopped. */
interface BenchConsumer {
  stats(): { applied: number; deadLettered: number; halted: string | null; lastError: string | null };
  /** Wall time of the consumer's appends (only when it runs in this process). */
  appendMs: { append: number; appends: number; streams: number; read: number } | null;
  resetTimes(): void;
  pid: number | null;
  stop(): Promise<void>;
}

/** The consumer in a process of its own (`ingest-consumer.process.ts`), its counters sent over IPC. */
async function forkConsumer(databaseUrl: string, amqpUrl: string, nowIso: string): Promise<BenchConsumer> {
  const child = fork(path.join(__dirname, 'ingest-consumer.process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let stats = { applied: 0, deadLettered: 0, halted: null as string | null, lastError: null as string | null };
  let failed: string | null = null;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stopped = new Promise<void>((resolve) => {
    child.on('message', (message: IngestConsumerChildMessage) => {
      if (message.kind === 'stats') stats = { applied: message.applied, deadLettered: message.deadLettered, halted: message.halted, lastError: message.lastError };
      else if (message.kind === 'failed') failed = message.message;
      else if (message.kind === 'stopped') resolve();
    });
  });
  await new Promise<void>((resolve, reject) => {
    child.on('message', (message: IngestConsumerChildMessage) => {
      if (message.kind === 'running') resolve();
      else if (message.kind === 'failed') reject(new Error(`metered-data consumer process: ${message.message}`));
    });
    child.once('exit', (code) => reject(new Error(`metered-data consumer process exited ${code}`)));
    const start: IngestConsumerParentMessage = { kind: 'start', databaseUrl, amqpUrl, now: nowIso };
    child.send(start);
  });
  return {
    stats: () => (failed !== null ? { ...stats, halted: `consumer process failed: ${failed}` } : stats),
    appendMs: null,
    resetTimes: () => undefined,
    pid: child.pid ?? null,
    stop: async () => {
      if (child.connected) {
        const stop: IngestConsumerParentMessage = { kind: 'stop' };
        child.send(stop);
        await Promise.race([stopped, exited]);
      }
      await exited;
    },
  };
}

/** The worker's view of DataHub, recording when it first peeked and every body it was given. */
class RecordingInbox implements DataHubInbox {
  firstPeekAt: bigint | null = null;
  readonly bodies: string[] = [];
  recording = false;
  /** Wall time in peek (HTTP and the simulator rendering the document) and dequeue while recording. */
  peekMs = 0;
  dequeueMs = 0;

  constructor(private readonly inner: DataHubInbox) {}

  async peek(category: string): Promise<PeekedMessage | null> {
    if (this.recording && this.firstPeekAt === null) this.firstPeekAt = now();
    const start = now();
    const message = await this.inner.peek(category);
    if (this.recording) this.peekMs += msSince(start);
    if (message && this.recording) this.bodies.push(message.body);
    return message;
  }

  async dequeue(messageId: string): Promise<void> {
    const start = now();
    await this.inner.dequeue(messageId);
    if (this.recording) this.dequeueMs += msSince(start);
  }
}

/** The store with the wall time of its reads and appends summed (diagnosis: the inbox's store step, the consumer's appends). */
function timedStore(store: PostgresEventStore): { store: PostgresEventStore; ms: { read: number; append: number; appends: number; streams: number }; reset(): void } {
  const ms = { read: 0, append: 0, appends: 0, streams: 0 };
  const timed = new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      const batch = property === 'appendToStreams' || property === 'appendToStreamsNotingRetries';
      const kind = property === 'readStream' ? 'read' : property === 'appendToStream' || batch ? 'append' : null;
      if (kind === null) return fn.bind(target);
      return async (...args: unknown[]) => {
        if (kind === 'append') {
          ms.appends++;
          ms.streams += batch && Array.isArray(args[0]) ? args[0].length : 1;
        }
        const start = now();
        try {
          return await fn.apply(target, args);
        } finally {
          ms[kind] += msSince(start);
        }
      };
    },
  });
  return { store: timed, ms, reset: () => Object.assign(ms, { read: 0, append: 0, appends: 0, streams: 0 }) };
}

/** The values of the bodies as COPY rows `gsrn,interval_start,wh` (quantities have three decimals: Wh exactly). */
function copyRows(bodies: readonly string[]): { csv: string; values: number } {
  const lines: string[] = [];
  for (const body of bodies) {
    const doc = parseCimXml(body);
    if (doc.kind !== 'NotifyValidatedMeasureData') throw new Error(`parseCimXml returned ${doc.kind}`);
    for (const series of doc.series) {
      const start = Date.parse(series.period.timeInterval.start);
      for (const p of series.period.points) {
        const q = p.quantity ?? '';
        if (!/^\d+\.\d{3}$/.test(q)) throw new Error(`quantity ${q} is not kWh with three decimals`);
        lines.push(`${series.meteringPointId},${new Date(start + (p.position - 1) * QUARTER_MS).toISOString()},${Number(q.replace('.', ''))}`);
      }
    }
  }
  return { csv: `${lines.join('\n')}\n`, values: lines.length };
}

/** psql `\copy table FROM STDIN` of `csv`; resolves with the wall time of the whole psql run. */
function psqlCopy(url: string, table: string, csv: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = now();
    const child = spawn('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy ${table} (gsrn, interval_start, wh) FROM STDIN WITH (FORMAT csv)`], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(msSince(start)) : reject(new Error(`psql \\copy exited ${code}: ${stderr.trim()}`))));
    child.stdin.end(csv);
  });
}

/** Highest resident set size seen while `sampling` is on (every 50 ms), in bytes. */
class RssSampler {
  peak = 0;
  private timer: NodeJS.Timeout | null = null;

  start(): void {
    this.peak = process.memoryUsage.rss();
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, process.memoryUsage.rss());
    }, 50);
  }

  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
    return this.peak;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); 0 when it is gone. */
function procCpuSeconds(pid: number): number {
  return (processCpuMs(pid) ?? 0) / 1000;
}

/** Process ids whose command name is `name` (from /proc). */
function pidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/**
 * Diagnosis (`BENCH_INGEST_STAGES=1`): CPU seconds used during the measured run by this process (inbox, relay and
 * consumer), the simulator's process, the PostgreSQL backends of the bench database plus the server's own processes
 * (WAL writer, checkpointer: shared with anything else on the server), and RabbitMQ (shared).
 */
async function cpuSnapshot(pool: Pool, dbName: string, simPid: number | null, consumerPid: number | null): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1 OR backend_type NOT IN ('client backend')`, [dbName]);
  const self = process.cpuUsage();
  return {
    [consumerPid === null ? 'bench process (inbox, relay, consumer)' : 'bench process (inbox, relay)']: (self.user + self.system) / 1e6,
    ...(consumerPid === null ? {} : { 'consumer process': procCpuSeconds(consumerPid) }),
    simulator: simPid === null ? 0 : procCpuSeconds(simPid),
    'PostgreSQL (this database + server processes)': rows.reduce((sum, r) => sum + procCpuSeconds(r.pid), 0),
    'RabbitMQ (beam.smp, shared)': pidsNamed('beam.smp').reduce((sum, pid) => sum + procCpuSeconds(pid), 0),
  };
}

const mib = (bytes: number): string => `${Math.round(bytes / 1024 / 1024)} MiB`;

interface SizeResult {
  meteringPoints: number;
  values: number;
  e2e: number;
  copy: number;
}

async function runSize(cleanup: Cleanup, meteringPoints: number): Promise<SizeResult> {
  const db = await createBenchDatabase('ingest');
  cleanup.add(`drop database ${db.name}`, () => db.drop());
  const vhost = await createBenchVhost('ingest');
  cleanup.add(`delete vhost ${vhost.name}`, () => vhost.drop());

  const pool = new Pool({ connectionString: db.url, max: 10 });
  pool.on('error', () => undefined);
  let store: PostgresEventStore | null = null;
  let sim: BenchSimulator | null = null;
  let connection: AmqpConnection | null = null;
  let relay: EventRelay | null = null;
  let consumer: BenchConsumer | null = null;
  try {
    store = await createPostgresEventStore({ pool, schema: 'event_store' });
    const quarantine = new QuarantineStore(pool);
    await quarantine.migrate();
    const received = new ReceivedMessageStore(pool);
    await received.migrate();
    await migrateSettlement(pool);
    sim = await startSimulator(scenario(meteringPoints));
    const inbox = new RecordingInbox(new DataHubClient({ baseUrl: sim.url, ...CLIENT, scope: 'datahub3' }));
    const inboxStore = timedStore(store);
    const consumerStore = timedStore(store);
    const worker = new DataHubInboxWorker({
      client: inbox,
      categories: ['measuredata'],
      eventStore: inboxStore.store,
      quarantine,
      // BENCH_INGEST_RECORD_FIRST=1: record first, act after (the service with DATAHUB_INBOX_RECORD_FIRST=1).
      ...(RECORD_FIRST ? { received } : {}),
      idleDelayMs: 50,
      onError: (error, stage) => benchLogger.warn(`inbox ${stage}: ${error instanceof Error ? error.message : String(error)}`),
    });
    connection = new AmqpConnection({ url: vhost.url, connectionName: 'bench-ingest', initialMaxAttempts: 3, logger: benchLogger });
    await connection.connect();
    const businessNow = '2026-04-20T06:00:00Z';
    if (!CONSUMER_PROCESS) {
      const running = await startMeteredDataConsumer({ connection, pool, store: consumerStore.store, exchange: DEFAULT_EVENT_EXCHANGE, now: () => new Date(businessNow) });
      consumer = { stats: () => running.stats(), appendMs: consumerStore.ms, resetTimes: () => consumerStore.reset(), pid: null, stop: () => running.stop() };
    } else {
      consumer = await forkConsumer(db.url, vhost.url, businessNow);
    }
    const recorder = consumer;
    relay = createRelay({ eventStore: store, connection, pool, name: 'bench-ingest', logger: benchLogger });
    await relay.start();

    const documentsPerDay = Math.ceil(meteringPoints / SERIES_PER_DOCUMENT);
    const applied = (): number => recorder.stats().applied;
    const drain = async (days: number, what: string): Promise<{ inboxMs: number; end: bigint }> => {
      const target = applied() + meteringPoints * days;
      const start = now();
      const polled = await worker.pollOnce();
      const inboxMs = msSince(start);
      if (polled.stored !== documentsPerDay * days || polled.quarantined > 0 || polled.errors > 0) {
        throw new Error(`${what}: the inbox stored ${polled.stored} of ${documentsPerDay * days} documents (quarantined ${polled.quarantined}, errors ${polled.errors})`);
      }
      await waitUntil(
        () => applied() >= target || recorder.stats().halted !== null || recorder.stats().deadLettered > 0,
        TIMEOUT_MS,
        () => `${what}: settlement to record ${meteringPoints * days} series (recorded ${applied() - (target - meteringPoints * days)})`,
        5,
      );
      const stats = recorder.stats();
      if (stats.halted || stats.deadLettered > 0) throw new Error(`metered-data consumer: halted ${stats.halted ?? '-'}, dead-lettered ${stats.deadLettered}, ${stats.lastError ?? ''}`);
      return { inboxMs, end: now() };
    };

    // Warm-up: the first day of every metering point (connections, token, JIT, consumer paths).
    await sim.advanceTo(localDayStart(addDays(FIRST_DAY, 1)));
    await drain(1, 'warm-up');

    // The measured run: DAYS more days, all waiting in DataHub's queue before the first peek.
    await sim.advanceTo(localDayStart(addDays(FIRST_DAY, 1 + DAYS)));
    const values = meteringPoints * DAYS * VALUES_PER_DAY;
    const rss = new RssSampler();
    inbox.recording = true;
    inboxStore.reset();
    recorder.resetTimes();
    const timer = STAGES ? startQueryTimer() : null;
    const cpuBefore = STAGES ? await cpuSnapshot(pool, db.name, sim.pid, recorder.pid) : null;
    const profiler = PROFILE_DIR ? new Session() : null;
    if (profiler) {
      profiler.connect();
      await new Promise<void>((resolve) => profiler.post('Profiler.enable', () => profiler.post('Profiler.setSamplingInterval', { interval: 200 }, () => profiler.post('Profiler.start', () => resolve()))));
    }
    rss.start();
    const started = now();
    // Diagnosis: every 250 ms, series stored by the inbox (events appended), published by the relay, recorded by the consumer.
    const timeline: string[] = [];
    const relayAtStart = relay.stats().published;
    const appliedAtStart = applied();
    const sampler = STAGES
      ? setInterval(() => {
          timeline.push(`${fmt(msSince(started), 'ms')}: peeked ${inbox.bodies.length}, inbox ${inboxStore.ms.streams} streams, relay ${(relay?.stats().published ?? 0) - relayAtStart}, consumer ${applied() - appliedAtStart}`);
        }, 250)
      : null;
    const run = await drain(DAYS, 'measured run');
    if (sampler) clearInterval(sampler);
    if (profiler && PROFILE_DIR) {
      const profile = await new Promise<unknown>((resolve, reject) => profiler.post('Profiler.stop', (error, r) => (error ? reject(error) : resolve(r.profile))));
      writeFileSync(path.join(PROFILE_DIR, `ingest-${meteringPoints}.cpuprofile`), JSON.stringify(profile));
      profiler.disconnect();
    }
    const cpuAfter = cpuBefore ? await cpuSnapshot(pool, db.name, sim.pid, recorder.pid) : null;
    const peakRss = rss.stop();
    const e2eMs = Number(run.end - (inbox.firstPeekAt ?? started)) / 1e6;
    if (timer) {
      timer.restore();
      const inboxOther = run.inboxMs - inbox.peekMs - inbox.dequeueMs - inboxStore.ms.read - inboxStore.ms.append;
      log(
        `  N = ${meteringPoints}: stages (wall time, the inbox and the consumer overlap${RECORD_FIRST ? '; record first: the store steps overlap the peeks, "the rest" includes keeping each message' : ''}): inbox ${fmt(run.inboxMs, 'ms')} = peek (HTTP; the simulator renders the XML) ${fmt(inbox.peekMs, 'ms')} ` +
          `+ duplicate check ${fmt(inboxStore.ms.read, 'ms')} + append ${fmt(inboxStore.ms.append, 'ms')} + dequeue ${fmt(inbox.dequeueMs, 'ms')} + parse, events and the rest ${fmt(inboxOther, 'ms')}; ` +
          (recorder.appendMs
            ? `consumer appends ${fmt(recorder.appendMs.append, 'ms')} (${recorder.appendMs.appends} appends of ${recorder.appendMs.streams} streams), stream reads ${fmt(recorder.appendMs.read, 'ms')}; `
            : 'the consumer in its own process (its statements are not timed here); ') +
          `the last series recorded ${fmt(e2eMs - run.inboxMs, 'ms')} after the inbox was done`,
      );
      if (cpuBefore && cpuAfter) {
        const wall = Number(run.end - started) / 1e9;
        const parts = Object.keys(cpuAfter).map((k) => `${k} ${((cpuAfter[k] ?? 0) - (cpuBefore[k] ?? 0)).toFixed(2)} s`);
        log(`  N = ${meteringPoints}: CPU during the measured run (${wall.toFixed(2)} s wall, 2 cores = ${(2 * wall).toFixed(2)} CPU-s): ${parts.join(', ')}`);
      }
      log(`  N = ${meteringPoints}: timeline (every 250 ms): ${timeline.join(' | ')}`);
      log(`  N = ${meteringPoints}: database time of the measured run by statement (wall time of each, summed; they overlap):`);
      for (const line of timer.report()) log(line);
    }
    inbox.recording = false;

    const { rows } = await pool.query<{ days: string; values: string }>(
      `SELECT count(*)::text AS days, coalesce(sum(coalesce(array_length(wh, 1), jsonb_array_length(points))), 0)::text AS values FROM settlement.metered_data`,
    );
    const expectedDays = meteringPoints * (DAYS + 1);
    if (Number(rows[0]?.days) !== expectedDays || Number(rows[0]?.values) !== expectedDays * VALUES_PER_DAY) {
      throw new Error(`settlement.metered_data holds ${rows[0]?.days} days / ${rows[0]?.values} values, expected ${expectedDays} / ${expectedDays * VALUES_PER_DAY}`);
    }
    if (inbox.bodies.length !== documentsPerDay * DAYS) throw new Error(`recorded ${inbox.bodies.length} message bodies, expected ${documentsPerDay * DAYS}`);
    const e2e = (values / e2eMs) * 1000;
    log(
      `  N = ${meteringPoints}: ${meteringPoints} metering points × ${DAYS} days × ${VALUES_PER_DAY} = ${values.toLocaleString('en-US')} values in ${inbox.bodies.length} documents ` +
        `of ≤ ${SERIES_PER_DOCUMENT} series: first peek → last series in settlement's metered data ${fmt(e2eMs, 'ms')} = ${fmt(e2e, 'values/s')}; ` +
        `inbox (peek, parse, append, dequeue) done after ${fmt(run.inboxMs, 'ms')}; peak RSS ${mib(peakRss)}`,
    );

    // Baseline: COPY of the same values into a plain table (after the pipeline is idle).
    await relay.stop();
    relay = null;
    await consumer.stop();
    consumer = null;
    const { csv, values: copyValues } = copyRows(inbox.bodies);
    if (copyValues !== values) throw new Error(`COPY baseline: ${copyValues} values, expected ${values}`);
    await pool.query(`CREATE TABLE bench_copy (gsrn text NOT NULL, interval_start timestamptz NOT NULL, wh int NOT NULL)`);
    const overheads: number[] = [];
    const copies: number[] = [];
    for (let round = 0; round < COPY_ROUNDS; round++) {
      await delay(20);
      await pool.query('TRUNCATE bench_copy');
      overheads.push(await psqlCopy(db.url, 'bench_copy', ''));
      copies.push(await psqlCopy(db.url, 'bench_copy', csv));
      const { rows: counted } = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM bench_copy');
      if (Number(counted[0]?.n) !== values) throw new Error(`COPY stored ${counted[0]?.n} rows, expected ${values}`);
    }
    const copyMs = Math.max(1, median(copies) - median(overheads));
    const copy = (values / copyMs) * 1000;
    log(
      `  N = ${meteringPoints}: COPY of the same ${values.toLocaleString('en-US')} rows (${(csv.length / 1e6).toFixed(1)} MB CSV): ` +
        `psql runs ${copies.map((c) => fmt(c, 'ms')).join(' / ')}, an empty COPY ${overheads.map((c) => fmt(c, 'ms')).join(' / ')} → ${fmt(copy, 'values/s')}`,
    );
    return { meteringPoints, values, e2e, copy };
  } finally {
    await relay?.stop().catch(() => undefined);
    await consumer?.stop().catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await sim?.stop().catch(() => undefined);
    await store?.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}

export async function runIngestBench(cleanup: Cleanup): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const sizes: SizeResult[] = [];
  for (const n of SIZES) {
    const size = await runSize(cleanup, n);
    sizes.push(size);
    results.push(
      result(`ingest e2e N=${n} × ${DAYS}d PT15M (${size.values / 1000}k values) → settlement`, size.e2e, size.copy, 'values/s', true, 'psql COPY of the same rows'),
    );
  }
  if (sizes.length >= 2) {
    const first = sizes[0]!;
    const last = sizes[sizes.length - 1]!;
    log(
      `  cost per value from N = ${first.meteringPoints} to N = ${last.meteringPoints}: ` +
        `${fmt(1e6 / first.e2e, 'µs')} → ${fmt(1e6 / last.e2e, 'µs')} (×${(first.e2e / last.e2e).toFixed(2)})`,
    );
  }
  return results;
}
