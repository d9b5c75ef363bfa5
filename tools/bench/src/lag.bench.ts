import { delay, fmt, log, msSince, now, result, summarizeLatencies, waitUntil, type BenchResult, type LatencySummary } from './measure';
import { envelopeBody, RawAmqp, type PipelineHarness } from './pipeline-harness';

/**
 * End-to-end lag at a fixed event rate. The appender appends one event per append (each to its
 * own stream) on schedule, with `sentAtNs` (process.hrtime) taken just before the append in the
 * event data; the projection handler takes the difference when it runs (inside the inbox
 * transaction). Relay and consumer run all the time, woken by NOTIFY. Baseline: the same rate of
 * the same bodies through a raw amqplib confirm channel → queue → consumer callback.
 */

const RATE = Number(process.env.BENCH_LAG_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_LAG_SECONDS ?? 15);
const WARMUP_SECONDS = 2;
const DRAIN_TIMEOUT_MS = 30_000;

/** Calls `send` RATE times a second for `seconds`; a late tick catches up, so the average rate holds. */
async function atFixedRate(seconds: number, send: (i: number) => Promise<void>): Promise<number> {
  const start = now();
  const total = Math.round(RATE * seconds);
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor((msSince(start) * RATE) / 1000) + 1);
    while (sent < due) await send(sent++);
    await delay(1);
  }
  return sent;
}

function sentAt(data: { [key: string]: unknown }): bigint | null {
  const value = data.sentAtNs;
  return typeof value === 'string' ? BigInt(value) : null;
}

interface PipelineLag {
  total: LatencySummary;
  /** Wall clock: sentAtMs → recordedAt (the row's clock_timestamp(), ms precision): the append itself. */
  append: LatencySummary;
  /** Wall clock: recordedAt → handler: commit, relay read, publish, broker, queue wait, inbox transaction. */
  afterRecord: LatencySummary;
}

async function pipelineLag(harness: PipelineHarness): Promise<PipelineLag> {
  const samples: number[] = [];
  const appendSamples: number[] = [];
  const afterSamples: number[] = [];
  let measuring = false;
  let seen = 0;
  harness.onApplied((envelope, at) => {
    const wallAt = Date.now();
    const sent = sentAt(envelope.data);
    if (sent === null || envelope.data.phase !== 'measure') return;
    seen++;
    if (!measuring) return;
    samples.push(Number(at - sent) / 1e6);
    const recordedAt = Date.parse(envelope.recordedAt);
    const sentAtMs = envelope.data.sentAtMs;
    if (typeof sentAtMs === 'number') appendSamples.push(recordedAt - sentAtMs);
    afterSamples.push(wallAt - recordedAt);
  });
  await harness.startRelay();
  try {
    const append = (phase: string) => async (): Promise<void> => {
      const event = harness.newEvent({ phase, sentAtMs: Date.now(), sentAtNs: now().toString() });
      await harness.store.appendToStream(`bench-lag-${event.eventId}`, [event], { expectedRevision: 'no_stream' });
    };
    await atFixedRate(WARMUP_SECONDS, append('warmup'));
    measuring = true;
    const sent = await atFixedRate(SECONDS, append('measure'));
    await waitUntil(() => seen >= sent || harness.halted() !== null, DRAIN_TIMEOUT_MS, () => `the lag events to arrive (${seen}/${sent})`);
    const halted = harness.halted();
    if (halted) throw new Error(`projection consumer halted: ${halted}`);
  } finally {
    harness.onApplied(null);
    await harness.stopRelay();
  }
  return { total: summarizeLatencies(samples), append: summarizeLatencies(appendSamples), afterRecord: summarizeLatencies(afterSamples) };
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
    await atFixedRate(WARMUP_SECONDS, publish('warmup'));
    measuring = true;
    const sent = await atFixedRate(SECONDS, publish('measure'));
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

export async function runLagBench(harness: PipelineHarness, amqpUrl: string): Promise<BenchResult[]> {
  const lag = await pipelineLag(harness);
  const pipeline = lag.total;
  log(`  pipeline   : ${describe(pipeline)}`);
  log(`    of which append (sent → recordedAt, wall clock ms): ${describe(lag.append)}`);
  log(`    of which recordedAt → handler (relay, broker, queue, inbox tx): ${describe(lag.afterRecord)}`);
  const raw = await rawLag(amqpUrl);
  log(`  raw amqplib: ${describe(raw)}`);
  const label = `${RATE} ev/s for ${SECONDS} s`;
  return [
    result(`lag p50 at ${label}`, pipeline.p50, raw.p50, 'ms', false, 'raw amqplib p50'),
    result(`lag p99 at ${label}`, pipeline.p99, raw.p99, 'ms', false, 'raw amqplib p99'),
    result(`lag max at ${label}`, pipeline.max, raw.max, 'ms', false, 'raw amqplib max'),
  ];
}
