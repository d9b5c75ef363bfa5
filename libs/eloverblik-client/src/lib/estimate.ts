import { daysBetween, daysInLocalMonth, formatLocalDate, isLocalDate, parseLocalDate, type LocalDate } from '@dh/dk-time';
import { divRoundHalfAwayFromZero, formatScaled, parseQuantityMilliKwh } from '@dh/money';

export type AnnualEstimateBasis = 'measured-12-months' | 'scaled-to-365-days' | 'estimated-annual-volume';

export interface AnnualConsumptionEstimate {
  /** kWh, exactly 3 decimals. */
  readonly kwh: string;
  readonly basis: AnnualEstimateBasis;
  /** The 12-month window looked at: [from, to), local dates. */
  readonly window: { readonly from: LocalDate; readonly to: LocalDate };
  /** 365, or 366 when the window holds 29 February. */
  readonly daysInWindow: number;
  readonly daysWithData: number;
  /** Exact sum of the measured days in the window, 3 decimals. */
  readonly measuredKwh: string;
}

/** Default minimum of measured days before scaling to a year (fewer → fall back to `estimatedAnnualVolume`). */
export const DEFAULT_MIN_DAYS_FOR_SCALING = 30;

/** The last 12 months before `today`: [same date a year earlier, today); 29 February maps to 28 February. */
export function twelveMonthWindow(today: LocalDate): { from: LocalDate; to: LocalDate } {
  if (!isLocalDate(today)) throw new RangeError(`Not a local date: ${String(today)}`);
  const c = parseLocalDate(today);
  const day = Math.min(c.day, daysInLocalMonth(c.year - 1, c.month));
  return { from: formatLocalDate(c.year - 1, c.month, day), to: today };
}

export interface DailyHistory {
  readonly window: { readonly from: LocalDate; readonly to: LocalDate };
  /** kWh per local date inside the window (days without data absent). */
  readonly days: ReadonlyMap<LocalDate, string>;
  readonly minDaysForScaling?: number;
}

/**
 * The estimation rule (also in the README):
 * 1. every day of the window measured → the exact sum (365 or 366 days, as the calendar has them);
 * 2. at least `minDaysForScaling` (default 30) measured days → sum × 365 / measured days, rounded half away from zero
 *    to 0.001 kWh (the only rounding);
 * 3. otherwise `undefined`: the caller falls back to the metering point's `estimatedAnnualVolume`.
 */
export function estimateFromDailyHistory(history: DailyHistory): AnnualConsumptionEstimate | undefined {
  const { from, to } = history.window;
  const daysInWindow = daysBetween(from, to);
  const minDays = history.minDaysForScaling ?? DEFAULT_MIN_DAYS_FOR_SCALING;
  if (!Number.isSafeInteger(minDays) || minDays < 1) throw new RangeError('minDaysForScaling must be an integer ≥ 1');
  let total = 0n;
  let daysWithData = 0;
  for (const [date, kwh] of history.days) {
    if (date < from || date >= to) throw new RangeError(`Day ${date} is outside the window [${from}, ${to})`);
    total += parseQuantityMilliKwh(kwh);
    daysWithData++;
  }
  const base = { window: { from, to }, daysInWindow, daysWithData, measuredKwh: formatScaled(total, 3) };
  if (daysWithData === daysInWindow) return { ...base, kwh: formatScaled(total, 3), basis: 'measured-12-months' };
  if (daysWithData >= minDays) return { ...base, kwh: formatScaled(divRoundHalfAwayFromZero(total * 365n, BigInt(daysWithData)), 3), basis: 'scaled-to-365-days' };
  return undefined;
}
