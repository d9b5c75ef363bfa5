import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { DataSource, type Repository } from 'typeorm';
import { CurrentPrincipal, RequireAnyScope, RequireScopes, type Principal } from '@dh/auth';
import { Money } from '@dh/money';
import { ProblemException } from '@dh/platform';
import { PaymentReadModel } from '@dh/read-models';
import { PAYMENT_ID_PATTERN } from '@dh/settlement-application';
import { CommandGateway } from '../commands/command-gateway';
import { MatchPaymentDto, RecordPaymentDto } from './payments.dto';

export interface RecordedPaymentView {
  payment_id: string;
  status: 'matched' | 'unmatched';
  invoice_id: string | null;
  customer_id: string | null;
  /** Why it is unmatched: `malformed-reference`, `unknown-invoice`, `ambiguous-reference`; null when matched. */
  unmatched_reason: string | null;
  /** true when this payment id was recorded before: nothing new was appended or published. */
  already_recorded: boolean;
}

export interface UnmatchedPaymentView {
  payment_id: string;
  reference: string | null;
  amount: string;
  paid_at: string;
  method: string;
  reason: string | null;
  recorded_at: string;
}

const actorOf = (principal: Principal): string => `${principal.kind}:${principal.id}`;

/**
 * The payment service's API: payment confirmations (`payment.received` follows once per payment
 * id), and the unmatched payments staff resolve. Idempotency-Key is honoured (interceptor); the
 * provider's payment id makes a resend harmless without it too.
 */
@Controller('api/payments')
export class PaymentsController {
  private readonly payments: Repository<PaymentReadModel>;

  /** The default TypeORM `DataSource` (not `@InjectRepository`): loadable in Jest, which cannot load `@nestjs/typeorm`. */
  constructor(
    private readonly commands: CommandGateway,
    @Inject(DataSource) db: DataSource,
  ) {
    this.payments = db.getRepository(PaymentReadModel);
  }

  @Post()
  @HttpCode(201)
  @RequireScopes('payments:write')
  async record(@Body() body: RecordPaymentDto, @CurrentPrincipal() principal: Principal): Promise<RecordedPaymentView> {
    const r = await this.commands.send<{ paymentId: string; status: 'matched' | 'unmatched'; invoiceId: string | null; customerId: string | null; reason: string | null; alreadyRecorded: boolean }>(
      'settlement',
      'RecordPayment',
      { paymentId: body.payment_id, reference: body.reference, amount: body.amount, paidAt: body.paid_at, method: body.method },
      actorOf(principal),
    );
    return { payment_id: r.paymentId, status: r.status, invoice_id: r.invoiceId, customer_id: r.customerId, unmatched_reason: r.reason, already_recorded: r.alreadyRecorded };
  }

  /** Payments whose reference matched no invoice, oldest first (staff and ERP). */
  @Get('unmatched')
  @RequireAnyScope('staff:read', 'payments:read')
  async unmatched(): Promise<{ payments: UnmatchedPaymentView[] }> {
    const rows = await this.payments.find({ where: { status: 'unmatched' }, order: { recordedAt: 'ASC', paymentId: 'ASC' } });
    return {
      payments: rows.map((p) => ({
        payment_id: p.paymentId,
        reference: p.reference,
        amount: Money.parse(p.amount).format(),
        paid_at: p.paidAt.toISOString(),
        method: p.method,
        reason: p.unmatchedReason,
        recorded_at: p.recordedAt.toISOString(),
      })),
    };
  }

  /** Staff: match an unmatched payment to an issued invoice → `payment.received`. */
  @Post('unmatched/:id/match')
  @HttpCode(200)
  @RequireScopes('staff:write')
  async match(@Param('id') id: string, @Body() body: MatchPaymentDto, @CurrentPrincipal() principal: Principal): Promise<{ payment_id: string; invoice_id: string; customer_id: string; status: 'matched'; already_matched: boolean }> {
    if (!PAYMENT_ID_PATTERN.test(id)) throw new ProblemException({ type: 'payment-not-found', title: 'Payment not found', status: 404, detail: `No payment ${id}` });
    const r = await this.commands.send<{ paymentId: string; invoiceId: string; customerId: string; alreadyMatched: boolean }>('settlement', 'MatchPayment', { paymentId: id, invoiceId: body.invoice_id }, actorOf(principal));
    return { payment_id: r.paymentId, invoice_id: r.invoiceId, customer_id: r.customerId, status: 'matched', already_matched: r.alreadyMatched };
  }
}
