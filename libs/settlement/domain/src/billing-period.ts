import { daysInLocalMonth, formatLocalDate, type LocalDate } from '@dh/dk-time';
import { InvalidSettlementInput } from './settlement-halted';
import type { BillingPeriod } from './settlement-input';

export interface BillingMonth {
  readonly year: number;
  readonly month: number;
  /** `YYYY-MM` */
  readonly label: string;
  readonly from: LocalDate;
  readonly toExclusive: LocalDate;
  readonly days: number;
}

export interface BillingDates {
  readonly from: LocalDate;
  readonly toExclusive: LocalDate;
  readonly months: readonly BillingMonth[];
}

function monthOf(year: number, month: number): BillingMonth {
  const next = month === 12 ? formatLocalDate(year + 1, 1, 1) : formatLocalDate(year, month + 1, 1);
  return { year, month, label: formatLocalDate(year, month, 1).slice(0, 7), from: formatLocalDate(year, month, 1), toExclusive: next, days: daysInLocalMonth(year, month) };
}

export function billingDates(p: BillingPeriod): BillingDates {
  if (!Number.isInteger(p.year) || p.year < 2000 || p.year > 2100) throw new InvalidSettlementInput(`billing year ${p.year} out of range`);
  let months: BillingMonth[];
  if (p.kind === 'month') {
    if (!Number.isInteger(p.month) || p.month < 1 || p.month > 12) throw new InvalidSettlementInput(`billing month ${p.month} out of range`);
    months = [monthOf(p.year, p.month)];
  } else {
    if (!Number.isInteger(p.quarter) || p.quarter < 1 || p.quarter > 4) throw new InvalidSettlementInput(`billing quarter ${p.quarter} out of range`);
    months = [0, 1, 2].map((i) => monthOf(p.year, p.quarter * 3 - 2 + i));
  }
  return { from: months[0]!.from, toExclusive: months[months.length - 1]!.toExclusive, months };
}
