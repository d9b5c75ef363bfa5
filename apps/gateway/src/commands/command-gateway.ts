import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { JsonObject } from '@dh/event-store';
import { CommandClient, CommandRejectedError, CommandTimeoutError, currentCorrelationId, DEPENDENCY_UNAVAILABLE, INTERNAL_ERROR, UnknownCommandError } from '@dh/messaging';
import { dependencyUnavailableProblem, internalErrorProblem, ProblemException } from '@dh/platform';
import { COMMAND_CLIENT } from '../tokens';

/** Stable problem types and HTTP statuses for the refusals services send back. */
const STATUS_BY_ERROR_TYPE: Record<string, number> = {
  'customer-exists': 409,
  'not-a-placeholder': 409,
  'identity-already-completed': 409,
  'personal-data-erased': 409,
  'concurrency-conflict': 409,
  'recomputation-stale': 409,
  'illegal-transition': 409,
  'process-exists': 409,
  'not-latest-switch': 409,
  'supply-ended': 409,
  'already-acknowledged': 409,
  'unknown-process': 404,
  validation: 422,
  'invalid-request': 422,
  'lead-time': 422,
  'unknown-metering-point': 422,
  'unknown-customer': 404,
  'not-found': 404,
  'metering-point-not-found': 404,
  'datahub-not-configured': 503,
  'eloverblik-not-configured': 503,
};

/**
 * Sends a command to the owning service and maps every way it can fail to problem+json: a refusal
 * (`CommandError` in the service) keeps its type; a dependency failure is 503 with `Retry-After`
 * naming the dependency, an internal error 500, neither with the service's own error text. RabbitMQ
 * itself being unreachable (not connected, channel closed) reaches the exception filter, which
 * answers 503 the same way.
 */
@Injectable()
export class CommandGateway {
  constructor(@Inject(COMMAND_CLIENT) private readonly client: CommandClient) {}

  async send<T>(service: string, commandType: string, payload: JsonObject, actor = 'api'): Promise<T> {
    // The request's correlation id (the caller's X-Correlation-Id or one made for the request) goes on to the events.
    const correlationId = currentCorrelationId() ?? randomUUID();
    try {
      return (await this.client.send(service, commandType, payload, { correlationId, actor })) as T;
    } catch (error) {
      if (error instanceof CommandTimeoutError) {
        throw new ProblemException({
          type: 'upstream-timeout',
          title: 'The service did not answer in time',
          status: 504,
          detail: `${service} did not answer ${commandType} within ${error.timeoutMs} ms; it may still complete. Retry with the same Idempotency-Key.`,
          correlationId,
        });
      }
      if (error instanceof CommandRejectedError && error.type === DEPENDENCY_UNAVAILABLE) {
        const dependency = typeof error.details === 'object' && error.details !== null && !Array.isArray(error.details) ? error.details.dependency : undefined;
        throw new ProblemException({ ...dependencyUnavailableProblem(typeof dependency === 'string' ? dependency : service), correlationId });
      }
      if (error instanceof CommandRejectedError && error.type === INTERNAL_ERROR) {
        const errorId = typeof error.details === 'object' && error.details !== null && !Array.isArray(error.details) ? error.details.errorId : undefined;
        throw new ProblemException({ ...internalErrorProblem(), correlationId, ...(typeof errorId === 'string' ? { errorId } : {}) });
      }
      if (error instanceof UnknownCommandError) throw error;
      if (error instanceof CommandRejectedError) {
        throw new ProblemException({
          type: error.type,
          title: 'The command was refused',
          status: STATUS_BY_ERROR_TYPE[error.type] ?? 422,
          detail: error.message,
          correlationId,
        });
      }
      throw error;
    }
  }
}
