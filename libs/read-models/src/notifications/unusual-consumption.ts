import { compareLocalDates, parseLocalDate, type LocalDate } from '@dh/dk-time';
import { parseDecimal, type Decimal } from '@dh/money';

/** Days before the day under test that form its baseline. */
export const ANOMALY_BASELINE_DAYS = 30;
/** Fewer complete days than this in the baseline: no verdict (a new customer, a gap in the data). */
export const ANOMALY_MIN_BASELINE_DAYS = 14;
/** A day is unusual above this multiple of the baseline median. */
export const ANOMALY_FACTOR = '2';

export interface DailyTotal {
  day: LocalDate;
  /** Exact kWh (numeric as text). */
  quantity: string;
  missing: boolean;
}

export interface UnusualDay {
  day: LocalDate;
  quantity: string;
  /** Exact median of the baseline (may have one more decimal than the quantities: the mean of two). */
  median: string;
  baselineDays: number;
}

/**
 * The rule (documented in the portal README): a complete local day (no missing value, every hour
 * present) is unusual when its consumption is strictly above 2 × the median of the customer's own
 * complete days among the 30 local days before it, provided at least 14 such days exist and the
 * median is above zero. Estimated values count as values. Exact decimals throughout.
 * Evaluates the days of `totals` in [from, to]; `totals` must also hold the 30 days before `from`.
 */
/** Days since 1970-01-01 of a local date. */
function dayNumber(date: LocalDate): number {
  const { year, month, day } = parseLocalDate(date);
  return new Date(0).setUTCFullYear(year, month - 1, day) / 86_400_000;
}

export function findUnusualDays(totals: readonly DailyTotal[], range: { from: LocalDate; to: LocalDate }): UnusualDay[] {
  // Each complete day's quantity parsed once, by epoch day (a baseline is 30 look-ups).
  const complete = new Map<number, Decimal>();
  for (const t of totals) if (!t.missing) complete.set(dayNumber(t.day), parseDecimal(t.quantity));
  const factor = parseDecimal(ANOMALY_FACTOR);
  const out: UnusualDay[] = [];
  for (const t of totals) {
    if (compareLocalDates(t.day, range.from) < 0 || compareLocalDates(t.day, range.to) > 0 || t.missing) continue;
    const day = dayNumber(t.day);
    const baseline: Decimal[] = [];
    for (let i = 1; i <= ANOMALY_BASELINE_DAYS; i++) {
      const b = complete.get(day - i);
      if (b) baseline.push(b);
    }
    if (baseline.length < ANOMALY_MIN_BASELINE_DAYS) continue;
    const median = medianOf(baseline);
    if (median.lte('0')) continue;
    if ((complete.get(day) ?? parseDecimal(t.quantity)).gt(median.times(factor))) out.push({ day: t.day, quantity: t.quantity, median: median.toFixed(), baselineDays: baseline.length });
  }
  return out;
}

export function medianOf(values: readonly Decimal[]): Decimal {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a.cmp(b));
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : sorted[mid - 1].plus(sorted[mid]).div('2');
}
