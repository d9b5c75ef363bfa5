import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Pool } from 'pg';
import request from 'supertest';
import { ApiKeyStore, AuthModule } from '@dh/auth';
import { apiKeyHeader, bearer, createTestApiKey, issueTestJwt, testAuthConfig } from '@dh/auth/testing';
import { createValidationPipe, ProblemDetailsFilter } from '@dh/platform';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { SecretBox, type HostResolver } from '@dh/webhooks';
import { WebhooksApiModule } from './webhooks-api.module';

jest.setTimeout(30_000);

const MASTER_KEY = Buffer.alloc(32, 3);
/** DNS as the test sees it: receivers at example.com are public, one name points into the private network. */
const DNS: Record<string, string> = { 'internal.example.com': '10.20.30.40', 'metadata.example.com': '169.254.169.254', 'mapped.example.com': '::ffff:127.0.0.1' };
const resolver: HostResolver = async (host) => {
  if (DNS[host]) return [{ address: DNS[host]!, family: DNS[host]!.includes(':') ? 6 : 4 }];
  if (host.endsWith('.example.com')) return [{ address: '93.184.215.14', family: 4 }];
  throw new Error(`ENOTFOUND ${host}`);
};
let db: TestDatabase;
let pool: Pool;
let app: INestApplication;
let crm: Record<string, string>;
let erp: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase('gateway_webhooks');
  pool = new Pool({ connectionString: db.url, max: 5 });
  const moduleRef = await Test.createTestingModule({
    imports: [AuthModule.forRoot({ pool, config: testAuthConfig() }), WebhooksApiModule.forRoot({ pool, masterKey: MASTER_KEY, policy: { allowLoopback: false, allowedNetworks: [] }, resolver })],
  }).compile();
  app = moduleRef.createNestApplication();
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.useGlobalPipes(createValidationPipe());
  await app.init();
  crm = bearer(await issueTestJwt({ kind: 'client', consumer: 'crm' }));
  erp = apiKeyHeader((await createTestApiKey(app.get(ApiKeyStore), { consumer: 'erp' })).key);
});

afterAll(async () => {
  await app?.close();
  await pool?.end();
  await db?.drop();
});

const register = (auth: Record<string, string>, body: object) => request(app.getHttpServer()).post('/api/webhooks').set(auth).send(body);

/** A delivery as the dispatcher would record it, to exercise the log and redelivery endpoints. */
async function insertDelivery(subscriptionId: string): Promise<string> {
  const id = randomUUID();
  await pool.query(
    `INSERT INTO webhooks.deliveries (id, subscription_id, event_id, event_type, body, status, attempts, cycle_attempts, last_status_code, last_error)
     VALUES ($1, $2, $3, 'customer.activated', '{}', 'failed', 1, 12, 500, 'HTTP 500')`,
    [id, subscriptionId, randomUUID()],
  );
  await pool.query(`INSERT INTO webhooks.delivery_attempts (delivery_id, attempt, trigger, started_at, duration_ms, status_code, error) VALUES ($1, 1, 'automatic', now(), 12, 500, 'HTTP 500')`, [id]);
  return id;
}

describe('/api/webhooks', () => {
  it('needs credentials and the webhooks:manage scope', async () => {
    await request(app.getHttpServer()).get('/api/webhooks').expect(401);
    const payment = bearer(await issueTestJwt({ kind: 'client', consumer: 'payment' }));
    const res = await request(app.getHttpServer()).get('/api/webhooks').set(payment).expect(403);
    expect(res.body.missingScopes).toEqual(['webhooks:manage']);
    const customer = bearer(await issueTestJwt({ kind: 'customer', customerId: randomUUID() }));
    await register(customer, { url: 'https://example.com/h', event_types: ['*'] }).expect(403);
  });

  it('registers a subscription, returns the secret once, and stores it encrypted', async () => {
    const res = await register(crm, { url: 'https://crm.example.com/hooks?x=1', event_types: ['process.status_changed', 'customer.activated', 'customer.activated'] }).expect(201);
    expect(res.body).toMatchObject({ url: 'https://crm.example.com/hooks?x=1', event_types: ['customer.activated', 'process.status_changed'], active: true, deactivated_at: null });
    expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const list = await request(app.getHttpServer()).get('/api/webhooks').set(crm).expect(200);
    const listed = list.body.items.find((w: { id: string }) => w.id === res.body.id);
    expect(listed).toBeDefined();
    expect(listed.secret).toBeUndefined();
    const { rows } = await pool.query<{ secret_sealed: Buffer }>('SELECT secret_sealed FROM webhooks.subscriptions WHERE id = $1', [res.body.id]);
    expect(rows[0]!.secret_sealed.includes(Buffer.from(res.body.secret))).toBe(false);
    expect(new SecretBox(MASTER_KEY).open(rows[0]!.secret_sealed, res.body.id)).toBe(res.body.secret);
  });

  it('refuses bad registrations', async () => {
    const bad = async (body: object, pattern: RegExp) => {
      const res = await register(crm, body).expect(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(JSON.stringify(res.body)).toMatch(pattern);
    };
    await bad({ url: 'http://crm.example.com/hooks', event_types: ['*'] }, /https/);
    await bad({ url: 'ftp://crm.example.com/hooks', event_types: ['*'] }, /https/);
    await bad({ url: 'https://user:pw@crm.example.com/hooks', event_types: ['*'] }, /credentials/);
    await bad({ url: 'not a url', event_types: ['*'] }, /absolute URL/);
    await bad({ url: 'https://crm.example.com/hooks', event_types: ['customer.created'] }, /unknown event types customer.created/);
    await bad({ url: 'https://crm.example.com/hooks', event_types: [] }, /event_types/);
    await bad({ url: 'https://crm.example.com/hooks', event_types: ['*'], secret: 'mine' }, /secret/);
    await register(crm, { url: 'https://crm.example.com/hooks', event_types: ['*'] }).set('Idempotency-Key', 'k1').expect(400);
  });

  it('refuses targets in the internal network, by address or by name, with a generic reason', async () => {
    const internal = [
      'https://127.0.0.1/hooks',
      'https://localhost/hooks',
      'http://127.0.0.1:9/hooks',
      'https://169.254.169.254/latest/meta-data',
      'https://10.0.0.8/hooks',
      'https://172.16.5.4/hooks',
      'https://192.168.1.10/hooks',
      'https://100.64.0.1/hooks',
      'https://[::1]/hooks',
      'https://[::ffff:127.0.0.1]/hooks',
      'https://[::ffff:a9fe:a9fe]/hooks',
      'https://[fd00::1]/hooks',
      'https://[fe80::1]/hooks',
      'https://0.0.0.0/hooks',
      'https://2130706433/hooks',
      'https://rabbitmq:15672/api/overview',
      'https://postgres/hooks',
      'https://db.internal/hooks',
      'https://internal.example.com/hooks',
      'https://metadata.example.com/hooks',
      'https://mapped.example.com/hooks',
      'https://nowhere.invalid/hooks',
    ];
    for (const url of internal) {
      const res = await register(crm, { url, event_types: ['*'] });
      expect([url, res.status]).toEqual([url, 400]);
      expect(res.body.type).toMatch(/invalid-webhook$/);
      expect(res.body.detail).not.toMatch(/\d+\.\d+\.\d+\.\d+|ENOTFOUND|ECONN/);
    }
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhooks.subscriptions WHERE url LIKE '%internal%' OR url LIKE '%169.254%' OR url LIKE '%rabbitmq%'`);
    expect(rows[0]!.n).toBe(0);
  });

  it('lets each consumer see and manage only its own subscriptions and deliveries', async () => {
    const mine = (await register(erp, { url: 'https://erp.example.com/hooks', event_types: ['settlement.completed', 'settlement.correction'] }).expect(201)).body;
    // The same consumer with another credential (OAuth2 client instead of API key) sees it.
    const erpClient = bearer(await issueTestJwt({ kind: 'client', consumer: 'erp' }));
    expect((await request(app.getHttpServer()).get('/api/webhooks').set(erpClient).expect(200)).body.items.map((w: { id: string }) => w.id)).toEqual([mine.id]);
    expect((await request(app.getHttpServer()).get('/api/webhooks').set(crm).expect(200)).body.items.map((w: { id: string }) => w.id)).not.toContain(mine.id);

    const deliveryId = await insertDelivery(mine.id);
    await request(app.getHttpServer()).get(`/api/webhooks/${mine.id}/deliveries`).set(crm).expect(404);
    await request(app.getHttpServer()).post(`/api/webhooks/deliveries/${deliveryId}/redeliver`).set(crm).expect(404);
    await request(app.getHttpServer()).delete(`/api/webhooks/${mine.id}`).set(crm).expect(404);

    const log = await request(app.getHttpServer()).get(`/api/webhooks/${mine.id}/deliveries`).set(erp).expect(200);
    expect(log.body.items).toEqual([
      expect.objectContaining({ id: deliveryId, webhook_id: mine.id, event_type: 'customer.activated', status: 'failed', attempts: 1, last_status_code: 500, log: [expect.objectContaining({ attempt: 1, trigger: 'automatic', status_code: 500, duration_ms: 12, error: 'HTTP 500' })] }),
    ]);
    await request(app.getHttpServer()).get(`/api/webhooks/${mine.id}/deliveries?limit=0`).set(erp).expect(400);

    const redelivered = await request(app.getHttpServer()).post(`/api/webhooks/deliveries/${deliveryId}/redeliver`).set(erp).expect(202);
    expect(redelivered.body).toMatchObject({ id: deliveryId, status: 'pending' });
    const { rows } = await pool.query('SELECT status, cycle_attempts, manual_requested FROM webhooks.deliveries WHERE id = $1', [deliveryId]);
    expect(rows[0]).toEqual({ status: 'pending', cycle_attempts: 0, manual_requested: true });

    await request(app.getHttpServer()).delete(`/api/webhooks/${mine.id}`).set(erp).expect(204);
    await request(app.getHttpServer()).delete(`/api/webhooks/${mine.id}`).set(erp).expect(404);
    expect((await request(app.getHttpServer()).get('/api/webhooks').set(erp).expect(200)).body.items).toEqual([]);
    // Deleting cancelled the pending delivery; the log stays readable; redelivery is refused.
    const after = await request(app.getHttpServer()).get(`/api/webhooks/${mine.id}/deliveries`).set(erp).expect(200);
    expect(after.body.items[0].status).toBe('cancelled');
    await request(app.getHttpServer()).post(`/api/webhooks/deliveries/${deliveryId}/redeliver`).set(erp).expect(409);
    await request(app.getHttpServer()).get('/api/webhooks/not-a-uuid/deliveries').set(erp).expect(404);
  });
});
