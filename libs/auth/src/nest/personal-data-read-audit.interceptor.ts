import { type CallHandler, type ExecutionContext, HttpException, Inject, Injectable, Logger, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import { randomUUID } from 'node:crypto';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { ProblemException } from '@dh/platform';
import { AuditLog, type AuditOutcome, MAX_PURPOSE_LENGTH } from '../audit/audit-log';
import { type AuthenticatedRequest, PERSONAL_DATA_READ, type PersonalDataReadMetadata } from './metadata';

export const ACCESS_REASON_HEADER = 'x-access-reason';
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function outcomeOf(status: number): AuditOutcome {
  if (status === 404) return 'not-found';
  if (status === 401 || status === 403) return 'refused';
  return status < 400 ? 'success' : 'error';
}

/**
 * Applied by `@AuditPersonalDataRead`. For staff: refuses (400) without `X-Access-Reason`, runs the
 * handler, and writes the audit entry before the answer leaves; if the entry cannot be written the
 * data is not returned (500). Failed reads (404, errors) are recorded too.
 */
@Injectable()
export class PersonalDataReadAuditInterceptor implements NestInterceptor {
  private readonly logger = new Logger('audit');

  constructor(
    private readonly reflector: Reflector,
    @Inject(AuditLog) private readonly audit: AuditLog,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const metadata = this.reflector.getAllAndOverride<PersonalDataReadMetadata | undefined>(PERSONAL_DATA_READ, [context.getHandler(), context.getClass()]);
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const principal = request.principal;
    if (!metadata || principal?.kind !== 'staff') return next.handle();
    return from(this.handle(context, next, metadata, request, principal));
  }

  private async handle(
    context: ExecutionContext,
    next: CallHandler,
    metadata: PersonalDataReadMetadata,
    request: AuthenticatedRequest,
    principal: NonNullable<AuthenticatedRequest['principal']>,
  ): Promise<unknown> {
    const rawId: unknown = metadata.idQuery !== undefined ? request.query?.[metadata.idQuery] : request.params?.[metadata.idParam];
    const subjectId = typeof rawId === 'string' ? rawId : null;
    const headerId = request.header('x-request-id');
    const requestId = headerId !== undefined && REQUEST_ID.test(headerId) ? headerId : randomUUID();
    const base = { actor: principal, action: metadata.action, subjectType: metadata.subjectType, subjectId, requestId };

    const reason = request.header(ACCESS_REASON_HEADER)?.trim() ?? '';
    if (reason === '' || reason.length > MAX_PURPOSE_LENGTH) {
      await this.audit.record({ ...base, purpose: null, outcome: 'refused', status: 400 });
      throw new ProblemException({
        type: 'access-reason-required',
        title: 'Access reason required',
        status: 400,
        detail: `Staff reads of personal data need an X-Access-Reason header (1-${MAX_PURPOSE_LENGTH} characters): the reason is written to the audit log`,
      });
    }

    let body: unknown;
    try {
      body = await lastValueFrom(next.handle(), { defaultValue: undefined });
    } catch (error) {
      const status = error instanceof HttpException ? error.getStatus() : 500;
      try {
        await this.audit.record({ ...base, purpose: reason, outcome: outcomeOf(status), status });
      } catch (auditError) {
        this.logger.error(`could not record failed ${metadata.action}: ${auditError instanceof Error ? auditError.message : String(auditError)}`);
      }
      throw error;
    }
    const status = context.switchToHttp().getResponse<Response>().statusCode;
    await this.audit.record({ ...base, purpose: reason, outcome: outcomeOf(status), status });
    return body;
  }
}
