import { Controller, Get, Query, Req } from '@nestjs/common';
import { AuditLog, RequireScopes, type AuditEntry, type AuditOutcome, type AuthenticatedRequest } from '@dh/auth';
import { ProblemException } from '@dh/platform';
import { instantParam, intParam, patternParam } from '../staff/query-params';

const IDENTIFIER = /^[a-z][a-z0-9_.:-]{0,63}$/;
const OUTCOMES: readonly AuditOutcome[] = ['success', 'refused', 'not-found', 'error'];

export interface AuditEntryView {
  id: string;
  at: string;
  actor_id: string;
  actor_kind: string;
  actor_roles: string[];
  action: string;
  subject_type: string;
  subject_id: string | null;
  reason: string | null;
  request_id: string | null;
  outcome: string;
  status: number | null;
}

const view = (e: AuditEntry): AuditEntryView => ({
  id: e.id,
  at: e.at.toISOString(),
  actor_id: e.actorId,
  actor_kind: e.actorKind,
  actor_roles: e.actorRoles,
  action: e.action,
  subject_type: e.subjectType,
  subject_id: e.subjectId,
  reason: e.purpose,
  request_id: e.requestId,
  outcome: e.outcome,
  status: e.status,
});

/**
 * The audit log for auditors and the data protection officer (`audit:read`, admin only by default):
 * who read or changed what, when, why and how it ended, newest first. Reading the log is itself recorded
 * (`audit.read`), with the filter as the subject.
 */
@Controller('api/staff/audit')
export class AuditLogController {
  constructor(private readonly audit: AuditLog) {}

  @Get()
  @RequireScopes('audit:read')
  async list(
    @Req() request: AuthenticatedRequest,
    @Query('actor_id') actorId?: string,
    @Query('action') action?: string,
    @Query('subject_type') subjectType?: string,
    @Query('subject_id') subjectId?: string,
    @Query('outcome') outcome?: string,
    @Query('from') from?: string,
    @Query('to') to?: string,
    @Query('limit') limit?: string,
  ): Promise<{ entries: AuditEntryView[] }> {
    if (outcome !== undefined && !OUTCOMES.includes(outcome as AuditOutcome)) {
      throw new ProblemException({ type: 'validation', title: 'Invalid query', status: 400, detail: `outcome must be one of ${OUTCOMES.join(', ')}` });
    }
    const filter = {
      ...(actorId ? { actorId } : {}),
      ...(patternParam('action', action, IDENTIFIER, 'a lower-case identifier') ? { action } : {}),
      ...(patternParam('subject_type', subjectType, IDENTIFIER, 'a lower-case identifier') ? { subjectType } : {}),
      ...(subjectId ? { subjectId } : {}),
      ...(outcome ? { outcome: outcome as AuditOutcome } : {}),
      ...(instantParam('from', from) ? { from: instantParam('from', from) } : {}),
      ...(instantParam('to', to) ? { to: instantParam('to', to) } : {}),
      limit: intParam('limit', limit, 1, 1000) ?? 100,
      newestFirst: true,
    };
    const entries = await this.audit.query(filter);
    const principal = request.principal!;
    await this.audit.record({
      actor: principal,
      action: 'audit.read',
      subjectType: 'audit-log',
      subjectId: subjectId ?? actorId ?? null,
      purpose: request.header('x-access-reason') ?? null,
      requestId: request.header('x-request-id') ?? null,
      outcome: 'success',
      status: 200,
    });
    return { entries: entries.map(view) };
  }
}
