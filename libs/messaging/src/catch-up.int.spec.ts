import { connect, type Channel, type ChannelModel } from 'amqplib';
import { Pool, type PoolClient } from 'pg';
import { createPostgresEventStore, type EventStore } from '@dh/event-store';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { AmqpConnection } from './amqp-connection';
import type { EventEnvelope } from './envelope';
import { startConsumer, type ConsumerOptions, type RunningConsumer } from './inbox-consumer';
import { silentMessagingLogger } from './logger';
import { createRelay, type EventRelay } from './relay';
import { appendEvents } from './testing/jest-support';

jest.setTimeout(30_000);

/**
 * Declared topology and catch-up: an event published while no queue was bound to its routing key
 * went nowhere; a consumer (or a pattern) that is new catches up on it from the event store before
 * it consumes, and the relay declares every recorded queue before it publishes.
 */
let db: TestDatabase;
let pool: Pool;
let vhost: TestVhost;
let store: EventStore;
let connection: AmqpConnection;
let raw: ChannelModel;
let admin: Channel;
let relays: EventRelay[] = [];
let consumers: RunningConsumer[] = [];
let testNo = 0;
let table: string;

beforeAll(async () => {
  db = await createTestDatabase('messaging_catch_up');
  pool = new Pool({ connectionString: db.url, max: 10 });
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

beforeEach(async () => {
  testNo++;
  table = `applied_${testNo}`;
  await pool.query(`CREATE TABLE ${table} (event_id text NOT NULL, routing text NOT NULL)`);
  vhost = await createTestVhost('messaging_catch_up');
  store = await createPostgresEventStore({ pool, schema: `es_catch_up_${testNo}`, pollIntervalMs: 50 });
  connection = new AmqpConnection({ url: vhost.url, connectionName: `catch-up-${testNo}`, logger: silentMessagingLogger, reconnect: { initialDelayMs: 50, maxDelayMs: 500 } });
  await connection.connect();
  raw = await connect(vhost.url);
  admin = await raw.createChannel();
  admin.on('error', () => undefined);
});

afterEach(async () => {
  for (const consumer of consumers) await consumer.stop();
  for (const relay of relays) await relay.stop();
  consumers = [];
  relays = [];
  await raw.close();
  await connection.close();
  await store.close();
  await vhost.drop();
});

async function relay(): Promise<EventRelay> {
  const r = createRelay({ eventStore: store, connection, pool, name: `catch-up-${testNo}`, logger: silentMessagingLogger, restartDelayMs: 100, lockRetryMs: 100 });
  await r.start();
  relays.push(r);
  return r;
}

const record = async (e: EventEnvelope, tx: PoolClient): Promise<void> => {
  await tx.query(`INSERT INTO ${table} (event_id, routing) VALUES ($1, $2)`, [e.eventId, e.metadata.context]);
};

async function consumer(options: Partial<ConsumerOptions> & { queue: string; bindings: string[] }): Promise<RunningConsumer> {
  const c = await startConsumer({ connection, pool, eventStore: store, handler: record, singleActiveConsumer: false, maxAttempts: 2, backoff: { initialDelayMs: 50 }, logger: silentMessagingLogger, ...options });
  consumers.push(c);
  return c;
}

async function applied(): Promise<string[]> {
  return (await pool.query<{ event_id: string }>(`SELECT event_id FROM ${table}`)).rows.map((r) => r.event_id).sort();
}

async function stop(c: RunningConsumer): Promise<void> {
  await c.stop();
  consumers = consumers.filter((x) => x !== c);
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 400));
const queue = () => `catch-up.q${testNo}`;

describe('declared topology and catch-up', () => {
  it('fresh deployment, relay first: a consumer started after its events were published gets them from the event store, then live ones from its queue, each once', async () => {
    const r = await relay();
    const early = await appendEvents(store, 6, 'portfolio');
    await appendEvents(store, 4, 'settlement'); // not this consumer's
    await eventually(() => expect(r.stats().published).toBe(10));

    const c = await consumer({ queue: queue(), bindings: ['portfolio.*'] });
    expect(await applied()).toEqual([...early].sort());
    expect(c.stats().caughtUp).toBe(6);
    const live = await appendEvents(store, 3, 'portfolio');
    await eventually(async () => expect(await applied()).toEqual([...early, ...live].sort()));
    await settle();
    expect(await applied()).toHaveLength(9);
    const declared = await pool.query<{ pattern: string }>('SELECT pattern FROM messaging.consumer_bindings WHERE queue = $1', [queue()]);
    expect(declared.rows.map((row) => row.pattern)).toEqual(['portfolio.*']);
  });

  it('a new binding on an existing queue: the events of the new pattern published before it existed are caught up, the old ones not repeated', async () => {
    await relay();
    const first = await consumer({ queue: queue(), bindings: ['portfolio.*'] });
    const portfolio = await appendEvents(store, 5, 'portfolio');
    const settlementBefore = await appendEvents(store, 4, 'settlement');
    await eventually(async () => expect(await applied()).toEqual([...portfolio].sort()));
    expect(first.stats().caughtUp).toBe(0);
    await stop(first);

    // The next release binds settlement.* as well.
    const second = await consumer({ queue: queue(), bindings: ['portfolio.*', 'settlement.*'] });
    expect(await applied()).toEqual([...portfolio, ...settlementBefore].sort());
    expect(second.stats().caughtUp).toBe(4);
    const settlementAfter = await appendEvents(store, 2, 'settlement');
    await eventually(async () => expect(await applied()).toEqual([...portfolio, ...settlementBefore, ...settlementAfter].sort()));
    await settle();
    expect(await applied()).toHaveLength(11);
  });

  it('the relay declares every recorded queue before it publishes: a queue lost on the broker gets the events while its consumer is down', async () => {
    const r = await relay();
    const c = await consumer({ queue: queue(), bindings: ['portfolio.*'] });
    await stop(c);
    await r.stop();
    relays = [];
    // The broker lost its definitions (a new node, a restored vhost) while the consumer's service is down.
    await admin.deleteQueue(queue());
    const again = await relay();
    await eventually(() => expect(again.status().state).toBe('running'));
    const ids = await appendEvents(store, 5, 'portfolio');
    await eventually(() => expect(again.stats().published).toBe(5));
    expect((await admin.checkQueue(queue())).messageCount).toBe(5);
    await consumer({ queue: queue(), bindings: ['portfolio.*'] });
    await eventually(async () => expect(await applied()).toEqual([...ids].sort()));
  });

  it('an event that fails while catching up goes through the queue with its retry and dead-letter path; the others are applied', async () => {
    const r = await relay();
    const ids = await appendEvents(store, 5, 'portfolio');
    await eventually(() => expect(r.stats().published).toBe(5));
    const poison = ids[2];
    const c = await consumer({
      queue: queue(),
      bindings: ['portfolio.*'],
      handler: async (e, tx) => {
        if (e.eventId === poison) throw new Error('cannot apply');
        await record(e, tx);
      },
    });
    await eventually(() => expect(c.stats().deadLettered).toBe(1));
    await eventually(async () => expect(await applied()).toEqual(ids.filter((id) => id !== poison).sort()));
    const dead = await admin.get(`${queue()}.dlq`, { noAck: true });
    expect(dead && dead.properties.messageId).toBe(poison);
  });
});
