import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import { createPostgresEventStore, type PostgresEventStore } from '@dh/event-store';
import { AmqpConnection, createRelay, PUBLIC_EVENT_ROUTING_KEYS, silentMessagingLogger, type EventRelay } from '@dh/messaging';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { startWebhookDispatcher, type WebhookDispatcher, type WebhookDispatcherOptions } from './dispatcher';
import { WebhookStore } from './webhook-store';

jest.setTimeout(60_000);

const MASTER_KEY = Buffer.alloc(32, 7);
const LOCAL_RECEIVERS = { allowLoopback: true, allowedNetworks: [] };

/** A receiver on 127.0.0.1 that records the webhook id (the event id) of every request and answers 200. */
class Receiver {
  readonly ids: string[] = [];
  private server: Server | null = null;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        this.ids.push(String(req.headers['webhook-id']));
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
    return this;
  }

  count(id: string): number {
    return this.ids.filter((x) => x === id).length;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * Catch-up for the webhook dispatcher, a consumer that acts outside the database: public events published before
 * its queue had a binding for them are caught up from the event store through the same inbox and outbox
 * (`webhooks.deliveries`) and sent after commit, once per subscription that existed when the event was recorded.
 */
describe('webhook dispatcher: catch-up from the event store', () => {
  let db: TestDatabase;
  let pool: Pool;
  let vhost: TestVhost;
  let store: PostgresEventStore;
  let connection: AmqpConnection;
  let relay: EventRelay;
  let webhooks: WebhookStore;
  const receivers: Receiver[] = [];
  let dispatcher: WebhookDispatcher | null = null;

  const publicEvent = async (type: 'CustomerActivated' | 'CollectionWrittenOff'): Promise<string> => {
    const eventId = randomUUID();
    const id = randomUUID();
    await store.appendToStream(
      `${type}-${id}`,
      [{ eventId, type, data: { id }, metadata: { correlationId: id, causationId: null, actor: 'test', schemaVersion: 1, context: 'test' }, occurredAt: new Date() }],
      { expectedRevision: 'no_stream' },
    );
    return eventId;
  };
  const relayPassed = async () => {
    const last = (await store.readAll()).at(-1)!.checkpoint;
    await eventually(async () => {
      const { rows } = await pool.query<{ checkpoint: string }>(`SELECT checkpoint FROM messaging.relay_checkpoints WHERE name = 'webhooks-catch-up'`);
      expect(rows[0]?.checkpoint).toBe(last);
    });
  };
  const deliveries = async (subscriptionId: string) =>
    (await pool.query<{ event_id: string; status: string }>('SELECT event_id, status FROM webhooks.deliveries WHERE subscription_id = $1 ORDER BY event_id', [subscriptionId])).rows;
  const receiver = async () => {
    const r = await new Receiver().start();
    receivers.push(r);
    return r;
  };
  const start = async (options: Partial<WebhookDispatcherOptions>): Promise<WebhookDispatcher> => {
    dispatcher = await startWebhookDispatcher({ pool, connection, masterKey: MASTER_KEY, eventStore: store, pollIntervalMs: 50, policy: LOCAL_RECEIVERS, logger: silentMessagingLogger, ...options });
    return dispatcher;
  };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 600));

  beforeAll(async () => {
    db = await createTestDatabase('webhooks_catch_up');
    pool = new Pool({ connectionString: db.url, max: 10 });
    vhost = await createTestVhost('webhooks_catch_up');
    store = await createPostgresEventStore({ pool, schema: 'es_webhooks', pollIntervalMs: 50 });
    connection = new AmqpConnection({ url: vhost.url, logger: silentMessagingLogger });
    await connection.connect();
    webhooks = new WebhookStore(pool, { masterKey: MASTER_KEY, policy: LOCAL_RECEIVERS });
    await webhooks.migrate();
    relay = createRelay({ eventStore: store, connection, pool, name: 'webhooks-catch-up', logger: silentMessagingLogger, restartDelayMs: 100, lockRetryMs: 100 });
    await relay.start();
  });

  afterEach(async () => {
    await dispatcher?.stop();
    dispatcher = null;
  });

  afterAll(async () => {
    await relay?.stop();
    for (const r of receivers) await r.stop();
    await connection?.close();
    await store?.close();
    await vhost?.drop();
    await pool?.end();
    await db?.drop();
  });

  it('fresh deployment: events published before the dispatcher ever started reach its outbox once per subscription that existed then, and are sent once; live ones after them', async () => {
    const crm = await receiver();
    const late = await receiver();
    const { subscription: early } = await webhooks.register('consumer:crm', { url: crm.url, eventTypes: ['customer.activated'] });
    const before = [await publicEvent('CustomerActivated'), await publicEvent('CustomerActivated'), await publicEvent('CustomerActivated')];
    await relayPassed();
    // Subscribed after those events were recorded: a live subscriber would not have had them either.
    const { subscription: afterwards } = await webhooks.register('consumer:late', { url: late.url, eventTypes: ['customer.activated'] });

    const d = await start({ queue: 'webhooks.fresh' });
    // Caught up before start returned: the deliveries are committed.
    expect((await deliveries(early.id)).map((r) => r.event_id)).toEqual([...before].sort());
    expect(d.stats().consumer.caughtUp).toBe(3);
    expect(await deliveries(afterwards.id)).toEqual([]);

    const live = await publicEvent('CustomerActivated');
    await eventually(() => expect(late.count(live)).toBe(1));
    await eventually(() => expect([...before, live].map((id) => crm.count(id))).toEqual([1, 1, 1, 1]));
    await settle();
    expect(crm.ids).toHaveLength(4);
    expect(late.ids).toEqual([live]);
    expect((await deliveries(early.id)).map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
  });

  it('a new binding on the existing queue (a public event type added by a release): its events published before are caught up and sent once; the others are not repeated', async () => {
    const erp = await receiver();
    const { subscription } = await webhooks.register('consumer:erp', { url: erp.url, eventTypes: ['customer.activated', 'collection.written_off'] });
    const without = Object.values(PUBLIC_EVENT_ROUTING_KEYS).filter((key) => key !== 'collection.written_off');
    const first = await start({ queue: 'webhooks.release', bindings: without });
    const activated = await publicEvent('CustomerActivated');
    const writtenOff = [await publicEvent('CollectionWrittenOff'), await publicEvent('CollectionWrittenOff')];
    await relayPassed();
    await eventually(() => expect(erp.count(activated)).toBe(1));
    await settle();
    // Routed nowhere: the queue had no binding for them.
    expect(writtenOff.map((id) => erp.count(id))).toEqual([0, 0]);
    await first.stop();
    dispatcher = null;

    const second = await start({ queue: 'webhooks.release' });
    expect(second.stats().consumer.caughtUp).toBe(2);
    const liveWrittenOff = await publicEvent('CollectionWrittenOff');
    await eventually(() => expect([activated, ...writtenOff, liveWrittenOff].map((id) => erp.count(id))).toEqual([1, 1, 1, 1]));
    await settle();
    expect(erp.ids).toHaveLength(4);
    expect((await deliveries(subscription.id)).map((r) => r.event_id)).toEqual([activated, ...writtenOff, liveWrittenOff].sort());
  });
});
