import { loadavg } from 'node:os';
import { delay, fmt, log, msSince, now, percentileSorted, result, summarizeLatencies, tailStages, waitUntil, type BenchResult, type LatencySummary } from './measure';
import { AMQP_NO_DELAY, AMQP_ONE_WRITE_PER_TURN, envelopeBody, pipelineDatabaseUrl, RawAmqp, type PipelineHarness } from './pipeline-harness';
import { cpuOf, processCpuMs } from './process-cpu';
import { forkLagChild, LOOP_MONITOR_RESOLUTION_MS, NO_LOOP_FIGURES, processMonitor, type AppliedItem, type EventLoopDelay, type LagChild, type LagChildMessage } from './lag-processes';

/**
 * End-to-end lag at an offered rate from concurrent appenders. `APPENDERS` loops share one schedule
 * of RATE appends a second: each takes the next slot, waits for its due time (or goes at once when
 * behind) and appends one event to its own stream, as many users' commands would; an append that
 * takes long delays only its own loop. `sentAtNs` (process.hrtime) is taken just before the append
 * and carried in the event; an event's lag ends when the consumer's transaction that applied it has
 * committed (the consumer's `afterCommit`): its read-model row is then visible. Relay and consumer run
 * all the time, woken by NOTIFY. A per-second timeline shows offered, appended and applied events, the
 * backlog (appended but not applied) at the end of each second and the p99 lag of the events applied in it.
 *
 * Topology (BENCH_LAG_TOPOLOGY): `processes` (default) runs the appenders, the relay and the consumer each in a
 * child process, as the services do (appends come from the services, the relay runs in its service, projections
 * in theirs); this process only collects the times, so its bookkeeping of every event (maps of 30,000 entries,
 * full collections of 100 ms and more on the loaded machine) stays out of the pipeline's heaps. `single` runs
 * all three in this process. Every time is `process.hrtime.bigint()`, CLOCK_MONOTONIC on Linux: one clock for all
 * processes of the machine. Printed per process: event-loop delay beyond the monitor's timer, CPU and GC pauses;
 * the mean of each stage over the slowest 1 %; PostgreSQL's checkpoints and WAL over the measured seconds; the CPU
 * time per appended event of each process of the path (PostgreSQL's backends of this run's database, and the broker
 * when BENCH_BROKER_PID names its process) over the measured seconds.
 * Baseline: the same rate of the same bodies through a raw amqplib confirm channel → queue → consumer.
 */

const RATE = Number(process.env.BENCH_LAG_RATE ?? 1_000);
const SECONDS = Number(process.env.BENCH_LAG_SECONDS ?? 30);
const APPENDERS = Number(process.env.BENCH_LAG_APPENDERS ?? 32);
const WARMUP_SECONDS = 2;
const TOPOLOGY: 'processes' | 'single' = process.env.BENCH_LAG_TOPOLOGY === 'single' ? 'single' : 'processes';
const DRAIN_TIMEOUT_MS = 60_000;
/** BENCH_LAG_RAW=0: leaves out the raw amqplib baseline (30 s more), for back-to-back comparisons of the pipeline. */
const RAW_BASELINE = process.env.BENCH_LAG_RAW !== '0';
/** The RabbitMQ server's process (beam.smp) whose CPU to count per event; the broker serves other connections too. */
const BROKER_PID = process.env.BENCH_BROKER_PID ? Number(process.env.BENCH_BROKER_PID) : null;

/** Offers RATE sends a second for `seconds` from `concurrency` loops sharing one schedule. Returns how many were sent and how long it took. */
async function offered(seconds: number, concurrency: number, send: (i: number) => Promise<void>): Promise<{ sent: number; ms: number }> {
  const start = now();
  const total = Math.round(RATE * seconds);
  let next = 0;
  const loop = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const wait = (i * 1000) / RATE - msSince(start);
      if (wait >= 1) await delay(wait);
      await send(i);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { sent: total, ms: msSince(start) };
}

function sentAt(data: { [key: string]: unknown }): bigint | null {
  const value = data.sentAtNs;
  return typeof value === 'string' ? BigInt(value) : null;
}

interface Second {
  offered: number;
  appended: number;
  applied: number;
  lags: number[];
}

interface PipelineLag {
  total: LatencySummary;
  /** Wall clock: sentAtMs → recordedAt (the row's clock_timestamp(), ms precision): the append itself. */
  append: LatencySummary;
  /** Wall clock: recordedAt → handler: commit, relay read, publish, broker, queue wait, inbox transaction. */
  afterRecord: LatencySummary;
  timeline: { second: number; offered: number; appended: number; applied: number; backlog: number; p99: number }[];
  /** Appends per second actually made over the measured period. */
  achievedRate: number;
  /** Where the time goes, per event (hrtime, ms): named stages in pipeline order. */
  stages: { name: string; summary: LatencySummary }[];
  /** Event-loop delay over the measured seconds, ms, per process (one process in the `single` topology). */
  eventLoops: { name: string; delay: EventLoopDelay }[];
  /** The slowest 1 % of events (lag at or above p99): each stage's mean over them, ms, in pipeline order. */
  tail: { name: string; meanMs: number }[];
  /** PostgreSQL's WAL and checkpoint counters over the measured seconds (the whole server's, not only this run's). */
  database: DatabaseActivity | null;
  /** CPU time per appended event over the measured seconds, µs, per process (or group of processes) of the path. */
  cpuPerEvent: { name: string; us: number }[];
}

/**
 * CPU time (ms) of PostgreSQL's backends serving this run's database (every pool of the run) and of the broker over
 * a period. Read every 500 ms, each backend's last reading kept: a pool ended at the period's end (the appenders')
 * takes its backends with it, and a process that is gone has no /proc entry to read. A backend first seen after the
 * start started meanwhile and counts whole.
 */
function serverCpuSampler(harness: PipelineHarness): { start(): void; stop(): Promise<{ backends: { role: string; count: number; ms: number }[]; brokerMs: number | null } | null> } {
  const first = new Map<number, number>();
  const latest = new Map<number, number>();
  /** Each backend's role: its pool's application_name (`bench-lag-appenders`, `-relay`, `-consumer`), else `other`. */
  const roles = new Map<number, string>();
  let brokerFirst: number | null = null;
  let brokerLatest: number | null = null;
  let timer: NodeJS.Timeout | null = null;
  let failed = false;
  let reading: Promise<void> = Promise.resolve();
  const read = (initial: boolean): Promise<void> =>
    harness.pool.query<{ pid: number; application_name: string }>('SELECT pid, application_name FROM pg_stat_activity WHERE datname = current_database()').then(
      ({ rows }) => {
        for (const row of rows) roles.set(row.pid, row.application_name.startsWith('bench-lag-') ? row.application_name.slice('bench-lag-'.length) : 'other');
        for (const [pid, ms] of cpuOf(rows.map((row) => row.pid))) {
          if (!first.has(pid)) first.set(pid, initial ? ms : 0);
          latest.set(pid, ms);
        }
        const broker = BROKER_PID === null ? null : processCpuMs(BROKER_PID);
        if (initial) brokerFirst = broker;
        brokerLatest = broker;
      },
      () => {
        failed = true;
      },
    );
  return {
    start() {
      reading = read(true);
      timer = setInterval(() => {
        reading = reading.then(() => read(false));
      }, 500);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await reading;
      await read(false);
      if (failed) return null;
      const byRole = new Map<string, { role: string; count: number; ms: number }>();
      for (const [pid, ms] of latest) {
        const role = roles.get(pid) ?? 'other';
        const entry = byRole.get(role) ?? { role, count: 0, ms: 0 };
        entry.count++;
        entry.ms += ms - (first.get(pid) ?? 0);
        byRole.set(role, entry);
      }
      return { backends: [...byRole.values()], brokerMs: brokerFirst !== null && brokerLatest !== null ? brokerLatest - brokerFirst : null };
    },
  };
}

/** Differences of `pg_stat_wal` and `pg_stat_bgwriter` over a period (server-wide). */
interface DatabaseActivity {
  checkpointsTimed: number;
  checkpointsRequested: number;
  walRecords: number;
  walFullPageImages: number;
  walBytes: number;
  walSyncs: number;
  /** Summed time in WAL fsyncs, ms: 0 unless `track_wal_io_timing` is on. */
  walSyncMs: number;
  trackWalIoTiming: boolean;
}

type DatabaseCounters = DatabaseActivity;

async function databaseCounters(harness: PipelineHarness): Promise<DatabaseCounters | null> {
  try {
    const { rows } = await harness.pool.query<{ timed: string; requested: string; records: string; fpi: string; bytes: string; syncs: string; sync_ms: string; tracking: string }>(
      `SELECT b.checkpoints_timed::text AS timed, b.checkpoints_req::text AS requested, w.wal_records::text AS records, w.wal_fpi::text AS fpi,
              w.wal_bytes::text AS bytes, w.wal_sync::text AS syncs, w.wal_sync_time::text AS sync_ms, current_setting('track_wal_io_timing') AS tracking
         FROM pg_stat_bgwriter b, pg_stat_wal w`,
    );
    const r = rows[0];
    return {
      checkpointsTimed: Number(r.timed),
      checkpointsRequested: Number(r.requested),
      walRecords: Number(r.records),
      walFullPageImages: Number(r.fpi),
      walBytes: Number(r.bytes),
      walSyncs: Number(r.syncs),
      walSyncMs: Number(r.sync_ms),
      trackWalIoTiming: r.tracking === 'on',
    };
  } catch {
    return null;
  }
}

function activityBetween(before: DatabaseCounters | null, after: DatabaseCounters | null): DatabaseActivity | null {
  if (!before || !after) return null;
  return {
    checkpointsTimed: after.checkpointsTimed - before.checkpointsTimed,
    checkpointsRequested: after.checkpointsRequested - before.checkpointsRequested,
    walRecords: after.walRecords - before.walRecords,
    walFullPageImages: after.walFullPageImages - before.walFullPageImages,
    walBytes: after.walBytes - before.walBytes,
    walSyncs: after.walSyncs - before.walSyncs,
    walSyncMs: after.walSyncMs - before.walSyncMs,
    trackWalIoTiming: after.trackWalIoTiming,
  };
}

/** Waits for a child's message of the given kind (or its failure or exit). */
function childEvent(child: LagChild, kinds: LagChildMessage['kind'][], timeoutMs: number, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    const onMessage = (message: LagChildMessage): void => {
      if (message.kind === 'failed') {
        cleanup();
        reject(new Error(`${what}: ${message.message}`));
      } else if (kinds.includes(message.kind)) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`${what}: the child process exited (${code ?? 'signal'})`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.process.off('message', onMessage);
      child.process.off('exit', onExit);
    };
    child.process.on('message', onMessage);
    child.process.on('exit', onExit);
  });
}

async function pipelineLag(harness: PipelineHarness, databaseUrl: string, amqpUrl: string): Promise<PipelineLag> {
  const samples: number[] = [];
  const appendSamples: number[] = [];
  const afterSamples: number[] = [];
  const seconds: Second[] = Array.from({ length: SECONDS + 60 }, () => ({ offered: 0, appended: 0, applied: 0, lags: [] }));
  let measureStart: bigint | null = null;
  const secondOf = (at: bigint): Second | undefined => (measureStart === null ? undefined : seconds[Math.floor(Number(at - measureStart) / 1e9)]);
  let seen = 0;
  const unseen = new Set<string>();
  // Stages: sent → append returned → relay read it from the log → it reached the observer queue (BENCH_LAG_OBSERVE=1) → handler → committed.
  const appendedAt = new Map<string, bigint>();
  const relayReadAt = new Map<string, bigint>();
  harness.relayReadAt = relayReadAt;
  const stageSamples = {
    append: [] as number[],
    toRelay: [] as number[],
    publish: [] as number[],
    consume: [] as number[],
    relayToHandler: [] as number[],
    commit: [] as number[],
  };
  const ms = (from: bigint, to: bigint) => Number(to - from) / 1e6;
  const handled = new Map<string, { sent: bigint; handler: bigint; at: bigint }>();
  const onApplied = ([eventId, sentText, handlerText, atText, recordedAt, sentAtMs, wallAt]: AppliedItem): void => {
    const sent = BigInt(sentText);
    const handlerAt = BigInt(handlerText);
    const at = BigInt(atText);
    seen++;
    unseen.delete(eventId);
    const lag = Number(at - sent) / 1e6;
    samples.push(lag);
    handled.set(eventId, { sent, handler: handlerAt, at });
    const bucket = secondOf(at);
    if (bucket) {
      bucket.applied++;
      bucket.lags.push(lag);
    }
    if (sentAtMs !== null) appendSamples.push(recordedAt - sentAtMs);
    afterSamples.push(wallAt - recordedAt);
  };
  harness.onApplied((envelope, handlerAt, at) => {
    const wallAt = Date.now();
    const sent = sentAt(envelope.data);
    if (sent === null || envelope.data.phase !== 'measure') return;
    const sentAtMs = envelope.data.sentAtMs;
    onApplied([envelope.eventId, sent.toString(), handlerAt.toString(), at.toString(), Date.parse(envelope.recordedAt), typeof sentAtMs === 'number' ? sentAtMs : null, wallAt]);
  });
  // BENCH_LAG_OBSERVE=1: a second queue records what the relay published, so a timeout tells a lost publish from a lost delivery.
  if (process.env.BENCH_LAG_OBSERVE === '1') await harness.observe(amqpUrl);
  const eventLoops: PipelineLag['eventLoops'] = [];
  const children: LagChild[] = [];
  let relayChild: LagChild | null = null;
  let consumerChild: LagChild | null = null;
  let achievedRate = 0;
  const monitor = processMonitor();
  let measured: EventLoopDelay = NO_LOOP_FIGURES;
  let countersBefore: Promise<DatabaseCounters | null> = Promise.resolve(null);
  let countersAfter: Promise<DatabaseCounters | null> = Promise.resolve(null);
  const server = serverCpuSampler(harness);
  let serverMeasured: ReturnType<typeof server.stop> = Promise.resolve(null);
  let measuredRun: { sent: number; ms: number } | null = null;
  try {
    let run: { sent: number; ms: number };
    if (TOPOLOGY === 'processes') {
      const childUrl = pipelineDatabaseUrl(databaseUrl);
      // The consumer in a process of its own: this process's consumer gives up the queue (single active consumer).
      await harness.stopConsumer();
      let consumerLoop: EventLoopDelay | null = null;
      let consumerHalted: string | null = null;
      const consumer = forkLagChild('lag-consumer.process', { kind: 'consumer', databaseUrl: childUrl, amqpUrl, noDelay: AMQP_NO_DELAY }, (message) => {
        if (message.kind === 'applied') for (const item of message.items) onApplied(item);
        else if (message.kind === 'consumerMeasured') consumerLoop = message.eventLoop;
        else if (message.kind === 'consumerStopped') consumerHalted = message.halted;
      });
      consumerChild = consumer;
      children.push(consumer);
      await childEvent(consumer, ['consumerRunning'], 60_000, 'the consumer process to start');
      let relayLoop: EventLoopDelay | null = null;
      let relayMeasured: EventLoopDelay | null = null;
      const relay = forkLagChild('lag-relay.process', { kind: 'relay', databaseUrl: childUrl, amqpUrl, noDelay: AMQP_NO_DELAY }, (message) => {
        if (message.kind === 'read') for (const [eventId, readText] of message.items) relayReadAt.set(eventId, BigInt(readText));
        else if (message.kind === 'relayMeasured') relayMeasured = message.eventLoop;
        else if (message.kind === 'relayStopped') relayLoop = message.eventLoop;
      });
      relayChild = relay;
      children.push(relay);
      await childEvent(relay, ['relayRunning'], 60_000, 'the relay process to start');
      let appendersLoop: EventLoopDelay | null = null;
      let done: { sent: number; ms: number } | null = null;
      const appenders = forkLagChild(
        'lag-appenders.process',
        { kind: 'appenders', databaseUrl: childUrl, rate: RATE, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, appenders: APPENDERS },
        (message) => {
          if (message.kind === 'measureStart') {
            measureStart = BigInt(message.atNs);
            monitor.start();
            consumer.send({ kind: 'measureStart' });
            relay.send({ kind: 'measureStart' });
            countersBefore = databaseCounters(harness);
            server.start();
          } else if (message.kind === 'appended') {
            for (const [eventId, sentText, appendedText] of message.items) {
              const sentNs = BigInt(sentText);
              const appendedNs = BigInt(appendedText);
              const slot = secondOf(sentNs);
              if (slot) slot.offered++;
              const finished = secondOf(appendedNs);
              if (finished) finished.appended++;
              appendedAt.set(eventId, appendedNs);
              if (!handled.has(eventId)) unseen.add(eventId);
            }
          } else if (message.kind === 'done') {
            measured = monitor.stop();
            consumer.send({ kind: 'measureEnd' });
            relay.send({ kind: 'measureEnd' });
            countersAfter = databaseCounters(harness);
            serverMeasured = server.stop();
            appendersLoop = message.eventLoop;
            done = { sent: message.sent, ms: message.ms };
          }
        },
      );
      children.push(appenders);
      await childEvent(appenders, ['done'], (WARMUP_SECONDS + SECONDS) * 1000 + DRAIN_TIMEOUT_MS, 'the appenders process');
      if (!done) throw new Error('the appenders process reported no result');
      run = done;
      await appenders.exited;
      eventLoops.push({ name: 'appenders process', delay: appendersLoop ?? NO_LOOP_FIGURES });
      eventLoops.push({ name: 'this process (collects the times)', delay: measured });
      const stopRelay = async (): Promise<void> => {
        const stopped = childEvent(relay, ['relayStopped'], 30_000, 'the relay process to stop');
        relay.send({ kind: 'stop' });
        await stopped;
        await relay.exited;
        eventLoops.push({ name: 'relay process', delay: relayMeasured ?? NO_LOOP_FIGURES });
        eventLoops.push({ name: 'relay process (whole run)', delay: relayLoop ?? NO_LOOP_FIGURES });
      };
      const stopConsumer = async (): Promise<void> => {
        const stopped = childEvent(consumer, ['consumerStopped'], 30_000, 'the consumer process to stop');
        consumer.send({ kind: 'stop' });
        await stopped;
        await consumer.exited;
        eventLoops.push({ name: 'consumer process', delay: consumerLoop ?? NO_LOOP_FIGURES });
      };
      await waitForApplied(harness, () => seen, run.sent, unseen, () => consumerHalted, stopRelay);
      relayChild = null;
      await stopConsumer();
      consumerChild = null;
    } else {
      await harness.startRelay();
      const append = (phase: string) => async (): Promise<void> => {
        const sentNs = now();
        const slot = phase === 'measure' ? secondOf(sentNs) : undefined;
        if (slot) slot.offered++;
        const event = harness.newEvent({ phase, sentAtMs: Date.now(), sentAtNs: sentNs.toString() });
        if (phase === 'measure') unseen.add(event.eventId);
        await harness.store.appendToStream(`bench-lag-${event.eventId}`, [event], { expectedRevision: 'no_stream' });
        const appendedNs = now();
        if (phase === 'measure') appendedAt.set(event.eventId, appendedNs);
        const finished = phase === 'measure' ? secondOf(appendedNs) : undefined;
        if (finished) finished.appended++;
      };
      await offered(WARMUP_SECONDS, APPENDERS, append('warmup'));
      measureStart = now();
      monitor.start();
      countersBefore = databaseCounters(harness);
      server.start();
      run = await offered(SECONDS, APPENDERS, append('measure'));
      measured = monitor.stop();
      countersAfter = databaseCounters(harness);
      serverMeasured = server.stop();
      eventLoops.push({ name: 'this process (appenders, relay, consumer)', delay: measured });
      await waitForApplied(harness, () => seen, run.sent, unseen, () => harness.halted(), () => harness.stopRelay());
    }
    achievedRate = (run.sent / run.ms) * 1000;
    measuredRun = run;
  } finally {
    harness.onApplied(null);
    await harness.stopRelay();
    for (const child of children) {
      if ((child === relayChild || child === consumerChild) && child.process.exitCode === null) {
        child.send({ kind: 'stop' });
        const exited = await Promise.race([child.exited.then(() => true), delay(10_000).then(() => false)]);
        if (!exited) child.process.kill();
      } else if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill();
    }
    harness.relayReadAt = null;
  }
  const timeline: PipelineLag['timeline'] = [];
  let appended = 0;
  let applied = 0;
  const last = seconds.reduce((end, s, i) => (s.offered + s.appended + s.applied > 0 ? i : end), 0);
  for (let i = 0; i <= last; i++) {
    const s = seconds[i];
    appended += s.appended;
    applied += s.applied;
    const sorted = [...s.lags].sort((a, b) => a - b);
    timeline.push({ second: i + 1, offered: s.offered, appended: s.appended, applied: s.applied, backlog: appended - applied, p99: sorted.length ? percentileSorted(sorted, 99) : Number.NaN });
  }
  const perEvent: { lag: number; stages: (number | undefined)[] }[] = [];
  for (const [eventId, { sent, handler, at }] of handled) {
    const appended = appendedAt.get(eventId);
    const read = relayReadAt.get(eventId);
    const observed = harness.observedAt?.get(eventId);
    if (appended !== undefined) stageSamples.append.push(ms(sent, appended));
    if (appended !== undefined && read !== undefined) stageSamples.toRelay.push(ms(appended, read));
    if (read !== undefined && observed !== undefined) stageSamples.publish.push(ms(read, observed));
    if (observed !== undefined) stageSamples.consume.push(ms(observed, handler));
    if (read !== undefined) stageSamples.relayToHandler.push(ms(read, handler));
    stageSamples.commit.push(ms(handler, at));
    perEvent.push({
      lag: ms(sent, at),
      stages: [
        appended !== undefined ? ms(sent, appended) : undefined,
        appended !== undefined && read !== undefined ? ms(appended, read) : undefined,
        read !== undefined ? ms(read, handler) : undefined,
        ms(handler, at),
      ],
    });
  }
  const total = summarizeLatencies(samples);
  const tail = tailStages(perEvent, ['sent → append returned', 'append returned → relay read', 'relay read → handler', 'handler → COMMIT returned'], total.p99);
  const stages = [
    { name: 'sent → append returned (commit)', summary: summarizeLatencies(stageSamples.append) },
    { name: 'append returned → relay read it (NOTIFY, wake-up, read horizon, read)', summary: summarizeLatencies(stageSamples.toRelay) },
    { name: 'relay read → handler (publish, broker, queue, inbox tx)', summary: summarizeLatencies(stageSamples.relayToHandler) },
  ];
  if (stageSamples.publish.length > 0) {
    stages.push(
      { name: '  of which relay read → at the observer queue (publish, routing)', summary: summarizeLatencies(stageSamples.publish) },
      { name: '  of which at the observer queue → handler (delivery, batch wait, inbox tx)', summary: summarizeLatencies(stageSamples.consume) },
    );
  }
  stages.push({ name: 'handler → COMMIT returned (end of the lag)', summary: summarizeLatencies(stageSamples.commit) });
  const database = activityBetween(await countersBefore, await countersAfter);
  const cpuPerEvent: PipelineLag['cpuPerEvent'] = [];
  if (measuredRun) {
    const { sent, ms: runMs } = measuredRun;
    // Each Node process measured its own share of a core over (about) the appenders' measured seconds.
    for (const { name, delay: d } of eventLoops) {
      if (name.endsWith('(whole run)') || name.startsWith('this process (collects') || Number.isNaN(d.cpuPercent)) continue;
      cpuPerEvent.push({ name, us: ((d.cpuPercent / 100) * runMs * 1000) / sent });
    }
    const measuredServer = await serverMeasured;
    if (measuredServer) {
      for (const { role, count, ms: backendMs } of measuredServer.backends) cpuPerEvent.push({ name: `PostgreSQL backends of the ${role} (${count})`, us: (backendMs * 1000) / sent });
      if (measuredServer.brokerMs !== null) cpuPerEvent.push({ name: `RabbitMQ (pid ${BROKER_PID}, all its connections)`, us: (measuredServer.brokerMs * 1000) / sent });
    }
  }
  return { total, append: summarizeLatencies(appendSamples), afterRecord: summarizeLatencies(afterSamples), timeline, achievedRate, stages, eventLoops, tail, database, cpuPerEvent };
}

/** Waits until every measured event was applied (naming the missing ones on a timeout), stopping the relay after. */
async function waitForApplied(
  harness: PipelineHarness,
  seen: () => number,
  sent: number,
  unseen: Set<string>,
  halted: () => string | null,
  stopRelay: () => Promise<void>,
): Promise<void> {
  try {
    await waitUntil(() => seen() >= sent || halted() !== null, DRAIN_TIMEOUT_MS, () => `the lag events to arrive (${seen()}/${sent})`);
  } catch (error) {
    log(`  not applied: ${await harness.describeEvents([...unseen].slice(0, 10))}`);
    throw error;
  }
  const reason = halted();
  if (reason) throw new Error(`projection consumer halted: ${reason}`);
  await stopRelay();
}

async function rawLag(amqpUrl: string): Promise<LatencySummary> {
  const raw = await RawAmqp.open(amqpUrl, 'lag', true);
  try {
    const samples: number[] = [];
    let measuring = false;
    let seen = 0;
    await raw.consume((message, at) => {
      const body: unknown = JSON.parse(message.content.toString('utf8'));
      if (typeof body !== 'object' || body === null || !('data' in body)) return;
      const data = (body as { data: { [key: string]: unknown } }).data;
      const sent = sentAt(data);
      if (sent === null || data.phase !== 'measure') return;
      seen++;
      if (measuring) samples.push(Number(at - sent) / 1e6);
    });
    const publish = (phase: string) => (i: number) => raw.publish(envelopeBody(i, { phase, sentAtNs: now().toString() }));
    await offered(WARMUP_SECONDS, 1, publish('warmup'));
    measuring = true;
    const { sent } = await offered(SECONDS, 1, publish('measure'));
    await raw.publisher.waitForConfirms();
    await waitUntil(() => seen >= sent, DRAIN_TIMEOUT_MS, () => `the raw lag messages to arrive (${seen}/${sent})`);
    return summarizeLatencies(samples);
  } finally {
    await raw.close();
  }
}

function describe(s: LatencySummary): string {
  return `n=${s.count} p50 ${fmt(s.p50, 'ms')} p99 ${fmt(s.p99, 'ms')} max ${fmt(s.max, 'ms')}`;
}

/** Backlog grows when the mean backlog of the last third of the offered seconds exceeds that of the first third by more than a second's events. */
function backlogGrows(timeline: PipelineLag['timeline']): boolean {
  const offeredSeconds = timeline.slice(0, SECONDS);
  const third = Math.max(1, Math.floor(offeredSeconds.length / 3));
  const mean = (xs: PipelineLag['timeline']) => xs.reduce((s, x) => s + x.backlog, 0) / xs.length;
  return mean(offeredSeconds.slice(-third)) - mean(offeredSeconds.slice(0, third)) > RATE;
}

const loadAverage = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');

export async function runLagBench(harness: PipelineHarness, databaseUrl: string, amqpUrl: string): Promise<BenchResult[]> {
  const loadBefore = loadAverage();
  const lag = await pipelineLag(harness, databaseUrl, amqpUrl);
  log(`  machine load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadAverage()}`);
  const pipeline = lag.total;
  const where = TOPOLOGY === 'processes' ? 'appenders, relay and consumer in 3 processes' : 'appenders, relay and consumer in 1 process';
  const options = `TCP_NODELAY on AMQP ${AMQP_NO_DELAY ? 'on' : 'off'}, AMQP frames ${AMQP_ONE_WRITE_PER_TURN ? 'written once per turn' : 'one write each'}, PostgreSQL over ${process.env.BENCH_PG_SOCKET ? `the Unix socket in ${process.env.BENCH_PG_SOCKET}` : 'TCP'}`;
  log(`  offered ${RATE} ev/s from ${APPENDERS} concurrent appenders for ${SECONDS} s (${where}; ${options}); appends made at ${fmt(lag.achievedRate, 'ev/s')}`);
  log('  lag = sent (before the append) → the consumer\'s transaction that applied the event has committed');
  log('  second  offered  appended  applied  backlog  p99 lag (applied in that second)');
  for (const s of lag.timeline) {
    log(`  ${String(s.second).padStart(6)}  ${String(s.offered).padStart(7)}  ${String(s.appended).padStart(8)}  ${String(s.applied).padStart(7)}  ${String(s.backlog).padStart(7)}  ${Number.isNaN(s.p99) ? '-' : fmt(s.p99, 'ms')}`);
  }
  log(`  backlog growing: ${backlogGrows(lag.timeline) ? 'YES' : 'no'}`);
  log(`  pipeline   : ${describe(pipeline)}`);
  log(`    of which append (sent → recordedAt, wall clock ms): ${describe(lag.append)}`);
  log(`    of which recordedAt → handler (relay, broker, queue, inbox tx): ${describe(lag.afterRecord)}`);
  log('  stages (same clock, per event):');
  for (const stage of lag.stages) log(`    ${stage.name}: ${describe(stage.summary)}`);
  log(`  the slowest 1 % (lag ≥ p99), mean per stage: ${lag.tail.map((t) => `${t.name} ${fmt(t.meanMs, 'ms')}`).join('; ')}`);
  for (const { name, delay: d } of lag.eventLoops) {
    log(
      `  event-loop delay (beyond its ${LOOP_MONITOR_RESOLUTION_MS} ms timer), ${name}, while offering: p50 ${fmt(d.p50, 'ms')} p99 ${fmt(d.p99, 'ms')} max ${fmt(d.max, 'ms')}; CPU ${d.cpuPercent.toFixed(0)} % of a core; GC ${d.gcCount} pauses, ${fmt(d.gcMs, 'ms')} in all, longest ${fmt(d.gcMaxMs, 'ms')}, of them ${d.gcMajorCount} full, longest ${fmt(d.gcMajorMaxMs, 'ms')}`,
    );
  }
  const db = lag.database;
  if (db) {
    const sync = db.trackWalIoTiming ? `, ${fmt(db.walSyncMs, 'ms')} in them (${fmt(db.walSyncs > 0 ? db.walSyncMs / db.walSyncs : Number.NaN, 'ms')} each)` : ' (track_wal_io_timing off: no sync time)';
    log(
      `  PostgreSQL while offering (whole server): checkpoints ${db.checkpointsTimed} timed + ${db.checkpointsRequested} requested; WAL ${db.walRecords} records, ${db.walFullPageImages} full-page images, ${(db.walBytes / 1048576).toFixed(1)} MiB; ${db.walSyncs} WAL syncs${sync}`,
    );
  }
  if (lag.cpuPerEvent.length > 0) {
    const sum = lag.cpuPerEvent.reduce((all, p) => all + p.us, 0);
    log(`  CPU per appended event while offering: ${lag.cpuPerEvent.map((p) => `${p.name} ${p.us.toFixed(0)} µs`).join('; ')}; in all ${sum.toFixed(0)} µs`);
  }
  const raw: LatencySummary = RAW_BASELINE ? await rawLag(amqpUrl) : { count: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  log(`  raw amqplib (TCP_NODELAY): ${RAW_BASELINE ? describe(raw) : 'left out (BENCH_LAG_RAW=0)'}`);
  const label = `${RATE} ev/s (${APPENDERS} appenders${TOPOLOGY === 'single' ? ', 1 process' : ''}) for ${SECONDS} s`;
  return [
    result(`lag p50 at ${label}`, pipeline.p50, raw.p50, 'ms', false, 'raw amqplib p50'),
    result(`lag p99 at ${label}`, pipeline.p99, raw.p99, 'ms', false, 'raw amqplib p99'),
    result(`lag max at ${label}`, pipeline.max, raw.max, 'ms', false, 'raw amqplib max'),
  ];
}
