import { addBusinessDays, addDays, type LocalDate } from '@dh/dk-time';
import { DomainRuleViolation } from '../errors';

/**
 * The market's lead times as data, so a changed regulation is a configuration change.
 * Defaults: docs/domain.md and docs/research/market-facts.md §4 (Forskrift H1).
 */
export interface LeadTimeRules {
  /** BRS-001: next-day switching since 2021 (the mission's 15 business days is obsolete). */
  changeOfSupplier: { minDaysAhead: number; maxDaysAhead: number | null };
  /** BRS-002: reported earliest 60 calendar days and latest 3 business days before the date. */
  endOfSupply: { maxCalendarDaysAhead: number; minBusinessDaysAhead: number };
  /** BRS-009: up to 5 business days after the date, any time ahead. */
  moveIn: { maxBusinessDaysLate: number; maxDaysAhead: number | null };
  /** BRS-010: no sourced rule; we assume the move-in window (see README). */
  moveOut: { maxBusinessDaysLate: number; maxDaysAhead: number | null };
  /** BRS-003: only within 180 days after the effective date of the switch. */
  incorrectSwitch: { maxDaysAfterEffective: number };
  /** RSM-002 (BRS-001) must arrive at the latest the day before the effective date. */
  cancellation: { minDaysBeforeEffective: number };
}

export const DEFAULT_LEAD_TIME_RULES: LeadTimeRules = Object.freeze({
  changeOfSupplier: { minDaysAhead: 1, maxDaysAhead: null },
  endOfSupply: { maxCalendarDaysAhead: 60, minBusinessDaysAhead: 3 },
  moveIn: { maxBusinessDaysLate: 5, maxDaysAhead: null },
  moveOut: { maxBusinessDaysLate: 5, maxDaysAhead: null },
  incorrectSwitch: { maxDaysAfterEffective: 180 },
  cancellation: { minDaysBeforeEffective: 1 },
});

/** The first and last day on which a request for `effectiveDate` may be reported (null: no limit). */
export interface ReportingWindow {
  earliest: LocalDate | null;
  latest: LocalDate | null;
}

export type LeadTimeProcess = 'change of supplier' | 'end of supply' | 'move-in' | 'move-out' | 'incorrect switch' | 'cancellation';

export function reportingWindow(rules: LeadTimeRules, process: LeadTimeProcess, effectiveDate: LocalDate): ReportingWindow {
  switch (process) {
    case 'change of supplier':
      return {
        earliest: rules.changeOfSupplier.maxDaysAhead === null ? null : addDays(effectiveDate, -rules.changeOfSupplier.maxDaysAhead),
        latest: addDays(effectiveDate, -rules.changeOfSupplier.minDaysAhead),
      };
    case 'end of supply':
      // The latest day is the business day N business days before the date; a report on a
      // closed day after it is late (we count from the deadline, not from the day of reporting).
      return {
        earliest: addDays(effectiveDate, -rules.endOfSupply.maxCalendarDaysAhead),
        latest: addBusinessDays(effectiveDate, -rules.endOfSupply.minBusinessDaysAhead),
      };
    case 'move-in':
    case 'move-out': {
      const rule = process === 'move-in' ? rules.moveIn : rules.moveOut;
      return {
        earliest: rule.maxDaysAhead === null ? null : addDays(effectiveDate, -rule.maxDaysAhead),
        latest: addBusinessDays(effectiveDate, rule.maxBusinessDaysLate),
      };
    }
    case 'incorrect switch':
      return { earliest: effectiveDate, latest: addDays(effectiveDate, rules.incorrectSwitch.maxDaysAfterEffective) };
    case 'cancellation':
      return { earliest: null, latest: addDays(effectiveDate, -rules.cancellation.minDaysBeforeEffective) };
  }
}

/** Throws `DomainRuleViolation('lead-time', …)` when `today` is outside the reporting window. */
export function assertReportable(rules: LeadTimeRules, process: LeadTimeProcess, effectiveDate: LocalDate, today: LocalDate): void {
  const { earliest, latest } = reportingWindow(rules, process, effectiveDate);
  const tooEarly = earliest !== null && today < earliest;
  const tooLate = latest !== null && today > latest;
  if (!tooEarly && !tooLate) return;
  const window =
    earliest !== null && latest !== null
      ? `between ${earliest} and ${latest}`
      : earliest !== null
        ? `on or after ${earliest}`
        : `on or before ${latest}`;
  throw new DomainRuleViolation('lead-time', `${process} for ${effectiveDate} must be reported ${window}; today is ${today}`);
}
