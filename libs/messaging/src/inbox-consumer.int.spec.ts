import { randomUUID } from 'node:crypto';
import { connect, type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { Pool, type PoolClient } from 'pg';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { AmqpConnection } from './amqp-connection';
import { serializeEnvelope, type EventEnvelope } from './envelope';
import { startConsumer, type ConsumerOptions, type EventHandler, type RunningConsumer } from './inbox-consumer';
import { silentMessagingLogger } from './logger';
import { DEFAULT_EVENT_EXCHANGE } from './topology';
import { killConnection, queueInfo, recordPublishHeaders } from './testing/jest-support';

jest.setTimeout(30_000);

let db: TestDatabase;
let pool: Pool;
let vhost: TestVhost;
let raw: ChannelModel;
let publisher: Channel;
let connection: AmqpConnection;
let consumers: RunningConsumer[] = [];
let testNo = 0;
let table: string;

beforeAll(async () => {
  db = await createTestDatabase('messaging_inbox');
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
  table = `read_model_${testNo}`;
  // No unique constraint on purpose: a second application of an event would show as a second row.
  await pool.query(`CREATE TABLE ${table} (event_id text NOT NULL, n int NOT NULL)`);
  vhost = await createTestVhost('messaging_inbox');
  raw = await connect(vhost.url);
  publisher = await raw.createChannel();
  connection = new AmqpConnection({ url: vhost.url, connectionName: `inbox-${testNo}`, logger: silentMessagingLogger, reconnect: { initialDelayMs: 50, maxDelayMs: 500 } });
  await connection.connect();
});

afterEach(async () => {
  for (const consumer of consumers) await consumer.stop();
  consumers = [];
  await connection.close();
  await raw.close();
  await vhost.drop();
});

function envelope(n: number, eventId: string = randomUUID()): EventEnvelope {
  return {
    eventId,
    type: 'CustomerCreated',
    streamId: `customer-${n}`,
    streamRevision: '0',
    globalPosition: String(n),
    occurredAt: '2026-01-01T00:00:00.000Z',
    recordedAt: '2026-01-01T00:00:01.000Z',
    data: { n },
    metadata: { correlationId: `corr-${n}`, causationId: null, actor: 'test', schemaVersion: 1, context: 'portfolio' },
  };
}

function publish(e: EventEnvelope | Buffer, headers: Record<string, string> = {}): void {
  const content = Buffer.isBuffer(e) ? e : serializeEnvelope(e);
  const messageId = Buffer.isBuffer(e) ? 'malformed' : e.eventId;
  publisher.publish(DEFAULT_EVENT_EXCHANGE, 'portfolio.customer-created', content, { persistent: true, messageId, contentType: 'application/json', headers });
}

/** The read-model write: one row per application. */
const writeRow = async (e: EventEnvelope, tx: PoolClient): Promise<void> => {
  const n = e.data.n;
  await tx.query(`INSERT INTO ${table} (event_id, n) VALUES ($1, $2)`, [e.eventId, typeof n === 'number' ? n : -1]);
};

async function start(options: Partial<ConsumerOptions> & { queue: string }): Promise<RunningConsumer> {
  const consumer = await startConsumer({
    connection,
    pool,
    bindings: ['portfolio.*'],
    handler: writeRow,
    maxAttempts: 4,
    backoff: { initialDelayMs: 50, factor: 2, maxDelayMs: 200 },
    logger: silentMessagingLogger,
    ...options,
  });
  consumers.push(consumer);
  return consumer;
}

async function rows(): Promise<Array<{ event_id: string; n: number }>> {
  return (await pool.query<{ event_id: string; n: number }>(`SELECT event_id, n FROM ${table} ORDER BY n`)).rows;
}

async function inboxCount(consumer: string): Promise<number> {
  const { rows: r } = await pool.query<{ c: string }>('SELECT count(*)::text AS c FROM messaging.inbox WHERE consumer = $1', [consumer]);
  return Number(r[0].c);
}

async function getAll(queue: string): Promise<GetMessage[]> {
  const out: GetMessage[] = [];
  for (;;) {
    const m = await publisher.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(m);
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 400));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('startConsumer (inbox)', () => {
  it('declares the queue with dead-lettering and single active consumer, plus its retry queue and DLQ', async () => {
    const consumer = await start({ queue: 'projection.topology' });
    expect(consumer.topology).toEqual({
      exchange: 'domain.events',
      deadLetterExchange: 'domain.events.dlx',
      queue: 'projection.topology',
      retryQueue: 'projection.topology.retry',
      deadLetterQueue: 'projection.topology.dlq',
    });
    const main = await queueInfo(vhost.name, 'projection.topology');
    expect(main.arguments).toEqual({
      'x-dead-letter-exchange': 'domain.events.dlx',
      'x-dead-letter-routing-key': 'projection.topology',
      'x-single-active-consumer': true,
    });
    const retry = await queueInfo(vhost.name, 'projection.topology.retry');
    expect(retry.arguments).toEqual({ 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'projection.topology' });
    await expect(queueInfo(vhost.name, 'projection.topology.dlq')).resolves.toMatchObject({ messages: 0 });
  });

  it('applies a redelivered event (same event id twice) once: one read-model row, one inbox row', async () => {
    const consumer = await start({ queue: 'projection.dedupe' });
    const a = envelope(1);
    const b = envelope(2);
    publish(a);
    publish(a);
    publish(b);
    publish(a);
    await eventually(() => expect(consumer.stats().applied + consumer.stats().duplicates).toBe(4));
    await settle();
    expect(await rows()).toEqual([
      { event_id: a.eventId, n: 1 },
      { event_id: b.eventId, n: 2 },
    ]);
    expect(await inboxCount('projection.dedupe')).toBe(2);
    expect(consumer.stats()).toMatchObject({ applied: 2, duplicates: 2, retried: 0, deadLettered: 0 });
  });

  it('records event ids with quotes and backslashes as they are (the inbox insert is quoted, not parameterised), alone and in a batch, once', async () => {
    const odd = ["it's", 'back\\slash\\', "'); DROP TABLE messaging.inbox; --", 'E\'\\x27'];
    const alone = await start({ queue: 'projection.quoted' });
    const batched = await start({
      queue: 'projection.quoted-batch',
      bindings: ['portfolio.#'],
      batchSize: 10,
      prefetch: 20,
      batchHandler: async (items, tx) => {
        for (const item of items) await writeRow(item.envelope, tx);
      },
    });
    const events = odd.map((id, n) => envelope(n, id));
    for (const e of events) publish(e);
    publish(events[0]); // a redelivery
    await eventually(() => expect(alone.stats().applied + alone.stats().duplicates).toBe(5));
    await eventually(() => expect(batched.stats().applied + batched.stats().duplicates).toBe(5));
    await settle();
    const { rows: inbox } = await pool.query<{ consumer: string; event_id: string }>(`SELECT consumer, event_id FROM messaging.inbox WHERE consumer LIKE 'projection.quoted%'`);
    const expected = ['projection.quoted', 'projection.quoted-batch'].flatMap((consumer) => odd.map((id) => `${consumer} ${id}`));
    expect(inbox.map((r) => `${r.consumer} ${r.event_id}`).sort()).toEqual(expected.sort());
    // Each consumer wrote each event once into the shared read-model table.
    expect((await rows()).map((r) => r.event_id).sort()).toEqual([...odd, ...odd].sort());
    expect(alone.stats()).toMatchObject({ applied: 4, duplicates: 1, deadLettered: 0 });
    expect(batched.stats()).toMatchObject({ applied: 4, duplicates: 1, deadLettered: 0 });
  });

  it('retries a handler that fails twice, rolls back the failed attempts and applies it once', async () => {
    let calls = 0;
    const flaky: EventHandler = async (e, tx) => {
      calls++;
      await writeRow(e, tx); // written, then rolled back when the attempt fails
      if (calls <= 2) throw new Error(`transient failure ${calls}`);
    };
    const consumer = await start({ queue: 'projection.flaky', handler: flaky });
    const e = envelope(7);
    publish(e);
    await eventually(() => expect(consumer.stats().applied).toBe(1));
    await settle();
    expect(calls).toBe(3);
    expect(await rows()).toEqual([{ event_id: e.eventId, n: 7 }]);
    expect(await inboxCount('projection.flaky')).toBe(1);
    expect(consumer.stats()).toMatchObject({ applied: 1, retried: 2, deadLettered: 0 });
    expect(await getAll('projection.flaky.dlq')).toHaveLength(0);
    expect((await queueInfo(vhost.name, 'projection.flaky.retry')).messages).toBe(0);
  });

  it('dead-letters a handler that always fails after maxAttempts, with reason, count and first failure time', async () => {
    let calls = 0;
    const broken: EventHandler = async (e, tx) => {
      calls++;
      await writeRow(e, tx);
      throw new Error('read model constraint violated');
    };
    const before = new Date();
    const consumer = await start({ queue: 'projection.poison', handler: broken, maxAttempts: 3 });
    const e = envelope(9);
    publish(e);
    const dead = await eventually(async () => {
      const messages = await getAll('projection.poison.dlq');
      expect(messages).toHaveLength(1);
      return messages[0];
    });
    await settle();
    expect(calls).toBe(3);
    expect(await rows()).toEqual([]);
    expect(await inboxCount('projection.poison')).toBe(0);
    expect(dead.content.equals(serializeEnvelope(e))).toBe(true);
    expect(dead.properties.messageId).toBe(e.eventId);
    const headers = dead.properties.headers ?? {};
    expect(headers['x-failure-reason']).toBe('read model constraint violated');
    expect(headers['x-failure-count']).toBe(3);
    expect(headers['x-original-routing-key']).toBe('portfolio.customer-created');
    const firstFailedAt = new Date(String(headers['x-first-failed-at']));
    expect(firstFailedAt.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
    expect(firstFailedAt.getTime()).toBeLessThanOrEqual(Date.now());
    expect(consumer.stats()).toMatchObject({ applied: 0, retried: 2, deadLettered: 1 });
    expect(await getAll('projection.poison')).toHaveLength(0);
    expect((await queueInfo(vhost.name, 'projection.poison.retry')).messages).toBe(0);
  });

  it("hands amqplib one header table for its retry and dead-letter publishes (amqplib makes it a prototype), holding each message's own headers", async () => {
    const { tables, encoded, restore } = await recordPublishHeaders(connection);
    try {
      const broken: EventHandler = async (e) => {
        throw new Error(`cannot apply ${String(e.data.n)}`);
      };
      const consumer = await start({ queue: 'projection.headers', handler: broken, maxAttempts: 2 });
      const first = envelope(1);
      const second = envelope(2);
      publish(first, { origin: 'one' });
      publish(second);
      await eventually(() => expect(consumer.stats()).toMatchObject({ retried: 2, deadLettered: 2 }));
      const dead = await eventually(async () => {
        const messages = await getAll('projection.headers.dlq');
        expect(messages).toHaveLength(2);
        return messages;
      });
      // Two retries and two dead letters, one table.
      expect(tables).toHaveLength(4);
      expect(new Set(tables).size).toBe(1);
      const byId = new Map(dead.map((m) => [m.properties.messageId, m.properties.headers ?? {}]));
      const one = byId.get(first.eventId) ?? {};
      const two = byId.get(second.eventId) ?? {};
      expect(one).toMatchObject({ origin: 'one', 'x-failure-reason': 'cannot apply 1', 'x-failure-count': 2, 'x-retry-count': 1 });
      expect(two).toMatchObject({ 'x-failure-reason': 'cannot apply 2', 'x-failure-count': 2, 'x-retry-count': 1 });
      // What an earlier message set and this one lacks is not carried over: no origin on the second, no last reason on either.
      expect(two).not.toHaveProperty('origin');
      expect(one).not.toHaveProperty('x-last-failure-reason');
      expect(two).not.toHaveProperty('x-last-failure-reason');
      expect(encoded.filter((h) => 'x-failure-reason' in h)).toHaveLength(2);
    } finally {
      restore();
    }
  });

  it('sends malformed JSON straight to the DLQ with the reason, without calling the handler', async () => {
    let calls = 0;
    const consumer = await start({
      queue: 'projection.malformed',
      handler: async (e, tx) => {
        calls++;
        await writeRow(e, tx);
      },
    });
    const garbage = Buffer.from('{"eventId": "x", oops');
    publish(garbage);
    const good = envelope(3);
    publish(good);
    const dead = await eventually(async () => {
      const messages = await getAll('projection.malformed.dlq');
      expect(messages).toHaveLength(1);
      return messages[0];
    });
    await eventually(() => expect(consumer.stats().applied).toBe(1));
    expect(dead.content.equals(garbage)).toBe(true);
    expect(String(dead.properties.headers?.['x-failure-reason'])).toMatch(/^malformed JSON: /);
    expect(dead.properties.headers?.['x-failure-count']).toBe(1);
    expect(calls).toBe(1);
    expect(await rows()).toEqual([{ event_id: good.eventId, n: 3 }]);
    expect(consumer.stats()).toMatchObject({ applied: 1, retried: 0, deadLettered: 1 });
  });

  it('keeps queue order and re-attaches after the connection is lost, applying every event exactly once', async () => {
    const seen: number[] = [];
    const consumer = await start({
      queue: 'projection.reconnect',
      prefetch: 5,
      handler: async (e, tx) => {
        await writeRow(e, tx);
        const n = e.data.n;
        if (typeof n === 'number') seen.push(n);
        await new Promise((resolve) => setTimeout(resolve, 5));
      },
    });
    const first = Array.from({ length: 20 }, (_, i) => envelope(i + 1));
    for (const e of first) publish(e);
    await eventually(() => expect(consumer.stats().applied).toBeGreaterThanOrEqual(5), 10_000, 5);
    await killConnection(vhost.name, `inbox-${testNo}`);
    const second = Array.from({ length: 20 }, (_, i) => envelope(i + 21));
    for (const e of second) publish(e);
    await eventually(async () => expect(await rows()).toHaveLength(40));
    await settle();
    const r = await rows();
    expect(r.map((x) => x.n)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(new Set(r.map((x) => x.event_id)).size).toBe(40);
    expect(await inboxCount('projection.reconnect')).toBe(40);
    // Handled in queue order (a redelivery after the reconnect may repeat a number, never skip back).
    const firstSeen = seen.filter((n, i) => seen.indexOf(n) === i);
    expect(firstSeen).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(connection.connectCount).toBeGreaterThanOrEqual(2);
  });

  it('hands the relay checkpoint header to the handler', async () => {
    const seen: Array<string | null> = [];
    const consumer = await start({
      queue: 'projection.checkpoint',
      handler: async (e, tx, delivery) => {
        await writeRow(e, tx);
        seen.push(delivery.checkpoint);
      },
    });
    publish(envelope(1), { checkpoint: '812:1' });
    publish(envelope(2));
    await eventually(() => expect(consumer.stats().applied).toBe(2));
    expect(seen).toEqual(['812:1', null]);
  });

  it('in halt mode retries in place, keeps order, and stops with the message still queued when it cannot apply it', async () => {
    let failuresLeft = 2;
    const order: number[] = [];
    const consumer = await start({
      queue: 'projection.halt',
      onFailure: 'halt',
      maxAttempts: 3,
      prefetch: 5,
      handler: async (e, tx) => {
        const n = Number(e.data.n);
        if (n === 2 && failuresLeft-- > 0) throw new Error('transient');
        if (n === 4) throw new Error('poison event');
        order.push(n);
        await writeRow(e, tx);
      },
    });
    for (const n of [1, 2, 3, 4, 5]) publish(envelope(n));
    await eventually(() => expect(consumer.stats().halted).not.toBeNull());
    await settle();
    expect(order).toEqual([1, 2, 3]);
    expect((await rows()).map((r) => r.n)).toEqual([1, 2, 3]);
    expect(consumer.stats()).toMatchObject({ applied: 3, deadLettered: 0 });
    expect(consumer.stats().halted).toMatch(/failed 3 times: poison event/);
    await consumer.stop();
    const remaining = await getAll('projection.halt');
    expect(remaining.map((m) => (JSON.parse(m.content.toString()) as EventEnvelope).data.n)).toEqual([4, 5]);
    expect(await getAll('projection.halt.dlq')).toHaveLength(0);
  });

  it('in halt mode parks a poison message in the DLQ at its first failure, with the reason, and goes on with the messages behind it', async () => {
    class InvalidContent extends Error {}
    let transientLeft = 1;
    const attempts = new Map<number, number>();
    const consumer = await start({
      queue: 'projection.poison',
      onFailure: 'halt',
      maxAttempts: 3,
      prefetch: 5,
      isPoison: (error) => error instanceof InvalidContent,
      handler: async (e, tx) => {
        const n = Number(e.data.n);
        attempts.set(n, (attempts.get(n) ?? 0) + 1);
        if (n === 2) throw new InvalidContent('gsrn 571313180400000028: wrong check digit');
        if (n === 4 && transientLeft-- > 0) throw new Error('price not there yet');
        await writeRow(e, tx);
      },
    });
    for (const n of [1, 2, 3, 4, 5]) publish(envelope(n));
    await eventually(() => expect(consumer.stats().applied).toBe(4));
    await settle();
    expect((await rows()).map((r) => r.n)).toEqual([1, 3, 4, 5]);
    // The poison message was tried once; the transient failure was retried in place, as before.
    expect(attempts.get(2)).toBe(1);
    expect(attempts.get(4)).toBe(2);
    expect(consumer.stats()).toMatchObject({ applied: 4, deadLettered: 1, halted: null });
    expect(consumer.status().state).toBe('running');
    const parked = await getAll('projection.poison.dlq');
    expect(parked.map((m) => (JSON.parse(m.content.toString()) as EventEnvelope).data.n)).toEqual([2]);
    expect(parked[0].properties.headers?.['x-failure-reason']).toBe('poison: gsrn 571313180400000028: wrong check digit');
    expect(await getAll('projection.poison')).toHaveLength(0);
  });

  it('shows its state: running, retrying with the reason while the handler fails in place, halted with the reason', async () => {
    let failuresLeft = 2;
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const consumer = await start({
      queue: 'projection.state',
      onFailure: 'halt',
      maxAttempts: 3,
      backoff: { initialDelayMs: 300, factor: 1, maxDelayMs: 300 },
      handler: async (e, tx) => {
        const n = Number(e.data.n);
        if (n === 1 && failuresLeft-- > 0) throw new Error('price list not there yet');
        if (n === 2) await blocked;
        if (n === 3) throw new Error('poison event');
        await writeRow(e, tx);
      },
    });
    expect(consumer.status()).toMatchObject({ name: 'projection.state', kind: 'consumer', state: 'running', reason: null });
    expect(connection.workers.statuses()).toEqual([consumer.status()]);
    for (const n of [1, 2, 3]) publish(envelope(n));
    await eventually(() => expect(consumer.status()).toMatchObject({ state: 'retrying', reason: expect.stringMatching(/failed 1 times: price list not there yet/) }));
    await eventually(() => expect(consumer.status()).toMatchObject({ state: 'running', reason: null }));
    release();
    await eventually(() => expect(consumer.status()).toMatchObject({ state: 'halted', reason: expect.stringMatching(/failed 3 times: poison event/) }));
    await consumer.stop();
    expect(consumer.status().state).toBe('stopped');
    expect(connection.workers.statuses()).toEqual([]);
  });

  it('retries in place while the database connection is lost, without counting it as a failure: nothing dead-lettered or halted', async () => {
    const lost = { count: 2 };
    const states: string[] = [];
    for (const onFailure of ['halt', 'retry-queue'] as const) {
      const queue = `projection.dbloss-${onFailure}`;
      lost.count = 2;
      const consumer = await start({
        queue,
        onFailure,
        // Any failure that counted would halt or dead-letter at once.
        maxAttempts: 1,
        handler: async (e, tx) => {
          states.push(consumer.status().state);
          // The backend of this very transaction is ended, as by a database restart or failover.
          if (lost.count-- > 0) await tx.query('SELECT pg_terminate_backend(pg_backend_pid())');
          await writeRow(e, tx);
        },
      });
      publish(envelope(onFailure === 'halt' ? 1 : 2));
      await eventually(() => expect(consumer.stats().applied).toBe(1));
      expect(consumer.stats()).toMatchObject({ deadLettered: 0, retried: 0, halted: null });
      expect(consumer.status()).toMatchObject({ state: 'running', reason: null });
      expect(await getAll(`${queue}.dlq`)).toHaveLength(0);
      await consumer.stop();
    }
    expect(states).toEqual(['running', 'retrying', 'retrying', 'running', 'retrying', 'retrying']);
    expect((await rows()).map((r) => r.n)).toEqual([1, 2]);
  });

  it('stays halted across a reconnect without taking the message again (no redelivery loop)', async () => {
    let calls = 0;
    const consumer = await start({
      queue: 'projection.halt-reconnect',
      onFailure: 'halt',
      maxAttempts: 2,
      handler: async () => {
        calls++;
        throw new Error('poison event');
      },
    });
    publish(envelope(1));
    await eventually(() => expect(consumer.status().state).toBe('halted'));
    const callsWhenHalted = calls;
    await killConnection(vhost.name, `inbox-${testNo}`);
    await eventually(() => expect(connection.connectCount).toBe(2));
    await pause(1000);
    expect(calls).toBe(callsWhenHalted);
    expect(consumer.status()).toMatchObject({ state: 'halted', reason: expect.stringMatching(/poison event/) });
    // The message waits in the queue and nothing consumes it (a consumer would take and requeue it in a loop).
    expect(await publisher.checkQueue('projection.halt-reconnect')).toMatchObject({ messageCount: 1, consumerCount: 0 });
  });

  it('in halt mode does not count a lost channel after the commit as a failure: the message is applied once and the consumer goes on after the reconnect', async () => {
    let lose = true;
    const consumer = await start({
      queue: 'projection.halt-ack-lost',
      onFailure: 'halt',
      maxAttempts: 2,
      handler: async (e, tx) => {
        await writeRow(e, tx);
        if (!lose) return;
        lose = false;
        // The broker goes away while the transaction is still open: the commit succeeds, the ack cannot.
        await killConnection(vhost.name, `inbox-${testNo}`);
        await eventually(() => expect(connection.isConnected).toBe(false), 10_000, 20);
      },
    });
    publish(envelope(1));
    await eventually(async () => expect((await rows()).map((r) => r.n)).toEqual([1]));
    await eventually(() => expect(connection.connectCount).toBe(2));
    publish(envelope(2));
    await eventually(async () => expect((await rows()).map((r) => r.n)).toEqual([1, 2]));
    await settle();
    expect(consumer.stats()).toMatchObject({ halted: null, applied: 2, duplicates: 1 });
    expect(consumer.status().state).toBe('running');
    expect(await inboxCount('projection.halt-ack-lost')).toBe(2);
    expect(await publisher.checkQueue('projection.halt-ack-lost')).toMatchObject({ messageCount: 0 });
  });

  describe('batch mode', () => {
    /** A handler held at its first event until released, so the next ones wait in the consumer. */
    function gate(): { handler: EventHandler; entered: Promise<void>; release: () => void } {
      let release: () => void = () => undefined;
      let enter: () => void = () => undefined;
      const entered = new Promise<void>((resolve) => (enter = resolve));
      const held = new Promise<void>((resolve) => (release = resolve));
      let first = true;
      const handler: EventHandler = async (e, tx) => {
        if (first) {
          first = false;
          enter();
          await held;
        }
        await writeRow(e, tx);
      };
      return { handler, entered, release };
    }

    it('applies the waiting messages in one transaction each batch, in queue order, once, with redeliveries deduplicated', async () => {
      const sizes: number[] = [];
      const { handler, entered, release } = gate();
      const consumer = await start({
        queue: 'projection.batch',
        batchSize: 50,
        prefetch: 200,
        handler,
        batchHandler: async (items, tx) => {
          sizes.push(items.length);
          for (const item of items) await writeRow(item.envelope, tx);
        },
      });
      const events = Array.from({ length: 121 }, (_, n) => envelope(n));
      publish(events[0]);
      await entered;
      for (const e of events.slice(1)) publish(e);
      publish(events[5]); // a redelivery inside a batch
      publish(events[0]); // and one of an event applied alone before
      await pause(500); // delivered (prefetch 200) and waiting behind the held first event
      release();
      await eventually(() => expect(consumer.stats().applied).toBe(121));
      await settle();
      expect((await rows()).map((r) => r.n)).toEqual(events.map((_, n) => n));
      expect(await inboxCount('projection.batch')).toBe(121);
      expect(consumer.stats()).toMatchObject({ applied: 121, duplicates: 2, retried: 0, deadLettered: 0 });
      // 120 + 2 waiting when the first was done: at most 50 a transaction, so 3 batches.
      expect(sizes).toEqual([50, 50, 20]);
      await consumer.stop();
      expect(await getAll('projection.batch')).toHaveLength(0);
    });

    it('in halt mode falls back to one by one when a batch fails: the events before the poison one applied once, it and the rest stay queued', async () => {
      const { handler: gated, entered, release } = gate();
      const attempts = new Map<number, number>();
      const consumer = await start({
        queue: 'projection.batch-halt',
        onFailure: 'halt',
        maxAttempts: 3,
        batchSize: 10,
        prefetch: 10,
        handler: async (e, tx) => {
          const n = Number(e.data.n);
          attempts.set(n, (attempts.get(n) ?? 0) + 1);
          if (n === 4) throw new Error('poison event');
          await gated(e, tx, { checkpoint: null, redelivered: false });
        },
        batchHandler: async (items, tx) => {
          for (const { envelope: e } of items) {
            if (Number(e.data.n) === 4) throw new Error('poison event');
            await writeRow(e, tx);
          }
        },
      });
      for (const n of [0, 1, 2, 3, 4, 5, 6]) publish(envelope(n));
      await entered;
      release();
      await eventually(() => expect(consumer.stats().halted).not.toBeNull());
      await settle();
      expect((await rows()).map((r) => r.n)).toEqual([0, 1, 2, 3]);
      // Alone, the poison event had all its attempts; the batch's rolled-back attempt is not one of them.
      expect(attempts.get(4)).toBe(3);
      expect(consumer.stats().halted).toMatch(/failed 3 times: poison event/);
      await consumer.stop();
      const remaining = await getAll('projection.batch-halt');
      expect(remaining.map((m) => (JSON.parse(m.content.toString()) as EventEnvelope).data.n)).toEqual([4, 5, 6]);
      expect(await inboxCount('projection.batch-halt')).toBe(4);
    });

    it('in retry-queue mode dead-letters only the event that always fails; the rest of its batch is applied once', async () => {
      const { handler: gated, entered, release } = gate();
      const consumer = await start({
        queue: 'projection.batch-dlq',
        maxAttempts: 2,
        batchSize: 10,
        prefetch: 10,
        handler: async (e, tx) => {
          if (Number(e.data.n) === 3) throw new Error('cannot apply 3');
          await gated(e, tx, { checkpoint: null, redelivered: false });
        },
      });
      for (const n of [0, 1, 2, 3, 4, 5]) publish(envelope(n));
      await entered;
      release();
      await eventually(() => expect(consumer.stats().deadLettered).toBe(1));
      await eventually(() => expect(consumer.stats().applied).toBe(5));
      await settle();
      expect((await rows()).map((r) => r.n)).toEqual([0, 1, 2, 4, 5]);
      const dead = await getAll('projection.batch-dlq.dlq');
      expect(dead).toHaveLength(1);
      expect(dead[0].properties.headers?.['x-failure-reason']).toBe('cannot apply 3');
      expect(await inboxCount('projection.batch-dlq')).toBe(5);
    });
  });
});
