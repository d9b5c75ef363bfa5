import { RESOLUTION_MS } from '@dh/dk-time';
import { MissingPriceError } from '@dh/rates-domain';
import { MissingMeteredData } from '../settlement-halted';
import type { MeteredQuantities } from './metered-quantities';
import type { PeriodPrices } from './period-prices';

const QUARTER_MS = RESOLUTION_MS.PT15M;

/** The stop for a missing value at index `i` of a series. */
export function missingMetered(q: MeteredQuantities, i: number): MissingMeteredData {
  const step = RESOLUTION_MS[q.resolution];
  const start = q.startMs + i * step;
  return new MissingMeteredData(q.gsrn, { start: new Date(start), end: new Date(start + step) });
}

/** The stop for quarter-hour `q` of the period without a spot price. */
export function missingSpotQuarter(p: PeriodPrices, q: number): MissingPriceError {
  const start = p.startMs + q * QUARTER_MS;
  return new MissingPriceError({ priceArea: p.rates.priceArea }, { start: new Date(start), end: new Date(start + QUARTER_MS) });
}

/** An hour without a price lacks (at least) one quarter's: the first such quarter is the one named. */
export function missingSpotInHour(p: PeriodPrices, h: number): MissingPriceError {
  let q = h * 4;
  while (q < h * 4 + 3 && p.spotQuarter[q] === p.spotQuarter[q]) q++;
  return missingSpotQuarter(p, q);
}

/** Stops at the day's first missing price, in the order the invoice checks them (see `PeriodPrices.dayStop`). */
export function checkDay(p: PeriodPrices, d: number, withProduction: boolean): void {
  const e = p.dayStop[d];
  if (e) throw e;
  if (withProduction) {
    const fee = p.exportFee!.dayError[d];
    if (fee) throw fee;
  }
}
