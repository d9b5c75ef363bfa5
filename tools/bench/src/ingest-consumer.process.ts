import { Pool } from 'pg';
import { createPostgresEventStore } from '@dh/event-store';
import { AmqpConnection, DEFAULT_EVENT_EXCHANGE, type RunningConsumer } from '@dh/messaging';
import { startMeteredDataConsumer } from '@dh/settlement-infra';
import { benchLogger } from './infra';

/**
 * The ingest benchmark's `settlement.metered-data` consumer in a process of its own (forked by ingest.bench.ts), as
 * it runs in the settlement service while the inbox and its relay run in datahub-integration: its own pool, store
 * and AMQP connection. Sends its counters to the parent whenever they change (checked every 2 ms); stops on `stop`.
 */

export interface IngestConsumerStart {
  kind: 'start';
  databaseUrl: string;
  amqpUrl: string;
  now: string;
}

export type IngestConsumerParentMessage = IngestConsumerStart | { kind: 'stop' };

export type IngestConsumerChildMessage =
  | { kind: 'running' }
  | { kind: 'stats'; applied: number; deadLettered: number; halted: string | null; lastError: string | null }
  | { kind: 'stopped' }
  | { kind: 'failed'; message: string };

const send = (message: IngestConsumerChildMessage): void => {
  process.send?.(message);
};

let stop: () => Promise<void> = async () => undefined;

async function start(input: IngestConsumerStart): Promise<void> {
  const pool = new Pool({ connectionString: input.databaseUrl, max: 10 });
  pool.on('error', () => undefined);
  const store = await createPostgresEventStore({ pool, schema: 'event_store' });
  const connection = new AmqpConnection({ url: input.amqpUrl, connectionName: 'bench-ingest-consumer', initialMaxAttempts: 3, logger: benchLogger });
  await connection.connect();
  const now = new Date(input.now);
  const consumer: RunningConsumer = await startMeteredDataConsumer({ connection, pool, store, exchange: DEFAULT_EVENT_EXCHANGE, now: () => now });
  let last = '';
  const report = (): void => {
    const s = consumer.stats();
    const message: IngestConsumerChildMessage = { kind: 'stats', applied: s.applied, deadLettered: s.deadLettered, halted: s.halted, lastError: s.lastError };
    const key = JSON.stringify(message);
    if (key === last) return;
    last = key;
    send(message);
  };
  const timer = setInterval(report, 2);
  stop = async () => {
    clearInterval(timer);
    await consumer.stop();
    report();
    await connection.close();
    await store.close();
    await pool.end();
    send({ kind: 'stopped' });
  };
  send({ kind: 'running' });
  report();
}

const fail = (error: unknown): void => {
  send({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
  process.disconnect();
};

process.on('message', (message: IngestConsumerParentMessage) => {
  if (message.kind === 'start') start(message).catch(fail);
  else if (message.kind === 'stop') stop().then(() => process.disconnect(), fail);
});
