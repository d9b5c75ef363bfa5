import { Body, Controller, Get, Headers, HttpCode, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { CurrentPrincipal, RequireScopes, type Principal } from '@dh/auth';
import { ProblemException } from '@dh/platform';
import { CommandGateway } from '../commands/command-gateway';
import { ChangeFindingStateDto, RequestDataHubResultsDto, RunReconciliationDto, isGridArea, isPeriod } from './reconciliation.dto';
import { reportCsv, snakeCase } from './reconciliation-report';

type Json = Parameters<typeof snakeCase>[0];

const invalid = (detail: string) => new ProblemException({ type: 'validation', title: 'Invalid query', status: 400, detail });
const staffActor = (principal: Principal) => `staff:${principal.id}`;

/**
 * Wholesale reconciliation for ERP and staff: DataHub's aggregations and wholesale bill (RSM-014/019) against
 * our own recomputation by DataHub's rules and our invoices, per grid area and month; findings with their metering
 * points and state changes with an audit trail; asking DataHub (RSM-016/017). Served by the reconciliation service.
 */
@Controller('api/reconciliation')
export class ReconciliationController {
  constructor(private readonly commands: CommandGateway) {}

  @Get('reports')
  @RequireScopes('reconciliation:read')
  async report(
    @Query('period') period: string | undefined,
    @Query('grid_area') gridArea: string | undefined,
    @Query('format') format: string | undefined,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Json | string> {
    if (!isPeriod(period)) throw invalid('period must be a month YYYY-MM');
    if (!isGridArea(gridArea)) throw invalid('grid_area must be a 3-digit grid area');
    const body = (await this.commands.send('reconciliation', 'GetReconciliationReport', { gridArea, period })) as { [key: string]: Json };
    if (format === 'csv' || (format === undefined && (accept ?? '').includes('text/csv'))) {
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="reconciliation-${gridArea}-${period}.csv"`);
      return reportCsv(body);
    }
    return snakeCase(body);
  }

  @Get('findings')
  @RequireScopes('reconciliation:read')
  async findings(@Query('period') period?: string, @Query('grid_area') gridArea?: string, @Query('state') state?: string): Promise<Json> {
    if (period !== undefined && !isPeriod(period)) throw invalid('period must be a month YYYY-MM');
    if (gridArea !== undefined && !isGridArea(gridArea)) throw invalid('grid_area must be a 3-digit grid area');
    if (state !== undefined && !['open', 'explained', 'resolved'].includes(state)) throw invalid('state must be open, explained or resolved');
    return snakeCase((await this.commands.send('reconciliation', 'ListFindings', { period: period ?? null, gridArea: gridArea ?? null, state: state ?? null })) as Json);
  }

  @Get('findings/:id')
  @RequireScopes('reconciliation:read')
  async finding(@Param('id', new ParseUUIDPipe()) findingId: string): Promise<Json> {
    return snakeCase((await this.commands.send('reconciliation', 'GetFinding', { findingId })) as Json);
  }

  @Post('findings/:id/state')
  @HttpCode(200)
  @RequireScopes('staff:write')
  async changeState(@Param('id', new ParseUUIDPipe()) findingId: string, @Body() body: ChangeFindingStateDto, @CurrentPrincipal() principal: Principal): Promise<Json> {
    return snakeCase((await this.commands.send('reconciliation', 'ChangeFindingState', { findingId, action: body.action, note: body.note ?? '' }, staffActor(principal))) as Json);
  }

  @Post('requests')
  @HttpCode(202)
  @RequireScopes('staff:write')
  async request(@Body() body: RequestDataHubResultsDto, @CurrentPrincipal() principal: Principal): Promise<Json> {
    const payload = {
      kind: body.kind,
      gridArea: body.grid_area,
      period: body.period,
      ...(body.business_reason ? { businessReason: body.business_reason } : {}),
      ...(body.settlement_version ? { settlementVersion: body.settlement_version } : {}),
    };
    return snakeCase((await this.commands.send('reconciliation', 'RequestDataHubResults', payload, staffActor(principal))) as Json);
  }

  @Get('requests')
  @RequireScopes('reconciliation:read')
  async requests(@Query('period') period?: string, @Query('grid_area') gridArea?: string): Promise<Json> {
    if (!isPeriod(period)) throw invalid('period must be a month YYYY-MM');
    if (!isGridArea(gridArea)) throw invalid('grid_area must be a 3-digit grid area');
    return snakeCase((await this.commands.send('reconciliation', 'ListDataHubRequests', { gridArea, period })) as Json);
  }

  @Post('runs')
  @HttpCode(202)
  @RequireScopes('staff:write')
  async run(@Body() body: RunReconciliationDto, @CurrentPrincipal() principal: Principal): Promise<Json> {
    return snakeCase((await this.commands.send('reconciliation', 'RunReconciliation', { gridArea: body.grid_area, period: body.period }, staffActor(principal))) as Json);
  }
}
