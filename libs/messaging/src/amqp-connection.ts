import { Writable } from 'node:stream';
import { connect, type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { WorkerRegistry } from './consumer-status';
import { consoleMessagingLogger, errorMessage, type MessagingLogger } from './logger';

export interface ReconnectOptions {
  /** First delay after a loss, ms. Default 200. */
  initialDelayMs?: number;
  /** Cap, ms. Default 15 000. */
  maxDelayMs?: number;
  /** Default 2. */
  factor?: number;
}

export interface AmqpConnectionOptions {
  url: string;
  /** Shown in the management UI (`connection_name`); also lets tests find and kill it. */
  connectionName?: string;
  heartbeatSeconds?: number;
  reconnect?: ReconnectOptions;
  /** How many attempts `connect()` makes before it rejects. Default: unlimited. */
  initialMaxAttempts?: number;
  /**
   * TCP_NODELAY on the socket (amqplib leaves Nagle's algorithm on). Default true: with Nagle, a publish or
   * an ack written while an earlier segment is unacknowledged waits for that ACK, which on a busy host is
   * latency every event pays (docs/benchmarks.md, issue 10). PostgreSQL's client (pg) sets it already.
   */
  noDelay?: boolean;
  /**
   * The frames amqplib writes in one turn of the event loop leave in one socket write (see
   * {@link writeEachTurnAtOnce}). Default true.
   */
  oneWritePerTurn?: boolean;
  logger?: MessagingLogger;
}

/**
 * Makes the socket under an amqplib connection send what is written to it in one turn of the event loop with one
 * write (`writev`), at the end of that turn. amqplib's `Mux` hands the socket each publish, ack and method frame with
 * a `write` of its own, and with TCP_NODELAY each is a syscall and a TCP segment that the broker reads on its own: the
 * relay's publishes of one read batch were one write each (about a tenth of the relay process's CPU in a profile,
 * docs/benchmarks.md). The first write of a turn corks the socket and queues its uncork on `process.nextTick`, so the
 * rest of the turn's writes join it; nothing waits for a timer or a later write, the bytes and their order are those
 * amqplib wrote, and `write` still returns false past the socket's high-water mark, so amqplib's back-pressure holds
 * (it waits for `drain`, which the uncorked write brings). Returns false, changing nothing, when the connection's
 * stream is not there or cannot cork (amqplib keeps it in `connection.stream`, not part of its typed API).
 */
export function writeEachTurnAtOnce(model: ChannelModel): boolean {
  const stream: unknown = (model.connection as { stream?: unknown }).stream;
  if (!(stream instanceof Writable) || typeof stream.cork !== 'function') return false;
  const write = stream.write;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    stream.uncork();
  };
  stream.write = function writeInTurn(this: Writable, ...args: unknown[]): boolean {
    if (!corked) {
      corked = true;
      stream.cork();
      process.nextTick(uncork);
    }
    return (write as (...rest: unknown[]) => boolean).apply(this, args);
  } as Writable['write'];
  return true;
}

/** Runs after every (re)connect; creates its channels and consumers on the given connection. */
export type ConnectedListener = (model: ChannelModel) => Promise<void>;

export class NotConnectedError extends Error {
  override readonly name = 'NotConnectedError';
  constructor() {
    super('Not connected to RabbitMQ');
  }
}

/**
 * One AMQP connection per process. On loss it reconnects with exponential backoff and runs every
 * registered listener again, so channels are re-created and consumers re-attached.
 */
export class AmqpConnection {
  private model: ChannelModel | null = null;
  private closing = false;
  private connecting: Promise<void> | null = null;
  private readonly listeners = new Set<ConnectedListener>();
  private waiters: Array<{ resolve: (model: ChannelModel) => void; reject: (error: Error) => void }> = [];
  private sleepTimer: NodeJS.Timeout | null = null;
  private wakeSleep: (() => void) | null = null;
  private readonly logger: MessagingLogger;
  /** Number of successful connects, the first included. */
  connectCount = 0;
  /** The consumers and relays working on this connection, for readiness and metrics. */
  readonly workers = new WorkerRegistry();

  constructor(private readonly options: AmqpConnectionOptions) {
    this.logger = options.logger ?? consoleMessagingLogger;
  }

  get isConnected(): boolean {
    return this.model !== null;
  }

  /** Connects (retrying with backoff); resolves once connected. */
  connect(): Promise<void> {
    if (this.closing) return Promise.reject(new Error('AmqpConnection is closed'));
    if (this.model) return Promise.resolve();
    if (!this.connecting) {
      this.connecting = this.establish(this.options.initialMaxAttempts ?? Number.POSITIVE_INFINITY).finally(() => {
        this.connecting = null;
      });
    }
    return this.connecting;
  }

  /**
   * Registers a listener run now (when connected; its error is thrown to the caller) and after every
   * reconnect. Returns a function that unregisters it.
   */
  async attach(listener: ConnectedListener): Promise<() => void> {
    this.listeners.add(listener);
    const detach = (): void => {
      this.listeners.delete(listener);
    };
    if (this.model) {
      try {
        await listener(this.model);
      } catch (error) {
        detach();
        throw error;
      }
    }
    return detach;
  }

  /** Resolves with the live connection, waiting for a reconnect if needed. */
  waitForConnection(): Promise<ChannelModel> {
    if (this.model) return Promise.resolve(this.model);
    if (this.closing) return Promise.reject(new Error('AmqpConnection is closed'));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  async createChannel(): Promise<Channel> {
    if (!this.model) throw new NotConnectedError();
    return this.model.createChannel();
  }

  async createConfirmChannel(): Promise<ConfirmChannel> {
    if (!this.model) throw new NotConnectedError();
    return this.model.createConfirmChannel();
  }

  /** Readiness probe: opens and closes a channel. */
  async ping(): Promise<void> {
    const channel = await this.createChannel();
    await channel.close();
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wakeSleep?.();
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(new Error('AmqpConnection is closed'));
    const model = this.model;
    this.model = null;
    if (model) {
      try {
        await model.close();
      } catch {
        // already closed
      }
    }
    if (this.connecting) await this.connecting.catch(() => undefined);
  }

  private urlWithHeartbeat(): string {
    const url = new URL(this.options.url);
    if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(this.options.heartbeatSeconds ?? 10));
    return url.toString();
  }

  private backoff(attempt: number): number {
    const { initialDelayMs = 200, maxDelayMs = 15_000, factor = 2 } = this.options.reconnect ?? {};
    const base = Math.min(maxDelayMs, initialDelayMs * factor ** attempt);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wakeSleep = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    }).then(() => {
      this.sleepTimer = null;
      this.wakeSleep = null;
    });
  }

  private async establish(maxAttempts: number): Promise<void> {
    for (let attempt = 0; !this.closing; attempt++) {
      let model: ChannelModel;
      try {
        model = await connect(this.urlWithHeartbeat(), {
          clientProperties: { connection_name: this.options.connectionName ?? `dh-${process.pid}` },
          noDelay: this.options.noDelay ?? true,
        });
      } catch (error) {
        if (attempt + 1 >= maxAttempts) throw error;
        const wait = this.backoff(attempt);
        this.logger.warn(`RabbitMQ connect failed (${errorMessage(error)}); retrying in ${wait} ms`);
        await this.sleep(wait);
        continue;
      }
      if (this.closing) {
        await model.close().catch(() => undefined);
        break;
      }
      if (this.options.oneWritePerTurn ?? true) writeEachTurnAtOnce(model);
      model.on('error', (error: Error) => this.logger.warn(`RabbitMQ connection error: ${error.message}`));
      model.once('close', () => this.onClose(model));
      this.model = model;
      this.connectCount++;
      if (this.connectCount > 1) this.logger.log('RabbitMQ connection re-established');
      const waiters = this.waiters;
      this.waiters = [];
      for (const waiter of waiters) waiter.resolve(model);
      for (const listener of [...this.listeners]) {
        try {
          await listener(model);
        } catch (error) {
          this.logger.error(`RabbitMQ connect listener failed, retrying: ${errorMessage(error)}`);
          void this.retryListener(listener, model);
        }
      }
      // Lost again while the listeners ran: onClose saw `connecting` set and left the retry to us.
      if (this.model === model || this.closing) return;
      await this.sleep(this.backoff(0));
    }
    throw new Error('AmqpConnection is closed');
  }

  /** A listener that failed on a live connection (a channel error, a queue being deleted) is retried with backoff while that connection lasts. */
  private async retryListener(listener: ConnectedListener, model: ChannelModel): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, this.backoff(attempt)).unref());
      if (this.closing || this.model !== model || !this.listeners.has(listener)) return;
      try {
        await listener(model);
        this.logger.log('RabbitMQ connect listener re-attached');
        return;
      } catch (error) {
        this.logger.warn(`RabbitMQ connect listener failed again (attempt ${attempt + 2}): ${errorMessage(error)}`);
      }
    }
  }

  private onClose(model: ChannelModel): void {
    if (this.model !== model) return;
    this.model = null;
    if (this.closing) return;
    this.logger.warn('RabbitMQ connection lost; reconnecting');
    if (!this.connecting) {
      this.connecting = this.establish(Number.POSITIVE_INFINITY)
        .catch((error: unknown) => {
          if (!this.closing) this.logger.error(`RabbitMQ reconnect gave up: ${errorMessage(error)}`);
        })
        .finally(() => {
          this.connecting = null;
        });
    }
  }
}
