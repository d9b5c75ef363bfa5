import type { ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { escapeLiteral, type Pool, type PoolClient, type QueryResult } from 'pg';
import { isConnectionLoss, type EventStore } from '@dh/event-store';
import type { AmqpConnection } from './amqp-connection';
import { StateTracker, type ConsumerStatus } from './consumer-status';
import { runTraced } from './trace-context';
import { eventMessage, parseEnvelope, MalformedMessageError, topicMatches, type EventEnvelope, type EventMessage } from './envelope';
import { consoleMessagingLogger, delay, errorMessage, quoteSchema, toError, type MessagingLogger } from './logger';
import { DEFAULT_MESSAGING_SCHEMA, ensureMessagingTables } from './schema';
import { assertConsumerTopology, deadLetterQueueName, DEFAULT_EVENT_EXCHANGE, type ConsumerTopology } from './topology';
import { registerConsumerQueue } from './dead-letters';
import { PublishHeaders } from './publish-headers';
import { CATCH_UP_REPLAY_HEADER, CatchUpCutoffFilter, type CatchUpCutoff } from './catch-up-cutoff';

/** Headers of the retry and dead-letter paths. */
export const RETRY_COUNT_HEADER = 'x-retry-count';
export const FAILURE_REASON_HEADER = 'x-failure-reason';
export const FAILURE_COUNT_HEADER = 'x-failure-count';
export const FIRST_FAILED_AT_HEADER = 'x-first-failed-at';
export const LAST_FAILURE_REASON_HEADER = 'x-last-failure-reason';
export const ORIGINAL_EXCHANGE_HEADER = 'x-original-exchange';
export const ORIGINAL_ROUTING_KEY_HEADER = 'x-original-routing-key';

/** What the broker said about a delivery, beside the envelope itself. */
export interface Delivery {
  /** Global-log checkpoint the relay stamped on the message (header `checkpoint`), if any. */
  checkpoint: string | null;
  redelivered: boolean;
  /**
   * True when the event comes from the event store while the consumer catches up on a binding new to it (see
   * {@link startConsumer}), not from its queue: it was published before the binding existed. A handler whose
   * effect reaches outside the database may use it to apply the rules of a late delivery (the webhook dispatcher
   * enqueues it only for the subscriptions that existed when the event was recorded).
   */
  catchUp?: boolean;
}

export type EventHandler = (envelope: EventEnvelope, tx: PoolClient, delivery: Delivery) => Promise<void>;

/** One event of a batch, in queue order. */
export interface BatchItem {
  envelope: EventEnvelope;
  delivery: Delivery;
}

/** Applies several events (in queue order, none already in the inbox) in the caller's transaction. */
export type BatchEventHandler = (items: readonly BatchItem[], tx: PoolClient) => Promise<void>;

export interface BackoffOptions {
  /** Delay before the first retry, ms. Default 1000. */
  initialDelayMs?: number;
  /** Default 2. */
  factor?: number;
  /** Default 60 000. */
  maxDelayMs?: number;
}

export interface ConsumerOptions {
  connection: AmqpConnection;
  pool: Pool;
  queue: string;
  /** Routing-key patterns bound on the event exchange. */
  bindings: readonly string[];
  /** Runs inside the inbox transaction; its writes commit together with the inbox row. */
  handler: EventHandler;
  /** Inbox key; defaults to the queue name. */
  consumerName?: string;
  exchange?: string;
  schema?: string;
  /** Default 10 (at least `batchSize`). Messages are handled in queue order. */
  prefetch?: number;
  /**
   * Most messages applied in one transaction. Default 1 (one transaction per message). Above 1, the
   * messages waiting when the consumer is free (up to this many) are applied together: their inbox
   * rows in one INSERT, the handlers (or `batchHandler`) in queue order, one COMMIT, then one
   * `ack(last, allUpTo)`. Nothing waits for a batch to fill, so a lone message goes at once. If the
   * batch fails it is rolled back and its messages are applied one by one, each with the retry,
   * dead-letter or halt path it has alone. Only for handlers whose every effect is in the transaction.
   */
  batchSize?: number;
  /** Applies a batch in one call (instead of `handler` per event); `handler` still applies a message alone. */
  batchHandler?: BatchEventHandler;
  /**
   * The event store the relay publishes from. With it, a binding this consumer has not had before (a
   * new consumer, or a pattern added to its queue) is caught up from the store before it consumes:
   * events of that pattern published before the binding existed went to no queue. See {@link startConsumer}.
   * Caught-up events are applied in batches of up to 500 per transaction whatever `batchSize` is, so the handler
   * must keep every effect in the transaction: a consumer that acts outside the database records an intent (an
   * outbox row, unique per business key) and acts after commit (`afterCommit`, or its sender's poll).
   */
  eventStore?: EventStore;
  /**
   * With `eventStore`: catch up only the events recorded at or after this cut-off; the older ones of a new pattern
   * are counted and recorded as skipped (`messaging.catch_up_cutoffs`, see `catch-up-cutoff.ts`), not applied.
   * For consumers that act outside the database. Default: none (the whole history, for database-only consumers).
   */
  catchUpCutoff?: CatchUpCutoff;
  /**
   * Called after each commit that applied events (one message, a batch, or a batch caught up from the event store),
   * with the events applied, in order; never inside the transaction. For consumers whose handler records an intent
   * in an outbox: wake the sender here, so it acts on committed rows only. Must not throw (a throw is logged).
   */
  afterCommit?: (applied: readonly EventEnvelope[]) => void;
  /** Handler runs per message, the first included, before it goes to the DLQ. Default 5. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** Default true (projections). */
  singleActiveConsumer?: boolean;
  /**
   * `retry-queue` (default): a failing message waits in the retry queue while later ones go ahead,
   * then goes to the DLQ. `halt`: for consumers that need strict order (projections): retries in
   * place, and after `maxAttempts` stops consuming and leaves the message (and all after it) in the
   * queue, reporting `halted` until an operator fixes the cause and restarts.
   */
  onFailure?: 'retry-queue' | 'halt';
  /**
   * Tells a failure the message itself causes, which no retry can mend (its content fails validation), from one
   * that may pass later (a price not there yet, a dependency). A poison message goes to `<queue>.dlq` at its first
   * failure, with the reason, in `halt` mode too, and the messages behind it go on: operators see it (and the DLQ
   * depth in metrics), and replay it after a fix or discard it with a reason (`DeadLetterQueues`, the gateway's
   * `/api/staff/ops/dead-letters`). Default: no failure is poison.
   */
  isPoison?: (error: unknown, envelope: EventEnvelope) => boolean;
  logger?: MessagingLogger;
}

export interface ConsumerStats {
  /** Handler committed. */
  applied: number;
  /** Event id already in the inbox: acknowledged without running the handler. */
  duplicates: number;
  /** Sent to the retry queue. */
  retried: number;
  /** Sent to the dead-letter queue. */
  deadLettered: number;
  lastError: string | null;
  /** Set when an `onFailure: 'halt'` consumer stopped on a message it could not apply. */
  halted: string | null;
  /** Events applied (or handed to its queue) while catching up on new bindings from the event store. */
  caughtUp: number;
  /** Events of new bindings left out of the catch-up by `catchUpCutoff` (recorded, replayable). */
  skippedByCutoff: number;
}

export interface RunningConsumer {
  readonly topology: ConsumerTopology;
  stats(): ConsumerStats;
  /** Running, retrying (database or handler failing, retried in place), disconnected, halted with reason, stopped. */
  status(): ConsumerStatus;
  /** Cancels the consumer, finishes the message in hand, closes the channel. */
  stop(): Promise<void>;
}

type Headers = Record<string, unknown>;

function headerInt(headers: Headers, name: string): number {
  const value = headers[name];
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

function headerString(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** Retries while the database is away: quick at first, then every 5 s. */
const DATABASE_RETRY_BACKOFF: BackoffOptions = { initialDelayMs: 200, factor: 2, maxDelayMs: 5000 };

export function backoffDelay(backoff: BackoffOptions | undefined, failures: number): number {
  const { initialDelayMs = 1000, factor = 2, maxDelayMs = 60_000 } = backoff ?? {};
  return Math.round(Math.min(maxDelayMs, initialDelayMs * factor ** Math.max(0, failures - 1)));
}

/** Our headers plus the original ones, without the broker's dead-letter bookkeeping. */
function carriedHeaders(message: ConsumeMessage): Headers {
  const headers: Headers = {};
  const original: Headers = message.properties.headers ?? {};
  for (const [key, value] of Object.entries(original)) {
    if (key === 'x-death' || key.startsWith('x-first-death') || key.startsWith('x-last-death')) continue;
    headers[key] = value;
  }
  return headers;
}

function republishOptions(message: ConsumeMessage, headers: Headers): Options.Publish {
  const p = message.properties;
  const options: Options.Publish = { persistent: true, headers };
  if (p.messageId !== undefined) options.messageId = p.messageId;
  if (p.type !== undefined) options.type = p.type;
  if (p.contentType !== undefined) options.contentType = p.contentType;
  if (p.contentEncoding !== undefined) options.contentEncoding = p.contentEncoding;
  if (p.timestamp !== undefined) options.timestamp = p.timestamp;
  if (p.correlationId !== undefined) options.correlationId = p.correlationId;
  if (p.appId !== undefined) options.appId = p.appId;
  return options;
}

class InboxConsumer implements RunningConsumer {
  topology!: ConsumerTopology;
  private readonly consumerName: string;
  private readonly inboxTable: string;
  private readonly maxAttempts: number;
  private readonly logger: MessagingLogger;
  private channel: ConfirmChannel | null = null;
  private consumerTag: string | null = null;
  private chain: Promise<void> = Promise.resolve();
  private readonly batchSize: number;
  /** Delivered messages not yet taken by a batch (batch mode only), in delivery order. */
  private waiting: { channel: ConfirmChannel; message: ConsumeMessage }[] = [];
  private batchScheduled = false;
  private bindingsCaughtUp = false;
  private stopping = false;
  private detach: () => void = () => undefined;
  private unregister: () => void = () => undefined;
  private readonly state: StateTracker;
  /** The header table of this consumer's retry, dead-letter and catch-up publishes (see {@link PublishHeaders}). */
  private readonly publishHeaders = new PublishHeaders();
  private readonly counters: ConsumerStats = { applied: 0, duplicates: 0, retried: 0, deadLettered: 0, lastError: null, halted: null, caughtUp: 0, skippedByCutoff: 0 };

  constructor(private readonly options: ConsumerOptions) {
    this.consumerName = options.consumerName ?? options.queue;
    this.inboxTable = `${quoteSchema(options.schema ?? DEFAULT_MESSAGING_SCHEMA)}.inbox`;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.batchSize = Math.max(1, options.batchSize ?? 1);
    this.logger = options.logger ?? consoleMessagingLogger;
    this.state = new StateTracker(options.queue, 'consumer');
  }

  async start(): Promise<void> {
    await ensureMessagingTables(this.options.pool, this.options.schema ?? DEFAULT_MESSAGING_SCHEMA);
    if ((this.options.schema ?? DEFAULT_MESSAGING_SCHEMA) !== DEFAULT_MESSAGING_SCHEMA) await ensureMessagingTables(this.options.pool, DEFAULT_MESSAGING_SCHEMA);
    await registerConsumerQueue(this.options.pool, { queue: this.options.queue, deadLetterQueue: deadLetterQueueName(this.options.queue), consumer: this.consumerName });
    await this.options.connection.connect();
    this.unregister = this.options.connection.workers.register(this);
    this.detach = await this.options.connection.attach((model) => this.attachChannel(model));
  }

  stats(): ConsumerStats {
    return { ...this.counters };
  }

  status(): ConsumerStatus {
    return this.state.status();
  }

  counts(): Record<string, number> {
    const { applied, duplicates, retried, deadLettered } = this.counters;
    return { applied, duplicates, retried, dead_lettered: deadLettered };
  }

  queues(): { queue: string; deadLetterQueue: string | null } {
    return { queue: this.options.queue, deadLetterQueue: this.topology?.deadLetterQueue ?? null };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.state.set('stopped');
    this.unregister();
    this.detach();
    const channel = this.channel;
    this.channel = null;
    if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
    await this.chain;
    if (channel) await channel.close().catch(() => undefined);
  }

  private async attachChannel(model: ChannelModel): Promise<void> {
    if (this.stopping) return;
    const channel = await model.createConfirmChannel();
    channel.on('error', (error: Error) => this.logger.warn(`Consumer ${this.options.queue}: channel error: ${error.message}`));
    channel.on('close', () => this.onChannelClosed(channel));
    await channel.prefetch(Math.max(this.options.prefetch ?? 10, this.batchSize));
    this.topology = await assertConsumerTopology(channel, {
      queue: this.options.queue,
      bindings: this.options.bindings,
      exchange: this.options.exchange ?? DEFAULT_EVENT_EXCHANGE,
      singleActiveConsumer: this.options.singleActiveConsumer ?? true,
    });
    if (!this.bindingsCaughtUp) {
      await this.catchUpNewBindings(channel);
      this.bindingsCaughtUp = true;
    }
    this.channel = channel;
    // A halted consumer stays halted across reconnects: consuming again would only take the message it
    // cannot apply, put it back, and take it again, in a tight loop.
    if (this.counters.halted !== null) return;
    const { consumerTag } = await channel.consume(
      this.options.queue,
      (message) => {
        if (message === null) {
          this.logger.warn(`Consumer ${this.options.queue}: cancelled by the broker`);
          return;
        }
        if (this.batchSize > 1) this.enqueue(channel, message);
        else this.chain = this.chain.then(() => this.process(channel, message));
      },
      { noAck: false },
    );
    this.consumerTag = consumerTag;
    this.state.set('running');
  }

  /** A channel closed while the connection stays up (a channel-level error): open a new one. */
  private onChannelClosed(channel: ConfirmChannel): void {
    if (this.stopping || this.channel !== channel) return;
    // The connection's reconnect re-attaches this consumer; until then it consumes nothing.
    this.state.set('disconnected', 'channel closed');
    setTimeout(() => {
      if (this.stopping || this.channel !== channel || !this.options.connection.isConnected) return;
      this.options.connection
        .waitForConnection()
        .then((model) => this.attachChannel(model))
        .catch((error: unknown) => this.logger.error(`Consumer ${this.options.queue}: re-attach failed: ${errorMessage(error)}`));
    }, 500);
  }

  /**
   * Declared topology and catch-up. `consumer_bindings` holds the patterns this queue has caught up on.
   * Patterns not there yet (all of them for a new consumer) are bound on the broker already (so every
   * event the relay reads from now on reaches the queue); the event store is read from its start to its
   * end, and the events of those patterns applied in log order through the inbox (duplicates of what
   * the queue also has are skipped by it), in batches; then the patterns are recorded and consuming
   * starts. An event whose handler fails is not retried here: it and every later matching event are put
   * into the queue (properties as the relay's), where the usual retry, dead-letter or halt path takes them.
   * A consumer that has inbox rows but no recorded patterns ran before this table existed: its patterns
   * are recorded as they are, without a replay.
   */
  private async catchUpNewBindings(channel: ConfirmChannel): Promise<void> {
    const { pool, queue, bindings } = this.options;
    const store = this.options.eventStore;
    const exchange = this.topology.exchange;
    // In the shared messaging schema whatever schema the inbox is in: the relay reads every declaration there.
    const table = `${quoteSchema(DEFAULT_MESSAGING_SCHEMA)}.consumer_bindings`;
    const record = async (patterns: readonly string[]): Promise<void> => {
      await pool.query(
        `INSERT INTO ${table} (queue, exchange, pattern, single_active) SELECT $1, $2, p, $4 FROM unnest($3::text[]) AS p
         ON CONFLICT (queue, exchange, pattern) DO UPDATE SET single_active = EXCLUDED.single_active`,
        [queue, exchange, patterns, this.options.singleActiveConsumer ?? true],
      );
    };
    const { rows } = await pool.query<{ pattern: string }>(`SELECT pattern FROM ${table} WHERE queue = $1 AND exchange = $2`, [queue, exchange]);
    const recorded = new Set(rows.map((row) => row.pattern));
    const missing = bindings.filter((pattern) => !recorded.has(pattern));
    if (missing.length === 0) return;
    if (!store) {
      await record(missing);
      return;
    }
    if (recorded.size === 0) {
      const ran = await pool.query(`SELECT 1 FROM ${this.inboxTable} WHERE consumer = $1 LIMIT 1`, [this.consumerName]);
      if ((ran.rowCount ?? 0) > 0) {
        await record(missing);
        return;
      }
    }
    this.logger.log(`Consumer ${queue}: catching up on ${missing.join(', ')} from the event store`);
    const cutoff = this.options.catchUpCutoff ? await CatchUpCutoffFilter.open(pool, queue, exchange, missing, this.options.catchUpCutoff) : null;
    let after: string | null = null;
    let handOver = false;
    for (;;) {
      const events = await store.readAll({ after, maxCount: 500 });
      if (events.length === 0) break;
      after = events[events.length - 1].checkpoint;
      const ofNewPatterns = events.map((event) => eventMessage(event, `catch-up:${queue}`)).filter((m) => missing.some((pattern) => topicMatches(pattern, m.routingKey)));
      const matching = cutoff ? cutoff.keep(ofNewPatterns, missing) : ofNewPatterns;
      if (matching.length === 0) continue;
      const toQueue: EventMessage[] = handOver ? matching : await this.applyCaughtUp(matching);
      handOver = toQueue.length > 0;
      for (const message of toQueue) channel.sendToQueue(queue, message.content, { ...message.options, headers: this.publishHeaders.fill(message.options.headers ?? {}) });
      this.counters.caughtUp += toQueue.length;
      if (toQueue.length > 0) await channel.waitForConfirms();
    }
    for (const skip of cutoff ? await cutoff.finish() : []) {
      if (skip.skipped === 0) continue;
      this.counters.skippedByCutoff += skip.skipped;
      this.logger.warn(
        `Consumer ${queue}: catch-up on ${skip.pattern} skipped ${skip.skipped} events recorded before its cut-off ${skip.cutoff.toISOString()} (${skip.oldest?.toISOString()} .. ${skip.newest?.toISOString()}); recorded in messaging.catch_up_cutoffs, replay them with replaySkippedByCutoff if they must go out`,
      );
    }
    await record(missing);
    this.logger.log(`Consumer ${queue}: caught up on ${missing.join(', ')}: ${this.counters.caughtUp} events`);
  }

  /** Applies caught-up events in log order; returns those the queue must take (from the first that failed on), else none. */
  private async applyCaughtUp(messages: EventMessage[]): Promise<EventMessage[]> {
    const items = messages.map((m) => ({ envelope: m.envelope, delivery: { checkpoint: m.checkpoint, redelivered: false, catchUp: true } }));
    try {
      const outcome = await this.applyBatchUntilDatabaseAnswers(items);
      if (outcome === 'stopping') throw new Error('consumer stopping');
      this.counters.caughtUp += outcome.applied.length;
      return [];
    } catch (batchError) {
      if (this.stopping) throw batchError;
    }
    for (let i = 0; i < items.length; i++) {
      try {
        const applied = await this.applyUntilDatabaseAnswers(items[i].envelope, items[i].delivery);
        if (applied === 'stopping') throw new Error('consumer stopping');
        if (applied) this.counters.caughtUp++;
      } catch (error) {
        if (this.stopping) throw error;
        this.logger.warn(`Consumer ${this.options.queue}: event ${items[i].envelope.eventId} failed while catching up (${errorMessage(error)}); it and the later ones go through the queue`);
        return messages.slice(i);
      }
    }
    return [];
  }

  /** Batch mode: one drain at a time on the chain takes whatever has arrived meanwhile. */
  private enqueue(channel: ConfirmChannel, message: ConsumeMessage): void {
    this.waiting.push({ channel, message });
    if (this.batchScheduled) return;
    this.batchScheduled = true;
    this.chain = this.chain.then(() => this.drainWaiting());
  }

  private async drainWaiting(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const channel = this.waiting[0].channel;
        let count = 0;
        while (count < this.waiting.length && count < this.batchSize && this.waiting[count].channel === channel) count++;
        const messages = this.waiting.splice(0, count).map((w) => w.message);
        await this.processBatch(channel, messages);
      }
    } finally {
      this.batchScheduled = false;
    }
  }

  /** Applies the messages in one transaction; on any failure falls back to one by one. */
  private async processBatch(channel: ConfirmChannel, messages: ConsumeMessage[]): Promise<void> {
    const items = messages.length > 1 && this.counters.halted === null && !this.stopping ? this.parseAll(messages) : null;
    if (items) {
      try {
        const outcome = await this.applyBatchUntilDatabaseAnswers(items);
        if (outcome === 'stopping') return;
        for (const envelope of outcome.applied) this.applied(envelope);
        this.counters.duplicates += outcome.duplicates;
        channel.ack(messages[messages.length - 1], true);
        return;
      } catch (error) {
        this.logger.warn(`Consumer ${this.options.queue}: a batch of ${messages.length} failed (${errorMessage(error)}); applying its messages one by one`);
      }
    }
    for (const message of messages) await this.process(channel, message);
  }

  /** Envelopes and deliveries of the batch, or null when one is malformed (the one-by-one path dead-letters it). */
  private parseAll(messages: ConsumeMessage[]): BatchItem[] | null {
    const items: BatchItem[] = [];
    for (const message of messages) {
      const headers: Headers = message.properties.headers ?? {};
      try {
        items.push({ envelope: parseEnvelope(message.content), delivery: { checkpoint: headerString(headers, 'checkpoint') ?? null, redelivered: message.fields.redelivered, ...(headers[CATCH_UP_REPLAY_HEADER] !== undefined ? { catchUp: true } : {}) } });
      } catch {
        return null;
      }
    }
    return items;
  }

  private applyBatchUntilDatabaseAnswers(items: BatchItem[]): Promise<{ applied: EventEnvelope[]; duplicates: number } | 'stopping'> {
    return this.untilDatabaseAnswers(() => this.applyBatchOnce(items), `a batch of ${items.length}`);
  }

  /**
   * Runs `attempt` until the database answers: a lost connection is retried with backoff (state `retrying`,
   * one warning per outage), any other error is thrown; 'stopping' when the consumer stops meanwhile.
   */
  private async untilDatabaseAnswers<T>(attempt: () => Promise<T>, what: string): Promise<T | 'stopping'> {
    for (let outage = 0; ; outage++) {
      try {
        const outcome = await attempt();
        if (outage > 0) {
          this.state.set('running');
          this.logger.log(`Consumer ${this.options.queue}: database answers again, resumed`);
        }
        return outcome;
      } catch (error) {
        if (!isConnectionLoss(error)) throw error;
        if (this.stopping) return 'stopping';
        const reason = `database unavailable: ${errorMessage(error)}`;
        this.counters.lastError = reason;
        this.state.set('retrying', reason);
        if (outage === 0) this.logger.warn(`Consumer ${this.options.queue}: ${reason}; retrying ${what} until it answers`);
        await delay(backoffDelay(DATABASE_RETRY_BACKOFF, outage + 1));
      }
    }
  }


  /**
   * Opens the transaction and inserts the inbox rows in one round trip (a simple-protocol query of two
   * statements, BEGIN and the INSERT; the transaction stays open after it). Returns the ids that were new.
   * The values are quoted with `escapeLiteral`: the simple protocol has no parameters. On a loaded database
   * host every round trip before the handler is latency each event of the batch waits for.
   */
  private async beginAndRecord(client: PoolClient, eventIds: string[]): Promise<string[]> {
    const ids = eventIds.map((id) => escapeLiteral(id)).join(', ');
    const answer: unknown = await client.query(
      `BEGIN; INSERT INTO ${this.inboxTable} (consumer, event_id) SELECT ${escapeLiteral(this.consumerName)}, id FROM unnest(ARRAY[${ids}]::text[]) AS id ON CONFLICT DO NOTHING RETURNING event_id`,
    );
    const results = (Array.isArray(answer) ? answer : [answer]) as QueryResult<{ event_id: string }>[];
    const inserted = results[results.length - 1];
    return inserted.rows.map((row) => row.event_id);
  }

  /** One transaction: the batch's inbox rows in one INSERT, then the handlers of the new ones in order. */
  private async applyBatchOnce(items: BatchItem[]): Promise<{ applied: EventEnvelope[]; duplicates: number }> {
    const client = await this.options.pool.connect();
    let broken: Error | undefined;
    try {
      const fresh = new Set(await this.beginAndRecord(client, items.map((item) => item.envelope.eventId)));
      // In queue order; an event id twice in the batch (a redelivery) is applied at its first place.
      const toApply = items.filter((item) => fresh.delete(item.envelope.eventId));
      if (toApply.length > 0) {
        const batchHandler = this.options.batchHandler;
        if (batchHandler) {
          const first = toApply[0].envelope;
          await runTraced(
            {
              name: `consume ${this.options.queue}`,
              kind: 'consumer',
              carrier: { ...first.metadata },
              correlationId: first.metadata.correlationId,
              attributes: { 'messaging.system': 'rabbitmq', 'messaging.destination.name': this.options.queue, 'messaging.batch.message_count': toApply.length },
            },
            () => batchHandler(toApply, client),
          );
        } else {
          for (const { envelope, delivery } of toApply) {
            await runTraced(
              {
                name: `consume ${this.options.queue}`,
                kind: 'consumer',
                carrier: { ...envelope.metadata },
                correlationId: envelope.metadata.correlationId,
                attributes: { 'messaging.system': 'rabbitmq', 'messaging.destination.name': this.options.queue, 'dh.event.type': envelope.type, 'dh.event.id': envelope.eventId },
              },
              () => this.options.handler(envelope, client, delivery),
            );
          }
        }
      }
      await client.query('COMMIT');
      const applied = toApply.map((item) => item.envelope);
      if (applied.length > 0) this.committed(applied);
      return { applied, duplicates: items.length - toApply.length };
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = toError(rollbackError);
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  private async process(channel: ConfirmChannel, message: ConsumeMessage): Promise<void> {
    try {
      await this.processOne(channel, message);
    } catch (error) {
      // Not acknowledged: the broker redelivers it (the channel is usually gone at this point).
      this.counters.lastError = errorMessage(error);
      this.logger.warn(`Consumer ${this.options.queue}: message ${message.properties.messageId ?? '?'} left unacknowledged: ${errorMessage(error)}`);
    }
  }

  private async processOne(channel: ConfirmChannel, message: ConsumeMessage): Promise<void> {
    if (this.counters.halted !== null) {
      channel.nack(message, false, true);
      return;
    }
    const headers: Headers = message.properties.headers ?? {};
    const delivery: Delivery = { checkpoint: headerString(headers, 'checkpoint') ?? null, redelivered: message.fields.redelivered, ...(headers[CATCH_UP_REPLAY_HEADER] !== undefined ? { catchUp: true } : {}) };
    let envelope: EventEnvelope;
    try {
      envelope = parseEnvelope(message.content);
    } catch (error) {
      const reason = error instanceof MalformedMessageError ? error.message : `unreadable message: ${errorMessage(error)}`;
      await this.deadLetter(channel, message, reason, headerInt(headers, RETRY_COUNT_HEADER) + 1);
      channel.ack(message);
      return;
    }

    // The handler runs in the trace of the request that caused the event, with its correlation id.
    await runTraced(
      {
        name: `consume ${this.options.queue}`,
        kind: 'consumer',
        carrier: { ...envelope.metadata, ...headers },
        correlationId: envelope.metadata.correlationId,
        attributes: { 'messaging.system': 'rabbitmq', 'messaging.destination.name': this.options.queue, 'dh.event.type': envelope.type, 'dh.event.id': envelope.eventId },
      },
      () => this.handle(channel, message, envelope, delivery),
    );
  }

  private async handle(channel: ConfirmChannel, message: ConsumeMessage, envelope: EventEnvelope, delivery: Delivery): Promise<void> {
    const headers: Headers = message.properties.headers ?? {};
    if (this.options.onFailure === 'halt') {
      await this.applyInPlace(channel, message, envelope, delivery);
      return;
    }

    try {
      const applied = await this.applyUntilDatabaseAnswers(envelope, delivery);
      if (applied === 'stopping') return;
      if (applied) this.applied(envelope);
      else this.counters.duplicates++;
    } catch (error) {
      const failures = headerInt(headers, RETRY_COUNT_HEADER) + 1;
      const reason = errorMessage(error).slice(0, 1000);
      this.counters.lastError = reason;
      if (this.isPoison(error, envelope)) {
        this.logger.error(`Consumer ${this.options.queue}: event ${envelope.eventId} (${envelope.type}) can never be applied, dead-lettered: ${reason}`);
        await this.deadLetter(channel, message, `poison: ${reason}`, failures);
      } else if (failures >= this.maxAttempts) {
        this.logger.error(`Consumer ${this.options.queue}: event ${envelope.eventId} failed ${failures} times, dead-lettered: ${reason}`);
        await this.deadLetter(channel, message, reason, failures);
      } else {
        const wait = backoffDelay(this.options.backoff, failures);
        this.logger.warn(`Consumer ${this.options.queue}: event ${envelope.eventId} failed (attempt ${failures}/${this.maxAttempts}), retry in ${wait} ms: ${reason}`);
        await this.retry(channel, message, reason, failures, wait);
      }
    }
    channel.ack(message);
  }

  private isPoison(error: unknown, envelope: EventEnvelope): boolean {
    if (!this.options.isPoison || isConnectionLoss(error)) return false;
    try {
      return this.options.isPoison(error, envelope);
    } catch {
      return false;
    }
  }

  private applied(envelope: EventEnvelope): void {
    this.counters.applied++;
    this.options.connection.workers.recordLag({ name: this.options.queue, kind: 'consumer' }, envelope.recordedAt);
  }

  /** Strict order: retry the message where it is; after maxAttempts stop consuming and keep it queued. */
  private async applyInPlace(channel: ConfirmChannel, message: ConsumeMessage, envelope: EventEnvelope, delivery: Delivery): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const applied = await this.applyUntilDatabaseAnswers(envelope, delivery);
        if (applied === 'stopping') return;
        if (applied) this.applied(envelope);
        else this.counters.duplicates++;
        if (attempt > 1) this.state.set('running');
        // The broker went away after the commit (its channel is closed): the message is not the cause. The broker
        // hands it out again on the next channel, where the inbox finds it applied. Before, the failing ack counted
        // as a failed attempt, and a broker restart longer than the backoff halted the consumer.
        try {
          channel.ack(message);
        } catch (ackError) {
          this.logger.warn(`Consumer ${this.options.queue}: event ${envelope.eventId} applied, its ack failed (${errorMessage(ackError)}); redelivered on the next channel, the inbox skips it`);
        }
        return;
      } catch (error) {
        const reason = errorMessage(error).slice(0, 1000);
        this.counters.lastError = reason;
        if (this.isPoison(error, envelope)) {
          // Strict order holds for what can be applied: this message never can, so it is parked, not waited on.
          this.logger.error(`Consumer ${this.options.queue}: event ${envelope.eventId} (${envelope.type}) can never be applied, dead-lettered: ${reason}`);
          await this.deadLetter(channel, message, `poison: ${reason}`, attempt);
          channel.ack(message);
          if (attempt > 1) this.state.set('running');
          return;
        }
        if (attempt >= this.maxAttempts || this.stopping) {
          this.counters.halted = `event ${envelope.eventId} (${envelope.type}) failed ${attempt} times: ${reason}`;
          this.state.set('halted', this.counters.halted);
          this.logger.error(`Consumer ${this.options.queue} halted: ${this.counters.halted}`);
          channel.nack(message, false, true);
          if (this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
          return;
        }
        this.counters.retried++;
        const wait = backoffDelay(this.options.backoff, attempt);
        this.state.set('retrying', `event ${envelope.eventId} (${envelope.type}) failed ${attempt} times: ${reason}`);
        this.logger.warn(`Consumer ${this.options.queue}: event ${envelope.eventId} failed (attempt ${attempt}/${this.maxAttempts}), retrying in place in ${wait} ms: ${reason}`);
        await delay(wait);
      }
    }
  }

  /**
   * A lost database connection (restart, failover, terminated backend) is not the message's fault: it
   * is retried in place until the database answers again, without counting as a failed attempt, so an
   * outage neither dead-letters nor halts anything. Returns 'stopping' when the consumer stops meanwhile
   * (the message stays unacknowledged and is redelivered).
   */
  private applyUntilDatabaseAnswers(envelope: EventEnvelope, delivery: Delivery): Promise<boolean | 'stopping'> {
    return this.untilDatabaseAnswers(() => this.applyOnce(envelope, delivery), `event ${envelope.eventId}`);
  }


  /** Runs the handler in one transaction with the inbox row; false when the event was already applied. */
  private async applyOnce(envelope: EventEnvelope, delivery: Delivery): Promise<boolean> {
    const client = await this.options.pool.connect();
    let broken: Error | undefined;
    try {
      const inserted = await this.beginAndRecord(client, [envelope.eventId]);
      if (inserted.length === 0) {
        await client.query('COMMIT');
        return false;
      }
      await this.options.handler(envelope, client, delivery);
      await client.query('COMMIT');
      this.committed([envelope]);
      return true;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = toError(rollbackError);
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** After a commit that applied events: the consumer's `afterCommit`, kept from breaking the consumer. */
  private committed(applied: readonly EventEnvelope[]): void {
    const afterCommit = this.options.afterCommit;
    if (!afterCommit) return;
    try {
      afterCommit(applied);
    } catch (error) {
      this.logger.warn(`Consumer ${this.options.queue}: afterCommit failed: ${errorMessage(error)}`);
    }
  }

  private async retry(channel: ConfirmChannel, message: ConsumeMessage, reason: string, failures: number, wait: number): Promise<void> {
    const headers = carriedHeaders(message);
    headers[RETRY_COUNT_HEADER] = failures;
    headers[LAST_FAILURE_REASON_HEADER] = reason;
    headers[FIRST_FAILED_AT_HEADER] = headerString(headers, FIRST_FAILED_AT_HEADER) ?? new Date().toISOString();
    headers[ORIGINAL_EXCHANGE_HEADER] = headerString(headers, ORIGINAL_EXCHANGE_HEADER) ?? message.fields.exchange;
    headers[ORIGINAL_ROUTING_KEY_HEADER] = headerString(headers, ORIGINAL_ROUTING_KEY_HEADER) ?? message.fields.routingKey;
    channel.sendToQueue(this.topology.retryQueue, message.content, { ...republishOptions(message, this.publishHeaders.fill(headers)), expiration: String(wait) });
    await channel.waitForConfirms();
    this.counters.retried++;
  }

  private async deadLetter(channel: ConfirmChannel, message: ConsumeMessage, reason: string, failures: number): Promise<void> {
    const headers = carriedHeaders(message);
    headers[FAILURE_REASON_HEADER] = reason;
    headers[FAILURE_COUNT_HEADER] = failures;
    headers[FIRST_FAILED_AT_HEADER] = headerString(headers, FIRST_FAILED_AT_HEADER) ?? new Date().toISOString();
    headers[ORIGINAL_EXCHANGE_HEADER] = headerString(headers, ORIGINAL_EXCHANGE_HEADER) ?? message.fields.exchange;
    headers[ORIGINAL_ROUTING_KEY_HEADER] = headerString(headers, ORIGINAL_ROUTING_KEY_HEADER) ?? message.fields.routingKey;
    delete headers[LAST_FAILURE_REASON_HEADER];
    channel.publish(this.topology.deadLetterExchange, this.options.queue, message.content, republishOptions(message, this.publishHeaders.fill(headers)));
    await channel.waitForConfirms();
    this.counters.deadLettered++;
  }
}

/**
 * Consumes a durable queue bound to the event exchange. Per message: BEGIN; insert
 * (consumer, event_id) into `<schema>.inbox` (ON CONFLICT DO NOTHING: a redelivery commits
 * nothing and is acknowledged); run the handler on the same client; COMMIT; ack. A failing
 * handler is rolled back and the message re-published to `<queue>.retry` with an exponential
 * delay; after `maxAttempts` it goes to `<queue>.dlq` with `x-failure-reason`, `x-failure-count`
 * and `x-first-failed-at`. Malformed messages go to the DLQ at once. The original is acknowledged
 * only after the retry or dead-letter copy was confirmed by the broker.
 */
export async function startConsumer(options: ConsumerOptions): Promise<RunningConsumer> {
  const consumer = new InboxConsumer(options);
  await consumer.start();
  return consumer;
}
