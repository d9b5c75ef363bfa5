import { Pool } from 'pg';
import { createPostgresEventStore, type PostgresEventStore } from '@dh/event-store';
import { AmqpConnection, createRelay, silentMessagingLogger, type EventRelay, type RunningConsumer } from '@dh/messaging';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { startProjections } from '../projection/projection-runner';
import { rebuildProjection } from '../projection/rebuild';
import { CUSTOMERS_TABLE, customersProjection } from './customers.projection';

/**
 * Events written before `CustomerCreated` version 2 carry `identityIndex` (a keyed hash of the CPR).
 * The customers projection is a version 2 handler: it reads them from the bus and from the store
 * (rebuild) through the upcaster, and no trace of the hash reaches the read model.
 */
describe('customers projection reading CustomerCreated v1', () => {
  const HASH = 'c0ffee'.repeat(10) + 'abcd';
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: Pool;
  let store: PostgresEventStore;
  let amqp: AmqpConnection;
  let relay: EventRelay;
  let consumers: RunningConsumer[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('customers_v1');
    vhost = await createTestVhost('customers_v1');
    pool = new Pool({ connectionString: db.url, max: 6 });
    store = await createPostgresEventStore({ pool, pollIntervalMs: 50 });
    amqp = new AmqpConnection({ url: vhost.url, logger: silentMessagingLogger, reconnect: { initialDelayMs: 50 } });
    await amqp.connect();
  });
  afterAll(async () => {
    for (const c of consumers) await c.stop();
    await relay?.stop();
    await amqp?.close();
    await store?.close();
    await pool?.end();
    await vhost?.drop();
    await db?.drop();
  });

  const appendV1 = (n: number) =>
    store.appendToStream(
      `customer-00000000-0000-4000-8000-00000000000${n}`,
      [
        {
          eventId: `10000000-0000-4000-8000-00000000000${n}`,
          type: 'CustomerCreated',
          data: { customerId: `00000000-0000-4000-8000-00000000000${n}`, customerType: 'private', personalData: `v1.sealed-${n}`, identityIndex: `${HASH}${n}` },
          metadata: { correlationId: 'c', causationId: null, actor: 'crm', schemaVersion: 1, context: 'portfolio' },
          occurredAt: new Date('2025-06-01T10:00:00Z'),
        },
      ],
      { expectedRevision: 'no_stream' },
    );

  const readModelText = async () => (await pool.query<{ row: string }>(`SELECT c::text AS row FROM ${CUSTOMERS_TABLE} c ORDER BY customer_id`)).rows.map((r) => r.row).join('\n');

  it('projects v1 events from the bus and from the store without the identity hash', async () => {
    await appendV1(1);
    consumers = await startProjections({ pool, eventStore: store, connection: amqp, projections: [customersProjection], logger: silentMessagingLogger });
    relay = createRelay({ eventStore: store, pool, connection: amqp, name: 'v1-test', logger: silentMessagingLogger, restartDelayMs: 100, lockRetryMs: 100 });
    await relay.start();
    // Built from the store at start (event 1), then from the bus (event 2), both version 1 as stored.
    await appendV1(2);
    await eventually(async () => expect((await pool.query(`SELECT 1 FROM ${CUSTOMERS_TABLE}`)).rowCount).toBe(2));
    const { rows: columns } = await pool.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'read_models' AND table_name = 'customers' AND column_name LIKE '%identity%'`);
    expect(columns).toEqual([]);
    expect(await readModelText()).toContain('v1.sealed-2');
    expect(await readModelText()).not.toContain(HASH);

    await rebuildProjection(pool, store, customersProjection);
    expect(await readModelText()).toContain('v1.sealed-1');
    expect(await readModelText()).not.toContain(HASH);
  });
});
