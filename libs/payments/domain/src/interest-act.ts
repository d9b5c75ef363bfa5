/**
 * The limits of the Danish Interest Act (renteloven, lovbekendtgørelse nr. 459 af 13. maj 2014 with later
 * amendments) that a supplier's dunning rules must stay inside. Our rules are data (`dunning-rules.ts`);
 * these limits are the law and are checked against every rule set when it is loaded.
 *
 * - § 9 b, stk. 1: a fee of at most 100 DKK per reminder (rykkergebyr), and no VAT on it (it is not a supply).
 * - § 9 b, stk. 2: fees for at most three reminders concerning the same claim, sent at least ten days apart.
 * - § 5, stk. 1: interest after the due date at the reference rate + 8 percentage points a year; the reference
 *   rate is Danmarks Nationalbank's official lending rate (udlånsrente) as of 1 January and 1 July.
 * - § 3, stk. 1: where the due date is fixed in advance, interest runs from the due date.
 */
export const INTEREST_ACT = {
  maxReminderFee: '100.00',
  maxRemindersWithFee: 3,
  minDaysBetweenReminders: 10,
  interestSurchargePercentagePoints: '8',
} as const;
