import { Pool } from 'pg';
import { AmqpConnection, type RunningConsumer } from '@dh/messaging';
import { benchLogger } from './infra';
import { childSend, onParentMessage, processMonitor, type AppliedItem, type LagConsumerInput } from './lag-processes';
import { AMQP_ONE_WRITE_PER_TURN, startBenchConsumer } from './pipeline-harness';

/**
 * The lag benchmark's projection consumer in a process of its own (forked by lag.bench.ts), as projections run in
 * the projections process: its own pool and AMQP connection, the same queue, batches and handlers as the pipeline
 * benchmark's consumer (`startBenchConsumer`; the benchmark's process stops its own consumer first, the queue has a
 * single active consumer). The benchmark's bookkeeping of 30,000 events (maps, samples) stays in the parent, out of
 * this process's heap. Reports every measured event it applied (after its COMMIT) to the parent every 20 ms, and its
 * event-loop delay, CPU and GC between the parent's `measureStart` and `measureEnd` (the appenders' measured seconds).
 */

let consumer: RunningConsumer | null = null;
let stop: () => Promise<void> = async () => undefined;
const monitor = processMonitor();
let measuring = false;

async function start(input: LagConsumerInput): Promise<void> {
  const pool = new Pool({ connectionString: input.databaseUrl, max: 4, application_name: 'bench-lag-consumer' });
  pool.on('error', () => undefined);
  const connection = new AmqpConnection({ url: input.amqpUrl, connectionName: 'bench-lag-consumer', initialMaxAttempts: 3, noDelay: input.noDelay, oneWritePerTurn: AMQP_ONE_WRITE_PER_TURN, logger: benchLogger });
  await connection.connect();
  let pending: AppliedItem[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    childSend({ kind: 'applied', items: pending });
    pending = [];
  };
  const timer = setInterval(flush, 20);
  consumer = await startBenchConsumer(pool, connection, (applied, handlerAt, at) => {
    const wallAt = Date.now();
    for (const envelope of applied) {
      const data = envelope.data;
      if (data.phase !== 'measure' || typeof data.sentAtNs !== 'string') continue;
      pending.push([envelope.eventId, data.sentAtNs, handlerAt.toString(), at.toString(), Date.parse(envelope.recordedAt), typeof data.sentAtMs === 'number' ? data.sentAtMs : null, wallAt]);
    }
  });
  stop = async () => {
    if (measuring) childSend({ kind: 'consumerMeasured', eventLoop: monitor.stop() });
    measuring = false;
    const halted = consumer?.stats().halted ?? null;
    await consumer?.stop();
    clearInterval(timer);
    flush();
    childSend({ kind: 'consumerStopped', halted });
    await connection.close();
    await pool.end();
  };
  while (consumer.status().state !== 'running') await new Promise((resolve) => setTimeout(resolve, 5));
  childSend({ kind: 'consumerRunning' });
}

const fail = (error: unknown): void => {
  childSend({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
  process.disconnect();
};

onParentMessage((message) => {
  if (message.kind === 'consumer') start(message).catch(fail);
  else if (message.kind === 'measureStart') {
    measuring = true;
    monitor.start();
  } else if (message.kind === 'measureEnd' && measuring) {
    measuring = false;
    childSend({ kind: 'consumerMeasured', eventLoop: monitor.stop() });
  } else if (message.kind === 'stop') {
    stop().then(() => process.disconnect(), fail);
  }
});
