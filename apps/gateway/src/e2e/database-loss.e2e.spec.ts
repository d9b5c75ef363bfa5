import { Pool } from 'pg';
import request from 'supertest';
import { ApiKeyStore, migrateAuth } from '@dh/auth';
import { apiKeyHeader, createTestApiKey, testAuthIssuersEnv } from '@dh/auth/testing';
import { silentMessagingLogger } from '@dh/messaging';
import { startServiceProcess, survivingConnectionLoss, type ServiceProcess } from '@dh/platform';
import { createTestVhost, eventually, startPrivatePostgres, type PrivatePostgres, type TestVhost } from '@dh/testing';

jest.setTimeout(120_000);

interface Readiness {
  status: string;
  checks: Record<string, { status: string; error?: string }>;
  workers?: { name: string; kind: string; state: string; reason: string | null }[];
}

async function readiness(service: ServiceProcess): Promise<{ code: number; body: Readiness }> {
  const res = await fetch(`${service.url}/health/ready`, { signal: AbortSignal.timeout(5000) });
  return { code: res.status, body: (await res.json()) as Readiness };
}

/**
 * Every service against a PostgreSQL cluster of the test's own (never the machine's): terminated
 * backends, a backend killed with SIGKILL (the postmaster then resets every connection) and a restart
 * of the whole cluster. Every process stays up, turns ready again by itself and goes on working.
 */
describe('the services survive a lost database connection and a database restart', () => {
  let pg: PrivatePostgres;
  let vhost: TestVhost;
  let pool: Pool;
  let crm: Record<string, string>;
  const services: ServiceProcess[] = [];
  let gateway: ServiceProcess;
  let customersCreated = 0;

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    const databaseUrl = await pg.createDatabase('dh');
    vhost = await createTestVhost('dbloss');
    pool = survivingConnectionLoss(new Pool({ connectionString: databaseUrl, max: 2 }), silentMessagingLogger);
    await migrateAuth(pool);
    crm = apiKeyHeader((await createTestApiKey(new ApiKeyStore(pool), { consumer: 'crm' })).key);
    const env = { DATABASE_URL: databaseUrl, AMQP_URL: vhost.url, COMMAND_TIMEOUT_MS: '10000', AUTH_ISSUERS: testAuthIssuersEnv() };
    for (const name of ['portfolio', 'projections', 'gateway', 'datahub-integration', 'rates', 'settlement', 'reconciliation']) services.push(await startServiceProcess(name, env));
    gateway = services[2]!;
  }, 180_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await pool?.end();
    await vhost?.drop();
    await pg?.destroy();
  }, 60_000);

  function expectAllAlive(): void {
    for (const service of services) {
      if (service.child.exitCode !== null || service.child.signalCode !== null) {
        throw new Error(`${service.name} exited (${service.child.exitCode ?? service.child.signalCode})\n${service.output().slice(-4000)}`);
      }
    }
  }

  async function expectAllReadyAgain(): Promise<void> {
    for (const service of services) {
      await eventually(async () => {
        const { code, body } = await readiness(service);
        expect({ service: service.name, code, body }).toMatchObject({ service: service.name, code: 200, body: { status: 'ok' } });
      }, 60_000, 250);
    }
  }

  /** A customer created through the gateway reaches the read model: commands, events, relay and projections work. */
  async function expectWorkGoesOn(): Promise<void> {
    customersCreated++;
    const name = `Outage Customer ${customersCreated}`;
    const created = await eventually(
      async () => (await request(gateway.url).post('/api/customers').set(crm).send({ customer_name: name, email: `c${customersCreated}@example.dk`, customer_type: 'business', cvr: '13585628' }).expect(201)).body as { id: string },
      30_000,
      500,
    );
    await eventually(async () => expect((await request(gateway.url).get(`/api/customers/${created.id}`).set(crm).expect(200)).body).toMatchObject({ customer_name: name }), 30_000, 200);
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM read_models.customers');
    expect(rows[0]!.n).toBe(customersCreated);
  }

  it('reports every consumer and relay with its state in readiness', async () => {
    const settlement = await readiness(services.find((s) => s.name === 'settlement')!);
    expect(settlement.code).toBe(200);
    expect(settlement.body.workers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'settlement.inputs', kind: 'consumer', state: 'running', reason: null }),
        expect.objectContaining({ name: 'settlement.metered-data', kind: 'consumer', state: 'running' }),
        expect.objectContaining({ name: 'domain-events', kind: 'relay' }),
      ]),
    );
    await expectWorkGoesOn();
  });

  it('survives pg_terminate_backend of every connection', async () => {
    expect(await pg.terminateBackends()).toBeGreaterThanOrEqual(services.length);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expectAllAlive();
    await expectAllReadyAgain();
    await expectWorkGoesOn();
    expectAllAlive();
  });

  it('survives kill -9 of one backend, after which PostgreSQL resets every connection', async () => {
    const [victim] = await pg.backendPids();
    process.kill(victim!, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expectAllAlive();
    await expectAllReadyAgain();
    await expectWorkGoesOn();
    expectAllAlive();
  });

  it('survives a restart of the cluster: unready while it is down, ready again by itself, work resumed', async () => {
    await pg.stop('fast');
    for (const service of services) {
      await eventually(async () => {
        const { code, body } = await readiness(service);
        expect(code).toBe(503);
        expect(body.checks.postgres?.status).toBe('down');
      }, 20_000, 250);
    }
    // A crash stop and a start while the services keep trying.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await pg.start();
    await pg.restart('immediate');
    expectAllAlive();
    await expectAllReadyAgain();
    await expectWorkGoesOn();
    expectAllAlive();
  });
});
