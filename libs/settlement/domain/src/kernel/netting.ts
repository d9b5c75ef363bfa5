import { ElectricHeatingTotal, taxWithThreshold } from './electric-heating';
import type { FastLine } from './fast-line';
import type { Lines } from './lines';
import { INTERVAL_ESTIMATED, INTERVAL_MISSING, type MeteredQuantities } from './metered-quantities';
import type { PeriodPrices } from './period-prices';
import { checkDay, missingMetered, missingSpotInHour } from './stops';

/** Sum of a series' values inside the hour starting at period hour `h`, checking each for a gap in time order. */
function hourSum(q: MeteredQuantities, h: number, flags: { estimated: boolean }): number {
  if (q.resolution === 'PT1H') {
    const s = q.state[h]!;
    if (s === INTERVAL_MISSING) throw missingMetered(q, h);
    if (s === INTERVAL_ESTIMATED) flags.estimated = true;
    return q.wh[h]!;
  }
  let sum = 0;
  for (let i = h * 4, end = i + 4; i < end; i++) {
    const s = q.state[i]!;
    if (s === INTERVAL_MISSING) throw missingMetered(q, i);
    if (s === INTERVAL_ESTIMATED) flags.estimated = true;
    sum += q.wh[i]!;
  }
  return sum;
}

function addImport(line: FastLine, whImported: number, price: number, estimated: boolean): void {
  line.a += whImported * price;
  line.quantity += whImported;
  line.track(price);
  if (estimated) line.estimated = true;
}

/**
 * With own production: hourly netting (domain.md "Special cases"). Each hour is one interval at the
 * hour's (mean) spot price; a net import is settled as consumption, a net export is bought at spot
 * less our fee, each on its own line; gross production is shown on its line.
 */
export function settleNetted(p: PeriodPrices, point: { readonly consumption: MeteredQuantities; readonly production: MeteredQuantities | null; readonly electricHeating: { thresholdMilliKwh: bigint; yearToDateMilliKwh: bigint } | null }, days: readonly number[], lines: Lines, blockDays: number): void {
  const c = point.consumption;
  const prod = point.production!;
  const spotH4 = p.spotHour4;
  const fee = p.exportFee!;
  const eh = point.electricHeating === null ? null : new ElectricHeatingTotal(point.electricHeating);
  const flags = { estimated: false };
  let inBlock = 0;
  for (const d of days) {
    checkDay(p, d, true);
    const day = p.days[d]!;
    for (let h = day.firstHour, end = day.firstHour + day.hours; h < end; h++) {
      flags.estimated = false;
      const consumed = hourSum(c, h, flags);
      const produced = hourSum(prod, h, flags);
      const est = flags.estimated;
      const spot4 = spotH4[h]!;
      if (spot4 !== spot4) throw missingSpotInHour(p, h);
      lines.producedWh += produced;
      if (est) lines.productionEstimated = true;
      const imported = consumed > produced ? consumed - produced : 0;
      const exported = produced > consumed ? produced - consumed : 0;
      if (exported > 0) {
        const x = lines.exportEnergy;
        x.b += exported * spot4;
        x.quantity += exported;
        x.track(spot4);
        if (est) x.estimated = true;
        addImport(lines.exportFee, exported, fee.perHour[h]!, est);
      }
      if (imported === 0) continue;
      const e = lines.energy;
      const margin = p.margin.perHour[h]!;
      e.b += imported * spot4;
      e.a += imported * margin;
      e.quantity += imported;
      e.track(spot4 + 4 * margin);
      if (est) e.estimated = true;
      addImport(lines.grid, imported, p.gridTariff.perHour[h]!, est);
      addImport(lines.system, imported, p.systemTariff.perHour[h]!, est);
      addImport(lines.transmission, imported, p.transmissionTariff.perHour[h]!, est);
      if (eh !== null) taxWithThreshold(lines, eh, p, d, h, imported, est);
      else addImport(lines.tax, imported, p.electricityTax.perHour[h]!, est);
    }
    if (++inBlock === blockDays) {
      lines.flush();
      inBlock = 0;
    }
  }
  lines.flush();
}

