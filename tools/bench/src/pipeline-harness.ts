import { randomUUID } from 'node:crypto';
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { Pool } from 'pg';
import { createPostgresEventStore, type JsonObject, type LogTextEvent, type NewEvent, type PostgresEventStore, type SubscribeOptions } from '@dh/event-store';
import { AmqpConnection, createRelay, serializeEnvelope, startConsumer, type EventEnvelope, type EventRelay, type RunningConsumer } from '@dh/messaging';
import { benchMetadata, benchPayload } from './append.bench';
import { PROJECTION_BATCH_SIZE } from '@dh/read-models';
import { benchLogger } from './infra';

/**
 * The production path, wired as the services wire it: PostgreSQL event store → relay (pipelined
 * publisher confirms, checkpoint written behind them) → `domain.events` → projection queue (single
 * active consumer, halt on failure, batches of up to 500 with prefetch 1,000 as in `startProjections`)
 * → one inbox transaction per batch: the inbox rows and the read-model rows each in one INSERT
 * (a batch-capable projection). Beside it, the raw amqplib path used as the baseline: confirm channel
 * → topic exchange → queue → ack, with the same prefetch.
 */

export const PROJECTION_QUEUE = 'bench.projection';
/** The relay's name (checkpoint row and lock), in this process or in the lag benchmark's relay process. */
export const RELAY_NAME = 'bench';
const PREFETCH = 2 * PROJECTION_BATCH_SIZE;

/** BENCH_AMQP_NODELAY=0: Nagle's algorithm left on for the relay's and the consumer's AMQP sockets (amqplib's default), for comparison. */
export const AMQP_NO_DELAY = process.env.BENCH_AMQP_NODELAY !== '0';

/** BENCH_AMQP_ONE_WRITE=0: amqplib's frames written to the socket one write each (`oneWritePerTurn: false`), for comparison. */
export const AMQP_ONE_WRITE_PER_TURN = process.env.BENCH_AMQP_ONE_WRITE !== '0';

/**
 * BENCH_PG_SOCKET=<directory> (e.g. /var/run/postgresql): the pipeline's and the lag benchmark's connections
 * go over PostgreSQL's Unix socket in that directory instead of TCP, for comparison.
 */
export function pipelineDatabaseUrl(databaseUrl: string): string {
  const socket = process.env.BENCH_PG_SOCKET;
  if (!socket) return databaseUrl;
  const url = new URL(databaseUrl);
  url.searchParams.set('host', socket);
  return url.toString();
}

/**
 * What the consumer applied, for the benchmark that is listening: called after the COMMIT of the transaction
 * that applied it (`afterCommit`), with the moment its handler had written it (before the COMMIT) and the
 * moment the COMMIT had returned (hrtime).
 */
export type AppliedHook = (envelope: EventEnvelope, handlerAtNs: bigint, committedAtNs: bigint) => void;

/**
 * A view of the store whose `subscribeToAll` and `subscribeToAllText` (the relay's read, `LogTextRead`) report the
 * moment (hrtime) each event leaves the log reader.
 */
export function relayReadRecorder(store: PostgresEventStore, onRead: (eventId: string, atNs: bigint) => void): PostgresEventStore {
  return new Proxy(store, {
    get: (target, key, receiver) => {
      if (key === 'subscribeToAll') {
        return (options: SubscribeOptions) =>
          target.subscribeToAll({
            ...options,
            onEvent: (event) => {
              onRead(event.eventId, process.hrtime.bigint());
              return options.onEvent(event);
            },
          });
      }
      if (key === 'subscribeToAllText') {
        return (options: SubscribeOptions<LogTextEvent>) =>
          target.subscribeToAllText({
            ...options,
            onEvent: (event) => {
              onRead(event.eventId, process.hrtime.bigint());
              return options.onEvent(event);
            },
          });
      }
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
}

/**
 * The benchmark's projection consumer, as `startProjections` wires one: single active consumer, halt on failure,
 * batches of up to PROJECTION_BATCH_SIZE with prefetch twice that, the read-model rows in one INSERT per batch.
 * `onCommitted` gets what each committed transaction applied, the moment its handler had written it and the moment
 * its COMMIT returned (hrtime). Used in this process (pipeline benchmark) and in the lag benchmark's consumer process.
 */
export async function startBenchConsumer(
  pool: Pool,
  connection: AmqpConnection,
  onCommitted: (applied: readonly EventEnvelope[], handlerAtNs: bigint, committedAtNs: bigint) => void,
): Promise<RunningConsumer> {
  let handlerAt = 0n;
  return startConsumer({
    connection,
    pool,
    queue: PROJECTION_QUEUE,
    bindings: ['bench.#'],
    singleActiveConsumer: true,
    onFailure: 'halt',
    prefetch: PREFETCH,
    batchSize: PROJECTION_BATCH_SIZE,
    maxAttempts: 3,
    backoff: { initialDelayMs: 100, factor: 2, maxDelayMs: 1000 },
    logger: benchLogger,
    handler: async (envelope, tx) => {
      const quantity = envelope.data.quantityKwh;
      await tx.query('INSERT INTO bench_read_model (event_id, stream_id, global_position, quantity) VALUES ($1, $2, $3, $4)', [
        envelope.eventId,
        envelope.streamId,
        envelope.globalPosition,
        typeof quantity === 'string' ? quantity : null,
      ]);
      handlerAt = process.hrtime.bigint();
    },
    batchHandler: async (items, tx) => {
      await tx.query(
        `INSERT INTO bench_read_model (event_id, stream_id, global_position, quantity)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[])`,
        [
          items.map((i) => i.envelope.eventId),
          items.map((i) => i.envelope.streamId),
          items.map((i) => i.envelope.globalPosition),
          items.map((i) => {
            const quantity = i.envelope.data.quantityKwh;
            return typeof quantity === 'string' ? quantity : null;
          }),
        ],
      );
      handlerAt = process.hrtime.bigint();
    },
    afterCommit: (applied) => onCommitted(applied, handlerAt, process.hrtime.bigint()),
  });
}

export class PipelineHarness {
  private hook: AppliedHook | null = null;
  private relay: EventRelay | null = null;
  private counter = 0;

  private constructor(
    readonly pool: Pool,
    readonly store: PostgresEventStore,
    readonly connection: AmqpConnection,
    readonly consumer: RunningConsumer,
  ) {}

  static async start(databaseUrl: string, amqpUrl: string): Promise<PipelineHarness> {
    // Room for the concurrent appenders of the lag benchmark beside the relay and the consumer.
    const pool = new Pool({ connectionString: pipelineDatabaseUrl(databaseUrl), max: 40 });
    pool.on('error', () => undefined);
    const store = await createPostgresEventStore({ pool, schema: 'event_store' });
    await pool.query(`CREATE TABLE IF NOT EXISTS bench_read_model (
      event_id uuid PRIMARY KEY, stream_id text NOT NULL, global_position bigint NOT NULL, quantity text)`);
    const connection = new AmqpConnection({ url: amqpUrl, connectionName: 'bench-pipeline', initialMaxAttempts: 3, noDelay: AMQP_NO_DELAY, oneWritePerTurn: AMQP_ONE_WRITE_PER_TURN, logger: benchLogger });
    await connection.connect();
    let harness: PipelineHarness | null = null;
    const consumer = await startBenchConsumer(pool, connection, (applied, handlerAt, at) => {
      const hook = harness?.hook;
      if (!hook) return;
      for (const envelope of applied) hook(envelope, handlerAt, at);
    });
    harness = new PipelineHarness(pool, store, connection, consumer);
    return harness;
  }

  onApplied(hook: AppliedHook | null): void {
    this.hook = hook;
  }

  applied(): number {
    return this.consumer.stats().applied;
  }

  halted(): string | null {
    return this.consumer.stats().halted;
  }

  newEvent(extra: JsonObject = {}): NewEvent {
    return { eventId: randomUUID(), type: 'MeteredDataReceived', data: { ...benchPayload(this.counter++), ...extra }, metadata: benchMetadata, occurredAt: new Date() };
  }

  /** Appends `count` events, `batch` per append, each batch to its own stream. */
  async appendMany(count: number, batch = 100): Promise<void> {
    for (let done = 0; done < count; done += batch) {
      const events = Array.from({ length: Math.min(batch, count - done) }, () => this.newEvent());
      await this.store.appendToStream(`bench-${events[0].eventId}`, events, { expectedRevision: 'no_stream' });
    }
  }

  /** When set, the moment (hrtime) the relay's subscription handed each event to the relay, by event id. */
  relayReadAt: Map<string, bigint> | null = null;
  /** When observing, the moment (hrtime) each published message reached the observer queue, by event id. */
  observedAt: Map<string, bigint> | null = null;

  async startRelay(): Promise<void> {
    if (this.relay) return;
    // The relay reads through a view of the store that notes when each event left the log reader (for the lag stages).
    const eventStore = relayReadRecorder(this.store, (eventId, at) => this.relayReadAt?.set(eventId, at));
    this.relay = createRelay({ eventStore, connection: this.connection, pool: this.pool, name: RELAY_NAME, logger: benchLogger });
    await this.relay.start();
  }

  private published: Set<string> | null = null;
  private observer: ChannelModel | null = null;

  /** Records the id of every message the relay publishes, on a queue of its own (to tell a lost publish from a lost delivery). */
  async observe(amqpUrl: string): Promise<void> {
    this.observer = await connect(amqpUrl);
    const channel = await this.observer.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, 'domain.events', 'bench.#');
    const published = new Set<string>();
    const observedAt = new Map<string, bigint>();
    this.published = published;
    this.observedAt = observedAt;
    await channel.consume(
      queue,
      (m) => {
        if (!m || typeof m.properties.messageId !== 'string') return;
        published.add(m.properties.messageId);
        observedAt.set(m.properties.messageId, process.hrtime.bigint());
      },
      { noAck: true },
    );
  }

  /** Where these events are: their place in the log, the relay's checkpoint, the inbox (for a benchmark that lost sight of them). */
  async describeEvents(eventIds: string[]): Promise<string> {
    const { rows } = await this.pool.query<{ event_id: string; tx: string; position: string; inbox: boolean }>(
      `SELECT e.event_id::text, e.transaction_id::text AS tx, e.global_position::text AS position,
              EXISTS (SELECT 1 FROM messaging.inbox i WHERE i.event_id = e.event_id::text) AS inbox
         FROM event_store.events e WHERE e.event_id = ANY($1::uuid[]) ORDER BY e.transaction_id, e.global_position`,
      [eventIds],
    );
    const relay = await this.pool.query<{ checkpoint: string }>(`SELECT checkpoint FROM messaging.relay_checkpoints WHERE name = $1`, [RELAY_NAME]);
    const head = await this.pool.query<{ tx: string; position: string }>(
      'SELECT transaction_id::text AS tx, global_position::text AS position FROM event_store.events ORDER BY transaction_id DESC, global_position DESC LIMIT 1',
    );
    const published = this.published;
    const seen = (id: string) => (published === null ? '' : published.has(id) ? ', published' : ', never published');
    const found = rows.map((r) => `${r.event_id} at ${r.tx}:${r.position}${r.inbox ? ' (in the inbox)' : ''}${seen(r.event_id)}`).join(', ');
    return `${eventIds.length} events; in the store: ${found || 'none'}; relay checkpoint ${relay.rows[0]?.checkpoint ?? 'none'}; log head ${head.rows[0] ? `${head.rows[0].tx}:${head.rows[0].position}` : 'none'}`;
  }

  /** The relay holds its lock and its channel and is reading the log. */
  relayRunning(): boolean {
    return this.relay?.status().state === 'running';
  }

  /** Events the running relay has had confirmed and checkpointed since it started (0 when stopped). */
  relayPublished(): number {
    return this.relay?.stats().published ?? 0;
  }

  /** Stops this process's projection consumer (the lag benchmark's consumer process takes the queue); `close` does nothing more to it. */
  async stopConsumer(): Promise<void> {
    await this.consumer.stop();
  }

  async stopRelay(): Promise<void> {
    const relay = this.relay;
    this.relay = null;
    if (relay) await relay.stop();
  }

  private closed = false;

  /** Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hook = null;
    await this.stopRelay().catch(() => undefined);
    await this.consumer.stop().catch(() => undefined);
    await this.observer?.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
    await this.store.close().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}

/** A message body of the same shape and size as the relay's. */
export function envelopeBody(i: number, extra: JsonObject = {}): Buffer {
  const at = new Date().toISOString();
  const envelope: EventEnvelope = {
    eventId: randomUUID(),
    type: 'MeteredDataReceived',
    streamId: `bench-${randomUUID()}`,
    streamRevision: '0',
    globalPosition: String(i + 1),
    occurredAt: at,
    recordedAt: at,
    data: { ...benchPayload(i), ...extra },
    metadata: benchMetadata,
  };
  return serializeEnvelope(envelope);
}

/** Raw amqplib: one connection, a confirm channel to publish, a channel to consume with manual acks. */
export class RawAmqp {
  private constructor(
    private readonly model: ChannelModel,
    readonly publisher: ConfirmChannel,
    private readonly consumerChannel: Channel,
    private readonly exchange: string,
    private readonly queue: string,
  ) {}

  /**
   * `noDelay`: TCP_NODELAY on the socket. Each baseline takes the setting that favours it: the throughput
   * baseline amqplib's default (Nagle on: 10–25 % more msg/s in the runs of 2026-12-06), the lag baseline
   * TCP_NODELAY (p50 1–4 ms against 12–33 ms with Nagle).
   */
  static async open(amqpUrl: string, name: string, noDelay: boolean): Promise<RawAmqp> {
    const model = await connect(amqpUrl, { clientProperties: { connection_name: `bench-raw-${name}` }, noDelay });
    model.on('error', (error: Error) => benchLogger.warn(`raw amqp connection: ${error.message}`));
    const publisher = await model.createConfirmChannel();
    const consumerChannel = await model.createChannel();
    const exchange = `bench.raw.${name}`;
    const queue = `bench.raw.${name}`;
    await publisher.assertExchange(exchange, 'topic', { durable: true });
    await publisher.assertQueue(queue, { durable: true });
    await publisher.bindQueue(queue, exchange, 'bench.#');
    await consumerChannel.prefetch(PREFETCH);
    return new RawAmqp(model, publisher, consumerChannel, exchange, queue);
  }

  /** Publishes persistent, like the relay; resolves when the channel can take more. */
  async publish(body: Buffer): Promise<void> {
    const flowing = this.publisher.publish(this.exchange, 'bench.metered-data-received', body, { persistent: true, contentType: 'application/json' });
    if (!flowing) await new Promise<void>((resolve) => this.publisher.once('drain', () => resolve()));
  }

  async consume(onMessage: (message: ConsumeMessage, receivedAtNs: bigint) => void): Promise<void> {
    await this.consumerChannel.consume(
      this.queue,
      (message) => {
        if (message === null) return;
        const at = process.hrtime.bigint();
        onMessage(message, at);
        this.consumerChannel.ack(message);
      },
      { noAck: false },
    );
  }

  async close(): Promise<void> {
    await this.model.close().catch(() => undefined);
  }
}
