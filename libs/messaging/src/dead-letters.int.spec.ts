import { randomUUID } from 'node:crypto';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { Pool, type PoolClient } from 'pg';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { AmqpConnection } from './amqp-connection';
import { DeadLetterError, DeadLetterQueues, REPLAYED_BY_HEADER } from './dead-letters';
import { serializeEnvelope, type EventEnvelope } from './envelope';
import { startConsumer, type RunningConsumer } from './inbox-consumer';
import { silentMessagingLogger } from './logger';
import { DEFAULT_EVENT_EXCHANGE } from './topology';

jest.setTimeout(30_000);

let db: TestDatabase;
let pool: Pool;
let vhost: TestVhost;
let raw: ChannelModel;
let publisher: Channel;
let connection: AmqpConnection;
let consumer: RunningConsumer | null = null;

beforeAll(async () => {
  db = await createTestDatabase('messaging_dlq');
  pool = new Pool({ connectionString: db.url, max: 5 });
  vhost = await createTestVhost('messaging_dlq');
  raw = await connect(vhost.url);
  publisher = await raw.createChannel();
  connection = new AmqpConnection({ url: vhost.url, connectionName: 'dlq-test', logger: silentMessagingLogger });
  await connection.connect();
  await pool.query(`CREATE TABLE applied (event_id text PRIMARY KEY)`);
});

afterAll(async () => {
  await consumer?.stop();
  await connection.close();
  await raw.close();
  await vhost.drop();
  await pool.end();
  await db.drop();
});

const envelope = (n: number): EventEnvelope => ({
  eventId: randomUUID(),
  type: 'CustomerCreated',
  streamId: `customer-${n}`,
  streamRevision: '0',
  globalPosition: String(n),
  occurredAt: '2026-01-01T00:00:00.000Z',
  recordedAt: '2026-01-01T00:00:01.000Z',
  data: { n },
  metadata: { correlationId: `corr-${n}`, causationId: null, actor: 'test', schemaVersion: 1, context: 'portfolio' },
});

describe('dead-letter queues for operators', () => {
  it('lists, shows, replays to the one consumer and discards with the reason kept', async () => {
    // The handler fails while `broken` holds: the messages end in the DLQ after two attempts.
    let broken = true;
    consumer = await startConsumer({
      connection,
      pool,
      queue: 'ops.read-model',
      bindings: ['portfolio.#'],
      logger: silentMessagingLogger,
      maxAttempts: 2,
      backoff: { initialDelayMs: 20, maxDelayMs: 20 },
      handler: async (e: EventEnvelope, tx: PoolClient) => {
        if (broken) throw new Error(`cannot apply ${String(e.data.n)}`);
        await tx.query(`INSERT INTO applied (event_id) VALUES ($1)`, [e.eventId]);
      },
    });
    const [first, second] = [envelope(1), envelope(2)];
    for (const e of [first, second]) publisher.publish(DEFAULT_EVENT_EXCHANGE, 'portfolio.customer-created', serializeEnvelope(e), { persistent: true, messageId: e.eventId, type: e.type, headers: {} });

    const dlq = new DeadLetterQueues(connection, pool);
    await eventually(async () => expect((await dlq.list()).find((q) => q.queue === 'ops.read-model')).toMatchObject({ dead_letter_queue: 'ops.read-model.dlq', messages: 2 }), 15_000, 100);

    // A look takes nothing away.
    const seen = await dlq.peek('ops.read-model');
    expect(seen.map((m) => m.id)).toEqual([first.eventId, second.eventId]);
    expect(seen[0]).toMatchObject({ type: 'CustomerCreated', routing_key: 'portfolio.customer-created', failure_reason: 'cannot apply 1', failure_count: 2 });
    expect(await dlq.peek('ops.read-model')).toHaveLength(2);
    expect((await dlq.get('ops.read-model', second.eventId)).body).toContain('"n":2');

    // Replay of the second after the cause was fixed: applied once, gone from the DLQ, the first stays.
    broken = false;
    const replayed = await dlq.replay('ops.read-model', second.eventId, 'staff:ops-1');
    expect(replayed.id).toBe(second.eventId);
    await eventually(async () => expect((await pool.query(`SELECT event_id FROM applied`)).rows).toEqual([{ event_id: second.eventId }]), 10_000, 100);
    expect((await dlq.peek('ops.read-model')).map((m) => m.id)).toEqual([first.eventId]);

    // Discard of the first: kept with its reason and who, gone from the DLQ, never applied.
    await dlq.discard('ops.read-model', first.eventId, 'test event, belongs to no customer', 'staff:ops-1');
    expect(await dlq.peek('ops.read-model')).toEqual([]);
    const kept = await dlq.discarded('ops.read-model');
    expect(kept).toEqual([expect.objectContaining({ id: first.eventId, reason: 'test event, belongs to no customer', discarded_by: 'staff:ops-1', failure_reason: 'cannot apply 1' })]);
    expect(kept[0]!.body).toContain('"n":1');
    expect((await pool.query(`SELECT 1 FROM applied WHERE event_id = $1`, [first.eventId])).rowCount).toBe(0);

    await expect(dlq.replay('ops.read-model', first.eventId, 'x')).rejects.toMatchObject({ code: 'message-not-found' });
    await expect(dlq.peek('no.such.queue')).rejects.toBeInstanceOf(DeadLetterError);
    expect(REPLAYED_BY_HEADER).toBe('x-replayed-by');
  });
});
