import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventMetadata, JsonObject, RecordedEvent } from '@dh/event-store';
import { parseEnvelope, PUBLIC_EVENT_ROUTING_KEYS, serializeEnvelope, toEnvelope, type EventEnvelope } from '@dh/messaging';
import { Money, vatOf } from '@dh/money';
import {
  PUBLIC_EVENT_SCHEMAS,
  type CustomerActivatedData,
  type CustomerOffboardedData,
  type CustomerUpdatedData,
  type ProcessStatusChangedData,
} from '@dh/portfolio-domain';
import {
  invoiceIdOf,
  invoiceStreamId,
  lineToJson,
  noteIdOf,
  paymentReference,
  periodLabel,
  reminderIdOf,
  runStreamId,
  SETTLEMENT_COMPLETED_SCHEMA_VERSION,
  toJsonObject,
  totalsToJson,
  type CorrectionLineJson,
  type SettlementCompleted,
  type CollectionWrittenOff,
  type ReminderSent,
  type SettlementCorrectionIssued,
} from '@dh/settlement-application';
import type { BillingPeriod, InvoiceLine } from '@dh/settlement-domain';
import { findingStreamId, reconciliationStreamId, type ReconciliationCompleted } from '@dh/reconciliation-application';
import { decideFinding, initialFinding } from '@dh/reconciliation-domain';
import { checkJsonSchema, type JsonSchema } from '@dh/webhooks';

const DOCS = join(__dirname, '../../../../docs/events');

/** Current schema version per routing key (1 unless bumped by a breaking change). */
const SCHEMA_VERSIONS: Record<string, number> = { 'settlement.completed': SETTLEMENT_COMPLETED_SCHEMA_VERSION };

function schemaFile(routingKey: string, version = SCHEMA_VERSIONS[routingKey] ?? 1): string {
  return join(DOCS, `${routingKey}.v${version}.schema.json`);
}

function loadSchema(routingKey: string): { [key: string]: unknown } {
  return JSON.parse(readFileSync(schemaFile(routingKey), 'utf8')) as { [key: string]: unknown };
}

const GSRN = '571313180400000028';
const CUSTOMER = 'c0a80164-3b2f-4d6e-9a51-7e1f2d3c4b5a';

function recorded(type: string, streamId: string, data: JsonObject, overrides: Partial<EventMetadata> = {}): RecordedEvent {
  return {
    eventId: randomUUID(),
    type,
    streamId,
    streamRevision: 3n,
    globalPosition: 18_446_744_073_709_551_000n, // beyond 2^53: must still be a decimal string
    checkpoint: '42/18446744073709551000',
    occurredAt: new Date('2026-03-01T08:15:00.000Z'),
    recordedAt: new Date('2026-03-01T08:15:00.123Z'),
    data,
    metadata: { correlationId: randomUUID(), causationId: randomUUID(), actor: 'portfolio.process-manager', schemaVersion: 1, context: 'portfolio', ...overrides },
  };
}

/** As a subscriber receives it: through the relay's serialisation and the consumers' parser. */
function delivered(event: RecordedEvent): EventEnvelope {
  return parseEnvelope(serializeEnvelope(toEnvelope(event)));
}

const period: BillingPeriod = { kind: 'month', year: 2026, month: 2 };
const invoiceId = invoiceIdOf(GSRN, period, CUSTOMER);

function line(kind: InvoiceLine['kind'], amount: string, quantityKwh: string | null, unitPrice: string | null, month: string | null = null): InvoiceLine {
  const exclVat = Money.parse(amount);
  const vat = vatOf(exclVat);
  return {
    key: month === null ? kind : `${kind}:${month}`,
    kind,
    description: kind,
    chargeId: kind === 'grid-tariff' ? '40000' : null,
    month,
    quantityKwh,
    daysSupplied: month === null ? null : 28,
    daysInMonth: month === null ? null : 28,
    unitPrice,
    amountExclVat: exclVat,
    vat,
    amountInclVat: exclVat.add(vat),
    estimated: false,
  };
}

function examples(): Record<string, RecordedEvent> {
  const activated: CustomerActivatedData = { customerId: CUSTOMER, gsrn: GSRN, effectiveDate: '2026-03-01' };
  const offboarded: CustomerOffboardedData = { customerId: CUSTOMER, gsrn: GSRN, endDate: '2026-06-01', reason: 'switched-away' };
  const updated: CustomerUpdatedData = { customerId: CUSTOMER, changed: ['email', 'street', 'postcode', 'city'], source: 'portal', changedAt: '2026-03-01T08:15:00.000Z' };
  const statusChanged: ProcessStatusChangedData = { processId: randomUUID(), kind: 'change-of-supplier', from: 'pending', to: 'active', at: '2026-03-01T08:15:00.000Z' };
  const started: ProcessStatusChangedData = { processId: randomUUID(), kind: 'move-in', from: null, to: 'created', at: '2026-02-10T09:00:00.000Z' };
  const completed: SettlementCompleted = {
    runId: randomUUID(),
    period,
    periodLabel: periodLabel(period),
    items: 2,
    invoiced: 1,
    halted: 1,
  };
  const lines = [line('energy', '412.37', '512.345', null), line('grid-tariff', '98.10', '512.345', null), line('product-subscription', '29.00', null, '29.00', '2026-02')];
  const corrected = [line('energy', '430.00', '530.000', null), ...lines.slice(1)];
  const diff: CorrectionLineJson = { key: 'energy', kind: 'energy', month: null, description: 'energy', chargeId: null, quantityKwh: '17.655', daysSupplied: null, amountExclVat: '17.63', vat: '4.41', amountInclVat: '22.04' };
  const correction: SettlementCorrectionIssued = {
    noteId: noteIdOf(randomUUID(), invoiceId),
    invoiceId,
    customerId: CUSTOMER,
    gsrn: GSRN,
    periodLabel: periodLabel(period),
    noteType: 'debit',
    cause: 'metered-data',
    lines: [diff],
    totals: totalsToJson({ exclVat: Money.parse('17.63'), vat: Money.parse('4.41'), inclVat: Money.parse('22.04') }),
    correctedInvoice: {
      lines: corrected.map(lineToJson),
      totals: totalsToJson({ exclVat: Money.parse('557.10'), vat: Money.parse('139.28'), inclVat: Money.parse('696.38') }),
      asOf: '2026-03-20T10:00:00.000Z',
    },
  };
  const settlement = { actor: 'settlement', context: 'settlement' };
  const payments = { actor: 'datahub-integration.payments', context: 'payments' };
  const reminder: ReminderSent = {
    reminderId: reminderIdOf(invoiceId, 1),
    invoiceId,
    invoiceKind: 'invoice',
    customerId: CUSTOMER,
    number: 1,
    sentOn: '2026-03-23',
    dueDate: '2026-03-20',
    deadline: '2026-04-07',
    principal: '696.38',
    fee: '100.00',
    interest: '0.56',
    interestFrom: '2026-03-20',
    interestThrough: '2026-03-23',
    annualInterestRatesPercent: ['9.75'],
    amountDue: '796.94',
    paymentReference: paymentReference(invoiceId),
    warnsOfCollection: false,
  };
  return {
    CustomerActivated: recorded('CustomerActivated', `customer-${CUSTOMER}`, toJsonObject(activated)),
    CustomerOffboarded: recorded('CustomerOffboarded', `customer-${CUSTOMER}`, toJsonObject(offboarded)),
    CustomerUpdated: recorded('CustomerUpdated', `customer-${CUSTOMER}`, toJsonObject(updated), { actor: 'customer:' + CUSTOMER }),
    ProcessStatusChanged: recorded('ProcessStatusChanged', `process-${statusChanged.processId}`, toJsonObject(statusChanged)),
    ProcessStatusChangedStart: recorded('ProcessStatusChanged', `process-${started.processId}`, toJsonObject(started)),
    SettlementCompleted: recorded('SettlementCompleted', runStreamId(period), toJsonObject(completed), { ...settlement, schemaVersion: SETTLEMENT_COMPLETED_SCHEMA_VERSION }),
    SettlementCorrectionIssued: recorded('SettlementCorrectionIssued', invoiceStreamId(invoiceId), toJsonObject(correction), settlement),
    PaymentReceived: recorded(
      'PaymentReceived',
      'payment-pbs-2026-03-05-000123',
      { paymentId: 'pbs-2026-03-05-000123', customerId: CUSTOMER, invoiceId, amount: '696.38', paidAt: '2026-03-05T06:00:00.000Z', method: 'betalingsservice' },
      payments,
    ),
    PaymentReceivedUnmatched: recorded(
      'PaymentReceived',
      'payment-mp-77',
      { paymentId: 'mp-77', customerId: CUSTOMER, invoiceId: null, amount: '100.00', paidAt: '2026-03-06T12:30:00.000Z', method: 'mobilepay' },
      payments,
    ),
    PaymentReceivedByCollection: recorded(
      'PaymentReceived',
      `payment-collection-${CUSTOMER}-agency-7-${invoiceId}`,
      { paymentId: `collection-${CUSTOMER}-agency-7-${invoiceId}`, customerId: CUSTOMER, invoiceId, amount: '696.38', paidAt: '2026-06-01T12:00:00.000Z', method: 'debt-collection' },
      payments,
    ),
    CollectionWrittenOff: recorded(
      'CollectionWrittenOff',
      'collection-case-6f1c1a35-0000-4000-8000-00000000c001',
      toJsonObject({
        caseId: '6f1c1a35-0000-4000-8000-00000000c001',
        customerId: CUSTOMER,
        agencyReference: 'INK-000001',
        agencyEventId: 'agency-7',
        amount: '450.50',
        writtenOffOn: '2027-02-01',
        reason: 'debtor without means',
      } satisfies CollectionWrittenOff),
      payments,
    ),
    PaymentOverdue: recorded('PaymentOverdue', invoiceStreamId(invoiceId), { invoiceId, customerId: CUSTOMER, amountDue: '696.38', dueDate: '2026-03-20', daysOverdue: 8 }, payments),
    ReminderSent: recorded('ReminderSent', invoiceStreamId(invoiceId), toJsonObject(reminder), payments),
    PaymentReversed: recorded(
      'PaymentReversed',
      'payment-betalingsservice-000000000000123',
      {
        paymentId: 'betalingsservice-000000000000123',
        customerId: CUSTOMER,
        invoiceId,
        amount: '696.38',
        reason: 'charged-back',
        reversedOn: '2026-04-02',
        collectionReference: '000000000000123',
        fileName: 'BS0602-20260402.txt',
      },
      payments,
    ),
    BetalingsserviceAgreementRegistered: recorded(
      'BetalingsserviceAgreementRegistered',
      'betalingsservice-agreement-000000123456789',
      { customerNumber: '000000123456789', agreementNumber: '900001', startDate: '2026-03-01', source: '0603', customerId: CUSTOMER },
      payments,
    ),
    BetalingsserviceAgreementRegisteredByCrm: recorded(
      'BetalingsserviceAgreementRegistered',
      'betalingsservice-agreement-000000123456789',
      { customerNumber: '000000123456789', agreementNumber: '900001', startDate: null, source: 'crm', customerId: null },
      payments,
    ),
    BetalingsserviceAgreementCancelled: recorded(
      'BetalingsserviceAgreementCancelled',
      'betalingsservice-agreement-000000123456789',
      { customerNumber: '000000123456789', agreementNumber: '900001', endDate: '2026-06-30', reason: 'cancelled-by-customer' },
      payments,
    ),
    ...reconciliationExamples(),
  };
}

/** Reconciliation's public events as its run writes them (`runReconciliation`, the finding decider). */
function reconciliationExamples(): Record<string, RecordedEvent> {
  const runId = randomUUID();
  const reconciliation = { context: 'reconciliation', actor: 'reconciliation' };
  const completed: ReconciliationCompleted = {
    runId,
    gridArea: '804',
    period: '2026-10',
    energySupplierGln: '5799999933318',
    datahubEnergyResult: 'D04 v1',
    datahubWholesaleResult: 'D32/D01 v7',
    meteringPoints: 3,
    wholesale: { datahubAmount: '512.003117', ourAmount: '403.356164', difference: '108.646953', differingSlots: 1066 },
    energy: { datahubKwh: '1203.441', ourKwh: '960.578', difference: '242.863', differingSlots: 2112 },
    invoices: { invoicedAmount: '403.350000', roundingDifference: '-0.006164', chargesBeyondRounding: 0 },
    findings: { open: 0, explained: 2, resolved: 1, new: 2 },
    completedAt: '2026-11-03T13:00:01.000Z',
  };
  const decided = decideFinding(
    {
      type: 'Observe',
      runId,
      explainedBySystem: true,
      facts: {
        findingId: randomUUID(),
        gridArea: '804',
        period: '2026-10',
        kind: 'metering-point-not-supplied-by-us',
        meteringPoints: [GSRN],
        charges: ['5790001089030:D03:CD'],
        quantityDifference: '242.863',
        amountDifference: '108.646953',
        from: '2026-10-09T22:00:00.000Z',
        to: '2026-10-31T22:45:00.000Z',
        explanation: `DataHub settles ${GSRN} as ours but we supply it in no part of the period`,
        datahubResult: 'D05 v2',
      },
    },
    initialFinding,
  )[0]!;
  return {
    ReconciliationCompleted: recorded('ReconciliationCompleted', reconciliationStreamId('804', '2026-10'), completed as unknown as JsonObject, reconciliation),
    DiscrepancyFound: recorded('DiscrepancyFound', findingStreamId(String(decided.data.findingId)), JSON.parse(JSON.stringify(decided.data)) as JsonObject, reconciliation),
  };
}

describe('public event schemas (docs/events)', () => {
  it('has a schema file (v1, or its current version) for every public routing key, naming the key and the event type', () => {
    for (const [type, key] of Object.entries(PUBLIC_EVENT_ROUTING_KEYS)) {
      expect(existsSync(schemaFile(key))).toBe(true);
      const schema = loadSchema(key);
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema['x-routing-key']).toBe(key);
      expect(schema['x-event-type']).toBe(type);
      expect((schema.properties as { type: unknown }).type).toEqual({ const: type });
    }
    const files = readdirSync(DOCS).filter((f) => f.endsWith('.schema.json'));
    expect(files.sort()).toEqual(Object.values(PUBLIC_EVENT_ROUTING_KEYS).map((k) => `${k}.v${SCHEMA_VERSIONS[k] ?? 1}.schema.json`).sort());
  });

  it('accepts real envelopes of every public event, as produced by toEnvelope and parsed by consumers', () => {
    for (const [name, event] of Object.entries(examples())) {
      const key = PUBLIC_EVENT_ROUTING_KEYS[event.type]!;
      const errors = checkJsonSchema(loadSchema(key) as JsonSchema, delivered(event));
      expect({ name, errors }).toEqual({ name, errors: [] });
    }
  });

  it('refuses envelopes that break the contract', () => {
    const ex = examples();
    const check = (key: string, value: unknown) => checkJsonSchema(loadSchema(key) as JsonSchema, value);
    const activated = delivered(ex.CustomerActivated!);
    const { eventId: _eventId, ...withoutId } = activated;
    expect(check('customer.activated', withoutId)).toEqual(['$: missing eventId']);
    expect(check('customer.activated', { ...activated, type: 'CustomerOffboarded' })).toEqual(['$.type: must equal "CustomerActivated"']);
    expect(check('customer.activated', { ...activated, globalPosition: 17 })).toEqual(['$.globalPosition: must be of type string']);
    expect(check('customer.activated', { ...activated, data: { ...activated.data, gsrn: '5713' } })).toEqual(['$.data.gsrn: does not match ^\\d{18}$']);
    expect(check('customer.activated', { ...activated, data: { ...activated.data, extra: 1 } })).toEqual(['$.data: unexpected property extra']);
    expect(check('customer.activated', { ...activated, metadata: { ...activated.metadata, schemaVersion: 2 } })).toEqual(['$.metadata.schemaVersion: must equal 1']);
    const updated = delivered(ex.CustomerUpdated!);
    expect(check('customer.updated', { ...updated, data: { ...updated.data, email: 'anna@new.dk' } })).toEqual(['$.data: unexpected property email']);
    expect(check('customer.updated', { ...updated, data: { ...updated.data, changed: [] } })).toHaveLength(1);
    expect(check('customer.updated', { ...updated, data: { ...updated.data, changed: ['personalData'] } })).toHaveLength(1);
    const paid = delivered(ex.PaymentReceived!);
    expect(check('payment.received', { ...paid, data: { ...paid.data, amount: 696.38 } })).toEqual(['$.data.amount: must be of type string']);
    expect(check('payment.received', { ...paid, data: { ...paid.data, amount: '696.4' } })).toHaveLength(1);
    expect(check('payment.received', { ...paid, data: { ...paid.data, method: 'cash' } })).toHaveLength(1);
    const writtenOff = delivered(ex.CollectionWrittenOff!);
    expect(check('collection.written_off', { ...writtenOff, data: { ...writtenOff.data, amount: '450.5' } })).toHaveLength(1);
    expect(check('collection.written_off', { ...writtenOff, data: { ...writtenOff.data, invoiceId: 'x' } })).toEqual(['$.data: unexpected property invoiceId']);
    const reversed = delivered(ex.PaymentReversed!);
    expect(check('payment.reversed', { ...reversed, data: { ...reversed.data, reason: 'rejected' } })).toHaveLength(1);
    expect(check('payment.reversed', { ...reversed, data: { ...reversed.data, amount: '-696.38' } })).toHaveLength(1);
    const agreement = delivered(ex.BetalingsserviceAgreementRegistered!);
    expect(check('betalingsservice.agreement_registered', { ...agreement, data: { ...agreement.data, customerNumber: '123' } })).toHaveLength(1);
    const run = delivered(ex.SettlementCompleted!);
    expect(check('settlement.completed', { ...run, data: { ...run.data, period: { kind: 'month', year: 2026, quarter: 1 } } }).join()).toMatch(/exactly one schema of oneOf, matched 0/);
    const note = delivered(ex.SettlementCorrectionIssued!);
    expect(check('settlement.correction', { ...note, data: { ...note.data, noteType: 'none' } })).toHaveLength(1);
    // The note's causes (additive metadata): a list of event ids, when present.
    expect(check('settlement.correction', { ...note, metadata: { ...note.metadata, causationIds: [note.metadata.causationId, randomUUID()] } })).toEqual([]);
    expect(check('settlement.correction', { ...note, metadata: { ...note.metadata, causationIds: [] } })).toHaveLength(1);
    expect(check('settlement.correction', { ...note, metadata: { ...note.metadata, causationIds: 'x' } })).toHaveLength(1);
  });

  it('keeps the data of the portfolio events identical to the portfolio domain schemas', () => {
    const strip = (s: object): object => {
      const { $schema: _a, $id: _b, title: _c, description: _d, version: _e, ...rest } = s as Record<string, unknown>;
      return rest;
    };
    for (const [type, domainSchema] of Object.entries(PUBLIC_EVENT_SCHEMAS)) {
      const docs = loadSchema(PUBLIC_EVENT_ROUTING_KEYS[type]!) as { $defs: { data: object } };
      expect(strip(docs.$defs.data)).toEqual(JSON.parse(JSON.stringify(strip(domainSchema))));
    }
  });
});
