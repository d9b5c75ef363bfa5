import { Body, Controller, Get, Headers, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { assertCustomerAccess, CurrentPrincipal, RequireAnyScope, RequireScopes, type Principal } from '@dh/auth';
import { ProcessReadModel, type ProcessHistoryEntry } from '@dh/read-models';
import { ProblemException, type ProblemDetails } from '@dh/platform';
import { asProcessStatus, processOutcomeOf, type ProcessOutcome, type ProcessStatus } from '@dh/portfolio-domain';
import { CommandGateway } from '../commands/command-gateway';
import { CancelProcessDto } from '../customers/create-customer.dto';
import { callerIdempotencyKey } from '../idempotency/caller-key';

export interface ProcessView {
  id: string;
  kind: string | null;
  gsrn: string | null;
  customer_id: string | null;
  effective_date: string | null;
  /** The CRM contract's words: pending until DataHub answers, then accepted, rejected or cancelled. */
  status: ProcessOutcome;
  /** Our finer state (created, requested, pending, active, completed, rejected, cancelled, reversed); `history` uses these. */
  detailed_status: ProcessStatus;
  rejection: { reason_code: string; reason_text: string } | null;
  history: ProcessHistoryEntry[];
  updated_at: string;
}

const processNotFound = (id: string): ProblemDetails => ({ type: 'process-not-found', title: 'Process not found', status: 404, detail: `No DataHub process with id ${id}` });


@Controller('api/processes')
export class ProcessesController {
  constructor(
    private readonly commands: CommandGateway,
    @InjectRepository(ProcessReadModel) private readonly processes: Repository<ProcessReadModel>,
  ) {}

  private async load(id: string, principal: Principal): Promise<ProcessReadModel> {
    const process = await this.processes.findOneBy({ processId: id });
    if (!process) throw new ProblemException(processNotFound(id));
    assertCustomerAccess(principal, process.customerId ?? '', processNotFound(id));
    return process;
  }

  /** CRM process tracker: the status of a DataHub process and its whole history. */
  @Get(':id')
  @RequireAnyScope('processes:write', 'portfolio:read', 'staff:read')
  async get(@Param('id', new ParseUUIDPipe()) id: string, @CurrentPrincipal() principal: Principal): Promise<ProcessView> {
    const p = await this.load(id, principal);
    return {
      id: p.processId,
      kind: p.kind,
      gsrn: p.gsrn,
      customer_id: p.customerId,
      effective_date: p.effectiveDate,
      status: processOutcomeOf(asProcessStatus(p.status)),
      detailed_status: asProcessStatus(p.status),
      rejection: p.rejection ? { reason_code: p.rejection.reasonCode, reason_text: p.rejection.reasonText } : null,
      history: p.history,
      updated_at: p.updatedAt.toISOString(),
    };
  }

  /** Cancel a pending process before its effective date (RSM-002 inside BRS-001/002/009/010). */
  @Post(':id/cancel')
  @HttpCode(202)
  @RequireScopes('processes:write')
  async cancel(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: CancelProcessDto, @CurrentPrincipal() principal: Principal, @Headers('idempotency-key') key?: string) {
    await this.load(id, principal);
    const result = await this.commands.send<{ processId: string; status: string }>('portfolio', 'CancelProcess', {
      processId: id,
      reason: body.reason,
      ...(key ? { idempotencyKey: callerIdempotencyKey(principal, key) } : {}),
    });
    return { process_id: result.processId, status: result.status };
  }

  /**
   * BRS-003 incorrect switch (RSM-003) for a switch that has taken effect: only the latest switch on
   * its metering point, within 180 days. Answers the new BRS-003 process; on DataHub's acceptance the
   * supply is reversed (`SupplyReversed`, credited in full) and `customer.offboarded` (incorrect-switch) follows.
   */
  @Post(':id/incorrect-switch')
  @HttpCode(202)
  @RequireScopes('processes:write')
  async incorrectSwitch(@Param('id', new ParseUUIDPipe()) id: string, @CurrentPrincipal() principal: Principal, @Headers('idempotency-key') key?: string) {
    await this.load(id, principal);
    const result = await this.commands.send<{ processId: string }>('portfolio', 'RequestIncorrectSwitch', {
      processId: id,
      ...(key ? { idempotencyKey: callerIdempotencyKey(principal, key) } : {}),
    });
    return { process_id: result.processId, reversed_process_id: id };
  }
}
