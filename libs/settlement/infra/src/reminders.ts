import type { Pool, PoolClient } from 'pg';
import { underAdvisoryLock } from './advisory-lock';
import { localDateOf } from '@dh/dk-time';
import { DuplicateEventIdError, WrongExpectedRevisionError, type EventStore } from '@dh/event-store';
import { Money } from '@dh/money';
import { MissingReferenceRateError, nextDunningStep, type DunningRule, type ReferenceRate } from '@dh/payments-domain';
import { acontoInvoiceStreamId, invoiceStreamId, paymentsMetadata, reminderIdOf, toJsonObject, type CollectionClaimJson, type ReminderSent } from '@dh/settlement-application';
import { openCollectionCases } from './collection';

type Db = Pick<PoolClient, 'query'>;
const REMINDER_LOCK = 'settlement-payment-reminders';
const PAGE = 500;

export async function migrateReminders(db: Db): Promise<void> {
  await db.query(`
    ALTER TABLE settlement.receivables ADD COLUMN IF NOT EXISTS fees numeric(18,2) NOT NULL DEFAULT 0;
    ALTER TABLE settlement.receivables ADD COLUMN IF NOT EXISTS interest numeric(18,2) NOT NULL DEFAULT 0;
    ALTER TABLE settlement.receivables ADD COLUMN IF NOT EXISTS reminders_sent int NOT NULL DEFAULT 0;
    ALTER TABLE settlement.receivables ADD COLUMN IF NOT EXISTS last_reminder_on text;
    ALTER TABLE settlement.receivables ADD COLUMN IF NOT EXISTS reminder_deadline text;
    ALTER TABLE settlement.receivables ADD COLUMN IF NOT EXISTS interest_through text;
    ALTER TABLE settlement.receivables ADD COLUMN IF NOT EXISTS collection_case_id uuid;
    CREATE INDEX IF NOT EXISTS receivables_dunning ON settlement.receivables (invoice_id) WHERE overdue_at IS NOT NULL AND collection_case_id IS NULL;`);
}

export interface ReminderDeps {
  store: EventStore;
  pool: Pool;
  now: () => Date;
  rules: readonly DunningRule[];
  rates: readonly ReferenceRate[];
  logger?: { warn(message: string): void };
}

interface ClaimRow {
  invoice_id: string;
  kind: 'invoice' | 'aconto';
  customer_id: string;
  reference: string;
  due_date: string;
  principal: string;
  owed: string;
  fees: string;
  interest: string;
  reminders_sent: number;
  last_reminder_on: string | null;
  reminder_deadline: string | null;
  interest_through: string | null;
}

/**
 * One dunning pass under an advisory lock (one replica at a time; null when another holds it): every receivable
 * already reported overdue and not handed to debt collection, page by page, gets its next step by the rules in
 * force today (`nextDunningStep`, renteloven § 9 b and § 5). A reminder is appended as `ReminderSent` (public
 * `reminder.sent`) on the claim's own stream with the expected revision and an id stable per claim and number, so
 * it is sent once whatever the number of replicas or retries; the receivable then carries the fee, the interest
 * and the deadline. The receivable's columns are a cache of the stream: before appending, the stream is read, and
 * a reminder already there only refreshes the cache.
 */
export async function sendReminders(deps: ReminderDeps): Promise<ReminderSent[] | null> {
  return underAdvisoryLock(deps.pool, REMINDER_LOCK, (client) => dunningPass(deps, client));
}

async function dunningPass(deps: ReminderDeps, db: Db): Promise<ReminderSent[]> {
  const now = deps.now();
  const today = localDateOf(now);
  const sent: ReminderSent[] = [];
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const page = await db.query<ClaimRow>(
      `SELECT invoice_id::text, kind, customer_id, reference, due_date, greatest(amount_due + notes - paid - written_off, 0)::numeric(18,2)::text AS principal,
              (amount_due + notes + fees + interest - paid - written_off)::numeric(18,2)::text AS owed, fees::text, interest::text, reminders_sent, last_reminder_on, reminder_deadline, interest_through
       FROM settlement.receivables WHERE overdue_at IS NOT NULL AND collection_case_id IS NULL AND invoice_id > $1::uuid ORDER BY invoice_id LIMIT ${PAGE}`,
      [after],
    );
    const collection: (CollectionClaimJson & { customerId: string })[] = [];
    for (const r of page.rows) {
      const step = await remind(deps, db, r, today, now);
      if (step === null) continue;
      if ('collection' in step) collection.push(step.collection);
      else sent.push(step);
    }
    // The claims whose last reminder's deadline has run out go to debt collection, a case per customer (intent only: the handoff is after this pass).
    await openCollectionCases({ store: deps.store, db, now }, collection);
    if (page.rows.length < PAGE) return sent;
    after = page.rows[page.rows.length - 1]!.invoice_id;
  }
}

async function remind(deps: ReminderDeps, db: Db, r: ClaimRow, today: string, now: Date): Promise<ReminderSent | { collection: CollectionClaimJson & { customerId: string } } | null> {
  const reminders = r.reminders_sent > 0 ? [{ number: r.reminders_sent, sentOn: r.last_reminder_on!, deadline: r.reminder_deadline! }] : [];
  let step;
  try {
    step = nextDunningStep({ dueDate: r.due_date, principal: Money.parse(r.principal), reminders, interestChargedThrough: r.interest_through, inCollection: false }, today, deps.rules, deps.rates);
  } catch (error) {
    if (!(error instanceof MissingReferenceRateError)) throw error;
    deps.logger?.warn(`reminder for ${r.kind} ${r.invoice_id} held back: ${error.message}`);
    return null;
  }
  if (step === null) return null;
  if (step.kind === 'collection') {
    // What the customer owes on the claim as it goes to the agency: principal, the reminders' fees, interest up to today.
    const interest = Money.parse(r.interest).add(step.interest?.amount ?? Money.ZERO);
    const principal = Money.parse(r.principal);
    const fees = Money.parse(r.fees);
    return {
      collection: {
        customerId: r.customer_id,
        invoiceId: r.invoice_id,
        invoiceKind: r.kind,
        reference: r.reference,
        dueDate: r.due_date,
        principal: principal.format(),
        fees: fees.format(),
        interest: interest.format(),
        amount: principal.add(fees).add(interest).format(),
      },
    };
  }
  const streamId = r.kind === 'aconto' ? acontoInvoiceStreamId(r.invoice_id) : invoiceStreamId(r.invoice_id);
  const stream = await deps.store.readStream(streamId);
  if (stream.length === 0) return null;
  const already = stream.filter((e) => e.type === 'ReminderSent').map((e) => e.data as unknown as ReminderSent);
  if (already.some((s) => s.number >= step.number)) {
    await cacheFrom(db, r.invoice_id, already);
    return null;
  }
  const interest = step.interest?.amount ?? Money.ZERO;
  const data: ReminderSent = {
    reminderId: reminderIdOf(r.invoice_id, step.number),
    invoiceId: r.invoice_id,
    invoiceKind: r.kind,
    customerId: r.customer_id,
    number: step.number,
    sentOn: today,
    dueDate: r.due_date,
    deadline: step.deadline,
    principal: r.principal,
    fee: step.fee.format(),
    interest: interest.format(),
    interestFrom: step.interest?.fromExclusive ?? null,
    interestThrough: step.interest?.through ?? null,
    annualInterestRatesPercent: step.interest?.annualRatesPercent ?? [],
    amountDue: Money.parse(r.owed).add(step.fee).add(interest).format(),
    paymentReference: r.reference,
    warnsOfCollection: step.warnsOfCollection,
  };
  try {
    await deps.store.appendToStream(
      streamId,
      [{ eventId: data.reminderId, type: 'ReminderSent', data: toJsonObject(data), metadata: paymentsMetadata({ correlationId: data.reminderId, causationId: null, actor: 'settlement-reminders' }), occurredAt: now }],
      { expectedRevision: stream[stream.length - 1]!.streamRevision },
    );
  } catch (error) {
    // Something was appended meanwhile (a correction, another replica's reminder): the next pass decides again.
    if (error instanceof WrongExpectedRevisionError || error instanceof DuplicateEventIdError) return null;
    throw error;
  }
  await cacheFrom(db, r.invoice_id, [...already, data]);
  return data;
}

/** The receivable's dunning columns from the reminders on the claim's stream. */
async function cacheFrom(db: Db, invoiceId: string, reminders: readonly ReminderSent[]): Promise<void> {
  const last = reminders.reduce<ReminderSent | null>((a, b) => (a === null || b.number > a.number ? b : a), null);
  if (last === null) return;
  await db.query(
    `UPDATE settlement.receivables SET reminders_sent = $2, last_reminder_on = $3, reminder_deadline = $4, fees = $5::numeric, interest = $6::numeric,
       interest_through = coalesce($7, interest_through) WHERE invoice_id = $1`,
    [
      invoiceId,
      last.number,
      last.sentOn,
      last.deadline,
      Money.sum(reminders.map((x) => Money.parse(x.fee))).format(),
      Money.sum(reminders.map((x) => Money.parse(x.interest))).format(),
      last.interestThrough,
    ],
  );
}
