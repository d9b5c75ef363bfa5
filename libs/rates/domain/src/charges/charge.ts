import { compareLocalDates, isLocalDate, localDateOf, localDayEnd, localDayStart, tariffPriceIndex, type LocalDate } from '@dh/dk-time';
import { MissingPriceError, PriceDataConflictError } from '../errors';
import { compareVersions, knownAt, type PriceVersion } from '../versions';

/** DatahubPricelist `ChargeType`: D01 subscription, D02 fee, D03 tariff (market-facts.md §2). */
export type ChargeType = 'D01' | 'D02' | 'D03';

/**
 * `ResolutionDuration` of a price-list row: PT1H = 24 prices by local hour (`Price1..Price24`),
 * P1D = one price per kWh for the whole day, P1M = a subscription in DKK per month.
 */
export type ChargeResolution = 'PT1H' | 'P1D' | 'P1M';

/**
 * One price-list row (one version of the prices of one validity period). Validity is by local date,
 * `validTo` exclusive and `null` for open-ended (DatahubPricelist's naive local midnights).
 */
export interface ChargePriceRow extends PriceVersion {
  readonly validFrom: LocalDate;
  readonly validTo: LocalDate | null;
  readonly resolution: ChargeResolution;
  /** nano-DKK (scale 9) per kWh, or per month for P1M: 24 entries for PT1H, one otherwise. */
  readonly prices: readonly bigint[];
}

/**
 * A charge with its price history: a grid tariff, Energinet's system or transmission tariff or
 * subscription, the electricity tax (normal or reduced rate), or one of our product's prices.
 */
export interface Charge {
  /** Stable id, by default `GLN:ChargeType:ChargeTypeCode` (see {@link chargeIdOf}). */
  readonly chargeId: string;
  readonly owner: string;
  readonly chargeType: ChargeType;
  readonly code: string;
  /** Text for the invoice line, e.g. DatahubPricelist `Note`. */
  readonly description: string;
  readonly rows: readonly ChargePriceRow[];
}

export function chargeIdOf(ownerGln: string, chargeType: ChargeType, code: string): string {
  return `${ownerGln}:${chargeType}:${code}`;
}

export interface ChargeDefinition {
  readonly chargeId?: string;
  readonly owner: string;
  readonly chargeType: ChargeType;
  readonly code: string;
  readonly description: string;
  readonly rows: readonly ChargePriceRow[];
}

/** Builds a charge, checking every row (price count for its resolution, validity order). */
export function createCharge(def: ChargeDefinition): Charge {
  const chargeId = def.chargeId ?? chargeIdOf(def.owner, def.chargeType, def.code);
  for (const r of def.rows) {
    if (!isLocalDate(r.validFrom)) throw new PriceDataConflictError(`Charge ${chargeId}: validFrom ${JSON.stringify(r.validFrom)} is not a local date`);
    if (r.validTo !== null && !isLocalDate(r.validTo)) throw new PriceDataConflictError(`Charge ${chargeId}: validTo ${JSON.stringify(r.validTo)} is not a local date`);
    const expected = r.resolution === 'PT1H' ? 24 : 1;
    if (r.prices.length !== expected) throw new PriceDataConflictError(`Charge ${chargeId}: a ${r.resolution} row needs ${expected} prices, got ${r.prices.length}`);
    if (r.validTo !== null && compareLocalDates(r.validTo, r.validFrom) <= 0) {
      throw new PriceDataConflictError(`Charge ${chargeId}: row valid from ${r.validFrom} ends at ${r.validTo}`);
    }
  }
  const rows = [...def.rows].sort(compareVersions);
  return { chargeId, owner: def.owner, chargeType: def.chargeType, code: def.code, description: def.description, rows };
}

/** Rows hold validated `YYYY-MM-DD` strings, which order lexicographically like the dates (hot path). */
function validOn(r: ChargePriceRow, date: LocalDate): boolean {
  return r.validFrom <= date && (r.validTo === null || date < r.validTo);
}

/**
 * The price-list row in force on a local day as known at `asOf`: among the rows valid on the day
 * and published at or before `asOf`, the latest published (then highest version, then latest
 * `validFrom`). Throws {@link MissingPriceError} for the day when none applies.
 */
export function chargeRowOn(charge: Charge, date: LocalDate, asOf?: Date): ChargePriceRow {
  let best: ChargePriceRow | undefined;
  for (const r of charge.rows) {
    if (!knownAt(r, asOf) || !validOn(r, date)) continue;
    if (best === undefined) {
      best = r;
      continue;
    }
    const c = compareVersions(r, best);
    if (c > 0 || (c === 0 && r.validFrom > best.validFrom)) best = r;
  }
  if (best === undefined) throw new MissingPriceError({ chargeId: charge.chargeId }, { start: localDayStart(date), end: localDayEnd(date) });
  return best;
}

/**
 * The row's price (nano-DKK/kWh) for the interval starting at `instant`. PT1H rows are indexed by the
 * local hour (`tariffPriceIndex`: the repeated autumn hour uses Price3 twice, the spring day skips it).
 */
export function rowPriceAt(row: ChargePriceRow, instant: Date): bigint {
  return row.resolution === 'PT1H' ? row.prices[tariffPriceIndex(instant) - 1]! : row.prices[0]!;
}

/**
 * The charge's price at an instant, as known at `asOf` (default: latest known): nano-DKK per kWh for
 * tariffs and taxes, nano-DKK per month for P1M subscriptions.
 */
export function chargePriceAt(charge: Charge, instant: Date, asOf?: Date): bigint {
  return rowPriceAt(chargeRowOn(charge, localDateOf(instant), asOf), instant);
}
