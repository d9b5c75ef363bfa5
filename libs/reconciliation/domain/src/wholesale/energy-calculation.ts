import { divRoundHalfAwayFromZero } from '@dh/money';
import { MS_HOUR, MS_QUARTER } from './calendar';
import { Q_CALCULATED, Q_ESTIMATED, Q_MEASURED, Q_MISSING, type CalculationPeriod, type MeteredSeries, type MeteringPointPeriod } from './model';

/**
 * Quantities are kept in units of 10^-5 kWh while energy is aggregated: a PT1H value split into four
 * quarters is value ÷ 4, exact at 5 decimals when the value has 3 (opengeh-wholesale `hour_to_quarter.py`).
 */
const SPLIT = 100;

export type EnergyGroupKind = 'flex' | 'non-profiled' | 'production';

export interface EnergyGroupResult {
  readonly kind: EnergyGroupKind;
  readonly gridArea: string;
  readonly energySupplier: string | null;
  readonly balanceResponsible: string | null;
  readonly resolution: 'PT15M' | 'PT1H';
  readonly start: number;
  /** milli-kWh per slot, 3 decimals as DataHub rounds them. */
  readonly quantities: bigint[];
  readonly qualities: Uint8Array;
}

/** One energy result series (`energy_results`), per slot: milli-kWh and quality bits. */
export interface EnergySeries {
  readonly timeSeriesType: string;
  readonly gridArea: string;
  readonly energySupplier: string | null;
  readonly balanceResponsible: string | null;
  readonly resolution: 'PT15M' | 'PT1H';
  readonly start: number;
  readonly quantities: bigint[];
  readonly qualities: Uint8Array;
}

export interface GridLossResult {
  readonly gridArea: string;
  readonly resolution: 'PT15M' | 'PT1H';
  readonly start: number;
  /** exchange + production − consumption (flex and non-profiled), per slot, milli-kWh. */
  readonly quantities: bigint[];
}

/**
 * DataHub's `round_quantity` (`preparation/transformations/rounding.py`): the four quarters of an hour are
 * rounded to 3 decimals so that they sum back to the hour (0.003 → 0.001, 0.001, 0.000, 0.001). `index` is the
 * quarter of the hour (1..4), `q` the row's own value (10^-5 kWh); Spark's `round` is half up (away from zero).
 */
export function roundQuarterQuantity(q: bigint, index: number): bigint {
  const round = (v: bigint): bigint => divRoundHalfAwayFromZero(v, BigInt(SPLIT)) * BigInt(SPLIT);
  let r = q;
  for (let k = 2; k <= index; k++) r = q - round(r) + r;
  return round(r) / BigInt(SPLIT);
}

/** Merged quality of one metering point's hour from its quarters (`quarter_to_hour.py`). */
function hourQuality(bits: number): number {
  if (bits & Q_CALCULATED) return Q_CALCULATED;
  if (bits & Q_ESTIMATED) return Q_ESTIMATED;
  if (bits & Q_MEASURED && bits & Q_MISSING) return Q_ESTIMATED;
  if (bits & Q_MEASURED) return Q_MEASURED;
  return Q_MISSING;
}

interface Accumulator {
  readonly kind: EnergyGroupKind | 'exchange';
  readonly gridArea: string;
  readonly energySupplier: string | null;
  readonly balanceResponsible: string | null;
  readonly neighbour: string | null;
  readonly sum: Float64Array;
  readonly qualities: Uint8Array;
}

/**
 * DataHub's energy calculation (RSM-014 results and grid loss) for one period, fed one metering point at a
 * time: flex and non-profiled consumption and production per energy supplier and balance responsible party,
 * net exchange per neighbouring grid area, and grid loss. Periods ending after the quarterly transition are
 * settled in quarters (PT1H values split in four), earlier ones in hours (quarters summed)
 * (`resolution_transition_factory.py`).
 */
export class EnergyCalculation {
  readonly resolution: 'PT15M' | 'PT1H';
  private readonly slots: number;
  private readonly step: number;
  private readonly groups = new Map<string, Accumulator>();

  constructor(
    readonly period: CalculationPeriod,
    readonly gridAreas: readonly string[],
    quarterlyTransition: number,
  ) {
    this.resolution = period.end <= quarterlyTransition ? 'PT1H' : 'PT15M';
    this.step = this.resolution === 'PT15M' ? MS_QUARTER : MS_HOUR;
    this.slots = (period.end - period.start) / this.step;
  }

  /** Adds a parent metering point (consumption, production, exchange); other types do not enter energy results. */
  addMeteringPoint(mp: MeteringPointPeriod, series: MeteredSeries | null): void {
    const a = Math.max(mp.from, this.period.start);
    const b = Math.min(mp.to ?? this.period.end, this.period.end);
    if (a >= b) return;
    if (mp.type === 'E20') {
      if (mp.toGridArea !== null && this.gridAreas.includes(mp.toGridArea)) this.add(this.accumulator('exchange', mp.toGridArea, null, null, mp.fromGridArea), a, b, mp, series, 1);
      if (mp.fromGridArea !== null && this.gridAreas.includes(mp.fromGridArea)) this.add(this.accumulator('exchange', mp.fromGridArea, null, null, mp.toGridArea), a, b, mp, series, -1);
      return;
    }
    if (!this.gridAreas.includes(mp.gridArea)) return;
    const kind: EnergyGroupKind | null = mp.type === 'E18' ? 'production' : mp.type === 'E17' ? (mp.settlementMethod === 'D01' ? 'flex' : mp.settlementMethod === 'E02' ? 'non-profiled' : null) : null;
    if (kind === null) return;
    this.add(this.accumulator(kind, mp.gridArea, mp.energySupplier, mp.balanceResponsible, null), a, b, mp, series, 1);
  }

  private accumulator(kind: Accumulator['kind'], gridArea: string, energySupplier: string | null, balanceResponsible: string | null, neighbour: string | null): Accumulator {
    const key = `${kind}|${gridArea}|${energySupplier ?? ''}|${balanceResponsible ?? ''}|${neighbour ?? ''}`;
    let acc = this.groups.get(key);
    if (acc === undefined) {
      acc = { kind, gridArea, energySupplier, balanceResponsible, neighbour, sum: new Float64Array(this.slots), qualities: new Uint8Array(this.slots) };
      this.groups.set(key, acc);
    }
    return acc;
  }

  /** Adds a series (padded as 0 "missing" where DataHub has no value) in units of 10^-5 kWh, with `sign` for exchange out. */
  private add(acc: Accumulator, from: number, to: number, mp: MeteringPointPeriod, series: MeteredSeries | null, sign: 1 | -1): void {
    const start = this.period.start;
    const inputStep = (series?.resolution ?? mp.resolution) === 'PT15M' ? MS_QUARTER : MS_HOUR;
    const quality = (i: number) => (series === null ? 0 : (series.qualities[i] ?? 0));
    const value = (i: number) => (quality(i) === 0 ? 0 : series!.quantities[i]!);
    if (this.resolution === 'PT15M') {
      for (let i = Math.ceil((from - start) / inputStep); i < Math.ceil((to - start) / inputStep); i++) {
        const bits = quality(i) === 0 ? Q_MISSING : quality(i);
        if (inputStep === MS_QUARTER) {
          acc.sum[i] += sign * value(i) * SPLIT;
          acc.qualities[i] |= bits;
        } else {
          for (let k = 0; k < 4; k++) {
            acc.sum[i * 4 + k] += (sign * value(i) * SPLIT) / 4;
            acc.qualities[i * 4 + k] |= bits;
          }
        }
      }
      return;
    }
    // Before the transition: a metering point's quarters are summed to its hour, with one merged quality.
    const perHour = MS_HOUR / inputStep;
    for (let h = Math.ceil((from - start) / MS_HOUR); h < Math.ceil((to - start) / MS_HOUR); h++) {
      let sum = 0;
      let bits = 0;
      for (let k = 0; k < perHour; k++) {
        const i = h * perHour + k;
        sum += value(i);
        bits |= quality(i) === 0 ? Q_MISSING : quality(i);
      }
      acc.sum[h] += sign * sum * SPLIT;
      acc.qualities[h] |= hourQuality(bits);
    }
  }

  private rounded(acc: Accumulator): bigint[] {
    const out = new Array<bigint>(this.slots);
    for (let i = 0; i < this.slots; i++) {
      const index = this.resolution === 'PT15M' ? (((this.period.start + i * this.step) / MS_QUARTER) % 4) + 1 : 1;
      out[i] = roundQuarterQuantity(BigInt(acc.sum[i]!), index);
    }
    return out;
  }

  /** Per energy supplier (and balance responsible party): flex and non-profiled consumption and production, rounded per slot. */
  perEnergySupplier(): EnergyGroupResult[] {
    const out: EnergyGroupResult[] = [];
    for (const acc of this.groups.values()) {
      if (acc.kind === 'exchange') continue;
      out.push({ kind: acc.kind, gridArea: acc.gridArea, energySupplier: acc.energySupplier, balanceResponsible: acc.balanceResponsible, resolution: this.resolution, start: this.period.start, quantities: this.rounded(acc), qualities: acc.qualities });
    }
    return out;
  }

  /** Net exchange into a grid area: Σ per neighbour (in − out), each rounded (`exchange_aggregators.py`). */
  exchange(gridArea: string): bigint[] {
    const total = new Array<bigint>(this.slots).fill(0n);
    for (const acc of this.groups.values()) {
      if (acc.kind !== 'exchange' || acc.gridArea !== gridArea) continue;
      this.rounded(acc).forEach((q, i) => (total[i] = total[i]! + q));
    }
    return total;
  }

  /** Grid loss = net exchange + production − (non-profiled + flex consumption), from the rounded per-supplier results (`grid_loss_aggregators.py`). */
  gridLoss(gridArea: string): GridLossResult {
    const quantities = this.exchange(gridArea);
    for (const r of this.perEnergySupplier()) {
      if (r.gridArea !== gridArea) continue;
      const sign = r.kind === 'production' ? 1n : -1n;
      r.quantities.forEach((q, i) => (quantities[i] = quantities[i]! + sign * q));
    }
    return { gridArea, resolution: this.resolution, start: this.period.start, quantities };
  }

  /**
   * The grid-loss metering points' series: positive grid loss on the consumption (E17) point, negative grid
   * loss (made positive) on the production (E18) point, quality "calculated", at the energy resolution
   * (`calculated_grid_loss.py`).
   */
  gridLossSeries(gridLossPoint: MeteringPointPeriod): MeteredSeries {
    const loss = this.gridLoss(gridLossPoint.gridArea);
    const quantities = new Float64Array(this.slots);
    const qualities = new Uint8Array(this.slots);
    for (let i = 0; i < this.slots; i++) {
      const t = this.period.start + i * this.step;
      if (t < gridLossPoint.from || (gridLossPoint.to !== null && t >= gridLossPoint.to)) continue;
      const q = loss.quantities[i]!;
      quantities[i] = Number(gridLossPoint.type === 'E17' ? (q > 0n ? q : 0n) : q < 0n ? -q : 0n);
      qualities[i] = Q_CALCULATED;
    }
    return { resolution: this.resolution, quantities, qualities };
  }

  /**
   * Every energy result of a grid area as DataHub writes them (`energy_calculation._calculate`): net exchange,
   * temporary production and flex consumption, grid loss, and consumption and production per energy supplier
   * after the grid-loss adjustment (positive grid loss added to the grid-loss consumption point's supplier,
   * negative to the production point's: `apply_grid_loss_adjustment`), per grid area, and total consumption.
   */
  energyResults(gridArea: string, gridLossPoints: readonly MeteringPointPeriod[]): EnergySeries[] {
    const series = (timeSeriesType: string, energySupplier: string | null, balanceResponsible: string | null, quantities: bigint[], qualities: Uint8Array): EnergySeries => ({
      timeSeriesType,
      gridArea,
      energySupplier,
      balanceResponsible,
      resolution: this.resolution,
      start: this.period.start,
      quantities,
      qualities,
    });
    const sumOf = (type: string, parts: readonly EnergySeries[]): EnergySeries => {
      const q = new Array<bigint>(this.slots).fill(0n);
      const bits = new Uint8Array(this.slots);
      for (const p of parts) {
        for (let i = 0; i < this.slots; i++) {
          q[i] = q[i]! + p.quantities[i]!;
          bits[i] |= p.qualities[i]!;
        }
      }
      return series(type, null, null, q, bits);
    };
    const perEs = this.perEnergySupplier().filter((r) => r.gridArea === gridArea);
    const exchangeParts = [...this.groups.values()].filter((a) => a.kind === 'exchange' && a.gridArea === gridArea).map((a) => series('exchange', null, null, this.rounded(a), a.qualities));
    const exchange = sumOf('net_exchange_per_ga', exchangeParts);
    const loss = this.gridLoss(gridArea).quantities;
    const calculated = new Uint8Array(this.slots).fill(Q_CALCULATED);
    const adjusted = (kind: EnergyGroupKind, timeSeriesType: string): EnergySeries[] => {
      const out = perEs.filter((r) => r.kind === kind).map((r) => series(timeSeriesType, r.energySupplier, r.balanceResponsible, [...r.quantities], new Uint8Array(r.qualities)));
      const pointType = kind === 'production' ? 'E18' : kind === 'flex' ? 'E17' : null;
      for (const point of gridLossPoints.filter((p) => p.type === pointType && p.gridArea === gridArea)) {
        let target = out.find((r) => r.energySupplier === point.energySupplier && r.balanceResponsible === point.balanceResponsible);
        if (target === undefined) out.push((target = series(timeSeriesType, point.energySupplier, point.balanceResponsible, new Array<bigint>(this.slots).fill(0n), new Uint8Array(this.slots))));
        for (let i = 0; i < this.slots; i++) {
          const t = this.period.start + i * this.step;
          if (t < point.from || (point.to !== null && t >= point.to)) continue;
          const l = loss[i]!;
          target.quantities[i] = target.quantities[i]! + (kind === 'production' ? (l < 0n ? -l : 0n) : l > 0n ? l : 0n);
          target.qualities[i] |= Q_CALCULATED;
        }
      }
      return out;
    };
    const flexPerEs = adjusted('flex', 'flex_consumption');
    const productionPerEs = adjusted('production', 'production');
    const nonProfiledPerEs = perEs.filter((r) => r.kind === 'non-profiled').map((r) => series('non_profiled_consumption', r.energySupplier, r.balanceResponsible, r.quantities, r.qualities));
    const production = sumOf('production', productionPerEs);
    const total = sumOf('total_consumption', [production, exchange]);
    return [
      exchange,
      sumOf('temp_production', perEs.filter((r) => r.kind === 'production').map((r) => series('temp_production', null, null, r.quantities, r.qualities))),
      sumOf('temp_flex_consumption', perEs.filter((r) => r.kind === 'flex').map((r) => series('temp_flex_consumption', null, null, r.quantities, r.qualities))),
      series('grid_loss', null, null, loss, calculated),
      ...flexPerEs,
      ...productionPerEs,
      ...nonProfiledPerEs,
      sumOf('flex_consumption', flexPerEs),
      sumOf('non_profiled_consumption', nonProfiledPerEs),
      production,
      total,
    ];
  }
}
