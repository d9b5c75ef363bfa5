import type { Channel } from 'amqplib';

/**
 * RabbitMQ topology of the event bus. Works on plain RabbitMQ 3.10 without plugins:
 *
 * - `domain.events`: durable topic exchange the relay publishes every event to.
 * - `domain.events.dlx`: durable direct exchange for dead letters.
 * - per consumer queue `<q>`: durable, bound to the topic exchange with its patterns,
 *   `x-dead-letter-exchange = domain.events.dlx`, `x-dead-letter-routing-key = <q>`, and for projections
 *   `x-single-active-consumer = true` (one consumer at a time keeps the queue's order).
 * - `<q>.dlq`: durable, bound on the DLX with routing key `<q>`; poison messages end here.
 * - `<q>.retry`: durable, no consumer; a failed message is re-published here with a per-message
 *   `expiration` (the backoff). When it expires RabbitMQ dead-letters it through the default exchange
 *   back to `<q>` (`x-dead-letter-exchange = ''`, `x-dead-letter-routing-key = <q>`), so only this
 *   consumer sees the retry. Expiry happens at the queue head, so a short backoff can wait behind a
 *   longer one: bounded by the largest backoff, never lost.
 */

export const DEFAULT_EVENT_EXCHANGE = 'domain.events';

export function deadLetterExchangeName(exchange: string): string {
  return `${exchange}.dlx`;
}

export function deadLetterQueueName(queue: string): string {
  return `${queue}.dlq`;
}

export function retryQueueName(queue: string): string {
  return `${queue}.retry`;
}

export interface ConsumerTopologyOptions {
  queue: string;
  /** Routing-key patterns (`portfolio.*`, `settlement.#`, `customer.activated`). */
  bindings: readonly string[];
  /** Defaults to `domain.events`. */
  exchange?: string;
  /** Defaults to true: projections need per-queue order. */
  singleActiveConsumer?: boolean;
}

export interface ConsumerTopology {
  exchange: string;
  deadLetterExchange: string;
  queue: string;
  retryQueue: string;
  deadLetterQueue: string;
}

export async function assertEventExchange(channel: Channel, exchange = DEFAULT_EVENT_EXCHANGE): Promise<{ exchange: string; deadLetterExchange: string }> {
  const deadLetterExchange = deadLetterExchangeName(exchange);
  await channel.assertExchange(exchange, 'topic', { durable: true });
  await channel.assertExchange(deadLetterExchange, 'direct', { durable: true });
  return { exchange, deadLetterExchange };
}

/** Idempotent: asserting the same topology again is a no-op (arguments must not change between deploys). */
export async function assertConsumerTopology(channel: Channel, options: ConsumerTopologyOptions): Promise<ConsumerTopology> {
  const { exchange, deadLetterExchange } = await assertEventExchange(channel, options.exchange ?? DEFAULT_EVENT_EXCHANGE);
  const queue = options.queue;
  const retryQueue = retryQueueName(queue);
  const deadLetterQueue = deadLetterQueueName(queue);

  await channel.assertQueue(deadLetterQueue, { durable: true });
  await channel.bindQueue(deadLetterQueue, deadLetterExchange, queue);

  const queueArguments: Record<string, string | boolean> = {
    'x-dead-letter-exchange': deadLetterExchange,
    'x-dead-letter-routing-key': queue,
  };
  if (options.singleActiveConsumer ?? true) queueArguments['x-single-active-consumer'] = true;
  await channel.assertQueue(queue, { durable: true, arguments: queueArguments });
  for (const pattern of options.bindings) await channel.bindQueue(queue, exchange, pattern);

  await channel.assertQueue(retryQueue, {
    durable: true,
    arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue },
  });

  return { exchange, deadLetterExchange, queue, retryQueue, deadLetterQueue };
}

/** Durable queue a service consumes its commands from. */
export function commandQueueName(service: string): string {
  return `commands.${service}`;
}
