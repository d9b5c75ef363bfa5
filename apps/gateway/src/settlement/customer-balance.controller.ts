import { Controller, Get, Inject, Param } from '@nestjs/common';
import { DataSource, type Repository } from 'typeorm';
import { CurrentPrincipal, RequireAnyScope, assertCustomerAccess, type Principal } from '@dh/auth';
import { Money } from '@dh/money';
import { AcontoPaymentReadModel, PaymentReadModel, SettlementInvoiceReadModel, SettlementNoteReadModel } from '@dh/read-models';
import { ProblemException } from '@dh/platform';

/**
 * `GET /api/customers/{id}/balance`: Σ invoices + Σ credit/debit notes − Σ aconto payments − Σ payments
 * matched to the customer's invoices (`payment.received`), incl. VAT. Injects the default TypeORM
 * `DataSource` (not `@InjectRepository`), so it loads in Jest, which cannot load `@nestjs/typeorm`.
 */
@Controller('api/customers')
export class CustomerBalanceController {
  private readonly invoices: Repository<SettlementInvoiceReadModel>;
  private readonly notes: Repository<SettlementNoteReadModel>;
  private readonly acontoPayments: Repository<AcontoPaymentReadModel>;
  private readonly payments: Repository<PaymentReadModel>;

  constructor(@Inject(DataSource) db: DataSource) {
    this.invoices = db.getRepository(SettlementInvoiceReadModel);
    this.notes = db.getRepository(SettlementNoteReadModel);
    this.acontoPayments = db.getRepository(AcontoPaymentReadModel);
    this.payments = db.getRepository(PaymentReadModel);
  }

  @Get(':id/balance')
  @RequireAnyScope('balance:read', 'portal:read')
  async balance(
    @Param('id') customerId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ customer_id: string; invoiced: string; notes: string; aconto_paid: string; paid: string; balance: string; invoices: number }> {
    const notFound = { type: 'customer-not-found', title: 'No settlement for this customer', status: 404, detail: `No invoices or payments for customer ${customerId}` };
    // A portal customer reads their own balance only; asking for another answers like an unknown customer.
    assertCustomerAccess(principal, customerId, notFound);
    const invoices = await this.invoices.findBy({ customerId });
    const notes = await this.notes.findBy({ customerId });
    const acontoPayments = await this.acontoPayments.findBy({ customerId });
    // Payments matched to the customer's invoices; unmatched ones belong to nobody yet.
    const payments = await this.payments.findBy({ customerId, status: 'matched' });
    if (invoices.length === 0 && notes.length === 0 && acontoPayments.length === 0 && payments.length === 0) {
      throw new ProblemException(notFound);
    }
    const invoiced = Money.sum(invoices.map((i) => Money.parse(i.totalInclVat)));
    const noted = Money.sum(notes.map((n) => Money.parse(n.totalInclVat)));
    const acontoPaid = Money.sum(acontoPayments.map((p) => Money.parse(p.amount)));
    const paid = Money.sum(payments.map((p) => Money.parse(p.amount)));
    return {
      customer_id: customerId,
      invoiced: invoiced.format(),
      notes: noted.format(),
      aconto_paid: acontoPaid.format(),
      paid: paid.format(),
      balance: invoiced.add(noted).sub(acontoPaid).sub(paid).format(),
      invoices: invoices.length,
    };
  }
}
