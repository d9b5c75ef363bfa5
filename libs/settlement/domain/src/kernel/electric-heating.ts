import type { Lines } from './lines';
import type { PeriodPrices } from './period-prices';

/** The running year total of an electric-heating point while its intervals are taken in time order, Wh. */
export class ElectricHeatingTotal {
  cumulative: number;
  readonly threshold: number;
  constructor(eh: { readonly thresholdMilliKwh: bigint; readonly yearToDateMilliKwh: bigint }) {
    this.cumulative = Number(eh.yearToDateMilliKwh);
    this.threshold = Number(eh.thresholdMilliKwh);
  }
}

/**
 * Electricity tax of one interval for electric heating: the normal rate up to the (prorated) yearly
 * threshold, the reduced rate above it; the interval that crosses it is split (README "Electric
 * heating"). An interval at or above the threshold with nothing imported still counts at the normal
 * rate with zero kWh, as in the reference.
 */
export function taxWithThreshold(lines: Lines, eh: ElectricHeatingTotal, p: PeriodPrices, d: number, h: number, imported: number, estimated: boolean): void {
  const room = eh.threshold - eh.cumulative;
  const normal = room <= 0 ? 0 : room < imported ? room : imported;
  eh.cumulative += imported;
  const reduced = imported - normal;
  if (normal > 0 || reduced === 0) {
    const tax = lines.tax;
    const price = p.electricityTax.perHour[h]!;
    tax.a += normal * price;
    tax.quantity += normal;
    tax.track(price);
    if (estimated) tax.estimated = true;
  }
  if (reduced > 0) {
    const e = p.reducedElectricityTax.dayError[d];
    if (e) throw e;
    const line = lines.reducedTax;
    const price = p.reducedElectricityTax.perHour[h]!;
    line.a += reduced * price;
    line.quantity += reduced;
    line.track(price);
    if (estimated) line.estimated = true;
  }
}
