import type { PoolClient } from 'pg';
import type { Projection, ProjectedEvent } from '../projection/projection';
import { PROJECTION_SCHEMA } from '../projection/projection-state';

export const PAYMENTS_TABLE = `${PROJECTION_SCHEMA}.payments`;

/**
 * Payments from the payment service as the API reads them: matched (`PaymentReceived`, public
 * `payment.received`) and unmatched (`PaymentUnmatched`, `payments.payment-unmatched`, until staff
 * match it). One row per payment id; amounts copied from the events' 2-decimal strings.
 * Either order of the two events gives the same row (matched wins).
 */
export const paymentsProjection: Projection = {
  name: 'payments',
  bindings: ['payment.received', 'payments.#'],
  tables: [{ name: PAYMENTS_TABLE, orderBy: 'payment_id' }],

  async migrate(client: PoolClient) {
    await client.query(`
      CREATE SCHEMA IF NOT EXISTS ${PROJECTION_SCHEMA};
      CREATE TABLE IF NOT EXISTS ${PAYMENTS_TABLE} (
        payment_id text PRIMARY KEY, status text NOT NULL, customer_id text, invoice_id uuid, reference text,
        amount numeric(18,2) NOT NULL, paid_at timestamptz NOT NULL, method text NOT NULL, unmatched_reason text,
        recorded_at timestamptz NOT NULL, matched_at timestamptz);
      CREATE INDEX IF NOT EXISTS payments_customer ON ${PAYMENTS_TABLE} (customer_id) WHERE status = 'matched';
      CREATE INDEX IF NOT EXISTS payments_unmatched ON ${PAYMENTS_TABLE} (recorded_at) WHERE status = 'unmatched';`);
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
      default:
        return;
    }
  },
};
