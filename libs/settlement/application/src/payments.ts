import { addDays, compareLocalDates, daysBetween, isBankingDay, localDateOf, type LocalDate } from '@dh/dk-time';
import type { EventMetadata } from '@dh/event-store';
import { fiPaymentId71, isValidFiPaymentId71 } from '@dh/market-ids';
import { Money } from '@dh/money';
import { nameBasedUuid } from './ids';

/**
 * Payments: the payment service's confirmations matched to invoices, and overdue invoices.
 * `metadata.context` of the payment events is `payments`; `PaymentReceived` and `PaymentOverdue`
 * are public (`payment.received`, `payment.overdue`, schemas in docs/events), `PaymentUnmatched`
 * is internal (`payments.payment-unmatched`).
 */
export const PAYMENTS_CONTEXT = 'payments';

/** How a payment came in; `debt-collection`: collected by the debt-collection agency on a case we handed over. */
export const PAYMENT_METHODS = ['betalingsservice', 'card', 'mobilepay', 'bank-transfer', 'debt-collection', 'other'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

/** Public `payment.received`: exactly the data of docs/events/payment.received.v1.schema.json. */
export interface PaymentReceived {
  paymentId: string;
  customerId: string;
  invoiceId: string | null;
  amount: string;
  paidAt: string;
  method: PaymentMethod;
}

/**
 * A recorded payment taken back (public `payment.reversed`), on the payment's own stream: Betalingsservice charged it
 * back (0602 transaction code 0239). The claim is reopened beside it (`PaymentCollectionFailed`, reason charged-back).
 */
export interface PaymentReversed {
  paymentId: string;
  customerId: string;
  invoiceId: string | null;
  amount: string;
  reason: 'charged-back';
  reversedOn: string;
  collectionReference: string;
  fileName: string;
}
export const paymentReversedEventId = (paymentId: string): string => nameBasedUuid('payment-reversed', paymentId);

export type UnmatchedReason = 'malformed-reference' | 'unknown-invoice' | 'ambiguous-reference';

/** Internal: a payment whose reference matched no invoice, kept on `payment-<paymentId>` until staff match it. */
export interface PaymentUnmatched {
  paymentId: string;
  reference: string;
  amount: string;
  paidAt: string;
  method: PaymentMethod;
  reason: UnmatchedReason;
}

/** Public `payment.overdue`: exactly the data of docs/events/payment.overdue.v1.schema.json, on `invoice-<invoiceId>`. */
export interface PaymentOverdue {
  invoiceId: string;
  customerId: string;
  amountDue: string;
  dueDate: string;
  daysOverdue: number;
}

export function paymentStreamId(paymentId: string): string {
  return `payment-${paymentId}`;
}

export function paymentsMetadata(meta: { correlationId: string; causationId: string | null; actor: string }): EventMetadata {
  return { correlationId: meta.correlationId, causationId: meta.causationId, actor: meta.actor, schemaVersion: 1, context: PAYMENTS_CONTEXT };
}

export const paymentReceivedEventId = (paymentId: string): string => nameBasedUuid('payment-received', paymentId);
export const paymentUnmatchedEventId = (paymentId: string): string => nameBasedUuid('payment-unmatched', paymentId);
export const paymentOverdueEventId = (invoiceId: string): string => nameBasedUuid('payment-overdue', invoiceId);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The FI payment id (kortart +71) of an invoice: 14 digits derived from the invoice id
 * (the UUID as a number, modulo 10^14) and a Luhn check digit, written `+71<000123456789012`.
 * The full payment line adds the creditor number (`+71<…+12345678<`); matching reads only the id.
 * Stable: the same invoice always has the same reference. Two invoices may (rarely) share one; a
 * payment with such a reference is kept unmatched (`ambiguous-reference`) for staff.
 */
export function paymentReference(invoiceId: string): string {
  if (!UUID.test(invoiceId)) throw new RangeError(`invoice id ${invoiceId} is not a UUID`);
  const n = BigInt(`0x${invoiceId.replace(/-/g, '')}`) % 10n ** 14n;
  return `+71<${fiPaymentId71(n.toString())}`;
}

export type ParsedReference = { kind: 'invoice-id'; invoiceId: string } | { kind: 'fi'; paymentId71: string } | { kind: 'malformed' };

/**
 * A payment's reference: an invoice id (UUID), or an FI +71 payment line `+71<` + 15 digits (Luhn),
 * optionally followed by `+<creditor number><` or `<`. Anything else, or a wrong check digit, is malformed.
 */
export function parseReference(reference: string): ParsedReference {
  const r = reference.trim();
  if (UUID.test(r)) return { kind: 'invoice-id', invoiceId: r.toLowerCase() };
  const fi = /^\+71<(\d{15})(?:\+\d{8}<|<)?$/.exec(r);
  if (fi !== null && isValidFiPaymentId71(fi[1]!)) return { kind: 'fi', paymentId71: `+71<${fi[1]!}` };
  return { kind: 'malformed' };
}

export interface RecordPaymentCommand {
  paymentId: string;
  reference: string;
  amount: string;
  paidAt: string;
  method: PaymentMethod;
}

export class PaymentCommandRejected extends Error {
  override readonly name = 'PaymentCommandRejected';
  constructor(
    readonly code: 'validation' | 'not-found' | 'illegal-transition',
    message: string,
  ) {
    super(message);
  }
}

function reject(message: string): never {
  throw new PaymentCommandRejected('validation', message);
}

/** The provider's payment id becomes part of a stream id: letters, digits and `._:-`, at most 128. */
export const PAYMENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const AMOUNT = /^\d{1,13}\.\d{2}$/;

export function parseRecordPayment(payload: unknown): RecordPaymentCommand {
  const p = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
  if (typeof p.paymentId !== 'string' || !PAYMENT_ID_PATTERN.test(p.paymentId)) reject('paymentId must be 1-128 characters of A-Z a-z 0-9 . _ : - (starting with a letter or digit)');
  if (typeof p.reference !== 'string' || p.reference.trim() === '' || p.reference.length > 200) reject('reference must be a non-empty string of at most 200 characters');
  if (typeof p.amount !== 'string' || !AMOUNT.test(p.amount)) reject('amount must be a DKK string with exactly 2 decimals ("123.45")');
  const amount = Money.parse(p.amount);
  if (!amount.isPositive()) reject('amount must be positive');
  if (typeof p.paidAt !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(p.paidAt) || !Number.isFinite(new Date(p.paidAt).getTime())) reject('paidAt must be an ISO-8601 instant');
  if (typeof p.method !== 'string' || !(PAYMENT_METHODS as readonly string[]).includes(p.method)) reject(`method must be one of ${PAYMENT_METHODS.join(', ')}`);
  return { paymentId: p.paymentId, reference: p.reference.trim(), amount: amount.format(), paidAt: new Date(p.paidAt).toISOString(), method: p.method as PaymentMethod };
}

/** What a payment stream says: nothing yet, kept unmatched, or received (matched to an invoice). */
export type PaymentStatus = { status: 'none' } | { status: 'unmatched'; unmatched: PaymentUnmatched } | { status: 'matched'; received: PaymentReceived };

export function paymentStatusOf(events: readonly { type: string; data: unknown }[]): PaymentStatus {
  let status: PaymentStatus = { status: 'none' };
  for (const e of events) {
    if (e.type === 'PaymentUnmatched' && status.status === 'none') status = { status: 'unmatched', unmatched: e.data as PaymentUnmatched };
    if (e.type === 'PaymentReceived') status = { status: 'matched', received: e.data as PaymentReceived };
  }
  return status;
}

// ------------------------------------------------------------------------------------------ overdue

/** Default payment terms: calendar days after the invoice's issue date (Europe/Copenhagen). */
export const DEFAULT_PAYMENT_TERMS_DAYS = 14;

/**
 * Due date of an invoice issued at `issuedAt` (business time): the local issue date + `termsDays`
 * calendar days; a due date on a non-banking day (weekend, holiday, bank closing day) moves to the
 * next banking day, as a payment on that day is on time.
 */
export function dueDateOf(issuedAt: Date, termsDays: number = DEFAULT_PAYMENT_TERMS_DAYS): LocalDate {
  if (!Number.isSafeInteger(termsDays) || termsDays < 0) throw new RangeError('payment terms must be a whole number of days ≥ 0');
  let due = addDays(localDateOf(issuedAt), termsDays);
  while (!isBankingDay(due)) due = addDays(due, 1);
  return due;
}

/**
 * Whether an invoice is overdue on `today` (local date): past its due date with an amount still
 * due. `daysOverdue` counts calendar days after the due date (≥ 1).
 */
export function overdueOf(a: { invoiceId: string; customerId: string; dueDate: LocalDate; amountDue: Money; today: LocalDate }): PaymentOverdue | null {
  if (compareLocalDates(a.today, a.dueDate) <= 0 || !a.amountDue.isPositive()) return null;
  return { invoiceId: a.invoiceId, customerId: a.customerId, amountDue: a.amountDue.format(), dueDate: a.dueDate, daysOverdue: daysBetween(a.dueDate, a.today) };
}

// ---------------------------------------------------------------------------------------- reminders

/**
 * Public `reminder.sent`: exactly the data of docs/events/reminder.sent.v1.schema.json, on the claim's own stream
 * (`invoice-<id>` or `aconto-invoice-<id>`). ERP books the fee and the interest; Digital Post (or ERP's dispatch)
 * sends the letter. Rules: `@dh/payments-domain` (renteloven § 9 b, § 5).
 */
export interface ReminderSent {
  reminderId: string;
  invoiceId: string;
  invoiceKind: 'invoice' | 'aconto';
  customerId: string;
  /** 1-3 for the same claim. */
  number: number;
  sentOn: string;
  /** The invoice's own due date. */
  dueDate: string;
  /** The new deadline the reminder gives (a banking day). */
  deadline: string;
  /** Overdue amount of the invoice itself (without fees and interest). */
  principal: string;
  /** This reminder's fee (no VAT). */
  fee: string;
  /** Interest charged with this reminder (reference rate + 8 points), from the day after `interestFrom` through `interestThrough`. */
  interest: string;
  interestFrom: string | null;
  interestThrough: string | null;
  annualInterestRatesPercent: string[];
  /** What to pay by the deadline: principal + every fee and interest charged so far, minus payments. */
  amountDue: string;
  /** The FI payment line to pay with (`+71<…`). */
  paymentReference: string;
  /** The last reminder before debt collection says so (and that further costs may follow). */
  warnsOfCollection: boolean;
}

export const reminderIdOf = (invoiceId: string, number: number): string => nameBasedUuid('reminder', `${invoiceId}/${number}`);

// ------------------------------------------------------------------------------------- Debt collection

/** One claim of a collection case: what the customer owes on one invoice or aconto invoice when it is handed over. */
export interface CollectionClaimJson {
  invoiceId: string;
  invoiceKind: 'invoice' | 'aconto';
  reference: string;
  dueDate: string;
  principal: string;
  fees: string;
  interest: string;
  amount: string;
}

/**
 * After the last reminder's deadline (`nextDunningStep` → collection) the customer's claims go to the collection
 * agency: the intent, recorded on `collection-case-<caseId>` before anything is sent. The receivables stop dunning.
 */
export interface CollectionCaseOpened {
  caseId: string;
  customerId: string;
  claims: CollectionClaimJson[];
  total: string;
  openedOn: string;
}
/** The agency took the case (after commit, over its API): its own reference. */
export interface CollectionCaseHandedOver {
  caseId: string;
  agencyReference: string;
  handedOverAt: string;
}
/** The agency refused the case (4xx): kept with its reason for staff; never retried as is. */
export interface CollectionHandoffRefused {
  caseId: string;
  status: number;
  reason: string;
  refusedAt: string;
}
/** The agency collected money on the case; it is paid on the case's claims, oldest due date first (`payment.received`). */
export interface CollectionPaymentReceived {
  caseId: string;
  agencyReference: string;
  agencyEventId: string;
  amount: string;
  paidOn: string;
}
/** PUBLIC (`collection.written_off`, schema in docs/events): the agency wrote `amount` off (the debtor cannot pay); ERP books the loss. */
export interface CollectionWrittenOff {
  caseId: string;
  customerId: string;
  agencyReference: string;
  agencyEventId: string;
  amount: string;
  writtenOffOn: string;
  reason: string;
}
export interface CollectionCaseClosed {
  caseId: string;
  agencyReference: string;
  agencyEventId: string;
  closedOn: string;
}

export const collectionCaseStreamId = (caseId: string): string => `collection-case-${caseId}`;

/**
 * A payment left the customer with nothing overdue (every overdue claim, its fees and interest paid), on
 * `customer-claims-<customerId>` (routing key `payments.customer-overdue-claims-settled`): portfolio withdraws a
 * pending BRS-002 for non-payment whose effective date is still ahead.
 */
export interface CustomerOverdueClaimsSettled {
  customerId: string;
  paymentId: string;
  settledOn: string;
}
export const customerClaimsStreamId = (customerId: string): string => `customer-claims-${customerId}`;
/** A case per customer and set of claims: the same claims again are the same case. */
export const collectionCaseIdOf = (customerId: string, invoiceIds: readonly string[]): string => nameBasedUuid('collection-case', `${customerId}/${[...invoiceIds].sort().join(',')}`);

// ----------------------------------------------------------------------------------- Betalingsservice

/** A customer's Betalingsservice agreement, stream `betalingsservice-agreement-<customerNumber>` (context payments). */
export interface BetalingsserviceAgreementRegistered {
  /** kundenr: `betalingsserviceCustomerNumber(customerId)`, 15 digits. */
  customerNumber: string;
  agreementNumber: string;
  startDate: string | null;
  /** `0603` (Betalingsservice's agreement information) or `crm` (registered at onboarding). */
  source: '0603' | 'crm';
  customerId: string | null;
}

export interface BetalingsserviceAgreementCancelled {
  customerNumber: string;
  agreementNumber: string;
  endDate: string | null;
  reason: 'cancelled-by-bank' | 'cancelled-by-creditor' | 'cancelled-by-betalingsservice' | 'cancelled-by-customer';
}

/** Settlement asks datahub-integration to collect a claim by Betalingsservice (on the claim's own stream). */
export interface BetalingsserviceCollectionRequested {
  invoiceId: string;
  invoiceKind: 'invoice' | 'aconto';
  customerId: string;
  customerNumber: string;
  agreementNumber: string;
  amount: string;
  dueDate: string;
  deliveryDeadline: string;
}

/** A Betalingsservice collection did not happen (0602 rejected/cancelled): the claim is open again, payable by FI slip. */
export interface PaymentCollectionFailed {
  invoiceId: string;
  invoiceKind: 'invoice' | 'aconto';
  customerId: string;
  reason: 'rejected' | 'cancelled' | 'charged-back';
  amount: string;
  /** The Betalingsservice due date that failed. */
  dueDate: string;
  /** The new due date for payment by FI slip. */
  fallbackDueDate: string;
  paymentReference: string;
  /** Our 0601 reference and the 0602 file it came in. */
  collectionReference: string;
  fileName: string;
}

export const betalingsserviceAgreementStreamId = (customerNumber: string): string => `betalingsservice-agreement-${customerNumber}`;
export const collectionRequestedEventId = (invoiceId: string): string => nameBasedUuid('betalingsservice-collection', invoiceId);
export const collectionFailedEventId = (reference: string, reason: string): string => nameBasedUuid('betalingsservice-collection-failed', `${reference}/${reason}`);
