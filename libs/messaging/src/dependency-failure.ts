import { NotConnectedError } from './amqp-connection';

/**
 * Failures of something we depend on (PostgreSQL, RabbitMQ, the event store, DataHub, Eloverblik)
 * rather than refusals of the request: the same request may succeed later. They must reach a caller
 * as 503 with `Retry-After`, never as a 4xx (which an idempotency store would keep as the final
 * answer) and never with the driver's own text (host names, ports, SQL).
 *
 * An error class says it is one by carrying `dependency` (a short name) and `transient: true`;
 * errors of the drivers we use are recognised by their documented codes.
 */
export interface DependencyFailure {
  dependency: string;
}

/** SQLSTATE classes and codes that mean "the database could not serve this now" (PostgreSQL appendix A). */
const PG_TRANSIENT = /^(08|53|57P0[1-4]|58|40001$|40P01$|55P03$)/;
/** Messages node-postgres throws for a lost or unobtainable connection (no code attached). */
const PG_CONNECTION_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly|Client was closed and is not queryable)/;
/** Socket failures of a connection attempt or an open connection. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED']);
/** KurrentDB/EventStoreDB client errors for an unreachable or overloaded server. */
const EVENT_STORE_UNAVAILABLE = new Set(['UnavailableError', 'DeadlineExceededError', 'NotLeaderError', 'CancelledError']);

function field(error: object, name: string): unknown {
  return (error as Record<string, unknown>)[name];
}

export function dependencyFailureOf(error: unknown): DependencyFailure | null {
  if (typeof error !== 'object' || error === null) return null;
  if (error instanceof NotConnectedError) return { dependency: 'rabbitmq' };
  const declared = field(error, 'dependency');
  if (typeof declared === 'string' && field(error, 'transient') === true) return { dependency: declared };
  const name = field(error, 'name');
  if (name === 'CommandTransportError') return { dependency: 'rabbitmq' };
  if (name === 'CommandTimeoutError' && typeof field(error, 'service') === 'string') return { dependency: field(error, 'service') as string };
  if (typeof name === 'string' && EVENT_STORE_UNAVAILABLE.has(name)) return { dependency: 'event-store' };
  const code = field(error, 'code');
  const message = field(error, 'message');
  const stack = typeof field(error, 'stack') === 'string' ? (field(error, 'stack') as string) : '';
  const fromPg = /node_modules[\\/]pg(-pool)?[\\/]/.test(stack) || field(error, 'severity') !== undefined;
  if (typeof code === 'string' && code.length === 5 && PG_TRANSIENT.test(code) && fromPg) return { dependency: 'postgres' };
  if (typeof message === 'string' && PG_CONNECTION_MESSAGES.test(message)) return { dependency: 'postgres' };
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return { dependency: fromPg ? 'postgres' : /amqplib/.test(stack) ? 'rabbitmq' : 'backing-service' };
  if (message === 'Channel closed' || message === 'Connection closed' || (typeof message === 'string' && message.startsWith('Channel ended'))) return { dependency: 'rabbitmq' };
  const cause = field(error, 'cause');
  return cause !== undefined && cause !== error ? dependencyFailureOf(cause) : null;
}

/** Seconds a caller should wait before retrying after a dependency failure. */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 5;
