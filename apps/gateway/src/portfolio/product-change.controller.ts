import { Body, Controller, Headers, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { assertCustomerAccess, AuditPersonalDataRead, CurrentPrincipal, RequireScopes, type Principal } from '@dh/auth';
import { isValidGsrn } from '@dh/market-ids';
import { ProblemException, type ProblemDetails } from '@dh/platform';
import { CUSTOMERS_TABLE, SUPPLY_PERIODS_TABLE } from '@dh/read-models';
import { CommandGateway } from '../commands/command-gateway';
import { GSRN_MESSAGE } from '../customers/create-customer.dto';
import { OnboardingService } from '../customers/onboarding.service';
import { callerIdempotencyKey } from '../idempotency/caller-key';
import { ProductChangeDto } from './product-change.dto';

const customerNotFound = (id: string): ProblemDetails => ({ type: 'customer-not-found', title: 'Customer not found', status: 404, detail: `No customer with id ${id}` });

export interface ProductChangeView {
  customer_id: string;
  gsrn: string;
  product_id: string;
  effective_date: string;
  /** False when the same change was recorded before (nothing appended). */
  changed: boolean;
}

/**
 * CRM (or an admin): a customer's supply on a metering point changes product from a day (`ChangeProduct` to portfolio,
 * `ProductChanged`). Settlement prices the supplied days from then with the new product and corrects the invoices
 * already issued for them; the supply periods at `GET /api/customers/{id}/metering-points` show the change.
 */
@Controller('api/customers')
export class ProductChangeController {
  constructor(
    private readonly commands: CommandGateway,
    private readonly onboarding: OnboardingService,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  @Post(':id/metering-points/:gsrn/product-changes')
  @HttpCode(200)
  @RequireScopes('customers:write')
  @AuditPersonalDataRead('customer', { action: 'customer.change-product' })
  async changeProduct(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('gsrn') gsrn: string,
    @Body() body: ProductChangeDto,
    @CurrentPrincipal() principal: Principal,
    @Headers('idempotency-key') key?: string,
  ): Promise<ProductChangeView> {
    assertCustomerAccess(principal, id, customerNotFound(id));
    if (!isValidGsrn(gsrn)) throw new ProblemException({ type: 'validation', title: 'Invalid GSRN', status: 400, errors: [{ field: 'gsrn', messages: [GSRN_MESSAGE] }] });
    const known: { n: number }[] = await this.db.query(`SELECT count(*)::int AS n FROM ${CUSTOMERS_TABLE} WHERE customer_id = $1`, [id]);
    if ((known[0]?.n ?? 0) === 0) throw new ProblemException(customerNotFound(id));
    // The customer's supplies on the point (read model): none at all is another customer's point, or none of ours.
    const supplies: { billing_frequency: string | null; covers: boolean }[] = await this.db.query(
      `SELECT billing_frequency, (start_date <= $3::date AND (end_date IS NULL OR end_date > $3::date)) AS covers
         FROM ${SUPPLY_PERIODS_TABLE} WHERE customer_id = $1 AND gsrn = $2 AND status <> 'reversed' ORDER BY start_date`,
      [id, gsrn, body.effective_date],
    );
    if (supplies.length === 0) {
      throw new ProblemException({ type: 'supply-not-found', title: 'Supply not found', status: 404, detail: `Customer ${id} has no supply of ours on metering point ${gsrn}` });
    }
    // In the catalogue, offered with the supply's billing frequency and on sale on the day (when the read model has the supply on that day).
    const frequency = supplies.find((s) => s.covers)?.billing_frequency ?? null;
    await this.onboarding.assertProductExists(body.product_id, frequency === null ? undefined : { billingFrequency: frequency, startDate: body.effective_date });
    const idempotencyKey = callerIdempotencyKey(principal, key);
    // Portfolio decides on its own state: a supply of this customer must run on the day (`no-supply` otherwise).
    const result = await this.commands.send<{ gsrn: string; changed: boolean }>(
      'portfolio',
      'ChangeProduct',
      { gsrn, productId: body.product_id, from: body.effective_date, customerId: id, ...(idempotencyKey ? { idempotencyKey } : {}) },
      `${principal.kind}:${principal.id}`,
    );
    return { customer_id: id, gsrn, product_id: body.product_id, effective_date: body.effective_date, changed: result.changed };
  }
}
