import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import type { Pool, PoolClient } from 'pg';
import { logTextReadOf, type EventStore, type LogTextEvent, type Subscription } from '@dh/event-store';
import type { AmqpConnection } from './amqp-connection';
import { StateTracker, type ConsumerStatus } from './consumer-status';
import { storedEventMessage } from './envelope';
import { PublishHeaders } from './publish-headers';
import { consoleMessagingLogger, errorMessage, quoteSchema, toError, type MessagingLogger } from './logger';
import { DEFAULT_MESSAGING_SCHEMA, ensureMessagingTables } from './schema';
import { assertConsumerTopology, assertEventExchange, DEFAULT_EVENT_EXCHANGE } from './topology';

export interface RelayOptions {
  eventStore: EventStore;
  connection: AmqpConnection;
  pool: Pool;
  /** Checkpoint row and advisory-lock name. Default `default`. */
  name?: string;
  exchange?: string;
  schema?: string;
  /**
   * Most events published but not yet confirmed and checkpointed; the relay waits for confirms only
   * when this many are in flight. Default 2000.
   */
  batchSize?: number;
  /**
   * Least time between two checkpoint writes, ms. Default 50. Checkpoints are off the events' path (the relay keeps
   * publishing while one is written), and each write is a statement and a commit in PostgreSQL: written as soon as the
   * previous one returned, they cost the loaded database host ~25 µs of CPU per event at 1,000 events/s
   * (docs/benchmarks.md). Waiting longer only widens what a crashed relay publishes again, which every consumer's
   * inbox drops. A write goes at once when half of `batchSize` is in flight or the relay stops. 0: no wait.
   */
  checkpointIntervalMs?: number;
  /** How often a standby instance tries to take the lock, ms. Default 1000. */
  lockRetryMs?: number;
  /** Pause before resuming from the stored checkpoint after a failure, ms. Default 500. */
  restartDelayMs?: number;
  logger?: MessagingLogger;
}

export interface RelayStats {
  name: string;
  /** Events confirmed by the broker (and checkpointed) since this instance started. */
  published: number;
  /** The last checkpoint stored (null before the first). */
  lastCheckpoint: string | null;
  /** Holds the advisory lock and is publishing. */
  active: boolean;
  /** Sessions that ended in an error and were resumed from the checkpoint. */
  restarts: number;
  lastError: string | null;
}

/** Advisory-lock namespace of relays (first key of the two-int form). */
const RELAY_LOCK_NAMESPACE = 0x64687231; // 'dhr1'

class StopSignal extends Error {
  override readonly name = 'StopSignal';
}

interface InFlight {
  checkpoint: string;
  confirmed: boolean;
}

interface Session {
  channel: ConfirmChannel;
  /** The header table of every publish on `channel` (see {@link PublishHeaders}). */
  headers: PublishHeaders;
  client: PoolClient;
  /** Events published but not yet checkpointed, in log order; the broker's confirms mark them. */
  inFlight: InFlight[];
  /** The checkpoint write in progress (one at a time, behind the publishing). */
  writing: Promise<void> | null;
  /** When the last checkpoint write started (`performance.now()`), and the timer of the next one while it waits. */
  lastWriteAt: number;
  writeTimer: NodeJS.Timeout | null;
  /** Stopping: the confirmed prefix is checkpointed without waiting for the interval. */
  draining: boolean;
  /** Resolved when in-flight events were checkpointed (room to publish, or a stop waiting for the tail). */
  progressed: (() => void)[];
  failure: Promise<never>;
  fail: (error: Error) => void;
  failedWith: Error | null;
}

/**
 * Publishes the event store's global log to the topic exchange, at least once and in order.
 * Reads with `subscribeToAllText` (`logTextReadOf`: the stored JSON as text, written into the message
 * body without a parse and a `JSON.stringify`) after the stored checkpoint and publishes on a confirm channel
 * without waiting: each publish's confirm marks it, and a checkpoint writer behind the publishing
 * stores the last event of the confirmed prefix (one write at a time; confirms that arrive during a
 * write go into the next). It waits only when `batchSize` events are in flight. A nack or a closed
 * channel ends the session, which resumes from the stored checkpoint: nothing past an unconfirmed
 * event is ever checkpointed. One instance per
 * name is active (PostgreSQL advisory lock held on a dedicated connection, which also writes the
 * checkpoints, so a relay that lost its lock cannot move the checkpoint); others stand by.
 */
export class EventRelay {
  private readonly name: string;
  private readonly exchange: string;
  private readonly schema: string;
  private readonly table: string;
  private readonly batchSize: number;
  private readonly checkpointIntervalMs: number;
  private readonly lockRetryMs: number;
  private readonly restartDelayMs: number;
  private readonly logger: MessagingLogger;
  private readonly appId: string;
  private readonly worker: { name: string; kind: 'relay' };

  private loop: Promise<void> | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  private stopSignal: Promise<never> = new Promise<never>(() => undefined);
  private signalStop: () => void = () => undefined;
  private lockClient: PoolClient | null = null;
  private lockClientErrorListener: ((error: Error) => void) | null = null;
  private session: Session | null = null;
  private counters = { published: 0, lastCheckpoint: null as string | null, restarts: 0, lastError: null as string | null };
  private readonly state: StateTracker;
  private unregister: () => void = () => undefined;

  constructor(private readonly options: RelayOptions) {
    this.name = options.name ?? 'default';
    this.exchange = options.exchange ?? DEFAULT_EVENT_EXCHANGE;
    this.schema = options.schema ?? DEFAULT_MESSAGING_SCHEMA;
    this.table = `${quoteSchema(this.schema)}.relay_checkpoints`;
    this.batchSize = Math.max(1, options.batchSize ?? 2000);
    this.checkpointIntervalMs = Math.max(0, options.checkpointIntervalMs ?? 50);
    this.lockRetryMs = options.lockRetryMs ?? 1000;
    this.restartDelayMs = options.restartDelayMs ?? 500;
    this.logger = options.logger ?? consoleMessagingLogger;
    this.appId = `relay:${this.name}`;
    this.worker = { name: this.name, kind: 'relay' };
    this.state = new StateTracker(this.name, 'relay');
  }

  /** Creates the checkpoint table and starts the loop; does not wait for the lock. */
  async start(): Promise<void> {
    if (this.loop) return;
    await ensureMessagingTables(this.options.pool, this.schema);
    if (this.schema !== DEFAULT_MESSAGING_SCHEMA) await ensureMessagingTables(this.options.pool, DEFAULT_MESSAGING_SCHEMA);
    this.stopping = false;
    this.stopSignal = new Promise<never>((_, reject) => {
      this.signalStop = () => reject(new StopSignal('relay stopped'));
    });
    this.stopSignal.catch(() => undefined);
    this.state.set('starting');
    this.unregister = this.options.connection.workers.register(this);
    this.loop = this.run();
  }

  /** Stops reading, confirms and checkpoints what was published, releases the lock. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.signalStop();
    this.wake?.();
    this.session?.fail(new StopSignal('relay stopped'));
    await this.loop;
    this.loop = null;
    this.state.set('stopped');
    this.unregister();
  }

  stats(): RelayStats {
    return { name: this.name, ...this.counters, active: this.session !== null && this.session.failedWith === null };
  }

  /** running (holding the lock and publishing), standby, retrying after an error (with it), disconnected, stopped. */
  status(): ConsumerStatus {
    return this.state.status();
  }

  counts(): Record<string, number> {
    return { published: this.counters.published, restarts: this.counters.restarts };
  }

  /** The stored checkpoint of this relay (null when none). */
  async storedCheckpoint(db: Pool | PoolClient = this.options.pool): Promise<string | null> {
    const { rows } = await db.query<{ checkpoint: string }>(`SELECT checkpoint FROM ${this.table} WHERE name = $1`, [this.name]);
    return rows[0]?.checkpoint ?? null;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let failed = false;
      try {
        const client = await this.acquireLock();
        if (!client) break;
        await this.runSession(client);
      } catch (error) {
        if (!(error instanceof StopSignal) && !this.stopping) {
          failed = true;
          this.counters.restarts++;
          this.counters.lastError = errorMessage(error);
          this.state.set('retrying', this.counters.lastError);
          this.logger.warn(`Relay ${this.name}: ${errorMessage(error)}; resuming from the stored checkpoint`);
        }
      }
      if (failed && !this.stopping) await this.pause(this.restartDelayMs);
    }
    await this.releaseLock();
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    }).then(() => {
      this.wake = null;
    });
  }

  /** Returns the dedicated client holding the lock, or null when stopping. */
  private async acquireLock(): Promise<PoolClient | null> {
    while (!this.stopping) {
      if (this.lockClient) return this.lockClient;
      const client = await this.options.pool.connect();
      // Only while this relay holds the client: a pooled client goes on to other holders after release, and a
      // listener left on it per attempt would pile up (a standby tries every lockRetryMs).
      const onError = (error: Error) => this.onLockClientError(client, error);
      client.on('error', onError);
      let locked = false;
      try {
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [RELAY_LOCK_NAMESPACE, this.name]);
        locked = rows[0]?.locked === true;
      } catch (error) {
        client.removeListener('error', onError);
        client.release(toError(error));
        throw error;
      }
      if (locked) {
        if (this.state.state === 'standby') this.state.set('starting');
        this.lockClient = client;
        this.lockClientErrorListener = onError;
        this.logger.log(`Relay ${this.name}: active`);
        return client;
      }
      client.removeListener('error', onError);
      client.release();
      this.state.set('standby');
      await this.pause(this.lockRetryMs);
    }
    return null;
  }

  private onLockClientError(client: PoolClient, error: Error): void {
    if (this.lockClient !== client) return;
    this.lockClient = null;
    this.forgetLockClientListener(client);
    client.release(error);
    this.session?.fail(new Error(`lock connection lost: ${error.message}`));
  }

  private forgetLockClientListener(client: PoolClient): void {
    if (this.lockClientErrorListener) client.removeListener('error', this.lockClientErrorListener);
    this.lockClientErrorListener = null;
  }

  private async releaseLock(): Promise<void> {
    const client = this.lockClient;
    this.lockClient = null;
    if (!client) return;
    try {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [RELAY_LOCK_NAMESPACE, this.name]);
      this.forgetLockClientListener(client);
      client.release();
    } catch (error) {
      this.forgetLockClientListener(client);
      client.release(toError(error));
    }
  }

  private async runSession(client: PoolClient): Promise<void> {
    const checkpoint = await this.storedCheckpoint(client);
    this.counters.lastCheckpoint = checkpoint;
    if (!this.options.connection.isConnected) this.state.set('disconnected', 'waiting for the RabbitMQ connection');
    const model = await Promise.race([this.options.connection.waitForConnection(), this.stopSignal]);
    const channel = await model.createConfirmChannel();
    let fail: (error: Error) => void = () => undefined;
    const failure = new Promise<never>((_, reject) => {
      fail = reject;
    });
    failure.catch(() => undefined);
    const session: Session = { channel, headers: new PublishHeaders(), client, inFlight: [], writing: null, lastWriteAt: Number.NEGATIVE_INFINITY, writeTimer: null, draining: false, progressed: [], failure, fail: () => undefined, failedWith: null };
    session.fail = (error) => {
      if (session.failedWith) return;
      session.failedWith = error;
      fail(error);
      this.notifyProgress(session);
    };
    channel.on('error', (error: Error) => session.fail(new Error(`channel error: ${error.message}`)));
    channel.on('close', () => session.fail(new Error('channel closed')));
    this.session = session;
    if (this.stopping) session.fail(new StopSignal('relay stopped'));

    let subscription: Subscription | null = null;
    try {
      await Promise.race([assertEventExchange(channel, this.exchange), failure]);
      await Promise.race([this.assertDeclaredQueues(model, client), failure]);
      this.state.set('running');
      subscription = logTextReadOf(this.options.eventStore).subscribeToAllText({
        after: checkpoint,
        onEvent: (event) => this.onEvent(session, event),
        onError: (error) => session.fail(error),
      });
      const ended = subscription.done.then(() => {
        throw new Error('subscription ended');
      });
      ended.catch(() => undefined);
      await Promise.race([ended, failure]);
    } catch (error) {
      if (!(error instanceof StopSignal)) throw error;
    } finally {
      const stopped = subscription?.stop().catch(() => undefined);
      await stopped;
      if (session.failedWith instanceof StopSignal) {
        // Graceful stop: confirm and checkpoint what is in flight, so a successor does not repeat it.
        await this.drain(session).catch((error: unknown) => this.logger.warn(`Relay ${this.name}: final checkpoint failed: ${errorMessage(error)}`));
      }
      if (session.writeTimer) clearTimeout(session.writeTimer);
      session.writeTimer = null;
      this.session = null;
      await channel.close().catch(() => undefined);
    }
  }

  /**
   * Every queue and binding a consumer has declared (`consumer_bindings`) exists before anything is
   * published: after a broker lost its definitions, or while a consumer's service is not running, its
   * events still reach its queue. Each queue on a channel of its own: one whose arguments differ on the
   * broker is logged, and does not stop the relay.
   */
  private async assertDeclaredQueues(model: ChannelModel, client: PoolClient): Promise<void> {
    const { rows } = await client.query<{ queue: string; single_active: boolean; patterns: string[] }>(
      `SELECT queue, bool_or(single_active) AS single_active, array_agg(pattern ORDER BY pattern) AS patterns
         FROM ${quoteSchema(DEFAULT_MESSAGING_SCHEMA)}.consumer_bindings WHERE exchange = $1 GROUP BY queue ORDER BY queue`,
      [this.exchange],
    );
    for (const row of rows) {
      let channel: Channel | null = null;
      try {
        channel = await model.createChannel();
        channel.on('error', () => undefined);
        await assertConsumerTopology(channel, { queue: row.queue, bindings: row.patterns, exchange: this.exchange, singleActiveConsumer: row.single_active });
      } catch (error) {
        this.logger.warn(`Relay ${this.name}: could not declare queue ${row.queue}: ${errorMessage(error)}`);
      } finally {
        await channel?.close().catch(() => undefined);
      }
    }
  }

  private async onEvent(session: Session, event: LogTextEvent): Promise<void> {
    if (session.failedWith) throw session.failedWith;
    while (session.inFlight.length >= this.batchSize) {
      await Promise.race([new Promise<void>((resolve) => session.progressed.push(resolve)), session.failure]);
    }
    const message = storedEventMessage(event, this.appId);
    if (message.routingError) this.logger.error(`Relay ${this.name}: event ${message.eventId}: ${message.routingError}; published as ${message.routingKey}`);
    const entry: InFlight = { checkpoint: event.checkpoint, confirmed: false };
    session.inFlight.push(entry);
    const options = { ...message.options, headers: session.headers.fill(message.options.headers ?? {}) };
    const flowing = session.channel.publish(this.exchange, message.routingKey, message.content, options, (error: unknown) => {
      if (error) {
        session.fail(new Error(`broker did not confirm event ${message.eventId}: ${errorMessage(error)}`));
        return;
      }
      entry.confirmed = true;
      this.checkpointConfirmed(session);
    });
    this.options.connection.workers.recordLag(this.worker, event.recordedAt);
    if (!flowing) {
      await Promise.race([new Promise<void>((resolve) => session.channel.once('drain', () => resolve())), session.failure]);
    }
  }

  private notifyProgress(session: Session): void {
    const waiters = session.progressed;
    session.progressed = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Stores the checkpoint of the last event of the confirmed prefix, one write at a time and at most one per
   * `checkpointIntervalMs` (a timer takes the confirms that arrive meanwhile; at once when half of `batchSize` is in
   * flight or when stopping). Nothing after an unconfirmed event is stored.
   */
  private checkpointConfirmed(session: Session): void {
    if (session.writing || (session.failedWith && !(session.failedWith instanceof StopSignal))) return;
    let count = 0;
    while (count < session.inFlight.length && session.inFlight[count].confirmed) count++;
    if (count === 0) return;
    const wait = session.draining ? 0 : this.checkpointIntervalMs - (performance.now() - session.lastWriteAt);
    if (wait > 0 && session.inFlight.length < this.batchSize / 2) {
      session.writeTimer ??= setTimeout(() => {
        session.writeTimer = null;
        this.checkpointConfirmed(session);
      }, wait);
      return;
    }
    if (session.writeTimer) clearTimeout(session.writeTimer);
    session.writeTimer = null;
    session.lastWriteAt = performance.now();
    const last = session.inFlight[count - 1].checkpoint;
    // Its commit does not wait for the WAL flush (synchronous_commit off for this one statement's transaction): a
    // checkpoint lost in a crash of PostgreSQL leaves an earlier one (commits become durable in WAL order), from which
    // the next session publishes those events again, as after a relay that stopped between a confirm and its
    // checkpoint; every event consumer drops a repeated event id in its inbox. Not a flush per write, shared with the
    // workers' commits.
    session.writing = session.client
      .query(
        `WITH async AS (SELECT set_config('synchronous_commit', 'off', true))
         INSERT INTO ${this.table} (name, checkpoint, updated_at) SELECT $1, $2, now() FROM async
         ON CONFLICT (name) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, updated_at = EXCLUDED.updated_at`,
        [this.name, last],
      )
      .then(
        () => {
          session.inFlight.splice(0, count);
          this.counters.published += count;
          this.counters.lastCheckpoint = last;
          session.writing = null;
          this.notifyProgress(session);
          this.checkpointConfirmed(session);
        },
        (error: unknown) => {
          session.writing = null;
          session.fail(toError(error));
        },
      );
  }

  /** On a graceful stop: waits for the broker's confirms of everything published, and its checkpoint. */
  private async drain(session: Session): Promise<void> {
    if (session.inFlight.length === 0) return;
    session.draining = true;
    await session.channel.waitForConfirms();
    for (;;) {
      this.checkpointConfirmed(session);
      if (session.writing) await session.writing;
      else break;
    }
    if (session.inFlight.length > 0) throw new Error(`${session.inFlight.length} published events were not checkpointed`);
  }
}

export function createRelay(options: RelayOptions): EventRelay {
  return new EventRelay(options);
}
