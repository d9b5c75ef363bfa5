import { localDateOf, type LocalDate } from '@dh/dk-time';
import { deterministicEventId, DuplicateEventIdError, handleCommand, WrongExpectedRevisionError, type Decider, type DomainEvent, type EventMetadata, type EventStore, type JsonObject } from '@dh/event-store';
import {
  customerDecider,
  customerStreamId,
  DomainRuleViolation,
  meteringPointDecider,
  meteringPointStreamId,
  PROCESS_KIND_INFO,
  processDecider,
  processStreamId,
  type CustomerCommand,
  type MeteringPointCommand,
  type MeteringPointMasterData,
  type MeteringPointState,
  type MeteringPointType,
  type OffboardingReason,
  type PriceArea,
  type ProcessCase,
  type ProcessCommand,
  type SettlementMethod,
  type SupplyEndReason,
  type SupplyPeriod,
  type SupplyTerms,
} from '@dh/portfolio-domain';
import { PORTFOLIO_CONTEXT, type PersonalDataProtector } from './create-customer';
import { loadMeteringPoint, loadProcess } from './streams';

/** The part of an event envelope the process manager reads (the bus's `EventEnvelope` fits). */
export interface TriggerEvent {
  eventId: string;
  type: string;
  data: JsonObject;
  metadata: EventMetadata;
}

/**
 * Which processes concern a metering point: DataHub's master data and notifications name the GSRN,
 * not always our transaction. Written from the portfolio's own `*Requested` events (in the inbox
 * transaction, so exactly once) and read when DataHub speaks about the GSRN.
 */
export interface ProcessIndex {
  add(entry: { gsrn: string; processId: string }): Promise<void>;
  processIdsFor(gsrn: string): Promise<string[]>;
  /**
   * DataHub's master data or notification for a pending process arrived before its effective date:
   * remember it (once per process) so the effective-date scheduler confirms the process on the date.
   */
  awaitEffectiveDate(entry: AwaitingEffectiveDate): Promise<void>;
}

/** A pending process whose DataHub news (RSM-022/RSM-004) arrived before its effective date. */
export interface AwaitingEffectiveDate {
  processId: string;
  gsrn: string;
  effectiveDate: LocalDate;
  /** The DataHub event that arrived early; the scheduler's commands are keyed on it. */
  triggerEventId: string;
  correlationId: string;
}

/** What the effective-date scheduler reads: entries due on `today` (effective date reached) and not yet done. */
export interface AwaitingEffectiveDates {
  due(today: LocalDate): Promise<AwaitingEffectiveDate[]>;
  done(processId: string, at: Date): Promise<void>;
}

export class InMemoryProcessIndex implements ProcessIndex, AwaitingEffectiveDates {
  private readonly byGsrn = new Map<string, Set<string>>();
  private readonly awaiting = new Map<string, AwaitingEffectiveDate & { doneAt: Date | null }>();
  async add(entry: { gsrn: string; processId: string }): Promise<void> {
    const ids = this.byGsrn.get(entry.gsrn) ?? new Set<string>();
    ids.add(entry.processId);
    this.byGsrn.set(entry.gsrn, ids);
  }
  async processIdsFor(gsrn: string): Promise<string[]> {
    return [...(this.byGsrn.get(gsrn) ?? [])];
  }
  async awaitEffectiveDate(entry: AwaitingEffectiveDate): Promise<void> {
    if (!this.awaiting.has(entry.processId)) this.awaiting.set(entry.processId, { ...entry, doneAt: null });
  }
  async due(today: LocalDate): Promise<AwaitingEffectiveDate[]> {
    return [...this.awaiting.values()]
      .filter((e) => e.doneAt === null && e.effectiveDate <= today)
      .sort((a, b) => a.effectiveDate.localeCompare(b.effectiveDate) || a.processId.localeCompare(b.processId))
      .map(({ doneAt: _doneAt, ...entry }) => entry);
  }
  async done(processId: string, at: Date): Promise<void> {
    const entry = this.awaiting.get(processId);
    if (entry && entry.doneAt === null) entry.doneAt = at;
  }
  /** For tests: every entry with its state. */
  entries(): (AwaitingEffectiveDate & { doneAt: Date | null })[] {
    return [...this.awaiting.values()];
  }
}

export interface ProcessManagerLogger {
  log(message: string): void;
  warn(message: string): void;
}

export interface ProcessManagerDeps {
  store: EventStore;
  protector: PersonalDataProtector;
  clock: () => Date;
  /** Product of customers DataHub gives us unasked (BRS-044); config `DEFAULT_PRODUCT_ID`, default `standard`. */
  defaultProductId: string;
  /** Price area of a grid area, for metering points we first hear of from DataHub (BRS-044). */
  priceAreaOf: (gridArea: string) => PriceArea | null;
  logger?: ProcessManagerLogger;
}

/** Routing keys the process manager's queue is bound to. */
export const PROCESS_MANAGER_BINDINGS: readonly string[] = [
  'portfolio.change-of-supplier-requested',
  'portfolio.move-in-requested',
  'portfolio.move-out-requested',
  'portfolio.end-of-supply-requested',
  'portfolio.incorrect-switch-requested',
  'portfolio.forced-switch-received',
  'datahub.data-hub-request-sent',
  'datahub.data-hub-answer-received',
  'datahub.data-hub-notification-received',
  'datahub.metering-point-master-data-received',
];

export const PROCESS_ANOMALY_RECORDED = 'ProcessAnomalyRecorded';
export const processAnomalyStreamId = (triggerEventId: string): string => `process-anomaly-${triggerEventId}`;

/** `waiting`: nothing to do yet (an effective date not reached); the same trigger may be handled again later. */
export type Reaction =
  | { outcome: 'applied'; steps: string[] }
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'waiting'; reason: string }
  | { outcome: 'anomaly'; code: string; message: string };

/**
 * Not an event in the store: the trigger the effective-date scheduler hands to the process manager
 * for an `AwaitingEffectiveDate` entry. Its id is derived from the early DataHub event and the
 * process, so every tick sends the same idempotent commands.
 */
export const EFFECTIVE_DATE_REACHED = 'EffectiveDateReached';

export function effectiveDateReached(entry: AwaitingEffectiveDate): TriggerEvent {
  return {
    eventId: deterministicEventId(entry.triggerEventId, `effective-date:${entry.processId}`, 0),
    type: EFFECTIVE_DATE_REACHED,
    data: { processId: entry.processId, gsrn: entry.gsrn, effectiveDate: entry.effectiveDate, triggerEventId: entry.triggerEventId },
    metadata: { correlationId: entry.correlationId, causationId: entry.triggerEventId, actor: 'portfolio-effective-date-scheduler', schemaVersion: 1, context: PORTFOLIO_CONTEXT },
  };
}

const STARTED_TYPES = ['ChangeOfSupplierRequested', 'MoveInRequested', 'MoveOutRequested', 'EndOfSupplyRequested', 'IncorrectSwitchRequested', 'ForcedSwitchReceived'];
const FORCED_SWITCH_PROCESS_TYPE = 'D31';
const ACTOR = 'portfolio-process-manager';

function invalidEvent(message: string): DomainRuleViolation {
  return new DomainRuleViolation('invalid-event', message);
}

function str(data: JsonObject, key: string): string {
  const value = data[key];
  if (typeof value !== 'string' || value === '') throw invalidEvent(`data.${key} must be a non-empty string`);
  return value;
}

function strOrNull(data: JsonObject, key: string): string | null {
  const value = data[key];
  return typeof value === 'string' && value !== '' ? value : null;
}

/** `validityStart` is an instant (local midnight in UTC) or a date; the local date is the day it applies from. */
export function validityDateOf(value: string): LocalDate {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const instant = new Date(value);
  if (Number.isNaN(instant.getTime())) throw invalidEvent(`validityStart ${JSON.stringify(value)} is neither a date nor an instant`);
  return localDateOf(instant);
}

interface MeteringPointNews {
  kind: 'master-data' | 'notification';
  documentId: string;
  gsrn: string;
  validityDate: LocalDate;
  processType: string | null;
  originalTransactionId: string | null;
  meteringPointType: string | null;
  settlementMethod: string | null;
  gridArea: string | null;
}

function meteringPointNews(event: TriggerEvent): MeteringPointNews {
  const d = event.data;
  const masterData = event.type === 'MeteringPointMasterDataReceived';
  return {
    kind: masterData ? 'master-data' : 'notification',
    documentId: str(d, 'documentId'),
    gsrn: str(d, 'gsrn'),
    validityDate: validityDateOf(str(d, 'validityStart')),
    processType: strOrNull(d, 'processType'),
    originalTransactionId: strOrNull(d, 'originalTransactionId'),
    meteringPointType: masterData ? strOrNull(d, 'meteringPointType') : null,
    settlementMethod: masterData ? strOrNull(d, 'settlementMethod') : null,
    gridArea: masterData ? strOrNull(d, 'gridArea') : null,
  };
}

const METERING_POINT_TYPES: readonly MeteringPointType[] = ['E17', 'E18', 'E20'];
const SETTLEMENT_METHODS: readonly SettlementMethod[] = ['D01', 'E02'];

/**
 * The portfolio's process manager: turns DataHub's answers, master data and notifications (and the
 * portfolio's own requests) into commands on the process, metering point and customer aggregates.
 *
 * Every command it sends uses an idempotency key derived from the triggering event id and the step,
 * so handling the same event again appends nothing new. A command the domain refuses (an illegal
 * transition, an unknown process) does not throw: it is recorded once as `ProcessAnomalyRecorded`
 * on `process-anomaly-<eventId>` and the event counts as handled; only other (transient) errors throw.
 */
export class ProcessManager {
  private readonly logger: ProcessManagerLogger;

  constructor(private readonly deps: ProcessManagerDeps) {
    this.logger = deps.logger ?? { log: () => undefined, warn: () => undefined };
  }

  async handle(event: TriggerEvent, index: ProcessIndex): Promise<Reaction> {
    const run = new Run(this.deps, event);
    try {
      const reaction = await this.dispatch(run, event, index);
      if (reaction.outcome === 'applied' && run.steps.length > 0) this.logger.log(`${event.type} ${event.eventId}: ${run.steps.join(', ')}`);
      return reaction;
    } catch (error) {
      if (!(error instanceof DomainRuleViolation)) throw error;
      await this.recordAnomaly(run, event, error);
      this.logger.warn(`${event.type} ${event.eventId}: refused (${error.code}): ${error.message}`);
      return { outcome: 'anomaly', code: error.code, message: error.message };
    }
  }

  private async dispatch(run: Run, event: TriggerEvent, index: ProcessIndex): Promise<Reaction> {
    const context = event.metadata.context;
    if (context === PORTFOLIO_CONTEXT && STARTED_TYPES.includes(event.type)) {
      await index.add({ gsrn: str(event.data, 'gsrn'), processId: str(event.data, 'processId') });
      return { outcome: 'applied', steps: [] };
    }
    if (context === PORTFOLIO_CONTEXT && event.type === EFFECTIVE_DATE_REACHED) return this.onEffectiveDateReached(run, str(event.data, 'processId'));
    if (context !== 'datahub') return { outcome: 'ignored', reason: `not a process manager event: ${context}/${event.type}` };
    switch (event.type) {
      case 'DataHubRequestSent':
        return this.onRequestSent(run, event, index);
      case 'DataHubAnswerReceived':
        return this.onAnswer(run, event, index);
      case 'MeteringPointMasterDataReceived':
      case 'DataHubNotificationReceived':
        return this.onMeteringPointNews(run, meteringPointNews(event), index);
      default:
        return { outcome: 'ignored', reason: `no reaction to ${event.type}` };
    }
  }

  private async requireProcess(processId: string, what: string): Promise<ProcessCase> {
    const { state } = await loadProcess(this.deps.store, processId);
    if (state.status === 'none') throw new DomainRuleViolation('unknown-process', `${what} refers to process ${processId}, which does not exist`);
    return state;
  }

  private async onRequestSent(run: Run, event: TriggerEvent, index: ProcessIndex): Promise<Reaction> {
    const processId = str(event.data, 'processId');
    // A sent cancellation (RSM-002) changes nothing here: the process was cancelled when we decided to.
    if (event.data.action === 'cancel') return run.applied();
    const process = await this.requireProcess(processId, 'DataHubRequestSent');
    await index.add({ gsrn: process.gsrn, processId });
    // DataHub's answer can overtake our own record of sending (two consumers, two streams): the answer marked it sent.
    if (process.status !== 'created') return { outcome: 'ignored', reason: `process ${processId} is ${process.status}; the request was already known to be sent` };
    await run.process(processId, 'sent', { type: 'MarkRequestSent', data: { processId, messageId: str(event.data, 'documentId'), now: run.now } });
    return run.applied();
  }

  private async onAnswer(run: Run, event: TriggerEvent, index: ProcessIndex): Promise<Reaction> {
    // datahub-integration resolves an answer to our process; a cancellation's answer refers to the RSM-002, not the process.
    const processId = strOrNull(event.data, 'processId') ?? strOrNull(event.data, 'originalTransactionId');
    if (processId === null) throw new DomainRuleViolation('unknown-process', 'DataHubAnswerReceived has no originalTransactionId');
    const process = await this.requireProcess(processId, 'DataHubAnswerReceived');
    await index.add({ gsrn: process.gsrn, processId });
    const dataHubMessageId = str(event.data, 'documentId');
    const accepted = event.data.accepted === true;
    if (accepted && process.status === 'cancelled') {
      // DataHub's acceptance of our RSM-002 (the cancellation) refers to the same transaction.
      return { outcome: 'ignored', reason: `process ${processId} is cancelled; acceptance of the cancellation` };
    }
    if (process.status === 'created') {
      // An answer proves the request was sent, even if our record of sending has not arrived yet.
      await run.process(processId, 'sent', { type: 'MarkRequestSent', data: { processId, messageId: `answered-by:${dataHubMessageId}`, now: run.now } });
    }
    if (accepted) {
      await run.process(processId, 'accepted', { type: 'RecordDataHubAcceptance', data: { processId, dataHubMessageId, now: run.now } });
      // BRS-003 takes effect on acceptance: DataHub sends no RSM-004 for the voided supply.
      if (process.kind === 'incorrect-switch') await this.reverseSwitch(run, await this.requireProcess(processId, 'DataHubAnswerReceived'));
    } else {
      const reasons = Array.isArray(event.data.reasons) ? event.data.reasons : [];
      const first = reasons[0];
      const reason = typeof first === 'object' && first !== null && !Array.isArray(first) ? first : {};
      await run.process(processId, 'rejected', {
        type: 'RecordDataHubRejection',
        data: {
          processId,
          dataHubMessageId,
          reasonCode: typeof reason.code === 'string' ? reason.code : 'unknown',
          reasonText: typeof reason.text === 'string' ? reason.text : '',
          now: run.now,
        },
      });
    }
    return run.applied();
  }

  /** RSM-022 master data or RSM-004 notification about a metering point. */
  private async onMeteringPointNews(run: Run, news: MeteringPointNews, index: ProcessIndex): Promise<Reaction> {
    const processes = await this.processesOf(news, index);
    const due = processes.filter((p) => p.status === 'pending' && p.effectiveDate <= news.validityDate).sort((a, b) => a.effectiveDate.localeCompare(b.effectiveDate));
    const ours = processes.some((p) => p.processId === news.originalTransactionId || (p.effectiveDate === news.validityDate && (p.status === 'pending' || p.status === 'active')));

    if (due.length === 0 && !ours && news.processType === FORCED_SWITCH_PROCESS_TYPE) {
      due.push(await this.receiveForcedSwitch(run, news, index));
    }
    if (news.kind === 'master-data') await this.applyMasterData(run, news, due.length > 0);

    const today = localDateOf(run.now);
    for (const process of due) {
      if (process.effectiveDate > today) {
        // Early (DataHub may send master data ahead of the date): the scheduler confirms it on the date.
        await index.awaitEffectiveDate({ processId: process.processId, gsrn: process.gsrn, effectiveDate: process.effectiveDate, triggerEventId: run.triggerEventId, correlationId: run.metadata.correlationId });
        run.note(`process ${process.processId} awaits its effective date ${process.effectiveDate}`);
        continue;
      }
      await this.takeEffect(run, process);
    }
    if (due.length === 0 && !ours && news.kind === 'notification') await this.switchedAway(run, news);
    return run.applied();
  }

  private async processesOf(news: MeteringPointNews, index: ProcessIndex): Promise<ProcessCase[]> {
    const ids = new Set(await index.processIdsFor(news.gsrn));
    if (news.originalTransactionId !== null) ids.add(news.originalTransactionId);
    const found: ProcessCase[] = [];
    for (const id of ids) {
      const { state } = await loadProcess(this.deps.store, id);
      if (state.status !== 'none' && state.gsrn === news.gsrn) found.push(state);
    }
    return found;
  }

  /** RSM-022: update what we know, or register the point when DataHub gives it to us first (BRS-044). */
  private async applyMasterData(run: Run, news: MeteringPointNews, needed: boolean): Promise<void> {
    const mp = await loadMeteringPoint(this.deps.store, news.gsrn);
    const known = mp.status === 'registered' ? mp.masterData : null;
    if (!known && !needed) return;
    const type = METERING_POINT_TYPES.find((t) => t === news.meteringPointType) ?? known?.type;
    const settlementMethod = SETTLEMENT_METHODS.find((m) => m === news.settlementMethod) ?? known?.settlementMethod;
    const gridArea = news.gridArea ?? known?.gridArea;
    const priceArea = (gridArea !== undefined ? this.deps.priceAreaOf(gridArea) : null) ?? known?.priceArea;
    if (type === undefined || settlementMethod === undefined || gridArea === undefined || priceArea === undefined) {
      throw new DomainRuleViolation(
        'incomplete-master-data',
        `master data ${news.documentId} for ${news.gsrn}: cannot ${known ? 'update' : 'register'} the metering point (type ${String(type)}, settlement method ${String(settlementMethod)}, grid area ${String(gridArea)}, price area ${String(priceArea)})`,
      );
    }
    const masterData: MeteringPointMasterData = { type, settlementMethod, gridArea, priceArea, linkedProductionGsrn: known?.linkedProductionGsrn ?? null };
    if (known) {
      await run.meteringPoint(news.gsrn, 'master-data', { type: 'UpdateMasterData', data: { gsrn: news.gsrn, ...masterData, effectiveDate: news.validityDate, now: run.now } });
    } else {
      await run.meteringPoint(news.gsrn, 'register', { type: 'RegisterMeteringPoint', data: { gsrn: news.gsrn, ...masterData, source: 'datahub-rsm022', now: run.now } });
    }
  }

  /** BRS-044: DataHub moved the point to us unasked. One case per GSRN and date, whichever message comes first. */
  private async receiveForcedSwitch(run: Run, news: MeteringPointNews, index: ProcessIndex): Promise<ProcessCase> {
    const caseKey = `brs-044:${news.gsrn}:${news.validityDate}`;
    const processId = deterministicEventId(caseKey, 'process', 0);
    const customerId = deterministicEventId(caseKey, 'customer', 0);
    const supplyTerms: SupplyTerms = { productId: this.deps.defaultProductId, billingFrequency: 'monthly', paymentModel: 'actual' };
    await run.process(processId, 'forced-switch', {
      type: 'ReceiveForcedSwitch',
      data: { processId, gsrn: news.gsrn, customerId, effectiveDate: news.validityDate, dataHubMessageId: news.documentId, now: run.now, supplyTerms },
    });
    await index.add({ gsrn: news.gsrn, processId });
    // RSM-028 carries no CPR: a sealed placeholder until customer service completes the customer.
    const personalData = await this.deps.protector.encrypt(customerId, { name: null, email: null, phone: null, cpr: null, cvr: null, source: 'datahub-brs-044' });
    await run.customer(customerId, 'onboard', {
      type: 'OnboardForcedSwitchCustomer',
      data: { customerId, customerType: 'private', personalData, gsrn: news.gsrn, processId, effectiveDate: news.validityDate },
    });
    return this.requireProcess(processId, 'forced switch');
  }

  /** The effective-date scheduler: a process whose news arrived early has reached its date. */
  private async onEffectiveDateReached(run: Run, processId: string): Promise<Reaction> {
    const process = await this.requireProcess(processId, EFFECTIVE_DATE_REACHED);
    if (process.status !== 'pending') return { outcome: 'ignored', reason: `process ${processId} is ${process.status}` };
    const today = localDateOf(run.now);
    if (process.effectiveDate > today) return { outcome: 'waiting', reason: `process ${processId} takes effect on ${process.effectiveDate}; today is ${today}` };
    await this.takeEffect(run, process);
    return run.applied();
  }

  private async takeEffect(run: Run, process: ProcessCase): Promise<void> {
    if (PROCESS_KIND_INFO[process.kind].startsSupply) await this.startSupply(run, process);
    else await this.endSupply(run, process);
  }

  private async startSupply(run: Run, process: ProcessCase): Promise<void> {
    const mp = await loadMeteringPoint(this.deps.store, process.gsrn);
    if (mp.status === 'none') {
      // A notification can come before the master data (BRS-044): wait for RSM-022.
      run.note(`process ${process.processId} waits for master data of ${process.gsrn}`);
      return;
    }
    const { processId, gsrn, customerId, effectiveDate } = process;
    const terms = process.started.data.supplyTerms ?? { productId: this.deps.defaultProductId, billingFrequency: 'monthly', paymentModel: 'actual' };
    await run.process(processId, 'effective', { type: 'ConfirmEffective', data: { processId, now: run.now } });
    // BRS-009: a move-in ends the previous supply on the metering point from its date. When the one moving out is our
    // own customer, DataHub sees no change of supplier (and tells us nothing else): we end that supply here.
    const previous = process.kind === 'move-in' ? openSupply(mp) : undefined;
    if (previous !== undefined && previous.customerId !== customerId && previous.startDate < effectiveDate) {
      await run.meteringPoint(gsrn, `end-${previous.processId}`, { type: 'EndSupply', data: { gsrn, processId: previous.processId, endDate: effectiveDate, reason: 'move-out', now: run.now } });
      await run.customer(previous.customerId, `offboard-${gsrn}`, { type: 'OffboardCustomer', data: { customerId: previous.customerId, gsrn, endDate: effectiveDate, reason: 'move-out' } });
    }
    await run.meteringPoint(gsrn, `start-${processId}`, { type: 'StartSupply', data: { gsrn, processId, customerId, startDate: effectiveDate, now: run.now, terms } });
    await run.customer(customerId, `activate-${gsrn}`, { type: 'ActivateCustomer', data: { customerId, gsrn, effectiveDate } });
  }

  private async endSupply(run: Run, process: ProcessCase): Promise<void> {
    const { processId, gsrn, customerId, effectiveDate } = process;
    if (process.kind === 'incorrect-switch') return this.reverseSwitch(run, process);
    const reason: SupplyEndReason & OffboardingReason = process.kind === 'move-out' ? 'move-out' : 'end-of-supply';
    const period = openSupply(await loadMeteringPoint(this.deps.store, gsrn), customerId);
    if (!period) throw new DomainRuleViolation('not-active', `process ${processId}: customer ${customerId} has no running supply on ${gsrn} to end`);
    await run.process(processId, 'effective', { type: 'ConfirmEffective', data: { processId, now: run.now } });
    await run.meteringPoint(gsrn, `end-${period.processId}`, { type: 'EndSupply', data: { gsrn, processId: period.processId, endDate: effectiveDate, reason, now: run.now } });
    await run.customer(customerId, `offboard-${gsrn}`, { type: 'OffboardCustomer', data: { customerId, gsrn, endDate: effectiveDate, reason } });
    await run.process(processId, 'completed', { type: 'CompleteProcess', data: { processId, now: run.now } });
  }

  /**
   * BRS-003 accepted: the switch it names is void from its start. The BRS-003 case takes effect, the
   * switch is marked reversed, the supply period reversed (`SupplyReversed`: settlement credits what
   * it invoiced for it), the customer offboarded with reason incorrect-switch, and the case completed.
   */
  private async reverseSwitch(run: Run, process: ProcessCase): Promise<void> {
    if (process.status !== 'pending') return;
    const { processId, gsrn, customerId, effectiveDate } = process;
    if (process.started.type !== 'IncorrectSwitchRequested') throw invalidEvent(`process ${processId} is not an incorrect switch`);
    const switchProcessId = process.started.data.reversedProcessId;
    await run.process(processId, 'effective', { type: 'ConfirmEffective', data: { processId, now: run.now } });
    await run.process(switchProcessId, `reverse-${processId}`, { type: 'ReverseSwitch', data: { processId: switchProcessId, incorrectSwitchProcessId: processId, now: run.now } });
    await run.meteringPoint(gsrn, `reverse-${switchProcessId}`, { type: 'ReverseSupply', data: { gsrn, processId: switchProcessId, incorrectSwitchProcessId: processId, now: run.now } });
    await run.customer(customerId, `offboard-${gsrn}`, { type: 'OffboardCustomer', data: { customerId, gsrn, endDate: effectiveDate, reason: 'incorrect-switch' } });
    await run.process(processId, 'completed', { type: 'CompleteProcess', data: { processId, now: run.now } });
  }

  /** RSM-004 for a point we supply, from a process that is not ours: another supplier takes over. */
  private async switchedAway(run: Run, news: MeteringPointNews): Promise<void> {
    const mp = await loadMeteringPoint(this.deps.store, news.gsrn);
    const period = openSupply(mp);
    if (!period || period.startDate >= news.validityDate) return;
    const { gsrn, validityDate } = news;
    await run.meteringPoint(gsrn, `end-${period.processId}`, { type: 'EndSupply', data: { gsrn, processId: period.processId, endDate: validityDate, reason: 'switched-away', now: run.now } });
    await run.customer(period.customerId, `offboard-${gsrn}`, { type: 'OffboardCustomer', data: { customerId: period.customerId, gsrn, endDate: validityDate, reason: 'switched-away' } });
  }

  private async recordAnomaly(run: Run, event: TriggerEvent, error: DomainRuleViolation): Promise<void> {
    const streamId = processAnomalyStreamId(event.eventId);
    const data: JsonObject = {
      triggerEventId: event.eventId,
      triggerType: event.type,
      processId: strOrNull(event.data, 'processId') ?? strOrNull(event.data, 'originalTransactionId'),
      gsrn: strOrNull(event.data, 'gsrn'),
      code: error.code,
      message: error.message,
      stepsDone: run.steps,
      at: run.now.toISOString(),
    };
    try {
      await this.deps.store.appendToStream(
        streamId,
        [{ eventId: deterministicEventId(event.eventId, streamId, 0), type: PROCESS_ANOMALY_RECORDED, data, metadata: run.metadata, occurredAt: run.now }],
        { expectedRevision: 'no_stream' },
      );
    } catch (appendError) {
      // Recorded by an earlier delivery of the same event.
      if (!(appendError instanceof WrongExpectedRevisionError) && !(appendError instanceof DuplicateEventIdError)) throw appendError;
    }
  }
}

function openSupply(mp: MeteringPointState, customerId?: string): SupplyPeriod | undefined {
  if (mp.status === 'none') return undefined;
  return mp.supplyPeriods.find((p) => p.endDate === null && p.reversedBy === null && (customerId === undefined || p.customerId === customerId));
}

/** One reaction: its clock, metadata and the commands it sent (each idempotent under `<eventId>:<step>`). */
class Run {
  readonly now: Date;
  readonly metadata: EventMetadata;
  readonly steps: string[] = [];
  readonly triggerEventId: string;

  constructor(
    private readonly deps: ProcessManagerDeps,
    private readonly event: TriggerEvent,
  ) {
    this.now = deps.clock();
    this.triggerEventId = event.eventId;
    this.metadata = { correlationId: event.metadata.correlationId, causationId: event.eventId, actor: ACTOR, schemaVersion: 1, context: PORTFOLIO_CONTEXT };
  }

  applied(): Reaction {
    return { outcome: 'applied', steps: this.steps };
  }

  note(message: string): void {
    this.steps.push(message);
  }

  process(processId: string, step: string, command: ProcessCommand): Promise<void> {
    return this.send(processStreamId(processId), step, processDecider, command, command.type);
  }

  meteringPoint(gsrn: string, step: string, command: MeteringPointCommand): Promise<void> {
    return this.send(meteringPointStreamId(gsrn), step, meteringPointDecider, command, command.type);
  }

  customer(customerId: string, step: string, command: CustomerCommand): Promise<void> {
    return this.send(customerStreamId(customerId), step, customerDecider, command, command.type);
  }

  private async send<C, S, E extends DomainEvent>(streamId: string, step: string, decider: Decider<C, S, E>, command: C, name: string): Promise<void> {
    const result = await handleCommand({ store: this.deps.store, streamId, decider, command, metadata: this.metadata, now: this.now, idempotencyKey: `${this.event.eventId}:${step}` });
    if (result.events.length > 0) this.steps.push(`${name} → ${result.events.map((e) => e.type).join('+')}`);
  }
}

