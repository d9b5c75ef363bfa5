export type { LocalDate, CivilDate } from './civil';
export {
  isLeapYear,
  daysInLocalMonth,
  parseLocalDate,
  isLocalDate,
  formatLocalDate,
  addDays,
  daysBetween,
  dayOfWeek,
  isWeekend,
  compareLocalDates,
} from './civil';
export type { Resolution, PositionResolution, Period } from './zone';
export {
  DK_TIME_ZONE,
  RESOLUTION_MS,
  utcOffsetMinutes,
  localDateOf,
  localHourOf,
  tariffPriceIndex,
  localDayStart,
  localTimeOn,
  localDayEnd,
  localDayHours,
  localDayIntervals,
  localDatesPeriod,
  monthPeriod,
  quarterPeriod,
  positionInstant,
  positionOf,
} from './zone';
export type { DanishHolidayName, BankClosingDayName, NamedDay, DayCalendar } from './holidays';
export {
  easterSunday,
  LAST_YEAR_WITH_STORE_BEDEDAG,
  danishPublicHolidays,
  bankClosingDaysBeyondHolidays,
  isDanishPublicHoliday,
  isBusinessDay,
  isBankingDay,
  withClosedDays,
  addOpenDays,
  openDaysBetween,
  addBusinessDays,
  businessDaysBetween,
  addBankingDays,
  bankingDaysBetween,
} from './holidays';
