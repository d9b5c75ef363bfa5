import { localDateOf, localDayStart, parseLocalDate, positionInstant, tariffPriceIndex, type Period } from '@dh/dk-time';
import { isDecimalString } from '@dh/money';
import { ChargeDataError } from './errors';

/**
 * Resolution of a DataHub price series (RSM-034 `Series_Period.resolution`): tariffs P1D/PT1H/PT15M,
 * subscriptions and fees P1M (archived DataHub charges domain, `ResolutionTariffValidationRule.cs`).
 */
export type DataHubPriceResolution = 'PT15M' | 'PT1H' | 'P1D' | 'P1M';

export interface PriceSeriesPoint {
  readonly position: number;
  /** DKK per kWh (tariffs) or per piece (subscriptions per month, fees), exactly as DataHub sent it. */
  readonly price: string;
}

/**
 * One price series of one charge as DataHub sent it (RSM-034 with business reason D08). A later series
 * overrides an earlier one for the times both cover (`seriesPriceAt` is given them oldest first).
 */
export interface ChargePriceSeries {
  readonly resolution: DataHubPriceResolution;
  /** ISO UTC instants, `end` exclusive. */
  readonly start: string;
  readonly end: string;
  readonly points: readonly PriceSeriesPoint[];
}

/** DataHub rejects prices of 1,000,000 or more (archived charges domain, `MaximumPriceRule.cs`). */
const MAX_PRICE_DIGITS = 6;
/** DataHub keeps prices as Decimal(18,6) (opengeh-wholesale `amounts_per_charge_v1.py`). */
const MAX_PRICE_DECIMALS = 6;

const FIXED_MS: Readonly<Record<'PT15M' | 'PT1H', number>> = { PT15M: 15 * 60_000, PT1H: 3_600_000 };

/** The start instants of every price interval of `resolution` in [start, end), stepping in Copenhagen days/months for P1D/P1M. */
export function priceTimes(resolution: DataHubPriceResolution, period: Period): Date[] {
  const out: Date[] = [];
  const end = period.end.getTime();
  if (resolution === 'PT15M' || resolution === 'PT1H') {
    for (let t = period.start.getTime(); t < end; t += FIXED_MS[resolution]) out.push(new Date(t));
    return out;
  }
  for (let i = 1; ; i++) {
    const t = positionInstant(period.start, resolution, i);
    if (t.getTime() >= end) return out;
    out.push(t);
  }
}

/**
 * Number of intervals of the series' resolution in its time interval (local days and months for P1D/P1M),
 * counted no further than `limit + 1`: a long validity (a price to 2100) is never walked interval by interval.
 */
function intervalCount(series: ChargePriceSeries, limit: number): number {
  const start = new Date(series.start);
  const end = Date.parse(series.end);
  if (series.resolution === 'PT15M' || series.resolution === 'PT1H') return Math.min(Math.floor((end - start.getTime()) / FIXED_MS[series.resolution]), limit + 1);
  let n = 0;
  while (n <= limit && positionInstant(start, series.resolution, n + 1).getTime() < end) n++;
  return n;
}

/** 1-based position of the interval starting at `time` in the series' time interval, or null if none starts there. */
function positionAt(series: ChargePriceSeries, time: Date): number | null {
  const start = new Date(series.start);
  if (series.resolution === 'PT15M' || series.resolution === 'PT1H') {
    const diff = time.getTime() - start.getTime();
    return diff % FIXED_MS[series.resolution] === 0 ? diff / FIXED_MS[series.resolution] + 1 : null;
  }
  for (let position = 1; position <= series.points.length; position++) {
    const t = positionInstant(start, series.resolution, position).getTime();
    if (t === time.getTime()) return position;
    if (t > time.getTime()) return null;
  }
  return null;
}

/**
 * Shapes DataHub uses for a price series (RSM-034): one price per interval of the time interval; for a
 * PT1H tariff 24 prices by local hour repeated over a long validity (as in Energinet's example
 * `ExpectedOutputChargeCimSerializerChargePrices.blob`, and the `Price1..Price24` of DatahubPricelist);
 * or one price valid over the whole interval (P1M subscriptions and fees, P1D tariffs).
 */
export type PriceSeriesShape = 'per-interval' | 'hourly-pattern' | 'single-price';

export function priceSeriesShape(series: ChargePriceSeries): PriceSeriesShape {
  const n = series.points.length;
  const intervals = intervalCount(series, n);
  if (n === intervals) return 'per-interval';
  if (series.resolution === 'PT1H' && n === 24) return 'hourly-pattern';
  if (n === 1) return 'single-price';
  throw new ChargeDataError('points', `${n} prices neither cover the ${intervals > n ? `more than ${n}` : intervals} intervals of ${series.start}–${series.end} at ${series.resolution}, nor form a 24-hour pattern or a single price`);
}

/** Checks a price series before it is recorded: aligned interval, positions 1..n, prices within DataHub's limits. */
export function validatePriceSeries(series: ChargePriceSeries): void {
  const start = new Date(series.start);
  const end = new Date(series.end);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end.getTime() <= start.getTime()) {
    throw new ChargeDataError('timeInterval', `${series.start}–${series.end} is not a time interval`);
  }
  if (series.resolution === 'P1D' || series.resolution === 'P1M') {
    const date = localDateOf(start);
    if (localDayStart(date).getTime() !== start.getTime()) throw new ChargeDataError('timeInterval.start', `${series.start} is not a Copenhagen midnight`);
    if (series.resolution === 'P1M' && parseLocalDate(date).day !== 1) throw new ChargeDataError('timeInterval.start', `${series.start} is not the first of a month`);
  } else if ((start.getTime() - Date.UTC(2000, 0, 1)) % FIXED_MS[series.resolution] !== 0) {
    throw new ChargeDataError('timeInterval.start', `${series.start} is not aligned to ${series.resolution}`);
  }
  series.points.forEach((p, i) => {
    if (p.position !== i + 1) throw new ChargeDataError(`points[${i}].position`, `expected position ${i + 1}, got ${p.position}`);
    if (!isDecimalString(p.price)) throw new ChargeDataError(`points[${i}].price`, `"${p.price}" is not a decimal`);
    const [whole = '', decimals = ''] = p.price.replace(/^-/, '').split('.');
    if (whole.replace(/^0+/, '').length > MAX_PRICE_DIGITS) throw new ChargeDataError(`points[${i}].price`, `${p.price} is not below 1,000,000`);
    if (decimals.length > MAX_PRICE_DECIMALS) throw new ChargeDataError(`points[${i}].price`, `${p.price} has more than ${MAX_PRICE_DECIMALS} decimals`);
  });
  priceSeriesShape(series);
}

/** The price a series gives at `time` (an interval start of its resolution), or null when it does not cover it. */
export function seriesPriceAt(series: ChargePriceSeries, time: Date): string | null {
  const t = time.getTime();
  if (t < new Date(series.start).getTime() || t >= new Date(series.end).getTime()) return null;
  switch (priceSeriesShape(series)) {
    case 'single-price':
      return series.points[0]!.price;
    case 'hourly-pattern':
      // Local hour + 1: the repeated 02:00 hour of a 25-hour day uses Price3 twice (domain.md "Time").
      return series.points[tariffPriceIndex(time) - 1]!.price;
    case 'per-interval': {
      const position = positionAt(series, time);
      return position === null ? null : (series.points[position - 1]?.price ?? null);
    }
  }
}

export interface ChargePriceAt {
  /** Interval start, ISO UTC. */
  readonly time: string;
  readonly price: string;
}

/**
 * Every price of a charge in `period`, one per interval of `resolution` that some series covers; where
 * several series cover an interval, the latest (last in `seriesOldestFirst`) wins.
 */
export function pricesInPeriod(seriesOldestFirst: readonly ChargePriceSeries[], resolution: DataHubPriceResolution, period: Period): ChargePriceAt[] {
  const relevant = seriesOldestFirst.filter((s) => s.resolution === resolution && new Date(s.start) < period.end && new Date(s.end) > period.start);
  const out: ChargePriceAt[] = [];
  for (const time of priceTimes(resolution, period)) {
    for (let i = relevant.length - 1; i >= 0; i--) {
      const price = seriesPriceAt(relevant[i]!, time);
      if (price !== null) {
        out.push({ time: time.toISOString(), price });
        break;
      }
    }
  }
  return out;
}
