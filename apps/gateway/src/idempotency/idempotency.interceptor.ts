import { CallHandler, ExecutionContext, HttpException, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { from, lastValueFrom, Observable } from 'rxjs';
import { ProblemException } from '@dh/platform';
import { IdempotencyStore } from './idempotency.store';

export const IDEMPOTENCY_STORE = Symbol('IDEMPOTENCY_STORE');
const KEY_PATTERN = /^[A-Za-z0-9._:-]{1,200}$/;

/** The caller the key belongs to; two consumers may use the same key independently. */
export function consumerOf(request: Request): string {
  const principal = (request as Request & { principal?: { kind: string; id: string } }).principal;
  return principal ? `${principal.kind}:${principal.id}` : 'anonymous';
}

/** Refusals that a retry can change (a conflict of concurrent writers, a rate limit, a timeout) are not final answers. */
const TRANSIENT_TYPES = /\/(concurrency-conflict|idempotency-key-in-progress|rate-limited)$/;

/**
 * A refusal (4xx) is an outcome and is kept, so a retry gets the same answer. Server errors (5xx: a
 * dependency down, a timeout, a bug) and transient refusals are not: the key is released and a retry
 * runs again.
 */
export function isFinalRefusal(error: HttpException): boolean {
  const status = error.getStatus();
  if (status >= 500 || status === 408 || status === 425 || status === 429) return false;
  const body = error.getResponse();
  const type = typeof body === 'object' && body !== null && 'type' in body ? String((body as { type: unknown }).type) : '';
  return !TRANSIENT_TYPES.test(type);
}

/**
 * Honours `Idempotency-Key` on POST: the first request's status and body are stored; a repeat with
 * the same key and body gets them back (header `Idempotent-Replayed: true`) without running again.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(@Inject(IDEMPOTENCY_STORE) private readonly store: IdempotencyStore) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const key = request.header('idempotency-key');
    if (request.method !== 'POST' || key === undefined) return next.handle();
    return from(this.handle(request, response, key, next));
  }

  private async handle(request: Request, response: Response, key: string, next: CallHandler): Promise<unknown> {
    if (!KEY_PATTERN.test(key)) {
      throw new ProblemException({ type: 'invalid-idempotency-key', title: 'Invalid Idempotency-Key', status: 400, detail: 'Idempotency-Key must be 1-200 characters of A-Z a-z 0-9 . _ : -' });
    }
    const consumer = consumerOf(request);
    const fingerprint = createHash('sha256').update(`${request.method} ${request.originalUrl}\n${JSON.stringify(request.body ?? null)}`).digest('hex');
    const reservation = await this.store.reserve(consumer, key, fingerprint);
    switch (reservation.kind) {
      case 'replay':
        if (reservation.response.status >= 400) throw new HttpException(reservation.response.body as Record<string, unknown>, reservation.response.status);
        response.status(reservation.response.status);
        response.setHeader('Idempotent-Replayed', 'true');
        return reservation.response.body;
      case 'mismatch':
        throw new ProblemException({ type: 'idempotency-key-reused', title: 'Idempotency-Key reused with a different request', status: 422, detail: `Key ${key} was first used for a different request body or path` });
      case 'in-progress':
        throw new ProblemException({
          type: 'idempotency-key-in-progress',
          title: 'A request with this Idempotency-Key is still running',
          status: 409,
          detail: `Retry after the first request has finished (at the latest in ${reservation.retryAfterSeconds} s, when it may be taken over)`,
          retryAfterSeconds: reservation.retryAfterSeconds,
        });
      case 'reserved':
        break;
    }
    const { owner } = reservation;
    try {
      const body = await lastValueFrom(next.handle(), { defaultValue: undefined });
      await this.store.complete(consumer, key, owner, { status: response.statusCode, body });
      return body;
    } catch (error) {
      if (error instanceof HttpException && isFinalRefusal(error)) {
        await this.store.complete(consumer, key, owner, { status: error.getStatus(), body: error.getResponse() });
      } else {
        await this.store.release(consumer, key, owner);
      }
      throw error;
    }
  }
}
