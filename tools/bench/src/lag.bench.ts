import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { delay, fmt, log, msSince, now, percentileSorted, result, summarizeLatencies, waitUntil, type BenchResult, type LatencySummary } from './measure';
import { envelopeBody, RawAmqp, type PipelineHarness } from './pipeline-harness';
import type { LagAppendersInput, LagAppendersMessage } from './lag-appenders.worker';

/**
 * End-to-end lag at an offered rate from concurrent appenders. `APPENDERS` loops share one schedule
 * of RATE appends a second: each takes the next slot, waits for its due time (or goes at once when
 * behind) and appends one event to its own stream, as many users' commands would; an append that
 * takes long delays only its own loop. `sentAtNs` (process.hrtime) is taken just before the append
 * and carried in the event; the projection handler takes the difference after its read-model write
 * (inside the inbox transaction, just before COMMIT). Relay and consumer run all the time, woken by
 * NOTIFY. A per-second timeline shows offered, appended and applied events, the backlog (appended
 * but not applied) at the end of each second and the p99 lag of the events applied in it.
 * Baseline: the same rate of the same bodies through a raw amqplib confirm channel → queue → consumer.
 */

const RATE = Number(process.env.BENCH_LAG_RATE ?? 1_000);
const SECONDS = Number(process.env.BENCH_LAG_SECONDS ?? 30);
const APPENDERS = Number(process.env.BENCH_LAG_APPENDERS ?? 32);
const WARMUP_SECONDS = 2;
/** BENCH_LAG_APPENDER_THREAD=1: the appenders run in a worker thread, off the relay's and consumer's event loop. */
const APPENDER_THREAD = process.env.BENCH_LAG_APPENDER_THREAD === '1';
const DRAIN_TIMEOUT_MS = 60_000;

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
  /** This process's event-loop delay over the measured seconds, ms (appenders, relay and consumer share it). */
  eventLoop: { p50: number; p99: number; max: number };
}

async function pipelineLag(harness: PipelineHarness, amqpUrl: string): Promise<PipelineLag> {
  const samples: number[] = [];
  const appendSamples: number[] = [];
  const afterSamples: number[] = [];
  const seconds: Second[] = Array.from({ length: SECONDS + 60 }, () => ({ offered: 0, appended: 0, applied: 0, lags: [] }));
  let measureStart: bigint | null = null;
  const secondOf = (at: bigint): Second | undefined => (measureStart === null ? undefined : seconds[Math.floor(Number(at - measureStart) / 1e9)]);
  let seen = 0;
  const unseen = new Set<string>();
  // Stages: sent → append returned → relay read it from the log → it reached the observer queue (BENCH_LAG_OBSERVE=1) → handler.
  const appendedAt = new Map<string, bigint>();
  const relayReadAt = new Map<string, bigint>();
  harness.relayReadAt = relayReadAt;
  const stageSamples = { append: [] as number[], toRelay: [] as number[], publish: [] as number[], consume: [] as number[], relayToHandler: [] as number[] };
  const ms = (from: bigint, to: bigint) => Number(to - from) / 1e6;
  const handled = new Map<string, { sent: bigint; at: bigint }>();
  harness.onApplied((envelope, at) => {
    const wallAt = Date.now();
    const sent = sentAt(envelope.data);
    if (sent === null || envelope.data.phase !== 'measure') return;
    seen++;
    unseen.delete(envelope.eventId);
    const lag = Number(at - sent) / 1e6;
    samples.push(lag);
    handled.set(envelope.eventId, { sent, at });
    const bucket = secondOf(at);
    if (bucket) {
      bucket.applied++;
      bucket.lags.push(lag);
    }
    const recordedAt = Date.parse(envelope.recordedAt);
    const sentAtMs = envelope.data.sentAtMs;
    if (typeof sentAtMs === 'number') appendSamples.push(recordedAt - sentAtMs);
    afterSamples.push(wallAt - recordedAt);
  });
  // BENCH_LAG_OBSERVE=1: a second queue records what the relay published, so a timeout tells a lost publish from a lost delivery.
  if (process.env.BENCH_LAG_OBSERVE === '1') await harness.observe(amqpUrl);
  await harness.startRelay();
  let achievedRate = 0;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  try {
    const append = (phase: string) => async (): Promise<void> => {
      const sentNs = now();
      const slot = phase === 'measure' ? secondOf(sentNs) : undefined;
      if (slot) slot.offered++;
      const event = harness.newEvent({ phase, sentAtMs: Date.now(), sentAtNs: sentNs.toString() });
      if (phase === 'measure') unseen.add(event.eventId);
      await harness.store.appendToStream(`bench-lag-${event.eventId}`, [event], { expectedRevision: 'no_stream' });
      const appendedNs = now();
      if (phase === 'measure') appendedAt.set(event.eventId, appendedNs);
      const done = phase === 'measure' ? secondOf(appendedNs) : undefined;
      if (done) done.appended++;
    };
    let run: { sent: number; ms: number };
    if (APPENDER_THREAD) {
      const connectionString = harness.pool.options.connectionString;
      if (!connectionString) throw new Error('the harness pool has no connection string');
      const input: LagAppendersInput = { databaseUrl: connectionString, rate: RATE, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, appenders: APPENDERS };
      const worker = new Worker(join(__dirname, 'lag-appenders.worker.js'), { workerData: input });
      try {
        run = await new Promise<{ sent: number; ms: number }>((resolve, reject) => {
          worker.on('error', reject);
          worker.on('message', (message: LagAppendersMessage) => {
            if (message.kind === 'measureStart') {
              measureStart = BigInt(message.atNs);
              loopDelay.enable();
            } else if (message.kind === 'appended') {
              for (const [eventId, sentText, appendedText] of message.items) {
                const sentNs = BigInt(sentText);
                const appendedNs = BigInt(appendedText);
                const slot = secondOf(sentNs);
                if (slot) slot.offered++;
                const done = secondOf(appendedNs);
                if (done) done.appended++;
                appendedAt.set(eventId, appendedNs);
                if (!handled.has(eventId)) unseen.add(eventId);
              }
            } else if (message.kind === 'done') {
              loopDelay.disable();
              resolve({ sent: message.sent, ms: message.ms });
            } else reject(new Error(`lag appenders: ${message.message}`));
          });
        });
      } finally {
        await worker.terminate();
      }
    } else {
      await offered(WARMUP_SECONDS, APPENDERS, append('warmup'));
      measureStart = now();
      loopDelay.enable();
      run = await offered(SECONDS, APPENDERS, append('measure'));
      loopDelay.disable();
    }
    achievedRate = (run.sent / run.ms) * 1000;
    try {
      await waitUntil(() => seen >= run.sent || harness.halted() !== null, DRAIN_TIMEOUT_MS, () => `the lag events to arrive (${seen}/${run.sent})`);
    } catch (error) {
      log(`  not applied: ${await harness.describeEvents([...unseen].slice(0, 10))}`);
      throw error;
    }
    const halted = harness.halted();
    if (halted) throw new Error(`projection consumer halted: ${halted}`);
  } finally {
    harness.onApplied(null);
    await harness.stopRelay();
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
  for (const [eventId, { sent, at }] of handled) {
    const appended = appendedAt.get(eventId);
    const read = relayReadAt.get(eventId);
    const observed = harness.observedAt?.get(eventId);
    if (appended !== undefined) stageSamples.append.push(ms(sent, appended));
    if (appended !== undefined && read !== undefined) stageSamples.toRelay.push(ms(appended, read));
    if (read !== undefined && observed !== undefined) stageSamples.publish.push(ms(read, observed));
    if (observed !== undefined) stageSamples.consume.push(ms(observed, at));
    if (read !== undefined) stageSamples.relayToHandler.push(ms(read, at));
  }
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
  const eventLoop = { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
  return { total: summarizeLatencies(samples), append: summarizeLatencies(appendSamples), afterRecord: summarizeLatencies(afterSamples), timeline, achievedRate, stages, eventLoop };
}

async function rawLag(amqpUrl: string): Promise<LatencySummary> {
  const raw = await RawAmqp.open(amqpUrl, 'lag');
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

export async function runLagBench(harness: PipelineHarness, amqpUrl: string): Promise<BenchResult[]> {
  const lag = await pipelineLag(harness, amqpUrl);
  const pipeline = lag.total;
  log(`  offered ${RATE} ev/s from ${APPENDERS} concurrent appenders${APPENDER_THREAD ? ' in a worker thread' : ''} for ${SECONDS} s; appends made at ${fmt(lag.achievedRate, 'ev/s')}`);
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
  log(`  event-loop delay of this process (appenders, relay, consumer) while offering: p50 ${fmt(lag.eventLoop.p50, 'ms')} p99 ${fmt(lag.eventLoop.p99, 'ms')} max ${fmt(lag.eventLoop.max, 'ms')}`);
  const raw = await rawLag(amqpUrl);
  log(`  raw amqplib: ${describe(raw)}`);
  const label = `${RATE} ev/s (${APPENDERS} appenders${APPENDER_THREAD ? ', own thread' : ''}) for ${SECONDS} s`;
  return [
    result(`lag p50 at ${label}`, pipeline.p50, raw.p50, 'ms', false, 'raw amqplib p50'),
    result(`lag p99 at ${label}`, pipeline.p99, raw.p99, 'ms', false, 'raw amqplib p99'),
    result(`lag max at ${label}`, pipeline.max, raw.max, 'ms', false, 'raw amqplib max'),
  ];
}
