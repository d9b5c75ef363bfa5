import type { Pool, PoolClient } from 'pg';
import { compareLocalDates, localDateOf } from '@dh/dk-time';
import type { EventStore } from '@dh/event-store';
import type { EventEnvelope } from '@dh/messaging';
import { cancelProcess } from '@dh/portfolio-application';
import { DomainRuleViolation } from '@dh/portfolio-domain';

type Db = Pick<PoolClient, 'query'> | Pick<Pool, 'query'>;

/** The withdrawal's queue on `domain.events`: BRS-002 requests for non-payment, and settlement's "customer has paid up". */
export const NON_PAYMENT_WITHDRAWAL_QUEUE = 'portfolio.non-payment-withdrawal';
export const NON_PAYMENT_WITHDRAWAL_BINDINGS: readonly string[] = ['portfolio.end-of-supply-requested', 'payments.customer-overdue-claims-settled'];

export async function migrateNonPaymentWithdrawal(db: Db): Promise<void> {
  await db.query(`
    CREATE SCHEMA IF NOT EXISTS portfolio;
    CREATE TABLE IF NOT EXISTS portfolio.non_payment_ends (
      process_id text PRIMARY KEY, customer_id text NOT NULL, effective_date date NOT NULL,
      outcome text, decided_at timestamptz);
    CREATE INDEX IF NOT EXISTS non_payment_ends_customer ON portfolio.non_payment_ends (customer_id) WHERE outcome IS NULL;`);
}

/**
 * Mission, debt collection: "If the customer pays after BRS-002 is sent but before the effective date, [withdraw]
 * the termination." Every BRS-002 for non-payment is remembered; when settlement announces that the customer owes
 * nothing overdue any more (`CustomerOverdueClaimsSettled`), each such end of supply still ahead is cancelled with
 * reason `customer-paid` (RSM-002 inside BRS-002, sent by datahub-integration after the cancellation is stored),
 * as staff would with `POST /api/processes/{id}/cancel`. One that can no longer be cancelled (its date has come,
 * DataHub already finished it) is kept with the refusal as its outcome.
 */
export async function onNonPaymentEvent(deps: { store: EventStore; clock: () => Date; logger?: { log(m: string): void; warn(m: string): void } }, envelope: EventEnvelope, tx: Db): Promise<void> {
  const d = envelope.data as Record<string, unknown>;
  if (envelope.type === 'EndOfSupplyRequested') {
    if (d.endReason !== 'non-payment' || typeof d.processId !== 'string' || typeof d.customerId !== 'string' || typeof d.effectiveDate !== 'string') return;
    await tx.query(`INSERT INTO portfolio.non_payment_ends (process_id, customer_id, effective_date) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [d.processId, d.customerId, d.effectiveDate]);
    return;
  }
  if (envelope.type !== 'CustomerOverdueClaimsSettled' || typeof d.customerId !== 'string') return;
  const today = localDateOf(deps.clock());
  const pending = await tx.query<{ process_id: string; effective_date: string }>(
    `SELECT process_id, to_char(effective_date, 'YYYY-MM-DD') AS effective_date FROM portfolio.non_payment_ends WHERE customer_id = $1 AND outcome IS NULL ORDER BY process_id`,
    [d.customerId],
  );
  for (const p of pending.rows) {
    let outcome: string;
    if (compareLocalDates(p.effective_date, today) <= 0) outcome = 'effective-before-payment';
    else {
      try {
        await cancelProcess(
          { store: deps.store },
          { processId: p.process_id, reason: 'customer-paid' },
          { correlationId: envelope.metadata.correlationId, causationId: envelope.eventId, actor: 'portfolio-non-payment-withdrawal', idempotencyKey: `customer-paid:${envelope.eventId}:${p.process_id}`, now: deps.clock() },
        );
        outcome = 'withdrawn';
        deps.logger?.log(`end of supply ${p.process_id} for non-payment withdrawn: the customer has paid (${String(d.paymentId)})`);
      } catch (error) {
        if (!(error instanceof DomainRuleViolation)) throw error;
        outcome = `not-withdrawn: ${error.message}`.slice(0, 300);
        deps.logger?.warn(`end of supply ${p.process_id}: the customer has paid, but it cannot be withdrawn (${error.message})`);
      }
    }
    await tx.query(`UPDATE portfolio.non_payment_ends SET outcome = $2, decided_at = $3 WHERE process_id = $1`, [p.process_id, outcome, deps.clock()]);
  }
}
