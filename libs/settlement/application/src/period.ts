import { addDays, formatLocalDate, type LocalDate } from '@dh/dk-time';
import type { BillingPeriod } from '@dh/settlement-domain';

export type BillingFrequency = 'monthly' | 'quarterly';

export class InvalidPeriodError extends Error {
  override readonly name = 'InvalidPeriodError';
}

/** `2026-10` for a month, `2026-Q4` for a quarter: used in stream names, invoice ids and the API. */
export function periodLabel(p: BillingPeriod): string {
  return p.kind === 'month' ? `${p.year}-${String(p.month).padStart(2, '0')}` : `${p.year}-Q${p.quarter}`;
}

export function parsePeriodLabel(label: string): BillingPeriod {
  const month = /^(\d{4})-(\d{2})$/.exec(label);
  if (month) {
    const m = Number(month[2]);
    if (m < 1 || m > 12) throw new InvalidPeriodError(`month ${label} out of range`);
    return { kind: 'month', year: Number(month[1]), month: m };
  }
  const quarter = /^(\d{4})-Q([1-4])$/.exec(label);
  if (quarter) return { kind: 'quarter', year: Number(quarter[1]), quarter: Number(quarter[2]) };
  throw new InvalidPeriodError(`period ${JSON.stringify(label)} is neither YYYY-MM nor YYYY-Qn`);
}

/** Validates a period from a command payload. */
export function toBillingPeriod(value: unknown): BillingPeriod {
  if (typeof value === 'string') return parsePeriodLabel(value);
  if (typeof value !== 'object' || value === null) throw new InvalidPeriodError('period is missing');
  const v = value as { kind?: unknown; year?: unknown; month?: unknown; quarter?: unknown };
  const year = v.year;
  if (typeof year !== 'number' || !Number.isInteger(year) || year < 2000 || year > 2100) throw new InvalidPeriodError('period.year must be an integer 2000–2100');
  if (v.kind === 'month' && typeof v.month === 'number' && Number.isInteger(v.month) && v.month >= 1 && v.month <= 12) return { kind: 'month', year, month: v.month };
  if (v.kind === 'quarter' && typeof v.quarter === 'number' && Number.isInteger(v.quarter) && v.quarter >= 1 && v.quarter <= 4) return { kind: 'quarter', year, quarter: v.quarter };
  throw new InvalidPeriodError('period must be { kind: "month", year, month } or { kind: "quarter", year, quarter }');
}

export function billingFrequencyOf(p: BillingPeriod): BillingFrequency {
  return p.kind === 'month' ? 'monthly' : 'quarterly';
}

/** Local dates of the period: `from` inclusive, `toExclusive` exclusive. */
export function periodDates(p: BillingPeriod): { from: LocalDate; toExclusive: LocalDate } {
  const firstMonth = p.kind === 'month' ? p.month : p.quarter * 3 - 2;
  const lastMonth = p.kind === 'month' ? p.month : p.quarter * 3;
  const from = formatLocalDate(p.year, firstMonth, 1);
  const toExclusive = lastMonth === 12 ? formatLocalDate(p.year + 1, 1, 1) : formatLocalDate(p.year, lastMonth + 1, 1);
  return { from, toExclusive };
}

/** The last day of the period (inclusive), as the ERP export's `period_end`. */
export function periodLastDay(p: BillingPeriod): LocalDate {
  return addDays(periodDates(p).toExclusive, -1);
}

/** The billing periods (a month and its quarter) that contain a local date. */
export function periodsContaining(date: LocalDate): BillingPeriod[] {
  const year = Number(date.slice(0, 4));
  const month = Number(date.slice(5, 7));
  return [
    { kind: 'month', year, month },
    { kind: 'quarter', year, quarter: Math.floor((month - 1) / 3) + 1 },
  ];
}
