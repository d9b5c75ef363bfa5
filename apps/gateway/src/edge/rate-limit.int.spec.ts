import { randomUUID } from 'node:crypto';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Pool } from 'pg';
import request from 'supertest';
import { ApiKeyStore, AuthModule, migrateAuth, RequireScopes } from '@dh/auth';
import { apiKeyHeader, bearer, createTestApiKey, issueTestJwt, testAuthConfig } from '@dh/auth/testing';
import { ProblemDetailsFilter } from '@dh/platform';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { EdgeModule } from './edge.module';

jest.setTimeout(60_000);

let authChecks = 0;

@Controller('api/probe')
class ProbeController {
  @Get()
  @RequireScopes('customers:read')
  probe() {
    return { ok: true };
  }
}

/**
 * Rate limits as an outsider meets them, on two gateway replicas that share Redis (127.0.0.1:6379):
 * one caller's limit holds across replicas, failed logins are throttled per address before any
 * credential is checked, and a flood is refused before authentication.
 */
describe('rate limits shared by gateway replicas through Redis, before and after authentication', () => {
  let db: TestDatabase;
  let pool: Pool;
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('rate_limits');
    pool = new Pool({ connectionString: db.url, max: 6 });
    await migrateAuth(pool);
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await pool?.end();
    await db?.drop();
  });

  async function replica(limits: object, prefix: string): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule({
      imports: [AuthModule.forRoot({ pool, config: testAuthConfig() }), EdgeModule.forRoot({ RATE_LIMITS: JSON.stringify(limits), RATE_LIMIT_PREFIX: prefix, REDIS_URL: 'redis://127.0.0.1:6379' })],
      controllers: [ProbeController],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.useGlobalFilters(new ProblemDetailsFilter());
    await app.init();
    // Count every credential check the guard makes (API keys are looked up in the store).
    const keys = app.get(ApiKeyStore);
    const verify = keys.verify.bind(keys);
    keys.verify = async (...args: Parameters<ApiKeyStore['verify']>) => {
      authChecks++;
      return verify(...args);
    };
    apps.push(app);
    return app;
  }

  it('holds one caller to one limit however many replicas answer it', async () => {
    const prefix = `test:${randomUUID()}`;
    const limits = { crm: { ratePerSecond: 0.1, burst: 4 }, ip: { ratePerSecond: 1000, burst: 10000 } };
    const [a, b] = [await replica(limits, prefix), await replica(limits, prefix)];
    const crm = bearer(await issueTestJwt({ kind: 'client', consumer: 'crm' }));
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await request((i % 2 === 0 ? a : b)!.getHttpServer()).get('/api/probe').set(crm)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    const limited = await request(a!.getHttpServer()).get('/api/probe').set(crm);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.body.type).toMatch(/\/rate-limited$/);
  });

  it('throttles failed logins per address on every replica, refusing even a valid key without checking it', async () => {
    const prefix = `test:${randomUUID()}`;
    const limits = { 'auth-failure': { ratePerSecond: 3 / 300, burst: 3 }, ip: { ratePerSecond: 1000, burst: 10000 } };
    const [a, b] = [await replica(limits, prefix), await replica(limits, prefix)];
    const valid = apiKeyHeader((await createTestApiKey(a!.get(ApiKeyStore), { consumer: 'crm' })).key);
    await request(a!.getHttpServer()).get('/api/probe').set(valid).expect(200);
    const wrong = apiKeyHeader(`dhk_live_${'x'.repeat(43)}`);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await request((i % 2 === 0 ? a : b)!.getHttpServer()).get('/api/probe').set(wrong)).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const before = authChecks;
    const blocked = await request(b!.getHttpServer()).get('/api/probe').set(valid);
    expect(blocked.status).toBe(429);
    expect(blocked.body.detail).toMatch(/failed authentications/);
    expect(authChecks).toBe(before);
  });

  it('refuses a flood from one address before authentication', async () => {
    const prefix = `test:${randomUUID()}`;
    const app = await replica({ ip: { ratePerSecond: 0.1, burst: 3 }, 'auth-failure': { ratePerSecond: 1, burst: 1000 } }, prefix);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await request(app.getHttpServer()).get('/api/probe')).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });
});
