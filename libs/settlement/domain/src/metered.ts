import { RESOLUTION_MS, localDayEnd, localDayStart, type LocalDate, type Resolution } from '@dh/dk-time';
import { parseQuantityMilliKwh } from '@dh/money';
import { InvalidSettlementInput, MissingMeteredData } from './settlement-halted';
import type { MeteredSeries } from './settlement-input';

/** One metered value, kept both as exact Wh (fast path) and as the received decimal (reference). */
export interface MeteredValue {
  readonly milliKwh: bigint;
  readonly kwh: string;
  readonly estimated: boolean;
}

export interface MeteredIndex {
  readonly gsrn: string;
  readonly resolution: Resolution;
  readonly byStart: ReadonlyMap<number, MeteredValue>;
}

/**
 * Quality codes that flag a line as estimated: A03 estimated, A05 incomplete (the value will change).
 * A02 (not available) or a missing quantity is no value at all: the interval counts as missing.
 */
const ESTIMATED = new Set(['A03', 'A05']);

export function indexMeteredSeries(series: MeteredSeries, what: string): MeteredIndex {
  if (series.resolution !== 'PT15M' && series.resolution !== 'PT1H') throw new InvalidSettlementInput(`${what} resolution ${String(series.resolution)} is not PT15M or PT1H`);
  const step = RESOLUTION_MS[series.resolution];
  const byStart = new Map<number, MeteredValue>();
  for (const iv of series.intervals) {
    const ms = iv.start.getTime();
    if (!Number.isFinite(ms) || ms % step !== 0) throw new InvalidSettlementInput(`${what} ${series.gsrn}: interval start ${String(iv.start)} is not aligned to ${series.resolution}`);
    if (byStart.has(ms)) throw new InvalidSettlementInput(`${what} ${series.gsrn}: two values for ${iv.start.toISOString()}`);
    if (iv.quantityKwh === null || iv.quality === 'A02') continue;
    let milliKwh: bigint;
    try {
      milliKwh = parseQuantityMilliKwh(iv.quantityKwh);
    } catch (e) {
      throw new InvalidSettlementInput(`${what} ${series.gsrn} at ${iv.start.toISOString()}: quantity ${JSON.stringify(iv.quantityKwh)}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (milliKwh < 0n) throw new InvalidSettlementInput(`${what} ${series.gsrn} at ${iv.start.toISOString()}: negative quantity ${iv.quantityKwh}`);
    byStart.set(ms, { milliKwh, kwh: iv.quantityKwh, estimated: iv.quality !== undefined && ESTIMATED.has(iv.quality) });
  }
  return { gsrn: series.gsrn, resolution: series.resolution, byStart };
}

/**
 * The unit of settlement: one metered interval, or with production one hour (hourly netting)
 * holding the consumption and production values metered inside it.
 */
export interface SettlementInterval {
  readonly day: LocalDate;
  readonly start: Date;
  readonly resolution: Resolution;
  readonly consumption: readonly MeteredValue[];
  /** null without a production metering point. */
  readonly production: readonly MeteredValue[] | null;
  readonly estimated: boolean;
}

function valuesIn(index: MeteredIndex, fromMs: number, toMs: number): MeteredValue[] {
  const step = RESOLUTION_MS[index.resolution];
  const out: MeteredValue[] = [];
  for (let t = fromMs; t < toMs; t += step) {
    const v = index.byStart.get(t);
    if (v === undefined) throw new MissingMeteredData(index.gsrn, { start: new Date(t), end: new Date(t + step) });
    out.push(v);
  }
  return out;
}

/** Settlement intervals of one supplied local day, in time order; a gap throws {@link MissingMeteredData}. */
export function* settlementIntervals(day: LocalDate, consumption: MeteredIndex, production: MeteredIndex | null): Generator<SettlementInterval> {
  const end = localDayEnd(day).getTime();
  const step = production === null ? RESOLUTION_MS[consumption.resolution] : RESOLUTION_MS.PT1H;
  const resolution: Resolution = production === null ? consumption.resolution : 'PT1H';
  for (let t = localDayStart(day).getTime(); t < end; t += step) {
    const c = valuesIn(consumption, t, t + step);
    const p = production === null ? null : valuesIn(production, t, t + step);
    const estimated = c.some((v) => v.estimated) || (p !== null && p.some((v) => v.estimated));
    yield { day, start: new Date(t), resolution, consumption: c, production: p, estimated };
  }
}
