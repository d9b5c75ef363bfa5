import { Pool } from 'pg';
import { createKurrentDbEventStore, createPostgresEventStore, type EventStore } from '@dh/event-store';
import { AmqpConnection, consoleMessagingLogger, type MessagingLogger } from '@dh/messaging';
import type { ServiceConfig } from '../config/service-config';
import type { HealthCheck } from '../health/health';
import { ServiceMetrics } from '../observability/metrics';
import { carryTraceContext } from '../observability/tracing';
import { PiiVault } from '../pii/pii-vault';
import { MasterKeys } from '../pii/sealing';
import { followClock, systemClock, type Clock } from './clock';

/** What every service process connects to. Created before Nest, closed after it. */
export interface Infrastructure {
  config: ServiceConfig;
  pool: Pool;
  eventStore: EventStore;
  amqp: AmqpConnection;
  vault: PiiVault;
  /** Business time: the wall clock, or a simulator's in a demo (CLOCK_URL). */
  clock: Clock;
  healthChecks: HealthCheck[];
  /** Prometheus registry of the process (`GET /metrics`); services add their own gauges to `metrics.registry`. */
  metrics: ServiceMetrics;
  close(): Promise<void>;
}

/**
 * A lost connection (server restart, failover, `pg_terminate_backend`, a crashed backend taking the
 * others with it) makes `pg` emit `error` on the client, and on the pool for an idle one; with no
 * listener Node ends the process. Here the pool drops the dead client and opens a new one on the next
 * checkout; a checked-out client's holder sees the error on its next query and releases it.
 */
export function survivingConnectionLoss(pool: Pool, logger: MessagingLogger = consoleMessagingLogger): Pool {
  pool.on('error', (error) => logger.warn(`PostgreSQL: idle connection lost (${error.message}); a new one is opened when needed`));
  pool.on('connect', (client) => {
    client.on('error', (error) => logger.warn(`PostgreSQL: connection in use lost (${error.message})`));
  });
  return pool;
}

export async function openInfrastructure(config: ServiceConfig, logger?: MessagingLogger): Promise<Infrastructure> {
  const pool = survivingConnectionLoss(new Pool({ connectionString: config.databaseUrl, max: 10, application_name: config.serviceName }), logger);
  const eventStore = carryTraceContext(
    config.eventStore.kind === 'postgres'
      ? await createPostgresEventStore({ pool, schema: config.eventStore.schema })
      : await createKurrentDbEventStore({ connectionString: config.eventStore.connectionString }),
  );
  const amqp = new AmqpConnection({ url: config.amqpUrl, connectionName: config.serviceName, logger });
  await amqp.connect();
  const clock = config.clockUrl ? await followClock(config.clockUrl) : systemClock;
  const vault = new PiiVault(pool, new MasterKeys(config.piiMasterKey, config.piiPreviousMasterKeys));
  await vault.migrate();

  const healthChecks: HealthCheck[] = [
    { name: 'postgres', probe: async () => void (await pool.query('SELECT 1')) },
    { name: 'rabbitmq', probe: () => amqp.ping() },
    { name: 'event-store', probe: () => eventStore.ping() },
  ];

  return {
    config,
    pool,
    eventStore,
    amqp,
    vault,
    clock,
    healthChecks,
    metrics: new ServiceMetrics(config.serviceName, amqp),
    async close() {
      clock.close();
      await amqp.close();
      await eventStore.close();
      await pool.end();
    },
  };
}
