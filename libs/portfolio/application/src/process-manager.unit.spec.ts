import { createHash } from 'node:crypto';
import { createInMemoryEventStore, type InMemoryEventStore, type JsonObject, type RecordedEvent } from '@dh/event-store';
import { DomainRuleViolation } from '@dh/portfolio-domain';
import { createCustomer, type CommandContext, type PersonalDataProtector } from './create-customer';
import { getCustomerIdentityForDataHub, type PersonalDataReader } from './customer-identity';
import { EffectiveDateScheduler } from './effective-date-scheduler';
import { InMemoryProcessIndex, PROCESS_ANOMALY_RECORDED, PROCESS_MANAGER_BINDINGS, ProcessManager, validityDateOf, type TriggerEvent } from './process-manager';
import { cancelProcess, getProcess, requestEndOfSupply, requestIncorrectSwitch, requestMoveIn, requestMoveOut, requestSwitch, type SupplyRequest } from './processes';
import { registerMeteringPoint } from './register-metering-point';

const GSRN = '571313174115550012';
const OTHER_GSRN = '571313174115550029';

/** Reversible stand-in for the PiiVault: enough to see that nothing personal is in clear. */
class FakeVault implements PersonalDataProtector, PersonalDataReader {
  async encrypt(subjectId: string, value: Record<string, string | null>): Promise<string> {
    return `sealed:${Buffer.from(JSON.stringify({ subjectId, value })).toString('base64')}`;
  }
  async decrypt(subjectId: string, sealed: string): Promise<Record<string, string | null>> {
    const opened = JSON.parse(Buffer.from(sealed.slice('sealed:'.length), 'base64').toString('utf8')) as { subjectId: string; value: Record<string, string | null> };
    if (opened.subjectId !== subjectId) throw new Error('wrong subject');
    return opened.value;
  }
  readonly identities = new Map<string, string>();
  async registerIdentity(subjectId: string, identity: string): Promise<void> {
    this.identities.set(subjectId, createHash('sha256').update(`test-key:${identity}`).digest('hex'));
  }
  readonly searchTerms = new Map<string, readonly string[]>();
  async registerSearchTerms(subjectId: string, kind: string, terms: readonly string[]): Promise<void> {
    this.searchTerms.set(`${subjectId}:${kind}`, terms);
  }
}

const matches = (pattern: string, key: string): boolean => pattern === key;

/** Relay + inbox consumer in memory: feeds the store's new events, in order, to the process manager once each. */
class Harness {
  readonly store: InMemoryEventStore = createInMemoryEventStore();
  readonly vault = new FakeVault();
  readonly index = new InMemoryProcessIndex();
  private nowValue = new Date('2026-03-02T10:00:00Z');
  readonly manager = new ProcessManager({
    store: this.store,
    protector: this.vault,
    clock: () => this.nowValue,
    defaultProductId: 'standard',
    priceAreaOf: (gridArea) => (gridArea === '791' ? 'DK2' : gridArea === '804' ? 'DK1' : null),
  });
  readonly scheduler = new EffectiveDateScheduler({ manager: this.manager, awaiting: this.index, index: this.index, clock: () => this.nowValue });
  private checkpoint: string | null = null;
  private readonly inbox = new Set<string>();
  private documentNo = 0;

  setNow(iso: string): void {
    this.nowValue = new Date(iso);
  }

  context(idempotencyKey?: string): CommandContext {
    return { correlationId: 'corr-1', causationId: null, actor: 'test', idempotencyKey, now: this.nowValue };
  }

  static routingKey(event: RecordedEvent): string {
    const name = event.type.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
    return `${event.metadata.context}.${name}`;
  }

  async pump(): Promise<void> {
    for (;;) {
      const events = await this.store.readAll({ after: this.checkpoint });
      if (events.length === 0) return;
      for (const event of events) {
        this.checkpoint = event.checkpoint;
        if (!PROCESS_MANAGER_BINDINGS.some((b) => matches(b, Harness.routingKey(event)))) continue;
        if (this.inbox.has(event.eventId)) continue;
        await this.manager.handle(trigger(event), this.index);
        this.inbox.add(event.eventId);
      }
    }
  }

  /** As datahub-integration would: one event on the document's stream, context `datahub`. */
  async datahub(type: string, data: JsonObject): Promise<RecordedEvent> {
    this.documentNo++;
    const streamId = `datahub-document-doc-${this.documentNo}`;
    await this.store.appendToStream(
      streamId,
      [{ eventId: `00000000-0000-4000-8000-${String(this.documentNo).padStart(12, '0')}`, type, data, metadata: { correlationId: 'dh', causationId: null, actor: 'datahub-integration', schemaVersion: 1, context: 'datahub' }, occurredAt: this.nowValue }],
      { expectedRevision: 'no_stream' },
    );
    const [recorded] = await this.store.readStream(streamId);
    await this.pump();
    return recorded;
  }

  /** One scheduler pass, then the bus delivers what it appended. */
  async tick(): Promise<Awaited<ReturnType<EffectiveDateScheduler['tick']>>> {
    const result = await this.scheduler.tick();
    await this.pump();
    return result;
  }

  async all(): Promise<RecordedEvent[]> {
    return this.store.readAll();
  }

  async ofType(type: string): Promise<RecordedEvent[]> {
    return (await this.all()).filter((e) => e.type === type);
  }
}

const trigger = (e: RecordedEvent): TriggerEvent => ({ eventId: e.eventId, type: e.type, data: e.data, metadata: e.metadata });

const masterData = { type: 'E17' as const, settlementMethod: 'D01' as const, gridArea: '804', priceArea: 'DK1' as const, linkedProductionGsrn: null, source: 'eloverblik' as const };

async function customerAndPoint(h: Harness): Promise<string> {
  const { customerId } = await createCustomer(
    { store: h.store, protector: h.vault },
    { name: 'Anna Jensen', email: 'anna@example.dk', customerType: 'private', cpr: '0101901234' },
    h.context('customer-1'),
  );
  await registerMeteringPoint({ store: h.store }, { gsrn: GSRN, ...masterData }, h.context());
  return customerId;
}

const switchRequest = (customerId: string, effectiveDate = '2026-03-03'): SupplyRequest => ({
  customerId,
  gsrn: GSRN,
  effectiveDate,
  supplyTerms: { productId: 'green-spot', billingFrequency: 'quarterly', paymentModel: 'aconto' },
});

async function refusalOf(work: Promise<unknown>): Promise<DomainRuleViolation> {
  const outcome = await work.then(
    () => null,
    (error: unknown) => error,
  );
  if (!(outcome instanceof DomainRuleViolation)) throw new Error(`expected a DomainRuleViolation, got ${String(outcome)}`);
  return outcome;
}

/** The switch sent and accepted; returns the process id. */
async function acceptedSwitch(h: Harness, customerId: string): Promise<string> {
  const { processId } = await requestSwitch({ store: h.store }, switchRequest(customerId), h.context('switch-1'));
  await h.pump();
  await h.datahub('DataHubRequestSent', { processId, action: 'change-of-supplier', documentId: 'rsm001-1', transactionId: processId, gsrn: GSRN, sentAt: '2026-03-02T10:00:01Z' });
  await h.datahub('DataHubAnswerReceived', {
    documentId: 'rsm009-1',
    documentName: 'ConfirmRequestChangeOfSupplier_MarketDocument',
    accepted: true,
    originalTransactionId: processId,
    gsrn: GSRN,
    effectiveDate: '2026-03-02T23:00:00Z',
    reasons: [],
    processType: 'E03',
  });
  return processId;
}

const masterDataReceived = (documentId: string, processType: string, originalTransactionId: string | null, gsrn = GSRN): JsonObject => ({
  documentId,
  gsrn,
  validityStart: '2026-03-02T23:00:00Z',
  meteringPointType: 'E17',
  settlementMethod: 'D01',
  gridArea: gsrn === GSRN ? '804' : '791',
  energySupplierGln: '5799999933318',
  supplyStart: '2026-03-02T23:00:00Z',
  originalTransactionId,
  processType,
});

describe('portfolio use cases', () => {
  it('RequestSwitch records the BRS-001 request with what datahub-integration needs and no personal data in clear', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const { processId } = await requestSwitch({ store: h.store }, switchRequest(customerId), h.context('switch-1'));
    expect(processId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const [requested] = await h.ofType('ChangeOfSupplierRequested');
    expect(requested.streamId).toBe(`process-${processId}`);
    expect(requested.data).toEqual({
      processId,
      gsrn: GSRN,
      customerId,
      effectiveDate: '2026-03-03',
      businessReason: 'E03',
      at: '2026-03-02T10:00:00.000Z',
      supplyTerms: { productId: 'green-spot', billingFrequency: 'quarterly', paymentModel: 'aconto' },
    });
    const everything = JSON.stringify((await h.all()).map((e) => e.data));
    expect(everything).not.toContain('Anna');
    expect(everything).not.toContain('0101901234');

    // A retry under the same key names the same case and appends nothing.
    const again = await requestSwitch({ store: h.store }, switchRequest(customerId), h.context('switch-1'));
    expect(again.processId).toBe(processId);
    expect(await h.ofType('ChangeOfSupplierRequested')).toHaveLength(1);
  });

  it('refuses a switch for an unknown customer, an unregistered metering point, or inside the lead time', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    expect((await refusalOf(requestSwitch({ store: h.store }, switchRequest('nobody'), h.context()))).code).toBe('unknown-customer');
    expect((await refusalOf(requestSwitch({ store: h.store }, { ...switchRequest(customerId), gsrn: OTHER_GSRN }, h.context()))).code).toBe('unknown-metering-point');
    expect((await refusalOf(requestSwitch({ store: h.store }, switchRequest(customerId, '2026-03-02'), h.context()))).code).toBe('lead-time');
    expect(await h.ofType('ChangeOfSupplierRequested')).toHaveLength(0);
  });

  it('RegisterMeteringPoint is idempotent', async () => {
    const h = new Harness();
    expect(await registerMeteringPoint({ store: h.store }, { gsrn: GSRN, ...masterData }, h.context())).toEqual({ gsrn: GSRN, alreadyRegistered: false });
    expect(await registerMeteringPoint({ store: h.store }, { gsrn: GSRN, ...masterData }, h.context())).toEqual({ gsrn: GSRN, alreadyRegistered: true });
    expect(await h.ofType('MeteringPointRegistered')).toHaveLength(1);
  });

  it('GetCustomerIdentityForDataHub opens the sealed name and CPR of the process’s customer', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const { processId } = await requestSwitch({ store: h.store }, switchRequest(customerId), h.context());
    expect(await getCustomerIdentityForDataHub({ store: h.store, reader: h.vault }, processId)).toEqual({ customerName: 'Anna Jensen', cpr: '0101901234', cvr: null });
    expect((await refusalOf(getCustomerIdentityForDataHub({ store: h.store, reader: h.vault }, 'no-such-process'))).code).toBe('unknown-process');
  });

  it('CancelProcess withdraws a created request without notifying DataHub', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const { processId } = await requestSwitch({ store: h.store }, switchRequest(customerId), h.context());
    expect(await cancelProcess({ store: h.store }, { processId, reason: 'customer-withdrew' }, h.context())).toEqual({ processId, status: 'cancelled' });
    const [cancelled] = await h.ofType('ProcessCancelled');
    expect(cancelled.data).toMatchObject({ processId, reason: 'customer-withdrew', notifyDataHub: false });
    const view = await getProcess({ store: h.store }, processId);
    expect(view.history).toEqual([
      { status: 'created', from: null, at: '2026-03-02T10:00:00.000Z' },
      { status: 'cancelled', from: 'created', at: '2026-03-02T10:00:00.000Z', reason: 'customer-withdrew' },
    ]);
  });
});

describe('process manager', () => {
  it('switch accepted, then effective: the supply starts with the product, the customer is activated, the history is complete', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const processId = await acceptedSwitch(h, customerId);
    expect((await getProcess({ store: h.store }, processId)).status).toBe('pending');

    h.setNow('2026-03-03T06:00:00Z');
    await h.datahub('MeteringPointMasterDataReceived', masterDataReceived('rsm022-1', 'E03', processId));
    await h.datahub('DataHubNotificationReceived', { documentId: 'rsm004-1', gsrn: GSRN, validityStart: '2026-03-02T23:00:00Z', originalTransactionId: processId, processType: 'E03' });

    const [started] = await h.ofType('SupplyStarted');
    expect(started.data).toEqual({
      gsrn: GSRN,
      processId,
      customerId,
      startDate: '2026-03-03',
      at: '2026-03-03T06:00:00.000Z',
      productId: 'green-spot',
      billingFrequency: 'quarterly',
      paymentModel: 'aconto',
      gridArea: '804',
      priceArea: 'DK1',
      electricHeating: false,
      productionGsrn: null,
    });
    expect((await h.ofType('CustomerActivated')).map((e) => e.data)).toEqual([{ customerId, gsrn: GSRN, effectiveDate: '2026-03-03' }]);
    expect(await h.ofType('MasterDataUpdated')).toHaveLength(1);
    const view = await getProcess({ store: h.store }, processId);
    expect(view).toMatchObject({ status: 'active', requestMessageId: 'rsm001-1', dataHubMessageId: 'rsm009-1' });
    expect(Array.isArray(view.history) && view.history.map((s) => (typeof s === 'object' && s !== null && !Array.isArray(s) ? s.status : null))).toEqual([
      'created',
      'requested',
      'pending',
      'active',
    ]);
    // The own-switch notification after activation is not mistaken for a switch away.
    expect(await h.ofType('SupplyEnded')).toHaveLength(0);
    expect(await h.ofType(PROCESS_ANOMALY_RECORDED)).toHaveLength(0);
  });

  it('redelivering every event (without the inbox) appends nothing new', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const processId = await acceptedSwitch(h, customerId);
    h.setNow('2026-03-03T06:00:00Z');
    await h.datahub('MeteringPointMasterDataReceived', masterDataReceived('rsm022-1', 'E03', processId));
    const before = await h.all();
    h.setNow('2026-03-04T06:00:00Z');
    for (const event of before) await h.manager.handle(trigger(event), h.index);
    expect((await h.all()).map((e) => e.eventId)).toEqual(before.map((e) => e.eventId));
  });

  it('a rejection moves the process to rejected with DataHub’s first reason', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const { processId } = await requestSwitch({ store: h.store }, switchRequest(customerId), h.context());
    await h.pump();
    await h.datahub('DataHubRequestSent', { processId, documentId: 'rsm001-1', transactionId: processId, sentAt: '2026-03-02T10:00:01Z' });
    await h.datahub('DataHubAnswerReceived', {
      documentId: 'rsm009-2',
      accepted: false,
      originalTransactionId: processId,
      gsrn: GSRN,
      effectiveDate: null,
      reasons: [
        { code: 'E16', text: 'Unauthorised supplier' },
        { code: 'D5', text: 'second' },
      ],
      processType: 'E03',
    });
    const view = await getProcess({ store: h.store }, processId);
    expect(view).toMatchObject({ status: 'rejected', rejection: { reasonCode: 'E16', reasonText: 'Unauthorised supplier' } });
    expect(Array.isArray(view.history) && view.history[view.history.length - 1]).toMatchObject({ status: 'rejected', reason: 'E16: Unauthorised supplier' });
  });

  it('a cancelled switch is not started by later master data, and DataHub’s acceptance of the cancellation is no anomaly', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const processId = await acceptedSwitch(h, customerId);
    await cancelProcess({ store: h.store }, { processId, reason: 'customer-withdrew' }, h.context());
    await h.pump();
    expect((await h.ofType('ProcessCancelled'))[0].data).toMatchObject({ notifyDataHub: true });
    await h.datahub('DataHubAnswerReceived', { documentId: 'rsm009-3', accepted: true, originalTransactionId: processId, gsrn: GSRN, reasons: [], processType: 'E03' });
    h.setNow('2026-03-03T06:00:00Z');
    await h.datahub('MeteringPointMasterDataReceived', masterDataReceived('rsm022-1', 'E03', null));
    expect(await h.ofType('SupplyStarted')).toHaveLength(0);
    expect(await h.ofType('CustomerActivated')).toHaveLength(0);
    expect(await h.ofType(PROCESS_ANOMALY_RECORDED)).toHaveLength(0);
    expect((await getProcess({ store: h.store }, processId)).status).toBe('cancelled');
  });

  it('a forced switch (D31) for a point we never asked for onboards a placeholder customer on the default product', async () => {
    const h = new Harness();
    h.setNow('2026-03-03T06:00:00Z');
    await h.datahub('DataHubNotificationReceived', { documentId: 'rsm004-9', gsrn: OTHER_GSRN, validityStart: '2026-03-02T23:00:00Z', originalTransactionId: null, processType: 'D31' });
    // The notification alone: the case and the customer exist, the supply waits for master data.
    expect(await h.ofType('ForcedSwitchReceived')).toHaveLength(1);
    expect(await h.ofType('SupplyStarted')).toHaveLength(0);
    await h.datahub('MeteringPointMasterDataReceived', masterDataReceived('rsm022-9', 'D31', null, OTHER_GSRN));

    const [received] = await h.ofType('ForcedSwitchReceived');
    const processId = String(received.data.processId);
    const [created] = await h.ofType('CustomerCreated');
    expect(created.data).toEqual({ customerId: expect.any(String), customerType: 'private', personalData: expect.any(String) });
    expect(String(created.data.personalData)).toMatch(/^sealed:/);
    expect(await h.ofType('CustomerReceivedByForcedSwitch')).toHaveLength(1);
    expect((await h.ofType('MeteringPointRegistered'))[0].data).toMatchObject({ gsrn: OTHER_GSRN, gridArea: '791', priceArea: 'DK2', source: 'datahub-rsm022' });
    expect((await h.ofType('SupplyStarted'))[0].data).toMatchObject({ gsrn: OTHER_GSRN, processId, startDate: '2026-03-03', productId: 'standard', priceArea: 'DK2' });
    expect((await h.ofType('CustomerActivated')).map((e) => e.data)).toEqual([{ customerId: created.data.customerId, gsrn: OTHER_GSRN, effectiveDate: '2026-03-03' }]);
    expect((await getProcess({ store: h.store }, processId)).status).toBe('active');
    expect(await h.ofType(PROCESS_ANOMALY_RECORDED)).toHaveLength(0);
  });

  it('another supplier taking over a point we supply ends the supply and offboards the customer (switched-away)', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const processId = await acceptedSwitch(h, customerId);
    h.setNow('2026-03-03T06:00:00Z');
    await h.datahub('MeteringPointMasterDataReceived', masterDataReceived('rsm022-1', 'E03', processId));
    h.setNow('2026-04-01T06:00:00Z');
    await h.datahub('DataHubNotificationReceived', { documentId: 'rsm004-2', gsrn: GSRN, validityStart: '2026-04-14T22:00:00Z', originalTransactionId: null, processType: 'E03' });
    expect((await h.ofType('SupplyEnded')).map((e) => e.data)).toMatchObject([{ gsrn: GSRN, processId, customerId, endDate: '2026-04-15', reason: 'switched-away' }]);
    expect((await h.ofType('CustomerOffboarded')).map((e) => e.data)).toEqual([{ customerId, gsrn: GSRN, endDate: '2026-04-15', reason: 'switched-away' }]);
  });

  it('a move-out that takes effect ends the supply, offboards the customer and completes the case', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const switchId = await acceptedSwitch(h, customerId);
    h.setNow('2026-03-03T06:00:00Z');
    await h.datahub('MeteringPointMasterDataReceived', masterDataReceived('rsm022-1', 'E03', switchId));
    h.setNow('2026-05-01T06:00:00Z');
    const { processId } = await requestMoveOut({ store: h.store }, { customerId, gsrn: GSRN, effectiveDate: '2026-05-10' }, h.context());
    await h.pump();
    await h.datahub('DataHubRequestSent', { processId, documentId: 'rsm-out', transactionId: processId, sentAt: '2026-05-01T06:00:01Z' });
    await h.datahub('DataHubAnswerReceived', { documentId: 'ans-out', accepted: true, originalTransactionId: processId, gsrn: GSRN, reasons: [], processType: 'E66' });
    h.setNow('2026-05-10T06:00:00Z');
    await h.datahub('DataHubNotificationReceived', { documentId: 'rsm004-out', gsrn: GSRN, validityStart: '2026-05-09T22:00:00Z', originalTransactionId: processId, processType: 'E66' });
    expect((await h.ofType('SupplyEnded')).map((e) => e.data)).toMatchObject([{ processId: switchId, endDate: '2026-05-10', reason: 'move-out' }]);
    expect((await h.ofType('CustomerOffboarded')).map((e) => e.data)).toEqual([{ customerId, gsrn: GSRN, endDate: '2026-05-10', reason: 'move-out' }]);
    expect((await getProcess({ store: h.store }, processId)).status).toBe('completed');
  });

  it('a move-in of another of our customers ends the previous customer\'s supply from its date (move-out) and starts the new one, with its own terms', async () => {
    const h = new Harness();
    const annaId = await customerAndPoint(h);
    const switchId = await acceptedSwitch(h, annaId);
    h.setNow('2026-03-03T06:00:00Z');
    await h.datahub('MeteringPointMasterDataReceived', masterDataReceived('rsm022-1', 'E03', switchId));
    const { customerId: boId } = await createCustomer({ store: h.store, protector: h.vault }, { name: 'Bo Berg', email: 'bo@example.dk', customerType: 'private', cpr: '0202851234' }, h.context('customer-2'));
    h.setNow('2026-03-10T09:00:00Z');
    const { processId } = await requestMoveIn(
      { store: h.store },
      { customerId: boId, gsrn: GSRN, effectiveDate: '2026-03-15', supplyTerms: { productId: 'green-spot', billingFrequency: 'monthly', paymentModel: 'actual', electricHeating: true } },
      h.context('move-in-1'),
    );
    await h.pump();
    await h.datahub('DataHubRequestSent', { processId, documentId: 'rsm001-in', transactionId: processId, sentAt: '2026-03-10T09:00:01Z' });
    await h.datahub('DataHubAnswerReceived', { documentId: 'ans-in', accepted: true, originalTransactionId: processId, gsrn: GSRN, reasons: [], processType: 'E65' });
    // DataHub sees the same supplier before and after: only the new customer's notification, on the date.
    h.setNow('2026-03-15T06:00:00Z');
    await h.datahub('DataHubNotificationReceived', { documentId: 'rsm004-in', gsrn: GSRN, validityStart: '2026-03-14T23:00:00Z', originalTransactionId: processId, processType: 'E65' });

    expect((await h.ofType('SupplyEnded')).map((e) => e.data)).toMatchObject([{ gsrn: GSRN, processId: switchId, customerId: annaId, endDate: '2026-03-15', reason: 'move-out' }]);
    expect((await h.ofType('CustomerOffboarded')).map((e) => e.data)).toEqual([{ customerId: annaId, gsrn: GSRN, endDate: '2026-03-15', reason: 'move-out' }]);
    expect((await h.ofType('SupplyStarted')).map((e) => e.data)).toMatchObject([
      { processId: switchId, customerId: annaId, startDate: '2026-03-03', productId: 'green-spot', electricHeating: false },
      { processId, customerId: boId, startDate: '2026-03-15', productId: 'green-spot', billingFrequency: 'monthly', electricHeating: true },
    ]);
    expect((await h.ofType('CustomerActivated')).map((e) => e.data)).toEqual([
      { customerId: annaId, gsrn: GSRN, effectiveDate: '2026-03-03' },
      { customerId: boId, gsrn: GSRN, effectiveDate: '2026-03-15' },
    ]);
    expect((await getProcess({ store: h.store }, processId)).status).toBe('active');
    expect(await h.ofType(PROCESS_ANOMALY_RECORDED)).toHaveLength(0);
  });

  it('a switch (not a move-in) onto a point another customer of ours is supplied on is still refused as an overlap', async () => {
    const h = new Harness();
    const annaId = await customerAndPoint(h);
    const switchId = await acceptedSwitch(h, annaId);
    h.setNow('2026-03-03T06:00:00Z');
    await h.datahub('MeteringPointMasterDataReceived', masterDataReceived('rsm022-1', 'E03', switchId));
    const { customerId: boId } = await createCustomer({ store: h.store, protector: h.vault }, { name: 'Bo Berg', email: 'bo@example.dk', customerType: 'private', cpr: '0202851234' }, h.context('customer-2'));
    const { processId } = await requestSwitch({ store: h.store }, { ...switchRequest(boId, '2026-03-15'), customerId: boId }, h.context('switch-2'));
    await h.pump();
    await h.datahub('DataHubRequestSent', { processId, documentId: 'rsm001-2', transactionId: processId, sentAt: '2026-03-03T06:00:01Z' });
    await h.datahub('DataHubAnswerReceived', { documentId: 'ans-2', accepted: true, originalTransactionId: processId, gsrn: GSRN, reasons: [], processType: 'E03' });
    h.setNow('2026-03-15T06:00:00Z');
    await h.datahub('DataHubNotificationReceived', { documentId: 'rsm004-2', gsrn: GSRN, validityStart: '2026-03-14T23:00:00Z', originalTransactionId: processId, processType: 'E03' });
    expect(await h.ofType('SupplyEnded')).toHaveLength(0);
    expect((await h.ofType(PROCESS_ANOMALY_RECORDED)).map((e) => e.data.code)).toEqual(['supply-overlap']);
  });

  it('an answer that overtakes our record of sending marks the request sent and is applied; the late record changes nothing', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const { processId } = await requestSwitch({ store: h.store }, switchRequest(customerId), h.context());
    await h.pump();
    const answer = await h.datahub('DataHubAnswerReceived', { documentId: 'rsm009-x', accepted: true, originalTransactionId: processId, gsrn: GSRN, reasons: [], processType: 'E03' });
    expect(await h.manager.handle(trigger(answer), h.index)).toMatchObject({ outcome: 'applied' });
    expect((await getProcess({ store: h.store }, processId)).status).toBe('pending');
    const lateRecord = await h.datahub('DataHubRequestSent', { processId, action: 'change-of-supplier', documentId: 'doc-late', transactionId: processId, gsrn: GSRN, sentAt: '2026-03-01T10:00:00Z' });
    expect(await h.manager.handle(trigger(lateRecord), h.index)).toMatchObject({ outcome: 'ignored' });
    const process = await getProcess({ store: h.store }, processId);
    expect(process.history).toEqual([expect.objectContaining({ status: 'created' }), expect.objectContaining({ status: 'requested' }), expect.objectContaining({ status: 'pending' })]);
    expect(await h.ofType(PROCESS_ANOMALY_RECORDED)).toHaveLength(0);
  });

  it('an illegal transition is recorded once as ProcessAnomalyRecorded instead of failing the consumer', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const { processId } = await requestSwitch({ store: h.store }, switchRequest(customerId), h.context());
    await h.pump();
    await h.datahub('DataHubAnswerReceived', { documentId: 'rsm009-no', accepted: false, originalTransactionId: processId, gsrn: GSRN, reasons: [{ code: 'D16', text: 'no' }], processType: 'E03' });
    // An acceptance of a process DataHub already rejected is refused by the process decider.
    const answer = await h.datahub('DataHubAnswerReceived', { documentId: 'rsm009-x', accepted: true, originalTransactionId: processId, gsrn: GSRN, reasons: [], processType: 'E03' });
    const reaction = await h.manager.handle(trigger(answer), h.index);
    expect(reaction).toMatchObject({ outcome: 'anomaly', code: 'illegal-transition' });
    const anomalies = await h.ofType(PROCESS_ANOMALY_RECORDED);
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0].data).toMatchObject({ triggerEventId: answer.eventId, triggerType: 'DataHubAnswerReceived', processId, code: 'illegal-transition' });
    expect((await getProcess({ store: h.store }, processId)).status).toBe('rejected');
  });

  it('master data before the effective date does not start the supply early; it awaits the date without an anomaly', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const processId = await acceptedSwitch(h, customerId);
    // Still 2026-03-02 in Copenhagen.
    await h.datahub('MeteringPointMasterDataReceived', masterDataReceived('rsm022-1', 'E03', processId));
    expect(await h.ofType('SupplyStarted')).toHaveLength(0);
    expect(await h.ofType(PROCESS_ANOMALY_RECORDED)).toHaveLength(0);
    expect(await h.ofType('MasterDataUpdated')).toHaveLength(1);
    expect(h.index.entries()).toMatchObject([{ processId, gsrn: GSRN, effectiveDate: '2026-03-03', doneAt: null }]);
    expect((await getProcess({ store: h.store }, processId)).status).toBe('pending');
  });

  it('reads validityStart as the Danish local day', () => {
    expect(validityDateOf('2026-03-02T23:00:00Z')).toBe('2026-03-03');
    expect(validityDateOf('2026-06-30T22:00:00Z')).toBe('2026-07-01');
    expect(validityDateOf('2026-07-01')).toBe('2026-07-01');
  });
});

/** A switch that has taken effect on 2026-03-03 (clock left at 2026-03-03T06:00Z); returns its process id. */
async function activeSwitch(h: Harness, customerId: string): Promise<string> {
  const processId = await acceptedSwitch(h, customerId);
  h.setNow('2026-03-03T06:00:00Z');
  await h.datahub('MeteringPointMasterDataReceived', masterDataReceived('rsm022-1', 'E03', processId));
  expect((await getProcess({ store: h.store }, processId)).status).toBe('active');
  return processId;
}

/** What datahub-integration records when it sends the request and DataHub confirms it. */
async function sentAndAccepted(h: Harness, processId: string, name: string, processType: string): Promise<void> {
  await h.pump();
  await h.datahub('DataHubRequestSent', { processId, documentId: `sent-${name}`, transactionId: processId, gsrn: GSRN, sentAt: h.context().now.toISOString() });
  await h.datahub('DataHubAnswerReceived', { documentId: `ans-${name}`, accepted: true, originalTransactionId: processId, gsrn: GSRN, reasons: [], processType });
}

const statuses = (view: { [key: string]: unknown }): unknown =>
  Array.isArray(view.history) ? view.history.map((s: unknown) => (typeof s === 'object' && s !== null && 'status' in s ? s.status : null)) : null;

describe('effective-date scheduler', () => {
  it('given master data before the effective date, when the clock reaches the date, then the switch takes effect once', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const processId = await acceptedSwitch(h, customerId);
    await h.datahub('MeteringPointMasterDataReceived', masterDataReceived('rsm022-1', 'E03', processId));

    // 23:59 on 2026-03-02 in Copenhagen: not yet.
    h.setNow('2026-03-02T22:59:00Z');
    expect(await h.tick()).toMatchObject({ today: '2026-03-02', due: 0, done: 0 });
    expect(await h.ofType('SupplyStarted')).toHaveLength(0);

    h.setNow('2026-03-02T23:00:05Z');
    expect(await h.tick()).toMatchObject({ today: '2026-03-03', due: 1, done: 1, retried: 0 });
    expect((await h.ofType('SupplyStarted')).map((e) => e.data)).toMatchObject([{ gsrn: GSRN, processId, customerId, startDate: '2026-03-03', productId: 'green-spot' }]);
    expect((await h.ofType('CustomerActivated')).map((e) => e.data)).toEqual([{ customerId, gsrn: GSRN, effectiveDate: '2026-03-03' }]);
    expect(statuses(await getProcess({ store: h.store }, processId))).toEqual(['created', 'requested', 'pending', 'active']);
    expect(h.index.entries()[0].doneAt).toEqual(new Date('2026-03-02T23:00:05Z'));

    // Idempotent: another tick, the late RSM-004 on the date, and the same trigger handled again append nothing.
    const before = (await h.all()).length;
    expect(await h.tick()).toMatchObject({ due: 0 });
    await h.datahub('DataHubNotificationReceived', { documentId: 'rsm004-1', gsrn: GSRN, validityStart: '2026-03-02T23:00:00Z', originalTransactionId: processId, processType: 'E03' });
    await h.index.awaitEffectiveDate({ ...h.index.entries()[0] });
    expect((await h.all()).length).toBe(before + 1); // only the notification's own document event
    expect(await h.ofType(PROCESS_ANOMALY_RECORDED)).toHaveLength(0);
  });

  it('runs the same commands again after a crash between the reaction and marking the entry done', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const processId = await acceptedSwitch(h, customerId);
    await h.datahub('MeteringPointMasterDataReceived', masterDataReceived('rsm022-1', 'E03', processId));
    h.setNow('2026-03-03T01:00:00Z');
    const done = h.index.done.bind(h.index);
    h.index.done = async () => {
      throw new Error('connection lost');
    };
    await expect(h.scheduler.tick()).rejects.toThrow('connection lost');
    const afterCrash = (await h.all()).map((e) => e.eventId);
    h.index.done = done;
    expect(await h.tick()).toMatchObject({ due: 1, done: 1 });
    expect((await h.all()).map((e) => e.eventId)).toEqual(afterCrash);
    expect(await h.ofType('SupplyStarted')).toHaveLength(1);
  });

  it('leaves an entry whose process was cancelled in the meantime, without an anomaly', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const processId = await acceptedSwitch(h, customerId);
    await h.datahub('MeteringPointMasterDataReceived', masterDataReceived('rsm022-1', 'E03', processId));
    await cancelProcess({ store: h.store }, { processId, reason: 'customer-withdrew' }, h.context());
    h.setNow('2026-03-03T01:00:00Z');
    expect(await h.tick()).toMatchObject({ due: 1, done: 1, reactions: [{ outcome: 'ignored' }] });
    expect(await h.ofType('SupplyStarted')).toHaveLength(0);
    expect(await h.ofType(PROCESS_ANOMALY_RECORDED)).toHaveLength(0);
  });
});

describe('ending a supply (BRS-002, BRS-010) and undoing a switch (BRS-003)', () => {
  it('BRS-002 end of supply: accepted, the notification comes early, on the date the supply ends with reason end-of-supply', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const switchId = await activeSwitch(h, customerId);
    h.setNow('2026-04-01T08:00:00Z');
    const { processId } = await requestEndOfSupply({ store: h.store }, { customerId, gsrn: GSRN, effectiveDate: '2026-04-15', endReason: 'non-payment' }, h.context('eos-1'));
    await sentAndAccepted(h, processId, 'eos', 'E20');
    expect((await h.ofType('EndOfSupplyRequested'))[0].data).toMatchObject({ processId, endReason: 'non-payment', businessReason: 'E20', effectiveDate: '2026-04-15' });
    await h.datahub('DataHubNotificationReceived', { documentId: 'rsm004-eos', gsrn: GSRN, validityStart: '2026-04-14T22:00:00Z', originalTransactionId: processId, processType: 'E20' });
    expect(await h.ofType('SupplyEnded')).toHaveLength(0);

    h.setNow('2026-04-14T22:00:01Z');
    await h.tick();
    expect((await h.ofType('SupplyEnded')).map((e) => e.data)).toMatchObject([{ processId: switchId, endDate: '2026-04-15', reason: 'end-of-supply' }]);
    expect((await h.ofType('CustomerOffboarded')).map((e) => e.data)).toEqual([{ customerId, gsrn: GSRN, endDate: '2026-04-15', reason: 'end-of-supply' }]);
    expect(statuses(await getProcess({ store: h.store }, processId))).toEqual(['created', 'requested', 'pending', 'active', 'completed']);
    expect(await h.ofType(PROCESS_ANOMALY_RECORDED)).toHaveLength(0);
  });

  it('BRS-002 refused outside 60 calendar days to 3 business days ahead', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    await activeSwitch(h, customerId);
    h.setNow('2026-04-01T08:00:00Z'); // Wednesday
    const ask = (effectiveDate: string) => requestEndOfSupply({ store: h.store }, { customerId, gsrn: GSRN, effectiveDate, endReason: 'non-payment' }, h.context());
    // Three business days before 2026-04-06 (Easter Monday) would be 2026-03-31: too late on 2026-04-01.
    expect((await refusalOf(ask('2026-04-06'))).code).toBe('lead-time');
    expect((await refusalOf(ask('2026-06-01'))).code).toBe('lead-time');
    await expect(ask('2026-04-10')).resolves.toEqual({ processId: expect.any(String) });
  });

  it('BRS-002 cancelled because the customer paid: RSM-002 is due (notifyDataHub), the supply goes on', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    await activeSwitch(h, customerId);
    h.setNow('2026-04-01T08:00:00Z');
    const { processId } = await requestEndOfSupply({ store: h.store }, { customerId, gsrn: GSRN, effectiveDate: '2026-04-15', endReason: 'non-payment' }, h.context());
    await sentAndAccepted(h, processId, 'eos', 'E20');
    h.setNow('2026-04-10T08:00:00Z');
    expect(await cancelProcess({ store: h.store }, { processId, reason: 'customer-paid' }, h.context())).toEqual({ processId, status: 'cancelled' });
    await h.pump();
    expect((await h.ofType('ProcessCancelled')).map((e) => e.data)).toEqual([{ processId, reason: 'customer-paid', notifyDataHub: true, at: '2026-04-10T08:00:00.000Z' }]);
    // DataHub confirms the RSM-002; its date passes without a stop of supply.
    await h.datahub('DataHubRequestSent', { processId, action: 'cancel', documentId: 'rsm002', transactionId: processId, gsrn: GSRN, sentAt: '2026-04-10T08:00:01Z' });
    await h.datahub('DataHubAnswerReceived', { documentId: 'ans-rsm002', accepted: true, processId, originalTransactionId: 'rsm002', gsrn: GSRN, reasons: [], processType: 'E20' });
    h.setNow('2026-04-15T08:00:00Z');
    await h.tick();
    expect(await h.ofType('SupplyEnded')).toHaveLength(0);
    expect(await h.ofType('CustomerOffboarded')).toHaveLength(0);
    expect((await getProcess({ store: h.store }, processId)).status).toBe('cancelled');
    expect(await h.ofType(PROCESS_ANOMALY_RECORDED)).toHaveLength(0);
  });

  it('BRS-002 cannot be cancelled on its effective date', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    await activeSwitch(h, customerId);
    h.setNow('2026-04-01T08:00:00Z');
    const { processId } = await requestEndOfSupply({ store: h.store }, { customerId, gsrn: GSRN, effectiveDate: '2026-04-15', endReason: 'non-payment' }, h.context());
    await sentAndAccepted(h, processId, 'eos', 'E20');
    h.setNow('2026-04-15T08:00:00Z');
    expect((await refusalOf(cancelProcess({ store: h.store }, { processId, reason: 'customer-paid' }, h.context()))).code).toBe('illegal-transition');
  });

  it('BRS-010 move-out whose notification arrives before the date ends the supply on the date (scheduler)', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    await activeSwitch(h, customerId);
    h.setNow('2026-05-01T06:00:00Z');
    const { processId } = await requestMoveOut({ store: h.store }, { customerId, gsrn: GSRN, effectiveDate: '2026-05-10' }, h.context());
    await sentAndAccepted(h, processId, 'out', 'E66');
    await h.datahub('DataHubNotificationReceived', { documentId: 'rsm004-out', gsrn: GSRN, validityStart: '2026-05-09T22:00:00Z', originalTransactionId: processId, processType: 'E66' });
    expect(await h.ofType('CustomerOffboarded')).toHaveLength(0);
    h.setNow('2026-05-10T00:30:00Z');
    await h.tick();
    expect((await h.ofType('CustomerOffboarded')).map((e) => e.data)).toEqual([{ customerId, gsrn: GSRN, endDate: '2026-05-10', reason: 'move-out' }]);
    expect((await getProcess({ store: h.store }, processId)).status).toBe('completed');
  });

  it('BRS-003 accepted: the switch is reversed, the supply void (SupplyReversed), the customer offboarded as incorrect-switch, the case completed', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const switchId = await activeSwitch(h, customerId);
    h.setNow('2026-03-20T09:00:00Z');
    const { processId } = await requestIncorrectSwitch({ store: h.store }, { switchProcessId: switchId }, h.context('brs003-1'));
    expect((await requestIncorrectSwitch({ store: h.store }, { switchProcessId: switchId }, h.context('brs003-1'))).processId).toBe(processId);
    expect((await h.ofType('IncorrectSwitchRequested')).map((e) => e.data)).toEqual([
      { processId, gsrn: GSRN, customerId, effectiveDate: '2026-03-03', businessReason: 'D07', at: '2026-03-20T09:00:00.000Z', reversedProcessId: switchId },
    ]);
    await sentAndAccepted(h, processId, 'brs003', 'D07');

    expect((await h.ofType('SupplyReversed')).map((e) => e.data)).toEqual([
      { gsrn: GSRN, processId: switchId, customerId, startDate: '2026-03-03', incorrectSwitchProcessId: processId, at: '2026-03-20T09:00:00.000Z' },
    ]);
    expect((await h.ofType('CustomerOffboarded')).map((e) => e.data)).toEqual([{ customerId, gsrn: GSRN, endDate: '2026-03-03', reason: 'incorrect-switch' }]);
    expect(await h.ofType('SupplyEnded')).toHaveLength(0);
    const reversed = await getProcess({ store: h.store }, switchId);
    expect(reversed.status).toBe('reversed');
    expect(statuses(await getProcess({ store: h.store }, processId))).toEqual(['created', 'requested', 'pending', 'active', 'completed']);
    expect(await h.ofType(PROCESS_ANOMALY_RECORDED)).toHaveLength(0);

    // DataHub redelivers its confirmation: nothing new.
    const before = (await h.all()).length;
    await h.datahub('DataHubAnswerReceived', { documentId: 'ans-brs003', accepted: true, originalTransactionId: processId, gsrn: GSRN, reasons: [], processType: 'D07' });
    expect((await h.all()).length).toBe(before + 1);
    expect(await h.ofType(PROCESS_ANOMALY_RECORDED)).toHaveLength(0);
  });

  it('BRS-003 is refused once the switched supply has ended (move-out)', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const switchId = await activeSwitch(h, customerId);
    h.setNow('2026-03-10T06:00:00Z');
    const { processId } = await requestMoveOut({ store: h.store }, { customerId, gsrn: GSRN, effectiveDate: '2026-03-12' }, h.context());
    await sentAndAccepted(h, processId, 'out', 'E66');
    h.setNow('2026-03-12T06:00:00Z');
    await h.datahub('DataHubNotificationReceived', { documentId: 'rsm004-out', gsrn: GSRN, validityStart: '2026-03-11T23:00:00Z', originalTransactionId: processId, processType: 'E66' });
    expect(await h.ofType('CustomerOffboarded')).toHaveLength(1);
    expect((await refusalOf(requestIncorrectSwitch({ store: h.store }, { switchProcessId: switchId }, h.context()))).code).toBe('supply-ended');
  });

  it('BRS-003 rejected by DataHub leaves the switch and the supply as they were', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const switchId = await activeSwitch(h, customerId);
    const { processId } = await requestIncorrectSwitch({ store: h.store }, { switchProcessId: switchId }, h.context());
    await h.pump();
    await h.datahub('DataHubAnswerReceived', { documentId: 'rej-brs003', accepted: false, originalTransactionId: processId, gsrn: GSRN, reasons: [{ code: 'D16', text: 'no switch' }], processType: 'D07' });
    expect((await getProcess({ store: h.store }, processId)).status).toBe('rejected');
    expect((await getProcess({ store: h.store }, switchId)).status).toBe('active');
    expect(await h.ofType('SupplyReversed')).toHaveLength(0);
    expect(await h.ofType('CustomerOffboarded')).toHaveLength(0);
  });

  it('BRS-003 is refused for a switch not yet effective, an unknown process, a non-switch, after 180 days, or when it is not the latest switch', async () => {
    const h = new Harness();
    const customerId = await customerAndPoint(h);
    const pendingSwitch = await acceptedSwitch(h, customerId);
    const ask = (switchProcessId: string) => requestIncorrectSwitch({ store: h.store }, { switchProcessId }, h.context());
    expect(await refusalOf(ask(pendingSwitch))).toMatchObject({ code: 'illegal-transition', message: expect.stringContaining('cancel it instead') });
    expect((await refusalOf(ask('no-such-process'))).code).toBe('unknown-process');

    h.setNow('2026-03-03T06:00:00Z');
    await h.datahub('MeteringPointMasterDataReceived', masterDataReceived('rsm022-1', 'E03', pendingSwitch));
    h.setNow('2026-08-31T08:00:00Z'); // 181 days after 2026-03-03
    expect((await refusalOf(ask(pendingSwitch))).code).toBe('lead-time');

    // Another supplier took over: the switch is no longer the latest.
    h.setNow('2026-04-01T06:00:00Z');
    await h.datahub('DataHubNotificationReceived', { documentId: 'rsm004-away', gsrn: GSRN, validityStart: '2026-04-14T22:00:00Z', originalTransactionId: null, processType: 'E03' });
    expect((await refusalOf(ask(pendingSwitch))).code).toBe('not-latest-switch');

    expect(h.index.entries()).toHaveLength(0);
    const { processId: moveOut } = await requestMoveOut({ store: h.store }, { customerId, gsrn: GSRN, effectiveDate: '2026-04-20' }, h.context());
    expect(await refusalOf(ask(moveOut))).toMatchObject({ code: 'illegal-transition', message: expect.stringContaining('only a switch') });
    expect(await h.ofType('IncorrectSwitchRequested')).toHaveLength(0);
  });
});
