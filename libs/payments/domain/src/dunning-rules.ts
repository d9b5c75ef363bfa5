import { compareLocalDates, isLocalDate, type LocalDate } from '@dh/dk-time';
import { Money } from '@dh/money';
import { INTEREST_ACT } from './interest-act';

/**
 * A supplier's dunning policy for a period: when reminders go out, what they cost, when a claim goes to debt
 * collection. Data with validity periods (a change of policy from a date never rewrites an earlier reminder);
 * loaded through `dunningRules`, which refuses a rule set outside the Interest Act (`INTEREST_ACT`).
 */
export interface DunningRule {
  validFrom: LocalDate;
  /** Exclusive; null = open-ended. */
  validTo: LocalDate | null;
  /** Calendar days after the due date before the first reminder (≥ 1: a payment on the due date is on time). */
  firstReminderAfterDays: number;
  /** Calendar days between reminders (≥ 10, § 9 b, stk. 2). */
  daysBetweenReminders: number;
  /** Reminders for the same claim (≤ 3 with a fee, § 9 b, stk. 2); the last warns that collection follows. */
  reminders: number;
  /** Fee per reminder, DKK, no VAT (≤ 100.00, § 9 b, stk. 1). */
  reminderFee: string;
  /** Calendar days the reminder gives to pay (moved to the next banking day). */
  paymentDeadlineDays: number;
  /** Interest at the reference rate + 8 points (§ 5) charged with each reminder on the overdue amount. */
  chargeInterest: boolean;
  /** Calendar days after the last reminder's deadline before the claim is handed to debt collection. */
  collectionAfterDays: number;
  /** Where the policy comes from (a board decision, the terms of supply). */
  source: string;
}

export class DunningRuleError extends Error {
  override readonly name = 'DunningRuleError';
}

const wholeDays = (n: unknown, min: number, what: string): number => {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > 365) throw new DunningRuleError(`${what} must be a whole number of days from ${min} to 365, got ${String(n)}`);
  return n;
};

/** Checks one rule against the Interest Act. */
export function checkDunningRule(r: DunningRule): DunningRule {
  if (!isLocalDate(r.validFrom) || (r.validTo !== null && (!isLocalDate(r.validTo) || compareLocalDates(r.validTo, r.validFrom) <= 0))) {
    throw new DunningRuleError(`validity ${r.validFrom}..${String(r.validTo)} is not a period`);
  }
  const where = `dunning rule from ${r.validFrom}`;
  wholeDays(r.firstReminderAfterDays, 1, `${where}: firstReminderAfterDays`);
  wholeDays(r.paymentDeadlineDays, 1, `${where}: paymentDeadlineDays`);
  wholeDays(r.collectionAfterDays, 0, `${where}: collectionAfterDays`);
  if (wholeDays(r.daysBetweenReminders, 1, `${where}: daysBetweenReminders`) < INTEREST_ACT.minDaysBetweenReminders) {
    throw new DunningRuleError(`${where}: reminders must be at least ${INTEREST_ACT.minDaysBetweenReminders} days apart (renteloven § 9 b, stk. 2)`);
  }
  if (!Number.isSafeInteger(r.reminders) || r.reminders < 1 || r.reminders > INTEREST_ACT.maxRemindersWithFee) {
    throw new DunningRuleError(`${where}: at most ${INTEREST_ACT.maxRemindersWithFee} reminders for the same claim (renteloven § 9 b, stk. 2), got ${r.reminders}`);
  }
  if (!/^\d+\.\d{2}$/.test(r.reminderFee)) throw new DunningRuleError(`${where}: reminderFee must be DKK with 2 decimals`);
  if (Money.parse(r.reminderFee).compare(Money.parse(INTEREST_ACT.maxReminderFee)) > 0) {
    throw new DunningRuleError(`${where}: a reminder fee is at most ${INTEREST_ACT.maxReminderFee} DKK (renteloven § 9 b, stk. 1), got ${r.reminderFee}`);
  }
  return r;
}

/** A rule set: every rule checked, sorted, no two in force on the same day. */
export function dunningRules(rules: readonly DunningRule[]): readonly DunningRule[] {
  const sorted = [...rules].map(checkDunningRule).sort((a, b) => compareLocalDates(a.validFrom, b.validFrom));
  for (let i = 1; i < sorted.length; i++) {
    const before = sorted[i - 1]!;
    if (before.validTo === null || compareLocalDates(before.validTo, sorted[i]!.validFrom) > 0) {
      throw new DunningRuleError(`dunning rules from ${before.validFrom} and ${sorted[i]!.validFrom} overlap`);
    }
  }
  return sorted;
}

export function dunningRuleOn(rules: readonly DunningRule[], day: LocalDate): DunningRule | null {
  return rules.find((r) => compareLocalDates(r.validFrom, day) <= 0 && (r.validTo === null || compareLocalDates(day, r.validTo) < 0)) ?? null;
}

/** Our default policy (terms of supply): three reminders 10 days apart, 100 DKK each, the first 3 days after the due date. */
export const DEFAULT_DUNNING_RULES: readonly DunningRule[] = dunningRules([
  {
    validFrom: '2024-01-01',
    validTo: null,
    firstReminderAfterDays: 3,
    daysBetweenReminders: 10,
    reminders: 3,
    reminderFee: '100.00',
    paymentDeadlineDays: 10,
    chargeInterest: true,
    collectionAfterDays: 1,
    source: 'default terms of supply; limits from renteloven § 9 b',
  },
]);
