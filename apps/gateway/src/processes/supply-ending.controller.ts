import { Body, Controller, Headers, HttpCode, Inject, Optional, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { localDateOf } from '@dh/dk-time';
import { assertCustomerAccess, CurrentPrincipal, RequireScopes, type Principal } from '@dh/auth';
import { ProblemException, type ProblemDetails } from '@dh/platform';
import { PORTAL_CLOCK, type PortalClock } from '../portal/portal-access';
import { CommandGateway } from '../commands/command-gateway';
import { callerIdempotencyKey } from '../idempotency/caller-key';
import { EndOfSupplyDto, MoveOutDto } from './supply-ending.dto';

const customerNotFound = (id: string): ProblemDetails => ({ type: 'customer-not-found', title: 'Customer not found', status: 404, detail: `No customer with id ${id}` });

/** CRM: ending a customer's supply on a metering point (BRS-010 move-out, BRS-002 end of supply). */
@Controller('api/customers')
export class SupplyEndingController {
  constructor(
    private readonly commands: CommandGateway,
    @Optional() @Inject(DataSource) private readonly db: DataSource | null = null,
    @Optional() @Inject(PORTAL_CLOCK) private readonly clock: PortalClock | null = null,
  ) {}

  /**
   * BRS-002 for non-payment only after the legally required reminders (renteloven § 9 b; mission: "before initiating
   * BRS-002, the customer must have received the legally required reminders"): the customer has a claim whose last
   * reminder — the one warning that collection and further steps follow — was sent and whose deadline has passed.
   */
  private async assertRemindersSent(customerId: string): Promise<void> {
    if (this.db === null || this.clock === null) throw new ProblemException({ type: 'reminders-unknown', title: 'Reminders cannot be checked', status: 503, detail: 'This gateway cannot read the reminders read model' });
    const today = localDateOf(this.clock.now());
    const rows = (await this.db.query(`SELECT 1 FROM read_models.reminders WHERE customer_id = $1 AND warns_of_collection AND deadline < $2 LIMIT 1`, [customerId, today])) as unknown[];
    if (rows.length === 0) {
      throw new ProblemException({
        type: 'reminders-not-sent',
        title: 'End of supply for non-payment needs the reminders first',
        status: 409,
        detail: `Customer ${customerId} has no claim whose last reminder (warning of further steps) was sent with its deadline passed before ${today}`,
      });
    }
  }

  /** BRS-010 move-out (RSM-005, E66): on the date the supply ends and `customer.offboarded` (reason move-out) follows. */
  @Post(':id/move-out')
  @HttpCode(202)
  @RequireScopes('processes:write')
  async moveOut(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: MoveOutDto, @CurrentPrincipal() principal: Principal, @Headers('idempotency-key') key?: string) {
    assertCustomerAccess(principal, id, customerNotFound(id));
    const idempotencyKey = callerIdempotencyKey(principal, key);
    const result = await this.commands.send<{ processId: string }>('portfolio', 'RequestMoveOut', {
      customerId: id,
      gsrn: body.gsrn,
      effectiveDate: body.effective_date,
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });
    return { process_id: result.processId, gsrn: body.gsrn };
  }

  /** BRS-002 end of supply (RSM-005, E20), e.g. after non-payment; cancel it with `POST /api/processes/{id}/cancel` (reason customer-paid). */
  @Post(':id/end-of-supply')
  @HttpCode(202)
  @RequireScopes('processes:write')
  async endOfSupply(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: EndOfSupplyDto, @CurrentPrincipal() principal: Principal, @Headers('idempotency-key') key?: string) {
    assertCustomerAccess(principal, id, customerNotFound(id));
    if (body.reason === 'non-payment') await this.assertRemindersSent(id);
    const idempotencyKey = callerIdempotencyKey(principal, key);
    const result = await this.commands.send<{ processId: string }>('portfolio', 'RequestEndOfSupply', {
      customerId: id,
      gsrn: body.gsrn,
      effectiveDate: body.effective_date,
      endReason: body.reason,
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });
    return { process_id: result.processId, gsrn: body.gsrn };
  }
}
