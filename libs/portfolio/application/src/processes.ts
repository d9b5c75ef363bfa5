import { randomUUID } from 'node:crypto';
import { deterministicEventId, handleCommand, type EventStore, type JsonValue } from '@dh/event-store';
import {
  DomainRuleViolation,
  PROCESS_KIND_INFO,
  processDecider,
  REVERSIBLE_KINDS,
  processStreamId,
  type CancellationReason,
  type EndOfSupplyReason,
  type ProcessStartCommand,
  type SupplyTerms,
} from '@dh/portfolio-domain';
import { portfolioMetadata, type CommandContext } from './create-customer';
import { localDate, oneOf, optionalBoolean, optionalString, requiredString, type Payload } from './payload';
import { loadCustomer, loadMeteringPoint, loadProcess } from './streams';

export interface ProcessRequest {
  customerId: string;
  gsrn: string;
  effectiveDate: string;
}
export interface SupplyRequest extends ProcessRequest {
  supplyTerms: SupplyTerms;
}
export interface EndOfSupplyRequest extends ProcessRequest {
  endReason: EndOfSupplyReason;
}

export const BILLING_FREQUENCIES = ['monthly', 'quarterly'] as const;
export const PAYMENT_MODELS = ['aconto', 'actual'] as const;
export const END_OF_SUPPLY_REASONS: readonly EndOfSupplyReason[] = ['non-payment', 'contract-ended', 'other'];
export const CANCELLATION_REASONS: readonly CancellationReason[] = ['customer-withdrew', 'customer-paid', 'requested-in-error'];

export function parseProcessRequest(payload: Payload): ProcessRequest {
  return { customerId: requiredString(payload, 'customerId'), gsrn: requiredString(payload, 'gsrn'), effectiveDate: localDate(payload, 'effectiveDate') };
}

export function parseSupplyRequest(payload: Payload): SupplyRequest {
  return {
    ...parseProcessRequest(payload),
    supplyTerms: {
      productId: requiredString(payload, 'productId'),
      billingFrequency: oneOf(payload, 'billingFrequency', BILLING_FREQUENCIES),
      paymentModel: oneOf(payload, 'paymentModel', PAYMENT_MODELS),
      electricHeating: optionalBoolean(payload, 'electricHeating') ?? false,
    },
  };
}

export function parseEndOfSupplyRequest(payload: Payload): EndOfSupplyRequest {
  return { ...parseProcessRequest(payload), endReason: optionalString(payload, 'endReason') === undefined ? 'other' : oneOf(payload, 'endReason', END_OF_SUPPLY_REASONS) };
}

/**
 * The process id is a UUID and also the transaction id (MktActivityRecord mRID) of the request to
 * DataHub. With an idempotency key it is derived from it, so a retried request names the same case.
 */
function newProcessId(context: CommandContext): string {
  return context.idempotencyKey !== undefined ? deterministicEventId(context.idempotencyKey, 'process', 0) : randomUUID();
}

async function assertParties(store: EventStore, request: ProcessRequest): Promise<void> {
  const customer = await loadCustomer(store, request.customerId);
  if (customer.state.status === 'none') throw new DomainRuleViolation('unknown-customer', `Customer ${request.customerId} does not exist`);
  const meteringPoint = await loadMeteringPoint(store, request.gsrn);
  if (meteringPoint.status === 'none') {
    throw new DomainRuleViolation('unknown-metering-point', `Metering point ${request.gsrn} is not registered; register it from Eloverblik first (RegisterMeteringPoint)`);
  }
}

async function startProcess(
  store: EventStore,
  request: ProcessRequest,
  context: CommandContext,
  build: (processId: string) => ProcessStartCommand,
): Promise<{ processId: string }> {
  await assertParties(store, request);
  const processId = newProcessId(context);
  await handleCommand({
    store,
    streamId: processStreamId(processId),
    decider: processDecider,
    command: build(processId),
    metadata: portfolioMetadata(context),
    now: context.now,
    idempotencyKey: context.idempotencyKey,
  });
  return { processId };
}

/** BRS-001 change of supplier (RSM-001, E03). */
export function requestSwitch(deps: { store: EventStore }, request: SupplyRequest, context: CommandContext): Promise<{ processId: string }> {
  return startProcess(deps.store, request, context, (processId) => ({
    type: 'RequestChangeOfSupplier',
    data: { processId, gsrn: request.gsrn, customerId: request.customerId, effectiveDate: request.effectiveDate, now: context.now, supplyTerms: request.supplyTerms },
  }));
}

/** BRS-009 move-in (RSM-001, E65). */
export function requestMoveIn(deps: { store: EventStore }, request: SupplyRequest, context: CommandContext): Promise<{ processId: string }> {
  return startProcess(deps.store, request, context, (processId) => ({
    type: 'RequestMoveIn',
    data: { processId, gsrn: request.gsrn, customerId: request.customerId, effectiveDate: request.effectiveDate, now: context.now, supplyTerms: request.supplyTerms },
  }));
}

/** BRS-010 move-out (E66). */
export function requestMoveOut(deps: { store: EventStore }, request: ProcessRequest, context: CommandContext): Promise<{ processId: string }> {
  return startProcess(deps.store, request, context, (processId) => ({
    type: 'RequestMoveOut',
    data: { processId, gsrn: request.gsrn, customerId: request.customerId, effectiveDate: request.effectiveDate, now: context.now },
  }));
}

/** BRS-002 end of supply (E20). */
export function requestEndOfSupply(deps: { store: EventStore }, request: EndOfSupplyRequest, context: CommandContext): Promise<{ processId: string }> {
  return startProcess(deps.store, request, context, (processId) => ({
    type: 'RequestEndOfSupply',
    data: { processId, gsrn: request.gsrn, customerId: request.customerId, effectiveDate: request.effectiveDate, now: context.now, endReason: request.endReason },
  }));
}

export function parseIncorrectSwitchRequest(payload: Payload): { switchProcessId: string } {
  return { switchProcessId: requiredString(payload, 'processId') };
}

/**
 * BRS-003 incorrect switch (RSM-003, D07) for the switch `switchProcessId` after its effective date:
 * only an active switch (BRS-001/009/044), only the latest supply on its metering point, within 180
 * days (the process decider checks the days). The new case names the switch's customer, GSRN and
 * effective date; DataHub's acceptance reverses the supply (process manager).
 */
export async function requestIncorrectSwitch(deps: { store: EventStore }, request: { switchProcessId: string }, context: CommandContext): Promise<{ processId: string }> {
  const { state: reversed } = await loadProcess(deps.store, request.switchProcessId);
  if (reversed.status === 'none') throw new DomainRuleViolation('unknown-process', `Process ${request.switchProcessId} does not exist`);
  const what = `process ${reversed.processId} (${reversed.kind}, ${PROCESS_KIND_INFO[reversed.kind].brs}) is ${reversed.status}`;
  if (!REVERSIBLE_KINDS.includes(reversed.kind)) throw new DomainRuleViolation('illegal-transition', `${what}; only a switch (BRS-001, BRS-009, BRS-044) can be declared incorrect`);
  if (reversed.status !== 'active') {
    throw new DomainRuleViolation(
      'illegal-transition',
      `${what}; an incorrect switch (BRS-003) needs a switch that has taken effect${reversed.status === 'pending' || reversed.status === 'requested' || reversed.status === 'created' ? ' (before the effective date, cancel it instead)' : ''}`,
    );
  }
  const meteringPoint = await loadMeteringPoint(deps.store, reversed.gsrn);
  if (meteringPoint.status === 'registered') {
    const standing = meteringPoint.supplyPeriods.filter((p) => p.reversedBy === null);
    const latest = standing.reduce<(typeof standing)[number] | null>((a, b) => (a === null || b.startDate > a.startDate ? b : a), null);
    const period = standing.find((p) => p.processId === reversed.processId);
    if (!period || latest !== period || period.endReason === 'switched-away') {
      throw new DomainRuleViolation('not-latest-switch', `metering point ${reversed.gsrn}: only the latest switch can be reversed (BRS-003); process ${reversed.processId} is not it`);
    }
    if (period.endDate !== null) {
      throw new DomainRuleViolation('supply-ended', `metering point ${reversed.gsrn}: the supply started by process ${reversed.processId} ended on ${period.endDate} (${period.endReason}); an incorrect switch undoes a running supply`);
    }
  }
  return startProcess(deps.store, { customerId: reversed.customerId, gsrn: reversed.gsrn, effectiveDate: reversed.effectiveDate }, context, (processId) => ({
    type: 'RequestIncorrectSwitch',
    data: { processId, gsrn: reversed.gsrn, customerId: reversed.customerId, effectiveDate: reversed.effectiveDate, now: context.now, reversedProcessId: reversed.processId },
  }));
}

export function parseCancelProcess(payload: Payload): { processId: string; reason: CancellationReason } {
  return { processId: requiredString(payload, 'processId'), reason: oneOf(payload, 'reason', CANCELLATION_REASONS) };
}

/** Withdraws a case before its effective date (RSM-002 inside BRS-001, or inside BRS-002/009/010). */
export async function cancelProcess(
  deps: { store: EventStore },
  request: { processId: string; reason: CancellationReason },
  context: CommandContext,
): Promise<{ processId: string; status: string }> {
  const result = await handleCommand({
    store: deps.store,
    streamId: processStreamId(request.processId),
    decider: processDecider,
    command: { type: 'CancelProcess', data: { processId: request.processId, reason: request.reason, now: context.now } },
    metadata: portfolioMetadata(context),
    now: context.now,
    idempotencyKey: context.idempotencyKey,
  });
  return { processId: request.processId, status: result.state.status };
}

/** A process with its whole history, read from its stream (`history` from the public `ProcessStatusChanged` events). */
export async function getProcess(deps: { store: EventStore }, processId: string): Promise<{ [key: string]: JsonValue }> {
  const { state, events } = await loadProcess(deps.store, processId);
  if (state.status === 'none') throw new DomainRuleViolation('unknown-process', `Process ${processId} does not exist`);
  const history: JsonValue[] = events
    .filter((e) => e.type === 'ProcessStatusChanged')
    .map((e) => {
      const reason = e.data.reason;
      return { status: e.data.to ?? null, from: e.data.from ?? null, at: e.data.at ?? e.occurredAt.toISOString(), ...(typeof reason === 'string' ? { reason } : {}) };
    });
  const terms = state.started.data.supplyTerms;
  return {
    processId: state.processId,
    kind: state.kind,
    brs: PROCESS_KIND_INFO[state.kind].brs,
    businessReason: PROCESS_KIND_INFO[state.kind].businessReason,
    status: state.status,
    customerId: state.customerId,
    gsrn: state.gsrn,
    effectiveDate: state.effectiveDate,
    supplyTerms: terms ? { productId: terms.productId, billingFrequency: terms.billingFrequency, paymentModel: terms.paymentModel, electricHeating: terms.electricHeating === true } : null,
    requestMessageId: state.requestMessageId,
    dataHubMessageId: state.dataHubMessageId,
    rejection: state.rejection,
    history,
  };
}
