import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { createPostgresEventStore, type NewEvent, type PostgresEventStore } from '@dh/event-store';
import { AmqpConnection, createRelay, silentMessagingLogger, type EventRelay, type RunningConsumer } from '@dh/messaging';
import { customersProjection, projectionChecksum, rebuildProjection, rebuildProjections, startProjections, type Projection } from '@dh/read-models';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { runRebuildCli } from './rebuild-cli';

function customerCreated(n: number): { streamId: string; event: NewEvent } {
  const customerId = randomUUID();
  return {
    streamId: `customer-${customerId}`,
    event: {
      eventId: randomUUID(),
      type: 'CustomerCreated',
      data: { customerId, customerType: n % 3 === 0 ? 'business' : 'private', personalData: `v1.sealed-${n}`, identityIndex: `idx-${n}` },
      metadata: { correlationId: randomUUID(), causationId: null, actor: 'test', schemaVersion: 1, context: 'portfolio' },
      occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
    },
  };
}

/** One row per event with a plain INSERT: applying any event twice fails loudly (unique violation). */
const strictProjection: Projection = {
  name: 'strict-event-log',
  bindings: ['portfolio.#'],
  tables: [{ name: 'read_models.strict_event_log', orderBy: 'event_id' }],
  async migrate(client) {
    await client.query('CREATE TABLE IF NOT EXISTS read_models.strict_event_log (event_id uuid PRIMARY KEY, stream_id text NOT NULL)');
  },
  async apply(event, client) {
    await client.query('INSERT INTO read_models.strict_event_log (event_id, stream_id) VALUES ($1, $2)', [event.eventId, event.streamId]);
  },
};

describe('rebuilding a projection from the event store', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: Pool;
  let store: PostgresEventStore;
  let connection: AmqpConnection;
  let relay: EventRelay;
  let consumers: RunningConsumer[];
  const lines: string[] = [];

  const rows = async () => Number((await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM read_models.customers')).rows[0].n);
  const checksum = async () => {
    const client = await pool.connect();
    try {
      return await projectionChecksum(customersProjection, client);
    } finally {
      client.release();
    }
  };
  const append = async (from: number, count: number) => {
    for (let n = from; n < from + count; n++) {
      const { streamId, event } = customerCreated(n);
      await store.appendToStream(streamId, [event], { expectedRevision: 'no_stream' });
    }
  };
  const rebuild = (extra: string[] = []) =>
    runRebuildCli(['customers', '--batch-size', '40', ...extra], { DATABASE_URL: db.url }, { line: (text) => lines.push(text) });

  beforeAll(async () => {
    db = await createTestDatabase('rebuild');
    vhost = await createTestVhost('rebuild');
    pool = new Pool({ connectionString: db.url });
    store = await createPostgresEventStore({ pool, pollIntervalMs: 100 });
    connection = new AmqpConnection({ url: vhost.url, logger: silentMessagingLogger });
    await connection.connect();
    relay = createRelay({ eventStore: store, connection, pool, name: 'domain-events', logger: silentMessagingLogger });
    await relay.start();
    consumers = await startProjections({ pool, eventStore: store, connection, projections: [customersProjection, strictProjection], logger: silentMessagingLogger });
  }, 30_000);

  afterAll(async () => {
    for (const consumer of consumers ?? []) await consumer.stop();
    await relay?.stop();
    await connection?.close();
    await store?.close();
    await pool?.end();
    await vhost?.drop();
    await db?.drop();
  });

  it('yields a read model identical to the one built live (same checksum over its rows)', async () => {
    await append(0, 150);
    await eventually(async () => expect(await rows()).toBe(150), 30_000);
    const live = await checksum();
    expect(live).toMatch(/^read_models\.customers:150:[0-9a-f]{32}$/);

    await rebuild();
    expect(await checksum()).toBe(live);
    expect(lines[0]).toBe('rebuilding customers into read_models_rebuild.customers');
    expect(lines.filter((l) => l.includes('events replayed')).length).toBeGreaterThanOrEqual(3);
    expect(lines[lines.length - 1]).toMatch(new RegExp(`^rebuilt customers and swapped it in: 150 events in [0-9.]+ s; checksum ${live.replace(/\./g, '\\.')}$`));
    const state = await pool.query<{ status: string; applied_events: string }>(`SELECT status, applied_events::text FROM read_models.projection_state WHERE name = 'customers'`);
    expect(state.rows[0]).toEqual({ status: 'live', applied_events: '150' });
  });

  it('loses and doubles nothing when events arrive while the rebuild runs', async () => {
    const strictRows = async () => Number((await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM read_models.strict_event_log')).rows[0].n);
    await eventually(async () => expect(await strictRows()).toBe(150), 30_000);
    // Live events keep flowing (appended one by one) while both projections are rebuilt in small batches.
    await Promise.all([rebuild(), rebuildProjection(pool, store, strictProjection, { batchSize: 25 }), append(150, 120)]);
    await eventually(async () => expect(await rows()).toBe(270), 30_000);
    await eventually(async () => expect(await strictRows()).toBe(270), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(consumers.map((c) => c.stats().halted)).toEqual([null, null]);
    expect(await strictRows()).toBe(270);
    const afterRace = await checksum();
    await rebuild();
    expect(await checksum()).toBe(afterRace);
    expect(afterRace.startsWith('read_models.customers:270:')).toBe(true);
  });

  it('runs one rebuild of a projection at a time: a second one is refused while the first runs, or waits for it', async () => {
    // The first rebuild is held inside (after taking its lock) until the others have asked.
    let release: () => void = () => undefined;
    let entered: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow: Projection = {
      ...customersProjection,
      async migrate(client) {
        entered();
        await held;
        await customersProjection.migrate(client);
      },
    };
    const first = rebuildProjection(pool, store, slow, { batchSize: 10 });
    await inside;
    await expect(rebuildProjection(pool, store, customersProjection, { ifRunning: 'refuse' })).rejects.toThrow('a rebuild of customers is already running');
    const second = rebuildProjection(pool, store, customersProjection, { batchSize: 50 });
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(a.done && b.done).toBe(true);
    const state = await pool.query<{ status: string; checkpoint: string }>(`SELECT status, checkpoint FROM read_models.projection_state WHERE name = 'customers'`);
    expect(state.rows[0].status).toBe('live');
    expect(state.rows[0].checkpoint).toBe(b.checkpoint);
    expect(await rows()).toBe(270);
  });

  it('rebuilds several projections in one pass over the log, each equal to its live read model', async () => {
    const strictChecksum = async () => {
      const client = await pool.connect();
      try {
        return await projectionChecksum(strictProjection, client);
      } finally {
        client.release();
      }
    };
    const [customersBefore, strictBefore] = [await checksum(), await strictChecksum()];
    let reads = 0;
    const counting = new Proxy(store, {
      get(target, property: keyof PostgresEventStore) {
        if (property === 'readAll') {
          return (options: Parameters<PostgresEventStore['readAll']>[0]) => {
            reads++;
            return target.readAll(options);
          };
        }
        return target[property];
      },
    });
    const results = await rebuildProjections(pool, counting, [customersProjection, strictProjection], { batchSize: 50 });
    expect(results.map((r) => [r.projection, r.appliedEvents, r.done])).toEqual([
      ['customers', 270, true],
      ['strict-event-log', 270, true],
    ]);
    // 270 events in batches of 50: six reads, and the last look for more under the state rows' lock.
    expect(reads).toBeLessThanOrEqual(8);
    expect(await checksum()).toBe(customersBefore);
    expect(await strictChecksum()).toBe(strictBefore);
  });

  it('refuses an unknown projection name with the list of known ones', async () => {
    await expect(runRebuildCli(['invoices'], { DATABASE_URL: db.url }, { line: () => undefined })).rejects.toThrow(
      /unknown projection "invoices"\nusage: rebuild-projection <name>\|--all .*customers/,
    );
  });
});
