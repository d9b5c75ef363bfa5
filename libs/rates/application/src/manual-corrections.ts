import { compareLocalDates, isLocalDate } from '@dh/dk-time';
import type { EventStore, JsonObject } from '@dh/event-store';
import { isDecimalString } from '@dh/money';
import { isPriceArea } from '@dh/rates-domain';
import { mwhTextToKwhText, sameDecimal } from './decimals';
import { InvalidRatesCommandError } from './errors';
import {
  CHARGE_PRICES_PUBLISHED,
  chargeStreamId,
  SPOT_PRICES_PUBLISHED,
  spotPricesStreamId,
  toEventData,
  type ChargePriceRowData,
  type ChargePricesPublished,
  type RatesCommandContext,
  type SpotPricesPublished,
} from './events';
import { appendIfChanged } from './versioned-append';

/** Longest reason kept with a correction (it is shown to staff and in the event). */
export const MAX_REASON_LENGTH = 500;

export interface CorrectionResult {
  streamId: string;
  /** False when the corrected prices equal the version in force (nothing appended). */
  appended: boolean;
  version: number;
}

function record(payload: unknown): Record<string, unknown> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new InvalidRatesCommandError('(payload)', 'must be a JSON object');
  return payload as Record<string, unknown>;
}

function reasonOf(p: Record<string, unknown>): string {
  const r = p['reason'];
  if (typeof r !== 'string' || r.trim().length === 0 || r.length > MAX_REASON_LENGTH) throw new InvalidRatesCommandError('reason', `must say why the price is corrected (1-${MAX_REASON_LENGTH} characters)`);
  return r.trim();
}

function decimalText(v: unknown, field: string): string {
  if (!isDecimalString(v)) throw new InvalidRatesCommandError(field, `must be a decimal string, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Staff correct day-ahead prices of one delivery day by hand (a published price known to be wrong and not
 * yet corrected by Energi Data Service): a new complete version of the day (`source: manual`, version + 1)
 * with the changed intervals and the reason. Settlement treats it like any new price version: every issued
 * invoice it changes gets a correction note. A later ingest keeps the manual version while Energi Data
 * Service still publishes the values it replaced.
 */
export async function correctSpotPrices(deps: { store: EventStore }, payload: unknown, context: RatesCommandContext): Promise<CorrectionResult> {
  const p = record(payload);
  const priceArea = p['priceArea'];
  if (!isPriceArea(priceArea)) throw new InvalidRatesCommandError('priceArea', `must be DK1 or DK2, got ${JSON.stringify(priceArea)}`);
  const deliveryDate = p['deliveryDate'];
  if (!isLocalDate(deliveryDate)) throw new InvalidRatesCommandError('deliveryDate', `must be a date YYYY-MM-DD, got ${JSON.stringify(deliveryDate)}`);
  const reason = reasonOf(p);
  const list = p['prices'];
  if (!Array.isArray(list) || list.length === 0) throw new InvalidRatesCommandError('prices', 'must list at least one { start, dkkPerMwh }');
  const changes = new Map<number, string>();
  list.forEach((entry: unknown, i) => {
    const e = record(entry);
    const start = typeof e['start'] === 'string' ? Date.parse(e['start']) : Number.NaN;
    if (Number.isNaN(start)) throw new InvalidRatesCommandError(`prices[${i}].start`, 'must be an ISO instant');
    if (changes.has(start)) throw new InvalidRatesCommandError(`prices[${i}].start`, 'repeats an interval');
    changes.set(start, decimalText(e['dkkPerMwh'], `prices[${i}].dkkPerMwh`));
  });
  const streamId = spotPricesStreamId(priceArea, deliveryDate);
  const result = await appendIfChanged(
    deps.store,
    streamId,
    SPOT_PRICES_PUBLISHED,
    (latest) => {
      if (latest === null) throw new InvalidRatesCommandError('deliveryDate', `${priceArea} ${deliveryDate} has no published prices to correct`);
      const day = latest as unknown as SpotPricesPublished;
      const known = new Set(day.prices.map((x) => Date.parse(x.start)));
      for (const start of changes.keys()) {
        if (!known.has(start)) throw new InvalidRatesCommandError('prices', `${new Date(start).toISOString()} is not an interval of ${priceArea} ${deliveryDate} (${day.resolution})`);
      }
      const intervals: { start: string; before: string; after: string }[] = [];
      const prices = day.prices.map((x) => {
        const after = changes.get(Date.parse(x.start));
        if (after === undefined || sameDecimal(after, x.dkkPerMwh)) return x;
        intervals.push({ start: x.start, before: x.dkkPerMwh, after });
        return { start: x.start, dkkPerMwh: after, dkkPerKwh: mwhTextToKwhText(after) };
      });
      if (intervals.length === 0) return null;
      const corrected: SpotPricesPublished = {
        priceArea,
        deliveryDate,
        resolution: day.resolution,
        source: 'manual',
        version: day.version + 1,
        publishedAt: context.now.toISOString(),
        prices,
        correction: { reason, actor: context.actor, basedOnVersion: day.version, intervals },
      };
      return toEventData(corrected);
    },
    context,
  );
  return { streamId, appended: result.appended, version: Number((result.data as JsonObject | null)?.['version'] ?? 0) };
}

const PRICES_PER_ROW: Readonly<Record<ChargePriceRowData['resolution'], number>> = { PT1H: 24, P1D: 1, P1M: 1 };

function rowOf(entry: unknown, i: number): Omit<ChargePriceRowData, 'manual'> {
  const e = record(entry);
  const validFrom = e['validFrom'];
  if (!isLocalDate(validFrom)) throw new InvalidRatesCommandError(`rows[${i}].validFrom`, 'must be a date YYYY-MM-DD');
  const validTo = e['validTo'] ?? null;
  if (validTo !== null && (!isLocalDate(validTo) || compareLocalDates(validTo, validFrom) <= 0)) throw new InvalidRatesCommandError(`rows[${i}].validTo`, 'must be a date after validFrom, or null');
  const resolution = e['resolution'];
  if (resolution !== 'PT1H' && resolution !== 'P1D' && resolution !== 'P1M') throw new InvalidRatesCommandError(`rows[${i}].resolution`, 'must be PT1H, P1D or P1M');
  const prices = e['prices'];
  if (!Array.isArray(prices) || prices.length !== PRICES_PER_ROW[resolution]) throw new InvalidRatesCommandError(`rows[${i}].prices`, `must hold ${PRICES_PER_ROW[resolution]} price(s) for ${resolution}`);
  return { validFrom, validTo: validTo as string | null, resolution, prices: prices.map((x, j) => decimalText(x, `rows[${i}].prices[${j}]`)) };
}

const samePrices = (a: readonly string[] | null, b: readonly string[]): boolean => a !== null && a.length === b.length && a.every((x, i) => sameDecimal(x, b[i]!));

/**
 * Staff correct a charge's price rows by hand (a grid company's price letter before the price list shows it,
 * or a published row known to be wrong): the rows are merged by `validFrom` into the charge's current rows
 * as a new version, each changed row marked `manual` with the prices it replaced and the reason.
 */
export async function correctChargePrices(deps: { store: EventStore }, payload: unknown, context: RatesCommandContext): Promise<CorrectionResult> {
  const p = record(payload);
  const chargeId = p['chargeId'];
  if (typeof chargeId !== 'string' || chargeId.length === 0) throw new InvalidRatesCommandError('chargeId', 'must be a charge id (GLN:Dxx:CODE)');
  const reason = reasonOf(p);
  const list = p['rows'];
  if (!Array.isArray(list) || list.length === 0) throw new InvalidRatesCommandError('rows', 'must list at least one row');
  const fixes = list.map(rowOf);
  if (new Set(fixes.map((r) => r.validFrom)).size !== fixes.length) throw new InvalidRatesCommandError('rows', 'repeat a validFrom');
  const streamId = chargeStreamId(chargeId);
  const result = await appendIfChanged(
    deps.store,
    streamId,
    CHARGE_PRICES_PUBLISHED,
    (latest) => {
      if (latest === null) throw new InvalidRatesCommandError('chargeId', `charge ${chargeId} has no published prices to correct`);
      const charge = latest as unknown as ChargePricesPublished;
      const rows = new Map(charge.rows.map((r) => [r.validFrom, r]));
      let changed = false;
      for (const fix of fixes) {
        const old = rows.get(fix.validFrom);
        if (old !== undefined && old.validTo === fix.validTo && old.resolution === fix.resolution && samePrices(old.prices, fix.prices)) continue;
        changed = true;
        const replaced = old?.manual ? old.manual.replaced : (old?.prices ?? null);
        rows.set(fix.validFrom, { ...fix, manual: { reason, actor: context.actor, replaced } });
      }
      if (!changed) return null;
      const corrected: ChargePricesPublished = {
        ...charge,
        version: charge.version + 1,
        publishedAt: context.now.toISOString(),
        rows: [...rows.values()].sort((a, b) => compareLocalDates(a.validFrom, b.validFrom)),
        correction: { reason, actor: context.actor },
      };
      return toEventData(corrected);
    },
    context,
  );
  return { streamId, appended: result.appended, version: Number((result.data as JsonObject | null)?.['version'] ?? 0) };
}

/** For ingest: a published row does not undo a manual correction while it still has the prices the correction replaced. */
export function keepsManualRow(current: ChargePriceRowData | undefined, fetched: ChargePriceRowData): boolean {
  return current?.manual !== undefined && current.validTo === fetched.validTo && current.resolution === fetched.resolution && samePrices(current.manual.replaced, fetched.prices);
}
