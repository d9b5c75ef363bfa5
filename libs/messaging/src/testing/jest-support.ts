import { connect, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import type { EventStore, RecordedEvent } from '@dh/event-store';
import { eventually, RABBITMQ_ADMIN_URL } from '@dh/testing';
import { assertEventExchange, DEFAULT_EVENT_EXCHANGE } from '../topology';

/** A raw observer queue bound on the event exchange, on its own connection (never killed by tests). */
export interface Observer {
  messages: ConsumeMessage[];
  model: ChannelModel;
  ids(): string[];
  close(): Promise<void>;
}

export async function observe(url: string, queue: string, patterns: string[] = ['#'], exchange = DEFAULT_EVENT_EXCHANGE): Promise<Observer> {
  const model = await connect(url);
  const channel = await model.createChannel();
  await assertEventExchange(channel, exchange);
  await channel.assertQueue(queue, { durable: true });
  for (const pattern of patterns) await channel.bindQueue(queue, exchange, pattern);
  const messages: ConsumeMessage[] = [];
  await channel.consume(queue, (message) => message && messages.push(message), { noAck: true });
  return {
    messages,
    model,
    ids: () => messages.map((m) => String(m.properties.messageId)),
    close: () => model.close().catch(() => undefined),
  };
}

/** The header objects handed to every confirm channel's `publish`, and what each encodes at the moment of its publish. */
export interface PublishHeaderRecorder {
  /** The objects themselves (amqplib makes each the prototype of its own table: one reused object is what we want). */
  tables: unknown[];
  /** What amqplib encodes from each, at its publish: the enumerable keys with a value. */
  encoded: Record<string, unknown>[];
  restore(): void;
}

/** Records the headers of every `publish` on the confirm channels of `connection`'s connection until `restore`. */
export async function recordPublishHeaders(connection: { waitForConnection(): Promise<ChannelModel> }): Promise<PublishHeaderRecorder> {
  const probe = await (await connection.waitForConnection()).createConfirmChannel();
  const prototype = Object.getPrototypeOf(probe) as ConfirmChannel;
  await probe.close();
  const own = Object.prototype.hasOwnProperty.call(prototype, 'publish');
  const original = prototype.publish;
  const tables: unknown[] = [];
  const encoded: Record<string, unknown>[] = [];
  prototype.publish = function (this: ConfirmChannel, ...args: Parameters<ConfirmChannel['publish']>) {
    const headers = (args[3] as { headers?: Record<string, unknown> } | undefined)?.headers ?? {};
    tables.push(headers);
    encoded.push(Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== undefined)));
    return original.apply(this, args);
  };
  return {
    tables,
    encoded,
    restore: () => {
      if (own) prototype.publish = original;
      else delete (prototype as Partial<ConfirmChannel>).publish;
    },
  };
}

async function management(method: 'GET' | 'DELETE', path: string): Promise<unknown> {
  const base = new URL(RABBITMQ_ADMIN_URL);
  const auth = Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64');
  base.username = '';
  base.password = '';
  const res = await fetch(new URL(path, base), { method, headers: { authorization: `Basic ${auth}` } });
  if (!res.ok) throw new Error(`RabbitMQ management ${method} ${path}: ${res.status}`);
  return method === 'GET' ? ((await res.json()) as unknown) : null;
}

/** Force-closes (as an operator or a broker restart would) the connection with this client-provided name. */
export async function killConnection(vhost: string, connectionName: string): Promise<void> {
  const name = await eventually(async () => {
    const list = await management('GET', `/api/vhosts/${encodeURIComponent(vhost)}/connections`);
    const found = Array.isArray(list)
      ? list.find((c: unknown) => typeof c === 'object' && c !== null && 'user_provided_name' in c && c.user_provided_name === connectionName)
      : undefined;
    if (!found || typeof found !== 'object' || !('name' in found) || typeof found.name !== 'string') throw new Error(`connection ${connectionName} not listed yet`);
    return found.name;
  }, 15_000, 200);
  await management('DELETE', `/api/connections/${encodeURIComponent(name)}`);
}

export async function queueInfo(vhost: string, queue: string): Promise<{ messages: number; arguments: Record<string, unknown> }> {
  const info = await management('GET', `/api/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}`);
  if (typeof info !== 'object' || info === null) throw new Error(`queue ${queue}: no info`);
  const messages = 'messages' in info && typeof info.messages === 'number' ? info.messages : 0;
  const args = 'arguments' in info && typeof info.arguments === 'object' && info.arguments !== null ? (info.arguments as Record<string, unknown>) : {};
  return { messages, arguments: args };
}

export async function queueDepth(vhost: string, queue: string): Promise<number> {
  const info = await management('GET', `/api/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}`);
  if (typeof info === 'object' && info !== null && 'messages' in info && typeof info.messages === 'number') return info.messages;
  return 0;
}

let counter = 0;

/** Appends `count` events round-robin over three streams, one append each, so the global order is the append order. */
export async function appendEvents(store: EventStore, count: number, context = 'portfolio'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const eventId = randomUUID();
    counter++;
    await store.appendToStream(
      `customer-${counter % 3}`,
      [
        {
          eventId,
          type: 'CustomerCreated',
          data: { n: counter },
          metadata: { correlationId: `corr-${counter}`, causationId: null, actor: 'test', schemaVersion: 1, context },
          occurredAt: new Date('2026-01-01T00:00:00Z'),
        },
      ],
      { expectedRevision: 'any' },
    );
    ids.push(eventId);
  }
  return ids;
}

/**
 * The whole log once `count` events are visible (the PostgreSQL adapter withholds events behind
 * transactions still in flight anywhere in the cluster, so a read right after an append can lag).
 */
export async function allEvents(store: EventStore, count: number): Promise<RecordedEvent[]> {
  return eventually(async () => {
    const events = await store.readAll({});
    if (events.length !== count) throw new Error(`${events.length} of ${count} events visible`);
    return events;
  });
}

export function countBy(ids: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}
