import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { EventStore } from '@dh/event-store';
import {
  catchUpCutoffFromEnv,
  consoleMessagingLogger,
  DEFAULT_EVENT_EXCHANGE,
  errorMessage,
  PUBLIC_EVENT_ROUTING_KEYS,
  quoteSchema,
  serializeEnvelope,
  startConsumer,
  type AmqpConnection,
  type CatchUpCutoff,
  type Delivery,
  type EventEnvelope,
  type MessagingLogger,
  type RunningConsumer,
} from '@dh/messaging';
import { DEFAULT_RETRY_POLICY, retryDelayMs, type RetryPolicy } from './backoff';
import { DEFAULT_WEBHOOKS_SCHEMA, migrateWebhooks } from './migrations';
import { SecretBox } from './secret-box';
import { signWebhook, WEBHOOK_ATTEMPT_HEADER, WEBHOOK_EVENT_HEADER, WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER } from './signature';
import { ALL_EVENT_TYPES } from './target-url';
import { postWebhook, type PostOutcome } from './post-webhook';
import { webhookTargetPolicyFromEnv, type HostResolver, type WebhookTargetPolicy } from './target-policy';

export const WEBHOOK_DISPATCHER_QUEUE = 'webhooks.dispatcher';

export interface WebhookDispatcherOptions {
  pool: Pool;
  connection: AmqpConnection;
  /** Key the subscription secrets are encrypted under (the service master key). */
  masterKey: Buffer;
  /** During a master-key rotation: the keys being replaced (`PII_PREVIOUS_MASTER_KEYS`). */
  previousMasterKeys?: readonly Buffer[];
  exchange?: string;
  schema?: string;
  /** Queue (and inbox consumer name). Default `webhooks.dispatcher`. */
  queue?: string;
  /**
   * The event store the relay publishes from. With it, a binding new to the queue (a fresh deployment, a public
   * event type added by a release) is caught up from the store: those events are enqueued for the subscriptions that
   * existed when each was recorded (a subscription is not sent the history from before it).
   */
  eventStore?: EventStore;
  /**
   * How far back a catch-up on a binding new to the queue goes (this consumer acts outside: a subscriber is not
   * sent years of history). Default from the environment, `catchUpCutoffFromEnv` (a day before the binding first appears).
   */
  catchUpCutoff?: CatchUpCutoff;
  /** For tests: the routing keys an earlier release bound (default: every public event's). */
  bindings?: readonly string[];
  retry?: Partial<RetryPolicy>;
  /** Per request. Default 10 000 ms. */
  timeoutMs?: number;
  /** How often due deliveries are looked for. Default 500 ms. */
  pollIntervalMs?: number;
  /** Deliveries sent at once. Default 8. */
  concurrency?: number;
  logger?: MessagingLogger;
  /** Where deliveries may go, checked again at every send. Default: `webhookTargetPolicyFromEnv()`. */
  policy?: WebhookTargetPolicy;
  /** For tests: how host names resolve at send time. */
  resolver?: HostResolver;
  /** For tests: the jitter's random source. */
  random?: () => number;
}

export interface WebhookDispatcherStats {
  enqueued: number;
  succeeded: number;
  failedAttempts: number;
  exhausted: number;
  lastError: string | null;
}

export interface WebhookDispatcher {
  /** Looks for due deliveries now instead of at the next poll. */
  kick(): void;
  stats(): WebhookDispatcherStats & { consumer: ReturnType<RunningConsumer['stats']> };
  stop(): Promise<void>;
}

interface DueRow {
  id: string;
  subscription_id: string;
  event_id: string;
  event_type: string;
  body: string;
  attempts: number;
  cycle_attempts: number;
  manual_requested: boolean;
  url: string;
  secret_sealed: Buffer;
  active: boolean;
}

/** Routing key of a public event type, or null for every other event. */
export function publicRoutingKey(type: string): string | null {
  return Object.prototype.hasOwnProperty.call(PUBLIC_EVENT_ROUTING_KEYS, type) ? PUBLIC_EVENT_ROUTING_KEYS[type]! : null;
}

const MAX_ERROR_LENGTH = 500;

class Dispatcher implements WebhookDispatcher {
  private readonly s: string;
  private readonly box: SecretBox;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly concurrency: number;
  private readonly logger: MessagingLogger;
  private readonly targets: WebhookTargetPolicy;
  private consumer: RunningConsumer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopping = false;
  private readonly counters: WebhookDispatcherStats = { enqueued: 0, succeeded: 0, failedAttempts: 0, exhausted: 0, lastError: null };

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.s = quoteSchema(options.schema ?? DEFAULT_WEBHOOKS_SCHEMA);
    this.box = new SecretBox(options.masterKey, options.previousMasterKeys ?? []);
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.concurrency = Math.max(1, options.concurrency ?? 8);
    this.logger = options.logger ?? consoleMessagingLogger;
    this.targets = options.policy ?? webhookTargetPolicyFromEnv();
  }

  async start(): Promise<void> {
    await migrateWebhooks(this.options.pool, this.options.schema ?? DEFAULT_WEBHOOKS_SCHEMA);
    this.consumer = await startConsumer({
      connection: this.options.connection,
      pool: this.options.pool,
      queue: this.options.queue ?? WEBHOOK_DISPATCHER_QUEUE,
      bindings: this.options.bindings ?? Object.values(PUBLIC_EVENT_ROUTING_KEYS),
      exchange: this.options.exchange ?? DEFAULT_EVENT_EXCHANGE,
      ...(this.options.eventStore ? { eventStore: this.options.eventStore } : {}),
      catchUpCutoff: this.options.catchUpCutoff ?? catchUpCutoffFromEnv(process.env, this.options.queue ?? WEBHOOK_DISPATCHER_QUEUE),
      handler: (envelope, tx, delivery) => this.enqueue(envelope, tx, delivery),
      // The deliveries are visible once the inbox transaction commits.
      afterCommit: () => this.kick(),
      // Enqueueing is independent per event; order is not promised to receivers anyway.
      singleActiveConsumer: false,
      logger: this.logger,
    });
    this.schedule(0);
  }

  kick(): void {
    if (this.stopping) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  stats(): WebhookDispatcherStats & { consumer: ReturnType<RunningConsumer['stats']> } {
    return { ...this.counters, consumer: this.consumer!.stats() };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.consumer?.stop();
    await this.running;
  }

  /** Inside the inbox transaction: one delivery row per matching active subscription (unique per subscription and event). */
  private async enqueue(envelope: EventEnvelope, tx: PoolClient, delivery: Delivery): Promise<void> {
    const routingKey = publicRoutingKey(envelope.type);
    if (routingKey === null) return;
    const body = serializeEnvelope(envelope).toString('utf8');
    // Caught up from the event store (published before this queue had the binding): only the subscriptions that
    // existed when the event was recorded, as if it had come through the queue then.
    const { rows } = await tx.query<{ id: string }>(
      `SELECT id FROM ${this.s}.subscriptions WHERE active AND event_types && $1::text[] AND ($2::timestamptz IS NULL OR created_at <= $2::timestamptz)`,
      [[routingKey, ALL_EVENT_TYPES], delivery.catchUp ? envelope.recordedAt : null],
    );
    for (const { id } of rows) {
      const inserted = await tx.query(
        `INSERT INTO ${this.s}.deliveries (id, subscription_id, event_id, event_type, body, status, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', now()) ON CONFLICT (subscription_id, event_id) DO NOTHING`,
        [randomUUID(), id, envelope.eventId, routingKey, body],
      );
      this.counters.enqueued += inserted.rowCount ?? 0;
    }
  }

  private schedule(ms: number): void {
    if (this.stopping) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.pass().finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.schedule(0);
        } else {
          this.schedule(this.pollIntervalMs);
        }
      });
    }, ms);
    this.timer.unref();
  }

  /** Claims due deliveries in batches and sends them until none is due. */
  private async pass(): Promise<void> {
    try {
      for (;;) {
        if (this.stopping) return;
        const due = await this.claim();
        if (due.length === 0) return;
        await Promise.all(due.map((row) => this.attempt(row)));
      }
    } catch (error) {
      this.counters.lastError = errorMessage(error);
      this.logger.error(`Webhook dispatcher: ${errorMessage(error)}`);
    }
  }

  /**
   * Takes up to `concurrency` due deliveries and leases them (next_attempt_at moved past the request
   * timeout) so another dispatcher instance does not send them at the same time; a crash mid-request
   * makes them due again when the lease ends.
   */
  private async claim(): Promise<DueRow[]> {
    const leaseSeconds = Math.ceil(this.timeoutMs / 1000) + 30;
    const { rows } = await this.options.pool.query<DueRow>(
      `WITH due AS (
         SELECT id FROM ${this.s}.deliveries
         WHERE status = 'pending' AND next_attempt_at <= now()
         ORDER BY next_attempt_at, created_at
         LIMIT $1
         FOR UPDATE SKIP LOCKED
       )
       UPDATE ${this.s}.deliveries d SET next_attempt_at = now() + make_interval(secs => $2)
       FROM due, ${this.s}.subscriptions s
       WHERE d.id = due.id AND s.id = d.subscription_id
       RETURNING d.id, d.subscription_id, d.event_id, d.event_type, d.body, d.attempts, d.cycle_attempts, d.manual_requested, s.url, s.secret_sealed, s.active`,
      [this.concurrency, leaseSeconds],
    );
    return rows;
  }

  private async attempt(row: DueRow): Promise<void> {
    if (!row.active) {
      await this.options.pool.query(`UPDATE ${this.s}.deliveries SET status = 'cancelled', next_attempt_at = NULL WHERE id = $1`, [row.id]);
      return;
    }
    const attemptNo = row.attempts + 1;
    const startedAt = new Date();
    const timestamp = Math.floor(startedAt.getTime() / 1000);
    let statusCode: number | null = null;
    let error: string | null = null;
    const outcome = await this.send(row, attemptNo, timestamp);
    if ('statusCode' in outcome) {
      statusCode = outcome.statusCode;
      if (statusCode < 200 || statusCode > 299) error = `HTTP ${statusCode}`;
    } else {
      // The subscriber sees a generic word; the cause stays in our log.
      error = outcome.error;
      this.logger.warn(`Webhook delivery ${row.id} attempt ${attemptNo}: ${outcome.error} (${outcome.internal})`);
    }
    const durationMs = Date.now() - startedAt.getTime();
    await this.record(row, attemptNo, startedAt, durationMs, statusCode, error === null ? null : error.slice(0, MAX_ERROR_LENGTH));
  }

  private async send(row: DueRow, attemptNo: number, timestamp: number): Promise<PostOutcome> {
    try {
      const secret = this.box.open(row.secret_sealed, row.subscription_id);
      return await postWebhook(row.url, {
        timeoutMs: this.timeoutMs,
        policy: this.targets,
        ...(this.options.resolver ? { resolver: this.options.resolver } : {}),
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'dh-webhooks/1',
          [WEBHOOK_ID_HEADER]: row.event_id,
          [WEBHOOK_TIMESTAMP_HEADER]: String(timestamp),
          [WEBHOOK_SIGNATURE_HEADER]: signWebhook(secret, timestamp, row.body),
          [WEBHOOK_EVENT_HEADER]: row.event_type,
          [WEBHOOK_ATTEMPT_HEADER]: String(attemptNo),
        },
        body: row.body,
      });
    } catch (caught) {
      return { error: 'internal error', internal: errorMessage(caught) };
    }
  }

  private async record(row: DueRow, attemptNo: number, startedAt: Date, durationMs: number, statusCode: number | null, error: string | null): Promise<void> {
    const client = await this.options.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO ${this.s}.delivery_attempts (delivery_id, attempt, trigger, started_at, duration_ms, status_code, error) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT DO NOTHING`,
        [row.id, attemptNo, row.manual_requested ? 'manual' : 'automatic', startedAt, durationMs, statusCode, error],
      );
      if (error === null) {
        await client.query(
          `UPDATE ${this.s}.deliveries SET status = 'succeeded', attempts = $2, cycle_attempts = cycle_attempts + 1, manual_requested = false, next_attempt_at = NULL,
             last_attempt_at = $3, last_status_code = $4, last_error = NULL, delivered_at = now() WHERE id = $1`,
          [row.id, attemptNo, startedAt, statusCode],
        );
        this.counters.succeeded++;
      } else {
        const cycleFailures = row.cycle_attempts + 1;
        const exhausted = cycleFailures >= this.policy.maxAttempts;
        const waitMs = exhausted ? null : retryDelayMs(this.policy, cycleFailures, this.options.random);
        await client.query(
          `UPDATE ${this.s}.deliveries SET status = $2, attempts = $3, cycle_attempts = $4, manual_requested = false,
             next_attempt_at = CASE WHEN $5::double precision IS NULL THEN NULL ELSE now() + make_interval(secs => $5::double precision / 1000) END,
             last_attempt_at = $6, last_status_code = $7, last_error = $8 WHERE id = $1`,
          [row.id, exhausted ? 'failed' : 'pending', attemptNo, cycleFailures, waitMs, startedAt, statusCode, error],
        );
        this.counters.failedAttempts++;
        if (exhausted) {
          this.counters.exhausted++;
          this.logger.warn(`Webhook delivery ${row.id} (event ${row.event_id}) failed ${cycleFailures} times, giving up: ${error}`);
        }
      }
      await client.query('COMMIT');
    } catch (caught) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw caught;
    } finally {
      client.release();
    }
  }
}

/**
 * Starts the webhook dispatcher: an inbox consumer on the public routing keys that records one
 * delivery per (subscription, event) — exactly once, however often RabbitMQ redelivers — and a loop
 * that sends due deliveries (signed, with a timeout), logs every attempt and reschedules failures
 * with exponential backoff and jitter until `retry.maxAttempts`.
 */
export async function startWebhookDispatcher(options: WebhookDispatcherOptions): Promise<WebhookDispatcher> {
  const dispatcher = new Dispatcher(options);
  await dispatcher.start();
  return dispatcher;
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

/**
 * Tuning from the environment: `WEBHOOK_MAX_ATTEMPTS`, `WEBHOOK_RETRY_INITIAL_MS`,
 * `WEBHOOK_RETRY_MAX_MS`, `WEBHOOK_TIMEOUT_MS`, `WEBHOOK_POLL_MS` (all optional).
 */
export function webhookDispatcherSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<WebhookDispatcherOptions, 'retry' | 'timeoutMs' | 'pollIntervalMs'> {
  const retry: Partial<RetryPolicy> = {};
  const maxAttempts = envInt(env, 'WEBHOOK_MAX_ATTEMPTS');
  const initialDelayMs = envInt(env, 'WEBHOOK_RETRY_INITIAL_MS');
  const maxDelayMs = envInt(env, 'WEBHOOK_RETRY_MAX_MS');
  if (maxAttempts !== undefined) retry.maxAttempts = Math.max(1, maxAttempts);
  if (initialDelayMs !== undefined) retry.initialDelayMs = initialDelayMs;
  if (maxDelayMs !== undefined) retry.maxDelayMs = maxDelayMs;
  const settings: Pick<WebhookDispatcherOptions, 'retry' | 'timeoutMs' | 'pollIntervalMs'> = { retry };
  const timeoutMs = envInt(env, 'WEBHOOK_TIMEOUT_MS');
  const pollIntervalMs = envInt(env, 'WEBHOOK_POLL_MS');
  if (timeoutMs !== undefined) settings.timeoutMs = Math.max(1, timeoutMs);
  if (pollIntervalMs !== undefined) settings.pollIntervalMs = Math.max(10, pollIntervalMs);
  return settings;
}
