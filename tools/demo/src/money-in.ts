import type { Pool } from 'pg';
import { betalingsserviceCustomerNumber } from '@dh/betalingsservice';
import type { JsonObject } from '@dh/event-store';
import type { RunningPbsSimulator } from '@dh/pbs-sim';

/** What the money-in part of the demo needs from the demo around it. */
export interface MoneyInContext {
  line(text: string): void;
  check(name: string, ok: boolean, detail: string): void;
  waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs?: number): Promise<T>;
  call<T>(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<T>;
  advanceTo(instant: string): Promise<void>;
  published(key: string): { data: JsonObject }[];
  pool: Pool;
  pbs: RunningPbsSimulator;
  credentials: { erp: Record<string, string>; crm: Record<string, string> };
}

/** Environment of the stack for Betalingsservice over the simulator's SFTP server and a fast payment clock. */
export function moneyInEnv(pbs: RunningPbsSimulator): Record<string, string> {
  return {
    BETALINGSSERVICE_SFTP_URL: `sftp://${pbs.username}:${pbs.password}@${pbs.host}:${pbs.port}`,
    BETALINGSSERVICE_DATA_SUPPLIER_NUMBER: '12345678',
    BETALINGSSERVICE_PBS_NUMBER: '03985644',
    BETALINGSSERVICE_DEBTOR_GROUP: '00001',
    BETALINGSSERVICE_ACCOUNT: '1234-0001234567',
    BETALINGSSERVICE_INTERVAL_MS: '500',
    PAYMENT_OVERDUE_CHECK_INTERVAL_MS: '500',
  };
}

/** CRM registers the Betalingsservice agreements the customers signed at onboarding. */
export async function registerAgreements(ctx: Pick<MoneyInContext, 'call' | 'line' | 'credentials'>, customers: { name: string; customerId: string; agreementNumber: string }[]): Promise<void> {
  for (const c of customers) {
    const r = await ctx.call<{ customer_number: string }>('PUT', `/api/customers/${c.customerId}/betalingsservice-agreement`, ctx.credentials.crm, { agreement_number: c.agreementNumber, start_date: '2026-10-01' });
    ctx.line(`  ${c.name.padEnd(14)} Betalingsservice agreement ${c.agreementNumber}, customer number ${r.customer_number}`);
  }
}

/**
 * October's invoices are collected by Betalingsservice (0601 over SFTP on the December cycle), one collection is
 * rejected (0602) and the invoice falls back to an FI slip, the customer gets a reminder with a fee (renteloven
 * § 9 b) and interest, ERP posts the FI payment of what the reminder asks, and the customer's balance is zero.
 */
export async function moneyIn(ctx: MoneyInContext, paying: { name: string; customerId: string }, rejected: { name: string; customerId: string }): Promise<void> {
  ctx.line('== money in: Betalingsservice, a rejected collection, a reminder, an FI payment ==');
  await ctx.advanceTo('2026-11-20T08:00:00Z');
  const numbers = [paying, rejected].map((c) => betalingsserviceCustomerNumber(c.customerId).replace(/^0+/, ''));
  // Collections are delivered as settlement requests them (at most one delivery per exchange), each before its deadline.
  const collections = await ctx.waitFor(
    'the 0601 deliveries at Betalingsservice',
    async () => {
      const all = ctx.pbs.control.deliveries().flatMap((d) => d.collections.map((c) => ({ ...c, path: d.path })));
      return numbers.every((n) => all.some((c) => c.customerNumber === n)) ? all : undefined;
    },
    60_000,
  );
  for (const c of collections) ctx.line(`  0601 ${c.path}: customer ${c.customerNumber}, agreement ${c.agreementNumber}, ${c.amount} DKK due ${c.dueDate} (reference ${c.reference})`);
  ctx.check(
    "October's invoices are collected by Betalingsservice (0601 over SFTP, December cycle)",
    collections.every((c) => c.dueDate === '2026-12-01') && ctx.pbs.control.refusedUploads().length === 0,
    `${collections.length} collections due 2026-12-01, delivered before the deadline 2026-11-23`,
  );

  ctx.pbs.control.failNextCollection(betalingsserviceCustomerNumber(rejected.customerId), 'rejected');
  await ctx.advanceTo('2026-12-01T06:00:00Z');
  const answer = ctx.pbs.control.collectDue('2026-12-01');
  ctx.line(`  Betalingsservice collects on 2026-12-01 and answers with ${answer ?? 'nothing'}`);
  await ctx.advanceTo('2026-12-02T06:00:00Z');
  const failed = await ctx.waitFor(
    'the rejected collection in settlement',
    async () => (await ctx.pool.query<{ data: JsonObject }>(`SELECT data FROM event_store.events WHERE type = 'PaymentCollectionFailed'`)).rows[0]?.data,
    60_000,
  );
  const paid = await ctx.waitFor('payment.received from Betalingsservice', async () => ctx.published('payment.received').find((e) => e.data.method === 'betalingsservice' && e.data.customerId === paying.customerId), 60_000);
  ctx.line(`  ${paying.name}: paid ${String(paid.data.amount)} DKK by Betalingsservice (payment.received)`);
  ctx.line(`  ${rejected.name}: collection ${String(failed.reason)}, invoice open again for an FI slip due ${String(failed.fallbackDueDate)} (${String(failed.paymentReference)})`);
  ctx.check('a collection Betalingsservice rejects reopens the invoice, payable by FI slip', failed.customerId === rejected.customerId && failed.reason === 'rejected', `due ${String(failed.fallbackDueDate)}`);

  // Overdue the day after the FI due date; the first reminder three days after it (our rules, renteloven § 9 b).
  await ctx.advanceTo('2026-12-15T08:00:00Z');
  await ctx.advanceTo('2026-12-17T08:00:00Z');
  const reminder = await ctx.waitFor('reminder.sent', async () => ctx.published('reminder.sent').find((e) => e.data.customerId === rejected.customerId), 60_000);
  const r = reminder.data;
  ctx.line(`  reminder ${String(r.number)} to ${rejected.name}: ${String(r.principal)} + fee ${String(r.fee)} + interest ${String(r.interest)} (${(r.annualInterestRatesPercent as string[]).join(', ')} % a year) = ${String(r.amountDue)} DKK by ${String(r.deadline)}`);
  ctx.check('the customer gets a reminder with a fee (at most 100 DKK, renteloven § 9 b) and interest', r.fee === '100.00' && r.number === 1, `amount due ${String(r.amountDue)}`);

  await ctx.call('POST', '/api/payments', { ...ctx.credentials.erp, 'Idempotency-Key': 'demo-fi-1' }, {
    payment_id: 'bank-statement-2026-12-18-0001',
    reference: `${String(r.paymentReference)}+85140000<`,
    amount: r.amountDue,
    paid_at: '2026-12-18T10:00:00Z',
    method: 'bank-transfer',
  });
  const balance = await ctx.waitFor(
    'the balance to reach zero',
    async () => {
      const b = await ctx.call<{ balance: string; invoiced: string; notes: string; reminder_fees: string; interest: string; paid: string }>('GET', `/api/customers/${rejected.customerId}/balance`, ctx.credentials.erp);
      return b.balance === '0.00' ? b : undefined;
    },
    60_000,
  );
  ctx.line(`  ${rejected.name} paid the FI slip (posted by ERP): invoiced ${balance.invoiced} + notes ${balance.notes} + fees ${balance.reminder_fees} + interest ${balance.interest} − paid ${balance.paid} = ${balance.balance}`);
  ctx.check('paid by FI slip, the balance ends at zero', balance.balance === '0.00', `${rejected.name}: ${balance.balance}`);
}
