import type { PoolClient } from 'pg';
import { betalingsserviceCustomerNumber, deliveryDeadline, nextCollectionDate, AGREEMENT_NUMBER, CUSTOMER_NUMBER, type CollectionCycle } from '@dh/betalingsservice';
import { addDays, isBankingDay, localDateOf, localDayStart, type LocalDate } from '@dh/dk-time';
import { DuplicateEventIdError, WrongExpectedRevisionError, type EventStore } from '@dh/event-store';
import { Money } from '@dh/money';
import {
  PaymentCommandRejected,
  acontoInvoiceStreamId,
  betalingsserviceAgreementStreamId,
  collectionFailedEventId,
  collectionRequestedEventId,
  dataOf,
  invoiceStreamId,
  nameBasedUuid,
  paymentReversedEventId,
  paymentStreamId,
  paymentsMetadata,
  toJsonObject,
  type BetalingsserviceAgreementCancelled,
  type BetalingsserviceAgreementRegistered,
  type BetalingsserviceCollectionRequested,
  type CommandMeta,
  type PaymentCollectionFailed,
  type PaymentReceived,
  type PaymentReversed,
} from '@dh/settlement-application';
import { recordPayment, type RecordPaymentReply } from './payments';

type Db = Pick<PoolClient, 'query'>;

export async function migrateBetalingsservice(db: Db): Promise<void> {
  await db.query(`
    CREATE TABLE IF NOT EXISTS settlement.betalingsservice_agreements (
      customer_number text PRIMARY KEY, agreement_number text NOT NULL, state text NOT NULL, start_date text, end_date text, source text NOT NULL, updated_at timestamptz NOT NULL);
    ALTER TABLE settlement.receivables ADD COLUMN IF NOT EXISTS collection_method text NOT NULL DEFAULT 'fi-slip';`);
}

const streamOf = (kind: string, id: string): string => (kind === 'aconto' ? acontoInvoiceStreamId(id) : invoiceStreamId(id));

async function appendOnce(store: EventStore, streamId: string, event: { eventId: string; type: string; data: object }, meta: { correlationId: string; causationId: string | null; actor: string; now: Date }): Promise<boolean> {
  try {
    await store.appendToStream(streamId, [{ eventId: event.eventId, type: event.type, data: toJsonObject(event.data), metadata: paymentsMetadata(meta), occurredAt: meta.now }], { expectedRevision: 'any' });
    return true;
  } catch (error) {
    if (error instanceof DuplicateEventIdError || error instanceof WrongExpectedRevisionError) return false;
    throw error;
  }
}

export type AgreementChangeInput = {
  change: 'registered' | 'active' | 'cancelled-by-bank' | 'cancelled-by-creditor' | 'cancelled-by-betalingsservice' | 'cancelled-by-customer';
  customerNumber: string;
  agreementNumber: string;
  startDate: string | null;
  endDate: string | null;
};

/**
 * `RecordBetalingsserviceAgreements { source: '0603' | 'crm', customerId?, changes }`: each change becomes
 * `BetalingsserviceAgreementRegistered` or `…Cancelled` on `betalingsservice-agreement-<customerNumber>` (ids stable
 * per change, so a 0603 applied twice appends nothing), and settlement's agreement table follows.
 */
export async function recordAgreementChanges(deps: { store: EventStore; db: Db }, payload: unknown, meta: CommandMeta): Promise<{ registered: number; cancelled: number; unchanged: number }> {
  const p = (typeof payload === 'object' && payload !== null ? payload : {}) as { source?: unknown; customerId?: unknown; changes?: unknown };
  const source = p.source === 'crm' ? 'crm' : p.source === '0603' ? '0603' : null;
  if (source === null) throw new PaymentCommandRejected('validation', "source must be '0603' or 'crm'");
  if (!Array.isArray(p.changes)) throw new PaymentCommandRejected('validation', 'changes must be a list');
  const result = { registered: 0, cancelled: 0, unchanged: 0 };
  for (const c of p.changes as AgreementChangeInput[]) {
    if (!CUSTOMER_NUMBER.test(String(c.customerNumber)) || !AGREEMENT_NUMBER.test(String(c.agreementNumber))) throw new PaymentCommandRejected('validation', `customer number (≤ 15 digits) and agreement number (≤ 9 digits) required, got ${String(c.customerNumber)}/${String(c.agreementNumber)}`);
    const customerNumber = c.customerNumber.padStart(15, '0');
    const active = c.change === 'registered' || c.change === 'active';
    const eventId = nameBasedUuid('betalingsservice-agreement', `${customerNumber}/${c.agreementNumber}/${c.change}/${c.startDate ?? ''}/${c.endDate ?? ''}`);
    const data: BetalingsserviceAgreementRegistered | BetalingsserviceAgreementCancelled = active
      ? { customerNumber, agreementNumber: c.agreementNumber, startDate: c.startDate, source, customerId: typeof p.customerId === 'string' ? p.customerId : null }
      : { customerNumber, agreementNumber: c.agreementNumber, endDate: c.endDate, reason: c.change as BetalingsserviceAgreementCancelled['reason'] };
    const appended = await appendOnce(deps.store, betalingsserviceAgreementStreamId(customerNumber), { eventId, type: active ? 'BetalingsserviceAgreementRegistered' : 'BetalingsserviceAgreementCancelled', data }, meta);
    if (!appended) {
      result.unchanged++;
      continue;
    }
    if (active) result.registered++;
    else result.cancelled++;
    await deps.db.query(
      `INSERT INTO settlement.betalingsservice_agreements (customer_number, agreement_number, state, start_date, end_date, source, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7)
       ON CONFLICT (customer_number) DO UPDATE SET agreement_number = EXCLUDED.agreement_number, state = EXCLUDED.state, start_date = coalesce(EXCLUDED.start_date, settlement.betalingsservice_agreements.start_date),
         end_date = EXCLUDED.end_date, source = EXCLUDED.source, updated_at = EXCLUDED.updated_at
       WHERE EXCLUDED.state = 'active' OR settlement.betalingsservice_agreements.agreement_number = EXCLUDED.agreement_number`,
      [customerNumber, c.agreementNumber, active ? 'active' : 'cancelled', c.startDate, c.endDate, source, meta.now],
    );
  }
  return result;
}

/** `RegisterBetalingsserviceAgreement { customerId, agreementNumber, startDate? }` from CRM onboarding. */
export async function registerAgreementFromCrm(deps: { store: EventStore; db: Db }, payload: unknown, meta: CommandMeta) {
  const p = (typeof payload === 'object' && payload !== null ? payload : {}) as { customerId?: unknown; agreementNumber?: unknown; startDate?: unknown };
  let customerNumber: string;
  try {
    customerNumber = betalingsserviceCustomerNumber(String(p.customerId));
  } catch {
    throw new PaymentCommandRejected('validation', 'customerId must be a customer id (UUID)');
  }
  const startDate = typeof p.startDate === 'string' ? p.startDate : localDateOf(meta.now);
  const r = await recordAgreementChanges(deps, { source: 'crm', customerId: p.customerId, changes: [{ change: 'registered', customerNumber, agreementNumber: String(p.agreementNumber ?? ''), startDate, endDate: null }] }, meta);
  return { customerId: String(p.customerId), customerNumber, agreementNumber: String(p.agreementNumber), alreadyRegistered: r.unchanged > 0 };
}

/**
 * When a receivable opens for a customer with an active agreement: collect it by Betalingsservice on the next
 * collection day whose delivery deadline has not passed (not before the invoice's own due date), so the due date
 * becomes that day; `BetalingsserviceCollectionRequested` on the claim's stream tells datahub-integration to deliver
 * it. Customers without an agreement pay by FI slip (+71), as before. Nothing to collect for an amount ≤ 0.
 */
export async function requestCollectionIfAgreed(
  deps: { store: EventStore; db: Db; cycle?: CollectionCycle },
  opened: { invoiceId: string; kind: 'invoice' | 'aconto' },
  meta: { correlationId: string; causationId: string; now: Date },
): Promise<BetalingsserviceCollectionRequested | null> {
  const { rows } = await deps.db.query<{ customer_id: string; due_date: string; amount: string; issued_at: Date }>(
    `SELECT customer_id, due_date, (amount_due + notes - paid - written_off)::numeric(18,2)::text AS amount, issued_at FROM settlement.receivables WHERE invoice_id = $1`,
    [opened.invoiceId],
  );
  const r = rows[0];
  if (r === undefined || !Money.parse(r.amount).isPositive()) return null;
  let customerNumber: string;
  try {
    customerNumber = betalingsserviceCustomerNumber(r.customer_id);
  } catch {
    return null; // not a customer id Betalingsservice can know
  }
  const agreement = (await deps.db.query<{ agreement_number: string }>(`SELECT agreement_number FROM settlement.betalingsservice_agreements WHERE customer_number = $1 AND state = 'active'`, [customerNumber])).rows[0];
  if (agreement === undefined) return null;
  const dueDate = nextCollectionDate(localDateOf(new Date(r.issued_at)), r.due_date, deps.cycle);
  const data: BetalingsserviceCollectionRequested = {
    invoiceId: opened.invoiceId,
    invoiceKind: opened.kind,
    customerId: r.customer_id,
    customerNumber,
    agreementNumber: agreement.agreement_number,
    amount: r.amount,
    dueDate,
    deliveryDeadline: deliveryDeadline(dueDate, deps.cycle),
  };
  await deps.db.query(`UPDATE settlement.receivables SET due_date = $2, collection_method = 'betalingsservice' WHERE invoice_id = $1`, [opened.invoiceId, dueDate]);
  await appendOnce(deps.store, streamOf(opened.kind, opened.invoiceId), { eventId: collectionRequestedEventId(opened.invoiceId), type: 'BetalingsserviceCollectionRequested', data }, { ...meta, actor: 'settlement-betalingsservice' });
  return data;
}

export interface CollectionOutcome {
  /** Our 0601 reference (returned in 0602). */
  reference: string;
  invoiceId: string;
  outcome: 'completed' | 'rejected' | 'cancelled' | 'charged-back';
  amount: string;
  paidAmount: string;
  dueDate: string | null;
  paymentDate: string | null;
  /**
   * The record's booking date (0602 BS042): for a charge-back, the day the debtor's bank booked it back.
   * Optional: batches sent before it was carried have none (the reversal then falls back to the day applied).
   */
  bookingDate?: string | null;
}

/** Calendar days an FI payment slip gives after a failed Betalingsservice collection (moved to a banking day). */
export const DEFAULT_FALLBACK_TERMS_DAYS = 10;

function bankingDayOnOrAfter(d: LocalDate): LocalDate {
  let day = d;
  while (!isBankingDay(day)) day = addDays(day, 1);
  return day;
}

/**
 * `ApplyBetalingsserviceOutcomes { fileName, outcomes }` (datahub-integration, one batch of a 0602 file): a completed
 * collection is a payment (`payment.received`, payment id `betalingsservice-<reference>`, matched to its invoice);
 * a charged-back one also takes its recorded payment back (`PaymentReversed`, public `payment.reversed`);
 * a rejected, cancelled or charged-back one reopens the claim for payment by FI slip: `PaymentCollectionFailed` with the reason on
 * the claim's stream, a new due date (`fallbackTermsDays`), overdue and reminders from there. Every effect is
 * idempotent per reference, so a batch sent again changes nothing.
 */
export async function applyBetalingsserviceOutcomes(
  deps: { store: EventStore; db: Db; fallbackTermsDays?: number },
  payload: unknown,
  meta: CommandMeta,
): Promise<{ payments: number; failed: number; unchanged: number }> {
  const p = (typeof payload === 'object' && payload !== null ? payload : {}) as { fileName?: unknown; outcomes?: unknown };
  if (typeof p.fileName !== 'string' || !Array.isArray(p.outcomes)) throw new PaymentCommandRejected('validation', 'fileName and outcomes are required');
  const result = { payments: 0, failed: 0, unchanged: 0 };
  for (const o of p.outcomes as CollectionOutcome[]) {
    if (o.outcome === 'completed') {
      const paidAt = localDayStart(o.paymentDate ?? o.dueDate ?? localDateOf(meta.now)).toISOString();
      const reply: RecordPaymentReply = await recordPayment(deps, { paymentId: `betalingsservice-${o.reference}`, reference: o.invoiceId, amount: o.paidAmount, paidAt, method: 'betalingsservice' }, meta);
      if (reply.alreadyRecorded) result.unchanged++;
      else result.payments++;
      continue;
    }
    const { rows } = await deps.db.query<{ kind: 'invoice' | 'aconto'; customer_id: string; reference: string; due_date: string }>(
      `SELECT kind, customer_id, reference, due_date FROM settlement.receivables WHERE invoice_id = $1`,
      [o.invoiceId],
    );
    const r = rows[0];
    if (r === undefined) throw new PaymentCommandRejected('not-found', `no receivable ${o.invoiceId} for Betalingsservice reference ${o.reference}`);
    const fallbackDueDate = bankingDayOnOrAfter(addDays(localDateOf(meta.now), deps.fallbackTermsDays ?? DEFAULT_FALLBACK_TERMS_DAYS));
    const data: PaymentCollectionFailed = {
      invoiceId: o.invoiceId,
      invoiceKind: r.kind,
      customerId: r.customer_id,
      reason: o.outcome,
      amount: o.amount,
      dueDate: o.dueDate ?? r.due_date,
      fallbackDueDate,
      paymentReference: r.reference,
      collectionReference: o.reference,
      fileName: p.fileName,
    };
    if (o.outcome === 'charged-back') await reversePayment(deps.store, o, p.fileName, r.customer_id, meta);
    const appended = await appendOnce(deps.store, streamOf(r.kind, o.invoiceId), { eventId: collectionFailedEventId(o.reference, o.outcome), type: 'PaymentCollectionFailed', data }, meta);
    if (!appended) {
      result.unchanged++;
      continue;
    }
    // The claim is open again, for payment by FI slip: a new due date, and overdue/reminders count from it.
    await deps.db.query(`UPDATE settlement.receivables SET collection_method = 'fi-slip', due_date = $2, overdue_at = NULL WHERE invoice_id = $1`, [o.invoiceId, fallbackDueDate]);
    result.failed++;
  }
  return result;
}

/**
 * A charge-back (0602, 0239) takes back the payment its completed collection recorded (`betalingsservice-<reference>`):
 * `PaymentReversed` (public `payment.reversed`) on that payment's stream, once; the receivables consumer and the
 * payments read model count it as unpaid again. Nothing to reverse when the completion was never recorded.
 */
async function reversePayment(store: EventStore, o: CollectionOutcome, fileName: string, customerId: string, meta: CommandMeta): Promise<boolean> {
  const paymentId = `betalingsservice-${o.reference}`;
  const stream = await store.readStream(paymentStreamId(paymentId));
  const received = stream.find((e) => e.type === 'PaymentReceived');
  if (received === undefined) return false;
  const paid = dataOf<PaymentReceived>(received.data);
  const data: PaymentReversed = {
    paymentId,
    customerId: paid.customerId ?? customerId,
    invoiceId: paid.invoiceId,
    amount: paid.amount,
    reason: 'charged-back',
    // The day the charge-back was booked, as the 0602 record says (not the day we read the file); the day
    // applied only for a record without a booking date.
    reversedOn: o.bookingDate ?? localDateOf(meta.now),
    collectionReference: o.reference,
    fileName,
  };
  return appendOnce(store, paymentStreamId(paymentId), { eventId: paymentReversedEventId(paymentId), type: 'PaymentReversed', data }, meta);
}
