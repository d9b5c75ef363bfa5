import type { INestApplication } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { Pool } from 'pg';
import request from 'supertest';
import { AuthModule, migrateAuth } from '@dh/auth';
import { bearer, issueTestJwt, testAuthConfig } from '@dh/auth/testing';
import type { JsonValue } from '@dh/event-store';
import { AmqpConnection, CommandClient, CommandError, CommandServer, silentMessagingLogger } from '@dh/messaging';
import { createValidationPipe, ProblemDetailsFilter } from '@dh/platform';
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from '@dh/testing';
import { IDEMPOTENCY_STORE, IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { IdempotencyStore } from '../idempotency/idempotency.store';
import { SupplyEndingController } from '../processes/supply-ending.controller';
import { COMMAND_CLIENT } from '../tokens';
import { CommandGateway } from './command-gateway';

jest.setTimeout(60_000);

/**
 * What a caller sees when something behind the gateway fails rather than refuses: PostgreSQL gone
 * in a service, a bug in a handler, RabbitMQ gone at the gateway. Never a 4xx (an idempotency store
 * would keep it as the final answer), never the driver's text; 503 names the dependency and says when
 * to retry, and a retry with the same Idempotency-Key runs again.
 */
describe('command failures at the gateway', () => {
  const CUSTOMER = '5d2c1f0e-8f3a-4a4b-9c1d-2e3f4a5b6c7d';
  const GSRN = '571313180400000032';
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: Pool;
  let amqp: AmqpConnection;
  let server: CommandServer;
  let client: CommandClient;
  let app: INestApplication;
  let crm: Record<string, string>;
  let behaviour: () => Promise<JsonValue>;
  const keysSeen: (string | undefined)[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('command_failures');
    vhost = await createTestVhost('command_failures');
    pool = new Pool({ connectionString: db.url, max: 5 });
    await migrateAuth(pool);
    amqp = new AmqpConnection({ url: vhost.url, logger: silentMessagingLogger, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    await amqp.connect();
    server = new CommandServer({ connection: amqp, logger: silentMessagingLogger });
    await server.handle('portfolio', {
      RequestMoveOut: async (payload) => {
        keysSeen.push((payload as { idempotencyKey?: string }).idempotencyKey);
        return behaviour();
      },
    });
    client = new CommandClient({ connection: amqp, defaultTimeoutMs: 20_000 });
    await client.start();
    const idempotency = new IdempotencyStore(pool);
    await idempotency.migrate();
    const moduleRef = await Test.createTestingModule({
      imports: [AuthModule.forRoot({ pool, config: testAuthConfig() })],
      controllers: [SupplyEndingController],
      providers: [
        CommandGateway,
        { provide: COMMAND_CLIENT, useValue: client },
        { provide: IDEMPOTENCY_STORE, useValue: idempotency },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.useGlobalPipes(createValidationPipe());
    app.useGlobalFilters(new ProblemDetailsFilter());
    await app.init();
    crm = bearer(await issueTestJwt({ kind: 'client', consumer: 'crm', expiresIn: '30m' }));
  });

  afterAll(async () => {
    await app?.close();
    await client?.close();
    await server?.close();
    await amqp?.close();
    await pool?.end();
    await vhost?.drop();
    await db?.drop();
  });

  const moveOut = (key: string) =>
    request(app.getHttpServer()).post(`/api/customers/${CUSTOMER}/move-out`).set(crm).set('Idempotency-Key', key).send({ gsrn: GSRN, effective_date: '2027-03-01' });
  const succeed = async (): Promise<JsonValue> => ({ processId: 'c0ffee00-0000-4000-8000-000000000001' });

  function expectUnavailable(res: request.Response, dependency: string): void {
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.body).toMatchObject({ type: expect.stringMatching(/\/dependency-unavailable$/), status: 503, dependency });
    expect(JSON.stringify(res.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|terminat|at \/|node_modules|SELECT/i);
  }

  it('answers 503 naming PostgreSQL when a handler cannot reach its database, and a retry with the same key runs again', async () => {
    const unreachable = new Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/nowhere', connectionTimeoutMillis: 2000 });
    behaviour = async () => (await unreachable.query('SELECT 1')).rows as JsonValue;
    expectUnavailable(await moveOut('pg-down-1'), 'postgres');
    await unreachable.end();

    behaviour = succeed;
    const retried = await moveOut('pg-down-1').expect(202);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    expect(keysSeen.slice(-2)).toEqual([keysSeen.at(-1), keysSeen.at(-1)]);
  });

  it('answers 503 when the database connection is terminated under a running query', async () => {
    behaviour = async () => {
      const victim = await pool.connect();
      victim.on('error', () => undefined);
      try {
        const { rows } = await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
        return (await victim.query('SELECT 1')).rows as JsonValue;
      } finally {
        victim.release(true);
      }
    };
    expectUnavailable(await moveOut('pg-terminated-1'), 'postgres');
  });

  it('answers 500 with a generic text for a bug in a handler, not 422 with its message, and keeps no answer', async () => {
    behaviour = async () => {
      throw new RangeError('Invalid time value at parseLocalDate(2027-02-31)');
    };
    const res = await moveOut('bug-1').expect(500);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.type).toMatch(/\/internal$/);
    expect(JSON.stringify(res.body)).not.toMatch(/Invalid time value|RangeError|parseLocalDate/);
    expect(res.body.errorId).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
    behaviour = succeed;
    await moveOut('bug-1').expect(202);
  });

  it('keeps a refusal as the final answer for its key', async () => {
    behaviour = async () => {
      throw new CommandError('lead-time', 'effective_date is too soon');
    };
    await moveOut('refused-1').expect(422);
    behaviour = succeed;
    const replay = await moveOut('refused-1').expect(422);
    expect(replay.body.type).toMatch(/\/lead-time$/);
  });

  it('lets a retry take over a key whose request died with its gateway, once the lease is over, and lets only the new owner store the answer', async () => {
    let release: (() => void) | null = null;
    behaviour = () => new Promise<JsonValue>((resolve) => (release = () => resolve({ processId: 'c0ffee00-0000-4000-8000-00000000000a' })));
    const first = moveOut('crashed-1').then((r) => r);
    // The first request is inside its command handler, holding the key.
    for (let i = 0; i < 250 && release === null; i++) await new Promise((r) => setTimeout(r, 20));
    expect(release).not.toBeNull();

    const busy = await moveOut('crashed-1').expect(409);
    expect(busy.body.type).toMatch(/\/idempotency-key-in-progress$/);
    expect(Number(busy.headers['retry-after'])).toBeGreaterThan(0);

    // The first request's gateway is gone (its lease would simply run out): end the lease now.
    await pool.query(`UPDATE gateway.idempotency_keys SET locked_until = now() - interval '1 second' WHERE key = 'crashed-1'`);
    const heldBy = (await pool.query<{ owner: string }>(`SELECT owner FROM gateway.idempotency_keys WHERE key = 'crashed-1'`)).rows[0]!.owner;
    const pending = release!;
    behaviour = succeed;
    const takenOver = await moveOut('crashed-1').expect(202);
    expect(takenOver.body.process_id).toBe('c0ffee00-0000-4000-8000-000000000001');
    // The command carried the same derived key both times, so the service could answer "already handled".
    expect(keysSeen.at(-1)).toBe(keysSeen.at(-2));

    pending();
    await first;
    const { rows } = await pool.query<{ owner: string; status: number; body: { process_id: string } }>(`SELECT owner, status, body FROM gateway.idempotency_keys WHERE key = 'crashed-1'`);
    expect(rows[0]!.owner).not.toBe(heldBy);
    expect(rows[0]!.body.process_id).toBe('c0ffee00-0000-4000-8000-000000000001');
  });

  it('answers 503 naming RabbitMQ when the gateway has lost the broker', async () => {
    behaviour = succeed;
    await client.close();
    const res = await moveOut('broker-down-1');
    expectUnavailable(res, 'rabbitmq');
  });
});
