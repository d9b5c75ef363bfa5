import { Body, Controller, Get, HttpCode, type INestApplication, Param, Post, Query } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Pool } from 'pg';
import request from 'supertest';
import { ProblemDetailsFilter, ProblemException } from '@dh/platform';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { ApiKeyStore } from '../api-keys/api-key-store';
import { AuditLog } from '../audit/audit-log';
import { assertCustomerAccess, customerScopeFilter } from '../customer-access';
import type { Principal } from '../principal';
import { apiKeyHeader, bearer, createTestApiKey, issueTestJwt, testAuthConfig } from '../testing';
import { AuthModule } from './auth.module';
import { AuditPersonalDataRead, CurrentPrincipal, Public, RequireAnyScope, RequireScopes } from './decorators';

const CUSTOMER_A = '11111111-1111-4111-8111-111111111111';
const CUSTOMER_B = '22222222-2222-4222-8222-222222222222';
const MISSING = '33333333-3333-4333-8333-333333333333';
const customers = [
  { id: CUSTOMER_A, name: 'Anna Hansen' },
  { id: CUSTOMER_B, name: 'Bo Berg' },
];
const handlerCalls: string[] = [];

const notFound = (id: string) => ({ type: 'customer-not-found', title: 'Customer not found', status: 404, detail: `No customer with id ${id}` });

@Controller('api/customers')
class DummyCustomersController {
  @Get()
  @RequireAnyScope('customers:read', 'portal:read')
  list(@CurrentPrincipal() principal: Principal) {
    const filter = customerScopeFilter(principal);
    return customers.filter((c) => filter.customerId === undefined || c.id === filter.customerId);
  }

  @Get(':id')
  @RequireAnyScope('customers:read', 'portal:read')
  @AuditPersonalDataRead('customer')
  get(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    handlerCalls.push(id);
    assertCustomerAccess(principal, id, notFound(id));
    const customer = customers.find((c) => c.id === id);
    if (!customer) throw new ProblemException(notFound(id));
    return customer;
  }

  /** Names its subject in the query string, as the portal's endpoints do for staff. */
  @Get('-/summary')
  @RequireAnyScope('customers:read')
  @AuditPersonalDataRead('customer', { idQuery: 'customer_id', action: 'customer.summary.read' })
  summary(@Query('customer_id') id: unknown) {
    return { customers: typeof id === 'string' ? customers.filter((c) => c.id === id).length : 0 };
  }

  @Post()
  @HttpCode(201)
  @RequireScopes('customers:write')
  create(@Body() body: { name: string }) {
    return { id: 'new', name: body.name };
  }
}

@Controller()
class DummyMiscController {
  @Get('health/live')
  live() {
    return { status: 'ok' };
  }

  @Get('docs')
  @Public()
  docs() {
    return { openapi: '3.1.0' };
  }

  @Get('api/whoami')
  @RequireScopes()
  whoami(@CurrentPrincipal() principal: Principal) {
    return principal;
  }

  @Get('api/forgotten')
  forgotten() {
    return { secret: 'should never be served' };
  }
}

describe('AuthModule in a Nest app', () => {
  let db: TestDatabase;
  let pool: Pool;
  let app: INestApplication;
  let keys: ApiKeyStore;
  let audit: AuditLog;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    db = await createTestDatabase('auth_nest');
    pool = new Pool({ connectionString: db.url });
    const moduleRef = await Test.createTestingModule({
      imports: [AuthModule.forRoot({ pool, config: testAuthConfig() })],
      controllers: [DummyCustomersController, DummyMiscController],
    }).compile();
    app = moduleRef.createNestApplication();
    app.useGlobalFilters(new ProblemDetailsFilter());
    await app.init();
    keys = app.get(ApiKeyStore);
    audit = app.get(AuditLog);
    http = request(app.getHttpServer());
  });
  afterAll(async () => {
    await app?.close();
    await pool?.end();
    await db?.drop();
  });
  beforeEach(() => {
    handlerCalls.length = 0;
  });

  const staffToken = (roles: string[] = ['support']) => issueTestJwt({ kind: 'staff', roles, subject: 'emp-42' });
  const customerToken = (customerId: string) => issueTestJwt({ kind: 'customer', customerId });

  describe('401', () => {
    it('without credentials: problem+json unauthorized with a WWW-Authenticate challenge', async () => {
      const res = await http.get('/api/customers').expect(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ type: 'https://datahub-core.dev/problems/unauthorized', status: 401 });
      expect(res.headers['www-authenticate']).toBe('Bearer realm="datahub-core", ApiKey realm="datahub-core"');
      expect(JSON.stringify(res.body)).not.toContain('Anna');
    });

    it('with an invalid or expired token, an unknown key, or two credentials', async () => {
      const invalid = await http.get('/api/customers').set(bearer('not.a.jwt')).expect(401);
      expect(invalid.headers['www-authenticate']).toContain('error="invalid_token"');
      const expired = await http.get('/api/customers').set(bearer(await issueTestJwt({ kind: 'staff', expiresIn: -120 }))).expect(401);
      expect(expired.body.detail).toMatch(/expired/);
      await http.get('/api/customers').set(apiKeyHeader(`dhk_${'a'.repeat(16)}_${'b'.repeat(64)}`)).expect(401);
      const { key } = await createTestApiKey(keys, { consumer: 'crm' });
      await http.get('/api/customers').set(apiKeyHeader(key)).set(bearer(await staffToken())).expect(401);
    });

    it('a revoked key is refused on the next request', async () => {
      const { key, record } = await createTestApiKey(keys, { consumer: 'crm' });
      await http.get('/api/customers').set('Authorization', `ApiKey ${key}`).expect(200);
      await keys.revoke(record.id);
      const res = await http.get('/api/customers').set('Authorization', `ApiKey ${key}`).expect(401);
      expect(res.body.type).toBe('https://datahub-core.dev/problems/unauthorized');
    });

    it('lets health paths and @Public() endpoints through without credentials', async () => {
      await http.get('/health/live').expect(200, { status: 'ok' });
      await http.get('/docs').expect(200, { openapi: '3.1.0' });
    });
  });

  describe('403', () => {
    it('names the missing scope and returns no data', async () => {
      const { key } = await createTestApiKey(keys, { consumer: 'erp' });
      const res = await http.post('/api/customers').set(apiKeyHeader(key)).send({ name: 'Carl' }).expect(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ type: 'https://datahub-core.dev/problems/forbidden', status: 403, detail: 'Missing scope: customers:write', missingScopes: ['customers:write'] });
      const crm = await createTestApiKey(keys, { consumer: 'crm' });
      await http.post('/api/customers').set(apiKeyHeader(crm.key)).send({ name: 'Carl' }).expect(201);
    });

    it('read-only staff cannot write; a client token narrowed by its scope claim cannot either', async () => {
      await http.post('/api/customers').set(bearer(await staffToken(['read-only']))).send({ name: 'x' }).expect(403);
      await http.post('/api/customers').set(bearer(await issueTestJwt({ kind: 'client', consumer: 'crm', scopes: ['customers:read'] }))).send({ name: 'x' }).expect(403);
      await http.post('/api/customers').set(bearer(await issueTestJwt({ kind: 'client', consumer: 'crm' }))).send({ name: 'x' }).expect(201);
    });

    it('refuses an endpoint that declares no scopes, even to an admin', async () => {
      const res = await http.get('/api/forgotten').set(bearer(await staffToken(['admin']))).expect(403);
      expect(JSON.stringify(res.body)).not.toContain('should never be served');
    });

    it('an ERP key cannot read customers at all', async () => {
      const { key } = await createTestApiKey(keys, { consumer: 'erp' });
      const res = await http.get(`/api/customers/${CUSTOMER_A}`).set(apiKeyHeader(key)).expect(403);
      expect(res.body.detail).toBe('Requires one of the scopes: customers:read, portal:read');
      expect(handlerCalls).toEqual([]);
    });
  });

  describe('customers see their own data only', () => {
    it('customer A reading customer B gets the same 404 as for a customer that does not exist', async () => {
      const token = await customerToken(CUSTOMER_A);
      await http.get(`/api/customers/${CUSTOMER_A}`).set(bearer(token)).expect(200, customers[0]);
      const other = await http.get(`/api/customers/${CUSTOMER_B}`).set(bearer(token)).expect(404);
      const missing = await http.get(`/api/customers/${MISSING}`).set(bearer(token)).expect(404);
      expect(other.headers['content-type']).toBe(missing.headers['content-type']);
      expect({ ...other.body, detail: undefined }).toEqual({ ...missing.body, detail: undefined });
      expect(other.body.detail).toBe(`No customer with id ${CUSTOMER_B}`);
      expect(JSON.stringify(other.body)).not.toContain('Bo Berg');
    });

    it('lists only their own customer; staff see all', async () => {
      await http.get('/api/customers').set(bearer(await customerToken(CUSTOMER_B))).expect(200, [customers[1]]);
      await http.get('/api/customers').set(bearer(await staffToken())).expect(200, customers);
    });

    it('attaches the principal to the request', async () => {
      const res = await http.get('/api/whoami').set(bearer(await customerToken(CUSTOMER_A))).expect(200);
      expect(res.body).toEqual({ kind: 'customer', id: `customer-login-${CUSTOMER_A}`, customerId: CUSTOMER_A, scopes: ['portal:read', 'portal:write'] });
    });

    it('customer reads of their own data are not written to the staff audit log', async () => {
      const before = await audit.query({ subjectId: CUSTOMER_A, limit: 1000 });
      await http.get(`/api/customers/${CUSTOMER_A}`).set(bearer(await customerToken(CUSTOMER_A))).expect(200);
      expect(await audit.query({ subjectId: CUSTOMER_A, limit: 1000 })).toHaveLength(before.length);
    });
  });

  describe('staff reads of personal data', () => {
    it('are audited with who, what, when and why', async () => {
      const started = new Date(Date.now() - 1000);
      await http
        .get(`/api/customers/${CUSTOMER_B}`)
        .set(bearer(await staffToken()))
        .set('X-Access-Reason', 'Ticket 4711: caller 020280-1234 asks about invoice')
        .set('X-Request-Id', 'req-abc')
        .expect(200, customers[1]);
      const entries = await audit.query({ subjectId: CUSTOMER_B, actorId: 'emp-42' });
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        actorId: 'emp-42',
        actorKind: 'staff',
        actorRoles: ['support'],
        action: 'customer.read',
        subjectType: 'customer',
        subjectId: CUSTOMER_B,
        purpose: 'Ticket 4711: caller 020280-XXXX asks about invoice',
        requestId: 'req-abc',
        outcome: 'success',
        status: 200,
      });
      expect(entries[0].at.getTime()).toBeGreaterThanOrEqual(started.getTime());
      const { rows } = await pool.query<{ row: string }>('SELECT row_to_json(e)::text AS row FROM audit.entries e');
      expect(rows.map((r) => r.row).join('\n')).not.toMatch(/020280-?1234|Bo Berg|Anna Hansen/);
    });

    it('without X-Access-Reason are refused with 400 before the data is read', async () => {
      const res = await http.get(`/api/customers/${CUSTOMER_A}`).set(bearer(await staffToken())).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ type: 'https://datahub-core.dev/problems/access-reason-required', status: 400 });
      expect(JSON.stringify(res.body)).not.toContain('Anna');
      expect(handlerCalls).toEqual([]);
      await http.get(`/api/customers/${CUSTOMER_A}`).set(bearer(await staffToken())).set('X-Access-Reason', '   ').expect(400);
      const refused = await audit.query({ subjectId: CUSTOMER_A, outcome: 'refused' });
      expect(refused.length).toBeGreaterThanOrEqual(2);
      expect(refused.every((e) => e.status === 400 && e.purpose === null)).toBe(true);
    });

    it('take the subject from the query parameter named by idQuery (null when it is absent or repeated)', async () => {
      const reason = { 'X-Access-Reason': 'summary check' };
      await http.get(`/api/customers/-/summary?customer_id=${CUSTOMER_B}`).set(bearer(await staffToken())).set(reason).expect(200, { customers: 1 });
      expect(await audit.query({ actorId: 'emp-42', action: 'customer.summary.read' })).toEqual([expect.objectContaining({ subjectId: CUSTOMER_B, outcome: 'success', purpose: 'summary check' })]);
      await http.get(`/api/customers/-/summary?customer_id=${CUSTOMER_A}&customer_id=${CUSTOMER_B}`).set(bearer(await staffToken())).set(reason).expect(200);
      await http.get(`/api/customers/-/summary`).set(bearer(await staffToken())).set(reason).expect(200);
      const entries = await audit.query({ actorId: 'emp-42', action: 'customer.summary.read' });
      expect(entries.map((e) => e.subjectId).sort()).toEqual([CUSTOMER_B, null, null].sort());
    });

    it('of a customer that does not exist are audited as not-found', async () => {
      await http.get(`/api/customers/${MISSING}`).set(bearer(await staffToken(['admin']))).set('X-Access-Reason', 'checking').expect(404);
      expect(await audit.query({ subjectId: MISSING })).toEqual([expect.objectContaining({ outcome: 'not-found', status: 404, purpose: 'checking', actorRoles: ['admin'] })]);
    });
  });
});
