import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CONSUMER_STATES, type AmqpConnection } from '@dh/messaging';

/** Seconds; from a cached read to a slow settlement call. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds from an event's recording to its handling: the 100 ms goal up to a backlog of minutes. */
const LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Depth of a queue and its dead-letter queue, read from the broker (passive declare) when scraped. */
async function queueDepths(amqp: AmqpConnection, queues: string[], timeoutMs: number): Promise<Map<string, number>> {
  const depths = new Map<string, number>();
  if (!amqp.isConnected || queues.length === 0) return depths;
  let channel = await amqp.createChannel();
  channel.on('error', () => undefined);
  const deadline = Date.now() + timeoutMs;
  try {
    for (const queue of queues) {
      if (Date.now() > deadline) break;
      try {
        depths.set(queue, (await channel.checkQueue(queue)).messageCount);
      } catch {
        // A queue not declared (yet) closes the channel: go on with a new one.
        channel = await amqp.createChannel();
        channel.on('error', () => undefined);
      }
    }
  } finally {
    await channel.close().catch(() => undefined);
  }
  return depths;
}

/**
 * Prometheus metrics of one service process (`GET /metrics`): HTTP latency, the state, throughput and
 * lag of every consumer and relay, queue depths and dead letters, Node's own; services add their own
 * (settlement run progress) to `registry`.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;

  constructor(serviceName: string, amqp: AmqpConnection) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ service: serviceName });
    collectDefaultMetrics({ register: this.registry });

    this.httpDuration = new Histogram({
      name: 'http_server_request_duration_seconds',
      help: 'HTTP requests by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: HTTP_BUCKETS,
      registers,
    });

    const workers = amqp.workers;
    new Gauge({
      name: 'dh_worker_state',
      help: 'State of each consumer and relay: 1 for the state it is in, 0 for the others (alert on state="halted")',
      labelNames: ['worker', 'kind', 'state'],
      registers,
      collect() {
        this.reset();
        for (const status of workers.statuses()) {
          for (const state of CONSUMER_STATES) this.set({ worker: status.name, kind: status.kind, state }, status.state === state ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'dh_consumers_halted',
      help: 'Consumers stopped on a message they cannot apply (needs an operator)',
      registers,
      collect() {
        this.set(workers.statuses().filter((s) => s.state === 'halted').length);
      },
    });
    new Counter({
      name: 'dh_worker_messages_total',
      help: 'Messages handled since the process started, by outcome (applied, duplicates, retried, dead_lettered; the relay: published, restarts)',
      labelNames: ['worker', 'kind', 'outcome'],
      registers,
      collect() {
        this.reset();
        for (const worker of workers.all()) {
          const { name, kind } = worker.status();
          for (const [outcome, count] of Object.entries(worker.counts?.() ?? {})) this.inc({ worker: name, kind, outcome }, count);
        }
      },
    });
    const lag = new Histogram({
      name: 'dh_event_lag_seconds',
      help: 'Time from an event being recorded in the event store to the relay publishing it or a consumer applying it',
      labelNames: ['worker', 'kind'],
      buckets: LAG_BUCKETS,
      registers,
    });
    workers.onLag((worker, seconds) => lag.observe({ worker: worker.name, kind: worker.kind }, seconds));

    // One broker round trip per scrape serves both queue gauges (prom-client collects them concurrently).
    const scrapeErrors = new Counter({ name: 'dh_queue_depth_scrape_errors_total', help: 'Failed reads of queue depths from the broker', registers });
    let cached: { at: number; depths: Promise<Map<string, number>> } | null = null;
    const consumerQueues = () => workers.all().flatMap((w) => (w.queues ? [w.queues()] : []));
    const depthsNow = (): Promise<Map<string, number>> => {
      if (!cached || Date.now() - cached.at > 1000) {
        const names = consumerQueues().flatMap((q) => (q.deadLetterQueue ? [q.queue, q.deadLetterQueue] : [q.queue]));
        const depths = queueDepths(amqp, [...new Set(names)], 2000).catch(() => {
          scrapeErrors.inc();
          return new Map<string, number>();
        });
        cached = { at: Date.now(), depths };
      }
      return cached.depths;
    };
    new Gauge({
      name: 'dh_queue_messages',
      help: 'Messages ready in each consumer queue (backlog)',
      labelNames: ['queue'],
      registers,
      async collect() {
        const depths = await depthsNow();
        this.reset();
        for (const { queue } of consumerQueues()) {
          const ready = depths.get(queue);
          if (ready !== undefined) this.set({ queue }, ready);
        }
      },
    });
    new Gauge({
      name: 'dh_dead_letter_messages',
      help: "Messages parked in each consumer queue's dead-letter queue",
      labelNames: ['queue'],
      registers,
      async collect() {
        const depths = await depthsNow();
        this.reset();
        for (const { queue, deadLetterQueue } of consumerQueues()) {
          const parked = deadLetterQueue ? depths.get(deadLetterQueue) : undefined;
          if (parked !== undefined) this.set({ queue }, parked);
        }
      },
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
