import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { connect, type ChannelModel } from 'amqplib';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AuthModule, migrateAuth } from '@dh/auth';
import { bearer, issueTestJwt, testAuthConfig } from '@dh/auth/testing';
import { CommandClient, DEFAULT_EVENT_EXCHANGE, type EventEnvelope, type RunningConsumer } from '@dh/messaging';
import { createValidationPipe, loadConfig, openInfrastructure, ProblemDetailsFilter, runEventRelay, type Clock, type Infrastructure } from '@dh/platform';
import { PAYMENT_READ_MODEL_ENTITIES, paymentsProjection, SETTLEMENT_READ_MODEL_ENTITIES, settlementProjection, startProjections } from '@dh/read-models';
import { acontoInvoiceStreamId, invoiceStreamId, paymentReference, type AcontoInvoiceIssued, type InvoiceIssued } from '@dh/settlement-application';
import { startSettlementRuntime, type SettlementRuntime } from '@dh/settlement-infra';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { checkJsonSchema, startWebhookDispatcher, verifyWebhook, WebhookStore, type JsonSchema, type WebhookDispatcher } from '@dh/webhooks';

/** Receivers in these tests listen on 127.0.0.1, as in development. */
const LOCAL_RECEIVERS = { allowLoopback: true, allowedNetworks: [] };
import { CommandGateway } from '../commands/command-gateway';
import { IDEMPOTENCY_STORE, IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { IdempotencyStore } from '../idempotency/idempotency.store';
import { CustomerBalanceController } from '../settlement/customer-balance.controller';
import { COMMAND_CLIENT } from '../tokens';
import { PaymentsController } from './payments.controller';

jest.setTimeout(90_000);

const schema = (name: string): JsonSchema => JSON.parse(readFileSync(join(__dirname, '../../../../docs/events', `${name}.v1.schema.json`), 'utf8')) as JsonSchema;
const RECEIVED_SCHEMA = schema('payment.received');
const OVERDUE_SCHEMA = schema('payment.overdue');
const REMINDER_SCHEMA = schema('reminder.sent');
const MASTER_KEY = Buffer.alloc(32, 7);
const GSRN = '571313180400000028';

/** Business time the settlement service follows; the test moves it forward. */
class TestClock implements Clock {
  constructor(private current: Date) {}
  now(): Date {
    return new Date(this.current.getTime());
  }
  set(iso: string): void {
    this.current = new Date(iso);
  }
  close(): void {}
}

/** A webhook receiver on 127.0.0.1 recording every request. */
class Receiver {
  readonly requests: { headers: IncomingHttpHeaders; body: string }[] = [];
  private server: Server | null = null;
  url = '';
  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
    return this;
  }
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('payments: payment.received and payment.overdue end to end (gateway API → settlement → event store → bus, webhook)', () => {
  const clock = new TestClock(new Date('2026-11-02T08:00:00Z'));
  let db: TestDatabase;
  let vhost: TestVhost;
  let infra: Infrastructure;
  let runtime: SettlementRuntime;
  let stopRelay: () => Promise<void>;
  let projections: RunningConsumer[];
  let commands: CommandClient;
  let subscriber: ChannelModel;
  let dispatcher: WebhookDispatcher;
  let app: INestApplication;
  let dataSource: DataSource;
  let receiver: Receiver;
  let webhookSecret = '';
  let reminderSecret = '';
  const bus: EventEnvelope[] = [];
  let payment: Record<string, string>;
  let staff: Record<string, string>;
  let erp: Record<string, string>;

  const ids = { paidById: randomUUID(), paidByFi: randomUUID(), matchedLater: randomUUID(), aconto: randomUUID(), acontoPaidEarly: randomUUID() };
  const onBus = (type: string) => bus.filter((e) => e.type === type);
  /** Customer ids are UUIDs at the API (a non-UUID id is refused); numbered ones keep the test readable and sort in number order. */
  const customer = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

  async function issueInvoice(invoiceId: string, customerId: string, inclVat: string): Promise<void> {
    const data: InvoiceIssued = {
      invoiceId,
      runId: randomUUID(),
      customerId,
      gsrn: GSRN,
      period: { kind: 'month', year: 2026, month: 10 },
      periodLabel: '2026-10',
      periodStart: '2026-10-01',
      periodEnd: '2026-10-31',
      paymentModel: 'actual',
      lines: [],
      totals: { exclVat: '0.00', vat: '0.00', inclVat },
      aconto: { paid: '0.00', difference: inclVat, netAmountDue: inclVat },
      estimated: false,
      asOf: clock.now().toISOString(),
    };
    // As the settlement worker writes it (context settlement, stream invoice-<id>, business time).
    await infra.eventStore.appendToStream(
      invoiceStreamId(invoiceId),
      [{ eventId: randomUUID(), type: 'InvoiceIssued', data: JSON.parse(JSON.stringify(data)), metadata: { correlationId: randomUUID(), causationId: null, actor: 'settlement-worker', schemaVersion: 1, context: 'settlement' }, occurredAt: clock.now() }],
      { expectedRevision: 'no_stream' },
    );
  }

  /** An aconto (advance) invoice as settlement writes it (stream aconto-invoice-<id>). */
  async function issueAcontoInvoice(acontoInvoiceId: string, customerId: string, inclVat: string): Promise<void> {
    const data: AcontoInvoiceIssued = {
      acontoInvoiceId,
      customerId,
      gsrn: GSRN,
      quarter: '2026-Q4',
      periodStart: '2026-10-01',
      periodEnd: '2026-12-31',
      amountInclVat: inclVat,
      amountExclVat: inclVat,
      vat: '0.00',
      dueDate: '2026-10-01',
      trigger: 'supply-started',
      settledPeriod: null,
      basis: { expectedAnnualKwh: '4000', pricePerKwh: '2.5', priceSource: 'prices', referenceMonth: '2026-10', monthlySubscriptions: '50', quarterShare: '0.25', daysSupplied: 92, daysInQuarter: 92 },
    };
    await infra.eventStore.appendToStream(
      acontoInvoiceStreamId(acontoInvoiceId),
      [{ eventId: randomUUID(), type: 'AcontoInvoiceIssued', data: JSON.parse(JSON.stringify(data)), metadata: { correlationId: randomUUID(), causationId: null, actor: 'settlement-aconto', schemaVersion: 1, context: 'settlement' }, occurredAt: clock.now() }],
      { expectedRevision: 'no_stream' },
    );
  }

  const http = () => request(app.getHttpServer());
  const pay = (body: Record<string, string>, key?: string) => {
    const r = http().post('/api/payments').set(payment);
    return (key ? r.set('Idempotency-Key', key) : r).send(body);
  };
  const balance = async (customerId: string) => (await http().get(`/api/customers/${customerId}/balance`).set(erp).expect(200)).body as Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase('payments');
    vhost = await createTestVhost('payments');
    infra = await openInfrastructure(loadConfig('settlement', 0, { DATABASE_URL: db.url, AMQP_URL: vhost.url }));
    infra.clock = clock;
    subscriber = await connect(vhost.url);
    const channel = await subscriber.createChannel();
    await channel.assertExchange(DEFAULT_EVENT_EXCHANGE, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, DEFAULT_EVENT_EXCHANGE, 'payment.#');
    await channel.bindQueue(queue, DEFAULT_EVENT_EXCHANGE, 'reminder.#');
    await channel.consume(queue, (m) => m && bus.push(JSON.parse(m.content.toString('utf8')) as EventEnvelope), { noAck: true });

    // Settlement with its payments slice: no settlement workers needed (invoices are appended above), overdue check every 200 ms.
    runtime = await startSettlementRuntime(infra, { workers: 0, payments: { termsDays: 14, overdueIntervalMs: 200 } });
    stopRelay = await runEventRelay(infra);
    projections = await startProjections({ pool: infra.pool, eventStore: infra.eventStore, connection: infra.amqp, projections: [settlementProjection, paymentsProjection] });

    const webhooks = new WebhookStore(infra.pool, { masterKey: MASTER_KEY, policy: LOCAL_RECEIVERS });
    await webhooks.migrate();
    receiver = await new Receiver().start();
    webhookSecret = (await webhooks.register('consumer:erp', { url: receiver.url, eventTypes: ['payment.received'] })).secret;
    reminderSecret = (await webhooks.register('consumer:erp', { url: `${receiver.url}/reminders`, eventTypes: ['reminder.sent'] })).secret;
    dispatcher = await startWebhookDispatcher({ pool: infra.pool, connection: infra.amqp, masterKey: MASTER_KEY, retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 300 }, pollIntervalMs: 50 });

    // The gateway's payment and balance endpoints in-process, with auth, validation, problem+json and Idempotency-Key.
    await migrateAuth(infra.pool);
    commands = new CommandClient({ connection: infra.amqp, defaultTimeoutMs: 20_000 });
    await commands.start();
    const idempotency = new IdempotencyStore(infra.pool);
    await idempotency.migrate();
    dataSource = await new DataSource({ type: 'postgres', url: db.url, entities: [...SETTLEMENT_READ_MODEL_ENTITIES, ...PAYMENT_READ_MODEL_ENTITIES], synchronize: false }).initialize();
    const moduleRef = await Test.createTestingModule({
      imports: [AuthModule.forRoot({ pool: infra.pool, config: testAuthConfig() })],
      controllers: [PaymentsController, CustomerBalanceController],
      providers: [
        CommandGateway,
        { provide: DataSource, useValue: dataSource },
        { provide: COMMAND_CLIENT, useValue: commands },
        { provide: IDEMPOTENCY_STORE, useValue: idempotency },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
      ],
    }).compile();
    app = moduleRef.createNestApplication();
    app.useGlobalPipes(createValidationPipe());
    app.useGlobalFilters(new ProblemDetailsFilter());
    await app.init();
    payment = bearer(await issueTestJwt({ kind: 'client', consumer: 'payment', expiresIn: '30m' }));
    erp = bearer(await issueTestJwt({ kind: 'client', consumer: 'erp', expiresIn: '30m' }));
    staff = { ...bearer(await issueTestJwt({ kind: 'staff', roles: ['admin'], expiresIn: '30m' })), 'X-Access-Reason': 'payments test' };

    await issueInvoice(ids.paidById, customer(1), '1000.00');
    await issueInvoice(ids.paidByFi, customer(2), '500.00');
    await issueInvoice(ids.matchedLater, customer(3), '250.00');
    await issueAcontoInvoice(ids.aconto, customer(4), '1500.00');
    await eventually(async () => expect(Number((await infra.pool.query(`SELECT count(*) AS n FROM settlement.receivables`)).rows[0].n)).toBe(4), 30_000, 100);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await dataSource?.destroy();
    await commands?.close();
    await dispatcher?.stop();
    for (const p of projections ?? []) await p.stop();
    await runtime?.stop();
    await stopRelay?.();
    await receiver?.stop();
    await subscriber?.close();
    await infra?.close();
    await vhost?.drop();
    await db?.drop();
  }, 60_000);

  it('a payment by invoice id and one by FI +71 reference each publish exactly one payment.received, valid against the schema; a duplicate publishes nothing', async () => {
    const byId = await pay({ payment_id: 'pbs-602-0001', reference: ids.paidById, amount: '1000.00', paid_at: '2026-11-05T06:00:00Z', method: 'betalingsservice' }, 'key-1').expect(201);
    expect(byId.body).toEqual({ payment_id: 'pbs-602-0001', status: 'matched', invoice_id: ids.paidById, customer_id: customer(1), unmatched_reason: null, already_recorded: false });
    const reference = paymentReference(ids.paidByFi);
    expect(reference).toMatch(/^\+71<\d{15}$/);
    // The full FI payment line (with creditor number) as a bank sends it.
    const byFi = await pay({ payment_id: 'bank-77', reference: `${reference}+85140000<`, amount: '200.00', paid_at: '2026-11-06T10:30:00Z', method: 'bank-transfer' }).expect(201);
    expect(byFi.body).toMatchObject({ status: 'matched', invoice_id: ids.paidByFi, customer_id: customer(2) });

    const received = await eventually(() => {
      const r = onBus('PaymentReceived');
      if (r.length < 2) throw new Error(`${r.length} payment.received`);
      return r;
    }, 20_000, 100);
    for (const e of received) expect(checkJsonSchema(RECEIVED_SCHEMA, e)).toEqual([]);
    expect(received.map((e) => [e.streamId, e.data])).toEqual([
      ['payment-pbs-602-0001', { paymentId: 'pbs-602-0001', customerId: customer(1), invoiceId: ids.paidById, amount: '1000.00', paidAt: '2026-11-05T06:00:00.000Z', method: 'betalingsservice' }],
      ['payment-bank-77', { paymentId: 'bank-77', customerId: customer(2), invoiceId: ids.paidByFi, amount: '200.00', paidAt: '2026-11-06T10:30:00.000Z', method: 'bank-transfer' }],
    ]);

    // The same payment again: replayed by Idempotency-Key, and without it recognised by its payment id.
    const replay = await pay({ payment_id: 'pbs-602-0001', reference: ids.paidById, amount: '1000.00', paid_at: '2026-11-05T06:00:00Z', method: 'betalingsservice' }, 'key-1').expect(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    const again = await pay({ payment_id: 'pbs-602-0001', reference: ids.paidById, amount: '1000.00', paid_at: '2026-11-05T06:00:00Z', method: 'betalingsservice' }).expect(201);
    expect(again.body).toMatchObject({ status: 'matched', already_recorded: true });
    // The same id with another amount is a provider error, not a second payment.
    expect((await pay({ payment_id: 'pbs-602-0001', reference: ids.paidById, amount: '999.00', paid_at: '2026-11-05T06:00:00Z', method: 'betalingsservice' }).expect(409)).body.type).toContain('illegal-transition');
    await new Promise((r) => setTimeout(r, 1000));
    expect(onBus('PaymentReceived')).toHaveLength(2);
    expect((await infra.eventStore.readStream('payment-pbs-602-0001')).length).toBe(1);

    // Validation at the edge.
    const bad = await pay({ payment_id: 'x', reference: ids.paidById, amount: '10.5', paid_at: 'yesterday', method: 'cash' }).expect(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['amount', 'method', 'paid_at']);
  });

  it('an unmatched (or malformed) payment is kept and listed, not published; once matched by staff it publishes payment.received', async () => {
    const unknown = await pay({ payment_id: 'mp-1', reference: 'faktura 42', amount: '250.00', paid_at: '2026-11-07T12:00:00Z', method: 'mobilepay' }).expect(201);
    expect(unknown.body).toMatchObject({ status: 'unmatched', invoice_id: null, customer_id: null, unmatched_reason: 'malformed-reference' });
    // An FI reference with a wrong check digit is malformed too; one with a valid digit but no invoice is unknown.
    const wrongDigit = paymentReference(ids.paidById).replace(/\d$/, (d) => String((Number(d) + 1) % 10));
    expect((await pay({ payment_id: 'mp-2', reference: wrongDigit, amount: '5.00', paid_at: '2026-11-07T12:00:00Z', method: 'card' }).expect(201)).body.unmatched_reason).toBe('malformed-reference');
    expect((await pay({ payment_id: 'mp-3', reference: randomUUID(), amount: '6.00', paid_at: '2026-11-07T12:00:00Z', method: 'other' }).expect(201)).body.unmatched_reason).toBe('unknown-invoice');

    const listed = await eventually(async () => {
      const res = await http().get('/api/payments/unmatched').set(staff).expect(200);
      expect(res.body.payments).toHaveLength(3);
      return res.body.payments as { payment_id: string; reference: string; amount: string; reason: string }[];
    }, 20_000, 100);
    expect(listed.find((p) => p.payment_id === 'mp-1')).toMatchObject({ reference: 'faktura 42', amount: '250.00', reason: 'malformed-reference' });
    // ERP reads the list too (payments:read); the payment service may not.
    await http().get('/api/payments/unmatched').set(erp).expect(200);
    await http().get('/api/payments/unmatched').set(payment).expect(403);
    expect(onBus('PaymentReceived')).toHaveLength(2);
    expect(bus.some((e) => e.type === 'PaymentUnmatched')).toBe(false);

    // Staff match it (ERP may not); an unknown invoice is refused.
    await http().post('/api/payments/unmatched/mp-1/match').set(erp).send({ invoice_id: ids.matchedLater }).expect(403);
    await http().post('/api/payments/unmatched/mp-1/match').set(staff).send({ invoice_id: randomUUID() }).expect(422);
    await http().post('/api/payments/unmatched/nope/match').set(staff).send({ invoice_id: ids.matchedLater }).expect(404);
    const matched = await http().post('/api/payments/unmatched/mp-1/match').set(staff).send({ invoice_id: ids.matchedLater }).expect(200);
    expect(matched.body).toEqual({ payment_id: 'mp-1', invoice_id: ids.matchedLater, customer_id: customer(3), status: 'matched', already_matched: false });
    expect((await http().post('/api/payments/unmatched/mp-1/match').set(staff).send({ invoice_id: ids.matchedLater }).expect(200)).body.already_matched).toBe(true);
    await http().post('/api/payments/unmatched/mp-1/match').set(staff).send({ invoice_id: ids.paidById }).expect(409);

    const late = await eventually(() => {
      const r = onBus('PaymentReceived').filter((e) => e.data.paymentId === 'mp-1');
      if (r.length !== 1) throw new Error(`${r.length}`);
      return r[0]!;
    }, 20_000, 100);
    expect(checkJsonSchema(RECEIVED_SCHEMA, late)).toEqual([]);
    expect(late.data).toEqual({ paymentId: 'mp-1', customerId: customer(3), invoiceId: ids.matchedLater, amount: '250.00', paidAt: '2026-11-07T12:00:00.000Z', method: 'mobilepay' });
    await eventually(async () => expect((await http().get('/api/payments/unmatched').set(staff).expect(200)).body.payments.map((p: { payment_id: string }) => p.payment_id).sort()).toEqual(['mp-2', 'mp-3']), 20_000, 100);
  });

  it('the webhook registered for payment.received gets each payment once, signed', async () => {
    await eventually(() => expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(3), 20_000, 100);
    await new Promise((r) => setTimeout(r, 500));
    const published = onBus('PaymentReceived');
    expect(receiver.requests).toHaveLength(3);
    expect(receiver.requests.map((r) => r.headers['webhook-id']).sort()).toEqual(published.map((e) => e.eventId).sort());
    for (const r of receiver.requests) {
      expect(r.headers['webhook-event']).toBe('payment.received');
      expect(verifyWebhook({ secret: webhookSecret, body: r.body, timestamp: String(r.headers['webhook-timestamp']), signature: String(r.headers['webhook-signature']) })).toEqual({ ok: true });
      expect(checkJsonSchema(RECEIVED_SCHEMA, JSON.parse(r.body))).toEqual([]);
    }
  });

  it('the balance reflects payments: invoices + notes − aconto payments − payments', async () => {
    await eventually(async () => {
      expect(await balance(customer(1))).toEqual({
        customer_id: customer(1), invoiced: '1000.00', notes: '0.00', aconto_invoiced: '0.00', aconto_paid: '0.00', reminder_fees: '0.00', interest: '0.00', paid: '1000.00', written_off: '0.00', balance: '0.00', invoices: 1, aconto_invoices: 0,
      });
      expect(await balance(customer(2))).toMatchObject({ invoiced: '500.00', paid: '200.00', balance: '300.00' });
      expect(await balance(customer(3))).toMatchObject({ invoiced: '250.00', paid: '250.00', balance: '0.00' });
    }, 20_000, 200);
  });

  it('what the debt-collection agency writes off is no longer owed: the balance subtracts it (CollectionWrittenOff; on a paid customer here, so it shows as a credit)', async () => {
    const caseId = randomUUID();
    await infra.eventStore.appendToStream(
      `collection-case-${caseId}`,
      [
        {
          eventId: randomUUID(),
          type: 'CollectionWrittenOff',
          data: { caseId, customerId: customer(3), agencyReference: 'INK-000009', agencyEventId: 'agency-event-9', amount: '40.00', writtenOffOn: '2026-11-20', reason: 'debtor without means' },
          metadata: { correlationId: caseId, causationId: null, actor: 'settlement-collection', schemaVersion: 1, context: 'payments' },
          occurredAt: clock.now(),
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    await eventually(async () => expect(await balance(customer(3))).toMatchObject({ invoiced: '250.00', paid: '250.00', written_off: '40.00', balance: '-40.00' }), 20_000, 200);
  });

  it('an aconto invoice is a receivable: paid by its FI reference or its id, matched (payment.received), counted in the balance', async () => {
    await eventually(async () => expect(await balance(customer(4))).toMatchObject({ aconto_invoiced: '1500.00', paid: '0.00', balance: '1500.00', aconto_invoices: 1 }), 20_000, 200);
    const byFi = await pay({ payment_id: 'aconto-fi-1', reference: paymentReference(ids.aconto), amount: '1000.00', paid_at: '2026-11-03T10:00:00Z', method: 'bank-transfer' }).expect(201);
    expect(byFi.body).toMatchObject({ status: 'matched', invoice_id: ids.aconto, customer_id: customer(4) });
    const byId = await pay({ payment_id: 'aconto-id-1', reference: ids.aconto, amount: '200.00', paid_at: '2026-11-04T10:00:00Z', method: 'card' }).expect(201);
    expect(byId.body).toMatchObject({ status: 'matched', invoice_id: ids.aconto });
    const received = await eventually(() => {
      const r = onBus('PaymentReceived').filter((e) => e.data.invoiceId === ids.aconto);
      if (r.length < 2) throw new Error(`${r.length}`);
      return r;
    }, 20_000, 100);
    for (const e of received) expect(checkJsonSchema(RECEIVED_SCHEMA, e)).toEqual([]);
    await eventually(async () => expect(await balance(customer(4))).toMatchObject({ aconto_invoiced: '1500.00', paid: '1200.00', balance: '300.00' }), 20_000, 200);
    // Settlement's receivables are its own consumer of PaymentReceived, not the read model the balance comes from:
    // awaited on their own.
    await eventually(
      async () =>
        expect((await infra.pool.query(`SELECT kind, due_date, amount_due::text, paid::text FROM settlement.receivables WHERE invoice_id = $1`, [ids.aconto])).rows).toEqual([
          { kind: 'aconto', due_date: '2026-11-16', amount_due: '1500.00', paid: '1200.00' },
        ]),
      20_000,
      200,
    );
  });

  it('a payment whose reference is not known yet is kept unmatched, then matched automatically when that (aconto) invoice is issued', async () => {
    const early = await pay({ payment_id: 'early-1', reference: `${paymentReference(ids.acontoPaidEarly)}+85140000<`, amount: '400.00', paid_at: '2026-11-04T09:00:00Z', method: 'bank-transfer' }).expect(201);
    expect(early.body).toMatchObject({ status: 'unmatched', unmatched_reason: 'unknown-invoice' });
    const earlyById = await pay({ payment_id: 'early-2', reference: ids.acontoPaidEarly, amount: '100.00', paid_at: '2026-11-04T09:30:00Z', method: 'card' }).expect(201);
    expect(earlyById.body).toMatchObject({ status: 'unmatched', unmatched_reason: 'unknown-invoice' });
    await issueAcontoInvoice(ids.acontoPaidEarly, customer(5), '900.00');
    const matched = await eventually(() => {
      const r = onBus('PaymentReceived').filter((e) => e.data.invoiceId === ids.acontoPaidEarly);
      if (r.length < 2) throw new Error(`${r.length}`);
      return r;
    }, 20_000, 100);
    expect(matched.map((e) => [e.data.paymentId, e.data.customerId, e.metadata.actor]).sort()).toEqual([
      ['early-1', customer(5), 'settlement-auto-match'],
      ['early-2', customer(5), 'settlement-auto-match'],
    ]);
    await eventually(async () => expect(await balance(customer(5))).toMatchObject({ aconto_invoiced: '900.00', paid: '500.00', balance: '400.00' }), 20_000, 200);
    await eventually(async () => expect((await http().get('/api/payments/unmatched').set(staff).expect(200)).body.payments.map((p: { payment_id: string }) => p.payment_id)).not.toContain('early-1'), 20_000, 100);
  });

  it('past the due date exactly one payment.overdue for the unpaid invoice (remaining amount), none for paid ones, and never again', async () => {
    // Issued 2026-11-02 + 14 days → due Monday 2026-11-16: on the due date nothing is overdue.
    clock.set('2026-11-16T20:00:00Z');
    await new Promise((r) => setTimeout(r, 1000));
    expect(onBus('PaymentOverdue')).toHaveLength(0);

    clock.set('2026-11-18T08:00:00Z');
    // The unpaid invoice and the two partly paid aconto invoices (an aconto invoice goes overdue like any invoice).
    const overdue = await eventually(() => {
      const o = onBus('PaymentOverdue');
      if (o.length < 3) throw new Error(`${o.length} payment.overdue`);
      return o;
    }, 20_000, 100);
    for (const o of overdue) expect(checkJsonSchema(OVERDUE_SCHEMA, o)).toEqual([]);
    const ofInvoice = (id: string) => overdue.find((o) => o.data.invoiceId === id)!;
    expect(ofInvoice(ids.paidByFi)).toMatchObject({ streamId: `invoice-${ids.paidByFi}`, metadata: { context: 'payments' } });
    expect(ofInvoice(ids.paidByFi).data).toEqual({ invoiceId: ids.paidByFi, customerId: customer(2), amountDue: '300.00', dueDate: '2026-11-16', daysOverdue: 2 });
    expect(ofInvoice(ids.aconto)).toMatchObject({ streamId: `aconto-invoice-${ids.aconto}` });
    expect(ofInvoice(ids.aconto).data).toEqual({ invoiceId: ids.aconto, customerId: customer(4), amountDue: '300.00', dueDate: '2026-11-16', daysOverdue: 2 });
    expect(ofInvoice(ids.acontoPaidEarly).data).toMatchObject({ customerId: customer(5), amountDue: '400.00' });

    // A later partial payment, more passes of the check and a later day: still exactly one.
    await pay({ payment_id: 'bank-78', reference: paymentReference(ids.paidByFi), amount: '100.00', paid_at: '2026-11-18T09:00:00Z', method: 'bank-transfer' }).expect(201);
    await eventually(async () => expect((await infra.pool.query(`SELECT paid::text FROM settlement.receivables WHERE invoice_id = $1`, [ids.paidByFi])).rows[0].paid).toBe('300.00'), 20_000, 100);
    clock.set('2026-11-25T08:00:00Z');
    await new Promise((r) => setTimeout(r, 1500));
    expect(onBus('PaymentOverdue')).toHaveLength(3);
    expect((await infra.eventStore.readAll()).filter((e) => e.type === 'PaymentOverdue')).toHaveLength(3);
    // A pass run by hand (another replica's) finds nothing to do.
    const pass = await runtime.payments.checkOverdue();
    expect(pass === null || pass.length === 0).toBe(true);
    // 200.00 still due, plus the first reminder's fee and interest (sent on 2026-11-25, see the next test).
    await eventually(async () => expect(await balance(customer(2))).toMatchObject({ paid: '300.00', balance: '300.48' }), 20_000, 200);
  });

  it('after the due date and three more days, a reminder (fee 100.00, interest at reference + 8 %, new deadline) goes out once per claim as reminder.sent; paying what it asks brings the balance to zero and stops the dunning', async () => {
    // The overdue test left the clock at 2026-11-25: the dunning pass (after each overdue pass) sent reminder 1.
    const reminders = await eventually(() => {
      const r = onBus('ReminderSent');
      if (r.length < 3) throw new Error(`${r.length} reminder.sent`);
      return r;
    }, 20_000, 100);
    for (const r of reminders) expect(checkJsonSchema(REMINDER_SCHEMA, r)).toEqual([]);
    const ofInvoice = (id: string) => reminders.find((r) => r.data.invoiceId === id)!;
    // customer-2: 500.00 − 200.00 − 100.00 paid = 200.00 overdue since 2026-11-16; 9 days at 1.75 % + 8 = 9.75 %:
    // 200 × 0.0975 × 9 / 365 = 0.4808… → 0.48; deadline 25 Nov + 10 = Saturday 5 Dec → Monday 7 Dec.
    expect(ofInvoice(ids.paidByFi)).toMatchObject({ streamId: `invoice-${ids.paidByFi}`, metadata: { context: 'payments', actor: 'settlement-reminders' } });
    expect(ofInvoice(ids.paidByFi).data).toEqual({
      reminderId: expect.any(String),
      invoiceId: ids.paidByFi,
      invoiceKind: 'invoice',
      customerId: customer(2),
      number: 1,
      sentOn: '2026-11-25',
      dueDate: '2026-11-16',
      deadline: '2026-12-07',
      principal: '200.00',
      fee: '100.00',
      interest: '0.48',
      interestFrom: '2026-11-16',
      interestThrough: '2026-11-25',
      annualInterestRatesPercent: ['9.75'],
      amountDue: '300.48',
      paymentReference: paymentReference(ids.paidByFi),
      warnsOfCollection: false,
    });
    expect(ofInvoice(ids.aconto)).toMatchObject({ streamId: `aconto-invoice-${ids.aconto}`, data: { invoiceKind: 'aconto', customerId: customer(4), principal: '300.00', fee: '100.00' } });
    // Once per claim, whatever the number of passes.
    await runtime.payments.sendReminders();
    await new Promise((r) => setTimeout(r, 800));
    expect(onBus('ReminderSent')).toHaveLength(3);

    // Signed webhook deliveries of reminder.sent, and the API lists the reminders; the balance counts fee and interest.
    await eventually(() => expect(receiver.requests.filter((r) => r.headers['webhook-event'] === 'reminder.sent')).toHaveLength(3), 20_000, 100);
    for (const r of receiver.requests.filter((x) => x.headers['webhook-event'] === 'reminder.sent')) {
      expect(verifyWebhook({ secret: reminderSecret, body: r.body, timestamp: String(r.headers['webhook-timestamp']), signature: String(r.headers['webhook-signature']) })).toEqual({ ok: true });
    }
    await eventually(async () => expect(await balance(customer(2))).toMatchObject({ reminder_fees: '100.00', interest: '0.48', paid: '300.00', balance: '300.48' }), 20_000, 200);
    const listed = (await http().get(`/api/customers/${customer(2)}/reminders`).set(erp).expect(200)).body as { reminders: Record<string, unknown>[] };
    expect(listed.reminders).toEqual([expect.objectContaining({ invoice_id: ids.paidByFi, number: 1, fee: '100.00', interest: '0.48', amount_due: '300.48', deadline: '2026-12-07', warns_of_collection: false })]);

    // The customer pays what the reminder asks, by its FI payment line: balance zero, no second reminder.
    await pay({ payment_id: 'bank-79', reference: paymentReference(ids.paidByFi), amount: '300.48', paid_at: '2026-11-27T09:00:00Z', method: 'bank-transfer' }).expect(201);
    await eventually(async () => expect(await balance(customer(2))).toMatchObject({ balance: '0.00' }), 20_000, 200);
    // customer-4 did not pay: reminder 2 once the first deadline has passed (and ≥ 10 days since the first).
    clock.set('2026-12-08T08:00:00Z');
    const second = await eventually(() => {
      const r = onBus('ReminderSent').filter((e) => e.data.number === 2);
      if (r.length < 2) throw new Error(`${r.length}`);
      return r;
    }, 20_000, 100);
    expect(second.map((e) => e.data.customerId).sort()).toEqual([customer(4), customer(5)]);
    expect(onBus('ReminderSent').filter((e) => e.data.customerId === customer(2))).toHaveLength(1);
  });
});
