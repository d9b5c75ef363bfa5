import { DEFAULT_RUN_SCHEDULE, dueSlots, firstRunDue, scheduledRunId, slotOf } from './schedule';

const OCTOBER = { kind: 'month', year: 2026, month: 10 } as const;
const Q4 = { kind: 'quarter', year: 2026, quarter: 4 } as const;
const label = (s: { period: { kind: string; year: number; month?: number; quarter?: number } }) =>
  s.period.kind === 'month' ? `${s.period.year}-${String(s.period.month).padStart(2, '0')}` : `${s.period.year}-Q${String(s.period.quarter)}`;

describe('settlement run schedule: when a period is due on the business clock', () => {
  it('a month is due at local midnight after its data deadline, N Danish business days after its last day', () => {
    // Saturday 31 October; business days Mon 2 … Fri 6 November: the deadline is the 6th, the run is due Saturday 7th 00:00 CET.
    expect(firstRunDue(OCTOBER, 5)).toEqual({ deadline: '2026-11-06', day: '2026-11-07', due: new Date('2026-11-06T23:00:00.000Z') });
    // No deadline: due the day after the period.
    expect(firstRunDue(OCTOBER, 0).due).toEqual(new Date('2026-10-31T23:00:00.000Z'));
  });

  it('public holidays do not count: Q1 2026 closes on Tuesday 31 March, Easter takes 2, 3 and 6 April, so the deadline is Friday 10 April (CEST)', () => {
    expect(firstRunDue({ kind: 'quarter', year: 2026, quarter: 1 }, 5)).toEqual({ deadline: '2026-04-10', day: '2026-04-11', due: new Date('2026-04-10T22:00:00.000Z') });
    // Q4 2026: New Year's Day (Friday) and a weekend before the first business day.
    expect(firstRunDue(Q4, 5)).toEqual({ deadline: '2027-01-08', day: '2027-01-09', due: new Date('2027-01-08T23:00:00.000Z') });
  });

  it('later runs follow daily from the first', () => {
    expect(slotOf(OCTOBER, 3, DEFAULT_RUN_SCHEDULE)).toEqual({ period: OCTOBER, slot: 3, day: '2026-11-10', due: new Date('2026-11-09T23:00:00.000Z') });
  });

  it('nothing is due a millisecond before the deadline has passed, the first run exactly at it', () => {
    const before = dueSlots(new Date('2026-11-06T22:59:59.999Z'), DEFAULT_RUN_SCHEDULE);
    expect(before.map(label)).not.toContain('2026-10');
    const at = dueSlots(new Date('2026-11-06T23:00:00.000Z'), DEFAULT_RUN_SCHEDULE);
    expect(at.filter((s) => label(s) === '2026-10')).toEqual([{ period: OCTOBER, slot: 0, day: '2026-11-07', due: new Date('2026-11-06T23:00:00.000Z') }]);
  });

  it('monthly and quarterly: the quarter is looked at only once it has closed, the month of its last month beside it', () => {
    const early = dueSlots(new Date('2026-12-20T12:00:00.000Z'), DEFAULT_RUN_SCHEDULE).map(label);
    // October (its later runs done, still inside the 45-day lookback) and November; Q4 has not closed.
    expect(early).toEqual(['2026-10', '2026-11']);
    const january = dueSlots(new Date('2027-01-09T12:00:00.000Z'), DEFAULT_RUN_SCHEDULE);
    expect(january.map((s) => [label(s), s.slot])).toEqual([
      ['2026-11', 10],
      ['2026-12', 0],
      ['2026-Q4', 0],
    ]);
  });

  it('only the latest due slot of a period, never past the last later run; periods beyond the lookback are left alone', () => {
    const slots = dueSlots(new Date('2026-11-20T12:00:00.000Z'), DEFAULT_RUN_SCHEDULE);
    // October: first run 7 November, later runs 8–17 November: slot 10 stays the last. September (due 8 October) and Q3 are within 45 days (from 6 October).
    expect(slots.map((s) => [label(s), s.slot, s.day])).toEqual([
      ['2026-09', 10, '2026-10-18'],
      ['2026-Q3', 10, '2026-10-18'],
      ['2026-10', 10, '2026-11-17'],
    ]);
    expect(dueSlots(new Date('2026-11-25T12:00:00.000Z'), { ...DEFAULT_RUN_SCHEDULE, lookbackDays: 20 }).map(label)).toEqual(['2026-10']);
    expect(dueSlots(new Date('2026-11-20T12:00:00.000Z'), { ...DEFAULT_RUN_SCHEDULE, laterRunDays: 0 }).map((s) => s.slot)).toEqual([0, 0, 0]);
  });

  it('a slot has one run id, whoever computes it', () => {
    expect(scheduledRunId(OCTOBER, '2026-11-07')).toBe(scheduledRunId({ kind: 'month', year: 2026, month: 10 }, '2026-11-07'));
    expect(scheduledRunId(OCTOBER, '2026-11-07')).not.toBe(scheduledRunId(OCTOBER, '2026-11-08'));
    expect(scheduledRunId(OCTOBER, '2026-11-07')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
