import type { PoolClient } from 'pg';
import type { Projection, ProjectedEvent } from '../projection/projection';
import { applyInRounds } from '../projection/coalesce';
import { PROJECTION_SCHEMA } from '../projection/projection-state';

export const PAYMENTS_TABLE = `${PROJECTION_SCHEMA}.payments`;
/** Write-offs the debt-collection agency reported (`collection.written_off`, public): no longer owed in the balance. */
export const COLLECTION_WRITE_OFFS_TABLE = `${PROJECTION_SCHEMA}.collection_write_offs`;
export const REMINDERS_TABLE = `${PROJECTION_SCHEMA}.reminders`;

/** The events `apply` handles. */
const PAYMENT_EVENTS: ReadonlySet<string> = new Set(['PaymentUnmatched', 'PaymentReceived', 'PaymentReversed', 'CollectionWrittenOff', 'ReminderSent']);

/**
 * Payments from the payment service as the API reads them: matched (`PaymentReceived`, public
 * `payment.received`) and unmatched (`PaymentUnmatched`, `payments.payment-unmatched`, until staff
 * match it). One row per payment id; amounts copied from the events' 2-decimal strings.
 * Either order of the two events gives the same row (matched wins). Reminders (`reminder.sent`) in their own
 * table: the fees and interest they charge count in the customer's balance.
 */
export const paymentsProjection: Projection = {
  name: 'payments',
  bindings: ['payment.received', 'payment.reversed', 'payments.#', 'reminder.sent', 'collection.written_off'],
  tables: [
    { name: PAYMENTS_TABLE, orderBy: 'payment_id' },
    { name: REMINDERS_TABLE, orderBy: 'reminder_id' },
    { name: COLLECTION_WRITE_OFFS_TABLE, orderBy: 'event_id' },
  ],
  eventTypes: PAYMENT_EVENTS,

  async migrate(client: PoolClient) {
    await client.query(`
      CREATE SCHEMA IF NOT EXISTS ${PROJECTION_SCHEMA};
      CREATE TABLE IF NOT EXISTS ${PAYMENTS_TABLE} (
        payment_id text PRIMARY KEY, status text NOT NULL, customer_id text, invoice_id uuid, reference text,
        amount numeric(18,2) NOT NULL, paid_at timestamptz NOT NULL, method text NOT NULL, unmatched_reason text,
        recorded_at timestamptz NOT NULL, matched_at timestamptz);
      CREATE INDEX IF NOT EXISTS payments_customer ON ${PAYMENTS_TABLE} (customer_id) WHERE status = 'matched';
      CREATE INDEX IF NOT EXISTS payments_unmatched ON ${PAYMENTS_TABLE} (recorded_at) WHERE status = 'unmatched';
      CREATE TABLE IF NOT EXISTS ${REMINDERS_TABLE} (
        reminder_id uuid PRIMARY KEY, invoice_id uuid NOT NULL, invoice_kind text NOT NULL, customer_id text NOT NULL, number int NOT NULL,
        sent_on text NOT NULL, due_date text NOT NULL, deadline text NOT NULL, principal numeric(18,2) NOT NULL, fee numeric(18,2) NOT NULL,
        interest numeric(18,2) NOT NULL, interest_from text, interest_through text, annual_interest_rates jsonb NOT NULL, amount_due numeric(18,2) NOT NULL,
        payment_reference text NOT NULL, warns_of_collection boolean NOT NULL, recorded_at timestamptz NOT NULL);
      CREATE INDEX IF NOT EXISTS reminders_customer ON ${REMINDERS_TABLE} (customer_id, sent_on);
      CREATE TABLE IF NOT EXISTS ${COLLECTION_WRITE_OFFS_TABLE} (
        event_id uuid PRIMARY KEY, case_id uuid NOT NULL, customer_id text NOT NULL, amount numeric(18,2) NOT NULL, written_off_on text NOT NULL, reason text NOT NULL);
      CREATE INDEX IF NOT EXISTS collection_write_offs_customer ON ${COLLECTION_WRITE_OFFS_TABLE} (customer_id);`);
  },

  /** `apply` per event in rounds of distinct payments (reminders, write-offs), the inserts of a round as one statement. */
  async applyBatch(events: readonly ProjectedEvent[], client: PoolClient) {
    await applyInRounds((event, tx) => this.apply(event, tx), events, client, (event) => {
      const d = event.data;
      switch (event.type) {
        case 'PaymentUnmatched':
        case 'PaymentReceived':
        case 'PaymentReversed':
          return [`payment:${String(d.paymentId)}`];
        case 'CollectionWrittenOff':
          return [`write-off:${event.eventId}`];
        case 'ReminderSent':
          return [`reminder:${String(d.reminderId)}`];
        default:
          return null;
      }
    });
  },

  async apply(event: ProjectedEvent, client: PoolClient) {
    const d = event.data;
    switch (event.type) {
      case 'PaymentUnmatched':
        await client.query(
          `INSERT INTO ${PAYMENTS_TABLE} (payment_id, status, reference, amount, paid_at, method, unmatched_reason, recorded_at)
           VALUES ($1, 'unmatched', $2, $3, $4, $5, $6, $7)
           ON CONFLICT (payment_id) DO UPDATE SET reference = EXCLUDED.reference, unmatched_reason = EXCLUDED.unmatched_reason, recorded_at = EXCLUDED.recorded_at`,
          [d.paymentId, d.reference, d.amount, d.paidAt, d.method, d.reason, event.recordedAt],
        );
        return;
      case 'PaymentReceived':
        await client.query(
          `INSERT INTO ${PAYMENTS_TABLE} (payment_id, status, customer_id, invoice_id, amount, paid_at, method, recorded_at, matched_at)
           VALUES ($1, 'matched', $2, $3, $4, $5, $6, $7, $7)
           ON CONFLICT (payment_id) DO UPDATE SET status = 'matched', customer_id = EXCLUDED.customer_id, invoice_id = EXCLUDED.invoice_id, matched_at = EXCLUDED.matched_at`,
          [d.paymentId, d.customerId, d.invoiceId, d.amount, d.paidAt, d.method, event.recordedAt],
        );
        return;
      case 'PaymentReversed':
        // Charged back (public `payment.reversed`): no longer counted as paid (the balance and the portal read `matched` only).
        await client.query(`UPDATE ${PAYMENTS_TABLE} SET status = 'reversed' WHERE payment_id = $1`, [d.paymentId]);
        return;
      case 'CollectionWrittenOff':
        await client.query(
          `INSERT INTO ${COLLECTION_WRITE_OFFS_TABLE} (event_id, case_id, customer_id, amount, written_off_on, reason) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
          [event.eventId, d.caseId, d.customerId, d.amount, d.writtenOffOn, d.reason],
        );
        return;
      case 'ReminderSent':
        await client.query(
          `INSERT INTO ${REMINDERS_TABLE} (reminder_id, invoice_id, invoice_kind, customer_id, number, sent_on, due_date, deadline, principal, fee, interest,
             interest_from, interest_through, annual_interest_rates, amount_due, payment_reference, warns_of_collection, recorded_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18) ON CONFLICT (reminder_id) DO NOTHING`,
          [d.reminderId, d.invoiceId, d.invoiceKind, d.customerId, d.number, d.sentOn, d.dueDate, d.deadline, d.principal, d.fee, d.interest, d.interestFrom, d.interestThrough, JSON.stringify(d.annualInterestRatesPercent), d.amountDue, d.paymentReference, d.warnsOfCollection, event.recordedAt],
        );
        return;
      default:
        return;
    }
  },
};
