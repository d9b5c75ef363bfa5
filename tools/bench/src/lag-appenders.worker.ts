import { randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { Pool } from 'pg';
import { createPostgresEventStore } from '@dh/event-store';
import { benchMetadata, benchPayload } from './append.bench';

/**
 * The lag benchmark's appenders in a thread of their own (`BENCH_LAG_APPENDER_THREAD=1`): the load generator
 * then does not share an event loop with the relay and the consumer it measures, as appends in the services
 * come from other processes. Same schedule as in process (`offered` in lag.bench.ts): APPENDERS loops share
 * RATE slots a second, one event per append to a stream of its own. Reports each append (event id, sent and
 * returned at, process.hrtime, which is the same clock in every thread of the process) to the parent in
 * batches.
 */

export interface LagAppendersInput {
  databaseUrl: string;
  rate: number;
  seconds: number;
  warmupSeconds: number;
  appenders: number;
}

export type LagAppendersMessage =
  | { kind: 'measureStart'; atNs: string }
  | { kind: 'appended'; items: [eventId: string, sentNs: string, appendedNs: string][] }
  | { kind: 'done'; sent: number; ms: number }
  | { kind: 'failed'; message: string };

const input = workerData as LagAppendersInput;
const port = parentPort;

async function main(): Promise<void> {
  if (!port) throw new Error('lag-appenders.worker runs as a worker thread');
  const pool = new Pool({ connectionString: input.databaseUrl, max: input.appenders + 2 });
  pool.on('error', () => undefined);
  const store = await createPostgresEventStore({ pool, schema: 'event_store' });
  let pending: [string, string, string][] = [];
  const flush = () => {
    if (pending.length === 0) return;
    port.postMessage({ kind: 'appended', items: pending } satisfies LagAppendersMessage);
    pending = [];
  };
  const timer = setInterval(flush, 20);
  let counter = 0;
  const offered = async (seconds: number, phase: string): Promise<{ sent: number; ms: number }> => {
    const start = process.hrtime.bigint();
    const elapsedMs = () => Number(process.hrtime.bigint() - start) / 1e6;
    const total = Math.round(input.rate * seconds);
    let next = 0;
    const loop = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const wait = (i * 1000) / input.rate - elapsedMs();
        if (wait >= 1) await new Promise((resolve) => setTimeout(resolve, wait));
        const sentNs = process.hrtime.bigint();
        const eventId = randomUUID();
        await store.appendToStream(
          `bench-lag-${eventId}`,
          [{ eventId, type: 'MeteredDataReceived', data: { ...benchPayload(counter++), phase, sentAtMs: Date.now(), sentAtNs: sentNs.toString() }, metadata: benchMetadata, occurredAt: new Date() }],
          { expectedRevision: 'no_stream' },
        );
        if (phase === 'measure') pending.push([eventId, sentNs.toString(), process.hrtime.bigint().toString()]);
      }
    };
    await Promise.all(Array.from({ length: input.appenders }, loop));
    return { sent: total, ms: elapsedMs() };
  };
  try {
    await offered(input.warmupSeconds, 'warmup');
    port.postMessage({ kind: 'measureStart', atNs: process.hrtime.bigint().toString() } satisfies LagAppendersMessage);
    const run = await offered(input.seconds, 'measure');
    flush();
    port.postMessage({ kind: 'done', sent: run.sent, ms: run.ms } satisfies LagAppendersMessage);
  } finally {
    clearInterval(timer);
    await store.close();
    await pool.end();
  }
}

main().catch((error: unknown) => {
  parentPort?.postMessage({ kind: 'failed', message: error instanceof Error ? error.message : String(error) } satisfies LagAppendersMessage);
});
