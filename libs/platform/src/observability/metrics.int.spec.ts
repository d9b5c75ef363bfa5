import { randomUUID } from 'node:crypto';
import { connect, type ChannelModel } from 'amqplib';
import { Pool } from 'pg';
import { AmqpConnection, DEFAULT_EVENT_EXCHANGE, serializeEnvelope, silentMessagingLogger, startConsumer, type EventEnvelope } from '@dh/messaging';
import { createTestDatabase, createTestVhost, eventually, prometheusSample as sample, type TestDatabase, type TestVhost } from '@dh/testing';
import { ServiceMetrics } from './metrics';

function event(n: number): EventEnvelope {
  return {
    eventId: randomUUID(),
    type: 'CustomerCreated',
    streamId: `customer-${n}`,
    streamRevision: '0',
    globalPosition: String(n),
    occurredAt: new Date().toISOString(),
    recordedAt: new Date(Date.now() - 250).toISOString(),
    data: { n },
    metadata: { correlationId: `c-${n}`, causationId: null, actor: 'test', schemaVersion: 1, context: 'portfolio' },
  };
}

describe(ServiceMetrics.name, () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: Pool;
  let amqp: AmqpConnection;
  let raw: ChannelModel;

  beforeAll(async () => {
    db = await createTestDatabase('metrics');
    vhost = await createTestVhost('metrics');
    pool = new Pool({ connectionString: db.url, max: 4 });
    amqp = new AmqpConnection({ url: vhost.url, logger: silentMessagingLogger });
    await amqp.connect();
    raw = await connect(vhost.url);
  });

  afterAll(async () => {
    await raw?.close();
    await amqp?.close();
    await pool?.end();
    await vhost?.drop();
    await db?.drop();
  });

  it('shows each consumer’s state, outcomes, end-to-end lag, queue depth and dead letters', async () => {
    const sut = new ServiceMetrics('projections', amqp);
    const consumer = await startConsumer({
      connection: amqp,
      pool,
      queue: 'metrics.read-model',
      bindings: ['portfolio.#'],
      maxAttempts: 1,
      logger: silentMessagingLogger,
      handler: async (e) => {
        if (e.data.n === 3) throw new Error('cannot apply');
      },
    });
    const channel = await raw.createChannel();
    for (const n of [1, 2, 3]) channel.publish(DEFAULT_EVENT_EXCHANGE, 'portfolio.customer-created', serializeEnvelope(event(n)), { persistent: true });
    await eventually(() => expect(consumer.stats()).toMatchObject({ applied: 2, deadLettered: 1 }));

    const { body, contentType } = await sut.render();
    expect(contentType).toMatch(/^text\/plain/);
    const worker = { service: 'projections', worker: 'metrics.read-model', kind: 'consumer' };
    expect(sample(body, 'dh_worker_state', { ...worker, state: 'running' })).toBe(1);
    expect(sample(body, 'dh_worker_state', { ...worker, state: 'halted' })).toBe(0);
    expect(sample(body, 'dh_worker_messages_total', { ...worker, outcome: 'applied' })).toBe(2);
    expect(sample(body, 'dh_worker_messages_total', { ...worker, outcome: 'dead_lettered' })).toBe(1);
    expect(sample(body, 'dh_event_lag_seconds_count', worker)).toBe(2);
    // Both events were recorded 250 ms before they were published.
    expect(sample(body, 'dh_event_lag_seconds_bucket', { ...worker, le: '0.1' })).toBe(0);
    expect(sample(body, 'dh_queue_messages', { queue: 'metrics.read-model' })).toBe(0);
    expect(sample(body, 'dh_dead_letter_messages', { queue: 'metrics.read-model' })).toBe(1);
    expect(sample(body, 'dh_consumers_halted', { service: 'projections' })).toBe(0);
    expect(body).toContain('process_cpu_user_seconds_total');

    await consumer.stop();
    expect(sample((await sut.render()).body, 'dh_worker_state', worker)).toBeUndefined();
  });
});
