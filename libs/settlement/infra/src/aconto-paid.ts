import type { PoolClient } from 'pg';
import { Money } from '@dh/money';
import { periodLabel, quarterContaining } from '@dh/settlement-application';
import type { BillingPeriod } from '@dh/settlement-domain';
import { acontoPaidInPeriod } from './copies';
import { takeAcontoPaid } from './payments';

/**
 * `aconto_paid` of a settlement invoice of an aconto supply: the payments matched to the aconto invoice of the
 * period's quarter not yet counted by an earlier invoice (`takeAcontoPaid`, which also settles that aconto
 * invoice), plus payments recorded on the metering point without an invoice reference (`RecordAcontoPayment`,
 * counted by payment date inside the period, the invoice's customer's only).
 */
export async function acontoPaidFor(tx: Pick<PoolClient, 'query'>, gsrn: string, period: BillingPeriod, invoiceId: string, customerId: string): Promise<Money> {
  const matched = await takeAcontoPaid(tx, { gsrn, quarter: periodLabel(quarterContaining(period)), invoiceId });
  return matched.add(Money.parse(await acontoPaidInPeriod(tx, gsrn, period, customerId)));
}
