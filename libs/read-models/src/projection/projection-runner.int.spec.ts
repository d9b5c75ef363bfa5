import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { createPostgresEventStore, type PostgresEventStore } from '@dh/event-store';
import { AmqpConnection, createRelay, silentMessagingLogger, type EventRelay, type RunningConsumer } from '@dh/messaging';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { customersProjection } from '../customers/customers.projection';
import { startProjections } from './projection-runner';

describe('startProjections', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: Pool;
  let store: PostgresEventStore;
  let connection: AmqpConnection;
  let relay: EventRelay;
  let consumers: RunningConsumer[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('runner');
    vhost = await createTestVhost('runner');
    pool = new Pool({ connectionString: db.url });
    store = await createPostgresEventStore({ pool, pollIntervalMs: 100 });
    connection = new AmqpConnection({ url: vhost.url, logger: silentMessagingLogger });
    await connection.connect();
    relay = createRelay({ eventStore: store, connection, pool, name: 'domain-events', logger: silentMessagingLogger });
  });

  afterAll(async () => {
    for (const consumer of consumers) await consumer.stop();
    await relay.stop();
    await connection.close();
    await store.close();
    await pool.end();
    await vhost.drop();
    await db.drop();
  });

  const append = async (count: number) => {
    for (let n = 0; n < count; n++) {
      const customerId = randomUUID();
      await store.appendToStream(
        `customer-${customerId}`,
        [
          {
            eventId: randomUUID(),
            type: 'CustomerCreated',
            data: { customerId, customerType: 'private', personalData: `v1.sealed-${n}`, identityIndex: `idx-${n}` },
            metadata: { correlationId: randomUUID(), causationId: null, actor: 'test', schemaVersion: 1, context: 'portfolio' },
            occurredAt: new Date(),
          },
        ],
        { expectedRevision: 'no_stream' },
      );
    }
  };
  const rows = async () => Number((await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM read_models.customers')).rows[0].n);

  it('builds a new projection from the event store, including events published before its queue existed', async () => {
    await relay.start();
    await append(30);
    // Published while no projection queue was bound: RabbitMQ routed them nowhere.
    await eventually(() => expect(relay.stats().published).toBe(30));
    consumers = await startProjections({ pool, eventStore: store, connection, projections: [customersProjection], logger: silentMessagingLogger });
    expect(await rows()).toBe(30);
    await append(10);
    await eventually(async () => expect(await rows()).toBe(40));
    const state = await pool.query<{ status: string; applied_events: string }>(`SELECT status, applied_events::text FROM read_models.projection_state WHERE name = 'customers'`);
    expect(state.rows[0]).toEqual({ status: 'live', applied_events: '40' });
  });

  it('rebuilds a projection whose live tables were built with another layout (an upgrade that changed them), and only then', async () => {
    for (const consumer of consumers) await consumer.stop();
    // The live model as an older release left it: a row the log does not hold, no layout recorded.
    await pool.query(`INSERT INTO read_models.customers (customer_id, customer_type, personal_data, status, stream_revision, created_at) SELECT gen_random_uuid(), 'private', 'stale', 'active', 0, now()`);
    expect(await rows()).toBe(41);
    const upgraded = { ...customersProjection, layout: 'test-v2' };
    consumers = await startProjections({ pool, eventStore: store, connection, projections: [upgraded], logger: silentMessagingLogger });
    expect(await rows()).toBe(40);
    const state = await pool.query<{ layout: string | null }>(`SELECT layout FROM read_models.projection_state WHERE name = 'customers'`);
    expect(state.rows[0].layout).toBe('test-v2');
    for (const consumer of consumers) await consumer.stop();
    // Started again with the same layout: not rebuilt (the stray row stays).
    await pool.query(`INSERT INTO read_models.customers (customer_id, customer_type, personal_data, status, stream_revision, created_at) SELECT gen_random_uuid(), 'private', 'stale', 'active', 0, now()`);
    consumers = await startProjections({ pool, eventStore: store, connection, projections: [upgraded], logger: silentMessagingLogger });
    expect(await rows()).toBe(41);
    await append(1);
    await eventually(async () => expect(await rows()).toBe(42));
  });
});
