import { WrongExpectedRevisionError, type EventStore, type JsonValue } from '@dh/event-store';
import { CommandError, type CommandContext, type CommandHandlers } from '@dh/messaging';
import { defineProduct, mapGridArea, setElectricityTaxRate } from './configuration';
import { correctChargePrices, correctSpotPrices } from './manual-corrections';
import { EdsRequestError, type EdsClient } from './eds-client';
import { InvalidRatesCommandError, MalformedEdsDataError } from './errors';
import type { RatesCommandContext } from './events';
import { ingestCharges, type IngestChargesRequest } from './ingest-charges';
import { ingestSpotPrices } from './ingest-spot-prices';

/** Turns the rates use cases' typed refusals into typed command replies. */
export async function asCommandReply<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof InvalidRatesCommandError) throw new CommandError('InvalidCommand', error.message, { field: error.field });
    if (error instanceof MalformedEdsDataError) {
      throw new CommandError(
        'MalformedEdsData',
        error.message,
        error.problems.slice(0, 100).map((p) => ({ dataset: p.dataset, index: p.index, field: p.field, problem: p.problem })),
      );
    }
    if (error instanceof EdsRequestError) throw new CommandError('EdsUnavailable', error.message, { dataset: error.dataset, status: error.status });
    if (error instanceof WrongExpectedRevisionError) throw new CommandError('concurrency-conflict', error.message, { streamId: error.streamId });
    throw error;
  }
}

export const RATES_SERVICE = 'rates';

export interface RatesCommandDeps {
  store: EventStore;
  /** Null when no Energi Data Service is configured: the ingest commands are refused. */
  eds: EdsClient | null;
  clock?: () => Date;
}

function objectOf(payload: JsonValue): { [key: string]: JsonValue } {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new InvalidRatesCommandError('(payload)', 'must be a JSON object');
  return payload;
}

function stringField(p: { [key: string]: JsonValue }, field: string): string {
  const v = p[field];
  if (typeof v !== 'string') throw new InvalidRatesCommandError(field, 'must be a string');
  return v;
}

function stringList(p: { [key: string]: JsonValue }, field: string): string[] | undefined {
  const v = p[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) throw new InvalidRatesCommandError(`filter.${field}`, 'must be an array of strings');
  return v;
}

function chargesRequestOf(payload: JsonValue): IngestChargesRequest {
  const p = objectOf(payload);
  const request: IngestChargesRequest = { from: stringField(p, 'from'), to: stringField(p, 'to') };
  if (p['filter'] !== undefined && p['filter'] !== null) {
    const f = objectOf(p['filter']);
    const filter: NonNullable<IngestChargesRequest['filter']> = {};
    const gln = stringList(f, 'GLN_Number');
    const type = stringList(f, 'ChargeType');
    const code = stringList(f, 'ChargeTypeCode');
    if (gln !== undefined) filter.GLN_Number = gln;
    if (type !== undefined) filter.ChargeType = type;
    if (code !== undefined) filter.ChargeTypeCode = code;
    request.filter = filter;
  }
  return request;
}

/** Results are plain JSON for the reply. */
function json(value: unknown): JsonValue {
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}

/**
 * The rates commands on `commands.rates`:
 * `IngestSpotPrices { priceArea, from, to }`, `IngestCharges { from, to, filter? }`,
 * `DefineProduct`, `SetElectricityTaxRate`, `MapGridArea` (payloads as the events they produce),
 * `CorrectSpotPrices { priceArea, deliveryDate, prices: [{ start, dkkPerMwh }], reason }` and
 * `CorrectChargePrices { chargeId, rows: [...], reason }` (manual corrections, see manual-corrections.ts).
 */
export function ratesCommandHandlers(deps: RatesCommandDeps): CommandHandlers {
  const clock = deps.clock ?? (() => new Date());
  const contextOf = (context: CommandContext): RatesCommandContext => ({
    correlationId: context.correlationId,
    causationId: context.causationId,
    actor: context.actor ?? 'unknown',
    now: clock(),
  });
  const eds = (): EdsClient => {
    if (deps.eds === null) throw new InvalidRatesCommandError('EDS_URL', 'is not configured: this rates instance cannot ingest from Energi Data Service');
    return deps.eds;
  };
  return {
    IngestSpotPrices: (payload, context) =>
      asCommandReply(async () => {
        const p = objectOf(payload);
        const request = { priceArea: stringField(p, 'priceArea'), from: stringField(p, 'from'), to: stringField(p, 'to') };
        return json(await ingestSpotPrices({ store: deps.store, eds: eds() }, request, contextOf(context)));
      }),
    IngestCharges: (payload, context) => asCommandReply(async () => json(await ingestCharges({ store: deps.store, eds: eds() }, chargesRequestOf(payload), contextOf(context)))),
    DefineProduct: (payload, context) => asCommandReply(async () => json(await defineProduct(deps, payload, contextOf(context)))),
    SetElectricityTaxRate: (payload, context) => asCommandReply(async () => json(await setElectricityTaxRate(deps, payload, contextOf(context)))),
    MapGridArea: (payload, context) => asCommandReply(async () => json(await mapGridArea(deps, payload, contextOf(context)))),
    CorrectSpotPrices: (payload, context) => asCommandReply(async () => json(await correctSpotPrices(deps, payload, contextOf(context)))),
    CorrectChargePrices: (payload, context) => asCommandReply(async () => json(await correctChargePrices(deps, payload, contextOf(context)))),
  };
}
