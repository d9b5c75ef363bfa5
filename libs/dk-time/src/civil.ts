/** A calendar date in Europe/Copenhagen, ISO `YYYY-MM-DD` (years 0001–9999). */
export type LocalDate = string;

export interface CivilDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function assertYear(year: number): void {
  if (!Number.isInteger(year) || year < 1 || year > 9999) throw new RangeError(`Year ${year} out of range 1..9999`);
}

function assertMonth(month: number): void {
  if (!Number.isInteger(month) || month < 1 || month > 12) throw new RangeError(`Month ${month} out of range 1..12`);
}

/** Days in a calendar month (the same in any time zone). */
export function daysInLocalMonth(year: number, month: number): number {
  assertYear(year);
  assertMonth(month);
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Strictly parses `YYYY-MM-DD` and checks the date exists; throws RangeError otherwise. */
export function parseLocalDate(date: LocalDate): CivilDate {
  const m = typeof date === 'string' ? DATE_RE.exec(date) : null;
  if (m === null) throw new RangeError(`Invalid local date ${JSON.stringify(date)}: expected YYYY-MM-DD`);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInLocalMonth(year, month)) {
    throw new RangeError(`Invalid local date ${JSON.stringify(date)}: no such day`);
  }
  return { year, month, day };
}

/** The decimal value of the ASCII digits `s[from..to)`, or -1 when one is not a digit. */
function digitsAt(s: string, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** The same check as {@link parseLocalDate}, without a regular expression, a match or an exception (it runs per metering point). */
export function isLocalDate(date: unknown): date is LocalDate {
  if (typeof date !== 'string' || date.length !== 10 || date.charCodeAt(4) !== 45 || date.charCodeAt(7) !== 45) return false;
  const year = digitsAt(date, 0, 4);
  const month = digitsAt(date, 5, 7);
  const day = digitsAt(date, 8, 10);
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInLocalMonth(year, month);
}

export function formatLocalDate(year: number, month: number, day: number): LocalDate {
  assertYear(year);
  assertMonth(month);
  if (!Number.isInteger(day) || day < 1 || day > daysInLocalMonth(year, month)) throw new RangeError(`Day ${day} out of range for ${year}-${month}`);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function epochDayOf(c: CivilDate): number {
  const y = c.month <= 2 ? c.year - 1 : c.year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (c.month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + c.day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Inverse of {@link epochDayOf} (civil_from_days). */
export function civilOfEpochDay(z: number): CivilDate {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** The local date of a day number since 1970-01-01 (the inverse of {@link toEpochDay}); RangeError outside years 1–9999. */
export function fromEpochDay(z: number): LocalDate {
  const c = civilOfEpochDay(z);
  // Four-digit years need no padding or range check (formatLocalDate does both for the others, and throws outside 1..9999).
  if (c.year >= 1000 && c.year <= 9999) return `${c.year}-${c.month < 10 ? '0' : ''}${c.month}-${c.day < 10 ? '0' : ''}${c.day}`;
  return formatLocalDate(c.year, c.month, c.day);
}

/**
 * The day number since 1970-01-01 of a `YYYY-MM-DD` string ({@link epochDayOf}): read by character codes when {@link isLocalDate} holds (no regular
 * expression or object per call: date arithmetic runs per day of every metering point), else through
 * {@link parseLocalDate}, which throws its RangeError.
 */
export function toEpochDay(date: LocalDate): number {
  if (!isLocalDate(date)) return epochDayOf(parseLocalDate(date));
  const year = digitsAt(date, 0, 4);
  const month = digitsAt(date, 5, 7);
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + digitsAt(date, 8, 10) - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

/** Calendar arithmetic: `addDays('2026-03-28', 2)` → `'2026-03-30'` (DST-independent). */
export function addDays(date: LocalDate, n: number): LocalDate {
  if (!Number.isSafeInteger(n)) throw new RangeError(`addDays: ${n} is not an integer`);
  return fromEpochDay(toEpochDay(date) + n);
}

/** Calendar days from `a` to `b` (b − a; negative when b is before a). */
export function daysBetween(a: LocalDate, b: LocalDate): number {
  const to = toEpochDay(b);
  return to - toEpochDay(a);
}

/** ISO day of week: 1 = Monday … 7 = Sunday. */
export function dayOfWeek(date: LocalDate): number {
  const z = epochDayOf(parseLocalDate(date));
  // 1970-01-01 was a Thursday (4).
  return ((((z + 3) % 7) + 7) % 7) + 1;
}

export function isWeekend(date: LocalDate): boolean {
  return dayOfWeek(date) >= 6;
}

/** Compares two local dates: negative, zero or positive. */
export function compareLocalDates(a: LocalDate, b: LocalDate): number {
  return daysBetween(b, a);
}
