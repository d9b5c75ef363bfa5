import { Controller, Get, HttpCode, Param, Post, Query, type PipeTransform } from '@nestjs/common';
import { ProblemException } from '@dh/platform';
import { RequireScopes, CurrentPrincipal, type Principal } from '@dh/auth';
import { CommandGateway } from '../commands/command-gateway';

/** Quarantine ids are positive integers (bigserial); anything else is refused before a command is sent. */
class QuarantineIdPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    if (!/^[1-9][0-9]{0,15}$/.test(value)) throw new ProblemException({ type: 'validation', title: 'Path parameter is invalid', status: 400, detail: 'id must be a positive integer' });
    return Number(value);
  }
}

/** Backoffice: DataHub messages that did not parse, kept with their raw body, and their reprocessing. */
@Controller('api/staff/quarantine')
export class QuarantineController {
  constructor(private readonly commands: CommandGateway) {}

  @Get()
  @RequireScopes('staff:read')
  list(@Query('status') status?: string) {
    return this.commands.send('datahub-integration', 'ListQuarantine', { status: status ?? 'quarantined' });
  }

  @Post(':id/reprocess')
  @HttpCode(200)
  @RequireScopes('staff:write')
  reprocess(@Param('id', new QuarantineIdPipe()) id: number, @CurrentPrincipal() principal: Principal) {
    return this.commands.send('datahub-integration', 'ReprocessQuarantined', { id }, `staff:${principal.id}`);
  }
}
