import { Pool } from 'pg';
import { ApiKeyStore, migrateAuth } from '@dh/auth';
import { apiKeyHeader, bearer, createTestApiKey, issueTestJwt, testAuthIssuersEnv } from '@dh/auth/testing';
import { startEdsSimulator, type RunningEdsSimulator } from '@dh/eds-sim';
import { createPostgresEventStore, type EventStore } from '@dh/event-store';
import { AmqpConnection, CommandClient, silentMessagingLogger } from '@dh/messaging';
import { startServiceProcess, type ServiceProcess } from '@dh/platform';
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from '@dh/testing';

export const BACK_OFFICE_SERVICES = ['portfolio', 'rates', 'settlement', 'projections', 'datahub-integration', 'gateway'] as const;

export interface BackOfficeStack {
  db: TestDatabase;
  vhost: TestVhost;
  pool: Pool;
  store: EventStore;
  eds: RunningEdsSimulator;
  services: Map<string, ServiceProcess>;
  gatewayUrl: string;
  /** Commands over the bus, as another service would send them. */
  commands: CommandClient;
  crm: Record<string, string>;
  /** Bearer headers of a staff member with the role, plus an X-Access-Reason. */
  staff(role: 'admin' | 'support' | 'read-only', subject?: string): Promise<Record<string, string>>;
  /** A bare staff token (for the desk CLI). */
  staffToken(role: 'admin' | 'support' | 'read-only', subject?: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The services the back office talks to, on a private database and vhost, with the Energi Data
 * Service simulator: portfolio, rates, settlement, projections, datahub-integration and gateway as
 * processes from dist/ (`npm run build` first). `env` adds settings (e.g. another JWT issuer).
 */
export async function startBackOfficeStack(options: { name: string; env?: Record<string, string> }): Promise<BackOfficeStack> {
  const db = await createTestDatabase(options.name);
  const vhost = await createTestVhost(options.name);
  const pool = new Pool({ connectionString: db.url, max: 5 });
  await migrateAuth(pool);
  const store = await createPostgresEventStore({ pool, pollIntervalMs: 100 });
  const eds = await startEdsSimulator({ port: 0, scenario: { seed: 2026 } });
  const services = new Map<string, ServiceProcess>();
  const amqp = new AmqpConnection({ url: vhost.url, logger: silentMessagingLogger });
  const commands = new CommandClient({ connection: amqp, defaultTimeoutMs: 30_000 });
  const stop = async () => {
    await commands.close().catch(() => undefined);
    await amqp.close().catch(() => undefined);
    for (const s of [...services.values()].reverse()) await s.stop();
    await eds.stop();
    await store.close();
    await pool.end();
    await vhost.drop();
    await db.drop();
  };
  try {
    const env = {
      DATABASE_URL: db.url,
      AMQP_URL: vhost.url,
      AUTH_ISSUERS: testAuthIssuersEnv(),
      COMMAND_TIMEOUT_MS: '30000',
      RATE_LIMITS: 'off',
      EDS_URL: eds.url,
      // The seeds ingest what they need by command; the daily schedule has its own test.
      EDS_SCHEDULE: 'off',
      // Likewise no scheduled settlement runs or halt retries (on by default in the service): the seeds settle by command.
      SETTLEMENT_SCHEDULE_INTERVAL_MS: '0',
      SETTLEMENT_HALT_RETRY_INTERVAL_MS: '0',
      ...options.env,
    };
    // One after another: a 2-core machine times out readiness checks when six start at once.
    for (const name of BACK_OFFICE_SERVICES) services.set(name, await startServiceProcess(name, env, 60_000));
    await amqp.connect();
    await commands.start();
  } catch (error) {
    await stop();
    throw error;
  }
  const crm = apiKeyHeader((await createTestApiKey(new ApiKeyStore(pool), { consumer: 'crm' })).key);
  const staffToken = (role: 'admin' | 'support' | 'read-only', subject?: string) => issueTestJwt({ kind: 'staff', roles: [role], subject: subject ?? `employee-${role}`, expiresIn: '30m' });
  return {
    db,
    vhost,
    pool,
    store,
    eds,
    services,
    gatewayUrl: services.get('gateway')!.url,
    commands,
    crm,
    staffToken,
    staff: async (role, subject) => ({ ...bearer(await staffToken(role, subject)), 'X-Access-Reason': `back-office test (${role})` }),
    stop,
  };
}
