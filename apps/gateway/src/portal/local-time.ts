import { daysInLocalMonth, formatLocalDate, parseLocalDate, type LocalDate } from '@dh/dk-time';
import { parseDecimal } from '@dh/money';

/** The same calendar date `years` later (29 February → 1 March in a common year). */
export function addYears(date: LocalDate, years: number): LocalDate {
  const c = parseLocalDate(date);
  const year = c.year + years;
  if (c.month === 2 && c.day === 29 && daysInLocalMonth(year, 2) === 28) return formatLocalDate(year, 3, 1);
  return formatLocalDate(year, c.month, c.day);
}

export function firstOfMonth(date: LocalDate): LocalDate {
  return `${date.slice(0, 7)}-01`;
}

export function nextMonth(firstOfMonthDate: LocalDate): LocalDate {
  const c = parseLocalDate(firstOfMonthDate);
  return c.month === 12 ? formatLocalDate(c.year + 1, 1, 1) : formatLocalDate(c.year, c.month + 1, 1);
}

/** The first day of the next quarter. */
export function nextQuarter(date: LocalDate): LocalDate {
  const c = parseLocalDate(date);
  const q = Math.floor((c.month - 1) / 3);
  return q === 3 ? formatLocalDate(c.year + 1, 1, 1) : formatLocalDate(c.year, q * 3 + 4, 1);
}

/** An exact kWh string with at least 3 decimals (never rounds: more decimals are kept). */
export function kwhString(value: string): string {
  const decimals = value.includes('.') ? value.length - value.indexOf('.') - 1 : 0;
  return parseDecimal(value).toFixed(Math.max(3, decimals));
}

/** Σ of decimal texts, exact, with as many decimals as the most precise of them (as PostgreSQL's `sum` of `numeric`s). */
export function sumDecimalText(values: readonly string[]): string {
  let scale = 0;
  let sum = parseDecimal('0');
  for (const v of values) {
    const dot = v.indexOf('.');
    if (dot >= 0 && v.length - dot - 1 > scale) scale = v.length - dot - 1;
    sum = sum.plus(parseDecimal(v));
  }
  return sum.toFixed(scale);
}

export function sumKwh(values: readonly string[]): string {
  return kwhString(values.reduce((s, v) => s.plus(parseDecimal(v)), parseDecimal('0')).toFixed());
}
