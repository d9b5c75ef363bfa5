import { createHash } from 'node:crypto';
import { addDays, compareLocalDates, localDayIntervals, localDayStart, localHourOf, parseLocalDate, type LocalDate } from '@dh/dk-time';
import { divRoundHalfAwayFromZero, parseQuantityMilliKwh } from '@dh/money';
import type { ProfileShape, ScenarioMeteringPoint } from './scenario';

/** 32-bit seed from strings (first 4 bytes of SHA-256). */
export function seedOf(...parts: readonly string[]): number {
  return createHash('sha256').update(parts.join('\u0000')).digest().readUInt32BE(0);
}

/** mulberry32, returning unsigned 32-bit integers (no floating point: the same numbers on every platform). */
export function uint32Stream(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Relative weights (integers) of the local hours 0..23 per shape. */
const HOUR_WEIGHTS: Readonly<Record<ProfileShape, readonly number[]>> = {
  flat: Array.from({ length: 24 }, () => 100),
  // Night low, morning bump, evening peak.
  household: [50, 40, 35, 35, 40, 55, 90, 120, 110, 95, 90, 95, 100, 95, 90, 100, 125, 170, 190, 170, 145, 120, 90, 70],
  // Flatter day, night heating.
  heatpump: [110, 110, 110, 110, 115, 125, 130, 120, 100, 90, 85, 80, 80, 80, 85, 90, 100, 110, 115, 115, 110, 110, 110, 110],
  // Production 06–20 local time.
  solar: [0, 0, 0, 0, 0, 0, 10, 40, 80, 120, 150, 170, 175, 170, 150, 120, 80, 40, 10, 0, 0, 0, 0, 0],
};

/** Relative weights (integers) of the months Jan..Dec per shape. */
const MONTH_WEIGHTS: Readonly<Record<ProfileShape, readonly number[]>> = {
  flat: Array.from({ length: 12 }, () => 100),
  household: [125, 115, 105, 95, 85, 80, 80, 85, 90, 100, 115, 125],
  heatpump: [190, 170, 140, 100, 60, 35, 30, 35, 60, 100, 150, 180],
  solar: [25, 50, 85, 125, 155, 165, 160, 135, 100, 60, 30, 20],
};

const sumOf = (xs: readonly number[]): bigint => BigInt(xs.reduce((a, b) => a + b, 0));

/**
 * The metering point's hourly quantities for one local day, in thousandths of a kWh (integers), one per hour of the
 * day (23, 24 or 25). Deterministic in (seed, GSRN, date) and independent of the period asked for.
 *
 * `shaped`: annual × hourWeight/mean × monthWeight/mean × (1000 + noise‰)/1000 ÷ 8760, all in integer arithmetic and
 * rounded half away from zero, so the same scenario yields the same strings everywhere.
 */
export function hourQuantities(seed: string, mp: ScenarioMeteringPoint, date: LocalDate): number[] {
  const starts = localDayIntervals(date, 'PT1H');
  const profile = mp.profile;
  if (profile.kind === 'pattern') {
    const milli = profile.kwhByLocalHour.map((q) => Number(parseQuantityMilliKwh(q)));
    return starts.map((start) => milli[localHourOf(start)] ?? 0);
  }
  const next = uint32Stream(seedOf(seed, 'hourly', mp.gsrn, date));
  const annualMilli = parseQuantityMilliKwh(profile.annualKwh);
  const hw = HOUR_WEIGHTS[profile.shape];
  const mw = MONTH_WEIGHTS[profile.shape];
  const monthWeight = BigInt(mw[parseLocalDate(date).month - 1] ?? 0);
  const amplitude = profile.noisePercent * 10; // permille
  // annual × (hw / (Σhw/24)) × (mw / (Σmw/12)) × (1000+noise)/1000 / 8760
  const den = sumOf(hw) * sumOf(mw) * 1000n * 8760n;
  return starts.map((start) => {
    const noise = amplitude === 0 ? 0 : (next() % (2 * amplitude + 1)) - amplitude;
    const num = annualMilli * BigInt(hw[localHourOf(start)] ?? 0) * monthWeight * BigInt(1000 + noise) * 24n * 12n;
    return Number(divRoundHalfAwayFromZero(num, den));
  });
}

/** Whether the point has measured data for the local day: on or after `historyFrom` and before `today`. */
export function hasData(mp: ScenarioMeteringPoint, date: LocalDate, today: LocalDate): boolean {
  return compareLocalDates(date, mp.historyFrom) >= 0 && compareLocalDates(date, today) < 0;
}

export type SimAggregation = 'Actual' | 'Hour' | 'Day' | 'Month' | 'Year';

export interface SimPoint {
  readonly position: number;
  readonly milli: number;
}

export interface SimPeriod {
  readonly resolution: 'PT1H' | 'P1D' | 'P1M' | 'P1Y';
  readonly start: Date;
  readonly end: Date;
  readonly points: readonly SimPoint[];
}

function bucketKey(date: LocalDate, aggregation: SimAggregation): string {
  switch (aggregation) {
    case 'Month':
      return date.slice(0, 7);
    case 'Year':
      return date.slice(0, 4);
    default:
      return date;
  }
}

/**
 * The periods of a `gettimeseries` answer for [from, to) (local dates, `to` exclusive), only over days with data.
 * Hour/Actual: one PT1H period per local day (23/24/25 points). Day: one P1D period per day with one point.
 * Month/Year: one P1M/P1Y period per (clipped) calendar month/year with one point, the exact sum of its hours.
 */
export function timeSeriesPeriods(seed: string, mp: ScenarioMeteringPoint, from: LocalDate, to: LocalDate, today: LocalDate, aggregation: SimAggregation): SimPeriod[] {
  const periods: SimPeriod[] = [];
  let current: { key: string; first: LocalDate; last: LocalDate; milli: number } | undefined;
  const flush = (): void => {
    if (!current) return;
    const resolution = aggregation === 'Day' ? 'P1D' : aggregation === 'Month' ? 'P1M' : 'P1Y';
    periods.push({ resolution, start: localDayStart(current.first), end: localDayStart(addDays(current.last, 1)), points: [{ position: 1, milli: current.milli }] });
    current = undefined;
  };
  for (let date = from; compareLocalDates(date, to) < 0; date = addDays(date, 1)) {
    if (!hasData(mp, date, today)) continue;
    const hours = hourQuantities(seed, mp, date);
    if (aggregation === 'Hour' || aggregation === 'Actual') {
      periods.push({ resolution: 'PT1H', start: localDayStart(date), end: localDayStart(addDays(date, 1)), points: hours.map((milli, i) => ({ position: i + 1, milli })) });
      continue;
    }
    const total = hours.reduce((a, b) => a + b, 0);
    const key = bucketKey(date, aggregation);
    // A gap in the data closes the bucket too, so a period never spans days without data.
    if (current && (current.key !== key || addDays(current.last, 1) !== date)) flush();
    if (current) {
      current.last = date;
      current.milli += total;
    } else current = { key, first: date, last: date, milli: total };
  }
  flush();
  return periods;
}
