import { createHash } from 'node:crypto';
import type { ConfirmChannel, GetMessage } from 'amqplib';
import type { Pool } from 'pg';
import type { AmqpConnection } from './amqp-connection';
import { ensureMessagingTables, DEFAULT_MESSAGING_SCHEMA, runDdlUnderLock } from './schema';
import {
  FAILURE_COUNT_HEADER,
  FAILURE_REASON_HEADER,
  FIRST_FAILED_AT_HEADER,
  LAST_FAILURE_REASON_HEADER,
  ORIGINAL_ROUTING_KEY_HEADER,
  RETRY_COUNT_HEADER,
} from './inbox-consumer';

/**
 * Operators' hands on the dead-letter queues (`<queue>.dlq`): which consumer queues have one and how
 * many messages wait there, a look at the messages (taken and put back: nothing is consumed), replay
 * of one message to its consumer's queue alone, and discard with a reason. A discarded message is
 * kept in `messaging.discarded_dead_letters` (body, headers, reason, who) before it leaves the queue:
 * bad input is set aside, never dropped.
 *
 * The consumers register their queues in `messaging.consumer_queues` when they start, so a gateway
 * finds every DLQ of the deployment without RabbitMQ's management API.
 */

export const REPLAYED_AT_HEADER = 'x-replayed-at';
export const REPLAYED_BY_HEADER = 'x-replayed-by';
/** How far into a DLQ a look, a replay or a discard reaches. */
export const MAX_DEAD_LETTER_SCAN = 1000;

const schema = DEFAULT_MESSAGING_SCHEMA;

const DDL_LOCK_KEY = 0x64686471; // 'dhdq'

async function createDeadLetterTables(pool: Pool): Promise<void> {
  await ensureMessagingTables(pool, schema);
  await runDdlUnderLock(pool, DDL_LOCK_KEY, `
    CREATE TABLE IF NOT EXISTS ${schema}.consumer_queues (
      queue text PRIMARY KEY,
      dead_letter_queue text NOT NULL,
      consumer text NOT NULL,
      registered_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS ${schema}.discarded_dead_letters (
      queue text NOT NULL,
      message_id text NOT NULL,
      type text,
      routing_key text,
      headers jsonb NOT NULL,
      body text NOT NULL,
      failure_reason text,
      reason text NOT NULL,
      discarded_by text NOT NULL,
      discarded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (queue, message_id)
    );`);
}

const registryReady = new WeakMap<Pool, Promise<void>>();

/** Creates the registry and the discard log once per pool. */
export function ensureDeadLetterTables(pool: Pool): Promise<void> {
  let ready = registryReady.get(pool);
  if (!ready) {
    ready = createDeadLetterTables(pool).catch((error: unknown) => {
      registryReady.delete(pool);
      throw error;
    });
    registryReady.set(pool, ready);
  }
  return ready;
}

/** Called by every consumer when it starts: its queue and DLQ become visible to operators. */
export async function registerConsumerQueue(pool: Pool, entry: { queue: string; deadLetterQueue: string; consumer: string }): Promise<void> {
  await ensureDeadLetterTables(pool);
  await pool.query(
    `INSERT INTO ${schema}.consumer_queues (queue, dead_letter_queue, consumer) VALUES ($1, $2, $3)
     ON CONFLICT (queue) DO UPDATE SET dead_letter_queue = EXCLUDED.dead_letter_queue, consumer = EXCLUDED.consumer, registered_at = now()`,
    [entry.queue, entry.deadLetterQueue, entry.consumer],
  );
}

export interface DeadLetterQueueInfo {
  queue: string;
  dead_letter_queue: string;
  consumer: string;
  /** Messages waiting in the DLQ (null: the DLQ does not exist on this broker). */
  messages: number | null;
}

export interface DeadLetterView {
  /** The message id (the event id), or `sha256:<16 hex>` of the body when the message has none. */
  id: string;
  type: string | null;
  routing_key: string | null;
  failure_reason: string | null;
  failure_count: number | null;
  first_failed_at: string | null;
  replayed_at: string | null;
  body: string;
}

export class DeadLetterError extends Error {
  constructor(
    readonly code: 'unknown-queue' | 'message-not-found',
    message: string,
  ) {
    super(message);
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null);

export function deadLetterId(message: Pick<GetMessage, 'content' | 'properties'>): string {
  const id = str(message.properties.messageId);
  return id && id !== '' ? id : `sha256:${createHash('sha256').update(message.content).digest('hex').slice(0, 16)}`;
}

function viewOf(message: GetMessage): DeadLetterView {
  const h = message.properties.headers ?? {};
  return {
    id: deadLetterId(message),
    type: str(message.properties.type),
    routing_key: str(h[ORIGINAL_ROUTING_KEY_HEADER]) ?? message.fields.routingKey,
    failure_reason: str(h[FAILURE_REASON_HEADER]),
    failure_count: num(h[FAILURE_COUNT_HEADER]),
    first_failed_at: str(h[FIRST_FAILED_AT_HEADER]),
    replayed_at: str(h[REPLAYED_AT_HEADER]),
    body: message.content.toString('utf8'),
  };
}

export class DeadLetterQueues {
  constructor(
    private readonly connection: AmqpConnection,
    private readonly pool: Pool,
  ) {}

  async list(): Promise<DeadLetterQueueInfo[]> {
    await ensureDeadLetterTables(this.pool);
    const { rows } = await this.pool.query<{ queue: string; dead_letter_queue: string; consumer: string }>(`SELECT queue, dead_letter_queue, consumer FROM ${schema}.consumer_queues ORDER BY queue`);
    const result: DeadLetterQueueInfo[] = [];
    for (const row of rows) {
      // A missing queue closes the channel it was checked on: one channel per check.
      const channel = await this.connection.createChannel();
      let messages: number | null = null;
      try {
        messages = (await channel.checkQueue(row.dead_letter_queue)).messageCount;
      } catch {
        messages = null;
      } finally {
        await channel.close().catch(() => undefined);
      }
      result.push({ ...row, messages });
    }
    return result;
  }

  /** Up to `limit` messages from the head of the queue's DLQ, put back as they were (nothing is consumed). */
  async peek(queue: string, limit = 50): Promise<DeadLetterView[]> {
    const dlq = await this.dlqOf(queue);
    return this.withChannel(async (channel) => {
      const views: DeadLetterView[] = [];
      for (let i = 0; i < Math.min(limit, MAX_DEAD_LETTER_SCAN); i++) {
        const message = await channel.get(dlq, { noAck: false });
        if (message === false) break;
        views.push(viewOf(message));
      }
      return views;
    });
  }

  async get(queue: string, id: string): Promise<DeadLetterView> {
    const dlq = await this.dlqOf(queue);
    return this.withChannel(async (channel) => viewOf(await this.find(channel, queue, dlq, id)));
  }

  /**
   * Sends the message back to its consumer's queue only (not the exchange: other consumers applied it
   * already), with its retry count reset and `x-replayed-at`/`x-replayed-by` set, then removes it
   * from the DLQ once the broker confirmed the copy.
   */
  async replay(queue: string, id: string, actor: string): Promise<DeadLetterView> {
    const dlq = await this.dlqOf(queue);
    return this.withChannel(async (channel) => {
      const message = await this.find(channel, queue, dlq, id);
      const headers: Record<string, unknown> = { ...(message.properties.headers ?? {}) };
      for (const name of [RETRY_COUNT_HEADER, FAILURE_COUNT_HEADER, LAST_FAILURE_REASON_HEADER]) delete headers[name];
      headers[REPLAYED_AT_HEADER] = new Date().toISOString();
      headers[REPLAYED_BY_HEADER] = actor;
      const p = message.properties;
      channel.sendToQueue(queue, message.content, {
        persistent: true,
        headers,
        ...(p.messageId !== undefined ? { messageId: p.messageId as string } : {}),
        ...(p.type !== undefined ? { type: p.type as string } : {}),
        ...(p.contentType !== undefined ? { contentType: p.contentType as string } : {}),
        ...(p.correlationId !== undefined ? { correlationId: p.correlationId as string } : {}),
        ...(p.timestamp !== undefined ? { timestamp: p.timestamp as number } : {}),
        ...(p.appId !== undefined ? { appId: p.appId as string } : {}),
      });
      await channel.waitForConfirms();
      channel.ack(message);
      return viewOf(message);
    });
  }

  /** Keeps the message with the reason in `messaging.discarded_dead_letters`, then removes it from the DLQ. */
  async discard(queue: string, id: string, reason: string, actor: string): Promise<DeadLetterView> {
    const dlq = await this.dlqOf(queue);
    return this.withChannel(async (channel) => {
      const message = await this.find(channel, queue, dlq, id);
      const view = viewOf(message);
      const headers = JSON.parse(JSON.stringify(message.properties.headers ?? {}, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('utf8') : v))) as unknown;
      await this.pool.query(
        `INSERT INTO ${schema}.discarded_dead_letters (queue, message_id, type, routing_key, headers, body, failure_reason, reason, discarded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (queue, message_id) DO NOTHING`,
        [queue, view.id, view.type, view.routing_key, JSON.stringify(headers), view.body, view.failure_reason, reason, actor],
      );
      channel.ack(message);
      return view;
    });
  }

  /** Messages discarded from a queue's DLQ, newest first. */
  async discarded(queue: string, limit = 100): Promise<(DeadLetterView & { reason: string; discarded_by: string; discarded_at: string })[]> {
    await this.dlqOf(queue);
    const { rows } = await this.pool.query<{ message_id: string; type: string | null; routing_key: string | null; headers: Record<string, unknown>; body: string; failure_reason: string | null; reason: string; discarded_by: string; discarded_at: Date }>(
      `SELECT message_id, type, routing_key, headers, body, failure_reason, reason, discarded_by, discarded_at FROM ${schema}.discarded_dead_letters WHERE queue = $1 ORDER BY discarded_at DESC LIMIT $2`,
      [queue, limit],
    );
    return rows.map((r) => ({
      id: r.message_id,
      type: r.type,
      routing_key: r.routing_key,
      failure_reason: r.failure_reason,
      failure_count: num(r.headers[FAILURE_COUNT_HEADER]),
      first_failed_at: str(r.headers[FIRST_FAILED_AT_HEADER]),
      replayed_at: str(r.headers[REPLAYED_AT_HEADER]),
      body: r.body,
      reason: r.reason,
      discarded_by: r.discarded_by,
      discarded_at: r.discarded_at.toISOString(),
    }));
  }

  private async dlqOf(queue: string): Promise<string> {
    await ensureDeadLetterTables(this.pool);
    const { rows } = await this.pool.query<{ dead_letter_queue: string }>(`SELECT dead_letter_queue FROM ${schema}.consumer_queues WHERE queue = $1`, [queue]);
    if (!rows[0]) throw new DeadLetterError('unknown-queue', `No consumer queue ${queue} is registered`);
    return rows[0].dead_letter_queue;
  }

  /** Takes messages from the head until the one with this id; the others go back when the channel closes. */
  private async find(channel: ConfirmChannel, queue: string, dlq: string, id: string): Promise<GetMessage> {
    for (let i = 0; i < MAX_DEAD_LETTER_SCAN; i++) {
      const message = await channel.get(dlq, { noAck: false });
      if (message === false) break;
      if (deadLetterId(message) === id) return message;
    }
    throw new DeadLetterError('message-not-found', `No message ${id} in the first ${MAX_DEAD_LETTER_SCAN} of ${queue}'s dead-letter queue`);
  }

  /** Unacknowledged messages return to the queue when the channel closes (the look leaves them in place). */
  private async withChannel<T>(work: (channel: ConfirmChannel) => Promise<T>): Promise<T> {
    const channel = await this.connection.createConfirmChannel();
    try {
      return await work(channel);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }
}
