import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Pool } from 'pg';
import { ApiKeyStore, migrateAuth } from '@dh/auth';
import { apiKeyHeader, createTestApiKey, testAuthIssuersEnv } from '@dh/auth/testing';
import { createPostgresEventStore } from '@dh/event-store';
import { silentMessagingLogger } from '@dh/messaging';
import { REPO_ROOT, startServiceProcess, survivingConnectionLoss, type ServiceProcess } from '@dh/platform';
import { customersProjection, projectionChecksum, rebuildProjection } from '@dh/read-models';
import { eventually, startPrivatePostgres, startPrivateRabbitMq, type PrivatePostgres, type PrivateRabbitMq } from '@dh/testing';

/** Advisory-lock namespace of the relay (`libs/messaging/src/relay.ts`): its holder is the active relay. */
const RELAY_LOCK_NAMESPACE = 0x64687231;
const CLIENTS = 3;
const CLIENT_TIMEOUT_MS = 12_000;
const SERVICES = ['portfolio', 'projections', 'gateway', 'datahub-integration', 'rates', 'settlement', 'reconciliation'] as const;

interface Attempt {
  status: number | 'timeout' | 'network';
  problemType?: string;
  retryAfter?: string | null;
  ms: number;
}

interface LogicalCreate {
  key: string;
  attempts: Attempt[];
  id?: string;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const jitter = (min: number, max: number) => min + Math.floor(Math.random() * (max - min));

/**
 * The fault-injection suite: all seven services on a PostgreSQL cluster and a RabbitMQ node of the
 * test's own (other ports; the machine's own servers are never touched) while clients stream customer
 * creations through the gateway, each with an Idempotency-Key and retried on 503 (after Retry-After),
 * 504 and 409-in-progress. Faults, at random moments: kill -9 of the relay holder, of projections, of
 * the command handler (portfolio), of settlement and of datahub-integration, each restarted; a stop and
 * start of the RabbitMQ node; a stop and start and a crash restart of the PostgreSQL cluster. Then:
 * every request answered in time (none hung), every refusal a 503 problem+json with Retry-After (or a
 * 504 for a command whose service was down), every logical creation exactly one customer, events written
 * = events projected (0 lost, 0 doubled), the read model's checksum equal to a clean rebuild's.
 */
describe('fault injection: kill -9, broker and database restarts under a stream of commands', () => {
  let pg: PrivatePostgres;
  let rabbit: PrivateRabbitMq;
  let pool: Pool;
  let env: Record<string, string>;
  let crm: Record<string, string>;
  const services = new Map<string, ServiceProcess>();
  const creates: LogicalCreate[] = [];
  const faults: { fault: string; at: number; recoveredMs: number }[] = [];
  let streaming = true;
  let started = 0;

  async function start(name: string): Promise<void> {
    services.set(name, await startServiceProcess(name, env, 90_000));
  }

  async function killAndRestart(name: string): Promise<void> {
    const victim = services.get(name)!;
    victim.child.kill('SIGKILL');
    await new Promise<void>((resolve) => (victim.child.exitCode !== null || victim.child.signalCode !== null ? resolve() : victim.child.once('exit', () => resolve())));
    await pause(jitter(200, 1500));
    await start(name);
  }

  async function relayHolder(): Promise<string> {
    const { rows } = await pool.query<{ application_name: string }>(
      `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1`,
      [RELAY_LOCK_NAMESPACE],
    );
    return rows[0]?.application_name ?? 'portfolio';
  }

  async function allReady(): Promise<void> {
    for (const [name, service] of services) {
      await eventually(async () => {
        if (service.child.exitCode !== null) throw new Error(`${name} exited\n${service.output().slice(-3000)}`);
        const res = await fetch(`${service.url}/health/ready`, { signal: AbortSignal.timeout(5000) });
        expect({ name, status: res.status }).toEqual({ name, status: 200 });
      }, 90_000, 250);
    }
  }

  async function inject(fault: string, action: () => Promise<void>): Promise<void> {
    const at = Date.now();
    await action();
    await allReady();
    faults.push({ fault, at: at - started, recoveredMs: Date.now() - at });
    await pause(jitter(1000, 3000));
  }

  /** One logical creation: retried with the same Idempotency-Key until it succeeds. */
  async function createCustomer(n: number): Promise<void> {
    const logical: LogicalCreate = { key: `fault-create-${n}`, attempts: [] };
    creates.push(logical);
    for (let attempt = 0; attempt < 40; attempt++) {
      const t0 = Date.now();
      try {
        const res = await fetch(`${services.get('gateway')!.url}/api/customers`, {
          method: 'POST',
          headers: { ...crm, 'content-type': 'application/json', 'idempotency-key': logical.key },
          body: JSON.stringify({ customer_name: `Fault Customer ${n}`, email: `fault${n}@example.dk`, customer_type: 'business', cvr: '13585628' }),
          signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
        });
        const body = (await res.json().catch(() => ({}))) as { id?: string; type?: string };
        logical.attempts.push({ status: res.status, problemType: body.type, retryAfter: res.headers.get('retry-after'), ms: Date.now() - t0 });
        if (res.status === 201) {
          logical.id = body.id;
          return;
        }
        const retryAfter = Number(res.headers.get('retry-after') ?? '1');
        await pause(Math.min(5, Number.isFinite(retryAfter) ? retryAfter : 1) * 1000);
      } catch (error) {
        const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
        logical.attempts.push({ status: timedOut ? 'timeout' : 'network', ms: Date.now() - t0 });
        await pause(1000);
      }
    }
  }

  async function client(first: number): Promise<void> {
    for (let n = first; streaming; n += CLIENTS) {
      await createCustomer(n);
      await pause(jitter(50, 250));
    }
  }

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    rabbit = await startPrivateRabbitMq();
    const databaseUrl = await pg.createDatabase('dh');
    pool = survivingConnectionLoss(new Pool({ connectionString: databaseUrl, max: 3 }), silentMessagingLogger);
    await migrateAuth(pool);
    crm = apiKeyHeader((await createTestApiKey(new ApiKeyStore(pool), { consumer: 'crm' })).key);
    env = { DATABASE_URL: databaseUrl, AMQP_URL: rabbit.url, COMMAND_TIMEOUT_MS: '5000', AUTH_ISSUERS: testAuthIssuersEnv(), RATE_LIMITS: 'off', LOG_FORMAT: 'json' };
    for (const name of SERVICES) await start(name);
  }, 300_000);

  afterAll(async () => {
    streaming = false;
    await Promise.all([...services.values()].map((s) => s.stop()));
    await pool?.end();
    await rabbit?.destroy();
    await pg?.destroy();
  }, 120_000);

  it('loses nothing, doubles nothing, and answers every client in time with a success or a 503', async () => {
    started = Date.now();
    const clients = Array.from({ length: CLIENTS }, (_, i) => client(i));
    await pause(2000);
    const holder = await relayHolder();
    await inject(`kill -9 the relay holder (${holder})`, () => killAndRestart(holder));
    await inject('kill -9 projections', () => killAndRestart('projections'));
    await inject('kill -9 portfolio (command handler) mid-stream', () => killAndRestart('portfolio'));
    await inject('kill -9 settlement', () => killAndRestart('settlement'));
    await inject('kill -9 datahub-integration', () => killAndRestart('datahub-integration'));
    await inject('stop and start the RabbitMQ node', async () => {
      await rabbit.stop();
      await pause(jitter(1000, 3000));
      await rabbit.start();
    });
    await inject('stop and start the PostgreSQL cluster', async () => {
      await pg.stop('fast');
      await pause(jitter(1000, 3000));
      await pg.start();
    });
    await inject('crash restart of the PostgreSQL cluster (immediate stop)', () => pg.restart('immediate'));
    await inject('kill -9 the RabbitMQ node', async () => {
      await rabbit.kill();
      await pause(jitter(500, 1500));
      await rabbit.start();
    });
    streaming = false;
    await Promise.all(clients);
    const streamedMs = Date.now() - started;

    // Every logical creation ended in exactly one customer; every refusal on the way was a 503 with Retry-After, a 504 or a 409 in progress.
    const attempts = creates.flatMap((c) => c.attempts);
    const unfinished = creates.filter((c) => !c.id).map((c) => `${c.key}: ${JSON.stringify(c.attempts)}`);
    expect(unfinished).toEqual([]);
    const hung = attempts.filter((a) => a.status === 'timeout' || a.ms > CLIENT_TIMEOUT_MS);
    const unexpected = attempts.filter(
      (a) =>
        !(a.status === 201 || (a.status === 503 && a.retryAfter !== null && a.problemType !== undefined) || (a.status === 504 && a.problemType?.endsWith('upstream-timeout')) || (a.status === 409 && a.problemType?.endsWith('idempotency-key-in-progress'))),
    );
    expect(hung).toEqual([]);
    expect(unexpected).toEqual([]);
    const ids = creates.map((c) => c.id!);
    expect(new Set(ids).size).toBe(creates.length);

    // Events written = events projected, 0 lost, 0 doubled.
    const count = async (sql: string) => Number((await pool.query<{ n: string }>(sql)).rows[0]!.n);
    await eventually(async () => expect(await count('SELECT count(*) AS n FROM read_models.customers')).toBe(creates.length), 90_000, 500);
    const written = await count(`SELECT count(*) AS n FROM event_store.events WHERE type = 'CustomerCreated'`);
    expect(written).toBe(creates.length);
    const projected = await pool.query<{ customer_id: string }>('SELECT customer_id FROM read_models.customers');
    expect(new Set(projected.rows.map((r) => r.customer_id))).toEqual(new Set(ids));
    const inboxDoubles = await count(`SELECT count(*) AS n FROM (SELECT consumer, event_id FROM messaging.inbox GROUP BY 1, 2 HAVING count(*) > 1) d`);
    expect(inboxDoubles).toBe(0);

    // The live read model equals a clean rebuild from the event store.
    for (const service of services.values()) await service.stop();
    const client0 = await pool.connect();
    const live = await projectionChecksum(customersProjection, client0).finally(() => client0.release());
    const store = await createPostgresEventStore({ pool });
    await rebuildProjection(pool, store, customersProjection);
    await store.close();
    const client1 = await pool.connect();
    const rebuilt = await projectionChecksum(customersProjection, client1).finally(() => client1.release());
    expect(rebuilt).toBe(live);

    const byStatus = new Map<string, number>();
    for (const a of attempts) byStatus.set(String(a.status), (byStatus.get(String(a.status)) ?? 0) + 1);
    const report = {
      streamedSeconds: Math.round(streamedMs / 1000),
      logicalCreates: creates.length,
      requests: attempts.length,
      answers: Object.fromEntries(byStatus),
      retriedCreates: creates.filter((c) => c.attempts.length > 1).length,
      slowestAnswerMs: Math.max(...attempts.map((a) => a.ms)),
      eventsWritten: written,
      eventsProjected: projected.rowCount,
      lost: creates.length - (projected.rowCount ?? 0),
      doubled: written - creates.length,
      checksumEqualsRebuild: rebuilt === live,
      faults,
    };
    // The figures of docs/reliability.md come from this file.
    writeFileSync(path.join(REPO_ROOT, 'dist', 'fault-injection-report.json'), JSON.stringify(report, null, 2));
  }, 900_000);
});
