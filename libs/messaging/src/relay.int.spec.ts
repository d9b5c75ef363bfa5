import { Pool, type PoolClient } from 'pg';
import { createPostgresEventStore, EventSchemas, withUpcasting, type EventStore, type JsonObject } from '@dh/event-store';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { AmqpConnection } from './amqp-connection';
import { envelopeHeaders, parseEnvelope, toEnvelope } from './envelope';
import { silentMessagingLogger } from './logger';
import { createRelay, type EventRelay, type RelayOptions } from './relay';
import { DEFAULT_MESSAGING_SCHEMA, ensureMessagingTables } from './schema';
import { allEvents, appendEvents, countBy, killConnection, observe, recordPublishHeaders, type Observer } from './testing/jest-support';

jest.setTimeout(30_000);

let db: TestDatabase;
let pool: Pool;
let vhost: TestVhost;
let store: EventStore;
let connections: AmqpConnection[] = [];
let relays: EventRelay[] = [];
let observers: Observer[] = [];
let testNo = 0;

beforeAll(async () => {
  db = await createTestDatabase('messaging_relay');
  pool = new Pool({ connectionString: db.url, max: 10 });
  // Connections this test ends on purpose must not end the test process (services do the same in @dh/platform).
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

beforeEach(async () => {
  testNo++;
  vhost = await createTestVhost('messaging_relay');
  // A fresh event-store schema per test: each test sees only its own events.
  store = await createPostgresEventStore({ pool, schema: `es_relay_${testNo}`, pollIntervalMs: 50 });
});

afterEach(async () => {
  for (const relay of relays) await relay.stop();
  for (const connection of connections) await connection.close();
  for (const observer of observers) await observer.close();
  await store.close();
  relays = [];
  connections = [];
  observers = [];
  await vhost.drop();
});

async function amqp(name = `relay-test-${testNo}`): Promise<AmqpConnection> {
  const connection = new AmqpConnection({ url: vhost.url, connectionName: name, logger: silentMessagingLogger, reconnect: { initialDelayMs: 50, maxDelayMs: 500 } });
  await connection.connect();
  connections.push(connection);
  return connection;
}

async function relay(options: Partial<RelayOptions> & { connection: AmqpConnection }): Promise<EventRelay> {
  const r = createRelay({ eventStore: store, pool, name: 'main', logger: silentMessagingLogger, restartDelayMs: 100, lockRetryMs: 100, ...options });
  await r.start();
  relays.push(r);
  return r;
}

async function watch(queue = 'observer'): Promise<Observer> {
  const o = await observe(vhost.url, queue);
  observers.push(o);
  return o;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 400));

describe('EventRelay', () => {
  it('publishes every event exactly once, in global order, with the contract properties, and checkpoints the last', async () => {
    const observer = await watch();
    const ids = await appendEvents(store, 25);
    const r = await relay({ connection: await amqp(), batchSize: 10 });

    await eventually(() => expect(observer.messages).toHaveLength(25));
    await settle();
    expect(observer.ids()).toEqual(ids);

    const all = await allEvents(store, 25);
    const first = observer.messages[0];
    expect(first.fields.routingKey).toBe('portfolio.customer-created');
    expect(first.properties).toMatchObject({
      deliveryMode: 2,
      contentType: 'application/json',
      type: 'CustomerCreated',
      messageId: ids[0],
      correlationId: all[0].metadata.correlationId,
      headers: { streamId: all[0].streamId, streamRevision: '0', globalPosition: all[0].globalPosition.toString(), checkpoint: all[0].checkpoint },
    });
    expect(typeof first.properties.timestamp).toBe('number');
    const body: unknown = JSON.parse(first.content.toString('utf8'));
    expect(body).toEqual({
      eventId: ids[0],
      type: 'CustomerCreated',
      streamId: all[0].streamId,
      streamRevision: '0',
      globalPosition: all[0].globalPosition.toString(),
      occurredAt: '2026-01-01T00:00:00.000Z',
      recordedAt: all[0].recordedAt.toISOString(),
      data: all[0].data,
      metadata: all[0].metadata,
    });

    await eventually(async () => expect(await r.storedCheckpoint()).toBe(all[24].checkpoint));
    expect(r.stats()).toMatchObject({ published: 25, lastCheckpoint: all[24].checkpoint, active: true, restarts: 0 });
  });

  it.each([
    ['the store as it is (its text read of the log: jsonb text into the body)', (s: EventStore) => s],
    ['a wrapper without the text read (an upcasting store: the fallback, JSON.stringify)', (s: EventStore) => withUpcasting(s, new EventSchemas())],
  ])('publishes bodies that consumers parse to the stored envelope, with its headers, from %s', async (_name, view) => {
    const observer = await watch();
    // No \u0000: PostgreSQL's jsonb cannot hold it.
    const data: JsonObject = { text: 'line\nbreak "quote" \\ \t \u2028 æøå 😀', numbers: [0, -1, 1.5, 0.1, 1e-7, 12345678901234567890, 1e21], nested: { b: [null, true, {}, []], a: 'x' } };
    const metadata = { correlationId: 'corr-x', causationId: 'cause-1', actor: 'test', schemaVersion: 1, context: 'portfolio', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'dh=1', extra: { deep: ['x', 1] } };
    await store.appendToStream('customer "odd" æ', [{ eventId: '6f1c1f9e-3c0b-4b53-9a43-1b1f3f6c0a01', type: 'CustomerCreated', data, metadata, occurredAt: new Date('2026-03-29T01:00:00.123Z') }], { expectedRevision: 'no_stream' });
    const ids = await appendEvents(store, 3);
    await relay({ connection: await amqp(), eventStore: view(store) });
    await eventually(() => expect(observer.messages).toHaveLength(4));
    const all = await allEvents(store, 4);
    expect(observer.ids()).toEqual(all.map((e) => e.eventId));
    expect(observer.ids().slice(1)).toEqual(ids);
    observer.messages.forEach((message, i) => {
      const expected = toEnvelope(all[i]);
      expect(parseEnvelope(message.content)).toEqual(expected);
      expect(message.properties.headers).toEqual(envelopeHeaders(expected, all[i].checkpoint));
      expect(message.properties).toMatchObject({ messageId: expected.eventId, type: expected.type, correlationId: expected.metadata.correlationId, appId: 'relay:main', contentType: 'application/json', deliveryMode: 2 });
    });
    expect(parseEnvelope(observer.messages[0].content).data).toEqual(data);
  });

  it('hands amqplib one header table for every publish (amqplib makes it a prototype), holding each message\'s own headers', async () => {
    const observer = await watch();
    const connection = await amqp();
    const { tables, encoded, restore } = await recordPublishHeaders(connection);
    try {
      const metadata = { correlationId: 'corr-t', causationId: 'cause-t', actor: 'test', schemaVersion: 1, context: 'portfolio', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'dh=1' };
      await store.appendToStream('traced', [{ eventId: '6f1c1f9e-3c0b-4b53-9a43-1b1f3f6c0a02', type: 'CustomerCreated', data: {}, metadata, occurredAt: new Date('2026-03-29T01:00:00.000Z') }], { expectedRevision: 'no_stream' });
      await appendEvents(store, 3);
      await relay({ connection });
      await eventually(() => expect(observer.messages).toHaveLength(4));
      const all = await allEvents(store, 4);
      expect(new Set(tables).size).toBe(1);
      expect(encoded).toEqual(all.map((event) => envelopeHeaders(toEnvelope(event), event.checkpoint)));
      expect(encoded[1]).not.toHaveProperty('traceparent');
      observer.messages.forEach((message, i) => expect(message.properties.headers).toEqual(encoded[i]));
    } finally {
      restore();
    }
  });

  it('after a restart resumes from the stored checkpoint: nothing missing, nothing repeated', async () => {
    const observer = await watch();
    const connection = await amqp();
    const firstIds = await appendEvents(store, 10);
    const first = await relay({ connection, batchSize: 4 });
    await eventually(() => expect(observer.messages).toHaveLength(10));
    await first.stop();
    relays = relays.filter((x) => x !== first);

    const laterIds = await appendEvents(store, 10);
    await settle();
    expect(observer.messages).toHaveLength(10);

    await relay({ connection, batchSize: 4 });
    await eventually(() => expect(observer.messages).toHaveLength(20));
    await settle();
    expect(observer.ids()).toEqual([...firstIds, ...laterIds]);
  });

  it('does not advance the checkpoint past a publish the broker refused; repeats only that unconfirmed tail', async () => {
    const observer = await watch();
    // A second bound queue that refuses messages beyond 3: the broker nacks those publishes.
    const admin = await (await amqp('relay-admin')).createChannel();
    await admin.assertQueue('full', { durable: true, arguments: { 'x-max-length': 3, 'x-overflow': 'reject-publish' } });
    await admin.bindQueue('full', 'domain.events', '#');
    const ids = await appendEvents(store, 5);
    const all = await allEvents(store, 5);
    const r = await relay({ connection: await amqp(), batchSize: 1 });

    await eventually(() => expect(r.stats().restarts).toBeGreaterThanOrEqual(3));
    expect(await r.storedCheckpoint()).toBe(all[2].checkpoint);
    const stuck = countBy(observer.ids());
    expect([stuck.get(ids[0]), stuck.get(ids[1]), stuck.get(ids[2])]).toEqual([1, 1, 1]);
    expect(stuck.get(ids[3])).toBeGreaterThanOrEqual(3);
    expect(stuck.has(ids[4])).toBe(false);

    await admin.purgeQueue('full');
    await eventually(async () => expect(await r.storedCheckpoint()).toBe(all[4].checkpoint));
    await settle();
    const final = countBy(observer.ids());
    expect([final.get(ids[0]), final.get(ids[1]), final.get(ids[2]), final.get(ids[4])]).toEqual([1, 1, 1, 1]);
    expect(final.get(ids[3])).toBeGreaterThanOrEqual(stuck.get(ids[3]) ?? 0);
    expect(r.stats().lastError).toMatch(/nack|reject|closed/i);
  });

  it('keeps publishing while its checkpoint write waits; the checkpoint follows the confirms behind it', async () => {
    const observer = await watch();
    const r = await relay({ connection: await amqp() });
    const [firstId] = await appendEvents(store, 1);
    const [first] = await allEvents(store, 1);
    await eventually(async () => expect(await r.storedCheckpoint()).toBe(first.checkpoint));
    // Another transaction locks the checkpoint table against writes (a lock takes no transaction id, so
    // readers of the log are not held back): the relay's next checkpoint write waits for it.
    const blocker = await pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE messaging.relay_checkpoints IN EXCLUSIVE MODE');
      const ids = await appendEvents(store, 40);
      await eventually(() => expect(observer.ids()).toEqual([firstId, ...ids]));
      const all = await allEvents(store, 41);
      expect(await r.storedCheckpoint()).toBe(all[0].checkpoint);
      await blocker.query('COMMIT');
      await eventually(async () => expect(await r.storedCheckpoint()).toBe(all[40].checkpoint));
      expect(r.stats()).toMatchObject({ published: 41, restarts: 0 });
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
    }
  });

  it('writes at most one checkpoint per checkpointIntervalMs while it publishes, and the last one at once when it stops', async () => {
    const observer = await watch();
    const writes = `checkpoint_writes_${testNo}`;
    await ensureMessagingTables(pool, DEFAULT_MESSAGING_SCHEMA);
    await pool.query(`CREATE TABLE ${writes} (checkpoint text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`);
    await pool.query(
      `CREATE FUNCTION ${writes}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ${writes} (checkpoint) VALUES (NEW.checkpoint); RETURN NEW; END $$`,
    );
    await pool.query(`CREATE TRIGGER ${writes} AFTER INSERT OR UPDATE ON messaging.relay_checkpoints FOR EACH ROW WHEN (NEW.name = 'main') EXECUTE FUNCTION ${writes}()`);
    try {
      const r = await relay({ connection: await amqp(), checkpointIntervalMs: 400 });
      const ids: string[] = [];
      // Ten appends every 100 ms for a second: each group's confirms come while the last write is younger than 400 ms.
      for (let group = 0; group < 10; group++) {
        ids.push(...(await appendEvents(store, 10)));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await eventually(() => expect(observer.ids()).toEqual(ids));
      const all = await allEvents(store, 100);
      await eventually(async () => expect(await r.storedCheckpoint()).toBe(all[99].checkpoint));
      const { rows } = await pool.query<{ gap_ms: number | null }>(`SELECT (extract(epoch FROM at - lag(at) OVER (ORDER BY at)) * 1000)::float8 AS gap_ms FROM ${writes} ORDER BY at`);
      const gaps = rows.map((row) => row.gap_ms).filter((gap): gap is number => gap !== null);
      expect(gaps.length).toBeGreaterThanOrEqual(1);
      expect(gaps.length).toBeLessThanOrEqual(5);
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(350);

      // Stopping does not wait for the interval: the events published last are checkpointed before stop returns.
      const lastIds = await appendEvents(store, 3);
      await eventually(() => expect(observer.ids()).toEqual([...ids, ...lastIds]));
      await r.stop();
      relays = relays.filter((x) => x !== r);
      const after = await allEvents(store, 103);
      expect(await r.storedCheckpoint()).toBe(after[102].checkpoint);
    } finally {
      await pool.query(`DROP TRIGGER ${writes} ON messaging.relay_checkpoints`);
      await pool.query(`DROP FUNCTION ${writes}()`);
      await pool.query(`DROP TABLE ${writes}`);
    }
  });

  it('lets one relay per name publish; a standby takes over when it stops, without gaps or repeats', async () => {
    const observer = await watch();
    const ids = await appendEvents(store, 10);
    const a = await relay({ connection: await amqp('relay-a') });
    const b = await relay({ connection: await amqp('relay-b') });
    await eventually(() => expect(observer.messages).toHaveLength(10));
    await settle();
    expect(observer.messages).toHaveLength(10);
    const active = [a, b].filter((x) => x.stats().active);
    expect(active).toHaveLength(1);
    const standby = active[0] === a ? b : a;
    expect(active[0].status()).toMatchObject({ kind: 'relay', name: 'main', state: 'running', reason: null });
    expect(standby.status()).toMatchObject({ state: 'standby', reason: null });

    await active[0].stop();
    relays = relays.filter((x) => x !== active[0]);
    const more = await appendEvents(store, 5);
    await eventually(() => expect(observer.messages).toHaveLength(15));
    await settle();
    expect(observer.ids()).toEqual([...ids, ...more]);
    expect(standby.stats()).toMatchObject({ active: true, published: 5 });
  });

  it('a standby leaves no listener behind on the pooled connection it tries the lock on (one attempt per lockRetryMs)', async () => {
    const a = await relay({ connection: await amqp('relay-a') });
    await eventually(() => expect(a.stats().active).toBe(true));
    // One connection, so every attempt of the standby takes the same client from its pool.
    const standbyPool = new Pool({ connectionString: db.url, max: 1 });
    const clients: PoolClient[] = [];
    standbyPool.on('connect', (client) => clients.push(client as PoolClient));
    try {
      const b = createRelay({ eventStore: store, connection: await amqp('relay-b'), pool: standbyPool, name: 'main', logger: silentMessagingLogger, lockRetryMs: 10 });
      await b.start();
      await eventually(() => expect(b.status().state).toBe('standby'));
      await new Promise((resolve) => setTimeout(resolve, 400)); // dozens of attempts
      await b.stop();
      expect(clients).toHaveLength(1);
      // Idle in the pool it has the pool's own listener only; before, each attempt left one more (Node warned at 11).
      expect(clients[0]!.listenerCount('error')).toBe(1);
    } finally {
      await standbyPool.end();
    }
  });

  it('survives a lost broker connection: reconnects and resumes with no event missing', async () => {
    const observer = await watch();
    const connection = await amqp('relay-killed');
    const ids = await appendEvents(store, 10);
    const r = await relay({ connection, batchSize: 5 });
    await eventually(() => expect(observer.messages).toHaveLength(10));

    await killConnection(vhost.name, 'relay-killed');
    const more = await appendEvents(store, 10);
    await eventually(() => expect(new Set(observer.ids()).size).toBe(20));
    await settle();
    const counts = countBy(observer.ids());
    expect([...counts.keys()].sort()).toEqual([...ids, ...more].sort());
    // Nothing was in flight when the connection died, so no repeats either.
    expect(observer.messages).toHaveLength(20);
    expect(connection.connectCount).toBeGreaterThanOrEqual(2);
    const all = await allEvents(store, 20);
    await eventually(async () => expect(await r.storedCheckpoint()).toBe(all[19].checkpoint));
  });

  it('reports retrying with the reason when its database connection is lost, and running again by itself', async () => {
    const observer = await watch();
    const r = await relay({ connection: await amqp() });
    const ids = await appendEvents(store, 3);
    await eventually(() => expect(observer.messages).toHaveLength(3));
    expect(r.status().state).toBe('running');
    const seen: string[] = [];
    const sampler = setInterval(() => seen.push(r.status().state), 5);
    try {
      // The backend holding the relay's advisory lock, as ended by a failover or an administrator.
      const { rowCount } = await pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      expect(rowCount).toBe(1);
      await eventually(() => expect(seen).toContain('retrying'));
      await eventually(() => expect(r.status()).toMatchObject({ state: 'running', reason: null }));
    } finally {
      clearInterval(sampler);
    }
    expect(r.stats().restarts).toBeGreaterThanOrEqual(1);
    const more = await appendEvents(store, 3);
    await eventually(() => expect(new Set(observer.ids())).toEqual(new Set([...ids, ...more])));
  });
});
