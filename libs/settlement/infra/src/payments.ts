import type { Pool, PoolClient } from 'pg';
import { addDays, compareLocalDates, isBankingDay, localDateOf, type LocalDate } from '@dh/dk-time';
import { DuplicateEventIdError, WrongExpectedRevisionError, type EventStore, type JsonValue, type RecordedEvent } from '@dh/event-store';
import { CommandError, startConsumer, type AmqpConnection, type CommandContext, type EventEnvelope, type RunningConsumer } from '@dh/messaging';
import { Money } from '@dh/money';
import {
  DEFAULT_PAYMENT_TERMS_DAYS,
  PaymentCommandRejected,
  acontoInvoiceStreamId,
  dataOf,
  dueDateOf,
  invoiceStreamId,
  overdueOf,
  parseRecordPayment,
  parseReference,
  paymentOverdueEventId,
  paymentReceivedEventId,
  paymentReference,
  paymentStatusOf,
  paymentStreamId,
  paymentUnmatchedEventId,
  paymentsMetadata,
  toJsonObject,
  type AcontoInvoiceIssued,
  type CommandMeta,
  type InvoiceIssued,
  type PaymentOverdue,
  type PaymentReceived,
  type PaymentReversed,
  type PaymentUnmatched,
  type SettlementCorrectionIssued,
  type UnmatchedReason,
} from '@dh/settlement-application';
import { DEFAULT_DUNNING_RULES, REFERENCE_RATES, type DunningRule, type ReferenceRate } from '@dh/payments-domain';
import { underAdvisoryLock } from './advisory-lock';
import { SETTLEMENT_SCHEMA } from './schema';
import { migrateReminders, sendReminders } from './reminders';
import { announceClaimsSettled, CollectionAgencyClient, migrateCollection, runCollectionPass } from './collection';
import { applyBetalingsserviceOutcomes, migrateBetalingsservice, recordAgreementChanges, registerAgreementFromCrm, requestCollectionIfAgreed } from './betalingsservice';

type Db = Pick<PoolClient, 'query'>;

/** Settlement's receivables (one row per issued invoice), built by the payments consumer. */
export const PAYMENTS_QUEUE = 'settlement.payments';
export const PAYMENTS_BINDINGS = ['settlement.invoice-issued', 'settlement.aconto-invoice-issued', 'settlement.correction', 'payment.received', 'payment.reversed'];
const OVERDUE_LOCK = 'settlement-payment-overdue';

export async function migratePayments(pool: Pool): Promise<void> {
  const client = await pool.connect();
  await client.query(`SELECT pg_advisory_lock(hashtext('settlement-payments-migration'))`);
  try {
    await client.query(`
      CREATE SCHEMA IF NOT EXISTS settlement;
      CREATE TABLE IF NOT EXISTS settlement.receivables (
        invoice_id uuid PRIMARY KEY, customer_id text NOT NULL, reference text NOT NULL, issued_at timestamptz NOT NULL,
        due_date text NOT NULL, amount_due numeric(18,2) NOT NULL, notes numeric(18,2) NOT NULL DEFAULT 0,
        paid numeric(18,2) NOT NULL DEFAULT 0, overdue_at timestamptz);
      CREATE INDEX IF NOT EXISTS receivables_reference ON settlement.receivables (reference);
      CREATE INDEX IF NOT EXISTS receivables_open ON settlement.receivables (due_date) WHERE overdue_at IS NULL;
      ALTER TABLE settlement.receivables ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'invoice';
      ALTER TABLE settlement.receivables ADD COLUMN IF NOT EXISTS gsrn text;
      ALTER TABLE settlement.receivables ADD COLUMN IF NOT EXISTS quarter text;
      ALTER TABLE settlement.receivables ADD COLUMN IF NOT EXISTS aconto_counted numeric(18,2) NOT NULL DEFAULT 0;
      ALTER TABLE settlement.receivables ADD COLUMN IF NOT EXISTS aconto_settled_by uuid;
      -- What the debt-collection agency wrote off on the claim (CollectionWrittenOff, spread over a case's claims): no longer owed.
      ALTER TABLE settlement.receivables ADD COLUMN IF NOT EXISTS written_off numeric(18,2) NOT NULL DEFAULT 0;
      CREATE INDEX IF NOT EXISTS receivables_aconto ON settlement.receivables (gsrn, quarter) WHERE kind = 'aconto';
      CREATE TABLE IF NOT EXISTS settlement.unmatched_payments (
        payment_id text PRIMARY KEY, reference_key text NOT NULL, recorded_at timestamptz NOT NULL);
      CREATE INDEX IF NOT EXISTS unmatched_payments_reference ON settlement.unmatched_payments (reference_key);`);
    await migrateReminders(client);
    await migrateBetalingsservice(client);
    await migrateCollection(client);
  } finally {
    await client.query(`SELECT pg_advisory_unlock(hashtext('settlement-payments-migration'))`);
    client.release();
  }
}

/**
 * Keeps `settlement.receivables` (inside the inbox transaction): an issued invoice opens a receivable
 * (net amount due, due date from the terms in force when it is first seen, FI reference); a
 * credit/debit note changes it; a matched payment pays it.
 */
export async function applyToReceivables(envelope: EventEnvelope, tx: Db, termsDays: number): Promise<ReceivableOpened | null> {
  switch (envelope.type) {
    case 'InvoiceIssued': {
      const d = dataOf<InvoiceIssued>(envelope.data);
      const issuedAt = new Date(envelope.occurredAt);
      const opened = await tx.query(
        `INSERT INTO settlement.receivables (invoice_id, customer_id, reference, issued_at, due_date, amount_due, kind, gsrn) VALUES ($1,$2,$3,$4,$5,$6,'invoice',$7) ON CONFLICT (invoice_id) DO NOTHING`,
        [d.invoiceId, d.customerId, paymentReference(d.invoiceId), issuedAt, dueDateOf(issuedAt, termsDays), d.aconto.netAmountDue, d.gsrn],
      );
      return opened.rowCount === 1 ? { invoiceId: d.invoiceId, kind: 'invoice' } : null;
    }
    case 'AcontoInvoiceIssued': {
      // An aconto (advance) invoice is a receivable like any invoice: its own FI reference, its due date (the later of
      // the aconto invoice's own and issue + terms, on a banking day), overdue when unpaid.
      const d = dataOf<AcontoInvoiceIssued>(envelope.data);
      const issuedAt = new Date(envelope.occurredAt);
      const opened = await tx.query(
        `INSERT INTO settlement.receivables (invoice_id, customer_id, reference, issued_at, due_date, amount_due, kind, gsrn, quarter)
         VALUES ($1,$2,$3,$4,$5,$6,'aconto',$7,$8) ON CONFLICT (invoice_id) DO NOTHING`,
        [d.acontoInvoiceId, d.customerId, paymentReference(d.acontoInvoiceId), issuedAt, laterBankingDay(dueDateOf(issuedAt, termsDays), d.dueDate), d.amountInclVat, d.gsrn, d.quarter],
      );
      return opened.rowCount === 1 ? { invoiceId: d.acontoInvoiceId, kind: 'aconto' } : null;
    }
    case 'SettlementCorrectionIssued': {
      const d = dataOf<SettlementCorrectionIssued>(envelope.data);
      await tx.query(`UPDATE settlement.receivables SET notes = notes + $2::numeric WHERE invoice_id = $1`, [d.invoiceId, d.totals.inclVat]);
      return null;
    }
    case 'PaymentReceived': {
      const d = dataOf<PaymentReceived>(envelope.data);
      if (d.invoiceId !== null) await tx.query(`UPDATE settlement.receivables SET paid = paid + $2::numeric WHERE invoice_id = $1`, [d.invoiceId, d.amount]);
      await tx.query(`DELETE FROM settlement.unmatched_payments WHERE payment_id = $1`, [d.paymentId]);
      return null;
    }
    case 'PaymentReversed': {
      // A charge-back: the claim it paid counts as unpaid again.
      const d = dataOf<PaymentReversed>(envelope.data);
      if (d.invoiceId !== null) await tx.query(`UPDATE settlement.receivables SET paid = paid - $2::numeric WHERE invoice_id = $1`, [d.invoiceId, d.amount]);
      return null;
    }
    default:
      return null;
  }
}

export interface ReceivableOpened {
  invoiceId: string;
  kind: 'invoice' | 'aconto';
}

/** The later of two dates, moved to the next banking day (a payment on that day is on time). */
function laterBankingDay(a: LocalDate, b: LocalDate): LocalDate {
  let due = compareLocalDates(a, b) >= 0 ? a : b;
  while (!isBankingDay(due)) due = addDays(due, 1);
  return due;
}

/**
 * Aconto settled by payments, not by payment dates: the aconto paid of a settlement invoice of an aconto
 * supply is what has been paid on the aconto invoice of the period's quarter (GSRN + quarter) and not yet
 * counted by an earlier settlement invoice. Counting it settles the aconto invoice: from then on its claim is
 * what was counted (its unpaid rest is superseded by the settlement invoice, which claims the actual
 * consumption), so nothing is owed twice. Runs in the settlement worker's inbox transaction, once per
 * work item; returns 0.00 when the aconto invoice has no receivable yet.
 */
export async function takeAcontoPaid(tx: Db, a: { gsrn: string; quarter: string; invoiceId: string }): Promise<Money> {
  const { rows } = await tx.query<{ take: string }>(
    `WITH before AS (
       SELECT invoice_id, aconto_counted FROM settlement.receivables WHERE kind = 'aconto' AND gsrn = $1 AND quarter = $2 FOR UPDATE)
     UPDATE settlement.receivables r SET aconto_counted = r.paid, amount_due = r.paid, aconto_settled_by = coalesce(r.aconto_settled_by, $3::uuid)
     FROM before WHERE r.invoice_id = before.invoice_id
     RETURNING (r.paid - before.aconto_counted)::numeric(18,2)::text AS take`,
    [a.gsrn, a.quarter, a.invoiceId],
  );
  return Money.sum(rows.map((r) => Money.parse(r.take)));
}

interface InvoiceRef {
  invoiceId: string;
  customerId: string;
}

/** The issued invoice or aconto invoice by id, from its own stream (authoritative). */
async function invoiceById(store: EventStore, invoiceId: string): Promise<InvoiceRef | null> {
  const issued = (await store.readStream(invoiceStreamId(invoiceId))).find((e) => e.type === 'InvoiceIssued');
  if (issued !== undefined) return { invoiceId, customerId: dataOf<InvoiceIssued>(issued.data).customerId };
  const aconto = (await store.readStream(acontoInvoiceStreamId(invoiceId))).find((e) => e.type === 'AcontoInvoiceIssued');
  return aconto === undefined ? null : { invoiceId, customerId: dataOf<AcontoInvoiceIssued>(aconto.data).customerId };
}

/**
 * Invoices (and aconto invoices) whose FI reference is `reference`, from the receivables (indexed). A payment
 * that arrives before its invoice's receivable is opened is kept unmatched and matched automatically when the
 * receivable opens (`matchWaitingPayments`).
 */
async function invoicesByReference(db: Db, reference: string): Promise<InvoiceRef[]> {
  const known = await db.query<{ invoice_id: string; customer_id: string }>(`SELECT invoice_id, customer_id FROM settlement.receivables WHERE reference = $1`, [reference]);
  return known.rows.map((r) => ({ invoiceId: r.invoice_id, customerId: r.customer_id }));
}

/** What an unmatched payment waits for: the invoice id it named, or its FI payment id (`+71<…`). */
function referenceKeyOf(reference: string): string | null {
  const parsed = parseReference(reference);
  return parsed.kind === 'invoice-id' ? parsed.invoiceId : parsed.kind === 'fi' ? parsed.paymentId71 : null;
}

export interface PaymentsDeps {
  store: EventStore;
  db: Db;
}

export interface RecordPaymentReply {
  paymentId: string;
  status: 'matched' | 'unmatched';
  invoiceId: string | null;
  customerId: string | null;
  reason: UnmatchedReason | null;
  alreadyRecorded: boolean;
}

function replyOf(events: readonly RecordedEvent[], paymentId: string, alreadyRecorded: boolean): RecordPaymentReply {
  const s = paymentStatusOf(events);
  if (s.status === 'matched') return { paymentId, status: 'matched', invoiceId: s.received.invoiceId, customerId: s.received.customerId, reason: null, alreadyRecorded };
  if (s.status === 'unmatched') return { paymentId, status: 'unmatched', invoiceId: null, customerId: null, reason: s.unmatched.reason, alreadyRecorded };
  throw new Error(`payment ${paymentId} has no events`);
}

/**
 * `RecordPayment { paymentId, reference, amount, paidAt, method }` → on `payment-<paymentId>` either
 * `PaymentReceived` (public `payment.received`, matched by invoice id or FI +71 reference) or
 * `PaymentUnmatched` (kept for staff). A payment id already recorded appends nothing (the reply says
 * `alreadyRecorded`); the same id with another amount, date or method is refused (409).
 */
export async function recordPayment(deps: PaymentsDeps, payload: unknown, meta: CommandMeta): Promise<RecordPaymentReply> {
  const command = parseRecordPayment(payload);
  const streamId = paymentStreamId(command.paymentId);
  const existing = await deps.store.readStream(streamId);
  if (existing.length > 0) return alreadyRecorded(existing, command);

  const parsed = parseReference(command.reference);
  let match: InvoiceRef | null = null;
  let reason: UnmatchedReason = 'malformed-reference';
  if (parsed.kind === 'invoice-id') {
    match = await invoiceById(deps.store, parsed.invoiceId);
    reason = 'unknown-invoice';
  } else if (parsed.kind === 'fi') {
    const found = await invoicesByReference(deps.db, parsed.paymentId71);
    if (found.length === 1) match = found[0]!;
    reason = found.length > 1 ? 'ambiguous-reference' : 'unknown-invoice';
  }
  const metadata = paymentsMetadata(meta);
  const event =
    match !== null
      ? {
          eventId: paymentReceivedEventId(command.paymentId),
          type: 'PaymentReceived',
          data: toJsonObject<PaymentReceived>({ paymentId: command.paymentId, customerId: match.customerId, invoiceId: match.invoiceId, amount: command.amount, paidAt: command.paidAt, method: command.method }),
        }
      : {
          eventId: paymentUnmatchedEventId(command.paymentId),
          type: 'PaymentUnmatched',
          data: toJsonObject<PaymentUnmatched>({ paymentId: command.paymentId, reference: command.reference, amount: command.amount, paidAt: command.paidAt, method: command.method, reason }),
        };
  try {
    await deps.store.appendToStream(streamId, [{ ...event, metadata, occurredAt: meta.now }], { expectedRevision: 'no_stream' });
  } catch (error) {
    // A concurrent delivery of the same payment won: answer with what it recorded.
    if (error instanceof WrongExpectedRevisionError || error instanceof DuplicateEventIdError) return alreadyRecorded(await deps.store.readStream(streamId), command);
    throw error;
  }
  const key = match === null ? referenceKeyOf(command.reference) : null;
  if (key !== null) {
    // Kept for automatic matching when an invoice with this reference is opened later (not for malformed references).
    await deps.db.query(`INSERT INTO settlement.unmatched_payments (payment_id, reference_key, recorded_at) VALUES ($1,$2,$3) ON CONFLICT (payment_id) DO NOTHING`, [command.paymentId, key, meta.now]);
  }
  return replyOf(await deps.store.readStream(streamId), command.paymentId, false);
}

function alreadyRecorded(events: readonly RecordedEvent[], command: { paymentId: string; amount: string; paidAt: string; method: string }): RecordPaymentReply {
  const first = events.find((e) => e.type === 'PaymentReceived' || e.type === 'PaymentUnmatched');
  if (first !== undefined) {
    const d = first.data as { amount?: unknown; paidAt?: unknown; method?: unknown };
    if (d.amount !== command.amount || d.paidAt !== command.paidAt || d.method !== command.method) {
      throw new PaymentCommandRejected('illegal-transition', `payment ${command.paymentId} was already recorded with amount ${String(d.amount)}, paidAt ${String(d.paidAt)}, method ${String(d.method)}`);
    }
  }
  return replyOf(events, command.paymentId, true);
}

/**
 * `MatchPayment { paymentId, invoiceId }` (staff): an unmatched payment gets its invoice →
 * `PaymentReceived` on the payment's stream. Unknown payment → not-found; already matched to another
 * invoice → illegal-transition; matched to the same one → nothing appended (`alreadyMatched`).
 */
export async function matchPayment(deps: PaymentsDeps, payload: unknown, meta: CommandMeta): Promise<{ paymentId: string; invoiceId: string; customerId: string; alreadyMatched: boolean }> {
  const p = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
  if (typeof p.paymentId !== 'string' || p.paymentId === '') throw new PaymentCommandRejected('validation', 'paymentId is required');
  if (typeof p.invoiceId !== 'string' || parseReference(p.invoiceId).kind !== 'invoice-id') throw new PaymentCommandRejected('validation', 'invoiceId must be a UUID');
  const paymentId = p.paymentId;
  const invoiceId = p.invoiceId.toLowerCase();
  const streamId = paymentStreamId(paymentId);
  const events = await deps.store.readStream(streamId);
  const status = paymentStatusOf(events);
  if (status.status === 'none') throw new PaymentCommandRejected('not-found', `No payment ${paymentId}`);
  if (status.status === 'matched') {
    if (status.received.invoiceId === invoiceId) return { paymentId, invoiceId, customerId: status.received.customerId, alreadyMatched: true };
    throw new PaymentCommandRejected('illegal-transition', `payment ${paymentId} is already matched to invoice ${String(status.received.invoiceId)}`);
  }
  const invoice = await invoiceById(deps.store, invoiceId);
  if (invoice === null) throw new PaymentCommandRejected('validation', `No issued invoice ${invoiceId}`);
  const u = status.unmatched;
  const data: PaymentReceived = { paymentId, customerId: invoice.customerId, invoiceId, amount: u.amount, paidAt: u.paidAt, method: u.method };
  try {
    await deps.store.appendToStream(
      streamId,
      [{ eventId: paymentReceivedEventId(paymentId), type: 'PaymentReceived', data: toJsonObject(data), metadata: paymentsMetadata(meta), occurredAt: meta.now }],
      { expectedRevision: events[events.length - 1]!.streamRevision },
    );
  } catch (error) {
    if (error instanceof WrongExpectedRevisionError || error instanceof DuplicateEventIdError) return matchPayment(deps, payload, meta);
    throw error;
  }
  return { paymentId, invoiceId, customerId: invoice.customerId, alreadyMatched: false };
}

/**
 * An unmatched payment is matched automatically when its reference becomes known: when a receivable opens,
 * the payments that named its invoice id or its FI reference get `PaymentReceived` (actor
 * `settlement-auto-match`). Only a reference that now names exactly one receivable matches.
 */
export async function matchWaitingPayments(deps: PaymentsDeps, opened: ReceivableOpened, cause: { correlationId: string; causationId: string; now: Date }): Promise<string[]> {
  const reference = paymentReference(opened.invoiceId);
  const waiting = await deps.db.query<{ payment_id: string; reference_key: string }>(
    `SELECT payment_id, reference_key FROM settlement.unmatched_payments WHERE reference_key = ANY($1) ORDER BY recorded_at, payment_id`,
    [[opened.invoiceId, reference]],
  );
  const matched: string[] = [];
  for (const w of waiting.rows) {
    if (w.reference_key === reference && (await invoicesByReference(deps.db, reference)).length !== 1) continue; // still ambiguous: staff decide
    const r = await matchPayment(deps, { paymentId: w.payment_id, invoiceId: opened.invoiceId }, { ...cause, actor: 'settlement-auto-match' });
    if (!r.alreadyMatched) matched.push(w.payment_id);
  }
  return matched;
}

// ------------------------------------------------------------------------------------------ overdue

export interface OverdueDeps {
  store: EventStore;
  pool: Pool;
  now: () => Date;
}

/**
 * One overdue pass under an advisory lock (one replica at a time; null when another holds it): every
 * receivable past its due date (business time `now`) with an amount still due, not yet reported,
 * gets one `PaymentOverdue` (public `payment.overdue`) on `invoice-<invoiceId>` with the remaining
 * amount. Never twice for an invoice: the event id derives from the invoice, the stream is checked
 * first, and the receivable is marked; a later (partial) payment does not trigger it again.
 */
export async function checkOverdue(deps: OverdueDeps): Promise<PaymentOverdue[] | null> {
  return underAdvisoryLock(deps.pool, OVERDUE_LOCK, (client) => overduePass(deps, client));
}

async function overduePass(deps: OverdueDeps, db: Db): Promise<PaymentOverdue[]> {
  const now = deps.now();
  const today = localDateOf(now);
  const due = await db.query<{ invoice_id: string; customer_id: string; due_date: string; remaining: string; kind: string }>(
    `SELECT invoice_id, customer_id, due_date, (amount_due + notes - paid - written_off)::text AS remaining, kind FROM settlement.receivables
     WHERE overdue_at IS NULL AND due_date < $1 ORDER BY due_date, invoice_id`,
    [today],
  );
  const emitted: PaymentOverdue[] = [];
  for (const r of due.rows) {
    const overdue = overdueOf({ invoiceId: r.invoice_id, customerId: r.customer_id, dueDate: r.due_date, amountDue: Money.parse(r.remaining), today });
    if (overdue === null) continue;
    const streamId = r.kind === 'aconto' ? acontoInvoiceStreamId(r.invoice_id) : invoiceStreamId(r.invoice_id);
    const stream = await deps.store.readStream(streamId);
    if (!stream.some((e) => e.type === 'PaymentOverdue')) {
      if (stream.length === 0) continue;
      try {
        await deps.store.appendToStream(
          streamId,
          [
            {
              eventId: paymentOverdueEventId(r.invoice_id),
              type: 'PaymentOverdue',
              data: toJsonObject(overdue),
              metadata: paymentsMetadata({ correlationId: paymentOverdueEventId(r.invoice_id), causationId: null, actor: 'settlement-overdue' }),
              occurredAt: now,
            },
          ],
          { expectedRevision: stream[stream.length - 1]!.streamRevision },
        );
        emitted.push(overdue);
      } catch (error) {
        // A correction was appended meanwhile: the next pass sees it (and the new remaining amount).
        if (error instanceof WrongExpectedRevisionError) continue;
        if (!(error instanceof DuplicateEventIdError)) throw error;
      }
    }
    await db.query(`UPDATE settlement.receivables SET overdue_at = $2 WHERE invoice_id = $1`, [r.invoice_id, now]);
  }
  return emitted;
}

// ------------------------------------------------------------------------------------------ runtime

export interface PaymentsOptions {
  /** Calendar days from issue to due date (`PAYMENT_TERMS_DAYS`, default 14). */
  termsDays?: number;
  /** Interval of the overdue check in ms (`PAYMENT_OVERDUE_CHECK_INTERVAL_MS`, default 60000; 0 = never by timer). */
  overdueIntervalMs?: number;
  logger?: { warn(message: string): void };
  /** Dunning policy (default `DEFAULT_DUNNING_RULES`) and reference rates (default `REFERENCE_RATES`), `@dh/payments-domain`. */
  dunningRules?: readonly DunningRule[];
  referenceRates?: readonly ReferenceRate[];
  /** The debt-collection agency (`COLLECTION_AGENCY_URL`, `COLLECTION_AGENCY_API_KEY`); absent: cases are opened and wait. */
  collectionAgency?: { url: string; apiKey: string } | null;
}

export interface PaymentsRuntime {
  receivables: RunningConsumer;
  /** Runs one overdue pass now (what the timer runs). */
  checkOverdue(): Promise<PaymentOverdue[] | null>;
  /** Runs one dunning pass now (the timer runs it after each overdue pass). */
  sendReminders(): ReturnType<typeof sendReminders>;
  /** Hands opened collection cases over and reads the agency's feed (the timer runs it after the dunning pass); null without an agency. */
  collect(): ReturnType<typeof runCollectionPass>;
  stop(): Promise<void>;
}

async function asPaymentReply<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof PaymentCommandRejected) throw new CommandError(error.code, error.message);
    if (error instanceof WrongExpectedRevisionError) throw new CommandError('concurrency-conflict', error.message, { streamId: error.streamId });
    throw error;
  }
}

/** The payment commands served on `commands.settlement` beside settlement's own. */
export function paymentCommandHandlers(store: EventStore, pool: Pool, metaOf: (context: CommandContext) => CommandMeta) {
  return {
    RecordPayment: async (payload: JsonValue, context: CommandContext) => asPaymentReply(async () => ({ ...(await recordPayment({ store, db: pool }, payload, metaOf(context))) })),
    MatchPayment: async (payload: JsonValue, context: CommandContext) => asPaymentReply(async () => ({ ...(await matchPayment({ store, db: pool }, payload, metaOf(context))) })),
    RecordBetalingsserviceAgreements: async (payload: JsonValue, context: CommandContext) => asPaymentReply(async () => ({ ...(await recordAgreementChanges({ store, db: pool }, payload, metaOf(context))) })),
    RegisterBetalingsserviceAgreement: async (payload: JsonValue, context: CommandContext) => asPaymentReply(async () => ({ ...(await registerAgreementFromCrm({ store, db: pool }, payload, metaOf(context))) })),
    ApplyBetalingsserviceOutcomes: async (payload: JsonValue, context: CommandContext) => asPaymentReply(async () => ({ ...(await applyBetalingsserviceOutcomes({ store, db: pool }, payload, metaOf(context))) })),
  };
}

/** The receivables consumer and the periodic overdue check (follows the infrastructure clock). */
export async function startPayments(
  infra: { pool: Pool; eventStore: EventStore; amqp: AmqpConnection; clock: { now(): Date }; config: { exchange: string } },
  options: PaymentsOptions = {},
): Promise<PaymentsRuntime> {
  const termsDays = options.termsDays ?? DEFAULT_PAYMENT_TERMS_DAYS;
  await migratePayments(infra.pool);
  const receivables = await startConsumer({
    connection: infra.amqp,
    pool: infra.pool,
    queue: PAYMENTS_QUEUE,
    bindings: PAYMENTS_BINDINGS,
    eventStore: infra.eventStore,
    exchange: infra.config.exchange,
    schema: SETTLEMENT_SCHEMA,
    singleActiveConsumer: true,
    onFailure: 'halt',
    backoff: { initialDelayMs: 200, factor: 2, maxDelayMs: 5000 },
    handler: async (envelope, tx) => {
      const opened = await applyToReceivables(envelope, tx, termsDays);
      if (envelope.type === 'PaymentReceived') {
        const p = dataOf<PaymentReceived>(envelope.data);
        await announceClaimsSettled({ store: infra.eventStore, db: tx }, p, { correlationId: envelope.metadata.correlationId, causationId: envelope.eventId });
      }
      if (opened === null) return;
      const cause = { correlationId: envelope.metadata.correlationId, causationId: envelope.eventId, now: new Date(envelope.occurredAt) };
      await matchWaitingPayments({ store: infra.eventStore, db: tx }, opened, cause);
      await requestCollectionIfAgreed({ store: infra.eventStore, db: tx }, opened, cause);
    },
  });
  const check = () => checkOverdue({ store: infra.eventStore, pool: infra.pool, now: () => infra.clock.now() });
  const remind = () =>
    sendReminders({
      store: infra.eventStore,
      pool: infra.pool,
      now: () => infra.clock.now(),
      rules: options.dunningRules ?? DEFAULT_DUNNING_RULES,
      rates: options.referenceRates ?? REFERENCE_RATES,
      ...(options.logger ? { logger: options.logger } : {}),
    });
  const agency = options.collectionAgency ? new CollectionAgencyClient({ baseUrl: options.collectionAgency.url, apiKey: options.collectionAgency.apiKey }) : null;
  const collect = async () =>
    agency === null
      ? null
      : runCollectionPass({
          store: infra.eventStore,
          pool: infra.pool,
          agency,
          now: () => infra.clock.now(),
          recordPayment: (payment, cause) =>
            recordPayment({ store: infra.eventStore, db: infra.pool }, payment, { correlationId: cause.correlationId, causationId: null, actor: 'settlement-collection', now: infra.clock.now() }),
          ...(options.logger ? { logger: options.logger } : {}),
        });
  const intervalMs = options.overdueIntervalMs ?? 60_000;
  let pass: Promise<unknown> | null = null;
  const timer =
    intervalMs > 0
      ? setInterval(() => {
          if (pass !== null) return; // the previous pass is still running
          pass = check()
            .then(() => remind())
            .then(() => collect())
            .catch((error: unknown) => options.logger?.warn(`payment overdue check: ${error instanceof Error ? error.message : String(error)}`))
            .finally(() => {
              pass = null;
            });
        }, intervalMs)
      : null;
  return {
    receivables,
    checkOverdue: check,
    sendReminders: remind,
    collect,
    async stop() {
      if (timer) clearInterval(timer);
      await pass;
      await receivables.stop();
    },
  };
}
