import { Pool } from 'pg';
import request from 'supertest';
import { ApiKeyStore, migrateAuth } from '@dh/auth';
import { apiKeyHeader, bearer, createTestApiKey, issueTestJwt, testAuthIssuersEnv } from '@dh/auth/testing';
import { startServiceProcess, type ServiceProcess } from '@dh/platform';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { observeBus, type BusObserver } from '../testing/e2e-support';

/**
 * The walking skeleton across real processes: gateway → command over RabbitMQ → portfolio →
 * event store → relay → RabbitMQ → projections → read model → gateway, plus an external subscriber.
 */
describe('walking skeleton: create a customer and read it back', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: Pool;
  let subscriber: BusObserver;
  const services: ServiceProcess[] = [];
  let gateway: ServiceProcess;
  let crm: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase('skeleton');
    vhost = await createTestVhost('skeleton');
    pool = new Pool({ connectionString: db.url });
    const env = { DATABASE_URL: db.url, AMQP_URL: vhost.url, COMMAND_TIMEOUT_MS: '3000', AUTH_ISSUERS: testAuthIssuersEnv(), SETTLEMENT_SCHEDULE_INTERVAL_MS: '0', SETTLEMENT_HALT_RETRY_INTERVAL_MS: '0' };
    await migrateAuth(pool);
    crm = apiKeyHeader((await createTestApiKey(new ApiKeyStore(pool), { consumer: 'crm' })).key);

    subscriber = await observeBus(vhost.url);

    // Sequential starts keep the 2-core CI machine from timing out readiness checks.
    for (const name of ['portfolio', 'projections', 'gateway', 'datahub-integration', 'rates', 'settlement', 'reconciliation']) {
      services.push(await startServiceProcess(name, env));
    }
    gateway = services[2];
  }, 120_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await subscriber?.close();
    await pool?.end();
    await vhost?.drop();
    await db?.drop();
  }, 60_000);

  it('all seven services run as their own processes and answer liveness and readiness with every dependency up', async () => {
    expect(services.map((s) => s.name).sort()).toEqual(['datahub-integration', 'gateway', 'portfolio', 'projections', 'rates', 'reconciliation', 'settlement']);
    expect(new Set(services.map((s) => s.child.pid)).size).toBe(7);
    for (const service of services) {
      expect((await fetch(`${service.url}/health/live`)).status).toBe(200);
      const res = await fetch(`${service.url}/health/ready`);
      const body = (await res.json()) as { status: string; checks: Record<string, { status: string }> };
      expect(res.status).toBe(200);
      expect(body.checks).toMatchObject({ postgres: { status: 'up' }, rabbitmq: { status: 'up' }, 'event-store': { status: 'up' } });
    }
  });

  it('creates a customer through the gateway, projects it, serves it, and publishes the event', async () => {
    const created = await request(gateway.url)
      .post('/api/customers')
      .set(crm)
      .send({ customer_name: 'Anna Hansen', email: 'anna.hansen@example.dk', phone: '+4512345678', customer_type: 'private', cpr: '010190-1234' })
      .expect(201);
    const id = created.body.id as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const customer = await eventually(async () => (await request(gateway.url).get(`/api/customers/${id}`).set(crm).expect(200)).body, 20_000, 100);
    expect(customer).toMatchObject({
      id,
      customer_type: 'private',
      status: 'created',
      customer_name: 'Anna Hansen',
      email: 'anna.hansen@example.dk',
      phone: '+4512345678',
      cpr: '010190-XXXX',
      personal_data_erased: false,
    });

    // A staff read of personal data needs a reason and is audit-logged (ids only).
    const staff = bearer(await issueTestJwt({ kind: 'staff', roles: ['support'], subject: 'employee-17' }));
    await request(gateway.url).get(`/api/customers/${id}`).set(staff).expect(400);
    await request(gateway.url).get(`/api/customers/${id}`).set(staff).set('X-Access-Reason', 'ticket 4711: customer called about invoice').expect(200);
    const audit = await pool.query<{ row: string }>(`SELECT a::text AS row FROM audit.entries a`);
    expect(audit.rows.some((r) => r.row.includes('employee-17') && r.row.includes(id) && r.row.includes('ticket 4711'))).toBe(true);
    for (const r of audit.rows) expect(r.row).not.toContain('0101901234');

    // Without credentials nothing is served.
    await request(gateway.url).get(`/api/customers/${id}`).expect(401);

    const published = await eventually(() => {
      const match = subscriber.messages.filter((m) => m.properties.type === 'CustomerCreated');
      expect(match).toHaveLength(1);
      return match[0];
    }, 10_000);
    expect(published.fields.routingKey).toBe('portfolio.customer-created');
    const envelope = JSON.parse(published.content.toString()) as { eventId: string; streamId: string; data: Record<string, unknown>; metadata: Record<string, unknown> };
    expect(published.properties.messageId).toBe(envelope.eventId);
    expect(envelope.streamId).toBe(`customer-${id}`);
    // CustomerCreated is at schema version 2: no keyed hash of the CPR in the event (it lives in the vault).
    expect(envelope.metadata).toMatchObject({ context: 'portfolio', actor: 'api', schemaVersion: 2 });
    expect(Object.keys(envelope.data).sort()).toEqual(['customerId', 'customerType', 'personalData']);

    // Personal data is sealed everywhere it rests or travels.
    const body = published.content.toString();
    for (const secret of ['Anna', 'anna.hansen', '0101901234', '010190-1234', '12345678']) expect(body).not.toContain(secret);
    const events = await pool.query<{ row: string }>('SELECT e::text AS row FROM event_store.events e');
    const readModel = await pool.query<{ row: string }>('SELECT c::text AS row FROM read_models.customers c');
    expect(events.rows).toHaveLength(1);
    expect(readModel.rows).toHaveLength(1);
    for (const row of [...events.rows, ...readModel.rows]) {
      expect(row.row).not.toContain('Anna');
      expect(row.row).not.toContain('0101901234');
    }
    for (const service of services) expect(service.output()).not.toMatch(/0101901234|010190-1234/);
  });

  it('answers field-level problem+json for an invalid body, creating nothing', async () => {
    const res = await request(gateway.url)
      .post('/api/customers')
      .set(crm)
      .send({ customer_name: '', email: 'not-an-email', customer_type: 'private', cpr: '991399-1234' })
      .expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.type).toBe('https://datahub-core.dev/problems/validation');
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['cpr', 'customer_name', 'email']);
    expect(JSON.stringify(res.body)).not.toContain('991399');
    const { rows } = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM event_store.events');
    expect(rows[0].n).toBe('1');
  });

  it('answers 404 problem+json for an unknown customer', async () => {
    const res = await request(gateway.url).get('/api/customers/7d0c2a4e-0000-4000-8000-000000000000').set(crm).expect(404);
    expect(res.body).toMatchObject({ status: 404, type: 'https://datahub-core.dev/problems/customer-not-found' });
  });

  it('honours Idempotency-Key: the same key twice returns the first result and creates nothing new', async () => {
    const body = { customer_name: 'Carl Clausen', email: 'carl@example.dk', customer_type: 'private', cpr: '0202021234' };
    const eventsBefore = Number((await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM event_store.events')).rows[0].n);
    const first = await request(gateway.url).post('/api/customers').set(crm).set('Idempotency-Key', 'crm-order-4711').send(body).expect(201);
    const second = await request(gateway.url).post('/api/customers').set(crm).set('Idempotency-Key', 'crm-order-4711').send(body).expect(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers['idempotent-replayed']).toBe('true');
    const eventsAfter = Number((await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM event_store.events')).rows[0].n);
    expect(eventsAfter - eventsBefore).toBe(1);

    const reused = await request(gateway.url).post('/api/customers').set(crm).set('Idempotency-Key', 'crm-order-4711').send({ ...body, customer_name: 'Someone Else' }).expect(422);
    expect(reused.body.type).toBe('https://datahub-core.dev/problems/idempotency-key-reused');
  });

  it('maps a command nobody answers to 504 problem+json (the portfolio service is down)', async () => {
    const portfolio = services[0];
    await portfolio.stop();
    const started = Date.now();
    const res = await request(gateway.url)
      .post('/api/customers')
      .set(crm)
      .send({ customer_name: 'Bo Berg', email: 'bo@example.dk', customer_type: 'business', cvr: '13585628' })
      .expect(504);
    expect(Date.now() - started).toBeLessThan(6000);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 504, type: 'https://datahub-core.dev/problems/upstream-timeout' });
  });
});
