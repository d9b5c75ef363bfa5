import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req } from '@nestjs/common';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { AuditLog, RequireScopes, type AuthenticatedRequest } from '@dh/auth';
import { DeadLetterError, DeadLetterQueues, type DeadLetterQueueInfo, type DeadLetterView } from '@dh/messaging';
import { maskPersonalData, ProblemException } from '@dh/platform';
import { intParam, patternParam } from '../staff/query-params';

export const OPS_POOL = Symbol('OPS_POOL');
export const DEAD_LETTERS = Symbol('DEAD_LETTERS');

const QUEUE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const MESSAGE_ID = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,199}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class ReplayDto {
  @IsOptional()
  @IsString()
  @MaxLength(500)
  reason?: string;
}

export class DiscardDto {
  @IsString()
  @MinLength(3, { message: 'reason must say why the message is discarded (3-500 characters)' })
  @MaxLength(500)
  reason!: string;
}

const notFound = (detail: string) => new ProblemException({ type: 'not-found', title: 'Not found', status: 404, detail });

function checkQueue(queue: string): void {
  if (!QUEUE.test(queue)) throw notFound(`No consumer queue ${queue.slice(0, 60)}`);
}

function checkMessage(id: string): void {
  if (!MESSAGE_ID.test(id)) throw notFound(`No message ${id.slice(0, 60)}`);
}

async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DeadLetterError) throw new ProblemException({ type: error.code, title: 'Dead letters', status: 404, detail: error.message });
    throw error;
  }
}

/** A DLQ message for the screen: CPR numbers and e-mail addresses in the body masked (events carry personal data only sealed). */
const masked = <T extends DeadLetterView>(m: T): T => ({ ...m, body: maskPersonalData(m.body) });

/**
 * Operations for staff: dead-letter queues (list, look, replay, discard with reason, every change
 * audited), halted settlement items with their reason, and settlement runs in progress (the
 * settlement read models; the run-progress model may change, the shape here stays small).
 */
@Controller('api/staff/ops')
export class OpsController {
  constructor(
    @Inject(DEAD_LETTERS) private readonly deadLetters: DeadLetterQueues,
    @Inject(OPS_POOL) private readonly pool: Pool,
    @Inject(AuditLog) private readonly audit: AuditLog,
  ) {}

  @Get('dead-letters')
  @RequireScopes('staff:read')
  async queues(): Promise<{ queues: DeadLetterQueueInfo[] }> {
    return { queues: await this.deadLetters.list() };
  }

  @Get('dead-letters/:queue/messages')
  @RequireScopes('staff:read')
  async messages(@Param('queue') queue: string, @Query('limit') limit?: string): Promise<{ queue: string; messages: DeadLetterView[] }> {
    checkQueue(queue);
    const n = intParam('limit', limit, 1, 200) ?? 50;
    return { queue, messages: (await answer(() => this.deadLetters.peek(queue, n))).map(masked) };
  }

  @Get('dead-letters/:queue/discarded')
  @RequireScopes('staff:read')
  async discarded(@Param('queue') queue: string) {
    checkQueue(queue);
    return { queue, messages: (await answer(() => this.deadLetters.discarded(queue))).map(masked) };
  }

  @Post('dead-letters/:queue/messages/:id/replay')
  @HttpCode(200)
  @RequireScopes('staff:write')
  async replay(@Param('queue') queue: string, @Param('id') id: string, @Body() body: ReplayDto, @Req() request: AuthenticatedRequest) {
    checkQueue(queue);
    checkMessage(id);
    return this.audited(request, 'dead-letter.replay', `${queue}/${id}`, body.reason ?? null, async () => masked(await this.deadLetters.replay(queue, id, `staff:${request.principal!.id}`)));
  }

  @Post('dead-letters/:queue/messages/:id/discard')
  @HttpCode(200)
  @RequireScopes('staff:write')
  async discard(@Param('queue') queue: string, @Param('id') id: string, @Body() body: DiscardDto, @Req() request: AuthenticatedRequest) {
    checkQueue(queue);
    checkMessage(id);
    return this.audited(request, 'dead-letter.discard', `${queue}/${id}`, body.reason, async () => masked(await this.deadLetters.discard(queue, id, body.reason, `staff:${request.principal!.id}`)));
  }

  /** Metering points a settlement run could not settle, with the reason and its detail, newest first. */
  @Get('settlement-halts')
  @RequireScopes('staff:read')
  async halts(@Query('run_id') runId?: string, @Query('period') period?: string, @Query('limit') limit?: string) {
    const run = patternParam('run_id', runId, UUID, 'a UUID');
    const label = patternParam('period', period, /^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$/, 'a period label (2026-10 or 2026-Q4)');
    const n = intParam('limit', limit, 1, 500) ?? 100;
    const { rows } = await this.pool.query<{ event_id: string; run_id: string | null; gsrn: string; period: string; reason: string; detail: unknown; halted_at: Date }>(
      `SELECT event_id, run_id, gsrn, period, reason, detail, halted_at FROM read_models.settlement_halts
        WHERE ($1::uuid IS NULL OR run_id = $1::uuid) AND ($2::text IS NULL OR period = $2) ORDER BY halted_at DESC, event_id LIMIT $3`,
      [run ?? null, label ?? null, n],
    );
    return { halts: rows.map((r) => ({ ...r, halted_at: r.halted_at.toISOString() })) };
  }

  /** Settlement runs: in progress by default (`status=all` for the latest 50 of any status). */
  @Get('settlement-runs')
  @RequireScopes('staff:read')
  async runs(@Query('status') status?: string) {
    const which = patternParam('status', status, /^(running|all)$/, 'running or all') ?? 'running';
    const { rows } = await this.pool.query<{ run_id: string; period: string; status: string; items_total: number; items_done: number; items_invoiced: number; items_halted: number; started_at: Date; completed_at: Date | null }>(
      `SELECT run_id, period, status, items_total, items_done, items_invoiced, items_halted, started_at, completed_at FROM read_models.settlement_runs
        WHERE ($1 = 'all' OR status = 'running') ORDER BY started_at DESC LIMIT 50`,
      [which],
    );
    return {
      runs: rows.map((r) => ({
        ...r,
        started_at: r.started_at.toISOString(),
        completed_at: r.completed_at?.toISOString() ?? null,
        // A batched run knows its total once scheduled (items_total 0 before): 0 until then, 1 when completed empty.
        progress: r.items_total === 0 ? (r.completed_at === null ? 0 : 1) : Math.round((r.items_done / r.items_total) * 1000) / 1000,
      })),
    };
  }

  private async audited<T>(request: AuthenticatedRequest, action: string, subjectId: string, purpose: string | null, work: () => Promise<T>): Promise<T> {
    const entry = { actor: request.principal!, action, subjectType: 'dead-letter', subjectId, purpose, requestId: request.header('x-request-id') ?? randomUUID() };
    try {
      const result = await answer(work);
      await this.audit.record({ ...entry, outcome: 'success', status: 200 });
      return result;
    } catch (error) {
      const status = error instanceof ProblemException ? error.getStatus() : 500;
      await this.audit.record({ ...entry, outcome: status === 404 ? 'not-found' : 'error', status }).catch(() => undefined);
      throw error;
    }
  }
}
