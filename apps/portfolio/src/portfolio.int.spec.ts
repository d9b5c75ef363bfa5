import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { createPostgresEventStore, type EventStore, type JsonObject, type JsonValue } from '@dh/event-store';
import { AmqpConnection, CommandClient, CommandRejectedError, createRelay, silentMessagingLogger, startConsumer, type EventEnvelope, type EventRelay, type RunningConsumer } from '@dh/messaging';
import { PiiVault } from '@dh/platform';
import { checkJsonSchema, type JsonSchema } from '@dh/webhooks';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { PROCESS_MANAGER_QUEUE, startPortfolioRuntime, type PortfolioRuntime } from './portfolio-runtime';

jest.setTimeout(60_000);

const GSRN = '571313174115550012';

let db: TestDatabase;
let vhost: TestVhost;
let pool: Pool;
let store: EventStore;
let serviceAmqp: AmqpConnection;
let clientAmqp: AmqpConnection;
let relay: EventRelay;
let runtime: PortfolioRuntime;
let observer: RunningConsumer;
let client: CommandClient;
let now = new Date('2026-03-02T10:00:00Z');
const seen: EventEnvelope[] = [];

beforeAll(async () => {
  db = await createTestDatabase('portfolio_pm');
  vhost = await createTestVhost('portfolio_pm');
  pool = new Pool({ connectionString: db.url, max: 10 });
  store = await createPostgresEventStore({ pool, pollIntervalMs: 50 });
  const vault = new PiiVault(pool, Buffer.alloc(32, 3));
  await vault.migrate();
  serviceAmqp = new AmqpConnection({ url: vhost.url, connectionName: 'portfolio', logger: silentMessagingLogger, reconnect: { initialDelayMs: 50 } });
  clientAmqp = new AmqpConnection({ url: vhost.url, connectionName: 'gateway', logger: silentMessagingLogger, reconnect: { initialDelayMs: 50 } });
  await serviceAmqp.connect();
  runtime = await startPortfolioRuntime({ store, pool, amqp: serviceAmqp, vault, clock: () => now, logger: silentMessagingLogger, retryInitialDelayMs: 100 });
  observer = await startConsumer({
    connection: clientAmqp,
    pool,
    queue: 'test.observer',
    bindings: ['customer.activated', 'customer.updated', 'portfolio.supply-started', 'portfolio.process-anomaly-recorded'],
    logger: silentMessagingLogger,
    handler: async (envelope) => {
      seen.push(envelope);
    },
  });
  relay = createRelay({ eventStore: store, pool, connection: serviceAmqp, name: 'main', logger: silentMessagingLogger, restartDelayMs: 100, lockRetryMs: 100 });
  await relay.start();
  client = new CommandClient({ connection: clientAmqp, logger: silentMessagingLogger, defaultTimeoutMs: 5_000 });
  await client.start();
});

afterAll(async () => {
  await client.close();
  await observer.stop();
  await runtime.stop();
  await relay.stop();
  await serviceAmqp.close();
  await clientAmqp.close();
  await store.close();
  await pool.end();
  await vhost.drop();
  await db.drop();
});

function record(value: JsonValue): { [key: string]: JsonValue } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`not an object: ${JSON.stringify(value)}`);
  return value;
}

/** As datahub-integration does: its own stream, `metadata.context = 'datahub'`. */
async function appendAsDataHub(type: string, data: JsonObject): Promise<void> {
  await store.appendToStream(
    `datahub-test-${randomUUID()}`,
    [{ eventId: randomUUID(), type, data, metadata: { correlationId: 'datahub-test', causationId: null, actor: 'datahub-integration', schemaVersion: 1, context: 'datahub' }, occurredAt: now }],
    { expectedRevision: 'no_stream' },
  );
}

describe('portfolio service: commands over the bus and the process manager on the event bus', () => {
  it('RequestSwitch, then DataHub’s request-sent, acceptance, master data and notification → CustomerActivated on the bus and the whole history in GetProcess', async () => {
    const customer = record(
      await client.send('portfolio', 'CreateCustomer', { name: 'Anna Jensen', email: 'anna@example.dk', customerType: 'private', cpr: '010190-1234', idempotencyKey: 'c-1' }),
    );
    const customerId = String(customer.customerId);
    const registration = { gsrn: GSRN, type: 'E17', settlementMethod: 'D01', gridArea: '804', priceArea: 'DK1', linkedProductionGsrn: null, source: 'eloverblik' };
    expect(await client.send('portfolio', 'RegisterMeteringPoint', registration)).toEqual({ gsrn: GSRN, alreadyRegistered: false });
    expect(await client.send('portfolio', 'RegisterMeteringPoint', registration)).toEqual({ gsrn: GSRN, alreadyRegistered: true });

    const refused = await client.send('portfolio', 'RequestSwitch', { customerId: 'nobody', gsrn: GSRN, effectiveDate: '2026-03-03', productId: 'p', billingFrequency: 'monthly', paymentModel: 'actual' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CommandRejectedError);
    expect(refused).toMatchObject({ type: 'unknown-customer' });

    const switchPayload = { customerId, gsrn: GSRN, effectiveDate: '2026-03-03', productId: 'green-spot', billingFrequency: 'quarterly', paymentModel: 'aconto', idempotencyKey: 'switch-1' };
    const { processId } = record(await client.send('portfolio', 'RequestSwitch', switchPayload));
    expect(typeof processId).toBe('string');
    expect(record(await client.send('portfolio', 'RequestSwitch', switchPayload)).processId).toBe(processId);
    const id = String(processId);

    expect(await client.send('portfolio', 'GetCustomerIdentityForDataHub', { processId: id })).toEqual({ customerName: 'Anna Jensen', cpr: '010190-1234', cvr: null });

    await appendAsDataHub('DataHubRequestSent', { processId: id, action: 'change-of-supplier', documentId: 'rsm001-doc', transactionId: id, gsrn: GSRN, sentAt: now.toISOString() });
    await appendAsDataHub('DataHubAnswerReceived', {
      documentId: 'rsm009-doc',
      documentName: 'ConfirmRequestChangeOfSupplier_MarketDocument',
      accepted: true,
      originalTransactionId: id,
      gsrn: GSRN,
      effectiveDate: '2026-03-02T23:00:00Z',
      reasons: [],
      processType: 'E03',
    });
    await eventually(async () => expect(record(await client.send('portfolio', 'GetProcess', { processId: id })).status).toBe('pending'));

    now = new Date('2026-03-03T05:00:00Z');
    await appendAsDataHub('MeteringPointMasterDataReceived', {
      documentId: 'rsm022-doc',
      gsrn: GSRN,
      validityStart: '2026-03-02T23:00:00Z',
      meteringPointType: 'E17',
      settlementMethod: 'D01',
      gridArea: '804',
      energySupplierGln: '5799999933318',
      supplyStart: '2026-03-02T23:00:00Z',
      originalTransactionId: id,
      processType: 'E03',
    });
    await appendAsDataHub('DataHubNotificationReceived', { documentId: 'rsm004-doc', gsrn: GSRN, validityStart: '2026-03-02T23:00:00Z', originalTransactionId: id, processType: 'E03' });

    const activated = await eventually(() => {
      const found = seen.find((e) => e.type === 'CustomerActivated');
      if (!found) throw new Error('CustomerActivated not on the bus yet');
      return found;
    }, 20_000);
    expect(activated.data).toEqual({ customerId, gsrn: GSRN, effectiveDate: '2026-03-03' });
    expect(activated.metadata).toMatchObject({ context: 'portfolio', actor: 'portfolio-process-manager' });
    const supplyStarted = seen.find((e) => e.type === 'SupplyStarted');
    expect(supplyStarted?.data).toMatchObject({ gsrn: GSRN, customerId, processId: id, startDate: '2026-03-03', productId: 'green-spot', billingFrequency: 'quarterly', paymentModel: 'aconto', gridArea: '804', priceArea: 'DK1', electricHeating: false, productionGsrn: null });

    const view = record(await client.send('portfolio', 'GetProcess', { processId: id }));
    expect(view).toMatchObject({ processId: id, kind: 'change-of-supplier', brs: 'BRS-001', status: 'active', gsrn: GSRN, customerId, effectiveDate: '2026-03-03' });
    expect(view.history).toEqual([
      { status: 'created', from: null, at: '2026-03-02T10:00:00.000Z' },
      { status: 'requested', from: 'created', at: '2026-03-02T10:00:00.000Z' },
      { status: 'pending', from: 'requested', at: '2026-03-02T10:00:00.000Z' },
      { status: 'active', from: 'pending', at: '2026-03-03T05:00:00.000Z' },
    ]);

    // Every DataHub event was applied once; nothing was retried, dead-lettered or recorded as an anomaly.
    await eventually(() => expect(runtime.consumer.stats().applied).toBeGreaterThanOrEqual(5));
    expect(runtime.consumer.stats()).toMatchObject({ retried: 0, deadLettered: 0 });
    expect(seen.filter((e) => e.type === 'ProcessAnomalyRecorded')).toEqual([]);
    expect(seen.filter((e) => e.type === 'CustomerActivated')).toHaveLength(1);
    expect(PROCESS_MANAGER_QUEUE).toBe('portfolio.process-manager');
  });
});

describe('portfolio service: customer.updated', () => {
  const schema = JSON.parse(readFileSync(join(__dirname, '../../../docs/events/customer.updated.v1.schema.json'), 'utf8')) as JsonSchema;
  const updatesOf = (customerId: string) => seen.filter((e) => e.type === 'CustomerUpdated' && e.data['customerId'] === customerId);

  it('is published once per change of contact details, with the changed field names and no personal data, valid against its schema', async () => {
    const customerId = String(
      record(await client.send('portfolio', 'CreateCustomer', { name: 'Bent Lund', email: 'bent@example.dk', customerType: 'private', cpr: '020290-1234', idempotencyKey: 'c-upd' })).customerId,
    );
    now = new Date('2026-03-04T08:00:00Z');
    const first = { customerId, details: { email: 'bent@lund.dk', street: 'Vestergade 1', postcode: '8000', city: 'Aarhus C' }, source: 'portal', idempotencyKey: 'upd-1' };
    expect(record(await client.send('portfolio', 'ChangeContactDetails', first)).changed).toEqual(['email', 'street', 'postcode', 'city']);
    // The same request again (a retry) and a request that changes nothing publish nothing.
    await client.send('portfolio', 'ChangeContactDetails', first);
    expect(record(await client.send('portfolio', 'ChangeContactDetails', { customerId, details: { email: 'bent@lund.dk' }, source: 'crm' })).changed).toEqual([]);
    now = new Date('2026-03-05T09:30:00Z');
    expect(record(await client.send('portfolio', 'ChangeContactDetails', { customerId, details: { phone: '+4511223344' }, source: 'crm' })).changed).toEqual(['phone']);

    await eventually(() => expect(updatesOf(customerId)).toHaveLength(2), 20_000);
    // Give a duplicate a chance to show up before asserting there is none.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const updates = updatesOf(customerId);
    expect(updates.map((e) => e.data)).toEqual([
      { customerId, changed: ['email', 'street', 'postcode', 'city'], source: 'portal', changedAt: '2026-03-04T08:00:00.000Z' },
      { customerId, changed: ['phone'], source: 'crm', changedAt: '2026-03-05T09:30:00.000Z' },
    ]);
    for (const update of updates) {
      expect(checkJsonSchema(schema, JSON.parse(JSON.stringify(update)))).toEqual([]);
      expect(JSON.stringify(update)).not.toMatch(/Vestergade|bent@lund|Bent Lund|020290|\+4511223344|personalData/);
    }
  });
});
