import { Pool } from 'pg';
import { createKurrentDbEventStore, createPostgresEventStore, type EventStore } from '@dh/event-store';
import { AmqpConnection, type MessagingLogger } from '@dh/messaging';
import type { ServiceConfig } from '../config/service-config';
import type { HealthCheck } from '../health/health';
import { PiiVault } from '../pii/pii-vault';
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
  close(): Promise<void>;
}

export async function openInfrastructure(config: ServiceConfig, logger?: MessagingLogger): Promise<Infrastructure> {
  const pool = new Pool({ connectionString: config.databaseUrl, max: 10, application_name: config.serviceName });
  const eventStore =
    config.eventStore.kind === 'postgres'
      ? await createPostgresEventStore({ pool, schema: config.eventStore.schema })
      : await createKurrentDbEventStore({ connectionString: config.eventStore.connectionString });
  const amqp = new AmqpConnection({ url: config.amqpUrl, connectionName: config.serviceName, logger });
  await amqp.connect();
  const clock = config.clockUrl ? await followClock(config.clockUrl) : systemClock;
  const vault = new PiiVault(pool, config.piiMasterKey);
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
    async close() {
      clock.close();
      await amqp.close();
      await eventStore.close();
      await pool.end();
    },
  };
}
