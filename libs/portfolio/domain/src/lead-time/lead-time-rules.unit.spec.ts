import { refusal } from '../testing/decider-spec';
import { assertReportable, DEFAULT_LEAD_TIME_RULES, reportingWindow } from './lead-time-rules';

describe('lead-time rules', () => {
  const rules = DEFAULT_LEAD_TIME_RULES;

  it('default to the market rules of domain.md, not the mission text', () => {
    expect(rules).toEqual({
      changeOfSupplier: { minDaysAhead: 1, maxDaysAhead: null },
      endOfSupply: { maxCalendarDaysAhead: 60, minBusinessDaysAhead: 3 },
      moveIn: { maxBusinessDaysLate: 5, maxDaysAhead: null },
      moveOut: { maxBusinessDaysLate: 5, maxDaysAhead: null },
      incorrectSwitch: { maxDaysAfterEffective: 180 },
      cancellation: { minDaysBeforeEffective: 1 },
    });
  });

  it.each([
    ['change of supplier', '2026-05-01', { earliest: null, latest: '2026-04-30' }],
    ['end of supply', '2026-04-08', { earliest: '2026-02-07', latest: '2026-03-31' }],
    ['end of supply', '2026-12-28', { earliest: '2026-10-29', latest: '2026-12-22' }],
    ['move-in', '2026-03-30', { earliest: null, latest: '2026-04-09' }],
    ['move-out', '2026-12-22', { earliest: null, latest: '2026-12-30' }],
    ['incorrect switch', '2026-01-05', { earliest: '2026-01-05', latest: '2026-07-04' }],
    ['cancellation', '2026-03-01', { earliest: null, latest: '2026-02-28' }],
  ] as const)('%s for %s may be reported %j', (process, effectiveDate, window) => {
    expect(reportingWindow(rules, process, effectiveDate)).toEqual(window);
  });

  it('caps how far ahead when a maximum is configured', () => {
    const capped = { ...rules, changeOfSupplier: { minDaysAhead: 1, maxDaysAhead: 30 } };
    expect(refusal(() => assertReportable(capped, 'change of supplier', '2026-06-01', '2026-04-30')).message).toBe(
      'change of supplier for 2026-06-01 must be reported between 2026-05-02 and 2026-05-31; today is 2026-04-30',
    );
    expect(() => assertReportable(capped, 'change of supplier', '2026-06-01', '2026-05-02')).not.toThrow();
  });
});
