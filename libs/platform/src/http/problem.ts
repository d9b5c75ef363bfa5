import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { DEPENDENCY_RETRY_AFTER_SECONDS, dependencyFailureOf } from '@dh/messaging';
import { maskPersonalData } from '../logging/mask';

/** RFC 9457 problem details. `type` is a stable URI per kind of error that clients can switch on. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: { field: string; messages: string[] }[];
  [extension: string]: unknown;
}

export const PROBLEM_BASE = 'https://datahub-core.dev/problems/';

/** Throw from anywhere in a request to answer with a specific problem. */
export class ProblemException extends HttpException {
  constructor(problem: ProblemDetails) {
    const type = problem.type.startsWith('http') ? problem.type : PROBLEM_BASE + problem.type;
    super({ ...problem, type }, problem.status);
  }
}

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  413: 'payload-too-large',
  422: 'unprocessable',
  429: 'too-many-requests',
  503: 'service-unavailable',
  504: 'upstream-timeout',
};

/** A dependency (PostgreSQL, RabbitMQ, a service, DataHub, Eloverblik) cannot serve the request now: retry later with the same Idempotency-Key. */
export function dependencyUnavailableProblem(dependency: string): ProblemDetails {
  return {
    type: PROBLEM_BASE + 'dependency-unavailable',
    title: 'A service this request depends on is unavailable',
    status: 503,
    detail: `${dependency} is unavailable; retry after ${DEPENDENCY_RETRY_AFTER_SECONDS} s (with the same Idempotency-Key for a POST).`,
    dependency,
    retryAfterSeconds: DEPENDENCY_RETRY_AFTER_SECONDS,
  };
}

export function internalErrorProblem(): ProblemDetails {
  return { type: PROBLEM_BASE + 'internal', title: 'Internal Server Error', status: 500, detail: 'An unexpected error occurred; it has been logged.' };
}

export function toProblem(exception: unknown): ProblemDetails {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const body = exception.getResponse();
    if (typeof body === 'object' && body !== null && 'type' in body && 'title' in body) return body as ProblemDetails;
    const message = typeof body === 'string' ? body : (body as { message?: unknown }).message;
    const detail = Array.isArray(message) ? message.join('; ') : typeof message === 'string' ? message : exception.message;
    return { type: PROBLEM_BASE + (TYPE_BY_STATUS[status] ?? 'error'), title: HttpStatus[status] ?? 'Error', status, detail };
  }
  const failure = dependencyFailureOf(exception);
  if (failure) return dependencyUnavailableProblem(failure.dependency);
  return internalErrorProblem();
}

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const problem = toProblem(exception);
    if (problem.status >= 500) {
      const text = exception instanceof Error ? (exception.stack ?? exception.message) : String(exception);
      this.logger.error(maskPersonalData(text));
    }
    if (problem.detail) problem.detail = maskPersonalData(problem.detail);
    // 429 (rate limit), 409 (same Idempotency-Key still running), 503 (a dependency down): when to come back.
    if (typeof problem.retryAfterSeconds === 'number') response.setHeader('Retry-After', String(problem.retryAfterSeconds));
    response.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  }
}
