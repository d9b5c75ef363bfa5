import { RESOLUTION_MS, type Resolution } from '@dh/dk-time';
import { MEAN_PRICE_SCALE, PRICE_SCALE, meanOfFour } from '@dh/money';
import { MissingPriceError, PriceDataConflictError } from '../errors';
import type { PriceArea } from '../price-area';
import type { ScaledPrice } from '../scaled-price';
import { compareVersions, knownAt, type PriceVersion } from '../versions';

/** One published day-ahead price: DKK/kWh at scale 9 (nano-DKK/kWh), for [start, start + resolution). */
export interface SpotPrice extends PriceVersion {
  readonly priceArea: PriceArea;
  readonly start: Date;
  readonly resolution: Resolution;
  readonly nanoDkkPerKwh: bigint;
}

/**
 * The spot prices of one price area, indexed by interval start. May hold hourly history
 * (`Elspotprices`, until 2025-09-30) and quarter-hour prices (`DayAheadPrices`, from 2025-10-01)
 * side by side, each with its versions.
 */
export interface SpotPriceSeries {
  readonly priceArea: PriceArea;
  /** Versions per quarter-hour start (ms), oldest first. */
  readonly quarters: ReadonlyMap<number, readonly SpotPrice[]>;
  /** Versions per hour start (ms), oldest first. */
  readonly hours: ReadonlyMap<number, readonly SpotPrice[]>;
}

const QUARTER_MS = RESOLUTION_MS.PT15M;
const HOUR_MS = RESOLUTION_MS.PT1H;

export function createSpotPriceSeries(priceArea: PriceArea, prices: Iterable<SpotPrice>): SpotPriceSeries {
  const quarters = new Map<number, SpotPrice[]>();
  const hours = new Map<number, SpotPrice[]>();
  for (const p of prices) {
    if (p.priceArea !== priceArea) throw new PriceDataConflictError(`Spot price for ${p.priceArea} given to the ${priceArea} series`);
    const ms = p.start.getTime();
    if (ms % RESOLUTION_MS[p.resolution] !== 0) throw new PriceDataConflictError(`Spot price at ${p.start.toISOString()} is not aligned to ${p.resolution}`);
    const index = p.resolution === 'PT15M' ? quarters : hours;
    const versions = index.get(ms);
    if (versions === undefined) index.set(ms, [p]);
    else versions.push(p);
  }
  for (const index of [quarters, hours]) {
    for (const versions of index.values()) {
      versions.sort(compareVersions);
      for (let i = 1; i < versions.length; i++) {
        if (compareVersions(versions[i - 1]!, versions[i]!) === 0 && versions[i - 1]!.nanoDkkPerKwh !== versions[i]!.nanoDkkPerKwh) {
          throw new PriceDataConflictError(`Two different ${priceArea} spot prices at ${versions[i]!.start.toISOString()} share publication and version`);
        }
      }
    }
  }
  return { priceArea, quarters, hours };
}

function latestKnown(versions: readonly SpotPrice[] | undefined, asOf: Date | undefined): SpotPrice | undefined {
  if (versions === undefined) return undefined;
  for (let i = versions.length - 1; i >= 0; i--) if (knownAt(versions[i]!, asOf)) return versions[i];
  return undefined;
}

function quarterPrice(series: SpotPriceSeries, ms: number, asOf: Date | undefined): bigint | undefined {
  // A quarter's own price wins; otherwise the hourly price applies to each of its quarters (domain.md "Time").
  const own = latestKnown(series.quarters.get(ms), asOf);
  if (own !== undefined) return own.nanoDkkPerKwh;
  return latestKnown(series.hours.get(ms - (ms % HOUR_MS)), asOf)?.nanoDkkPerKwh;
}

export interface SpotLookup {
  /** Resolution of the interval being priced (default PT15M). */
  readonly resolution?: Resolution;
  /** Use only versions published at or before this instant (default: latest known). */
  readonly asOf?: Date;
}

/**
 * The spot price (DKK/kWh) of the interval starting at `instant`:
 * - PT15M interval: the quarter's price, or the hourly price of its hour; scale 9.
 * - PT1H interval: the hourly price if published; otherwise the exact arithmetic mean of the four
 *   quarter prices (our rule, domain.md "Time": no official hourly price exists since 2025-10-01);
 *   scale 11 (`meanOfFour`), never rounded.
 * Throws {@link MissingPriceError} naming the price area and the interval.
 */
export function spotPriceAt(series: SpotPriceSeries, instant: Date, lookup: SpotLookup = {}): ScaledPrice {
  const resolution = lookup.resolution ?? 'PT15M';
  const ms = instant.getTime();
  const step = RESOLUTION_MS[resolution];
  const missing = (): MissingPriceError =>
    new MissingPriceError({ priceArea: series.priceArea }, { start: new Date(ms), end: new Date(ms + step) });
  if (ms % step !== 0) throw new RangeError(`spotPriceAt: ${instant.toISOString()} is not the start of a ${resolution} interval`);
  if (resolution === 'PT15M') {
    const p = quarterPrice(series, ms, lookup.asOf);
    if (p === undefined) throw missing();
    return { units: p, scale: PRICE_SCALE };
  }
  const hourly = latestKnown(series.hours.get(ms), lookup.asOf);
  if (hourly !== undefined) return { units: hourly.nanoDkkPerKwh, scale: PRICE_SCALE };
  const q: bigint[] = [];
  for (let i = 0; i < 4; i++) {
    const p = latestKnown(series.quarters.get(ms + i * QUARTER_MS), lookup.asOf);
    if (p === undefined) throw missing();
    q.push(p.nanoDkkPerKwh);
  }
  return { units: meanOfFour(q[0]!, q[1]!, q[2]!, q[3]!), scale: MEAN_PRICE_SCALE };
}
