import { randomUUID } from 'node:crypto';
import { betalingsserviceCustomerNumber, type Creditor } from '@dh/betalingsservice';
import type { JsonValue } from '@dh/event-store';
import { CommandClient } from '@dh/messaging';
import { loadConfig, openInfrastructure, runEventRelay, type Clock, type Infrastructure } from '@dh/platform';
import { startPbsSimulator, type RunningPbsSimulator } from '@dh/pbs-sim';
import { invoiceStreamId, type InvoiceIssued, type PaymentCollectionFailed } from '@dh/settlement-application';
import { startSettlementRuntime, type SettlementRuntime } from '@dh/settlement-infra';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { BetalingsserviceSftp, startBetalingsserviceWorker, type BetalingsserviceWorker } from '@dh/datahub-integration';

jest.setTimeout(90_000);

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

const creditor: Creditor = { dataSupplierNumber: '12345678', pbsNumber: '03985644', debtorGroup: '00001', registrationNumber: '1234', accountNumber: '1234567', dataSupplierIdentification: 'EL', headline: 'Elregning' };

describe('Betalingsservice end to end against the simulator over SFTP (settlement → datahub-integration → pbs-sim → back)', () => {
  const clock = new TestClock(new Date('2026-11-02T08:00:00Z'));
  let db: TestDatabase;
  let vhost: TestVhost;
  let infra: Infrastructure;
  let runtime: SettlementRuntime;
  let stopRelay: () => Promise<void>;
  let commands: CommandClient;
  let sim: RunningPbsSimulator;
  let worker: BetalingsserviceWorker;
  const customers = { paying: randomUUID(), rejected: randomUUID(), noAgreement: randomUUID() };
  const invoices = { paying: randomUUID(), rejected: randomUUID(), noAgreement: randomUUID() };

  async function issueInvoice(invoiceId: string, customerId: string, inclVat: string): Promise<void> {
    const data: InvoiceIssued = {
      invoiceId,
      runId: randomUUID(),
      customerId,
      gsrn: '571313180400000028',
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
    await infra.eventStore.appendToStream(
      invoiceStreamId(invoiceId),
      [{ eventId: randomUUID(), type: 'InvoiceIssued', data: JSON.parse(JSON.stringify(data)), metadata: { correlationId: randomUUID(), causationId: null, actor: 'settlement-worker', schemaVersion: 1, context: 'settlement' }, occurredAt: clock.now() }],
      { expectedRevision: 'no_stream' },
    );
  }
  const rows = async (sql: string, params: unknown[] = []) => (await infra.pool.query(sql, params)).rows;

  beforeAll(async () => {
    db = await createTestDatabase('betalingsservice');
    vhost = await createTestVhost('betalingsservice');
    infra = await openInfrastructure(loadConfig('settlement', 0, { DATABASE_URL: db.url, AMQP_URL: vhost.url }));
    infra.clock = clock;
    runtime = await startSettlementRuntime(infra, { workers: 0, payments: { termsDays: 14, overdueIntervalMs: 0 } });
    stopRelay = await runEventRelay(infra);
    commands = new CommandClient({ connection: infra.amqp, defaultTimeoutMs: 20_000 });
    await commands.start();
    sim = await startPbsSimulator();
    worker = await startBetalingsserviceWorker({
      pool: infra.pool,
      connection: infra.amqp,
      exchange: infra.config.exchange,
      sftp: new BetalingsserviceSftp({ host: sim.host, port: sim.port, username: sim.username, password: sim.password }),
      creditor,
      clock: () => clock.now(),
      send: (command: string, payload: JsonValue) => commands.send('settlement', command, payload),
    });
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await commands?.close();
    await sim?.stop();
    await runtime?.stop();
    await stopRelay?.();
    await infra?.close();
    await vhost?.drop();
    await db?.drop();
  }, 60_000);

  it('0603: agreements registered at the debtors\' banks reach settlement, once', async () => {
    for (const [c, agreement] of [[customers.paying, '900001'], [customers.rejected, '900002']] as const) {
      sim.control.registerAgreement({ customerNumber: betalingsserviceCustomerNumber(c), agreementNumber: agreement, startDate: '2026-11-01' });
    }
    sim.control.publishAgreementInformation('2026-11-02');
    expect(await worker.fetch()).toEqual([{ fileName: '0603-000001.txt', status: 'applied', reason: null, records: 2 }]);
    expect(await worker.fetch()).toEqual([]);
    expect(await rows(`SELECT customer_number, agreement_number, state, source FROM settlement.betalingsservice_agreements ORDER BY agreement_number`)).toEqual([
      { customer_number: betalingsserviceCustomerNumber(customers.paying), agreement_number: '900001', state: 'active', source: '0603' },
      { customer_number: betalingsserviceCustomerNumber(customers.rejected), agreement_number: '900002', state: 'active', source: '0603' },
    ]);
  });

  it('0601: invoices of customers with an agreement are collected on the next collection day whose deadline is met; the others pay by FI slip', async () => {
    await issueInvoice(invoices.paying, customers.paying, '1473.94');
    await issueInvoice(invoices.rejected, customers.rejected, '99.50');
    await issueInvoice(invoices.noAgreement, customers.noAgreement, '250.00');
    // Issued 2026-11-02 (FI due 2026-11-16): the December collection day (1 December), deadline 23 November.
    await eventually(async () => expect(await rows(`SELECT invoice_id::text, amount::text, due_date, deadline, status FROM betalingsservice.collections ORDER BY reference`)).toEqual([
      { invoice_id: invoices.paying, amount: '1473.94', due_date: '2026-12-01', deadline: '2026-11-23', status: 'pending' },
      { invoice_id: invoices.rejected, amount: '99.50', due_date: '2026-12-01', deadline: '2026-11-23', status: 'pending' },
    ]), 20_000, 100);
    expect(await rows(`SELECT invoice_id::text, collection_method, due_date FROM settlement.receivables ORDER BY collection_method, invoice_id`)).toEqual(
      expect.arrayContaining([
        { invoice_id: invoices.noAgreement, collection_method: 'fi-slip', due_date: '2026-11-16' },
        { invoice_id: invoices.paying, collection_method: 'betalingsservice', due_date: '2026-12-01' },
      ]),
    );

    clock.set('2026-11-20T08:00:00Z');
    const sent = await worker.deliver();
    expect(sent).toMatchObject({ records: 2, amount: '1573.44' });
    expect(await worker.deliver()).toBeNull();
    await eventually(() => expect(sim.control.deliveries()).toHaveLength(1), 5_000, 50);
    expect(sim.control.deliveries()[0]!.collections.map((c) => [c.customerNumber, c.amount, c.dueDate])).toEqual([
      [betalingsserviceCustomerNumber(customers.paying).replace(/^0+/, ''), '1473.94', '2026-12-01'],
      [betalingsserviceCustomerNumber(customers.rejected).replace(/^0+/, ''), '99.50', '2026-12-01'],
    ]);
    expect(sim.control.refusedUploads()).toEqual([]);
  });

  it('0602: a completed collection is payment.received on its invoice; a rejected one reopens the invoice for an FI slip, with its reason', async () => {
    sim.control.failNextCollection(betalingsserviceCustomerNumber(customers.rejected), 'rejected');
    sim.control.collectDue('2026-12-01');
    clock.set('2026-12-02T07:00:00Z');
    expect(await worker.fetch()).toEqual([{ fileName: '0602-000002.txt', status: 'applied', reason: null, records: 2 }]);
    const paid = await infra.eventStore.readStream(`payment-betalingsservice-1`);
    expect(paid.map((e) => [e.type, e.data.invoiceId, e.data.amount, e.data.method, e.data.paidAt])).toEqual([['PaymentReceived', invoices.paying, '1473.94', 'betalingsservice', '2026-11-30T23:00:00.000Z']]);
    const failed = (await infra.eventStore.readStream(invoiceStreamId(invoices.rejected))).filter((e) => e.type === 'PaymentCollectionFailed').map((e) => e.data as unknown as PaymentCollectionFailed);
    // Rejected on 2 December: the FI slip gives 10 days, 12 December is a Saturday → Monday 14 December.
    expect(failed).toEqual([expect.objectContaining({ invoiceId: invoices.rejected, reason: 'rejected', amount: '99.50', dueDate: '2026-12-01', fallbackDueDate: '2026-12-14', fileName: '0602-000002.txt' })]);
    await eventually(async () => expect(await rows(`SELECT collection_method, due_date, paid::text FROM settlement.receivables WHERE invoice_id = $1`, [invoices.rejected])).toEqual([{ collection_method: 'fi-slip', due_date: '2026-12-14', paid: '0.00' }]), 10_000, 100);
    await eventually(async () => expect(await rows(`SELECT paid::text FROM settlement.receivables WHERE invoice_id = $1`, [invoices.paying])).toEqual([{ paid: '1473.94' }]), 10_000, 100);
  });

  it('a file that does not parse is kept whole with its reason and nothing is applied; a file received twice is applied once', async () => {
    const good = sim.control.collectDue('2026-12-31');
    expect(good).toBeNull();
    const original = (await rows(`SELECT content FROM betalingsservice.inbound_files WHERE file_name = '0602-000002.txt'`))[0]!.content as Buffer;
    const truncated = original.subarray(0, original.length - 130);
    sim.control.putFile('0602-broken.txt', truncated);
    sim.control.putFile('0602-again.txt', original);
    const results = await worker.fetch();
    expect(results).toEqual([
      { fileName: '0602-again.txt', status: 'duplicate', reason: 'the same delivery as 0602-000002.txt (applied once)', records: 2 },
      { fileName: '0602-broken.txt', status: 'rejected', reason: expect.stringMatching(/no end \(BS992\).*incomplete file/), records: 0 },
    ]);
    expect((await rows(`SELECT content FROM betalingsservice.inbound_files WHERE file_name = '0602-broken.txt'`))[0]!.content).toEqual(truncated);
    expect(await infra.eventStore.readStream('payment-betalingsservice-1')).toHaveLength(1);
    expect((await infra.eventStore.readStream(invoiceStreamId(invoices.rejected))).filter((e) => e.type === 'PaymentCollectionFailed')).toHaveLength(1);
    expect(await worker.fetch()).toEqual([]);
  });

  it('0602 charge-back: the completed payment is taken back (payment.reversed), the invoice reopens with the reason for an FI slip', async () => {
    const [paidCollection] = sim.control.outcomes().filter((o) => o.outcome === 'completed');
    expect(paidCollection).toBeDefined();
    sim.control.chargeBack(paidCollection!.reference, '2026-12-07');
    clock.set('2026-12-08T07:00:00Z');
    const fetched = await worker.fetch();
    expect(fetched).toEqual([expect.objectContaining({ status: 'applied', records: 1 })]);
    const payment = await infra.eventStore.readStream(`payment-betalingsservice-${paidCollection!.reference}`);
    expect(payment.map((e) => e.type)).toEqual(['PaymentReceived', 'PaymentReversed']);
    expect(payment[1]!.data).toEqual({
      paymentId: `betalingsservice-${paidCollection!.reference}`,
      customerId: customers.paying,
      invoiceId: invoices.paying,
      amount: '1473.94',
      reason: 'charged-back',
      // The booking date of the 0239 record, not the day the file was read (8 December).
      reversedOn: '2026-12-07',
      collectionReference: paidCollection!.reference,
      fileName: fetched[0]!.fileName,
    });
    const failed = (await infra.eventStore.readStream(invoiceStreamId(invoices.paying))).filter((e) => e.type === 'PaymentCollectionFailed').map((e) => e.data as unknown as PaymentCollectionFailed);
    // Charged back on 8 December: the FI slip gives 10 days → Friday 18 December.
    expect(failed).toEqual([expect.objectContaining({ invoiceId: invoices.paying, reason: 'charged-back', amount: '1473.94', fallbackDueDate: '2026-12-18' })]);
    await eventually(
      async () => expect(await rows(`SELECT collection_method, due_date, paid::text FROM settlement.receivables WHERE invoice_id = $1`, [invoices.paying])).toEqual([{ collection_method: 'fi-slip', due_date: '2026-12-18', paid: '0.00' }]),
      10_000,
      100,
    );
    // The same file again changes nothing.
    const again = (await rows(`SELECT content FROM betalingsservice.inbound_files WHERE file_name = $1`, [fetched[0]!.fileName]))[0]!.content as Buffer;
    sim.control.putFile('0602-chargeback-again.txt', again);
    expect(await worker.fetch()).toEqual([expect.objectContaining({ status: 'duplicate' })]);
    expect((await infra.eventStore.readStream(`payment-betalingsservice-${paidCollection!.reference}`)).map((e) => e.type)).toEqual(['PaymentReceived', 'PaymentReversed']);
  });

  it('parks a collection request it cannot keep (no amount) in the DLQ and keeps the requests behind it', async () => {
    const request = (invoiceId: string, amount: string | undefined) => ({
      invoiceId,
      invoiceKind: 'invoice',
      customerId: randomUUID(),
      customerNumber: '000000000000042',
      agreementNumber: '000000042',
      ...(amount === undefined ? {} : { amount }),
      dueDate: '2027-01-04',
      deliveryDeadline: '2026-12-28',
    });
    const append = (invoiceId: string, amount: string | undefined) =>
      infra.eventStore.appendToStream(
        `invoice-${invoiceId}`,
        [{ eventId: randomUUID(), type: 'BetalingsserviceCollectionRequested', data: request(invoiceId, amount), metadata: { correlationId: randomUUID(), causationId: null, actor: 'test', schemaVersion: 1, context: 'payments' }, occurredAt: clock.now() }],
        { expectedRevision: 'any' },
      );
    const broken = randomUUID();
    const next = randomUUID();
    await append(broken, undefined);
    await append(next, '125.00');
    await eventually(async () => expect(await rows(`SELECT amount::text FROM betalingsservice.collections WHERE invoice_id = $1`, [next])).toEqual([{ amount: '125.00' }]), 20_000, 100);
    expect(await rows(`SELECT 1 FROM betalingsservice.collections WHERE invoice_id = $1`, [broken])).toEqual([]);
    expect(worker.collections.stats()).toMatchObject({ halted: null, deadLettered: 1 });
    expect(worker.collections.stats().lastError).toMatch(/data.amount is missing or malformed/);
  });
});
