import { LocalDate, addDays, dayOfWeek, daysBetween, formatLocalDate, parseLocalDate } from './civil';

/** Easter Sunday (Gregorian), anonymous Gregorian algorithm (Meeus/Jones/Butcher). */
export function easterSunday(year: number): LocalDate {
  if (!Number.isInteger(year) || year < 1583 || year > 9999) throw new RangeError(`easterSunday: year ${year} out of range 1583..9999`);
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return formatLocalDate(year, month, day);
}

export type DanishHolidayName =
  | 'Nytårsdag'
  | 'Skærtorsdag'
  | 'Langfredag'
  | 'Påskedag'
  | '2. påskedag'
  | 'Store bededag'
  | 'Kristi himmelfartsdag'
  | 'Pinsedag'
  | '2. pinsedag'
  | 'Juledag'
  | '2. juledag';

export type BankClosingDayName = 'Fredag efter Kristi himmelfartsdag' | 'Grundlovsdag' | 'Juleaftensdag' | 'Nytårsaftensdag';

export interface NamedDay<N extends string> {
  readonly date: LocalDate;
  readonly name: N;
}

/** Store bededag was abolished as a public holiday from 2024 (law passed 2023-02-28). */
export const LAST_YEAR_WITH_STORE_BEDEDAG = 2023;

/** Danish public holidays (helligdage) of a year, in date order. Weekend holidays are included. */
export function danishPublicHolidays(year: number): ReadonlyArray<NamedDay<DanishHolidayName>> {
  const easter = easterSunday(year);
  const days: NamedDay<DanishHolidayName>[] = [
    { date: formatLocalDate(year, 1, 1), name: 'Nytårsdag' },
    { date: addDays(easter, -3), name: 'Skærtorsdag' },
    { date: addDays(easter, -2), name: 'Langfredag' },
    { date: easter, name: 'Påskedag' },
    { date: addDays(easter, 1), name: '2. påskedag' },
  ];
  if (year <= LAST_YEAR_WITH_STORE_BEDEDAG) days.push({ date: addDays(easter, 26), name: 'Store bededag' });
  days.push(
    { date: addDays(easter, 39), name: 'Kristi himmelfartsdag' },
    { date: addDays(easter, 49), name: 'Pinsedag' },
    { date: addDays(easter, 50), name: '2. pinsedag' },
    { date: formatLocalDate(year, 12, 25), name: 'Juledag' },
    { date: formatLocalDate(year, 12, 26), name: '2. juledag' },
  );
  return days;
}

/**
 * Days on which banks are closed although they are not public holidays: the Friday after Ascension,
 * Grundlovsdag (5 June), 24 and 31 December (Nationalbanken's list of bank closing days).
 */
export function bankClosingDaysBeyondHolidays(year: number): ReadonlyArray<NamedDay<BankClosingDayName>> {
  return [
    { date: addDays(easterSunday(year), 40), name: 'Fredag efter Kristi himmelfartsdag' },
    { date: formatLocalDate(year, 6, 5), name: 'Grundlovsdag' },
    { date: formatLocalDate(year, 12, 24), name: 'Juleaftensdag' },
    { date: formatLocalDate(year, 12, 31), name: 'Nytårsaftensdag' },
  ];
}

const holidayCache = new Map<number, ReadonlySet<LocalDate>>();
const bankCache = new Map<number, ReadonlySet<LocalDate>>();

function holidaySet(year: number): ReadonlySet<LocalDate> {
  let s = holidayCache.get(year);
  if (s === undefined) {
    s = new Set(danishPublicHolidays(year).map((d) => d.date));
    holidayCache.set(year, s);
  }
  return s;
}

function bankSet(year: number): ReadonlySet<LocalDate> {
  let s = bankCache.get(year);
  if (s === undefined) {
    s = new Set(bankClosingDaysBeyondHolidays(year).map((d) => d.date));
    bankCache.set(year, s);
  }
  return s;
}

export function isDanishPublicHoliday(date: LocalDate): boolean {
  return holidaySet(parseLocalDate(date).year).has(date);
}

/** A calendar: which local dates are "open" (count as working/banking days). */
export type DayCalendar = (date: LocalDate) => boolean;

/** Danish business day: Monday–Friday and not a public holiday. */
export const isBusinessDay: DayCalendar = (date) => dayOfWeek(date) <= 5 && !isDanishPublicHoliday(date);

/** Danish banking day: a business day that is also not the Friday after Ascension, 5 June, 24 or 31 December. */
export const isBankingDay: DayCalendar = (date) => isBusinessDay(date) && !bankSet(parseLocalDate(date).year).has(date);

/**
 * A calendar that additionally treats the given dates as closed (e.g. an official list loaded per
 * year, or DataHub's own definition of "arbejdsdage" once confirmed).
 */
export function withClosedDays(base: DayCalendar, closed: Iterable<LocalDate>): DayCalendar {
  const set = new Set<LocalDate>();
  for (const d of closed) {
    parseLocalDate(d);
    set.add(d);
  }
  return (date) => base(date) && !set.has(date);
}

/** A real calendar has an open day in any year; more consecutive closed days means a broken calendar. */
const MAX_CONSECUTIVE_CLOSED = 366;

/**
 * Moves `n` open days from `date` (n may be negative). `n = 0` returns `date` unchanged, even if closed.
 * E.g. `addOpenDays(isBusinessDay, '2026-04-01', 1)` → `'2026-04-07'` (Easter 2026).
 */
export function addOpenDays(calendar: DayCalendar, date: LocalDate, n: number): LocalDate {
  if (!Number.isSafeInteger(n)) throw new RangeError(`addOpenDays: ${n} is not an integer`);
  parseLocalDate(date);
  const step = n < 0 ? -1 : 1;
  let remaining = Math.abs(n);
  let d = date;
  let closedRun = 0;
  while (remaining > 0) {
    d = addDays(d, step);
    if (calendar(d)) {
      remaining--;
      closedRun = 0;
    } else if (++closedRun > MAX_CONSECUTIVE_CLOSED) {
      throw new RangeError(`addOpenDays: no open day in ${MAX_CONSECUTIVE_CLOSED} consecutive days`);
    }
  }
  return d;
}

/**
 * Signed count of open days between two dates, the inverse of {@link addOpenDays}:
 * forward (b after a) counts open d with a < d ≤ b; backward (b before a) counts open d with
 * b ≤ d < a, negated. For an open `b`: `addOpenDays(cal, a, openDaysBetween(cal, a, b)) === b`.
 */
export function openDaysBetween(calendar: DayCalendar, a: LocalDate, b: LocalDate): number {
  const span = daysBetween(a, b);
  const step = span < 0 ? -1 : 1;
  let count = 0;
  let d = a;
  for (let i = 0; i < Math.abs(span); i++) {
    d = addDays(d, step);
    // forward: a+1 … b; backward: a−1 … b
    if (calendar(d)) count++;
  }
  return step * count;
}

export function addBusinessDays(date: LocalDate, n: number): LocalDate {
  return addOpenDays(isBusinessDay, date, n);
}

export function businessDaysBetween(a: LocalDate, b: LocalDate): number {
  return openDaysBetween(isBusinessDay, a, b);
}

export function addBankingDays(date: LocalDate, n: number): LocalDate {
  return addOpenDays(isBankingDay, date, n);
}

export function bankingDaysBetween(a: LocalDate, b: LocalDate): number {
  return openDaysBetween(isBankingDay, a, b);
}
