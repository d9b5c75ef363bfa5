import { LocalDate, addDays, civilOfEpochDay, epochDayOf, formatLocalDate, parseLocalDate } from './civil';

/** The zone of billing periods, tariff hours, business days and "the day". */
export const DK_TIME_ZONE = 'Europe/Copenhagen';

const MS_PER_MINUTE = 60_000;
const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;

const formatter = new Intl.DateTimeFormat('en-US', {
  timeZone: DK_TIME_ZONE,
  hourCycle: 'h23',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
  era: 'short',
});

/**
 * Offset lookup via the runtime's IANA tz database (Intl). Copenhagen changes offset at most once
 * per UTC day and only at a whole UTC hour, so offsets are memoised per UTC day as
 * (offset before, instant of change, offset after): two Intl calls per day, plus a binary search
 * over the hours on the two transition days a year. (date-fns-tz's `getTimezoneOffset` returns the
 * wrong offset during the first hour after a transition and is not used.)
 */
interface DayOffsets {
  readonly before: number;
  readonly changeMs: number;
  readonly after: number;
}
const offsetCache = new Map<number, DayOffsets>();
const OFFSET_CACHE_LIMIT = 200_000;

function computeOffsetMs(hourStartMs: number): number {
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let bc = false;
  for (const p of formatter.formatToParts(new Date(hourStartMs))) {
    switch (p.type) {
      case 'year':
        year = Number(p.value);
        break;
      case 'month':
        month = Number(p.value);
        break;
      case 'day':
        day = Number(p.value);
        break;
      case 'hour':
        hour = Number(p.value);
        break;
      case 'minute':
        minute = Number(p.value);
        break;
      case 'second':
        second = Number(p.value);
        break;
      case 'era':
        bc = p.value.startsWith('B');
        break;
      default:
        break;
    }
  }
  if (bc) year = 1 - year;
  const wall = epochDayOf({ year, month, day }) * MS_PER_DAY + hour * MS_PER_HOUR + minute * MS_PER_MINUTE + second * 1000;
  return wall - hourStartMs;
}

function instantMs(instant: Date): number {
  const t = instant instanceof Date ? instant.getTime() : Number.NaN;
  if (!Number.isFinite(t)) throw new RangeError('Invalid instant');
  return t;
}

/** UTC offset of Europe/Copenhagen at the instant, in minutes (60 in winter, 120 in summer). */
export function utcOffsetMinutes(instant: Date): number {
  return offsetMsAt(instantMs(instant)) / MS_PER_MINUTE;
}

/**
 * An instant as Copenhagen wall time with its offset, to the minute: `2026-10-25T02:00+02:00` and,
 * an hour later, `2026-10-25T02:00+01:00` (the repeated hour). What the portal shows customers.
 */
export function localLabel(instant: Date): string {
  const offset = utcOffsetMinutes(instant);
  const wall = new Date(instant.getTime() + offset * MS_PER_MINUTE).toISOString().slice(0, 16);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${wall}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

function dayOffsets(dayIndex: number): DayOffsets {
  const dayStart = dayIndex * MS_PER_DAY;
  const before = computeOffsetMs(dayStart);
  const after = computeOffsetMs(dayStart + 23 * MS_PER_HOUR);
  if (before === after) return { before, changeMs: Number.POSITIVE_INFINITY, after };
  // First hour (1..23) whose offset differs from the day's start.
  let lo = 1;
  let hi = 23;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (computeOffsetMs(dayStart + mid * MS_PER_HOUR) === before) lo = mid + 1;
    else hi = mid;
  }
  return { before, changeMs: dayStart + lo * MS_PER_HOUR, after };
}

function offsetMsAt(ms: number): number {
  const dayIndex = Math.floor(ms / MS_PER_DAY);
  let entry = offsetCache.get(dayIndex);
  if (entry === undefined) {
    entry = dayOffsets(dayIndex);
    if (offsetCache.size >= OFFSET_CACHE_LIMIT) offsetCache.clear();
    offsetCache.set(dayIndex, entry);
  }
  return ms < entry.changeMs ? entry.before : entry.after;
}

function wallMs(ms: number): number {
  return ms + offsetMsAt(ms);
}

/** The local calendar date of an instant. */
export function localDateOf(instant: Date): LocalDate {
  const c = civilOfEpochDay(Math.floor(wallMs(instantMs(instant)) / MS_PER_DAY));
  return formatLocalDate(c.year, c.month, c.day);
}

/** The local wall-clock hour 0..23 of an instant (the repeated autumn hour gives 2 twice). */
export function localHourOf(instant: Date): number {
  const w = wallMs(instantMs(instant));
  return Math.floor((((w % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY) / MS_PER_HOUR);
}

/**
 * Index 1..24 of the DatahubPricelist hourly price (`Price1..Price24`) that applies at the instant:
 * local hour + 1. On a 25-hour day both 02:00–03:00 hours use Price3; on a 23-hour day Price3 is
 * never used (domain.md "Time"; market-facts.md §7).
 */
export function tariffPriceIndex(instant: Date): number {
  return localHourOf(instant) + 1;
}

/** The UTC instant at which the local day starts (local midnight; never inside a DST gap in Copenhagen). */
export function localDayStart(date: LocalDate): Date {
  const wallMidnight = epochDayOf(parseLocalDate(date)) * MS_PER_DAY;
  // Guess with the offset just before the wall time, then correct once if it differs.
  let t = wallMidnight - offsetMsAt(wallMidnight - MS_PER_DAY / 2);
  const o = offsetMsAt(t);
  if (wallMidnight - o !== t) t = wallMidnight - o;
  return new Date(t);
}

/**
 * The UTC instant of a local wall-clock time on a date (`13:15` on 2026-10-25 → 12:15Z, winter time).
 * Refused inside the spring gap (02:00–03:00 does not exist that day); in the repeated autumn hour the first
 * (summer-time) occurrence is meant.
 */
export function localTimeOn(date: LocalDate, hour: number, minute = 0): Date {
  if (!Number.isInteger(hour) || hour < 0 || hour > 23 || !Number.isInteger(minute) || minute < 0 || minute > 59) throw new RangeError(`localTimeOn: ${hour}:${minute} is not a time of day`);
  const wall = epochDayOf(parseLocalDate(date)) * MS_PER_DAY + hour * MS_PER_HOUR + minute * MS_PER_MINUTE;
  // Copenhagen is UTC+2 (summer) or UTC+1 (winter): the earliest candidate that shows this wall time.
  const found = [wall - 2 * MS_PER_HOUR, wall - MS_PER_HOUR].find((t) => wallMs(t) === wall);
  if (found === undefined) throw new RangeError(`localTimeOn: ${date} ${hour}:${String(minute).padStart(2, '0')} does not exist in Europe/Copenhagen (spring gap)`);
  return new Date(found);
}

/** The UTC instant at which the local day ends (exclusive) = the next day's start. */
export function localDayEnd(date: LocalDate): Date {
  return localDayStart(addDays(date, 1));
}

/** Length of the local day in hours: 23, 24 or 25. */
export function localDayHours(date: LocalDate): number {
  return (localDayEnd(date).getTime() - localDayStart(date).getTime()) / MS_PER_HOUR;
}

export type Resolution = 'PT15M' | 'PT1H';

export const RESOLUTION_MS: Readonly<Record<Resolution, number>> = { PT15M: 15 * MS_PER_MINUTE, PT1H: MS_PER_HOUR };

function resolutionMs(resolution: string): number {
  if (resolution === 'PT15M' || resolution === 'PT1H') return RESOLUTION_MS[resolution];
  throw new RangeError(`Unsupported resolution ${JSON.stringify(resolution)}`);
}

/**
 * Start instants of the intervals of a local day: 92/96/100 for PT15M, 23/24/25 for PT1H.
 */
export function localDayIntervals(date: LocalDate, resolution: Resolution): Date[] {
  const step = resolutionMs(resolution);
  const start = localDayStart(date).getTime();
  const end = localDayEnd(date).getTime();
  const out: Date[] = [];
  for (let t = start; t < end; t += step) out.push(new Date(t));
  return out;
}

/** A half-open UTC interval [start, end). */
export interface Period {
  readonly start: Date;
  readonly end: Date;
}

/** [local midnight of `from`, local midnight of `toExclusive`). */
export function localDatesPeriod(from: LocalDate, toExclusive: LocalDate): Period {
  const start = localDayStart(from);
  const end = localDayStart(toExclusive);
  if (end.getTime() < start.getTime()) throw new RangeError(`Period end ${toExclusive} is before its start ${from}`);
  return { start, end };
}

/** The local calendar month as UTC instants of local midnights, end exclusive. */
export function monthPeriod(year: number, month: number): Period {
  const from = formatLocalDate(year, month, 1);
  const to = month === 12 ? formatLocalDate(year + 1, 1, 1) : formatLocalDate(year, month + 1, 1);
  return localDatesPeriod(from, to);
}

/** Quarter 1..4 of a year (Q1 = Jan–Mar) as UTC instants of local midnights, end exclusive. */
export function quarterPeriod(year: number, quarter: number): Period {
  if (!Number.isInteger(quarter) || quarter < 1 || quarter > 4) throw new RangeError(`Quarter ${quarter} out of range 1..4`);
  const from = formatLocalDate(year, quarter * 3 - 2, 1);
  const to = quarter === 4 ? formatLocalDate(year + 1, 1, 1) : formatLocalDate(year, quarter * 3 + 1, 1);
  return localDatesPeriod(from, to);
}

export type PositionResolution = Resolution | 'P1D' | 'P1M';

/**
 * Instant of a 1-based position of a time series: period start + (position − 1) × resolution.
 * PT15M/PT1H are fixed durations (correct across DST). P1D/P1M step in local days/months from the
 * local date of `periodStart`, which must then be a local midnight (and the 1st for P1M).
 */
export function positionInstant(periodStart: Date, resolution: PositionResolution, position: number): Date {
  if (!Number.isSafeInteger(position) || position < 1) throw new RangeError(`Position ${position} must be an integer ≥ 1`);
  const start = instantMs(periodStart);
  if (resolution === 'P1D' || resolution === 'P1M') {
    const date = localDateOf(periodStart);
    if (localDayStart(date).getTime() !== start) throw new RangeError(`${resolution} period start ${periodStart.toISOString()} is not a local midnight`);
    const c = parseLocalDate(date);
    if (resolution === 'P1D') return localDayStart(addDays(date, position - 1));
    if (c.day !== 1) throw new RangeError(`P1M period start ${periodStart.toISOString()} is not the first of a month`);
    const m0 = c.year * 12 + (c.month - 1) + (position - 1);
    return localDayStart(formatLocalDate(Math.floor(m0 / 12), (m0 % 12) + 1, 1));
  }
  return new Date(start + (position - 1) * resolutionMs(resolution));
}

/** Inverse of {@link positionInstant} for PT15M/PT1H: the 1-based position whose interval starts at `instant`. */
export function positionOf(periodStart: Date, resolution: Resolution, instant: Date): number {
  const step = resolutionMs(resolution);
  const diff = instantMs(instant) - instantMs(periodStart);
  if (diff < 0 || diff % step !== 0) throw new RangeError(`Instant ${instant.toISOString()} is not a ${resolution} position start of the period`);
  return diff / step + 1;
}
