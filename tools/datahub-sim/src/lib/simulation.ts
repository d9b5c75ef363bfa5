import type { CimDocument, MarketResponseDocumentName, Reason } from '@dh/cim';
import { addBusinessDays, addDays, compareLocalDates, daysBetween, localDateOf, localDayEnd, localDayStart, monthPeriod, parseLocalDate, type LocalDate } from '@dh/dk-time';
import { derivedUuid, isoSeconds } from './determinism';
import { accountingPointCharacteristics, genericNotification, marketResponse, notifyBillingMasterData, notifyPriceList, validatedMeasureData, validatedMeasureDataBundle, type HeaderInput, type MeasureSeriesInput } from './documents';
import { dayQuantities } from './profiles';
import type { Scenario, ScenarioMeteringPoint } from './scenario';
import { SettlementBasis, type ResultRequest } from './settlement-basis';

/** Peek categories (EDI `MessageCategory`): `timeseries` is an alias of `measuredata`. */
export const MESSAGE_CATEGORIES = ['measuredata', 'aggregations', 'masterdata'] as const;
export type MessageCategory = (typeof MESSAGE_CATEGORIES)[number];
const CATEGORY_ALIASES: Readonly<Record<string, MessageCategory>> = {
  measuredata: 'measuredata',
  timeseries: 'measuredata',
  aggregations: 'aggregations',
  masterdata: 'masterdata',
};

export function resolveCategory(name: string): MessageCategory | undefined {
  return CATEGORY_ALIASES[name.toLowerCase()];
}

export interface QueuedMessage {
  readonly messageId: string;
  readonly recipientGln: string;
  readonly category: MessageCategory;
  readonly document: CimDocument;
  /** Delivered as a truncated (unparseable) body. */
  readonly malformed: boolean;
  readonly enqueuedAt: string;
}

/** Fault modes; counters apply to the next N B2B requests (`/v1.0/…`) or the next N enqueued messages. */
export interface FaultSettings {
  /** The next N authenticated B2B requests answer 401 `invalid_token`, whatever token they carry. */
  readonly expiredToken?: number;
  /** The next N B2B requests answer 429 with `Retry-After: retryAfterSeconds`. */
  readonly tooManyRequests?: number;
  readonly retryAfterSeconds?: number;
  /** The next N B2B requests (after any 429s) answer 503. */
  readonly unavailable?: number;
  /** The next N enqueued messages are enqueued twice (two message ids, one document). */
  readonly duplicateDelivery?: number;
  /** Enqueue N (default 1) malformed messages now, for `recipientGln` (default: the first client). */
  readonly malformedMessage?: { readonly category: string; readonly recipientGln?: string; readonly count?: number };
}

export interface ActiveFaults {
  expiredToken: number;
  tooManyRequests: number;
  retryAfterSeconds: number;
  unavailable: number;
  duplicateDelivery: number;
}

export interface SimulatorStats {
  tokensIssued: number;
  b2bRequests: number;
  unauthorized: number;
  throttled: number;
  unavailable: number;
  peeks: number;
  dequeues: number;
  requestsAccepted: number;
}

interface SupplyPeriod {
  readonly supplierGln: string;
  readonly from: Date;
  to?: Date;
}

type PendingKind = 'switch' | 'forced' | 'endOfSupply';

interface PendingProcess {
  readonly kind: PendingKind;
  readonly transaction: string;
  readonly gsrn: string;
  readonly supplierGln: string;
  readonly effective: Date;
  readonly processType: string;
  state: 'pending' | 'cancelled' | 'done';
}

export type RequestOutcome = { readonly status: 202 } | { readonly status: 400; readonly code: string; readonly message: string };

const RESPONSE_NAMES: Readonly<Record<string, readonly [MarketResponseDocumentName, MarketResponseDocumentName]>> = {
  RequestChangeOfSupplier: ['ConfirmRequestChangeOfSupplier', 'RejectRequestChangeOfSupplier'],
  RequestCancelChangeOfSupplier: ['ConfirmRequestCancelChangeOfSupplier', 'RejectRequestCancelChangeOfSupplier'],
  RequestReallocateChangeOfSupplier: ['ConfirmRequestReallocateChangeOfSupplier', 'RejectRequestReallocateChangeOfSupplier'],
  RequestEndOfSupply: ['ConfirmRequestEndOfSupply', 'RejectRequestEndOfSupply'],
};

const INCORRECT_SWITCH_DAYS = 180;
/** BRS-009 move-in: RSM-001 with business reason E65, reportable up to 5 working days after the date. */
const MOVE_IN = 'E65';
const MOVE_IN_LATE_BUSINESS_DAYS = 5;

function isLocalMidnight(instant: Date): boolean {
  return localDayStart(localDateOf(instant)).getTime() === instant.getTime();
}

/**
 * DataHub's side of the market for one scenario: queues per actor and category, pending processes, supply periods
 * and a virtual clock. Deterministic: the same scenario, requests and clock give the same documents and ids.
 */
export class Simulation {
  private virtualNow: Date;
  private processedUntil: Date;
  private seq = 0;
  private readonly queue: QueuedMessage[] = [];
  private readonly supplies = new Map<string, SupplyPeriod[]>();
  private readonly pending: PendingProcess[] = [];
  private readonly receivedDocuments = new Set<string>();
  private readonly points: ReadonlyMap<string, ScenarioMeteringPoint>;
  private readonly basis: SettlementBasis;
  private calculations = 0;
  private priceListsSent = false;
  private readonly correctionsSent = new Set<string>();
  private readonly lateDataSent = new Set<string>();
  readonly faults: ActiveFaults = { expiredToken: 0, tooManyRequests: 0, retryAfterSeconds: 1, unavailable: 0, duplicateDelivery: 0 };
  readonly stats: SimulatorStats = { tokensIssued: 0, b2bRequests: 0, unauthorized: 0, throttled: 0, unavailable: 0, peeks: 0, dequeues: 0, requestsAccepted: 0 };

  constructor(
    readonly scenario: Scenario,
    private readonly clock?: () => Date,
    /** Called with each message as it is queued (the server renders its body then, as DataHub has it ready). */
    private readonly onEnqueue?: (message: QueuedMessage) => void,
  ) {
    // An injected clock decides the start; otherwise the scenario's `start`.
    const start = clock ? clock() : new Date(scenario.start);
    this.virtualNow = start;
    this.processedUntil = start;
    this.points = new Map(scenario.meteringPoints.map((m) => [m.gsrn, m]));
    for (const mp of scenario.meteringPoints) {
      if (mp.supply) this.supplies.set(mp.gsrn, [{ supplierGln: mp.supply.supplierGln, from: localDayStart(mp.supply.from) }]);
    }
    for (const f of scenario.forcedSwitches) {
      this.pending.push({ kind: 'forced', transaction: this.nextId('forced-switch'), gsrn: f.gsrn, supplierGln: f.supplierGln, effective: localDayStart(f.effectiveDate), processType: 'D31', state: 'pending' });
    }
    this.basis = new SettlementBasis(scenario, (gsrn, date) => this.basisSupplierForDay(gsrn, date));
  }

  /** The simulator's current time: the later of the virtual clock and the injected clock; due events are delivered. */
  now(): Date {
    if (this.clock) {
      const external = this.clock();
      if (external.getTime() > this.virtualNow.getTime()) this.advanceTo(external);
    }
    return this.virtualNow;
  }

  /** Moves the clock forward, delivering everything due up to `instant` (inclusive). */
  advanceTo(instant: Date): void {
    if (Number.isNaN(instant.getTime())) throw new RangeError('advanceTo: invalid instant');
    if (instant.getTime() < this.virtualNow.getTime()) throw new RangeError(`advanceTo: ${instant.toISOString()} is before the simulator's clock ${this.virtualNow.toISOString()}`);
    this.virtualNow = instant;
    for (let t = this.nextMidnightAfter(this.processedUntil); t.getTime() <= instant.getTime(); t = this.nextMidnightAfter(t)) {
      this.processedUntil = t;
      this.atMidnight(t);
    }
    this.processedUntil = instant;
    this.deliverLateCorrections(instant);
    this.deliverLateMeteredData(instant);
  }

  setFaults(settings: FaultSettings): void {
    const nonNegative = (v: number | undefined, name: string): number | undefined => {
      if (v === undefined) return undefined;
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`faults.${name} must be a non-negative integer`);
      return v;
    };
    this.faults.expiredToken = nonNegative(settings.expiredToken, 'expiredToken') ?? this.faults.expiredToken;
    this.faults.tooManyRequests = nonNegative(settings.tooManyRequests, 'tooManyRequests') ?? this.faults.tooManyRequests;
    this.faults.retryAfterSeconds = nonNegative(settings.retryAfterSeconds, 'retryAfterSeconds') ?? this.faults.retryAfterSeconds;
    this.faults.unavailable = nonNegative(settings.unavailable, 'unavailable') ?? this.faults.unavailable;
    this.faults.duplicateDelivery = nonNegative(settings.duplicateDelivery, 'duplicateDelivery') ?? this.faults.duplicateDelivery;
    const m = settings.malformedMessage;
    if (m) {
      const category = resolveCategory(m.category);
      if (!category) throw new RangeError(`faults.malformedMessage.category: unknown category ${m.category}`);
      const recipient = m.recipientGln ?? this.scenario.clients[0]?.gln;
      if (!recipient) throw new RangeError('faults.malformedMessage: no recipient');
      const count = nonNegative(m.count, 'malformedMessage.count') ?? 1;
      for (let i = 0; i < count; i++) this.enqueueMalformed(recipient, category);
    }
  }

  clearFaults(): void {
    Object.assign(this.faults, { expiredToken: 0, tooManyRequests: 0, retryAfterSeconds: 1, unavailable: 0, duplicateDelivery: 0 });
  }

  peek(recipientGln: string, category: MessageCategory): QueuedMessage | undefined {
    this.now();
    return this.queue.find((m) => m.recipientGln === recipientGln && m.category === category);
  }

  dequeue(recipientGln: string, messageId: string): boolean {
    const index = this.queue.findIndex((m) => m.recipientGln === recipientGln && m.messageId === messageId);
    if (index < 0) return false;
    this.queue.splice(index, 1);
    return true;
  }

  /** Messages waiting, per recipient GLN and category. */
  queueDepths(): Record<string, Record<MessageCategory, number>> {
    const out: Record<string, Record<MessageCategory, number>> = {};
    for (const c of this.scenario.clients) out[c.gln] = { measuredata: 0, aggregations: 0, masterdata: 0 };
    for (const m of this.queue) {
      const r = (out[m.recipientGln] ??= { measuredata: 0, aggregations: 0, masterdata: 0 });
      r[m.category]++;
    }
    return out;
  }

  /** Supplier of a metering point at an instant (undefined when none). */
  supplierAt(gsrn: string, instant: Date): string | undefined {
    const t = instant.getTime();
    return this.supplies.get(gsrn)?.find((p) => p.from.getTime() <= t && (!p.to || p.to.getTime() > t))?.supplierGln;
  }

  /** Handles a parsed request document POSTed by `senderGln`; the answer is enqueued for the sender. */
  handleRequest(doc: CimDocument, senderGln: string): RequestOutcome {
    this.now();
    if (doc.header.sender.id.value !== senderGln) return { status: 400, code: 'SenderMismatch', message: `sender_MarketParticipant.mRID ${doc.header.sender.id.value} is not the authenticated actor ${senderGln}` };
    if (doc.header.receiver.id.value !== this.scenario.datahubGln) return { status: 400, code: 'InvalidReceiver', message: `receiver_MarketParticipant.mRID must be DataHub ${this.scenario.datahubGln}` };
    const key = `${senderGln}|${doc.header.mRID}`;
    if (this.receivedDocuments.has(key)) return { status: 400, code: 'DuplicateMessageId', message: `Document mRID ${doc.header.mRID} was already received` };
    this.receivedDocuments.add(key);
    switch (doc.kind) {
      case 'RequestChangeOfSupplier':
        for (const r of doc.records) this.changeOfSupplier(doc.kind, doc.header.processType, senderGln, r.mRID, r.meteringPointId, r.start);
        break;
      case 'RequestEndOfSupply':
        for (const r of doc.records) this.endOfSupply(doc.header.processType, senderGln, r.mRID, r.meteringPointId, r.start);
        break;
      case 'RequestCancelChangeOfSupplier':
        for (const r of doc.records) this.cancellation(doc.header.processType, senderGln, r.mRID, r.originalTransactionIDReference, r.meteringPointId);
        break;
      case 'RequestReallocateChangeOfSupplier':
        for (const r of doc.records) this.incorrectSwitch(doc.header.processType, senderGln, r.mRID, r.meteringPointId, r.start);
        break;
      case 'RequestAggregatedMeasureData':
        for (const r of doc.series) {
          this.answerResultRequest('RejectRequestAggregatedMeasureData', senderGln, r.mRID, r.energySupplier?.value, r.start, r.end, {
            kind: 'energy',
            businessReason: doc.header.processType,
            ...(r.settlementVersion ? { settlementVersion: r.settlementVersion } : {}),
            ...(r.meteringGridArea ? { gridArea: r.meteringGridArea } : {}),
            ...(r.meteringPointType ? { meteringPointType: r.meteringPointType } : {}),
            ...(r.settlementMethod ? { settlementMethod: r.settlementMethod } : {}),
          });
        }
        break;
      case 'RequestWholesaleSettlement':
        for (const r of doc.series) {
          this.answerResultRequest('RejectRequestWholesaleSettlement', senderGln, r.mRID, r.energySupplier?.value, r.start, r.end, {
            kind: 'wholesale',
            businessReason: doc.header.processType,
            ...(r.settlementVersion ? { settlementVersion: r.settlementVersion } : {}),
            ...(r.meteringGridArea ? { gridArea: r.meteringGridArea } : {}),
            ...(r.chargeOwner ? { chargeOwner: r.chargeOwner.value } : {}),
            chargeTypes: r.chargeTypes.map((c) => ({ type: c.type, code: c.mRID })),
          });
        }
        break;
      default:
        this.receivedDocuments.delete(key);
        return { status: 400, code: 'UnsupportedDocument', message: `${doc.kind} is not a request the simulator accepts` };
    }
    this.stats.requestsAccepted++;
    return { status: 202 };
  }

  // ---- request handling -------------------------------------------------------------------------------------------

  private respond(kind: string, processType: string, senderGln: string, transaction: string, gsrn: string, start: string | undefined, rejection: Reason | undefined): void {
    const names = RESPONSE_NAMES[kind];
    if (!names) throw new Error(`No response for ${kind}`);
    const documentName = rejection ? names[1] : names[0];
    const doc = marketResponse({
      header: this.header(processType, 'DDZ', senderGln),
      documentName,
      recordMRID: this.nextId('record'),
      originalTransaction: transaction,
      meteringPointId: gsrn,
      ...(start ? { start } : {}),
      reasons: rejection ? [rejection] : [],
    });
    this.enqueue(senderGln, 'masterdata', doc);
  }

  private configuredRejection(gsrn: string, processType: string): Reason | undefined {
    const r = this.scenario.rejections.find((x) => x.gsrn === gsrn && (x.processType === undefined || x.processType === processType));
    return r ? { code: r.reasonCode, ...(r.text ? { text: r.text } : {}) } : undefined;
  }

  private reason(code: keyof Scenario['reasonCodes'], text: string): Reason {
    return { code: this.scenario.reasonCodes[code], text };
  }

  private today(): LocalDate {
    return localDateOf(this.virtualNow);
  }

  private validateEffective(start: string, earliest: LocalDate, latest?: LocalDate): Reason | undefined {
    const effective = new Date(start);
    if (!isLocalMidnight(effective)) return this.reason('leadTime', `${start} is not the start of a Danish day`);
    const date = localDateOf(effective);
    if (compareLocalDates(date, earliest) < 0) return this.reason('leadTime', `Effective date ${date} is before the earliest allowed date ${earliest}`);
    if (latest && compareLocalDates(date, latest) > 0) return this.reason('leadTime', `Effective date ${date} is after the latest allowed date ${latest}`);
    return undefined;
  }

  /**
   * BRS-009 move-in (E65): reported any time ahead and up to MOVE_IN_LATE_BUSINESS_DAYS Danish working days after its
   * date (Forsyningstilsynet, 2021); later is refused with the lead-time reason.
   */
  private validateMoveIn(start: string): Reason | undefined {
    const effective = new Date(start);
    if (!isLocalMidnight(effective)) return this.reason('leadTime', `${start} is not the start of a Danish day`);
    const date = localDateOf(effective);
    const latest = addBusinessDays(date, MOVE_IN_LATE_BUSINESS_DAYS);
    if (compareLocalDates(this.today(), latest) > 0) {
      return this.reason('leadTime', `A move-in on ${date} must be reported at the latest ${latest} (${MOVE_IN_LATE_BUSINESS_DAYS} working days after the date); today is ${this.today()}`);
    }
    return undefined;
  }

  private changeOfSupplier(kind: string, processType: string, senderGln: string, transaction: string, gsrn: string, start: string): void {
    const rejection =
      this.configuredRejection(gsrn, processType) ??
      (this.points.has(gsrn) ? undefined : this.reason('unknownMeteringPoint', `Metering point ${gsrn} is not known`)) ??
      (processType === MOVE_IN ? this.validateMoveIn(start) : this.validateEffective(start, addDays(this.today(), this.scenario.leadTimeDays)));
    const process: PendingProcess | undefined = rejection ? undefined : { kind: 'switch', transaction, gsrn, supplierGln: senderGln, effective: new Date(start), processType, state: 'pending' };
    if (process) this.pending.push(process);
    this.respond(kind, processType, senderGln, transaction, gsrn, start, rejection);
    // A move-in reported after its date (its midnight has passed): the supply starts from that date now, after the
    // confirmation, and the new supplier gets the days it has missed since then.
    if (process && process.effective.getTime() <= this.processedUntil.getTime()) {
      process.state = 'done';
      this.startSupply(process, process.effective);
      this.deliverMissedDays(gsrn, senderGln, localDateOf(process.effective));
    }
  }

  /** The RSM-012 of the whole days already past from `from` that `supplierGln` now supplies (a supply started after its date). */
  private deliverMissedDays(gsrn: string, supplierGln: string, from: LocalDate): void {
    const mp = this.points.get(gsrn);
    if (!mp) return;
    for (let date = from; localDayEnd(date).getTime() <= this.processedUntil.getTime(); date = addDays(date, 1)) {
      if (this.basisSupplierForDay(gsrn, date) !== supplierGln) continue;
      if (this.scenario.planted.lateMeteredData.some((l) => l.gsrn === gsrn && l.date === date)) continue;
      this.enqueue(supplierGln, 'measuredata', validatedMeasureData(this.header('E23', 'DGL', supplierGln), this.nextId('series'), mp, localDayStart(date), localDayEnd(date), dayQuantities(this.scenario.seed, mp, date)));
    }
  }

  private endOfSupply(processType: string, senderGln: string, transaction: string, gsrn: string, start: string): void {
    const today = this.today();
    const isSupplier = () => {
      const effective = new Date(start);
      const before = new Date(effective.getTime() - 1);
      const supplied = this.supplierAt(gsrn, before) === senderGln || this.supplierAt(gsrn, this.virtualNow) === senderGln;
      const pendingSwitch = this.pending.some((p) => p.state === 'pending' && p.kind !== 'endOfSupply' && p.gsrn === gsrn && p.supplierGln === senderGln && p.effective.getTime() < effective.getTime());
      return supplied || pendingSwitch;
    };
    // BRS-002: between 60 calendar days and 3 working days before the date; BRS-010 move-out: the usual lead time.
    const window = processType === 'E20' ? this.validateEffective(start, addBusinessDays(today, 3), addDays(today, 60)) : this.validateEffective(start, addDays(today, this.scenario.leadTimeDays));
    const rejection =
      this.configuredRejection(gsrn, processType) ??
      (this.points.has(gsrn) ? undefined : this.reason('unknownMeteringPoint', `Metering point ${gsrn} is not known`)) ??
      window ??
      (isSupplier() ? undefined : this.reason('notSupplier', `${senderGln} is not the supplier of ${gsrn} on ${start}`));
    if (!rejection) this.pending.push({ kind: 'endOfSupply', transaction, gsrn, supplierGln: senderGln, effective: new Date(start), processType, state: 'pending' });
    this.respond('RequestEndOfSupply', processType, senderGln, transaction, gsrn, start, rejection);
  }

  private cancellation(processType: string, senderGln: string, transaction: string, original: string, gsrn: string): void {
    const target = this.pending.find((p) => p.transaction === original && p.supplierGln === senderGln && p.gsrn === gsrn && p.kind !== 'forced');
    let rejection = this.configuredRejection(gsrn, processType);
    if (!rejection && (!target || target.state !== 'pending' || target.effective.getTime() <= this.virtualNow.getTime())) {
      rejection = this.reason('noPendingProcess', `No pending process ${original} of ${senderGln} on ${gsrn} before its effective date`);
    }
    if (!rejection && target) target.state = 'cancelled';
    this.respond('RequestCancelChangeOfSupplier', processType, senderGln, transaction, gsrn, undefined, rejection);
  }

  private incorrectSwitch(processType: string, senderGln: string, transaction: string, gsrn: string, start: string): void {
    const period = this.supplies.get(gsrn)?.find((p) => p.supplierGln === senderGln && p.from.getTime() === new Date(start).getTime());
    let rejection = this.configuredRejection(gsrn, processType);
    if (!rejection && (!period || daysBetween(localDateOf(period.from), this.today()) > INCORRECT_SWITCH_DAYS || period.from.getTime() > this.virtualNow.getTime())) {
      rejection = this.reason('noPendingProcess', `No switch of ${senderGln} on ${gsrn} effective ${start} within ${INCORRECT_SWITCH_DAYS} days`);
    }
    if (!rejection && period) {
      const end = this.nextMidnightAfter(this.virtualNow);
      period.to = period.to && period.to.getTime() < end.getTime() ? period.to : end;
    }
    this.respond('RequestReallocateChangeOfSupplier', processType, senderGln, transaction, gsrn, start, rejection);
  }

  /**
   * RSM-016/017: DataHub answers each series with the results for the asked period, or a reject (ERR) naming the
   * transaction. Energy may be asked for any whole local days; wholesale for whole months only.
   */
  private answerResultRequest(
    rejectName: 'RejectRequestAggregatedMeasureData' | 'RejectRequestWholesaleSettlement',
    senderGln: string,
    transaction: string,
    energySupplier: string | undefined,
    start: string,
    end: string | undefined,
    request: Omit<ResultRequest, 'supplierGln' | 'start' | 'end' | 'originalTransaction'>,
  ): void {
    const from = new Date(start);
    const to = end ? new Date(end) : undefined;
    const firstOfMonth = (d: Date) => isLocalMidnight(d) && parseLocalDate(localDateOf(d)).day === 1;
    let rejection: Reason | undefined;
    if (energySupplier !== undefined && energySupplier !== senderGln) rejection = { code: this.scenario.reasonCodes.notSupplier, text: `An energy supplier may only ask for its own results, not ${energySupplier}'s` };
    else if (!to || !isLocalMidnight(from) || !isLocalMidnight(to) || to.getTime() <= from.getTime()) rejection = { code: this.scenario.reasonCodes.leadTime, text: 'The period must start and end at Danish midnights' };
    else if (request.kind === 'wholesale' && (!firstOfMonth(from) || !firstOfMonth(to))) rejection = { code: this.scenario.reasonCodes.leadTime, text: 'Wholesale results are asked for whole months' };
    else if (to.getTime() > this.virtualNow.getTime()) rejection = { code: this.scenario.reasonCodes.noResults, text: 'The period has not ended' };
    if (!rejection) {
      const result = this.resultDocuments({ ...request, supplierGln: senderGln, start: from, end: to!, originalTransaction: transaction });
      if (Array.isArray(result)) {
        for (const doc of result) this.enqueue(senderGln, 'aggregations', doc);
        return;
      }
      rejection = result;
    }
    this.enqueue(senderGln, 'aggregations', {
      kind: 'MarketResponse',
      documentName: rejectName,
      header: { ...this.cimHeader(this.header(request.businessReason, 'DDZ', senderGln)) },
      reasonCode: 'A02',
      records: [{ mRID: this.nextId('record'), originalTransactionIDReference: transaction, reasons: [rejection] }],
    });
  }

  private resultDocuments(request: ResultRequest): CimDocument[] | Reason {
    return this.basis.results(request, {
      header: (processType, receiver) => this.header(processType, 'DGL', receiver),
      nextId: (kind) => this.nextId(kind),
      calculationVersion: () => ++this.calculations,
    });
  }

  /**
   * A correction settlement (BRS-027 D32, settlement version D01–D03) of a month: DataHub recalculates with the
   * data it holds now and sends every client supplier its RSM-014 and RSM-019 again with the settlement version.
   */
  correctionSettlement(year: number, month: number, settlementVersion: 'D01' | 'D02' | 'D03'): void {
    this.now();
    const period = monthPeriod(year, month);
    for (const client of this.scenario.clients) {
      for (const kind of ['energy', 'wholesale'] as const) {
        const result = this.resultDocuments({ kind, supplierGln: client.gln, start: period.start, end: period.end, businessReason: 'D32', settlementVersion });
        if (Array.isArray(result)) for (const doc of result) this.enqueue(client.gln, 'aggregations', doc);
      }
    }
  }

  // ---- the timeline -----------------------------------------------------------------------------------------------

  private nextMidnightAfter(instant: Date): Date {
    return localDayStart(addDays(localDateOf(instant), 1));
  }

  /**
   * Every supplier gets the charges' master data (D18) and prices (D08), DataHub's price lists (RSM-034), at the
   * first local midnight the simulator passes: as DataHub publishes them on a day, not before a supplier's system
   * is up.
   */
  private deliverPriceLists(): void {
    if (this.priceListsSent || !this.scenario.sendChargeData || this.scenario.charges.length === 0) return;
    this.priceListsSent = true;
    const validFrom = localDayStart('2020-01-01');
    const validUntil = localDayStart('2100-01-01');
    for (const client of this.scenario.clients) {
      for (const processType of ['D18', 'D08']) {
        this.enqueue(client.gln, 'masterdata', notifyPriceList(this.header(processType, 'DDZ', client.gln), () => this.nextId('record'), this.scenario.charges, validFrom, validUntil));
      }
    }
  }

  private atMidnight(t: Date): void {
    this.deliverPriceLists();
    const yesterday = localDateOf(new Date(t.getTime() - 1));
    this.deliverMeteredData(yesterday);
    const { day } = parseLocalDate(localDateOf(t));
    if (day === 1) {
      const { year, month } = parseLocalDate(yesterday);
      this.deliverMonthly(year, month);
    }
    for (const p of this.pending) {
      if (p.state !== 'pending' || p.effective.getTime() !== t.getTime()) continue;
      p.state = 'done';
      if (p.kind === 'endOfSupply') this.stopSupply(p, t);
      else this.startSupply(p, t);
    }
  }

  private startSupply(p: PendingProcess, t: Date): void {
    const mp = this.points.get(p.gsrn);
    if (!mp) return;
    const periods = this.supplies.get(p.gsrn) ?? [];
    // A move-in of another customer of the same supplier: the supplier goes on, and so do the links it holds.
    let sameSupplierGoesOn = false;
    for (const open of periods) {
      if (open.to && open.to.getTime() <= t.getTime()) continue;
      if (open.from.getTime() >= t.getTime()) continue;
      open.to = t;
      if (open.supplierGln === p.supplierGln) sameSupplierGoesOn = true;
      if (open.supplierGln !== p.supplierGln && this.isClient(open.supplierGln)) {
        // The previous supplier is told its supply stops.
        this.enqueue(open.supplierGln, 'masterdata', genericNotification(this.header(p.processType, 'DDZ', open.supplierGln), this.nextId('record'), p.gsrn, t));
      }
    }
    periods.push({ supplierGln: p.supplierGln, from: t });
    this.supplies.set(p.gsrn, periods);
    this.enqueue(p.supplierGln, 'masterdata', genericNotification(this.header(p.processType, 'DDZ', p.supplierGln), this.nextId('record'), p.gsrn, t, p.kind === 'forced' ? undefined : p.transaction));
    this.enqueue(p.supplierGln, 'masterdata', accountingPointCharacteristics(this.header(p.processType, 'DDZ', p.supplierGln), this.nextId('record'), mp, p.supplierGln, t, p.kind === 'forced' ? undefined : p.transaction));
    // The new supplier gets the metering point's charge links in force from the start (RSM-031); a supplier that
    // supplied the point up to the start already has them (DataHub's links belong to the metering point, not the customer).
    if (sameSupplierGoesOn) return;
    const links = this.basis
      .linksOf(mp)
      .filter((l) => l.notified && l.to > t.getTime())
      .map((l) => ({ charge: l.charge, factor: l.factor, from: new Date(Math.max(l.from, t.getTime())), ...(l.to < Number.MAX_SAFE_INTEGER ? { to: new Date(l.to) } : {}) }));
    if (this.scenario.sendChargeData && links.length > 0) this.enqueue(p.supplierGln, 'masterdata', notifyBillingMasterData(this.header(p.kind === 'forced' ? 'D31' : 'D17', 'DDZ', p.supplierGln), this.nextId('record'), p.gsrn, links));
  }

  private stopSupply(p: PendingProcess, t: Date): void {
    const open = this.supplies.get(p.gsrn)?.find((x) => x.supplierGln === p.supplierGln && x.from.getTime() < t.getTime() && (!x.to || x.to.getTime() > t.getTime()));
    if (!open) return;
    open.to = t;
    this.enqueue(p.supplierGln, 'masterdata', genericNotification(this.header(p.processType, 'DDZ', p.supplierGln), this.nextId('record'), p.gsrn, t, p.transaction));
  }

  private isClient(gln: string): boolean {
    return this.scenario.clients.some((c) => c.gln === gln);
  }

  /** Supplier for the whole local day, if any (supply periods start and end at local midnights). */
  private supplierForDay(gsrn: string, date: LocalDate): string | undefined {
    const start = localDayStart(date).getTime();
    const end = localDayEnd(date).getTime();
    return this.supplies.get(gsrn)?.find((p) => p.from.getTime() <= start && (!p.to || p.to.getTime() >= end))?.supplierGln;
  }

  /** The supplier DataHub settles a day with: the real one, or a planted supplier it believes in without having told it. */
  private basisSupplierForDay(gsrn: string, date: LocalDate): string | undefined {
    const planted = this.scenario.planted.unsuppliedBilled.find((u) => u.gsrn === gsrn && compareLocalDates(u.from, date) <= 0);
    return planted?.supplierGln ?? this.supplierForDay(gsrn, date);
  }

  /** Planted corrections DataHub settled with but sends only now (a later RSM-012 version of the day). */
  private deliverLateCorrections(instant: Date): void {
    for (const c of this.scenario.planted.unsentCorrections) {
      const key = `${c.gsrn}|${c.date}`;
      if (!c.sendAt || Date.parse(c.sendAt) > instant.getTime() || this.correctionsSent.has(key)) continue;
      this.correctionsSent.add(key);
      const mp = this.points.get(c.gsrn);
      const supplier = this.basisSupplierForDay(c.gsrn, c.date);
      if (!mp || !supplier || !this.isClient(supplier)) continue;
      this.enqueue(supplier, 'measuredata', validatedMeasureData(this.header('E23', 'DGL', supplier), this.nextId('series'), mp, localDayStart(c.date), localDayEnd(c.date), this.basis.quantities(mp, c.date)));
    }
  }

  /** Planted late metered data: a day held back after its midnight, sent (as its first version) once the clock reaches `sendAt`. */
  private deliverLateMeteredData(instant: Date): void {
    for (const l of this.scenario.planted.lateMeteredData) {
      const key = `${l.gsrn}|${l.date}`;
      if (Date.parse(l.sendAt) > instant.getTime() || localDayEnd(l.date).getTime() > instant.getTime() || this.lateDataSent.has(key)) continue;
      this.lateDataSent.add(key);
      const mp = this.points.get(l.gsrn);
      const supplier = this.basisSupplierForDay(l.gsrn, l.date);
      if (!mp || !supplier || !this.isClient(supplier)) continue;
      this.enqueue(supplier, 'measuredata', validatedMeasureData(this.header('E23', 'DGL', supplier), this.nextId('series'), mp, localDayStart(l.date), localDayEnd(l.date), dayQuantities(this.scenario.seed, mp, l.date)));
    }
  }

  private deliverMeteredData(date: LocalDate): void {
    const perDocument = this.scenario.meteredDataSeriesPerDocument;
    // Per supplier, the document being filled (its header taken first, so one series per document keeps the ids as before).
    const open = new Map<string, { header: HeaderInput; series: MeasureSeriesInput[] }>();
    for (const mp of this.scenario.meteringPoints) {
      const supplier = this.basisSupplierForDay(mp.gsrn, date);
      if (!supplier || !this.isClient(supplier)) continue;
      // Held back: sent by deliverLateMeteredData once its time has come.
      if (this.scenario.planted.lateMeteredData.some((l) => l.gsrn === mp.gsrn && l.date === date)) continue;
      let doc = open.get(supplier);
      if (!doc) {
        doc = { header: this.header('E23', 'DGL', supplier), series: [] };
        open.set(supplier, doc);
      }
      doc.series.push({ seriesMRID: this.nextId('series'), mp, start: localDayStart(date), end: localDayEnd(date), quantities: dayQuantities(this.scenario.seed, mp, date) });
      if (doc.series.length >= perDocument) {
        this.enqueue(supplier, 'measuredata', validatedMeasureDataBundle(doc.header, doc.series));
        open.delete(supplier);
      }
    }
    for (const [supplier, doc] of open) this.enqueue(supplier, 'measuredata', validatedMeasureDataBundle(doc.header, doc.series));
  }

  /**
   * After a month: per client supplier and grid area, RSM-014 (balance fixing D04, one series per document) and
   * RSM-019 (wholesale fixing D05), computed by the simulator's own engine from what DataHub holds.
   */
  private deliverMonthly(year: number, month: number): void {
    const period = monthPeriod(year, month);
    for (const client of this.scenario.clients) {
      for (const [kind, businessReason] of [['energy', 'D04'], ['wholesale', 'D05']] as const) {
        const result = this.resultDocuments({ kind, supplierGln: client.gln, start: period.start, end: period.end, businessReason });
        if (Array.isArray(result)) for (const doc of result) this.enqueue(client.gln, 'aggregations', doc);
      }
    }
  }

  // ---- ids, headers, queue ----------------------------------------------------------------------------------------

  private nextId(kind: string): string {
    this.seq++;
    return derivedUuid(this.scenario.seed, kind, this.seq);
  }

  private cimHeader(h: HeaderInput) {
    return {
      mRID: h.mRID,
      processType: h.processType,
      businessSectorType: '23',
      sender: { id: { codingScheme: 'A10' as const, value: h.datahubGln }, role: h.datahubRole },
      receiver: { id: { codingScheme: 'A10' as const, value: h.receiverGln }, role: 'DDQ' as const },
      createdDateTime: isoSeconds(h.created),
    };
  }

  private header(processType: string, role: 'DDZ' | 'DGL', receiverGln: string): HeaderInput {
    return { mRID: this.nextId('document'), processType, datahubGln: this.scenario.datahubGln, datahubRole: role, receiverGln, created: this.processedUntil };
  }

  private enqueue(recipientGln: string, category: MessageCategory, document: CimDocument, malformed = false): void {
    const copies = !malformed && this.faults.duplicateDelivery > 0 ? 2 : 1;
    if (copies === 2) this.faults.duplicateDelivery--;
    for (let i = 0; i < copies; i++) {
      const message: QueuedMessage = { messageId: this.nextId('message'), recipientGln, category, document, malformed, enqueuedAt: isoSeconds(this.processedUntil) };
      this.queue.push(message);
      this.onEnqueue?.(message);
    }
  }

  private enqueueMalformed(recipientGln: string, category: MessageCategory): void {
    const mp = this.scenario.meteringPoints[0];
    const date = this.today();
    const doc: CimDocument = mp
      ? validatedMeasureData(this.header('E23', 'DGL', recipientGln), this.nextId('series'), mp, localDayStart(date), localDayEnd(date), dayQuantities(this.scenario.seed, mp, date))
      : genericNotification(this.header('E03', 'DDZ', recipientGln), this.nextId('record'), '571313180400000025', localDayStart(date));
    this.enqueue(recipientGln, category, doc, true);
  }
}
