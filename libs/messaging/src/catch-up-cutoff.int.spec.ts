import { Pool, type PoolClient } from 'pg';
import { createPostgresEventStore, type EventStore } from '@dh/event-store';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { AmqpConnection } from './amqp-connection';
import { CatchUpCutoffFilter, listSkippedByCutoff, replaySkippedByCutoff, type CatchUpCutoff } from './catch-up-cutoff';
import type { EventEnvelope } from './envelope';
import { startConsumer, type Delivery, type RunningConsumer } from './inbox-consumer';
import { silentMessagingLogger } from './logger';
import { createRelay, type EventRelay } from './relay';
import { appendEvents } from './testing/jest-support';

jest.setTimeout(30_000);

/**
 * Catch-up with a cut-off (for consumers that act outside the database): a binding new to a queue catches up only
 * the events recorded at or after its cut-off; the older ones are recorded as skipped, with their count, and go out
 * only when an operator replays them.
 */
let db: TestDatabase;
let pool: Pool;
let vhost: TestVhost;
let store: EventStore;
let connection: AmqpConnection;
let relay: EventRelay;
let consumers: RunningConsumer[] = [];
let testNo = 0;
let table: string;
let schema: string;

beforeAll(async () => {
  db = await createTestDatabase('messaging_catch_up_cutoff');
  pool = new Pool({ connectionString: db.url, max: 10 });
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

beforeEach(async () => {
  testNo++;
  table = `applied_${testNo}`;
  schema = `es_cutoff_${testNo}`;
  await pool.query(`CREATE TABLE ${table} (event_id text NOT NULL, catch_up boolean NOT NULL)`);
  vhost = await createTestVhost('messaging_catch_up_cutoff');
  store = await createPostgresEventStore({ pool, schema, pollIntervalMs: 50 });
  connection = new AmqpConnection({ url: vhost.url, connectionName: `cutoff-${testNo}`, logger: silentMessagingLogger, reconnect: { initialDelayMs: 50, maxDelayMs: 500 } });
  await connection.connect();
  relay = createRelay({ eventStore: store, connection, pool, name: `cutoff-${testNo}`, logger: silentMessagingLogger, restartDelayMs: 100, lockRetryMs: 100 });
  await relay.start();
});

afterEach(async () => {
  for (const consumer of consumers) await consumer.stop();
  consumers = [];
  await relay.stop();
  await connection.close();
  await store.close();
  await vhost.drop();
});

const queue = () => `cutoff.q${testNo}`;

const record = async (e: EventEnvelope, tx: PoolClient, delivery: Delivery): Promise<void> => {
  await tx.query(`INSERT INTO ${table} (event_id, catch_up) VALUES ($1, $2)`, [e.eventId, delivery.catchUp === true]);
};

async function consumer(catchUpCutoff?: CatchUpCutoff): Promise<RunningConsumer> {
  const c = await startConsumer({
    connection,
    pool,
    eventStore: store,
    queue: queue(),
    bindings: ['portfolio.*'],
    handler: record,
    singleActiveConsumer: false,
    logger: silentMessagingLogger,
    ...(catchUpCutoff ? { catchUpCutoff } : {}),
  });
  consumers.push(c);
  return c;
}

async function applied(): Promise<{ id: string; catchUp: boolean }[]> {
  const { rows } = await pool.query<{ event_id: string; catch_up: boolean }>(`SELECT event_id, catch_up FROM ${table} ORDER BY event_id, catch_up`);
  return rows.map((r) => ({ id: r.event_id, catchUp: r.catch_up }));
}

const each = (ids: string[], catchUp: boolean) => ids.map((id) => ({ id, catchUp }));
const sorted = (rows: { id: string; catchUp: boolean }[]) => [...rows].sort((a, b) => a.id.localeCompare(b.id) || Number(a.catchUp) - Number(b.catchUp));
const makeOld = (ids: string[]) => pool.query(`UPDATE ${schema}.events SET recorded_at = now() - interval '2 years' WHERE event_id::text = ANY($1::text[])`, [ids]);

describe('catch-up with a cut-off', () => {
  it('an explicit cut-off: the events before it are skipped (counted, recorded), those after it applied once; a deliberate replay applies the skipped ones once', async () => {
    const old = await appendEvents(store, 4, 'portfolio');
    const { rows } = await pool.query<{ cutoff: Date }>(`SELECT max(recorded_at) + interval '1 millisecond' AS cutoff FROM ${schema}.events`);
    const cutoff = rows[0]!.cutoff;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const recent = await appendEvents(store, 2, 'portfolio');
    await appendEvents(store, 3, 'settlement'); // not this consumer's
    await eventually(() => expect(relay.stats().published).toBe(9));

    const c = await consumer({ from: cutoff });
    expect(await applied()).toEqual(sorted(each(recent, true)));
    expect(c.stats()).toMatchObject({ caughtUp: 2, skippedByCutoff: 4 });
    const skipped = await listSkippedByCutoff(pool, queue());
    expect(skipped).toEqual([expect.objectContaining({ queue: queue(), pattern: 'portfolio.*', cutoff, skipped: 4, replayed: null, replayedAt: null })]);
    expect(skipped[0]!.newest!.getTime()).toBeLessThan(cutoff.getTime());

    const live = await appendEvents(store, 1, 'portfolio');
    await eventually(async () => expect(await applied()).toEqual(sorted([...each(recent, true), ...each(live, false)])));

    // The operator replays them: each applied once, as a catch-up (the handler sees delivery.catchUp).
    expect(await replaySkippedByCutoff({ pool, eventStore: store, connection, queue: queue(), by: 'operator' })).toBe(4);
    await eventually(async () => expect(await applied()).toEqual(sorted([...each(old, true), ...each(recent, true), ...each(live, false)])));
    expect(await replaySkippedByCutoff({ pool, eventStore: store, connection, queue: queue(), by: 'operator' })).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await applied()).toHaveLength(7);
    expect((await listSkippedByCutoff(pool, queue()))[0]).toMatchObject({ skipped: 4, replayed: 4, replayedBy: 'operator' });
  });

  it('a window: events recorded before the binding appeared minus the window are skipped; a consumer without a cut-off (database only) takes the whole history', async () => {
    const old = await appendEvents(store, 3, 'portfolio');
    const recent = await appendEvents(store, 2, 'portfolio');
    await makeOld(old);
    await eventually(() => expect(relay.stats().published).toBe(5));

    const c = await consumer({ windowMs: 24 * 3_600_000 });
    expect(await applied()).toEqual(sorted(each(recent, true)));
    expect(c.stats().skippedByCutoff).toBe(3);
    await c.stop();
    consumers = [];

    // Started again: the pattern is recorded, nothing is caught up or skipped again.
    const again = await consumer({ windowMs: 24 * 3_600_000 });
    expect(again.stats()).toMatchObject({ caughtUp: 0, skippedByCutoff: 0 });
    expect((await listSkippedByCutoff(pool, queue()))[0]).toMatchObject({ skipped: 3 });
    await again.stop();
    consumers = [];

    // The same history for a database-only consumer (no cut-off) on another queue: all of it.
    await pool.query(`DELETE FROM ${table}`);
    const whole = await startConsumer({ connection, pool, eventStore: store, queue: `${queue()}.whole`, bindings: ['portfolio.*'], handler: record, singleActiveConsumer: false, logger: silentMessagingLogger });
    consumers.push(whole);
    expect(await applied()).toEqual(sorted(each([...old, ...recent], true)));
    expect(whole.stats()).toMatchObject({ caughtUp: 5, skippedByCutoff: 0 });
  });

  it('the cut-off instant is fixed the first time it is computed: a catch-up started again after a crash uses the same one', async () => {
    const first = await CatchUpCutoffFilter.open(pool, queue(), 'domain.events', ['a.*', 'b.*'], { windowMs: 3_600_000 }, new Date('2026-12-01T12:00:00Z'));
    await first.finish();
    await CatchUpCutoffFilter.open(pool, queue(), 'domain.events', ['a.*', 'b.*', 'c.*'], { windowMs: 3_600_000 }, new Date('2026-12-02T12:00:00Z'));
    const rows = await listSkippedByCutoff(pool, queue());
    expect(rows.map((r) => [r.pattern, r.cutoff.toISOString()])).toEqual([
      ['a.*', '2026-12-01T11:00:00.000Z'],
      ['b.*', '2026-12-01T11:00:00.000Z'],
      ['c.*', '2026-12-02T11:00:00.000Z'],
    ]);
  });
});
