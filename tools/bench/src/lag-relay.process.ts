import { Pool } from 'pg';
import { createPostgresEventStore } from '@dh/event-store';
import { AmqpConnection, createRelay, type EventRelay } from '@dh/messaging';
import { benchLogger } from './infra';
import { childSend, onParentMessage, processMonitor, type LagRelayInput } from './lag-processes';
import { AMQP_ONE_WRITE_PER_TURN, RELAY_NAME, relayReadRecorder } from './pipeline-harness';

/**
 * The lag benchmark's relay in a process of its own (forked by lag.bench.ts), as the relay runs in its
 * service: its own pool, store (LISTEN connection), AMQP connection and relay, the same name and checkpoint as
 * the benchmark's in-process relay. Reports when it reads each event from the log (hrtime, see
 * lag-processes.ts) to the parent every 20 ms; reports its event-loop delay, CPU and GC between the parent's
 * `measureStart` and `measureEnd` (the appenders' measured seconds) and over its whole run when it stops on `stop`.
 */

let relay: EventRelay | null = null;
let stop: () => Promise<void> = async () => undefined;
const measuredMonitor = processMonitor();
let measuring = false;

async function start(input: LagRelayInput): Promise<void> {
  const pool = new Pool({ connectionString: input.databaseUrl, max: 4, application_name: 'bench-lag-relay' });
  pool.on('error', () => undefined);
  const store = await createPostgresEventStore({ pool, schema: 'event_store' });
  const connection = new AmqpConnection({ url: input.amqpUrl, connectionName: 'bench-lag-relay', initialMaxAttempts: 3, noDelay: input.noDelay, oneWritePerTurn: AMQP_ONE_WRITE_PER_TURN, logger: benchLogger });
  await connection.connect();
  let pending: [string, string][] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    childSend({ kind: 'read', items: pending });
    pending = [];
  };
  const timer = setInterval(flush, 20);
  const monitor = processMonitor();
  monitor.start();
  const eventStore = relayReadRecorder(store, (eventId, atNs) => pending.push([eventId, atNs.toString()]));
  // BENCH_RELAY_CHECKPOINT_MS=<ms>: the relay's checkpointIntervalMs (default the relay's own), for comparison.
  const checkpointIntervalMs = process.env.BENCH_RELAY_CHECKPOINT_MS === undefined ? undefined : Number(process.env.BENCH_RELAY_CHECKPOINT_MS);
  relay = createRelay({ eventStore, connection, pool, name: RELAY_NAME, logger: benchLogger, checkpointIntervalMs });
  stop = async () => {
    await relay?.stop();
    const eventLoop = monitor.stop();
    clearInterval(timer);
    flush();
    childSend({ kind: 'relayStopped', eventLoop });
    await connection.close();
    await store.close();
    await pool.end();
  };
  await relay.start();
  while (relay.status().state !== 'running') await new Promise((resolve) => setTimeout(resolve, 5));
  childSend({ kind: 'relayRunning' });
}

const fail = (error: unknown): void => {
  childSend({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
  process.disconnect();
};

onParentMessage((message) => {
  if (message.kind === 'relay') start(message).catch(fail);
  else if (message.kind === 'measureStart') {
    measuring = true;
    measuredMonitor.start();
  } else if (message.kind === 'measureEnd' && measuring) {
    measuring = false;
    childSend({ kind: 'relayMeasured', eventLoop: measuredMonitor.stop() });
  } else if (message.kind === 'stop') {
    stop().then(() => process.disconnect(), fail);
  }
});
