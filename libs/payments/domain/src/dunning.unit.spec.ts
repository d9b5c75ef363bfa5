import { Money } from '@dh/money';
import {
  DEFAULT_DUNNING_RULES,
  DunningRuleError,
  MissingReferenceRateError,
  REFERENCE_RATES,
  dunningRules,
  interestOn,
  nextDunningStep,
  referenceRates,
  type Claim,
  type DunningRule,
} from './index';

const rule = (overrides: Partial<DunningRule> = {}): DunningRule => ({ ...DEFAULT_DUNNING_RULES[0]!, ...overrides });
/** The known rates and, for the dunning sequences that run into 2027, a test value for that half-year (not a real rate). */
const RATES = referenceRates([...REFERENCE_RATES, { validFrom: '2027-01-01', ratePercent: '1.75', source: 'test value, not a published rate', verified: false }]);

describe('dunning rules are data inside the Interest Act (renteloven § 9 b)', () => {
  it('accepts the default: three reminders 10 days apart, 100 DKK each', () => {
    expect(DEFAULT_DUNNING_RULES).toHaveLength(1);
    expect(DEFAULT_DUNNING_RULES[0]).toMatchObject({ reminders: 3, daysBetweenReminders: 10, reminderFee: '100.00' });
  });

  it.each([
    ['a fee above 100 DKK', { reminderFee: '100.01' }, /at most 100.00 DKK \(renteloven § 9 b, stk. 1\)/],
    ['a fourth reminder', { reminders: 4 }, /at most 3 reminders for the same claim \(renteloven § 9 b, stk. 2\)/],
    ['reminders 9 days apart', { daysBetweenReminders: 9 }, /at least 10 days apart \(renteloven § 9 b, stk. 2\)/],
    ['a reminder on the due date', { firstReminderAfterDays: 0 }, /firstReminderAfterDays must be a whole number of days from 1/],
  ])('refuses %s', (_name, overrides, message) => {
    expect(() => dunningRules([rule(overrides)])).toThrow(message);
    expect(() => dunningRules([rule(overrides)])).toThrow(DunningRuleError);
  });

  it('refuses two rules in force on the same day, and picks the rule in force by date', () => {
    expect(() => dunningRules([rule({ validFrom: '2026-01-01', validTo: null }), rule({ validFrom: '2027-01-01', validTo: null })])).toThrow(/overlap/);
    const rules = dunningRules([rule({ validFrom: '2027-01-01', validTo: null, reminderFee: '65.00' }), rule({ validFrom: '2026-01-01', validTo: '2027-01-01' })]);
    const claim: Claim = { dueDate: '2026-12-01', principal: Money.parse('10.00'), reminders: [], interestChargedThrough: null, inCollection: false };
    expect(nextDunningStep(claim, '2026-12-31', rules, REFERENCE_RATES)).toMatchObject({ kind: 'reminder', fee: Money.parse('100.00') });
    expect(nextDunningStep(claim, '2027-01-04', rules, RATES)).toMatchObject({ kind: 'reminder', fee: Money.parse('65.00') });
  });

  it('reference rates are fixed as of 1 January and 1 July (renteloven § 5)', () => {
    expect(() => referenceRates([{ validFrom: '2026-03-01', ratePercent: '1.75', source: 'x', verified: false }])).toThrow(/1 January or 1 July/);
  });

  it('names the source of every known rate; only checked ones are verified, and a half-year without a value has none', () => {
    expect(REFERENCE_RATES.every((r) => r.source.length > 20)).toBe(true);
    expect(REFERENCE_RATES.filter((r) => r.verified).map((r) => r.validFrom)).toEqual(['2024-01-01']);
    expect(REFERENCE_RATES.filter((r) => !r.verified).every((r) => r.source.includes('not checked'))).toBe(true);
    // The last known value is not carried into the next half-year.
    expect(() => interestOn(Money.parse('100.00'), '2026-12-30', '2027-01-02', REFERENCE_RATES)).toThrow(MissingReferenceRateError);
    expect(interestOn(Money.parse('100.00'), '2024-01-01', '2024-01-02', REFERENCE_RATES).annualRatesPercent).toEqual(['11.75']);
  });
});

describe('interest (renteloven § 5: reference rate + 8 points, per day, rounded once)', () => {
  it('1,000.00 DKK for 3 days at 1.75 % + 8 = 9.75 %: 1000 × 0.0975 × 3 / 365 = 0.8013… → 0.80', () => {
    const i = interestOn(Money.parse('1000.00'), '2026-12-11', '2026-12-14', REFERENCE_RATES);
    expect(i).toEqual({ amount: Money.parse('0.80'), fromExclusive: '2026-12-11', through: '2026-12-14', days: 3, annualRatesPercent: ['9.75'] });
  });

  it('crosses a rate change day by day: 36,500.00 DKK, 2 days at 10.75 % and 2 at 9.75 % = 100 × (0.215 + 0.195) = 41.00', () => {
    const i = interestOn(Money.parse('36500.00'), '2025-06-28', '2025-07-02', REFERENCE_RATES);
    expect(i.amount).toEqual(Money.parse('41.00'));
    expect(i.annualRatesPercent).toEqual(['10.75', '9.75']);
  });

  it('refuses to guess a rate it does not have', () => {
    expect(() => interestOn(Money.parse('1.00'), '2023-12-30', '2024-01-02', REFERENCE_RATES)).toThrow(MissingReferenceRateError);
  });
});

describe('the next dunning step of a claim', () => {
  const rules = DEFAULT_DUNNING_RULES;
  const claim = (c: Partial<Claim> = {}): Claim => ({ dueDate: '2026-12-11', principal: Money.parse('500.00'), reminders: [], interestChargedThrough: null, inCollection: false, ...c });

  it('nothing on the due date or two days after; reminder 1 three days after, fee 100, interest since the due date, a deadline on a banking day', () => {
    expect(nextDunningStep(claim(), '2026-12-11', rules, REFERENCE_RATES)).toBeNull();
    expect(nextDunningStep(claim(), '2026-12-13', rules, REFERENCE_RATES)).toBeNull();
    const first = nextDunningStep(claim(), '2026-12-14', rules, REFERENCE_RATES);
    // 14 Dec + 10 = 24 Dec, a bank closing day; 25, 26 holidays, 27 a Sunday → Monday 28 December.
    expect(first).toMatchObject({ kind: 'reminder', number: 1, fee: Money.parse('100.00'), deadline: '2026-12-28', warnsOfCollection: false });
    // 500 × 9.75 % × 3 / 365 = 0.4006… → 0.40
    expect(first?.interest).toMatchObject({ amount: Money.parse('0.40'), fromExclusive: '2026-12-11', through: '2026-12-14', days: 3 });
  });

  it('reminder 2 only after the first deadline has passed and at least 10 days have gone; the third warns of collection; then collection', () => {
    const one = { number: 1, sentOn: '2026-12-14', deadline: '2026-12-28' };
    expect(nextDunningStep(claim({ reminders: [one], interestChargedThrough: '2026-12-14' }), '2026-12-28', rules, REFERENCE_RATES)).toBeNull();
    const second = nextDunningStep(claim({ reminders: [one], interestChargedThrough: '2026-12-14' }), '2026-12-29', rules, REFERENCE_RATES);
    expect(second).toMatchObject({ kind: 'reminder', number: 2, deadline: '2027-01-08', warnsOfCollection: false });
    expect(second?.interest).toMatchObject({ fromExclusive: '2026-12-14', through: '2026-12-29', days: 15 });
    const two = { number: 2, sentOn: '2026-12-29', deadline: '2027-01-08' };
    const third = nextDunningStep(claim({ reminders: [one, two], interestChargedThrough: '2026-12-29' }), '2027-01-09', rules, RATES);
    expect(third).toMatchObject({ kind: 'reminder', number: 3, warnsOfCollection: true, deadline: '2027-01-19' });
    const three = { number: 3, sentOn: '2027-01-09', deadline: '2027-01-19' };
    expect(nextDunningStep(claim({ reminders: [one, two, three] }), '2027-01-19', rules, RATES)).toBeNull();
    expect(nextDunningStep(claim({ reminders: [one, two, three], interestChargedThrough: '2027-01-09' }), '2027-01-20', rules, RATES)).toMatchObject({ kind: 'collection', interest: { fromExclusive: '2027-01-09', days: 11 } });
  });

  it('nothing for a paid claim, one already in collection, or a day without a rule in force', () => {
    expect(nextDunningStep(claim({ principal: Money.ZERO }), '2026-12-20', rules, REFERENCE_RATES)).toBeNull();
    expect(nextDunningStep(claim({ inCollection: true }), '2026-12-20', rules, REFERENCE_RATES)).toBeNull();
    expect(nextDunningStep(claim({ dueDate: '2023-06-01' }), '2023-06-20', rules, REFERENCE_RATES)).toBeNull();
  });

  it('without interest when the rule says so', () => {
    expect(nextDunningStep(claim(), '2026-12-14', [rule({ chargeInterest: false })], REFERENCE_RATES)).toMatchObject({ interest: null });
  });
});
