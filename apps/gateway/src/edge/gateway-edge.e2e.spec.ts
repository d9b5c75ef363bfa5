import { Pool } from 'pg';
import request from 'supertest';
import { ApiKeyStore, migrateAuth } from '@dh/auth';
import { apiKeyHeader, bearer, createTestApiKey, issueTestJwt, testAuthIssuersEnv } from '@dh/auth/testing';
import { createPostgresEventStore, type EventStore } from '@dh/event-store';
import { startServiceProcess, type ServiceProcess } from '@dh/platform';
import { customersProjection, rebuildProjection } from '@dh/read-models';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { HTTP_METHODS, OPENAPI_JSON_PATH, routeKey } from '../openapi/openapi';

jest.setTimeout(90_000);

const CPR = '150285-1234';
const PORTAL_ORIGIN = 'https://min.elselskab.example';
const CPR_DIGITS = '1502851234';

let db: TestDatabase;
let vhost: TestVhost;
let pool: Pool;
let store: EventStore;
let portfolio: ServiceProcess;
let gateway: ServiceProcess;
const others: ServiceProcess[] = [];
let crm: Record<string, string>;
let payment: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase('gateway_edge');
  vhost = await createTestVhost('gateway_edge');
  pool = new Pool({ connectionString: db.url, max: 5 });
  await migrateAuth(pool);
  store = await createPostgresEventStore({ pool, pollIntervalMs: 50 });
  // No scheduled runs or halt retries (on by default in the service) under this test.
  const env = { DATABASE_URL: db.url, AMQP_URL: vhost.url, COMMAND_TIMEOUT_MS: '5000', AUTH_ISSUERS: testAuthIssuersEnv(), SETTLEMENT_SCHEDULE_INTERVAL_MS: '0', SETTLEMENT_HALT_RETRY_INTERVAL_MS: '0' };
  portfolio = await startServiceProcess('portfolio', env);
  // The services the routes command, so an outsider's requests meet the whole path (no 504 for a missing service).
  for (const name of ['datahub-integration', 'settlement', 'rates']) others.push(await startServiceProcess(name, env));
  // Small limits for the payment class only, so the other tests are not throttled.
  gateway = await startServiceProcess('gateway', {
    ...env,
    RATE_LIMITS: JSON.stringify({
      payment: { ratePerSecond: 0.5, burst: 3 },
      anonymous: { ratePerSecond: 100, burst: 1000 },
      crm: { ratePerSecond: 1000, burst: 10000 },
      staff: { ratePerSecond: 1000, burst: 10000 },
      ip: { ratePerSecond: 1000, burst: 20000 },
    }),
    PORTAL_ORIGINS: PORTAL_ORIGIN,
  });
  crm = apiKeyHeader((await createTestApiKey(new ApiKeyStore(pool), { consumer: 'crm' })).key);
  payment = apiKeyHeader((await createTestApiKey(new ApiKeyStore(pool), { consumer: 'payment' })).key);
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  for (const service of others) await service.stop();
  await portfolio?.stop();
  await store?.close();
  await pool?.end();
  await vhost?.drop();
  await db?.drop();
}, 60_000);

const http = () => request(gateway.url);

/**
 * Builds the customers read model from the event store until it holds `customerId`. The global log
 * hides events behind transactions still open elsewhere in the PostgreSQL cluster (other test runs on
 * a busy machine), so one rebuild may not see a customer created a moment ago yet.
 */
async function projectCustomer(customerId: string): Promise<void> {
  await eventually(async () => {
    await rebuildProjection(pool, store, customersProjection);
    expect((await pool.query(`SELECT 1 FROM read_models.customers WHERE customer_id = $1`, [customerId])).rowCount).toBe(1);
  }, 30_000, 250);
}
const staff = async (role: 'admin' | 'support' | 'read-only') => bearer(await issueTestJwt({ kind: 'staff', roles: [role], subject: `employee-${role}` }));

function expectProblem(response: request.Response, status: number, type: string): void {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ type: `https://datahub-core.dev/problems/${type}`, status });
}

describe('gateway edge: every error is problem+json with a stable type', () => {
  it('unknown route → 404 not-found', async () => {
    expectProblem(await http().get('/api/does-not-exist').set(crm), 404, 'not-found');
  });

  it('malformed JSON → 400 malformed-json (not 500), without echoing the body', async () => {
    const response = await http().post('/api/customers').set(crm).set('Content-Type', 'application/json').send(`{"cpr": "${CPR}", `);
    expectProblem(response, 400, 'malformed-json');
    expect(response.text).not.toContain(CPR_DIGITS.slice(6));
  });

  it('body over 1 MB → 413 payload-too-large', async () => {
    const big = JSON.stringify({ customer_name: 'x'.repeat(1024 * 1024 + 10) });
    expectProblem(await http().post('/api/customers').set(crm).set('Content-Type', 'application/json').send(big), 413, 'payload-too-large');
  });

  it('a non-JSON body on a JSON endpoint → 415 unsupported-media-type', async () => {
    expectProblem(await http().post('/api/customers').set(crm).set('Content-Type', 'text/plain').send('customer_name=Anna'), 415, 'unsupported-media-type');
  });

  it('JSON nested 5 000 deep → 400 too-deeply-nested before validation (not a stack overflow, not 500)', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    expectProblem(await http().post('/api/customers').set(crm).set('Content-Type', 'application/json').send(`{"customer_name":${deep}}`), 400, 'too-deeply-nested');
  });

  it('headers over the server limit → 431 as problem+json, not a bare status line', async () => {
    expectProblem(await http().get('/api/portfolio/summary').set(crm).set('X-Padding', 'x'.repeat(20_000)), 431, 'headers-too-large');
  });

  it('no credentials → 401, missing scope → 403', async () => {
    expectProblem(await http().get('/api/portfolio/summary'), 401, 'unauthorized');
    expectProblem(await http().get('/api/settlement/credit-notes').set(crm), 403, 'forbidden');
  });

  it('a CPR in the body or the path never appears in a response or the logs', async () => {
    const responses = [
      await http().post('/api/customers').set(crm).set('Content-Type', 'application/json').send(`{"cpr":"${CPR}" oops}`),
      await http().post('/api/customers').set(crm).send({ customer_name: 'Anna', email: 'not-an-email', customer_type: 'private', cpr: CPR, unexpected: CPR }),
      await http().get(`/api/customers/${CPR_DIGITS}`).set(crm),
      await http().get(`/api/nothing/${CPR}`).set(crm),
      await http().get(`/api/nothing/${CPR_DIGITS}`).set(crm),
    ];
    expect(responses.map((r) => r.status)).toEqual([400, 400, 400, 404, 404]);
    for (const response of responses) {
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.text).not.toContain(CPR);
      expect(response.text).not.toContain(CPR_DIGITS);
    }
    const logs = gateway.output() + portfolio.output();
    expect(logs).not.toContain(CPR);
    expect(logs).not.toContain(CPR_DIGITS);
  });
});

describe('rate limits per caller', () => {
  it('answers 429 rate-limited with Retry-After once the bucket is empty, per principal', async () => {
    const id = '00000000-0000-4000-8000-000000000001';
    const statuses: number[] = [];
    let limited: request.Response | undefined;
    for (let i = 0; i < 4; i += 1) {
      const response = await http().get(`/api/customers/${id}/balance`).set(payment);
      statuses.push(response.status);
      if (response.status === 429) limited = response;
    }
    expect(statuses.slice(0, 3).every((s) => s !== 429)).toBe(true);
    expect(statuses[3]).toBe(429);
    expectProblem(limited as request.Response, 429, 'rate-limited');
    expect(Number(limited?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Another payment key has its own bucket.
    const other = apiKeyHeader((await createTestApiKey(new ApiKeyStore(pool), { consumer: 'payment' })).key);
    expect((await http().get(`/api/customers/${id}/balance`).set(other)).status).not.toBe(429);
  });
});

describe('OpenAPI', () => {
  it('serves the document publicly and lists every route the router registered, each with summary, security and problems', async () => {
    const response = await http().get(`/${OPENAPI_JSON_PATH}`);
    expect(response.status).toBe(200);
    const document = response.body as { openapi: string; paths: Record<string, Record<string, { summary?: string; security?: unknown[]; responses: Record<string, unknown> }>>; components: { securitySchemes: Record<string, unknown> } };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['api-key', 'bearer']);

    // Every route Nest registered in the running gateway, from its own start-up log ("Mapped {/path, METHOD} route"):
    // controllers added by anyone are picked up at run time.
    const registered = new Set<string>();
    for (const match of gateway.output().matchAll(/Mapped \{([^,}]+), ([A-Z]+)\} route/g)) {
      if (match[2] === 'ALL') continue;
      registered.add(routeKey(match[2], match[1]));
    }
    expect(registered.size).toBeGreaterThan(15);
    expect([...registered]).toEqual(expect.arrayContaining(['GET /api/staff/customers/{id}/export', 'POST /api/staff/customers/{id}/erase', 'GET /api/customers/{id}']));

    const documented = new Set<string>();
    const undocumented: string[] = [];
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of HTTP_METHODS) {
        const operation = item[method];
        if (!operation) continue;
        const key = routeKey(method, path);
        documented.add(key);
        const successes = Object.keys(operation.responses).filter((s) => /^2/.test(s));
        if (!operation.summary || operation.security === undefined || successes.length !== 1 || !operation.responses['500']) undocumented.push(key);
      }
    }
    expect([...registered].filter((key) => !documented.has(key))).toEqual([]);
    expect(undocumented).toEqual([]);
    // Security per operation: public health, authenticated API.
    expect(document.paths['/health/live']?.get?.security).toEqual([]);
    expect(document.paths['/api/customers/{id}']?.get?.security).toEqual([{ 'api-key': [] }, { bearer: [] }]);
  });

  it('has request schemas from the DTOs', async () => {
    const document = (await http().get(`/${OPENAPI_JSON_PATH}`)).body as { components: { schemas: Record<string, { properties?: Record<string, unknown> }> } };
    expect(Object.keys(document.components.schemas.CreateCustomerDto?.properties ?? {})).toEqual(expect.arrayContaining(['customer_name', 'email', 'customer_type']));
  });
});

describe('GDPR export and erasure', () => {
  let customerId: string;

  beforeAll(async () => {
    const created = await http()
      .post('/api/customers')
      .set(crm)
      .send({ customer_name: 'Anna Hansen', email: 'anna@example.dk', phone: '+4512345678', customer_type: 'private', cpr: CPR });
    expect(created.status).toBe(201);
    customerId = created.body.id as string;
    await projectCustomer(customerId);
    // A bookkeeping record about the customer, as the settlement projection writes it.
    await pool.query(
      `INSERT INTO read_models.settlement_invoices (invoice_id, run_id, customer_id, gsrn, period, period_start, period_end, payment_model, lines,
         total_excl_vat, total_vat, total_incl_vat, aconto_paid, aconto_difference, net_amount_due, estimated, as_of, issued_at)
       VALUES ('9b2f9c43-5a8e-4d5e-9a51-2f4b8c0e1a11', NULL, $1, '571313180400000028', '2026-01', '2026-01-01', '2026-01-31', 'arrears', '[]',
         100.00, 25.00, 125.00, 0, 0, 125.00, false, now(), now())`,
      [customerId],
    );
    // The customer paid it, as the payments projection records it.
    await pool.query(
      `INSERT INTO read_models.payments (payment_id, status, customer_id, invoice_id, amount, paid_at, method, recorded_at, matched_at)
       VALUES ('pbs-7781', 'matched', $1, '9b2f9c43-5a8e-4d5e-9a51-2f4b8c0e1a11', 125.00, '2026-02-10T09:00:00Z', 'betalingsservice', now(), now())`,
      [customerId],
    );
  });

  it('exports everything about the customer to admin/support with a reason, audit-logged; refuses read-only staff and a missing reason', async () => {
    expectProblem(await http().get(`/api/staff/customers/${customerId}/export`).set(await staff('support')), 400, 'access-reason-required');
    expectProblem(await http().get(`/api/staff/customers/${customerId}/export`).set(await staff('read-only')).set('X-Access-Reason', 'ticket 7'), 403, 'forbidden');
    const response = await http().get(`/api/staff/customers/${customerId}/export`).set(await staff('support')).set('X-Access-Reason', 'GDPR request ticket 7');
    expect(response.status).toBe(200);
    expect(response.body.customer).toMatchObject({ id: customerId, customer_name: 'Anna Hansen', email: 'anna@example.dk', personal_data_erased: false, cpr: '150285-XXXX' });
    expect(response.body.personal_data).toMatchObject({ name: 'Anna Hansen', email: 'anna@example.dk', phone: '+4512345678', cpr: CPR });
    expect(response.body.invoices).toEqual([expect.objectContaining({ invoice_id: '9b2f9c43-5a8e-4d5e-9a51-2f4b8c0e1a11', total_incl_vat: '125.00' })]);
    expect(response.body.payments).toEqual([expect.objectContaining({ payment_id: 'pbs-7781', invoice_id: '9b2f9c43-5a8e-4d5e-9a51-2f4b8c0e1a11', amount: '125.00', method: 'betalingsservice' })]);
    expect(response.body.events.map((e: { type: string }) => e.type)).toEqual(['CustomerCreated']);
    expect(response.body.audit_entries.map((e: { action: string; outcome: string }) => `${e.action}:${e.outcome}`)).toEqual(['customer.export:refused', 'customer.export:refused']);
    const { rows } = await pool.query(`SELECT action, outcome, purpose FROM audit.entries WHERE subject_id = $1 ORDER BY id`, [customerId]);
    expect(rows).toEqual([
      { action: 'customer.export', outcome: 'refused', purpose: null },
      { action: 'customer.export', outcome: 'refused', purpose: 'ticket 7' },
      { action: 'customer.export', outcome: 'success', purpose: 'GDPR request ticket 7' },
    ]);
  });

  it('erases by crypto-shredding (admin only): personal data unreadable, bookkeeping kept, survives a projection rebuild', async () => {
    expectProblem(await http().post(`/api/staff/customers/${customerId}/erase`).set(await staff('support')).set('X-Access-Reason', 'ticket 8'), 403, 'forbidden');
    const erased = await http().post(`/api/staff/customers/${customerId}/erase`).set(await staff('admin')).set('X-Access-Reason', 'GDPR erasure ticket 8');
    expect(erased.status).toBe(200);
    const year = new Date().getUTCFullYear();
    expect(erased.body).toMatchObject({ customer_id: customerId, already_erased: false });
    expect(erased.body.retain_bookkeeping_until).toMatch(new RegExp(`^(${year + 5}|${year + 6})-12-31$`));

    const events = await store.readStream(`customer-erasure-${customerId}`);
    expect(events.map((e) => [e.type, e.metadata.context])).toEqual([['CustomerPersonalDataErased', 'portfolio']]);
    expect(events[0].data).toEqual({ customerId, erasedAt: erased.body.erased_at, retainBookkeepingUntil: erased.body.retain_bookkeeping_until });

    const readBack = async () => (await http().get(`/api/customers/${customerId}`).set(await staff('support')).set('X-Access-Reason', 'check erasure')).body;
    const erasedView = { id: customerId, personal_data_erased: true, customer_name: null, email: null, phone: null, cpr: null };
    expect(await readBack()).toMatchObject(erasedView);
    await rebuildProjection(pool, store, customersProjection);
    expect(await readBack()).toMatchObject(erasedView);

    const again = await http().post(`/api/staff/customers/${customerId}/erase`).set(await staff('admin')).set('X-Access-Reason', 'repeat');
    expect(again.body).toMatchObject({ already_erased: true, erased_at: erased.body.erased_at });

    const exported = await http().get(`/api/staff/customers/${customerId}/export`).set(await staff('admin')).set('X-Access-Reason', 'after erasure');
    expect(exported.body.personal_data).toBeNull();
    expect(exported.body.customer).toMatchObject(erasedView);
    expect(exported.body.invoices).toHaveLength(1);
    expect(JSON.stringify(exported.body)).not.toContain('Anna');
  });
});

/**
 * The OWASP API Security Top 10 (2023) as an outsider tries them, against every route the running
 * gateway registered: hostile ids and bodies never get a 5xx or store anything, unknown and read-only
 * fields are refused (mass assignment), answers carry no more than the caller may see, and the
 * security headers and CORS are those of an API holding personal data. Broken object- and
 * function-level authorization for every route × caller is the authorization matrix
 * (e2e/authorization-matrix.e2e.spec.ts).
 */
describe('an outsider against every route (OWASP API Top 10)', () => {
  const routes = (): { method: string; path: string }[] => {
    const found = new Map<string, { method: string; path: string }>();
    for (const match of gateway.output().matchAll(/Mapped \{([^,}]+), ([A-Z]+)\} route/g)) {
      if (match[2] !== 'GET' && match[2] !== 'POST' && match[2] !== 'DELETE') continue;
      found.set(`${match[2]} ${match[1]}`, { method: match[2], path: match[1] });
    }
    return [...found.values()];
  };
  const storedEvents = async () => Number((await pool.query(`SELECT count(*)::int AS n FROM event_store.events`)).rows[0].n);
  const send = (method: string, path: string, auth: Record<string, string>) => {
    const req = method === 'GET' ? http().get(path) : method === 'DELETE' ? http().delete(path) : http().post(path);
    return req.set(auth);
  };
  /** A clear refusal: 4xx problem+json with a type; otherwise what was wrong. */
  function refusalProblem(what: string, response: request.Response): string | null {
    const problem = response.status >= 400 && response.status < 500 && /^application\/problem\+json/.test(String(response.headers['content-type'])) && typeof response.body.type === 'string';
    return problem ? null : `${what} → ${response.status} ${String(response.headers['content-type'])}`;
  }
  function expectRefused(what: string, response: request.Response): void {
    expect(refusalProblem(what, response)).toBeNull();
  }

  const HOSTILE_IDS = ['..%2F..%2Fetc%2Fpasswd', "1'%20OR%20'1'%3D'1", '%3Cscript%3Ealert(1)%3C%2Fscript%3E', '9'.repeat(400), '%00', 'NaN', '-1', '571313180400000028%0A'];
  const HOSTILE_BODIES: [string, string, string][] = [
    ['malformed JSON', 'application/json', '{"a": '],
    ['JSON nested 5 000 deep', 'application/json', `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`],
    ['wrong content type', 'text/xml', '<a/>'],
    ['an array instead of an object', 'application/json', '[1,2,3]'],
    ['huge numbers and injection strings', 'application/json', JSON.stringify({ amount: 1e308, amount_dkk: '9'.repeat(400), gsrn: "' OR 1=1 --", customer_name: '<script>alert(1)</script>', desired_start_date: '2026-03-29T02:30:00+01:00', __proto__x: { admin: true } })],
    ['control characters', 'application/json', JSON.stringify({ customer_name: 'A\u0000\u001b\u0007', reason: '\u202e' })],
  ];

  it('answers hostile ids and bodies on every route with 4xx problem+json and stores nothing', async () => {
    const admin = { ...bearer(await issueTestJwt({ kind: 'staff', roles: ['admin'], subject: 'outsider-suite' })), 'X-Access-Reason': 'outsider suite' };
    const callers = [crm, admin];
    const before = await storedEvents();
    const all = routes();
    expect(all.length).toBeGreaterThan(20);
    const failures: string[] = [];
    const check = (what: string, response: request.Response) => {
      const failure = refusalProblem(what, response);
      if (failure) failures.push(failure);
    };
    for (const { method, path } of all) {
      const params = path.match(/:[a-zA-Z]+/g) ?? [];
      for (const auth of callers) {
        for (const id of params.length > 0 ? HOSTILE_IDS : []) {
          const target = path.replace(/:[a-zA-Z]+/g, id);
          check(`${method} ${target}`, await send(method, target, auth));
        }
        if (method !== 'POST') continue;
        const target = path.replace(/:[a-zA-Z]+/g, '7d1e3a52-6b0f-4f5e-9a51-0c2b9d3e4f10');
        for (const [what, type, body] of HOSTILE_BODIES) {
          check(`${method} ${target} with ${what}`, await send(method, target, auth).set('Content-Type', type).send(body));
        }
      }
    }
    expect(failures).toEqual([]);
    expect(await storedEvents()).toBe(before);
  });

  it('refuses unknown and read-only fields instead of assigning them (mass assignment), creating nothing', async () => {
    const before = await storedEvents();
    const res = await http()
      .post('/api/customers')
      .set(crm)
      .send({ customer_name: 'Ida Isen', email: 'ida@example.dk', customer_type: 'private', cpr: '0707701234', id: '7d1e3a52-6b0f-4f5e-9a51-0c2b9d3e4f10', status: 'active', personal_data_erased: true, created_at: '2020-01-01' });
    expectRefused('POST /api/customers with read-only fields', res);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/property id should not exist/);
    expect(await storedEvents()).toBe(before);
  });

  it('shows a customer to CRM with the CPR masked and no stored internals', async () => {
    const created = await http().post('/api/customers').set(crm).send({ customer_name: 'Jens Juul', email: 'jens@example.dk', customer_type: 'private', cpr: '0808801234' }).expect(201);
    await projectCustomer(created.body.id as string);
    const view = await http().get(`/api/customers/${created.body.id}`).set(crm).expect(200);
    expect(Object.keys(view.body).sort()).toEqual(['address', 'cpr', 'created_at', 'customer_name', 'customer_type', 'cvr', 'email', 'id', 'personal_data_erased', 'phone', 'placeholder', 'status']);
    expect(view.body.cpr).toBe('080880-XXXX');
    expect(view.text).not.toMatch(/0808801234|personalData|personal_data"|identity|v1\./);
  });

  it('sends the security headers of an API holding personal data, and no server fingerprint', async () => {
    const res = await http().get('/api/portfolio/summary').set(crm);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('allows cross-origin calls from the portal origin only', async () => {
    const preflight = (origin: string) => http().options('/api/portal/invoices').set('Origin', origin).set('Access-Control-Request-Method', 'GET').set('Access-Control-Request-Headers', 'authorization');
    const portal = await preflight(PORTAL_ORIGIN);
    expect(portal.headers['access-control-allow-origin']).toBe(PORTAL_ORIGIN);
    const evil = await preflight('https://evil.example');
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
    const simple = await http().get('/api/portfolio/summary').set(crm).set('Origin', 'https://evil.example');
    expect(simple.headers['access-control-allow-origin']).toBeUndefined();
  });
});
