import { addDays, compareLocalDates, daysBetween, isBankingDay, type LocalDate } from '@dh/dk-time';
import { Money } from '@dh/money';
import { dunningRuleOn, type DunningRule } from './dunning-rules';
import { interestOn, type InterestCharge } from './interest';
import type { ReferenceRate } from './reference-rate';

/** What dunning needs to know about one claim (an invoice or aconto invoice) on a day. */
export interface Claim {
  dueDate: LocalDate;
  /** The overdue amount of the invoice itself: remaining, without reminder fees and interest charged. */
  principal: Money;
  /** Reminders already sent for this claim, in order. */
  reminders: readonly { number: number; sentOn: LocalDate; deadline: LocalDate }[];
  /** The last day interest has been charged up to (null: none yet, interest runs from the due date). */
  interestChargedThrough: LocalDate | null;
  inCollection: boolean;
}

export type DunningStep =
  | {
      kind: 'reminder';
      /** 1, 2, 3: the law allows fees for three reminders of the same claim. */
      number: number;
      fee: Money;
      interest: InterestCharge | null;
      /** The new deadline the reminder gives. */
      deadline: LocalDate;
      /** The last reminder before debt collection says that further costs may follow. */
      warnsOfCollection: boolean;
      rule: DunningRule;
    }
  | { kind: 'collection'; interest: InterestCharge | null; rule: DunningRule };

function bankingDayOnOrAfter(d: LocalDate): LocalDate {
  let day = d;
  while (!isBankingDay(day)) day = addDays(day, 1);
  return day;
}

/**
 * The next dunning step for a claim on `today` (Europe/Copenhagen), under the rule in force that day, or null:
 * - reminder 1 once `firstReminderAfterDays` have passed since the due date;
 * - reminder n+1 once the previous reminder's deadline has passed and at least `daysBetweenReminders` (≥ 10,
 *   renteloven § 9 b, stk. 2) have passed since it was sent;
 * - after the last reminder (`reminders`, ≤ 3), debt collection once its deadline is `collectionAfterDays` behind.
 * Each step charges the interest accrued since the last charge (from the due date at first) when the rule says so.
 * Nothing for a claim paid (principal ≤ 0) or already in collection.
 */
export function nextDunningStep(claim: Claim, today: LocalDate, rules: readonly DunningRule[], rates: readonly ReferenceRate[]): DunningStep | null {
  if (!claim.principal.isPositive() || claim.inCollection) return null;
  if (compareLocalDates(today, claim.dueDate) <= 0) return null;
  const rule = dunningRuleOn(rules, today);
  if (rule === null) return null;
  const interest = (): InterestCharge | null => {
    if (!rule.chargeInterest) return null;
    const from = claim.interestChargedThrough ?? claim.dueDate;
    return compareLocalDates(from, today) < 0 ? interestOn(claim.principal, from, today, rates) : null;
  };
  const last = claim.reminders[claim.reminders.length - 1];
  if (last === undefined) {
    if (daysBetween(claim.dueDate, today) < rule.firstReminderAfterDays) return null;
  } else if (last.number < rule.reminders) {
    if (compareLocalDates(today, last.deadline) <= 0 || daysBetween(last.sentOn, today) < rule.daysBetweenReminders) return null;
  } else {
    if (compareLocalDates(today, last.deadline) <= 0 || daysBetween(last.deadline, today) < rule.collectionAfterDays) return null;
    return { kind: 'collection', interest: interest(), rule };
  }
  const number = (last?.number ?? 0) + 1;
  return {
    kind: 'reminder',
    number,
    fee: Money.parse(rule.reminderFee),
    interest: interest(),
    deadline: bankingDayOnOrAfter(addDays(today, rule.paymentDeadlineDays)),
    warnsOfCollection: number === rule.reminders,
    rule,
  };
}
