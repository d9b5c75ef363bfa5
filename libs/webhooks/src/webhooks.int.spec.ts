import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { Pool } from 'pg';
import { createPostgresEventStore, type EventStore, type NewEvent } from '@dh/event-store';
import {
  AmqpConnection,
  createRelay,
  DEFAULT_EVENT_EXCHANGE,
  envelopeHeaders,
  PUBLIC_EVENT_ROUTING_KEYS,
  serializeEnvelope,
  silentMessagingLogger,
  type EventEnvelope,
  type EventRelay,
} from '@dh/messaging';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { startWebhookDispatcher, type WebhookDispatcher } from './dispatcher';
import { verifyWebhook } from './signature';
import { WebhookStore } from './webhook-store';

/** Receivers in these tests listen on 127.0.0.1, as in development. */
const LOCAL_RECEIVERS = { allowLoopback: true, allowedNetworks: [] };

jest.setTimeout(60_000);

const MASTER_KEY = Buffer.alloc(32, 9);
const GSRN = '571313180400000028';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on 127.0.0.1: records every request, answers `status()`. */
class Receiver {
  readonly requests: Received[] = [];
  status: () => number = () => 200;
  private server: Server | null = null;
  port = 0;

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.statusCode = this.status();
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  forEvent(eventId: string): Received[] {
    return this.requests.filter((r) => r.headers['webhook-id'] === eventId);
  }
}

/** The receiver-side check exactly as docs/events/README.md describes it, written independently of signWebhook. */
function documentedSignatureValid(secret: string, r: Received): boolean {
  const timestamp = String(r.headers['webhook-timestamp']);
  const expected = 'v1=' + createHmac('sha256', secret).update(`${timestamp}.${r.body}`).digest('hex');
  const given = String(r.headers['webhook-signature']);
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected)) && Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
}

let db: TestDatabase;
let pool: Pool;
let vhost: TestVhost;
let store: EventStore;
let connection: AmqpConnection;
let relay: EventRelay;
let dispatcher: WebhookDispatcher;
let webhooks: WebhookStore;
let raw: ChannelModel;
let channel: Channel;
const tapped: EventEnvelope[] = [];
const receivers: Receiver[] = [];

beforeAll(async () => {
  db = await createTestDatabase('webhooks');
  pool = new Pool({ connectionString: db.url, max: 12 });
  vhost = await createTestVhost('webhooks');
  store = await createPostgresEventStore({ pool, schema: 'es_webhooks', pollIntervalMs: 50 });
  connection = new AmqpConnection({ url: vhost.url, connectionName: 'webhooks-test', logger: silentMessagingLogger, reconnect: { initialDelayMs: 50, maxDelayMs: 500 } });
  await connection.connect();
  webhooks = new WebhookStore(pool, { masterKey: MASTER_KEY, policy: LOCAL_RECEIVERS });
  await webhooks.migrate();
  dispatcher = await startWebhookDispatcher({
    pool,
    connection,
    masterKey: MASTER_KEY,
    retry: { maxAttempts: 6, initialDelayMs: 100, maxDelayMs: 300, jitter: 0.2 },
    timeoutMs: 2000,
    pollIntervalMs: 50,
    logger: silentMessagingLogger,
  });
  // An external subscriber's own queue, bound on the public routing keys only.
  raw = await connect(vhost.url);
  channel = await raw.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true });
  for (const key of Object.values(PUBLIC_EVENT_ROUTING_KEYS)) await channel.bindQueue(queue, DEFAULT_EVENT_EXCHANGE, key);
  await channel.consume(queue, (m: ConsumeMessage | null) => {
    if (m) tapped.push(JSON.parse(m.content.toString('utf8')) as EventEnvelope);
  }, { noAck: true });
  relay = createRelay({ eventStore: store, connection, pool, name: 'webhooks-test', logger: silentMessagingLogger, restartDelayMs: 100, lockRetryMs: 100 });
  await relay.start();
});

afterAll(async () => {
  await relay?.stop();
  await dispatcher?.stop();
  await store?.close();
  for (const r of receivers) await r.stop();
  await raw?.close().catch(() => undefined);
  await connection?.close();
  await vhost?.drop();
  await pool?.end();
  await db?.drop();
});

async function receiver(): Promise<Receiver> {
  const r = await new Receiver().start();
  receivers.push(r);
  return r;
}

function meta(context: string) {
  return { correlationId: randomUUID(), causationId: null, actor: 'test', schemaVersion: 1, context };
}

async function append(streamId: string, events: (Omit<NewEvent, 'eventId' | 'metadata' | 'occurredAt'> & { occurredAt?: Date })[], context = 'portfolio'): Promise<string[]> {
  const withIds: NewEvent[] = events.map((e) => ({ eventId: randomUUID(), metadata: meta(context), occurredAt: new Date(), ...e }));
  await store.appendToStream(streamId, withIds, { expectedRevision: 'any' });
  return withIds.map((e) => e.eventId);
}

function activated(customerId: string): Omit<NewEvent, 'eventId' | 'metadata'> {
  return { type: 'CustomerActivated', data: { customerId, gsrn: GSRN, effectiveDate: '2026-03-01' }, occurredAt: new Date('2026-03-01T00:00:00Z') };
}

async function deliveryRows(eventId: string): Promise<{ subscription_id: string; status: string; attempts: number }[]> {
  return (await pool.query('SELECT subscription_id, status, attempts FROM webhooks.deliveries WHERE event_id = $1', [eventId])).rows;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('webhook dispatcher (Postgres event store → relay → RabbitMQ → dispatcher → HTTP)', () => {
  it('delivers a public event once, signed as documented, only to subscriptions of its type; a bound queue receives each public event once', async () => {
    const crm = await receiver();
    const erp = await receiver();
    const { subscription, secret } = await webhooks.register('consumer:crm', { url: crm.url, eventTypes: ['customer.activated'] });
    await webhooks.register('consumer:erp', { url: erp.url, eventTypes: ['payment.received', 'settlement.completed'] });
    const customerId = randomUUID();
    const processId = randomUUID();
    const [createdId, activatedId] = await append(`customer-${customerId}`, [{ type: 'CustomerCreated', data: { customerId } }, activated(customerId)]);
    const [statusId] = await append(`process-${processId}`, [
      { type: 'ProcessStatusChanged', data: { processId, kind: 'change-of-supplier', from: 'pending', to: 'active', at: '2026-03-01T00:00:00.000Z' } },
    ]);

    await eventually(() => expect(crm.forEvent(activatedId!)).toHaveLength(1));
    await eventually(() => expect(tapped.filter((e) => e.eventId === statusId)).toHaveLength(1));
    await pause(500); // nothing more comes
    const [request] = crm.forEvent(activatedId!);
    expect(crm.requests).toHaveLength(1);
    expect(erp.requests).toHaveLength(0);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['webhook-event']).toBe('customer.activated');
    expect(request!.headers['webhook-signature']).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(documentedSignatureValid(secret, request!)).toBe(true);
    expect(documentedSignatureValid('whsec_not-the-secret', request!)).toBe(false);
    expect(verifyWebhook({ secret, body: request!.body, timestamp: String(request!.headers['webhook-timestamp']), signature: String(request!.headers['webhook-signature']) })).toEqual({ ok: true });
    expect(verifyWebhook({ secret, body: request!.body.replace('2026-03-01', '2026-03-02'), timestamp: String(request!.headers['webhook-timestamp']), signature: String(request!.headers['webhook-signature']) })).toEqual({ ok: false, reason: 'bad-signature' });
    const body = JSON.parse(request!.body) as EventEnvelope;
    expect(body).toMatchObject({ eventId: activatedId, type: 'CustomerActivated', streamId: `customer-${customerId}`, streamRevision: '1', data: { customerId, gsrn: GSRN, effectiveDate: '2026-03-01' } });

    // The receiver answers before the dispatcher records the outcome: wait for the record.
    await eventually(async () =>
      expect((await deliveryRows(activatedId!)).filter((row) => row.subscription_id === subscription.id)).toEqual([{ subscription_id: subscription.id, status: 'succeeded', attempts: 1 }]),
    );
    const [delivery] = (await webhooks.listDeliveries('consumer:crm', subscription.id))!;
    expect(delivery!.log).toEqual([expect.objectContaining({ attempt: 1, trigger: 'automatic', statusCode: 200, error: null })]);
    // The subscriber queue: each public event once, the internal CustomerCreated not at all.
    expect(tapped.filter((e) => e.eventId === activatedId)).toHaveLength(1);
    expect(tapped.filter((e) => e.eventId === statusId)).toHaveLength(1);
    expect(tapped.filter((e) => e.eventId === createdId)).toHaveLength(0);
  });

  it('retries a receiver that answers 500 and one that is down, until they are back', async () => {
    const flaky = await receiver();
    let calls = 0;
    flaky.status = () => (++calls <= 2 ? 500 : 204);
    const down = await receiver();
    const downPort = down.port;
    await down.stop();
    const flakySub = await webhooks.register('consumer:crm', { url: flaky.url, eventTypes: ['customer.activated'] });
    const downSub = await webhooks.register('consumer:erp', { url: `http://127.0.0.1:${downPort}/hooks`, eventTypes: ['*'] });
    const customerId = randomUUID();
    const [eventId] = await append(`customer-${customerId}`, [activated(customerId)]);

    await eventually(() => expect(flaky.forEvent(eventId!).length).toBe(3));
    // The receiver answers before the dispatcher records the outcome: wait for the record.
    const flakyLog = await eventually(async () => {
      const log = (await webhooks.listDeliveries('consumer:crm', flakySub.subscription.id))![0]!;
      expect(log.status).toBe('succeeded');
      return log;
    });
    expect(flakyLog.log.map((a) => a.statusCode)).toEqual([500, 500, 204]);
    expect(flakyLog.log[0]!.error).toBe('HTTP 500');
    expect(new Set(flaky.forEvent(eventId!).map((r) => r.headers['webhook-id']))).toEqual(new Set([eventId]));
    expect(flaky.forEvent(eventId!).map((r) => r.headers['webhook-attempt'])).toEqual(['1', '2', '3']);

    // The stopped receiver: connection refused, logged, retried; it gets the event after it comes back.
    await eventually(async () => {
      const [d] = (await webhooks.listDeliveries('consumer:erp', downSub.subscription.id))!;
      expect(d!.log.length).toBeGreaterThanOrEqual(2);
      expect(d!.log.every((a) => a.statusCode === null && a.error === 'connection failed')).toBe(true);
    });
    const back = new Receiver();
    await back.start(downPort);
    receivers.push(back);
    await eventually(() => expect(back.forEvent(eventId!)).toHaveLength(1));
    expect(documentedSignatureValid(downSub.secret, back.forEvent(eventId!)[0]!)).toBe(true);
    await eventually(async () => {
      const [d] = (await webhooks.listDeliveries('consumer:erp', downSub.subscription.id))!;
      expect(d!.status).toBe('succeeded');
    });
  });

  it('gives up after maxAttempts on a receiver that never accepts, keeping every attempt in the log', async () => {
    const broken = await receiver();
    broken.status = () => 503;
    const { subscription } = await webhooks.register('consumer:crm', { url: broken.url, eventTypes: ['customer.activated'] });
    const customerId = randomUUID();
    const [eventId] = await append(`customer-${customerId}`, [activated(customerId)]);
    await eventually(async () => expect((await webhooks.listDeliveries('consumer:crm', subscription.id))![0]!.status).toBe('failed'));
    const [d] = (await webhooks.listDeliveries('consumer:crm', subscription.id))!;
    expect(d!.attempts).toBe(6);
    expect(d!.nextAttemptAt).toBeNull();
    expect(d!.log.map((a) => a.statusCode)).toEqual([503, 503, 503, 503, 503, 503]);
    await pause(700);
    expect(broken.forEvent(eventId!)).toHaveLength(6);
  });

  it('records one delivery when RabbitMQ delivers the same event twice, and a manual redelivery sends it again with the same Webhook-Id', async () => {
    const r = await receiver();
    const { subscription, secret } = await webhooks.register('consumer:crm', { url: r.url, eventTypes: ['payment.received'] });
    const envelope: EventEnvelope = {
      eventId: randomUUID(),
      type: 'PaymentReceived',
      streamId: 'payment-pbs-1',
      streamRevision: '0',
      globalPosition: '999999',
      occurredAt: '2026-03-05T06:00:00.000Z',
      recordedAt: '2026-03-05T06:00:01.000Z',
      data: { paymentId: 'pbs-1', customerId: randomUUID(), invoiceId: null, amount: '123.45', paidAt: '2026-03-05T06:00:00.000Z', method: 'betalingsservice' },
      metadata: meta('payments'),
    };
    const publisher = await raw.createConfirmChannel();
    for (let i = 0; i < 2; i++) {
      publisher.publish(DEFAULT_EVENT_EXCHANGE, 'payment.received', serializeEnvelope(envelope), {
        persistent: true,
        messageId: envelope.eventId,
        type: envelope.type,
        contentType: 'application/json',
        headers: envelopeHeaders(envelope, `x/${i}`),
      });
    }
    await publisher.waitForConfirms();
    await publisher.close();

    await eventually(() => expect(r.forEvent(envelope.eventId)).toHaveLength(1));
    await eventually(() => expect(dispatcher.stats().consumer.duplicates).toBeGreaterThanOrEqual(1));
    await pause(400);
    expect(r.forEvent(envelope.eventId)).toHaveLength(1);
    await eventually(async () =>
      expect((await deliveryRows(envelope.eventId)).filter((row) => row.subscription_id === subscription.id)).toEqual([{ subscription_id: subscription.id, status: 'succeeded', attempts: 1 }]),
    );

    const [delivery] = (await webhooks.listDeliveries('consumer:crm', subscription.id))!;
    expect(await webhooks.redeliver('consumer:erp', delivery!.id)).toBeNull(); // not theirs
    const redelivered = await webhooks.redeliver('consumer:crm', delivery!.id);
    expect(redelivered).toMatchObject({ id: delivery!.id, status: 'pending' });
    await eventually(() => expect(r.forEvent(envelope.eventId)).toHaveLength(2));
    const [first, second] = r.forEvent(envelope.eventId);
    expect(second!.body).toBe(first!.body);
    expect(documentedSignatureValid(secret, second!)).toBe(true);
    await eventually(async () => {
      const [d] = (await webhooks.listDeliveries('consumer:crm', subscription.id))!;
      expect(d!.status).toBe('succeeded');
      expect(d!.log.map((a) => a.trigger)).toEqual(['automatic', 'manual']);
    });
  });

  it('does not deliver to a deleted subscription', async () => {
    const r = await receiver();
    const { subscription } = await webhooks.register('consumer:crm', { url: r.url, eventTypes: ['customer.activated'] });
    expect(await webhooks.deactivate('consumer:erp', subscription.id)).toBe(false);
    expect(await webhooks.deactivate('consumer:crm', subscription.id)).toBe(true);
    const witness = await receiver();
    await webhooks.register('consumer:crm', { url: witness.url, eventTypes: ['customer.activated'] });
    const customerId = randomUUID();
    const [eventId] = await append(`customer-${customerId}`, [activated(customerId)]);
    await eventually(() => expect(witness.forEvent(eventId!)).toHaveLength(1));
    await pause(300);
    expect(r.requests).toHaveLength(0);
    expect((await webhooks.list('consumer:crm')).map((s) => s.id)).not.toContain(subscription.id);
  });
});
