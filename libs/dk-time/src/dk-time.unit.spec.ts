import {
  LAST_YEAR_WITH_STORE_BEDEDAG,
  localTimeOn,
  parseLocalDate,
  LocalDate,
  addBankingDays,
  addBusinessDays,
  addDays,
  addOpenDays,
  bankClosingDaysBeyondHolidays,
  compareLocalDates,
  formatLocalDate,
  fromEpochDay,
  toEpochDay,
  bankingDaysBetween,
  businessDaysBetween,
  danishPublicHolidays,
  dayOfWeek,
  daysBetween,
  daysInLocalMonth,
  easterSunday,
  isBankingDay,
  isBusinessDay,
  isDanishPublicHoliday,
  isLocalDate,
  localDateOf,
  localDayEnd,
  localDayHours,
  localDayIntervals,
  localDayStart,
  localHourOf,
  monthPeriod,
  openDaysBetween,
  positionInstant,
  positionOf,
  quarterPeriod,
  tariffPriceIndex,
  utcOffsetMinutes,
  localLabel,
  withClosedDays,
} from './index';
import { civilOfEpochDay, epochDayOf } from './civil';

const iso = (d: Date): string => d.toISOString();
const at = (s: string): Date => new Date(s);

describe('local days and DST (Europe/Copenhagen)', () => {
  it.each([
    ['2026-01-15', '2026-01-14T23:00:00.000Z', '2026-01-15T23:00:00.000Z', 24, 96],
    ['2026-07-01', '2026-06-30T22:00:00.000Z', '2026-07-01T22:00:00.000Z', 24, 96],
    ['2026-03-29', '2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z', 23, 92],
    ['2026-10-25', '2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z', 25, 100],
    ['2025-03-30', '2025-03-29T23:00:00.000Z', '2025-03-30T22:00:00.000Z', 23, 92],
    ['2027-10-31', '2027-10-30T22:00:00.000Z', '2027-10-31T23:00:00.000Z', 25, 100],
  ])('%s runs %s → %s (%d h, %d quarters)', (date, start, end, hours, quarters) => {
    expect(iso(localDayStart(date))).toBe(start);
    expect(iso(localDayEnd(date))).toBe(end);
    expect(localDayHours(date)).toBe(hours);
    const q = localDayIntervals(date, 'PT15M');
    expect(q).toHaveLength(quarters);
    expect(iso(q[0]!)).toBe(start);
    expect(q[q.length - 1]!.getTime()).toBe(new Date(end).getTime() - 15 * 60_000);
    expect(localDayIntervals(date, 'PT1H')).toHaveLength(hours);
    expect(new Set(q.map(localDateOf))).toEqual(new Set([date]));
  });

  it('tariff price index on the 23-hour day 2026-03-29 skips Price3', () => {
    const hours = localDayIntervals('2026-03-29', 'PT1H').map(tariffPriceIndex);
    expect(hours).toEqual([1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    const quarters = localDayIntervals('2026-03-29', 'PT15M').map(tariffPriceIndex);
    expect(quarters.filter((i) => i === 3)).toHaveLength(0);
    expect(quarters.slice(4, 12)).toEqual([2, 2, 2, 2, 4, 4, 4, 4]);
  });

  it('tariff price index on the 25-hour day 2026-10-25 uses Price3 twice', () => {
    const hours = localDayIntervals('2026-10-25', 'PT1H').map(tariffPriceIndex);
    expect(hours).toEqual([1, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    const quarters = localDayIntervals('2026-10-25', 'PT15M').map(tariffPriceIndex);
    expect(quarters.filter((i) => i === 3)).toHaveLength(8);
    expect(localDayIntervals('2026-01-15', 'PT1H').map(tariffPriceIndex)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
  });

  it('local hour, date and offset around the transitions', () => {
    expect(localHourOf(at('2026-03-29T00:59:59.999Z'))).toBe(1);
    expect(localHourOf(at('2026-03-29T01:00:00Z'))).toBe(3);
    expect(utcOffsetMinutes(at('2026-03-29T00:59:59Z'))).toBe(60);
    expect(utcOffsetMinutes(at('2026-03-29T01:00:00Z'))).toBe(120);
    expect(localHourOf(at('2026-10-25T00:00:00Z'))).toBe(2);
    expect(localHourOf(at('2026-10-25T00:45:00Z'))).toBe(2);
    expect(localHourOf(at('2026-10-25T01:00:00Z'))).toBe(2);
    expect(localHourOf(at('2026-10-25T02:00:00Z'))).toBe(3);
    expect(utcOffsetMinutes(at('2026-10-25T00:59:59Z'))).toBe(120);
    expect(utcOffsetMinutes(at('2026-10-25T01:00:00Z'))).toBe(60);
    expect(localDateOf(at('2026-03-28T22:59:59.999Z'))).toBe('2026-03-28');
    expect(localDateOf(at('2026-03-28T23:00:00Z'))).toBe('2026-03-29');
    expect(localDateOf(at('2026-06-30T21:59:59Z'))).toBe('2026-06-30');
    expect(localDateOf(at('2026-06-30T22:00:00Z'))).toBe('2026-07-01');
    expect(localDateOf(at('2026-12-31T23:00:00Z'))).toBe('2027-01-01');
    expect(localHourOf(at('2026-12-31T23:30:00Z'))).toBe(0);
    expect(localHourOf(at('2026-07-15T21:59:00Z'))).toBe(23);
  });

  it('labels instants as local wall time with their offset: the repeated 02:00 hour twice, with different offsets', () => {
    expect(localLabel(at('2026-10-25T00:00:00Z'))).toBe('2026-10-25T02:00+02:00');
    expect(localLabel(at('2026-10-25T01:00:00Z'))).toBe('2026-10-25T02:00+01:00');
    expect(localLabel(at('2026-03-29T01:00:00Z'))).toBe('2026-03-29T03:00+02:00');
    expect(localLabel(at('2026-12-31T23:00:00Z'))).toBe('2027-01-01T00:00+01:00');
  });

  it('DST days match the EU rule (last Sunday of March/October) for 2000–2040', () => {
    const lastSunday = (year: number, month: number): LocalDate => {
      let d = `${year}-${String(month).padStart(2, '0')}-${daysInLocalMonth(year, month)}`;
      while (dayOfWeek(d) !== 7) d = addDays(d, -1);
      return d;
    };
    const expected: string[] = [];
    const actual: string[] = [];
    for (let year = 2000; year <= 2040; year++) {
      expected.push(`${lastSunday(year, 3)}:23`, `${lastSunday(year, 10)}:25`);
      for (let d = `${year}-01-01`; d !== `${year + 1}-01-01`; d = addDays(d, 1)) {
        const h = localDayHours(d);
        if (h !== 24) actual.push(`${d}:${h}`);
      }
      // the clocks change at 01:00 UTC
      expect(utcOffsetMinutes(at(`${lastSunday(year, 3)}T00:59:59Z`))).toBe(60);
      expect(utcOffsetMinutes(at(`${lastSunday(year, 3)}T01:00:00Z`))).toBe(120);
      expect(utcOffsetMinutes(at(`${lastSunday(year, 10)}T00:59:59Z`))).toBe(120);
      expect(utcOffsetMinutes(at(`${lastSunday(year, 10)}T01:00:00Z`))).toBe(60);
    }
    expect(actual).toEqual(expected);
  });

  it('rejects invalid dates and instants', () => {
    expect(() => localDayStart('2026-02-29')).toThrow(RangeError);
    expect(() => localDayStart('2026-3-1')).toThrow(RangeError);
    expect(() => localDayStart('2026-03-01T00:00')).toThrow(RangeError);
    expect(() => localHourOf(new Date(Number.NaN))).toThrow(RangeError);
    expect(isLocalDate('2024-02-29')).toBe(true);
    expect(isLocalDate('2100-02-29')).toBe(false);
  });

  it('isLocalDate accepts exactly what parseLocalDate accepts', () => {
    const accepts = (d: unknown): boolean => {
      try {
        parseLocalDate(d as string);
        return true;
      } catch {
        return false;
      }
    };
    const cases: unknown[] = ['2026-10-01', '0001-01-01', '9999-12-31', '2000-02-29', '1900-02-29', '0000-01-01', '2026-00-10', '2026-13-01', '2026-04-31', '2026-01-00', '2026-01-32',
      '2026-1-01', '2026-01-1', ' 2026-01-01', '2026-01-01 ', '2026-01-01\n', '2026/01/01', '2026-01-0a', '２０２６-01-01', '+026-01-01', '2026-01-01T00', '', 20260101, null, undefined];
    for (const d of cases) expect([d, isLocalDate(d)]).toEqual([d, accepts(d)]);
  });
});

describe('localTimeOn: a wall-clock time on a Danish date', () => {
  it('gives the instant in summer and winter time and on both DST days', () => {
    expect(localTimeOn('2026-07-01', 13, 15).toISOString()).toBe('2026-07-01T11:15:00.000Z');
    expect(localTimeOn('2026-12-01', 13, 15).toISOString()).toBe('2026-12-01T12:15:00.000Z');
    expect(localTimeOn('2026-03-29', 13, 15).toISOString()).toBe('2026-03-29T11:15:00.000Z');
    expect(localTimeOn('2026-10-25', 13, 15).toISOString()).toBe('2026-10-25T12:15:00.000Z');
    expect(localTimeOn('2026-10-25', 0).toISOString()).toBe(localDayStart('2026-10-25').toISOString());
  });
  it('takes the first of the repeated autumn hour and refuses the spring gap', () => {
    expect(localTimeOn('2026-10-25', 2, 30).toISOString()).toBe('2026-10-25T00:30:00.000Z');
    expect(() => localTimeOn('2026-03-29', 2, 30)).toThrow(/spring gap/);
    expect(() => localTimeOn('2026-03-29', 24)).toThrow(RangeError);
  });
});

describe('billing periods', () => {
  it('months in winter and summer (UTC+1, UTC+2, and across DST)', () => {
    const jan = monthPeriod(2026, 1);
    expect([iso(jan.start), iso(jan.end)]).toEqual(['2025-12-31T23:00:00.000Z', '2026-01-31T23:00:00.000Z']);
    const jul = monthPeriod(2026, 7);
    expect([iso(jul.start), iso(jul.end)]).toEqual(['2026-06-30T22:00:00.000Z', '2026-07-31T22:00:00.000Z']);
    const mar = monthPeriod(2026, 3);
    expect([iso(mar.start), iso(mar.end)]).toEqual(['2026-02-28T23:00:00.000Z', '2026-03-31T22:00:00.000Z']);
    expect((mar.end.getTime() - mar.start.getTime()) / 3_600_000).toBe(743);
    const oct = monthPeriod(2026, 10);
    expect((oct.end.getTime() - oct.start.getTime()) / 3_600_000).toBe(745);
    const dec = monthPeriod(2026, 12);
    expect([iso(dec.start), iso(dec.end)]).toEqual(['2026-11-30T23:00:00.000Z', '2026-12-31T23:00:00.000Z']);
    expect(() => monthPeriod(2026, 13)).toThrow(RangeError);
  });

  it('quarters', () => {
    const q1 = quarterPeriod(2026, 1);
    expect([iso(q1.start), iso(q1.end)]).toEqual(['2025-12-31T23:00:00.000Z', '2026-03-31T22:00:00.000Z']);
    const q4 = quarterPeriod(2026, 4);
    expect([iso(q4.start), iso(q4.end)]).toEqual(['2026-09-30T22:00:00.000Z', '2026-12-31T23:00:00.000Z']);
    expect(() => quarterPeriod(2026, 0)).toThrow(RangeError);
  });

  it('days in month and calendar days between', () => {
    expect(daysInLocalMonth(2026, 2)).toBe(28);
    expect(daysInLocalMonth(2024, 2)).toBe(29);
    expect(daysInLocalMonth(2000, 2)).toBe(29);
    expect(daysInLocalMonth(2100, 2)).toBe(28);
    expect(daysInLocalMonth(2026, 3)).toBe(31);
    expect(daysInLocalMonth(2026, 4)).toBe(30);
    expect(daysBetween('2026-03-01', '2026-04-01')).toBe(31);
    expect(daysBetween('2026-10-01', '2026-11-01')).toBe(31);
    expect(daysBetween('2026-04-01', '2026-03-01')).toBe(-31);
    expect(daysBetween('2024-01-01', '2025-01-01')).toBe(366);
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
    expect(dayOfWeek('2026-04-05')).toBe(7);
    expect(dayOfWeek('1970-01-01')).toBe(4);
  });

  it('addDays, daysBetween and compareLocalDates (read by character codes) agree with the civil-date arithmetic on seeded dates of years 1–9999', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const first = epochDayOf({ year: 1, month: 1, day: 1 });
    const last = epochDayOf({ year: 9999, month: 12, day: 31 });
    const dateOf = (z: number): LocalDate => {
      const c = civilOfEpochDay(z);
      return formatLocalDate(c.year, c.month, c.day);
    };
    for (let i = 0; i < 2000; i++) {
      // Half of the pairs near each other (month and year ends, leap days), half anywhere.
      const za = first + rand(last - first + 1);
      const zb = i % 2 === 0 ? Math.min(last, Math.max(first, za + rand(800) - 400)) : first + rand(last - first + 1);
      const a = dateOf(za);
      const b = dateOf(zb);
      expect(parseLocalDate(a)).toEqual(civilOfEpochDay(za));
      expect(toEpochDay(a)).toBe(za);
      expect(fromEpochDay(za)).toBe(a);
      expect(daysBetween(a, b)).toBe(zb - za);
      expect(compareLocalDates(a, b)).toBe(za - zb);
      expect(Math.sign(compareLocalDates(a, b))).toBe(a < b ? -1 : a > b ? 1 : 0);
      expect(addDays(a, zb - za)).toBe(b);
    }
    expect(addDays('1000-01-01', -1)).toBe('0999-12-31');
    expect(addDays('0001-01-01', 0)).toBe('0001-01-01');
    expect(() => addDays('0001-01-01', -1)).toThrow(RangeError);
    expect(() => addDays('9999-12-31', 1)).toThrow(RangeError);
    expect(() => fromEpochDay(last + 1)).toThrow(RangeError);
  });

  it('date arithmetic refuses what is not a YYYY-MM-DD date as parseLocalDate does', () => {
    for (const bad of ['2026-02-29', '2026-13-01', '2026-00-10', '2026-1-01', '2026-01-1', '20260101', '2026/01/01', ' 2026-01-01', '0000-01-01', '٢٠٢٦-01-01', '']) {
      expect(() => addDays(bad, 1)).toThrow(RangeError);
      expect(() => daysBetween('2026-01-01', bad)).toThrow(`Invalid local date ${JSON.stringify(bad)}`);
      expect(() => daysBetween(bad, '2026-01-01')).toThrow(`Invalid local date ${JSON.stringify(bad)}`);
      expect(() => compareLocalDates(bad, '2026-01-01')).toThrow(RangeError);
      expect(() => toEpochDay(bad)).toThrow(RangeError);
    }
    // Both invalid: the later date is named first, as before.
    expect(() => daysBetween('2026-13-01', '2026-14-01')).toThrow('"2026-14-01"');
  });
});

describe('positions', () => {
  it('position instant = start + (position − 1) × resolution, across the long day', () => {
    const start = localDayStart('2026-10-25');
    expect(iso(positionInstant(start, 'PT15M', 1))).toBe('2026-10-24T22:00:00.000Z');
    expect(iso(positionInstant(start, 'PT15M', 9))).toBe('2026-10-25T00:00:00.000Z');
    expect(iso(positionInstant(start, 'PT15M', 13))).toBe('2026-10-25T01:00:00.000Z');
    expect(iso(positionInstant(start, 'PT15M', 100))).toBe('2026-10-25T22:45:00.000Z');
    expect(iso(positionInstant(start, 'PT1H', 25))).toBe('2026-10-25T22:00:00.000Z');
    expect(positionOf(start, 'PT15M', at('2026-10-25T22:45:00Z'))).toBe(100);
    expect(() => positionOf(start, 'PT1H', at('2026-10-25T22:45:00Z'))).toThrow(RangeError);
    expect(() => positionInstant(start, 'PT15M', 0)).toThrow(RangeError);
  });

  it('P1D and P1M positions step in local calendar units', () => {
    const mar = monthPeriod(2026, 3).start;
    expect(iso(positionInstant(mar, 'P1D', 31))).toBe('2026-03-30T22:00:00.000Z');
    expect(iso(positionInstant(monthPeriod(2026, 1).start, 'P1M', 4))).toBe('2026-03-31T22:00:00.000Z');
    expect(iso(positionInstant(monthPeriod(2026, 11).start, 'P1M', 3))).toBe('2026-12-31T23:00:00.000Z');
    expect(() => positionInstant(at('2026-03-01T00:00:00Z'), 'P1D', 1)).toThrow(RangeError);
  });
});

describe('Danish holidays', () => {
  it.each([
    [2000, '2000-04-23'],
    [2019, '2019-04-21'],
    [2023, '2023-04-09'],
    [2024, '2024-03-31'],
    [2025, '2025-04-20'],
    [2026, '2026-04-05'],
    [2038, '2038-04-25'],
    [1818, '1818-03-22'],
    [2285, '2285-03-22'],
  ])('Easter %d is %s', (year, date) => {
    expect(easterSunday(year)).toBe(date);
  });

  it('2026 list', () => {
    expect(danishPublicHolidays(2026)).toEqual([
      { date: '2026-01-01', name: 'Nytårsdag' },
      { date: '2026-04-02', name: 'Skærtorsdag' },
      { date: '2026-04-03', name: 'Langfredag' },
      { date: '2026-04-05', name: 'Påskedag' },
      { date: '2026-04-06', name: '2. påskedag' },
      { date: '2026-05-14', name: 'Kristi himmelfartsdag' },
      { date: '2026-05-24', name: 'Pinsedag' },
      { date: '2026-05-25', name: '2. pinsedag' },
      { date: '2026-12-25', name: 'Juledag' },
      { date: '2026-12-26', name: '2. juledag' },
    ]);
  });

  it('2024 list (no Store bededag) and 2023 (Store bededag 5 May)', () => {
    expect(LAST_YEAR_WITH_STORE_BEDEDAG).toBe(2023);
    expect(danishPublicHolidays(2024).map((d) => d.date)).toEqual([
      '2024-01-01',
      '2024-03-28',
      '2024-03-29',
      '2024-03-31',
      '2024-04-01',
      '2024-05-09',
      '2024-05-19',
      '2024-05-20',
      '2024-12-25',
      '2024-12-26',
    ]);
    expect(danishPublicHolidays(2023)).toContainEqual({ date: '2023-05-05', name: 'Store bededag' });
    expect(isDanishPublicHoliday('2023-05-05')).toBe(true);
    expect(isBusinessDay('2023-05-05')).toBe(false);
    expect(isDanishPublicHoliday('2024-04-26')).toBe(false); // would have been Store bededag
    expect(isBusinessDay('2024-04-26')).toBe(true);
  });

  it('Grundlovsdag, 24 and 31 December are business days but not banking days', () => {
    for (const d of ['2026-06-05', '2026-12-24', '2026-12-31', '2026-05-15']) {
      expect(isDanishPublicHoliday(d)).toBe(false);
      expect(isBusinessDay(d)).toBe(true);
      expect(isBankingDay(d)).toBe(false);
    }
    expect(bankClosingDaysBeyondHolidays(2026).map((d) => d.date)).toEqual(['2026-05-15', '2026-06-05', '2026-12-24', '2026-12-31']);
  });

  it("weekday banking closures of 2026 equal Nationalbanken's list", () => {
    const closed: string[] = [];
    for (let d = '2026-01-01'; d !== '2027-01-01'; d = addDays(d, 1)) {
      if (dayOfWeek(d) <= 5 && !isBankingDay(d)) closed.push(d);
    }
    expect(closed).toEqual([
      '2026-01-01',
      '2026-04-02',
      '2026-04-03',
      '2026-04-06',
      '2026-05-14',
      '2026-05-15',
      '2026-05-25',
      '2026-06-05',
      '2026-12-24',
      '2026-12-25',
      '2026-12-26',
      '2026-12-31',
    ].filter((d) => dayOfWeek(d) <= 5));
    expect(closed).toHaveLength(11); // 2026-12-26 is a Saturday
  });
});

describe('business-day and banking-day arithmetic', () => {
  it('over Easter 2026', () => {
    expect(addBusinessDays('2026-04-01', 1)).toBe('2026-04-07');
    expect(addBusinessDays('2026-04-07', -1)).toBe('2026-04-01');
    expect(addBusinessDays('2026-03-27', 5)).toBe('2026-04-08');
    expect(addBusinessDays('2026-04-08', -5)).toBe('2026-03-27');
    expect(addBusinessDays('2026-04-04', 0)).toBe('2026-04-04');
    expect(addBusinessDays('2026-04-04', 1)).toBe('2026-04-07');
    expect(addBusinessDays('2026-04-04', -1)).toBe('2026-04-01');
    expect(businessDaysBetween('2026-03-31', '2026-04-10')).toBe(5);
    expect(businessDaysBetween('2026-04-10', '2026-03-31')).toBe(-5);
    expect(businessDaysBetween('2026-04-02', '2026-04-06')).toBe(0);
  });

  it('banking days around Ascension and Christmas 2026', () => {
    expect(addBusinessDays('2026-05-13', 1)).toBe('2026-05-15');
    expect(addBankingDays('2026-05-13', 1)).toBe('2026-05-18');
    expect(addBankingDays('2026-12-23', 1)).toBe('2026-12-28');
    expect(addBankingDays('2027-01-04', -3)).toBe('2026-12-28'); // 1 Jan holiday, 31 Dec closed
    expect(bankingDaysBetween('2026-12-23', '2026-12-28')).toBe(1);
    expect(businessDaysBetween('2026-12-23', '2026-12-28')).toBe(2); // 24th and 28th
  });

  it('withClosedDays adds closures (e.g. an official list)', () => {
    const cal = withClosedDays(isBusinessDay, ['2026-04-07']);
    expect(addOpenDays(cal, '2026-04-01', 1)).toBe('2026-04-08');
    expect(openDaysBetween(cal, '2026-04-01', '2026-04-08')).toBe(1);
    expect(() => withClosedDays(isBusinessDay, ['2026-13-01'])).toThrow(RangeError);
    expect(() => addOpenDays(() => false, '2026-01-01', 1)).toThrow(RangeError);
  });

  it('add and between are inverse on seeded random pairs (both calendars)', () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let i = 0; i < 300; i++) {
      const a = addDays('2022-01-01', rand(2000));
      let b = addDays(a, rand(120) - 60);
      const cal = i % 2 === 0 ? isBusinessDay : isBankingDay;
      while (!cal(b)) b = addDays(b, 1);
      const n = openDaysBetween(cal, a, b);
      expect(addOpenDays(cal, a, n)).toBe(b);
      expect(Math.sign(n)).toBe(a === b ? 0 : Math.sign(daysBetween(a, b)) * (n === 0 ? 0 : 1));
    }
  });
});
