import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { quoteSchema } from '@dh/messaging';
import { DEFAULT_WEBHOOKS_SCHEMA, migrateWebhooks } from './migrations';
import { SecretBox } from './secret-box';
import { generateWebhookSecret } from './signature';
import { validateEventTypes, validateTargetUrlResolved } from './target-url';
import { systemResolver, webhookTargetPolicyFromEnv, type HostResolver, type WebhookTargetPolicy } from './target-policy';

export interface WebhookSubscription {
  id: string;
  /** Who registered it (the gateway's owner key of the principal); only they see and manage it. */
  owner: string;
  url: string;
  /** Public routing keys, or `['*']`. */
  eventTypes: string[];
  active: boolean;
  createdAt: Date;
  deactivatedAt: Date | null;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'cancelled';

export interface DeliveryAttempt {
  attempt: number;
  trigger: 'automatic' | 'manual';
  startedAt: Date;
  durationMs: number;
  /** HTTP status, null when no response came (timeout, connection refused, ...). */
  statusCode: number | null;
  error: string | null;
}

export interface WebhookDelivery {
  id: string;
  subscriptionId: string;
  /** The event's id, sent as `Webhook-Id` on every attempt. */
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
  createdAt: Date;
  log: DeliveryAttempt[];
}

export interface WebhookStoreOptions {
  /** Key the subscription secrets are encrypted under (the service master key). */
  masterKey: Buffer;
  schema?: string;
  /** Where subscriptions may point. Default: `webhookTargetPolicyFromEnv()` (public addresses only in production). */
  policy?: WebhookTargetPolicy;
  /** For tests: how host names are resolved at registration. */
  resolver?: HostResolver;
}

interface SubscriptionRow {
  id: string;
  owner: string;
  url: string;
  event_types: string[];
  active: boolean;
  created_at: Date;
  deactivated_at: Date | null;
}

interface DeliveryRow {
  id: string;
  subscription_id: string;
  event_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: Date;
}

interface AttemptRow {
  delivery_id: string;
  attempt: number;
  trigger: 'automatic' | 'manual';
  started_at: Date;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function subscriptionOf(r: SubscriptionRow): WebhookSubscription {
  return { id: r.id, owner: r.owner, url: r.url, eventTypes: r.event_types, active: r.active, createdAt: r.created_at, deactivatedAt: r.deactivated_at };
}

function attemptOf(r: AttemptRow): DeliveryAttempt {
  return { attempt: r.attempt, trigger: r.trigger, startedAt: r.started_at, durationMs: r.duration_ms, statusCode: r.status_code, error: r.error };
}

const DELIVERY_COLUMNS = 'd.id, d.subscription_id, d.event_id, d.event_type, d.status, d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, d.delivered_at, d.created_at';

/**
 * Subscriptions and the delivery log, per owner. Every read and write takes the owner, so one
 * consumer can neither see nor touch another's subscriptions (both look like "not found").
 */
export class WebhookStore {
  private readonly s: string;
  private readonly schema: string;
  private readonly box: SecretBox;
  private readonly policy: WebhookTargetPolicy;
  private readonly resolver: HostResolver;

  constructor(
    private readonly pool: Pool,
    options: WebhookStoreOptions,
  ) {
    this.schema = options.schema ?? DEFAULT_WEBHOOKS_SCHEMA;
    this.s = quoteSchema(this.schema);
    this.box = new SecretBox(options.masterKey);
    this.policy = options.policy ?? webhookTargetPolicyFromEnv();
    this.resolver = options.resolver ?? systemResolver;
  }

  migrate(): Promise<void> {
    return migrateWebhooks(this.pool, this.schema);
  }

  /** Validates and stores a subscription; the clear secret is returned here and never again. Throws `WebhookValidationError`. */
  async register(owner: string, input: { url: string; eventTypes: readonly string[] }): Promise<{ subscription: WebhookSubscription; secret: string }> {
    const url = await validateTargetUrlResolved(input.url, this.policy, this.resolver);
    const eventTypes = validateEventTypes(input.eventTypes);
    const id = randomUUID();
    const secret = generateWebhookSecret();
    const { rows } = await this.pool.query<SubscriptionRow>(
      `INSERT INTO ${this.s}.subscriptions (id, owner, url, event_types, secret_sealed, secret_key_id) VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING id, owner, url, event_types, active, created_at, deactivated_at`,
      [id, owner, url, eventTypes, this.box.seal(secret, id), this.box.keyId],
    );
    return { subscription: subscriptionOf(rows[0]!), secret };
  }

  /** The owner's active subscriptions, oldest first. */
  async list(owner: string): Promise<WebhookSubscription[]> {
    const { rows } = await this.pool.query<SubscriptionRow>(
      `SELECT id, owner, url, event_types, active, created_at, deactivated_at FROM ${this.s}.subscriptions WHERE owner = $1 AND active ORDER BY created_at, id`,
      [owner],
    );
    return rows.map(subscriptionOf);
  }

  /** One of the owner's subscriptions, deleted ones included (their delivery log stays readable). */
  async get(owner: string, id: string): Promise<WebhookSubscription | null> {
    if (!UUID.test(id)) return null;
    const { rows } = await this.pool.query<SubscriptionRow>(
      `SELECT id, owner, url, event_types, active, created_at, deactivated_at FROM ${this.s}.subscriptions WHERE owner = $1 AND id = $2`,
      [owner, id],
    );
    return rows[0] ? subscriptionOf(rows[0]) : null;
  }

  /** Deactivates (soft-deletes) an active subscription; its pending deliveries are cancelled. False when not found or already deleted. */
  async deactivate(owner: string, id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const updated = await client.query(`UPDATE ${this.s}.subscriptions SET active = false, deactivated_at = now() WHERE owner = $1 AND id = $2 AND active`, [owner, id]);
      if (updated.rowCount === 1) {
        await client.query(`UPDATE ${this.s}.deliveries SET status = 'cancelled', next_attempt_at = NULL WHERE subscription_id = $1 AND status = 'pending'`, [id]);
      }
      await client.query('COMMIT');
      return updated.rowCount === 1;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** The delivery log of one of the owner's subscriptions, newest first; null when the subscription is not theirs. */
  async listDeliveries(owner: string, subscriptionId: string, options: { limit?: number } = {}): Promise<WebhookDelivery[] | null> {
    if ((await this.get(owner, subscriptionId)) === null) return null;
    const limit = Math.min(Math.max(1, options.limit ?? 50), 500);
    const { rows } = await this.pool.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM ${this.s}.deliveries d WHERE d.subscription_id = $1 ORDER BY d.created_at DESC, d.id LIMIT $2`,
      [subscriptionId, limit],
    );
    return this.withLogs(rows);
  }

  async getDelivery(owner: string, deliveryId: string): Promise<WebhookDelivery | null> {
    if (!UUID.test(deliveryId)) return null;
    const { rows } = await this.pool.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM ${this.s}.deliveries d JOIN ${this.s}.subscriptions s ON s.id = d.subscription_id WHERE d.id = $1 AND s.owner = $2`,
      [deliveryId, owner],
    );
    return (await this.withLogs(rows))[0] ?? null;
  }

  /**
   * Manual redelivery: the delivery (whatever its status) is due now, with a fresh cycle of retries;
   * the dispatcher sends the same body with the same `Webhook-Id`. Null when not the owner's;
   * `inactive` when the subscription was deleted.
   */
  async redeliver(owner: string, deliveryId: string): Promise<WebhookDelivery | 'inactive' | null> {
    if (!UUID.test(deliveryId)) return null;
    const { rows } = await this.pool.query<{ active: boolean }>(
      `SELECT s.active FROM ${this.s}.deliveries d JOIN ${this.s}.subscriptions s ON s.id = d.subscription_id WHERE d.id = $1 AND s.owner = $2`,
      [deliveryId, owner],
    );
    if (rows.length === 0) return null;
    if (!rows[0]!.active) return 'inactive';
    await this.pool.query(`UPDATE ${this.s}.deliveries SET status = 'pending', cycle_attempts = 0, manual_requested = true, next_attempt_at = now() WHERE id = $1`, [deliveryId]);
    return this.getDelivery(owner, deliveryId);
  }

  private async withLogs(rows: DeliveryRow[]): Promise<WebhookDelivery[]> {
    if (rows.length === 0) return [];
    const attempts = await this.pool.query<AttemptRow>(
      `SELECT delivery_id, attempt, trigger, started_at, duration_ms, status_code, error FROM ${this.s}.delivery_attempts WHERE delivery_id = ANY($1::uuid[]) ORDER BY delivery_id, attempt`,
      [rows.map((r) => r.id)],
    );
    const byDelivery = new Map<string, DeliveryAttempt[]>();
    for (const a of attempts.rows) {
      const list = byDelivery.get(a.delivery_id) ?? [];
      list.push(attemptOf(a));
      byDelivery.set(a.delivery_id, list);
    }
    return rows.map((r) => ({
      id: r.id,
      subscriptionId: r.subscription_id,
      eventId: r.event_id,
      eventType: r.event_type,
      status: r.status,
      attempts: r.attempts,
      nextAttemptAt: r.next_attempt_at,
      lastStatusCode: r.last_status_code,
      lastError: r.last_error,
      deliveredAt: r.delivered_at,
      createdAt: r.created_at,
      log: byDelivery.get(r.id) ?? [],
    }));
  }
}
