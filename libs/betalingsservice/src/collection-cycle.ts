import { addBankingDays, addDays, compareLocalDates, isBankingDay, type LocalDate } from '@dh/dk-time';

/**
 * Betalingsservice collects on a monthly cycle: the collection data for payments due in a month
 * must reach Betalingsservice a number of banking days before that month starts, because the
 * debtor's monthly overview is made then ("i antal bankdage før et månedsskifte",
 * betalingsservice.dk, "Tidsfrist for aflevering"; one integrator: more than 6 banking days before
 * month-end is normal, 3-6 costs a surcharge, fewer waits for the next month). The supplier chooses
 * the day of the month it collects on. Both are configuration, never constants in code.
 */
export interface CollectionCycle {
  /** Day of the month the supplier collects on (1-28); a non-banking day moves to the next banking day. */
  dayOfMonth: number;
  /** Banking days before the first day of the due month by which the delivery must be with Betalingsservice. */
  deadlineBankingDays: number;
}

export const DEFAULT_COLLECTION_CYCLE: CollectionCycle = { dayOfMonth: 1, deadlineBankingDays: 6 };

function checkCycle(c: CollectionCycle): void {
  if (!Number.isInteger(c.dayOfMonth) || c.dayOfMonth < 1 || c.dayOfMonth > 28) throw new RangeError('collection day of month must be 1-28');
  if (!Number.isInteger(c.deadlineBankingDays) || c.deadlineBankingDays < 1 || c.deadlineBankingDays > 20) throw new RangeError('delivery deadline must be 1-20 banking days');
}

const firstOfMonth = (d: LocalDate): LocalDate => `${d.slice(0, 8)}01`;

function nextMonth(d: LocalDate): LocalDate {
  const y = Number(d.slice(0, 4));
  const m = Number(d.slice(5, 7));
  return m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
}

/** The last day a delivery with a payment due on `dueDate` may reach Betalingsservice. */
export function deliveryDeadline(dueDate: LocalDate, cycle: CollectionCycle = DEFAULT_COLLECTION_CYCLE): LocalDate {
  checkCycle(cycle);
  return addBankingDays(firstOfMonth(dueDate), -cycle.deadlineBankingDays);
}

/** The cycle's collection day in the month of `monthStart`: the day of the month, or the next banking day. */
export function collectionDayIn(monthStart: LocalDate, cycle: CollectionCycle = DEFAULT_COLLECTION_CYCLE): LocalDate {
  checkCycle(cycle);
  let d = addDays(firstOfMonth(monthStart), cycle.dayOfMonth - 1);
  while (!isBankingDay(d)) d = addDays(d, 1);
  return d;
}

/**
 * The first collection day, not before `notBefore` (the invoice's own due date), whose delivery
 * deadline is on or after `readyOn` (the day the collection can be delivered).
 */
export function nextCollectionDate(readyOn: LocalDate, notBefore: LocalDate, cycle: CollectionCycle = DEFAULT_COLLECTION_CYCLE): LocalDate {
  let month = firstOfMonth(compareLocalDates(readyOn, notBefore) > 0 ? readyOn : notBefore);
  for (let i = 0; i < 24; i++, month = nextMonth(month)) {
    const due = collectionDayIn(month, cycle);
    if (compareLocalDates(due, notBefore) >= 0 && compareLocalDates(deliveryDeadline(due, cycle), readyOn) >= 0) return due;
  }
  throw new Error(`no collection day within two years of ${readyOn}`);
}
