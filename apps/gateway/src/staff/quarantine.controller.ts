import { Controller, Get, HttpCode, Param, ParseIntPipe, Post, Query } from '@nestjs/common';
import { RequireScopes, CurrentPrincipal, type Principal } from '@dh/auth';
import { CommandGateway } from '../commands/command-gateway';

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
  reprocess(@Param('id', new ParseIntPipe()) id: number, @CurrentPrincipal() principal: Principal) {
    return this.commands.send('datahub-integration', 'ReprocessQuarantined', { id }, `staff:${principal.id}`);
  }
}
