import { handleCommand, type EventStore } from '@dh/event-store';
import { meteringPointDecider, meteringPointStreamId, type MeteringPointType, type PriceArea, type SettlementMethod } from '@dh/portfolio-domain';
import { portfolioMetadata, type CommandContext } from './create-customer';
import { invalid, oneOf, requiredString, type Payload } from './payload';

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
