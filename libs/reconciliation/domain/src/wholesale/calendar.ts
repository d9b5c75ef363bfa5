import { addDays, localDateOf, localDayStart } from '@dh/dk-time';
import type { CalculationPeriod } from './model';

export const MS_HOUR = 3_600_000;
export const MS_QUARTER = 900_000;

/**
 * The hours and Copenhagen days of a calculation period. Hourly tariffs are settled per UTC hour, daily
 * tariffs, subscriptions and fees per local day (opengeh-wholesale `tariffs.py` converts to local time
 * before its 1-day window; `explode_charge_price_information_within_periods.py` steps local days).
 */
export class PeriodCalendar {
  readonly hours: number;
  readonly dayStarts: readonly number[];
  /** Day index of each hour. */
  readonly dayOfHour: Int32Array;

  constructor(readonly period: CalculationPeriod) {
    if (period.end <= period.start || (period.end - period.start) % MS_HOUR !== 0) throw new RangeError('A calculation period is a whole number of hours');
    this.hours = (period.end - period.start) / MS_HOUR;
    const days: number[] = [];
    for (let date = localDateOf(new Date(period.start)); localDayStart(date).getTime() < period.end; date = addDays(date, 1)) days.push(localDayStart(date).getTime());
    if (days[0] !== period.start) throw new RangeError(`Calculation period start ${new Date(period.start).toISOString()} is not a Copenhagen midnight`);
    this.dayStarts = days;
    this.dayOfHour = new Int32Array(this.hours);
    let d = 0;
    for (let h = 0; h < this.hours; h++) {
      const t = period.start + h * MS_HOUR;
      while (d + 1 < days.length && days[d + 1]! <= t) d++;
      this.dayOfHour[h] = d;
    }
  }

  get days(): number {
    return this.dayStarts.length;
  }

  hourStart(h: number): number {
    return this.period.start + h * MS_HOUR;
  }

  /** Index of the hour containing `t`, clamped to [0, hours]. */
  hourIndexAtOrAfter(t: number): number {
    return Math.min(this.hours, Math.max(0, Math.ceil((t - this.period.start) / MS_HOUR)));
  }

  /** Index of the first day starting at or after `t` ([0, days]). */
  dayIndexAtOrAfter(t: number): number {
    let d = 0;
    while (d < this.dayStarts.length && this.dayStarts[d]! < t) d++;
    return d;
  }

  /** Clamps [from, to) to the period; null when they do not overlap. */
  clamp(from: number, to: number | null): { from: number; to: number } | null {
    const a = Math.max(from, this.period.start);
    const b = Math.min(to ?? this.period.end, this.period.end);
    return a < b ? { from: a, to: b } : null;
  }
}
