import { Body, Controller, Get, HttpCode, Inject, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { IsInt, IsISO8601, Min } from 'class-validator';
import { AuditPersonalDataRead, CurrentPrincipal, RequireScopes, type Principal } from '@dh/auth';
import { DisputeDesk, DisputeDeskError, MAX_PAGE, STREAM_KINDS, type EventTrace, type StreamDiff, type StreamEvents, type StreamState } from '@dh/dispute-desk';
import { ProblemException } from '@dh/platform';
import { CommandGateway } from '../commands/command-gateway';
import { instantParam, intParam, patternParam, requiredInstantParam } from '../staff/query-params';

export const DISPUTE_DESK = Symbol('DISPUTE_DESK');

/** Applies a recomputation dry run: its `as_of` and `based_on_revision`, as the dry run answered them. */
export class ApplyRecomputationDto {
  @IsISO8601({ strict: true })
  as_of!: string;

  @IsInt()
  @Min(0)
  based_on_revision!: number;
}

const STATUS: Record<DisputeDeskError['code'], number> = { 'stream-not-found': 404, 'event-not-found': 404, 'invalid-request': 400, 'not-supported': 501 };

async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DisputeDeskError) {
      throw new ProblemException({ type: error.code === 'invalid-request' ? 'validation' : error.code, title: 'Dispute desk', status: STATUS[error.code], detail: error.message });
    }
    throw error;
  }
}

/**
 * The dispute desk for support staff: any stream's events (recorded time, causation, correlation), its
 * state as of a moment, the difference between two moments, an event's causation chain, and an invoice
 * explained line by line. Staff only; every view needs `X-Access-Reason` and is written to the audit log.
 */
@Controller('api/staff')
export class DisputeDeskController {
  constructor(
    @Inject(DISPUTE_DESK) private readonly desk: DisputeDesk,
    private readonly commands: CommandGateway,
  ) {}

  @Get('stream-kinds')
  @RequireScopes('staff:read')
  kinds(): { kinds: { kind: string; prefix: string; description: string }[] } {
    return { kinds: STREAM_KINDS.map(({ kind, prefix, description }) => ({ kind, prefix, description })) };
  }

  @Get('streams/:streamId/events')
  @RequireScopes('staff:read')
  @AuditPersonalDataRead('stream', { idParam: 'streamId', action: 'stream.events' })
  events(@Param('streamId') streamId: string, @Query('as_of') asOf?: string, @Query('from_revision') fromRevision?: string, @Query('limit') limit?: string): Promise<StreamEvents> {
    const options = { asOf: instantParam('as_of', asOf), fromRevision: intParam('from_revision', fromRevision, 0, Number.MAX_SAFE_INTEGER), limit: intParam('limit', limit, 1, MAX_PAGE) };
    return answer(() =>
      this.desk.events(streamId, {
        ...(options.asOf ? { asOf: options.asOf } : {}),
        ...(options.fromRevision !== undefined ? { fromRevision: options.fromRevision } : {}),
        ...(options.limit !== undefined ? { limit: options.limit } : {}),
      }),
    );
  }

  @Get('streams/:streamId/state')
  @RequireScopes('staff:read')
  @AuditPersonalDataRead('stream', { idParam: 'streamId', action: 'stream.state' })
  state(@Param('streamId') streamId: string, @Query('as_of') asOf?: string): Promise<StreamState> {
    const at = instantParam('as_of', asOf);
    return answer(() => this.desk.stateAt(streamId, at));
  }

  @Get('streams/:streamId/diff')
  @RequireScopes('staff:read')
  @AuditPersonalDataRead('stream', { idParam: 'streamId', action: 'stream.diff' })
  diff(@Param('streamId') streamId: string, @Query('from') from?: string, @Query('to') to?: string): Promise<StreamDiff> {
    const a = requiredInstantParam('from', from);
    const b = instantParam('to', to) ?? new Date();
    return answer(() => this.desk.diff(streamId, a, b));
  }

  @Get('events/:eventId')
  @RequireScopes('staff:read')
  @AuditPersonalDataRead('event', { idParam: 'eventId', action: 'event.trace' })
  trace(@Param('eventId', new ParseUUIDPipe()) eventId: string): Promise<EventTrace> {
    return answer(() => this.desk.trace(eventId));
  }

  /** As issued beside as computed now, the notes that bridge them, each line traced to its inputs (settlement answers). */
  @Get('invoices/:invoiceId/explanation')
  @RequireScopes('staff:read')
  @AuditPersonalDataRead('invoice', { idParam: 'invoiceId', action: 'invoice.explain' })
  explain(@Param('invoiceId', new ParseUUIDPipe()) invoiceId: string): Promise<unknown> {
    return this.commands.send('settlement', 'ExplainInvoice', { invoiceId });
  }

  /** Dry run: the correction note a recomputation at `as_of` (default now) would issue, and the revision it is based on. Appends nothing. */
  @Get('invoices/:invoiceId/recomputation')
  @RequireScopes('staff:read')
  @AuditPersonalDataRead('invoice', { idParam: 'invoiceId', action: 'invoice.recompute' })
  recompute(@Param('invoiceId', new ParseUUIDPipe()) invoiceId: string, @Query('as_of') asOf?: string): Promise<unknown> {
    const at = instantParam('as_of', asOf);
    return this.commands.send('settlement', 'RecomputeInvoice', { invoiceId, ...(at ? { asOf: at.toISOString() } : {}) });
  }

  /** Dry runs of a customer's invoices and/or a period's, a page at a time (`after` = the last invoice id of the previous page). */
  @Get('recomputations')
  @RequireScopes('staff:read')
  @AuditPersonalDataRead('invoices', { idQuery: 'customer_id', action: 'invoice.recompute.many' })
  recomputeMany(@Query('customer_id') customerId?: string, @Query('period') period?: string, @Query('as_of') asOf?: string, @Query('after') after?: string, @Query('limit') limit?: string): Promise<unknown> {
    const customer = patternParam('customer_id', customerId, /^[A-Za-z0-9._:-]{1,100}$/, 'a customer id');
    const label = patternParam('period', period, /^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$/, 'a period label (2026-10 or 2026-Q4)');
    if (customer === undefined && label === undefined) throw new ProblemException({ type: 'validation', title: 'Validation failed', status: 400, detail: 'name customer_id, period or both' });
    const from = patternParam('after', after, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'an invoice id');
    const at = instantParam('as_of', asOf);
    const n = intParam('limit', limit, 1, 100);
    return this.commands.send('settlement', 'RecomputeInvoices', {
      ...(customer ? { customerId: customer } : {}),
      ...(label ? { period: label } : {}),
      ...(from ? { after: from } : {}),
      ...(at ? { asOf: at.toISOString() } : {}),
      ...(n !== undefined ? { limit: n } : {}),
    });
  }

  /** Applies a dry run: settlement issues exactly its note, once (`settlement.correction`, cause `recompute`); 409 when the invoice moved on. */
  @Post('invoices/:invoiceId/recomputation/apply')
  @HttpCode(200)
  @RequireScopes('staff:write')
  @AuditPersonalDataRead('invoice', { idParam: 'invoiceId', action: 'invoice.recompute.apply' })
  applyRecomputation(@Param('invoiceId', new ParseUUIDPipe()) invoiceId: string, @Body() body: ApplyRecomputationDto, @CurrentPrincipal() principal: Principal): Promise<unknown> {
    return this.commands.send('settlement', 'ApplyInvoiceRecomputation', { invoiceId, asOf: body.as_of, basedOnRevision: body.based_on_revision }, `${principal.kind}:${principal.id}`);
  }
}
