import { fmt, log, median, msSince, now, result, waitUntil, type BenchResult } from './measure';
import { envelopeBody, RawAmqp, type PipelineHarness } from './pipeline-harness';

/**
 * Relay → RabbitMQ → projection throughput. Per round: with the relay stopped, append N events
 * (100 per append); then start the relay and time, from when it holds its lock and has its
 * channel, until the consumer has applied all N (inbox rows + read-model rows committed, acked).
 * Baseline: the same N message bodies published on a raw amqplib confirm channel (confirms awaited
 * every 100, the baseline issue 10 was measured against) while a raw consumer acks them; timed from
 * the first publish to the last ack.
 */

const N = Number(process.env.BENCH_PIPELINE_EVENTS ?? 6_000);
const ROUNDS = 3;
const WARMUP = 300;
const TIMEOUT_MS = 90_000;

interface PipelineRound {
  eventsPerSecond: number;
  /** When the relay had all N confirmed and checkpointed, ms after start: where the time goes. */
  relayDoneMs: number;
}

async function pipelineRound(harness: PipelineHarness, n: number): Promise<PipelineRound> {
  await harness.appendMany(n);
  const target = harness.applied() + n;
  let relayDoneMs = Number.NaN;
  await harness.startRelay();
  // Timed from the moment the relay holds its lock and has its channel: its start-up is not throughput.
  await waitUntil(() => harness.relayRunning(), TIMEOUT_MS, () => 'the relay to start', 1);
  const start = now();
  await waitUntil(
    () => {
      if (Number.isNaN(relayDoneMs) && harness.relayPublished() >= n) relayDoneMs = msSince(start);
      return harness.applied() >= target || harness.halted() !== null;
    },
    TIMEOUT_MS,
    () => `the consumer to apply ${n} events (applied ${harness.applied() - (target - n)})`,
  );
  const ms = msSince(start);
  const halted = harness.halted();
  if (halted) throw new Error(`projection consumer halted: ${halted}`);
  await harness.stopRelay();
  return { eventsPerSecond: (n / ms) * 1000, relayDoneMs: Number.isNaN(relayDoneMs) ? ms : relayDoneMs };
}

async function rawRound(amqpUrl: string, name: string, n: number): Promise<number> {
  const raw = await RawAmqp.open(amqpUrl, name, false);
  try {
    const bodies = Array.from({ length: n }, (_, i) => envelopeBody(i));
    let received = 0;
    await raw.consume(() => {
      received++;
    });
    const start = now();
    for (let i = 0; i < n; i++) {
      await raw.publish(bodies[i]);
      if ((i + 1) % 100 === 0) await raw.publisher.waitForConfirms();
    }
    await raw.publisher.waitForConfirms();
    await waitUntil(() => received >= n, TIMEOUT_MS, () => `the raw consumer to receive ${n} messages (got ${received})`);
    return (n / msSince(start)) * 1000;
  } finally {
    await raw.close();
  }
}

export async function runPipelineBench(harness: PipelineHarness, amqpUrl: string): Promise<BenchResult[]> {
  await pipelineRound(harness, WARMUP);
  await rawRound(amqpUrl, 'warmup', WARMUP);
  const pipeline: number[] = [];
  const raw: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const p = await pipelineRound(harness, N);
    pipeline.push(p.eventsPerSecond);
    raw.push(await rawRound(amqpUrl, `throughput${round}`, N));
    log(
      `  round ${round}: pipeline ${fmt(p.eventsPerSecond, 'ev/s')} (relay alone done after ${fmt(p.relayDoneMs, 'ms')}, ` +
        `${fmt((N / p.relayDoneMs) * 1000, 'ev/s')}) vs raw amqplib ${fmt(raw[round - 1], 'msg/s')} (N = ${N.toLocaleString('en-US')})`,
    );
  }
  return [result(`relay→RabbitMQ→projection, N=${N / 1000}k`, median(pipeline), median(raw), 'ev/s', true, 'raw amqplib publish+ack')];
}
