import * as fs from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Pool } from 'pg';
import { startDataHubSimulator, type RunningDataHubSimulator } from '@dh/datahub-sim';
import { startServiceProcess, type ServiceProcess } from '@dh/platform';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';

const scenario = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../tools/datahub-sim/scenarios/example.json'), 'utf8')) as Record<string, unknown>;

/**
 * Part of the fault-injection family (docs/reliability.md): datahub-integration is killed with SIGKILL at the one
 * moment that matters for its inbox, after a DataHub message's events were stored and before DataHub was told to
 * dequeue it. A proxy in front of the DataHub simulator holds the service's second DELETE /dequeue unanswered while
 * the test kills the process, then drops the request. After a restart the message is peeked again, recognised as stored, and dequeued:
 * every document's events once, the queues empty, nothing quarantined.
 */
describe('fault injection: datahub-integration killed between store and dequeue', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: Pool;
  let sim: RunningDataHubSimulator;
  let proxy: Server;
  let proxyUrl: string;
  let service: ServiceProcess | null = null;
  let env: Record<string, string>;
  let dequeues = 0;
  let killedAt: string | null = null;
  let held: IncomingMessage | null = null;

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const dequeue = req.method === 'DELETE' && req.url?.startsWith('/v1.0/cim/dequeue/');
    if (dequeue && ++dequeues === 2) {
      // Stored, not yet dequeued: the request is held (DataHub never hears of it) until the test kills the process.
      killedAt = decodeURIComponent(req.url!.slice('/v1.0/cim/dequeue/'.length));
      held = req;
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers[name] = value;
    const answer = await fetch(`${sim.url}${req.url}`, { method: req.method, headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) });
    const body = Buffer.from(await answer.arrayBuffer());
    const out: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      if (name !== 'content-length' && name !== 'transfer-encoding' && name !== 'connection') out[name] = value;
    });
    res.writeHead(answer.status, out);
    res.end(body);
  }

  const count = async (sql: string): Promise<number> => Number((await pool.query<{ n: string }>(sql)).rows[0]!.n);
  const queued = (): number => Object.values(sim.control.queueDepths()['5799999933318'] ?? {}).reduce((a, b) => a + b, 0);

  beforeAll(async () => {
    db = await createTestDatabase('dh_kill_dequeue');
    vhost = await createTestVhost('dh_kill_dequeue');
    pool = new Pool({ connectionString: db.url, max: 2 });
    sim = await startDataHubSimulator({ port: 0, scenario });
    proxy = createServer((req, res) => {
      forward(req, res).catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    env = {
      DATABASE_URL: db.url,
      AMQP_URL: vhost.url,
      DATAHUB_URL: proxyUrl,
      DATAHUB_CLIENT_ID: 'our-supplier',
      DATAHUB_CLIENT_SECRET: 's3cret-our-supplier',
      SUPPLIER_GLN: '5799999933318',
      DATAHUB_IDLE_MS: '200',
      LOG_FORMAT: 'json',
    };
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    await sim.stop();
    await pool.end();
    await vhost.drop();
    await db.drop();
  }, 60_000);

  it('stores each document once and dequeues the one it died on after the restart', async () => {
    // Master data, a notification and six days of metered data for the forced switch wait in the queues.
    sim.control.advanceTo(new Date('2026-04-06T23:30:00Z'));
    const delivered = queued();
    expect(delivered).toBeGreaterThanOrEqual(4);

    service = await startServiceProcess('datahub-integration', env, 90_000);
    await eventually(() => expect(killedAt).not.toBeNull(), 60_000, 100);
    const victim = service;
    victim.child.kill('SIGKILL');
    await new Promise<void>((resolve) => (victim.child.exitCode !== null || victim.child.signalCode !== null ? resolve() : victim.child.once('exit', () => resolve())));
    held?.socket.destroy();
    expect(victim.child.signalCode).toBe('SIGKILL');

    // The message it died on: its document is stored, and DataHub still has it.
    const storedBeforeRestart = await count(`SELECT count(DISTINCT stream_id) AS n FROM event_store.events WHERE stream_id LIKE 'datahub-document-%'`);
    expect(storedBeforeRestart).toBe(2);
    expect(queued()).toBe(delivered - 1);

    service = await startServiceProcess('datahub-integration', env, 90_000);
    await eventually(() => expect(queued()).toBe(0), 60_000, 200);

    // Every document once: one stream per delivered message, no event twice, nothing quarantined.
    await eventually(async () => expect(await count(`SELECT count(DISTINCT stream_id) AS n FROM event_store.events WHERE stream_id LIKE 'datahub-document-%'`)).toBe(delivered), 20_000, 200);
    const causations = await pool.query<{ message_id: string; documents: string }>(
      `SELECT metadata->>'causationId' AS message_id, count(DISTINCT stream_id)::text AS documents FROM event_store.events WHERE stream_id LIKE 'datahub-document-%' GROUP BY 1`,
    );
    expect(causations.rows.every((r) => r.documents === '1')).toBe(true);
    expect(causations.rows.map((r) => r.message_id)).toContain(killedAt);
    expect(await count(`SELECT count(*) AS n FROM (SELECT stream_id, stream_revision FROM event_store.events GROUP BY 1, 2 HAVING count(*) > 1) d`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM datahub.quarantine`)).toBe(0);
    expect(sim.control.stats()).toMatchObject({ dequeues: delivered });
  }, 240_000);
});
