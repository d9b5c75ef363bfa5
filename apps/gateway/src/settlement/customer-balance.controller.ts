import { Controller, Get, Inject, Param, ParseUUIDPipe } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CurrentPrincipal, RequireAnyScope, assertCustomerAccess, type Principal } from '@dh/auth';
import { Money } from '@dh/money';
import { ProblemException } from '@dh/platform';

export interface ReminderView {
  reminder_id: string;
  invoice_id: string;
  invoice_kind: string;
  number: number;
  sent_on: string;
  due_date: string;
  deadline: string;
  principal: string;
  fee: string;
  interest: string;
  interest_from: string | null;
  interest_through: string | null;
  annual_interest_rates_percent: string[];
  amount_due: string;
  payment_reference: string;
  warns_of_collection: boolean;
}

export interface CustomerBalanceView {
  customer_id: string;
  invoiced: string;
  notes: string;
  aconto_invoiced: string;
  aconto_paid: string;
  reminder_fees: string;
  interest: string;
  paid: string;
  /** Written off on the debt-collection agency's recommendation: no longer owed. */
  written_off: string;
  balance: string;
  invoices: number;
  aconto_invoices: number;
}

/**
 * `GET /api/customers/{id}/balance`: what the customer owes across **all** invoices, aconto included, incl. VAT:
 * Σ settlement invoices (their total) + Σ credit/debit notes + Σ aconto invoices not yet settled + reminder fees and
 * interest charged (`reminder.sent`) − aconto payments
 * recorded on a metering point without an invoice (`aconto_paid`) − every payment matched to one of the customer's
 * invoices or aconto invoices (`paid`) − what the debt-collection agency wrote off (`written_off`). An aconto invoice is settled by the settlement invoice of its quarter
 * (same metering point, aconto): from then on that invoice claims the actual consumption and the payments made
 * on the aconto invoice count against it, so the advance is never owed twice. Aggregated in SQL (one row per
 * figure, whatever the number of invoices). Injects the default TypeORM `DataSource` (not `@InjectRepository`),
 * so it loads in Jest, which cannot load `@nestjs/typeorm`.
 */
@Controller('api/customers')
export class CustomerBalanceController {
  constructor(@Inject(DataSource) private readonly db: DataSource) {}

  @Get(':id/balance')
  @RequireAnyScope('balance:read', 'portal:read')
  async balance(@Param('id', new ParseUUIDPipe()) customerId: string, @CurrentPrincipal() principal: Principal): Promise<CustomerBalanceView> {
    const notFound = { type: 'customer-not-found', title: 'No settlement for this customer', status: 404, detail: `No invoices or payments for customer ${customerId}` };
    // A portal customer reads their own balance only; asking for another answers like an unknown customer.
    assertCustomerAccess(principal, customerId, notFound);
    const rows = (await this.db.query(
      `SELECT
         (SELECT count(*) FROM read_models.settlement_invoices WHERE customer_id = $1)::int AS invoices,
         (SELECT coalesce(sum(total_incl_vat), 0) FROM read_models.settlement_invoices WHERE customer_id = $1)::numeric(18,2)::text AS invoiced,
         (SELECT coalesce(sum(total_incl_vat), 0) FROM read_models.settlement_notes WHERE customer_id = $1)::numeric(18,2)::text AS notes,
         (SELECT count(*) FROM read_models.aconto_invoices WHERE customer_id = $1)::int AS aconto_invoices,
         (SELECT coalesce(sum(a.amount_incl_vat), 0) FROM read_models.aconto_invoices a WHERE a.customer_id = $1
            AND NOT EXISTS (SELECT 1 FROM read_models.settlement_invoices i
                            WHERE i.gsrn = a.gsrn AND i.payment_model = 'aconto' AND i.period_start BETWEEN a.period_start AND a.period_end))::numeric(18,2)::text AS aconto_invoiced,
         (SELECT coalesce(sum(amount), 0) FROM read_models.aconto_payments WHERE customer_id = $1)::numeric(18,2)::text AS aconto_paid,
         (SELECT coalesce(sum(fee), 0) FROM read_models.reminders WHERE customer_id = $1)::numeric(18,2)::text AS reminder_fees,
         (SELECT coalesce(sum(interest), 0) FROM read_models.reminders WHERE customer_id = $1)::numeric(18,2)::text AS interest,
         (SELECT count(*) FROM read_models.payments WHERE customer_id = $1 AND status = 'matched')::int AS payments,
         (SELECT coalesce(sum(amount), 0) FROM read_models.payments WHERE customer_id = $1 AND status = 'matched')::numeric(18,2)::text AS paid,
         (SELECT coalesce(sum(amount), 0) FROM read_models.collection_write_offs WHERE customer_id = $1)::numeric(18,2)::text AS written_off`,
      [customerId],
    )) as { invoices: number; invoiced: string; notes: string; aconto_invoices: number; aconto_invoiced: string; aconto_paid: string; reminder_fees: string; interest: string; payments: number; paid: string; written_off: string }[];
    const r = rows[0]!;
    if (r.invoices === 0 && r.aconto_invoices === 0 && r.payments === 0 && Money.parse(r.aconto_paid).isZero() && Money.parse(r.notes).isZero()) throw new ProblemException(notFound);
    const [invoiced, notes, acontoInvoiced, acontoPaid, fees, interest, paid, writtenOff] = [r.invoiced, r.notes, r.aconto_invoiced, r.aconto_paid, r.reminder_fees, r.interest, r.paid, r.written_off].map((v) => Money.parse(v)) as [
      Money,
      Money,
      Money,
      Money,
      Money,
      Money,
      Money,
      Money,
    ];
    return {
      customer_id: customerId,
      invoiced: invoiced.format(),
      notes: notes.format(),
      aconto_invoiced: acontoInvoiced.format(),
      aconto_paid: acontoPaid.format(),
      reminder_fees: fees.format(),
      interest: interest.format(),
      paid: paid.format(),
      written_off: writtenOff.format(),
      balance: invoiced.add(notes).add(acontoInvoiced).add(fees).add(interest).sub(acontoPaid).sub(paid).sub(writtenOff).format(),
      invoices: r.invoices,
      aconto_invoices: r.aconto_invoices,
    };
  }

  /** The reminders sent to the customer (`reminder.sent`), newest first: ERP, staff (back office) and the customer's own portal. */
  @Get(':id/reminders')
  @RequireAnyScope('payments:read', 'balance:read', 'staff:read', 'portal:read')
  async reminders(@Param('id', new ParseUUIDPipe()) customerId: string, @CurrentPrincipal() principal: Principal): Promise<{ customer_id: string; reminders: ReminderView[] }> {
    assertCustomerAccess(principal, customerId, { type: 'customer-not-found', title: 'Customer not found', status: 404, detail: `No customer ${customerId}` });
    const rows = (await this.db.query(
      `SELECT reminder_id::text, invoice_id::text, invoice_kind, number, sent_on, due_date, deadline, principal::text, fee::text, interest::text, interest_from, interest_through,
              annual_interest_rates, amount_due::text, payment_reference, warns_of_collection
       FROM read_models.reminders WHERE customer_id = $1 ORDER BY sent_on DESC, invoice_id, number DESC`,
      [customerId],
    )) as (Omit<ReminderView, 'annual_interest_rates_percent'> & { annual_interest_rates: string[] })[];
    return {
      customer_id: customerId,
      reminders: rows.map(({ annual_interest_rates, ...r }) => ({
        ...r,
        principal: Money.parse(r.principal).format(),
        fee: Money.parse(r.fee).format(),
        interest: Money.parse(r.interest).format(),
        amount_due: Money.parse(r.amount_due).format(),
        annual_interest_rates_percent: annual_interest_rates,
      })),
    };
  }
}
