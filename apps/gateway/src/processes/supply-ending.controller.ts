import { Body, Controller, Headers, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { assertCustomerAccess, CurrentPrincipal, RequireScopes, type Principal } from '@dh/auth';
import type { ProblemDetails } from '@dh/platform';
import { CommandGateway } from '../commands/command-gateway';
import { callerIdempotencyKey } from '../idempotency/caller-key';
import { EndOfSupplyDto, MoveOutDto } from './supply-ending.dto';

const customerNotFound = (id: string): ProblemDetails => ({ type: 'customer-not-found', title: 'Customer not found', status: 404, detail: `No customer with id ${id}` });

/** CRM: ending a customer's supply on a metering point (BRS-010 move-out, BRS-002 end of supply). */
@Controller('api/customers')
export class SupplyEndingController {
  constructor(private readonly commands: CommandGateway) {}

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
