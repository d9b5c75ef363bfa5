import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { Pool } from 'pg';
import { createPostgresEventStore, type EventStore } from '@dh/event-store';
import { AmqpConnection, silentMessagingLogger, startConsumer, type EventEnvelope, type RunningConsumer } from '@dh/messaging';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { runCatchUpSkipsCli } from './catch-up-skips-cli';

jest.setTimeout(60_000);

/** The operator's tool: lists what a catch-up skipped by its cut-off and replays it deliberately, each event applied once. */
describe('catch-up-skips', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: Pool;
  let store: EventStore;
  let connection: AmqpConnection;
  let consumer: RunningConsumer;
  const queue = 'cli.catch-up';

  beforeAll(async () => {
    db = await createTestDatabase('catch_up_skips');
    vhost = await createTestVhost('catch_up_skips');
    pool = new Pool({ connectionString: db.url, max: 5 });
    store = await createPostgresEventStore({ pool });
    connection = new AmqpConnection({ url: vhost.url, logger: silentMessagingLogger });
    await connection.connect();
    await pool.query('CREATE TABLE applied (event_id text PRIMARY KEY)');
  });

  afterAll(async () => {
    await consumer?.stop();
    await connection?.close();
    await store?.close();
    await pool?.end();
    await vhost?.drop();
    await db?.drop();
  });

  const cli = async (...argv: string[]): Promise<string[]> => {
    const lines: string[] = [];
    await runCatchUpSkipsCli(argv, { DATABASE_URL: db.url, AMQP_URL: vhost.url }, { line: (text) => lines.push(text) });
    return lines;
  };
  const append = async (count: number): Promise<string[]> => {
    const ids = Array.from({ length: count }, () => randomUUID());
    for (const eventId of ids) {
      await store.appendToStream(
        `customer-${eventId}`,
        [{ eventId, type: 'CustomerCreated', data: { eventId }, metadata: { correlationId: eventId, causationId: null, actor: 'test', schemaVersion: 1, context: 'portfolio' }, occurredAt: new Date() }],
        { expectedRevision: 'any' },
      );
    }
    return ids;
  };
  const applied = async () => (await pool.query<{ event_id: string }>('SELECT event_id FROM applied ORDER BY event_id')).rows.map((r) => r.event_id);

  it('lists the skipped events of a catch-up with a cut-off and replays them once, recording who', async () => {
    const old = await append(2);
    const recent = await append(1);
    await pool.query(`UPDATE event_store.events SET recorded_at = now() - interval '400 days' WHERE event_id::text = ANY($1::text[])`, [old]);
    consumer = await startConsumer({
      connection,
      pool,
      eventStore: store,
      queue,
      bindings: ['portfolio.*'],
      catchUpCutoff: { windowMs: 24 * 3_600_000 },
      handler: async (e: EventEnvelope, tx: PoolClient) => void (await tx.query('INSERT INTO applied (event_id) VALUES ($1)', [e.eventId])),
      logger: silentMessagingLogger,
    });
    expect(await applied()).toEqual(recent);

    const listed = await cli('list');
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatch(new RegExp(`^cli\\.catch-up portfolio\\.\\*: cut-off \\S+Z, 2 skipped \\(recorded \\S+Z \\.\\. \\S+Z\\), not replayed$`));

    await expect(cli('replay', queue)).rejects.toThrow(/--by <who>/);
    expect(await cli('replay', queue, '--by', 'ops@example.dk')).toEqual([`put 2 skipped events into ${queue}; its consumer applies each once`]);
    await eventually(async () => expect(await applied()).toEqual([...old, ...recent].sort()));
    expect(await cli('replay', queue, '--by', 'ops@example.dk')).toEqual([`put 0 skipped events into ${queue}; its consumer applies each once`]);
    expect((await cli('list', queue))[0]).toMatch(/, 2 skipped .*, replayed 2 at \S+Z by ops@example\.dk$/);
    expect(await cli('list', 'another.queue')).toEqual(['no catch-up with a cut-off recorded']);
  });
});
