import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { createPostgresEventStore } from '@dh/event-store';
import { benchMetadata, benchPayload } from './append.bench';
import { childSend, onParentMessage, processMonitor, type LagAppendersInput } from './lag-processes';

/**
 * The lag benchmark's appenders in a process of their own (forked by lag.bench.ts), as appends in the
 * services come from the services' processes, not from the relay's or the projections'. Same schedule as in
 * one process (`offered` in lag.bench.ts): APPENDERS loops share RATE slots a second, one event per append to
 * a stream of its own. Reports each append (event id, sent and returned at) to the parent in batches every
 * 20 ms. Times are `process.hrtime.bigint()`: CLOCK_MONOTONIC, one clock for every process of the machine,
 * so the parent subtracts them from its own.
 */

async function main(input: LagAppendersInput): Promise<void> {
  const pool = new Pool({ connectionString: input.databaseUrl, max: input.appenders + 2, application_name: 'bench-lag-appenders' });
  pool.on('error', () => undefined);
  const store = await createPostgresEventStore({ pool, schema: 'event_store' });
  const monitor = processMonitor();
  let pending: [string, string, string][] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    childSend({ kind: 'appended', items: pending });
    pending = [];
  };
  const timer = setInterval(flush, 20);
  let counter = 0;
  const offered = async (seconds: number, phase: string): Promise<{ sent: number; ms: number }> => {
    const start = process.hrtime.bigint();
    const elapsedMs = (): number => Number(process.hrtime.bigint() - start) / 1e6;
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
    childSend({ kind: 'measureStart', atNs: process.hrtime.bigint().toString() });
    monitor.start();
    const run = await offered(input.seconds, 'measure');
    const eventLoop = monitor.stop();
    flush();
    childSend({ kind: 'done', sent: run.sent, ms: run.ms, eventLoop });
  } finally {
    clearInterval(timer);
    await store.close();
    await pool.end();
  }
}

onParentMessage((message) => {
  if (message.kind !== 'appenders') return;
  main(message).then(
    () => process.disconnect(),
    (error: unknown) => {
      childSend({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
      process.exitCode = 1;
      process.disconnect();
    },
  );
});
