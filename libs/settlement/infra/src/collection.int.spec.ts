import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCollectionSimulator, type RunningCollectionSimulator } from '@dh/collection-sim';
import type { DunningRule } from '@dh/payments-domain';
import { routingKeyFor, toEnvelope } from '@dh/messaging';
import { loadConfig, openInfrastructure, type Clock, type Infrastructure } from '@dh/platform';
import { collectionCaseStreamId, invoiceStreamId, paymentReference, type InvoiceIssued } from '@dh/settlement-application';
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from '@dh/testing';
import { checkJsonSchema, type JsonSchema } from '@dh/webhooks';
import { announceClaimsSettled } from './collection';
import { applyToReceivables, startPayments, type PaymentsRuntime } from './payments';

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

/** One reminder with a fee, then collection once its deadline has passed; no interest (the reference rates are tested elsewhere). */
const RULES: DunningRule[] = [
  {
    validFrom: '2020-01-01',
    validTo: null,
    firstReminderAfterDays: 1,
    daysBetweenReminders: 10,
    reminders: 1,
    reminderFee: '100.00',
    paymentDeadlineDays: 10,
    chargeInterest: false,
    collectionAfterDays: 0,
    source: 'test policy',
  },
];

describe('debt collection handoff: the case recorded first, handed to the agency after commit, payments and write-offs back as events', () => {
  const clock = new TestClock(new Date('2026-11-02T08:00:00Z'));
  const API_KEY = 'creditor-key';
  let db: TestDatabase;
  let vhost: TestVhost;
  let infra: Infrastructure;
  let payments: PaymentsRuntime;
  let agency: RunningCollectionSimulator;
  const customerId = '00000000-0000-4000-8000-000000000042';
  const invoices = [randomUUID(), randomUUID()];

  const events = async (streamId: string) => (await infra.eventStore.readStream(streamId)).map((e) => ({ type: e.type, data: e.data }));
  const receivable = async (invoiceId: string) =>
    (await infra.pool.query<{ paid: string; collection_case_id: string | null; reminders_sent: number }>(`SELECT paid::text, collection_case_id::text, reminders_sent FROM settlement.receivables WHERE invoice_id = $1`, [invoiceId])).rows[0];

  const issueInvoice = (invoiceId: string, inclVat: string): Promise<void> => issueInvoiceOf(customerId, invoiceId, inclVat);

  async function issueInvoiceOf(customerId: string, invoiceId: string, inclVat: string): Promise<void> {
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
    // The receivable as the payments consumer opens it from the bus (applied here directly: this test is about collection, not the relay).
    const [recorded] = await infra.eventStore.readStream(invoiceStreamId(invoiceId));
    await applyToReceivables(toEnvelope(recorded!), infra.pool, 14);
  }

  /** payment.received as the payments consumer applies it to the receivables. */
  async function applyPaymentsFromStore(): Promise<void> {
    const { rows } = await infra.pool.query<{ stream_id: string }>(`SELECT DISTINCT stream_id FROM event_store.events WHERE type = 'PaymentReceived'`);
    for (const r of rows) for (const e of await infra.eventStore.readStream(r.stream_id)) if (e.type === 'PaymentReceived') await applyToReceivables(toEnvelope(e), infra.pool, 14);
  }

  beforeAll(async () => {
    db = await createTestDatabase('collection');
    vhost = await createTestVhost('collection');
    agency = await startCollectionSimulator({ apiKey: API_KEY });
    infra = await openInfrastructure(loadConfig('settlement', 0, { DATABASE_URL: db.url, AMQP_URL: vhost.url }));
    infra.clock = clock;
    payments = await startPayments(infra, { overdueIntervalMs: 0, dunningRules: RULES, collectionAgency: { url: agency.url, apiKey: API_KEY } });
  });

  afterAll(async () => {
    await payments?.stop();
    await infra?.close();
    await agency?.stop();
    await vhost?.drop();
    await db?.drop();
  });

  it('opens one case for the customer’s claims after the last reminder’s deadline, and nothing before', async () => {
    await issueInvoice(invoices[0]!, '800.00');
    await issueInvoice(invoices[1]!, '450.50');
    expect(await receivable(invoices[1]!)).toBeDefined();
    clock.set('2026-11-20T08:00:00Z');
    await payments.checkOverdue();
    expect((await payments.sendReminders())?.map((r) => r.number)).toEqual([1, 1]);
    expect(await payments.collect()).toEqual({ handedOver: 0, refused: 0, failed: 0, agencyEvents: 0 });
    // The deadline has not passed: no case, no call.
    clock.set('2026-11-30T08:00:00Z');
    expect(await payments.sendReminders()).toEqual([]);
    expect(agency.control.stats().requests).toBeGreaterThanOrEqual(1); // the (empty) feed was read; no case was posted
    expect(agency.control.cases()).toEqual([]);

    clock.set('2026-12-10T08:00:00Z');
    // The agency is down at first: the case is recorded, the handoff fails and waits; nothing is lost.
    agency.control.setFaults({ unavailable: 1 });
    expect(await payments.sendReminders()).toEqual([]);
    const { rows } = await infra.pool.query<{ case_id: string; state: string; total: string }>(`SELECT case_id::text, state, total::text FROM settlement.collection_cases`);
    expect(rows).toEqual([{ case_id: expect.any(String), state: 'opened', total: '1450.50' }]);
    const caseId = rows[0]!.case_id;
    expect((await receivable(invoices[0]!))?.collection_case_id).toBe(caseId);
    const opened = (await events(collectionCaseStreamId(caseId)))[0]!;
    expect(opened).toMatchObject({ type: 'CollectionCaseOpened', data: { caseId, customerId, total: '1450.50', openedOn: '2026-12-10' } });
    expect((opened.data as { claims: { invoiceId: string; fees: string; amount: string; reference: string }[] }).claims.map((c) => [c.invoiceId, c.fees, c.amount, c.reference]).sort()).toEqual(
      [
        [invoices[0]!, '100.00', '900.00', paymentReference(invoices[0]!)],
        [invoices[1]!, '100.00', '550.50', paymentReference(invoices[1]!)],
      ].sort(),
    );
    // A second pass does not open it again, and the dunning pass leaves the claims alone.
    expect(await payments.sendReminders()).toEqual([]);
    expect((await infra.pool.query(`SELECT 1 FROM settlement.collection_cases`)).rowCount).toBe(1);

    expect(await payments.collect()).toMatchObject({ handedOver: 0, failed: 1 });
    const waiting = (await infra.pool.query<{ state: string; attempts: number; last_error: string }>(`SELECT state, attempts, last_error FROM settlement.collection_cases`)).rows[0]!;
    expect(waiting).toMatchObject({ state: 'opened', attempts: 1, last_error: 'collection agency answered HTTP 503' });
    expect(agency.control.cases()).toEqual([]);

    // Later it is handed over, once, with the agency's reference recorded as an event.
    clock.set('2026-12-10T09:00:00Z');
    expect(await payments.collect()).toMatchObject({ handedOver: 1, failed: 0 });
    expect(agency.control.cases()).toEqual([expect.objectContaining({ creditorCaseId: caseId, customerId, total: '1450.50', caseReference: 'INK-000001' })]);
    expect((await events(collectionCaseStreamId(caseId))).map((e) => e.type)).toEqual(['CollectionCaseOpened', 'CollectionCaseHandedOver']);
    expect(await payments.collect()).toMatchObject({ handedOver: 0 });
    expect(agency.control.cases()).toHaveLength(1);
  });

  it('records what the agency collected on the claims, oldest first (payment.received on each invoice), write-offs (spread the same way onto the receivables) and closure as events', async () => {
    const caseId = (await infra.pool.query<{ case_id: string }>(`SELECT case_id::text FROM settlement.collection_cases`)).rows[0]!.case_id;
    const claims = ((await events(collectionCaseStreamId(caseId)))[0]!.data as { claims: { invoiceId: string; amount: string }[] }).claims;
    const first = claims[0]!;
    const second = claims[1]!;
    const owed = async (invoiceId: string) =>
      (
        await infra.pool.query<{ written_off: string; owed: string; overdue: boolean }>(
          `SELECT written_off::text, (amount_due + notes + fees + interest - paid - written_off)::text AS owed, overdue_at IS NOT NULL AS overdue FROM settlement.receivables WHERE invoice_id = $1`,
          [invoiceId],
        )
      ).rows[0];
    // The agency collects 1000.00 (the first claim, then part of the second) and writes off part of the rest.
    agency.control.collect('INK-000001', '1000.00', '2027-01-15');
    agency.control.writeOff('INK-000001', '200.00', '2027-01-20', 'partly without means');
    expect(await payments.collect()).toMatchObject({ agencyEvents: 2 });
    await applyPaymentsFromStore();
    // A partial write-off goes on the oldest claim with something left (the second) and leaves the rest open.
    expect(await owed(first.invoiceId)).toEqual({ written_off: '0.00', owed: '0.00', overdue: true });
    expect(await owed(second.invoiceId)).toEqual({ written_off: '200.00', owed: '250.50', overdue: true });
    clock.set('2027-01-21T08:00:00Z');
    expect(await payments.checkOverdue()).toEqual([]);
    expect((await owed(second.invoiceId))?.overdue).toBe(true);

    // The write-off of the whole remaining amount: nothing is owed, the claim is no longer overdue and gets no reminder.
    agency.control.writeOff('INK-000001', '250.50', '2027-02-01', 'debtor without means');
    agency.control.close('INK-000001', '2027-02-01');
    expect(await payments.collect()).toMatchObject({ agencyEvents: 2 });
    expect(await payments.collect()).toMatchObject({ agencyEvents: 0 });
    expect(await owed(second.invoiceId)).toEqual({ written_off: '450.50', owed: '0.00', overdue: false });
    clock.set('2027-02-15T08:00:00Z');
    expect(await payments.checkOverdue()).toEqual([]);
    expect(await payments.sendReminders()).toEqual([]);
    expect(await owed(second.invoiceId)).toEqual({ written_off: '450.50', owed: '0.00', overdue: false });
    expect((await receivable(second.invoiceId))?.reminders_sent).toBe(1);
    expect((await events(invoiceStreamId(second.invoiceId))).filter((e) => e.type === 'PaymentOverdue')).toHaveLength(1);

    expect((await events(collectionCaseStreamId(caseId))).map((e) => e.type)).toEqual([
      'CollectionCaseOpened',
      'CollectionCaseHandedOver',
      'CollectionPaymentReceived',
      'CollectionWrittenOff',
      'CollectionWrittenOff',
      'CollectionCaseClosed',
    ]);
    const rest = (1000 * 100 - Math.round(Number(first.amount) * 100)) / 100;
    expect((await receivable(first.invoiceId))?.paid).toBe(first.amount);
    expect((await receivable(second.invoiceId))?.paid).toBe(rest.toFixed(2));
    const received = await infra.pool.query<{ amount: string; invoice: string }>(
      `SELECT data->>'amount' AS amount, data->>'invoiceId' AS invoice, data->>'method' AS method FROM event_store.events WHERE type = 'PaymentReceived' ORDER BY global_position`,
    );
    expect(received.rows).toEqual([
      { amount: first.amount, invoice: first.invoiceId, method: 'debt-collection' },
      { amount: rest.toFixed(2), invoice: second.invoiceId, method: 'debt-collection' },
    ]);
    const written = (await events(collectionCaseStreamId(caseId))).filter((e) => e.type === 'CollectionWrittenOff')[1]!;
    expect(written.data).toMatchObject({ customerId, amount: '250.50', writtenOffOn: '2027-02-01', reason: 'debtor without means', agencyReference: 'INK-000001' });
    const recorded = (await infra.eventStore.readStream(collectionCaseStreamId(caseId))).find((e) => e.type === 'CollectionWrittenOff')!;
    expect(routingKeyFor(recorded)).toBe('collection.written_off'); // public: ERP books the loss
    const schema = JSON.parse(readFileSync(join(__dirname, '../../../../docs/events/collection.written_off.v1.schema.json'), 'utf8')) as JsonSchema;
    expect(checkJsonSchema(schema, JSON.parse(JSON.stringify(toEnvelope(recorded))))).toEqual([]);
    expect((await infra.pool.query<{ state: string }>(`SELECT state FROM settlement.collection_cases`)).rows[0]!.state).toBe('closed');
  });

  it('announces that a customer has paid up (for the BRS-002 withdrawal) only when nothing overdue is left, once per payment', async () => {
    const other = '00000000-0000-4000-8000-000000000043';
    const [a, b] = [randomUUID(), randomUUID()];
    const issueFor = (invoiceId: string, amount: string) => issueInvoiceOf(other, invoiceId, amount);
    await issueFor(a, '100.00');
    await issueFor(b, '200.00');
    await infra.pool.query(`UPDATE settlement.receivables SET overdue_at = now(), fees = 100.00 WHERE invoice_id = ANY($1::uuid[])`, [[a, b]]);
    const pay = async (invoiceId: string, amount: string, paymentId: string) => {
      await infra.pool.query(`UPDATE settlement.receivables SET paid = paid + $2::numeric WHERE invoice_id = $1`, [invoiceId, amount]);
      return announceClaimsSettled({ store: infra.eventStore, db: infra.pool }, { paymentId, invoiceId, paidAt: '2027-03-01T10:00:00Z' }, { correlationId: paymentId, causationId: paymentId });
    };
    expect(await pay(a, '200.00', 'p-1')).toBeNull(); // b is still owed
    expect(await pay(b, '250.00', 'p-2')).toBeNull(); // b's fee is not paid yet
    expect(await pay(b, '50.00', 'p-3')).toEqual({ customerId: other, paymentId: 'p-3', settledOn: '2027-03-01' });
    expect(await announceClaimsSettled({ store: infra.eventStore, db: infra.pool }, { paymentId: 'p-3', invoiceId: b, paidAt: '2027-03-01T10:00:00Z' }, { correlationId: 'p-3', causationId: 'p-3' })).not.toBeNull();
    expect((await events(`customer-claims-${other}`)).map((e) => e.data)).toEqual([{ customerId: other, paymentId: 'p-3', settledOn: '2027-03-01' }]);
  });
});
