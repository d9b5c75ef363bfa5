import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { JsonValue } from '@dh/event-store';
import { NotConnectedError, type AmqpConnection } from './amqp-connection';
import { dependencyFailureOf } from './dependency-failure';
import { consoleMessagingLogger, errorMessage, type MessagingLogger } from './logger';
import { commandQueueName } from './topology';
import { runTraced, traceHeaders } from './trace-context';

/**
 * Request/reply of commands over RabbitMQ, Nest-free. The gateway's `CommandClient` sends to the
 * durable queue `commands.<service>` with `replyTo = amq.rabbitmq.reply-to` (direct reply-to:
 * no reply queue to declare or clean up), a unique `correlationId` per request and
 * `expiration = timeout` (a request nobody took in time is dropped, not executed late).
 * The service's `CommandServer` replies `{ ok: true, result }` or
 * `{ ok: false, error: { type, message, details } }` and acknowledges after the reply is sent.
 */

export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';
export const UNKNOWN_COMMAND = 'UnknownCommand';
export const MALFORMED_COMMAND = 'MalformedCommand';
export const CORRELATION_ID_HEADER = 'x-correlation-id';
export const CAUSATION_ID_HEADER = 'x-causation-id';
export const ACTOR_HEADER = 'x-actor';

export interface CommandErrorBody {
  type: string;
  message: string;
  details: JsonValue;
}

export type CommandReply = { ok: true; result: JsonValue } | { ok: false; error: CommandErrorBody };

/** Thrown by a handler to reply with a typed error (a domain rule, a validation problem). */
export class CommandError extends Error {
  override readonly name: string = 'CommandError';
  constructor(
    readonly type: string,
    message: string,
    readonly details: JsonValue = null,
  ) {
    super(message);
  }
}

/** No reply within the timeout (the gateway maps it to 504). The command may or may not have run. */
export class CommandTimeoutError extends Error {
  override readonly name = 'CommandTimeoutError';
  constructor(
    readonly service: string,
    readonly commandType: string,
    readonly correlationId: string,
    readonly timeoutMs: number,
  ) {
    super(`Command ${service}/${commandType} (${correlationId}) got no reply within ${timeoutMs} ms`);
  }
}

/** The service replied with an error. */
export class CommandRejectedError extends Error {
  override readonly name: string = 'CommandRejectedError';
  constructor(
    readonly service: string,
    readonly commandType: string,
    readonly type: string,
    message: string,
    readonly details: JsonValue,
  ) {
    super(message);
  }
}

/** The service has no handler for this command type. */
export class UnknownCommandError extends CommandRejectedError {
  override readonly name: string = 'UnknownCommandError';
}

/** The channel carrying the request closed before the reply arrived. The command may or may not have run. */
export class CommandTransportError extends Error {
  override readonly name = 'CommandTransportError';
}

export interface SendOptions {
  /** Default: the client's `defaultTimeoutMs` (10 000). */
  timeoutMs?: number;
  /** Business correlation id carried to the handler; default a new UUID. */
  correlationId?: string;
  causationId?: string;
  actor?: string;
}

interface PendingRequest {
  service: string;
  commandType: string;
  correlationId: string;
  resolve: (result: JsonValue) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export interface CommandClientOptions {
  connection: AmqpConnection;
  defaultTimeoutMs?: number;
  logger?: MessagingLogger;
}

function isObject(value: unknown): value is { [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseReply(content: Buffer): CommandReply {
  const value: unknown = JSON.parse(content.toString('utf8'));
  if (isObject(value) && value.ok === true) return { ok: true, result: (value.result ?? null) as JsonValue };
  if (isObject(value) && value.ok === false && isObject(value.error)) {
    const error = value.error;
    return {
      ok: false,
      error: {
        type: typeof error.type === 'string' ? error.type : 'Error',
        message: typeof error.message === 'string' ? error.message : 'command failed',
        details: (error.details ?? null) as JsonValue,
      },
    };
  }
  throw new Error('reply is neither { ok: true } nor { ok: false, error }');
}

export class CommandClient {
  private channel: Channel | null = null;
  private readonly pending = new Map<string, PendingRequest>();
  private detach: () => void = () => undefined;
  private readonly logger: MessagingLogger;
  private readonly defaultTimeoutMs: number;

  constructor(private readonly options: CommandClientOptions) {
    this.logger = options.logger ?? consoleMessagingLogger;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000;
  }

  async start(): Promise<void> {
    await this.options.connection.connect();
    this.detach = await this.options.connection.attach((model) => this.attachChannel(model));
  }

  private async attachChannel(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => this.logger.warn(`CommandClient channel error: ${error.message}`));
    channel.on('close', () => {
      if (this.channel === channel) this.channel = null;
      this.failPending(channel);
    });
    // Direct reply-to: consume the pseudo-queue (no-ack) before publishing on the same channel.
    await channel.consume(DIRECT_REPLY_TO, (message) => message && this.onReply(message), { noAck: true });
    this.channel = channel;
  }

  private channelOf = new Map<string, Channel>();

  private failPending(channel: Channel): void {
    for (const [id, request] of this.pending) {
      if (this.channelOf.get(id) !== channel) continue;
      this.settle(id);
      request.reject(new CommandTransportError(`Command ${request.service}/${request.commandType} (${request.correlationId}): channel closed before the reply`));
    }
  }

  private settle(id: string): PendingRequest | undefined {
    const request = this.pending.get(id);
    if (!request) return undefined;
    clearTimeout(request.timer);
    this.pending.delete(id);
    this.channelOf.delete(id);
    return request;
  }

  private onReply(message: ConsumeMessage): void {
    const id = message.properties.correlationId;
    const request = typeof id === 'string' ? this.settle(id) : undefined;
    if (!request) {
      this.logger.warn(`CommandClient: reply for unknown or timed-out request ${String(id)}`);
      return;
    }
    let reply: CommandReply;
    try {
      reply = parseReply(message.content);
    } catch (error) {
      request.reject(new CommandRejectedError(request.service, request.commandType, 'MalformedReply', errorMessage(error), null));
      return;
    }
    if (reply.ok) {
      request.resolve(reply.result);
      return;
    }
    const { type, message: text, details } = reply.error;
    const ErrorClass = type === UNKNOWN_COMMAND ? UnknownCommandError : CommandRejectedError;
    request.reject(new ErrorClass(request.service, request.commandType, type, text, details));
  }

  /** Sends a command and resolves with the handler's result, or rejects with a typed error. */
  send(service: string, commandType: string, payload: JsonValue, options: SendOptions = {}): Promise<JsonValue> {
    const channel = this.channel;
    if (!channel) return Promise.reject(new NotConnectedError());
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const requestId = randomUUID();
    const correlationId = options.correlationId ?? requestId;
    return new Promise<JsonValue>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.settle(requestId)) reject(new CommandTimeoutError(service, commandType, correlationId, timeoutMs));
      }, timeoutMs);
      this.pending.set(requestId, { service, commandType, correlationId, resolve, reject, timer });
      this.channelOf.set(requestId, channel);
      const headers: Record<string, string> = { ...traceHeaders(), [CORRELATION_ID_HEADER]: correlationId };
      if (options.causationId !== undefined) headers[CAUSATION_ID_HEADER] = options.causationId;
      if (options.actor !== undefined) headers[ACTOR_HEADER] = options.actor;
      try {
        channel.sendToQueue(commandQueueName(service), Buffer.from(JSON.stringify(payload), 'utf8'), {
          replyTo: DIRECT_REPLY_TO,
          correlationId: requestId,
          messageId: requestId,
          type: commandType,
          contentType: 'application/json',
          expiration: String(timeoutMs),
          timestamp: Math.floor(Date.now() / 1000),
          headers,
        });
      } catch (error) {
        this.settle(requestId);
        reject(new CommandTransportError(errorMessage(error)));
      }
    });
  }

  async close(): Promise<void> {
    this.detach();
    const channel = this.channel;
    this.channel = null;
    for (const id of [...this.pending.keys()]) {
      const request = this.settle(id);
      request?.reject(new CommandTransportError('CommandClient closed'));
    }
    if (channel) await channel.close().catch(() => undefined);
  }
}

export interface CommandContext {
  service: string;
  commandType: string;
  /** Business correlation id from the caller (for event metadata). */
  correlationId: string;
  causationId: string | null;
  actor: string | null;
  /** Unique id of this request (the AMQP correlation id). */
  requestId: string;
}

export type CommandHandler = (payload: JsonValue, context: CommandContext) => Promise<JsonValue | void>;
export type CommandHandlers = Readonly<Record<string, CommandHandler>>;

export interface CommandServerOptions {
  connection: AmqpConnection;
  /** Commands handled concurrently per service. Default 16. */
  prefetch?: number;
  logger?: MessagingLogger;
}

/** Reply types for failures that are not refusals: the gateway answers 503 and 500, and never stores them as final. */
export const DEPENDENCY_UNAVAILABLE = 'dependency-unavailable';
export const INTERNAL_ERROR = 'internal-error';

/**
 * A `CommandError` is a refusal and goes back as the handler wrote it. Anything else is ours to fix
 * or to wait out, not the caller's: a dependency failure or an internal error, each with an error id
 * that the service's log shows beside the real error. The driver's text (hosts, SQL, stack) stays in
 * the log.
 */
function toErrorBody(error: unknown, errorId: string): CommandErrorBody {
  if (error instanceof CommandError) return { type: error.type, message: error.message, details: error.details };
  const failure = dependencyFailureOf(error);
  if (failure) return { type: DEPENDENCY_UNAVAILABLE, message: `${failure.dependency} is unavailable`, details: { dependency: failure.dependency, errorId } };
  return { type: INTERNAL_ERROR, message: 'internal error', details: { errorId } };
}

export class CommandServer {
  private readonly channels = new Set<Channel>();
  private readonly detachers: Array<() => void> = [];
  private readonly logger: MessagingLogger;
  private inFlight = new Set<Promise<void>>();

  constructor(private readonly options: CommandServerOptions) {
    this.logger = options.logger ?? consoleMessagingLogger;
  }

  /** Consumes `commands.<service>` and dispatches on the message `type` to `handlers`. */
  async handle(service: string, handlers: CommandHandlers): Promise<void> {
    await this.options.connection.connect();
    const detach = await this.options.connection.attach((model) => this.attachChannel(model, service, handlers));
    this.detachers.push(detach);
  }

  private async attachChannel(model: ChannelModel, service: string, handlers: CommandHandlers): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => this.logger.warn(`CommandServer ${service}: channel error: ${error.message}`));
    channel.on('close', () => this.channels.delete(channel));
    await channel.prefetch(this.options.prefetch ?? 16);
    await channel.assertQueue(commandQueueName(service), { durable: true });
    await channel.consume(
      commandQueueName(service),
      (message) => {
        if (!message) return;
        const work = this.dispatch(channel, service, handlers, message);
        this.inFlight.add(work);
        void work.finally(() => this.inFlight.delete(work));
      },
      { noAck: false },
    );
    this.channels.add(channel);
  }

  private async dispatch(channel: Channel, service: string, handlers: CommandHandlers, message: ConsumeMessage): Promise<void> {
    const p = message.properties;
    const headers: Record<string, unknown> = p.headers ?? {};
    const commandType = typeof p.type === 'string' ? p.type : '';
    const requestId = typeof p.correlationId === 'string' ? p.correlationId : typeof p.messageId === 'string' ? p.messageId : '';
    const context: CommandContext = {
      service,
      commandType,
      requestId,
      correlationId: typeof headers[CORRELATION_ID_HEADER] === 'string' ? headers[CORRELATION_ID_HEADER] : requestId,
      causationId: typeof headers[CAUSATION_ID_HEADER] === 'string' ? headers[CAUSATION_ID_HEADER] : null,
      actor: typeof headers[ACTOR_HEADER] === 'string' ? headers[ACTOR_HEADER] : null,
    };
    const reply = await runTraced(
      {
        name: `command ${service}/${commandType}`,
        kind: 'server',
        carrier: headers,
        correlationId: context.correlationId,
        attributes: { 'messaging.system': 'rabbitmq', 'dh.command.type': commandType, 'dh.command.service': service },
      },
      () => this.execute(service, handlers, commandType, message.content, context),
    );
    try {
      if (p.replyTo) {
        channel.sendToQueue(p.replyTo, Buffer.from(JSON.stringify(reply), 'utf8'), { correlationId: requestId, contentType: 'application/json' });
      }
      channel.ack(message);
    } catch (error) {
      this.logger.warn(`CommandServer ${service}: could not reply to ${requestId}: ${errorMessage(error)}`);
    }
  }

  private async execute(service: string, handlers: CommandHandlers, commandType: string, content: Buffer, context: CommandContext): Promise<CommandReply> {
    const handler = Object.prototype.hasOwnProperty.call(handlers, commandType) ? handlers[commandType] : undefined;
    if (!handler) {
      return { ok: false, error: { type: UNKNOWN_COMMAND, message: `Service ${service} has no handler for command type ${JSON.stringify(commandType)}`, details: { commandType } } };
    }
    let payload: JsonValue;
    try {
      payload = JSON.parse(content.toString('utf8')) as JsonValue;
    } catch (error) {
      return { ok: false, error: { type: MALFORMED_COMMAND, message: `Command body is not JSON: ${errorMessage(error)}`, details: null } };
    }
    try {
      const result = await handler(payload, context);
      return { ok: true, result: result ?? null };
    } catch (error) {
      const errorId = randomUUID();
      if (!(error instanceof CommandError)) {
        this.logger.error(`CommandServer ${service}: ${commandType} failed (error id ${errorId}): ${errorMessage(error)}`, error instanceof Error ? error.stack : undefined);
      }
      return { ok: false, error: toErrorBody(error, errorId) };
    }
  }

  async close(): Promise<void> {
    for (const detach of this.detachers.splice(0)) detach();
    await Promise.allSettled([...this.inFlight]);
    for (const channel of [...this.channels]) await channel.close().catch(() => undefined);
    this.channels.clear();
  }
}
