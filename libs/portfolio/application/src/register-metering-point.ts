import { localDateOf } from '@dh/dk-time';
import { handleCommand, type EventStore } from '@dh/event-store';
import { meteringPointDecider, meteringPointStreamId, type MeteringPointType, type PriceArea, type SettlementMethod } from '@dh/portfolio-domain';
import { portfolioMetadata, type CommandContext } from './create-customer';
import { invalid, localDate, oneOf, optionalBoolean, optionalString, requiredString, type Payload } from './payload';

export interface RegisterMeteringPointRequest {
  gsrn: string;
  type: MeteringPointType;
  settlementMethod: SettlementMethod;
  gridArea: string;
  priceArea: PriceArea;
  linkedProductionGsrn: string | null;
  source: 'eloverblik';
}

export function parseRegisterMeteringPoint(payload: Payload): RegisterMeteringPointRequest {
  const linked = payload.linkedProductionGsrn;
  if (linked !== undefined && linked !== null && typeof linked !== 'string') throw invalid('linkedProductionGsrn must be a GSRN or null');
  return {
    gsrn: requiredString(payload, 'gsrn'),
    type: oneOf(payload, 'type', ['E17', 'E18', 'E20'] as const),
    settlementMethod: oneOf(payload, 'settlementMethod', ['D01', 'E02'] as const),
    gridArea: requiredString(payload, 'gridArea'),
    priceArea: oneOf(payload, 'priceArea', ['DK1', 'DK2'] as const),
    linkedProductionGsrn: typeof linked === 'string' ? linked : null,
    source: oneOf(payload, 'source', ['eloverblik'] as const),
  };
}

/**
 * Registers a metering point from Eloverblik's master data (before we supply it). Idempotent: the same
 * master data again is `alreadyRegistered`; different master data is refused (`metering-point-exists`).
 */
export async function registerMeteringPoint(
  deps: { store: EventStore },
  request: RegisterMeteringPointRequest,
  context: CommandContext,
): Promise<{ gsrn: string; alreadyRegistered: boolean }> {
  const { gsrn, source, ...masterData } = request;
  const result = await handleCommand({
    store: deps.store,
    streamId: meteringPointStreamId(gsrn),
    decider: meteringPointDecider,
    command: { type: 'RegisterMeteringPoint', data: { gsrn, ...masterData, source, now: context.now } },
    metadata: portfolioMetadata(context),
    now: context.now,
    idempotencyKey: context.idempotencyKey,
  });
  return { gsrn, alreadyRegistered: result.alreadyHandled || result.events.length === 0 };
}

export interface SetElectricHeatingRequest {
  gsrn: string;
  electricHeating: boolean;
  from: string;
}

export function parseSetElectricHeating(payload: Payload): SetElectricHeatingRequest {
  const electricHeating = optionalBoolean(payload, 'electricHeating');
  if (electricHeating === undefined) throw invalid('electricHeating must be true or false');
  return { gsrn: requiredString(payload, 'gsrn'), electricHeating, from: localDate(payload, 'from') };
}

/**
 * A later change of the electric-heating registration (elvarme) of a supplied home, from `from`
 * (a day of a standing supply). Settlement copies `ElectricHeatingSet` and applies the flag in force.
 */
export async function setElectricHeating(deps: { store: EventStore }, request: SetElectricHeatingRequest, context: CommandContext): Promise<{ gsrn: string; changed: boolean }> {
  const result = await handleCommand({
    store: deps.store,
    streamId: meteringPointStreamId(request.gsrn),
    decider: meteringPointDecider,
    command: { type: 'SetElectricHeating', data: { ...request, now: context.now } },
    metadata: portfolioMetadata(context),
    now: context.now,
    idempotencyKey: context.idempotencyKey,
  });
  return { gsrn: request.gsrn, changed: !result.alreadyHandled && result.events.length > 0 };
}

export interface ChangeProductRequest {
  gsrn: string;
  productId: string;
  from: string;
  /** The customer whose supply it must be (the gateway's route names it); absent = whoever's supply runs on `from`. */
  customerId?: string;
}

export function parseChangeProduct(payload: Payload): ChangeProductRequest {
  const customerId = optionalString(payload, 'customerId');
  return { gsrn: requiredString(payload, 'gsrn'), productId: requiredString(payload, 'productId'), from: localDate(payload, 'from'), ...(customerId !== undefined ? { customerId } : {}) };
}

/**
 * The customer supply standing on `from` changes product from that day (`ProductChanged`). Settlement
 * prices the supplied days from `from` with the new product and corrects invoices already issued for them.
 */
export async function changeProduct(deps: { store: EventStore }, request: ChangeProductRequest, context: CommandContext): Promise<{ gsrn: string; changed: boolean }> {
  const result = await handleCommand({
    store: deps.store,
    streamId: meteringPointStreamId(request.gsrn),
    decider: meteringPointDecider,
    command: { type: 'ChangeProduct', data: { ...request, now: context.now } },
    metadata: portfolioMetadata(context),
    now: context.now,
    idempotencyKey: context.idempotencyKey,
  });
  return { gsrn: request.gsrn, changed: !result.alreadyHandled && result.events.length > 0 };
}

export interface LinkProductionMeteringPointRequest {
  gsrn: string;
  productionGsrn: string;
  /** Absent: the day of the command (Europe/Copenhagen). */
  from?: string;
}

export function parseLinkProductionMeteringPoint(payload: Payload): LinkProductionMeteringPointRequest {
  const from = optionalString(payload, 'from');
  return { gsrn: requiredString(payload, 'gsrn'), productionGsrn: requiredString(payload, 'productionGsrn'), ...(from !== undefined ? { from: localDate(payload, 'from') } : {}) };
}

/**
 * Links the production (E18) metering point beside a consumption point (own solar) from `from`.
 * Its RSM-012 series arrives like any metered data (`RecordMeteredData` for the production GSRN);
 * settlement nets it hourly against consumption.
 */
export async function linkProductionMeteringPoint(
  deps: { store: EventStore },
  request: LinkProductionMeteringPointRequest,
  context: CommandContext,
): Promise<{ gsrn: string; productionGsrn: string; from: string; changed: boolean }> {
  const from = request.from ?? localDateOf(context.now);
  const result = await handleCommand({
    store: deps.store,
    streamId: meteringPointStreamId(request.gsrn),
    decider: meteringPointDecider,
    command: { type: 'LinkProductionMeteringPoint', data: { gsrn: request.gsrn, productionGsrn: request.productionGsrn, from, now: context.now } },
    metadata: portfolioMetadata(context),
    now: context.now,
    idempotencyKey: context.idempotencyKey,
  });
  return { gsrn: request.gsrn, productionGsrn: request.productionGsrn, from, changed: !result.alreadyHandled && result.events.length > 0 };
}
