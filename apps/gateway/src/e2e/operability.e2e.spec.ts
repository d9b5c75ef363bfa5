import { Pool } from 'pg';
import request from 'supertest';
import { ApiKeyStore, migrateAuth } from '@dh/auth';
import { apiKeyHeader, createTestApiKey, testAuthIssuersEnv } from '@dh/auth/testing';
import { silentMessagingLogger } from '@dh/messaging';
import { startServiceProcess, survivingConnectionLoss, type ServiceProcess } from '@dh/platform';
import { createTestVhost, eventually, prometheusSample, startPrivatePostgres, type PrivatePostgres, type TestVhost } from '@dh/testing';
import { observeBus, type BusObserver } from '../testing/e2e-support';

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
 * All seven services against a PostgreSQL cluster of the test's own (never the machine's). What an
 * operator sees (readiness with every consumer's state, Prometheus metrics, JSON logs, one trace and
 * correlation id from the request to the events), then terminated backends, a backend killed with
 * SIGKILL (the postmaster then resets every connection) and a restart of the whole cluster: every
 * process stays up, turns ready again by itself and goes on working.
 */
describe('operability: visible and self-healing services', () => {
  let pg: PrivatePostgres;
  let vhost: TestVhost;
  let pool: Pool;
  let crm: Record<string, string>;
  const services: ServiceProcess[] = [];
  let gateway: ServiceProcess;
  let customersCreated = 0;
  let bus: BusObserver;

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    const databaseUrl = await pg.createDatabase('dh');
    vhost = await createTestVhost('dbloss');
    pool = survivingConnectionLoss(new Pool({ connectionString: databaseUrl, max: 2 }), silentMessagingLogger);
    await migrateAuth(pool);
    crm = apiKeyHeader((await createTestApiKey(new ApiKeyStore(pool), { consumer: 'crm' })).key);
    bus = await observeBus(vhost.url);
    const env = { DATABASE_URL: databaseUrl, AMQP_URL: vhost.url, COMMAND_TIMEOUT_MS: '10000', AUTH_ISSUERS: testAuthIssuersEnv(), SETTLEMENT_SCHEDULE_INTERVAL_MS: '0', SETTLEMENT_HALT_RETRY_INTERVAL_MS: '0' };
    for (const name of ['portfolio', 'projections', 'gateway', 'datahub-integration', 'rates', 'settlement', 'reconciliation']) services.push(await startServiceProcess(name, env));
    gateway = services[2]!;
  }, 180_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await bus?.close();
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

  it('serves Prometheus metrics on every service: HTTP latency, every worker’s state, lag, queue depth and dead letters', async () => {
    // On a port of their own (METRICS_PORT): never on the HTTP port, which for the gateway is the public API.
    for (const service of services) expect({ service: service.name, status: (await fetch(`${service.url}/metrics`)).status }).toEqual({ service: service.name, status: 404 });
    for (const service of services) {
      await fetch(`${service.url}/health/live`);
      const res = await fetch(`${service.metricsUrl}/metrics`);
      expect({ service: service.name, status: res.status, type: res.headers.get('content-type') }).toEqual({ service: service.name, status: 200, type: expect.stringMatching(/^text\/plain/) });
      const text = await res.text();
      const labels = { service: service.name };
      expect(prometheusSample(text, 'http_server_request_duration_seconds_count', { ...labels, method: 'GET', route: '/health/live', status_code: '200' })).toBeGreaterThanOrEqual(1);
      expect(prometheusSample(text, 'dh_consumers_halted', labels)).toBe(0);
      const { body } = await readiness(service);
      for (const worker of body.workers ?? []) {
        expect({ worker: worker.name, running: prometheusSample(text, 'dh_worker_state', { ...labels, worker: worker.name, kind: worker.kind, state: worker.state }) }).toEqual({ worker: worker.name, running: 1 });
        if (worker.kind === 'consumer') expect(prometheusSample(text, 'dh_queue_messages', { ...labels, queue: worker.name })).toBeGreaterThanOrEqual(0);
      }
    }
    const settlement = await (await fetch(`${services.find((s) => s.name === 'settlement')!.metricsUrl}/metrics`)).text();
    expect(prometheusSample(settlement, 'dh_dead_letter_messages', { queue: 'settlement.work' })).toBe(0);
    const projections = await (await fetch(`${services.find((s) => s.name === 'projections')!.metricsUrl}/metrics`)).text();
    expect(prometheusSample(projections, 'dh_settlement_runs_in_progress')).toBe(0);
    // The customer created above went through a projection: its lag was measured.
    expect(prometheusSample(projections, 'dh_event_lag_seconds_count', { worker: 'projection.customers' })).toBeGreaterThanOrEqual(1);
  });

  it('carries the caller’s trace and correlation id from the gateway through the command to the published event, and logs JSON', async () => {
    const traceId = '5c3e1f2a9b8d4c7e6f5a4b3c2d1e0f9a';
    const res = await request(gateway.url)
      .post('/api/customers')
      .set(crm)
      .set('traceparent', `00-${traceId}-1a2b3c4d5e6f7a8b-01`)
      .set('X-Correlation-Id', 'crm-order-77')
      .send({ customer_name: 'Traced Customer', email: 'traced@example.dk', customer_type: 'business', cvr: '13585628' })
      .expect(201);
    customersCreated++;
    expect(res.headers['x-correlation-id']).toBe('crm-order-77');
    const message = await eventually(() => {
      const found = bus.messages.find((m) => m.properties.type === 'CustomerCreated' && (JSON.parse(m.content.toString()) as { streamId: string }).streamId === `customer-${res.body.id}`);
      expect(found).toBeDefined();
      return found!;
    }, 20_000);
    expect(String(message.properties.headers?.traceparent)).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect((JSON.parse(message.content.toString()) as { metadata: Record<string, unknown> }).metadata).toMatchObject({ correlationId: 'crm-order-77' });
    await eventually(async () => expect((await request(gateway.url).get(`/api/customers/${res.body.id}`).set(crm).expect(200)).body).toMatchObject({ customer_name: 'Traced Customer' }), 20_000, 200);

    for (const service of services) {
      const lines = service.output().split('\n').filter((line) => line.trim() !== '' && !line.startsWith('(node:') && !line.startsWith('(Use `node'));
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect({ service: service.name, line: JSON.parse(line) as unknown }).toEqual({ service: service.name, line: expect.objectContaining({ service: service.name, level: expect.any(String), time: expect.any(String) }) });
    }
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
