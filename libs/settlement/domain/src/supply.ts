import { addDays, compareLocalDates, daysBetween, formatLocalDate, isLocalDate, type LocalDate } from '@dh/dk-time';
import { divRoundHalfAwayFromZero, parseQuantityMilliKwh } from '@dh/money';
import type { BillingDates } from './billing-period';
import { InvalidSettlementInput } from './settlement-halted';
import type { SupplyPeriod } from './settlement-input';

function maxDate(a: LocalDate, b: LocalDate): LocalDate {
  return compareLocalDates(a, b) >= 0 ? a : b;
}

function minDate(a: LocalDate, b: LocalDate): LocalDate {
  return compareLocalDates(a, b) <= 0 ? a : b;
}

/** Validated supply periods sorted by start; overlapping periods are invalid input. */
export function checkedSupplyPeriods(periods: readonly SupplyPeriod[]): SupplyPeriod[] {
  for (const p of periods) {
    if (!isLocalDate(p.start)) throw new InvalidSettlementInput(`supply period start ${JSON.stringify(p.start)} is not a local date`);
    if (p.endExclusive !== null) {
      if (!isLocalDate(p.endExclusive)) throw new InvalidSettlementInput(`supply period end ${JSON.stringify(p.endExclusive)} is not a local date`);
      if (compareLocalDates(p.endExclusive, p.start) <= 0) throw new InvalidSettlementInput(`supply period ${p.start}–${p.endExclusive} is empty`);
    }
  }
  const sorted = [...periods].sort((a, b) => compareLocalDates(a.start, b.start));
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    if (prev.endExclusive === null || compareLocalDates(prev.endExclusive, sorted[i]!.start) > 0) {
      throw new InvalidSettlementInput(`supply periods starting ${prev.start} and ${sorted[i]!.start} overlap`);
    }
  }
  return sorted;
}

/** The local days of the billing period on which we supply, in order. */
export function suppliedDays(periods: readonly SupplyPeriod[], billing: BillingDates): LocalDate[] {
  const days: LocalDate[] = [];
  for (const p of periods) {
    const from = maxDate(p.start, billing.from);
    const to = p.endExclusive === null ? billing.toExclusive : minDate(p.endExclusive, billing.toExclusive);
    for (let d = from; compareLocalDates(d, to) < 0; d = addDays(d, 1)) days.push(d);
  }
  return days;
}

/**
 * Days of the calendar year covered by our supply; an open-ended supply counts to the year's end
 * (the supply is expected to last; a later end is handled by a correction of the last invoice).
 */
export function suppliedDaysInYear(periods: readonly SupplyPeriod[], year: number): number {
  const yearStart = formatLocalDate(year, 1, 1);
  const nextYear = formatLocalDate(year + 1, 1, 1);
  let days = 0;
  for (const p of periods) {
    const from = maxDate(p.start, yearStart);
    const to = p.endExclusive === null ? nextYear : minDate(p.endExclusive, nextYear);
    if (compareLocalDates(from, to) < 0) days += daysBetween(from, to);
  }
  return days;
}

/**
 * The electric-heating threshold for our supply in the year, in milli-kWh:
 * annual threshold × supplied days in the year ÷ days in the year (market-facts.md §1: a supply
 * shorter than a year gets a pro-rata share of the 4,000 kWh), rounded once to whole Wh, half
 * away from zero, because quantities are kept in Wh and the crossing interval is split at it.
 */
export function electricHeatingThresholdMilliKwh(annualThresholdKwh: string, periods: readonly SupplyPeriod[], year: number): bigint {
  const daysInYear = daysBetween(formatLocalDate(year, 1, 1), formatLocalDate(year + 1, 1, 1));
  const days = suppliedDaysInYear(periods, year);
  return divRoundHalfAwayFromZero(parseQuantityMilliKwh(annualThresholdKwh) * BigInt(days), BigInt(daysInYear));
}
