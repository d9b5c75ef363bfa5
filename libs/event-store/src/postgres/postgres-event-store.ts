import { Client, DatabaseError, Pool, type QueryResult, type QueryResultRow } from 'pg';
import { DuplicateEventIdError, WrongExpectedRevisionError } from '../errors';
import type {
  AppendResult,
  EventMetadata,
  EventStore,
  ExpectedRevision,
  JsonObject,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamAppend,
  SubscribeOptions,
  Subscription,
} from '../event-store.port';
import { UUID_PATTERN, type EventLookup } from '../event-lookup';
import { assertRedactableFields, type EventRedaction } from '../event-redaction';
import type { LogTextEvent, LogTextRead } from '../log-text-read';
import type { NotedAppendResult, RetryAwareAppend } from '../retry-aware-append';
import type { LogRecord, ProjectionRead } from '../projection-read';
import { assertAppendable, assertBatchAppendable, formatExpected } from '../internal/append-rules';
import { runPollingSubscription, Wakeup } from '../internal/polling-subscription';
import { notifyChannel, quoteIdent, runMigrations } from './migrations';

export interface PostgresEventStoreOptions {
  /** A pool owned by the caller (not ended by `close`), or a connection string (pool owned by the store). */
  pool?: Pool;
  connectionString?: string;
  /** Schema holding the store's tables; `event_store` by default. */
  schema?: string;
  /** Fallback poll interval of subscriptions, for events a notification could not reveal yet. */
  pollIntervalMs?: number;
  /** Events read per round trip while a subscription catches up. */
  subscriptionBatchSize?: number;
  /** Delay before a lost LISTEN connection is re-opened. */
  listenReconnectDelayMs?: number;
  /**
   * The schema's last migration when it is deliberately kept below the latest (tests and benchmarks comparing
   * migrations); the latest by default. Below 12 the appends call the functions that take data and metadata as texts.
   */
  migratedTo?: number;
}

interface EventRow {
  event_id: string;
  type: string;
  stream_id: string;
  stream_revision: string;
  global_position: string;
  transaction_id: string;
  occurred_at: Date;
  recorded_at: Date;
  data: JsonObject;
  metadata: EventMetadata;
}

// ORDER BY must name the table's columns (e.), not these text-cast output columns of the same names.
const COLUMNS = `e.event_id::text, e.type, e.stream_id, e.stream_revision::text, e.global_position::text, e.transaction_id::text,
  e.occurred_at, e.recorded_at, e.data, e.metadata`;

/** A row of the projection read: no `occurred_at`, of the metadata only its schema version. */
type LogRow = Omit<EventRow, 'occurred_at' | 'metadata'> & { schema_version: number };
const LOG_COLUMNS = `e.event_id::text, e.type, e.stream_id, e.stream_revision::text, e.global_position::text, e.transaction_id::text,
  e.recorded_at, e.data, e.metadata->'schemaVersion' AS schema_version`;

/**
 * A row of the text read: data and metadata as `jsonb`'s text, and the instants as `toISOString` writes them, all of
 * which node-postgres leaves as strings. `MS` truncates the microseconds as node-postgres's `Date` does.
 */
type TextRow = Omit<EventRow, 'occurred_at' | 'recorded_at' | 'data' | 'metadata'> & { occurred_at: string; recorded_at: string; data: string; metadata: string };
const ISO_UTC = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
const TEXT_COLUMNS = `e.event_id::text, e.type, e.stream_id, e.stream_revision::text, e.global_position::text, e.transaction_id::text,
  to_char(e.occurred_at AT TIME ZONE 'UTC', ${ISO_UTC}) AS occurred_at, to_char(e.recorded_at AT TIME ZONE 'UTC', ${ISO_UTC}) AS recorded_at,
  e.data::text AS data, e.metadata::text AS metadata`;

/**
 * Data and metadata go to the append functions as one JSON array each, not as a `text[]` literal: `pg` would escape
 * every quote of every event's JSON into the literal (a regular expression over all of it) and the server would parse
 * the escapes back. Since migration 12 the array is a `jsonb` parameter, parsed once by the server; before it, the
 * functions took a `text[]`, and the array was split into its elements' texts, each parsed again when inserted.
 */
function jsonArrayArgument(param: string, jsonb: boolean): string {
  return jsonb ? `${param}::jsonb` : `ARRAY(SELECT j.v::text FROM json_array_elements(${param}::json) WITH ORDINALITY AS j(v, o) ORDER BY j.o)`;
}

/** The migration whose append functions take data and metadata as `jsonb` (see {@link jsonArrayArgument}). */
const JSONB_APPEND_MIGRATION = 12;

/** Parses `"<xid>:<position>"`; the pair, not the position alone, is the resume point of the global log. */
export function parsePostgresCheckpoint(checkpoint: string): { transactionId: string; globalPosition: string } {
  const match = /^(\d+):(\d+)$/.exec(checkpoint);
  if (!match) throw new Error(`Malformed PostgreSQL event store checkpoint "${checkpoint}", expected "<xid>:<position>"`);
  return { transactionId: match[1], globalPosition: match[2] };
}

export class PostgresEventStore implements EventStore, EventLookup, EventRedaction, ProjectionRead, LogTextRead, RetryAwareAppend {
  private readonly s: string;
  private readonly channel: string;
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly reconnectDelayMs: number;
  private readonly subscriptions = new Set<Subscription>();
  private notifying = false;
  private notifyAgain = false;
  private readonly jsonbAppends: boolean;

  constructor(
    private readonly pool: Pool,
    private readonly ownsPool: boolean,
    readonly schema: string,
    options: Pick<PostgresEventStoreOptions, 'pollIntervalMs' | 'subscriptionBatchSize' | 'listenReconnectDelayMs' | 'migratedTo'> = {},
  ) {
    this.jsonbAppends = (options.migratedTo ?? Number.POSITIVE_INFINITY) >= JSONB_APPEND_MIGRATION;
    this.s = quoteIdent(schema);
    this.channel = notifyChannel(schema);
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.batchSize = options.subscriptionBatchSize ?? 500;
    this.reconnectDelayMs = options.listenReconnectDelayMs ?? 1_000;
  }

  async appendToStream(streamId: string, events: NewEvent[], options: { expectedRevision: ExpectedRevision }): Promise<AppendResult> {
    assertAppendable(streamId, events);
    const expected = formatExpected(options.expectedRevision);
    try {
      // Retrying after a lost connection is safe: if the first attempt committed, the idempotent append answers.
      const result = await this.query<{ next_expected_revision: string; global_position: string }>(
        `SELECT next_expected_revision::text, global_position::text
           FROM ${this.s}.append_to_stream($1, $2, $3::uuid[], $4::text[], ${jsonArrayArgument('$5', this.jsonbAppends)}, ${jsonArrayArgument('$6', this.jsonbAppends)}, $7::timestamptz[], $8)`,
        [
          streamId,
          expected,
          events.map((e) => e.eventId),
          events.map((e) => e.type),
          JSON.stringify(events.map((e) => e.data)),
          JSON.stringify(events.map((e) => e.metadata)),
          events.map((e) => e.occurredAt.toISOString()),
          // No NOTIFY inside the append (it would serialise every append's commit); signalled below.
          null,
        ],
      );
      this.signalAppended();
      const row = result.rows[0];
      return { nextExpectedRevision: BigInt(row.next_expected_revision), globalPosition: BigInt(row.global_position) };
    } catch (error) {
      throw this.mapAppendError(error, streamId, expected, events);
    }
  }

  /**
   * NOTIFY after the append committed, in its own statement whose commit need not wait for the WAL
   * (a lost notification costs a subscriber one poll interval, nothing else). Not awaited; while one is
   * on its way, appends committed meanwhile are covered by one more afterwards.
   */
  private signalAppended(): void {
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = true;
    this.pool
      .query(`SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')`, [this.channel])
      .catch(() => undefined)
      .finally(() => {
        this.notifying = false;
        if (this.notifyAgain) {
          this.notifyAgain = false;
          this.signalAppended();
        }
      });
  }

  /**
   * One statement (`append_to_streams`, set-based since migration 9): one round trip and one transaction for the
   * whole batch. Run again when it stops because a stream it waited for was written by a younger transaction
   * (DH006: appending would put its events behind theirs in the log; nothing was written).
   */
  async appendToStreams(appends: StreamAppend[]): Promise<AppendResult[]> {
    return (await this.appendBatch(appends, false)).map(({ nextExpectedRevision, globalPosition }) => ({ nextExpectedRevision, globalPosition }));
  }

  /**
   * `appendToStreams` that also says per stream whether the events were written now or found stored (migration 11's
   * `already_stored`). A call whose first attempt committed before its connection was lost, and was then run again,
   * finds its own events stored: `alreadyStored` is true then too.
   */
  async appendToStreamsNotingRetries(appends: StreamAppend[]): Promise<NotedAppendResult[]> {
    return this.appendBatch(appends, true);
  }

  private async appendBatch(appends: StreamAppend[], noted: boolean): Promise<NotedAppendResult[]> {
    assertBatchAppendable(appends);
    const events = appends.flatMap((a) => a.events);
    const params = [
      appends.map((a) => a.streamId),
      appends.map((a) => formatExpected(a.expectedRevision)),
      appends.map((a) => a.events.length),
      events.map((e) => e.eventId),
      events.map((e) => e.type),
      JSON.stringify(events.map((e) => e.data)),
      JSON.stringify(events.map((e) => e.metadata)),
      events.map((e) => e.occurredAt.toISOString()),
      // As appendToStream: no NOTIFY inside the transaction, one after it.
      null,
    ];
    try {
      // Retrying after a lost connection is safe: a committed batch answers with its stored results.
      const run = () =>
        this.query<{ stream_index: number; next_expected_revision: string; global_position: string; already_stored?: boolean }>(
          `SELECT stream_index, next_expected_revision::text, global_position::text${noted ? ', already_stored' : ''}
             FROM ${this.s}.append_to_streams($1::text[], $2::text[], $3::int[], $4::uuid[], $5::text[], ${jsonArrayArgument('$6', this.jsonbAppends)}, ${jsonArrayArgument('$7', this.jsonbAppends)}, $8::timestamptz[], $9)`,
          params,
        );
      const result = await retryBehindYoungerWriter(run);
      this.signalAppended();
      const out: NotedAppendResult[] = [];
      for (const row of result.rows) {
        out[row.stream_index - 1] = { nextExpectedRevision: BigInt(row.next_expected_revision), globalPosition: BigInt(row.global_position), alreadyStored: row.already_stored === true };
      }
      return out;
    } catch (error) {
      // The function's errors name the stream at the end of their message ("… for <stream>", "… in <stream>").
      const failed = error instanceof DatabaseError ? appends.find((a) => error.message.endsWith(` ${a.streamId}`)) : undefined;
      if (failed) throw this.mapAppendError(error, failed.streamId, formatExpected(failed.expectedRevision), failed.events);
      throw this.mapAppendError(error, appends.map((a) => a.streamId).join(', '), '', events);
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const result = await this.query<EventRow>(
      `SELECT ${COLUMNS} FROM ${this.s}.events e
        WHERE e.stream_id = $1
          AND ($2::bigint IS NULL OR e.stream_revision ${backwards ? '<=' : '>='} $2::bigint)
          AND ($3::timestamptz IS NULL OR e.recorded_at <= $3::timestamptz)
        ORDER BY e.stream_revision ${backwards ? 'DESC' : 'ASC'}
        LIMIT $4`,
      [streamId, options.fromRevision?.toString() ?? null, options.asOf?.toISOString() ?? null, options.maxCount ?? null],
    );
    return result.rows.map(toRecordedEvent);
  }

  /** GDPR erasure: removes `fields` from one stream's events of one type in place (see EventRedaction). */
  async removeEventDataFields(streamId: string, eventType: string, fields: readonly string[]): Promise<number> {
    assertRedactableFields(fields);
    const result = await this.query(`UPDATE ${this.s}.events SET data = data - $3::text[] WHERE stream_id = $1 AND type = $2 AND data ?| $3::text[]`, [streamId, eventType, [...fields]]);
    return result.rowCount ?? 0;
  }

  async readEvent(eventId: string): Promise<RecordedEvent | null> {
    if (!UUID_PATTERN.test(eventId)) return null;
    const result = await this.query<EventRow>(`SELECT ${COLUMNS} FROM ${this.s}.events e WHERE e.event_id = $1::uuid`, [eventId]);
    return result.rows.length === 0 ? null : toRecordedEvent(result.rows[0]);
  }

  /** Served by the expression index on `metadata->>'causationId'` (migration 3). */
  async readCausedBy(eventId: string, maxCount: number): Promise<RecordedEvent[]> {
    const result = await this.query<EventRow>(
      `SELECT ${COLUMNS} FROM ${this.s}.events e WHERE e.metadata->>'causationId' = $1 ORDER BY e.global_position LIMIT $2`,
      [eventId, maxCount],
    );
    return result.rows.map(toRecordedEvent);
  }

  /** Served by the expression index on `metadata->>'correlationId'` (migration 3). */
  async readCorrelated(correlationId: string, maxCount: number): Promise<RecordedEvent[]> {
    const result = await this.query<EventRow>(
      `SELECT ${COLUMNS} FROM ${this.s}.events e WHERE e.metadata->>'correlationId' = $1 ORDER BY e.global_position LIMIT $2`,
      [correlationId, maxCount],
    );
    return result.rows.map(toRecordedEvent);
  }

  /**
   * Global order is (transaction id, position). A batch holds only events of transactions older than the
   * oldest one still writing to the events table (`read_horizon`, migration 4): a sequence value taken by an
   * append that commits late is never skipped, and transactions that never write events (however long) hold
   * nothing back.
   */
  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return (await this.readAllRows<EventRow>(COLUMNS, options)).map(toRecordedEvent);
  }

  /** `readAll` without each event's `occurred_at` and with only `schemaVersion` of its metadata (`ProjectionRead`): less to parse per event. */
  async readAllForProjection(options: ReadAllOptions = {}): Promise<LogRecord[]> {
    return (await this.readAllRows<LogRow>(LOG_COLUMNS, options)).map(toLogRecord);
  }

  /**
   * `readAll` with data and metadata as `jsonb`'s text (`LogTextRead`): node-postgres does not parse the data, so a
   * reader that passes it on (the relay) does not serialise it again. The metadata is parsed here (small; routing).
   */
  async readAllText(options: ReadAllOptions = {}): Promise<LogTextEvent[]> {
    return (await this.readAllRows<TextRow>(TEXT_COLUMNS, options)).map(toLogTextEvent);
  }

  private async readAllRows<R extends QueryResultRow>(columns: string, options: ReadAllOptions): Promise<R[]> {
    const after = options.after ? parsePostgresCheckpoint(options.after) : { transactionId: '0', globalPosition: '0' };
    const result = await this.query<R>(
      `SELECT ${columns} FROM ${this.s}.read_all($1::xid8, $2::bigint, $3::int) e ORDER BY e.transaction_id, e.global_position`,
      [after.transactionId, after.globalPosition, options.maxCount ?? null],
    );
    return result.rows;
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    return this.subscribe(options, (after, maxCount) => this.readAll({ after, maxCount }));
  }

  /** `subscribeToAll` delivering `LogTextEvent`s, read with {@link readAllText}. */
  subscribeToAllText(options: SubscribeOptions<LogTextEvent>): Subscription {
    return this.subscribe(options, (after, maxCount) => this.readAllText({ after, maxCount }));
  }

  private subscribe<E extends { checkpoint: string }>(options: SubscribeOptions<E>, readBatch: (after: string | null, maxCount: number) => Promise<E[]>): Subscription {
    const wakeup = new Wakeup();
    const listener = new NotificationListener(this.pool, this.channel, () => wakeup.notify(), this.reconnectDelayMs);
    listener.start();
    const subscription = runPollingSubscription(
      options,
      {
        readBatch,
        waitForMore: () => wakeup.wait(this.pollIntervalMs),
        interrupt: () => wakeup.notify(),
        dispose: () => listener.stop(),
      },
      this.batchSize,
    );
    this.subscriptions.add(subscription);
    subscription.done.then(
      () => this.subscriptions.delete(subscription),
      () => this.subscriptions.delete(subscription),
    );
    return subscription;
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  private query<R extends QueryResultRow>(text: string, values: unknown[]): Promise<QueryResult<R>> {
    return retryConnectionLoss(() => this.pool.query<R>(text, values));
  }

  /** Stops this store's subscriptions; ends the pool only if the store created it. */
  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    if (this.ownsPool) await this.pool.end();
  }

  private mapAppendError(error: unknown, streamId: string, expected: string, events: NewEvent[]): unknown {
    if (!(error instanceof DatabaseError)) return error;
    if (error.code === 'DH001') {
      const actual = BigInt(error.detail ?? '-1');
      return new WrongExpectedRevisionError(streamId, expected, actual < 0n ? 'no_stream' : actual);
    }
    if (error.code === 'DH002') return new DuplicateEventIdError(streamId, (error.detail ?? '').split(',').filter(Boolean));
    // A concurrent append put one of these ids into another stream between our check and our insert.
    if (error.code === '23505' && error.constraint === 'events_event_id_key') {
      return new DuplicateEventIdError(
        streamId,
        events.map((e) => e.eventId),
      );
    }
    return error;
  }
}

/** A dedicated LISTEN connection that re-opens itself when lost; the fallback poll covers the gap. */
class NotificationListener {
  private client: Client | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly channel: string,
    private readonly onNotify: () => void,
    private readonly reconnectDelayMs: number,
  ) {}

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client(this.pool.options);
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', () => this.onNotify());
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
      if (this.stopped) {
        await client.end().catch(() => undefined);
        return;
      }
      this.client = client;
      // Anything appended while we were not listening is found by this extra read.
      this.onNotify();
    } catch {
      this.lost(client);
    }
  }

  private lost(client: Client): void {
    if (this.client === client) this.client = null;
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, this.reconnectDelayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners('end');
      client.removeAllListeners('error');
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}

/** A batch that met a younger writer (DH006) is run again at once; each run has a newer transaction id. */
const MAX_BEHIND_RETRIES = 50;

async function retryBehindYoungerWriter<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof DatabaseError && error.code === 'DH006') || attempt >= MAX_BEHIND_RETRIES) throw error;
    }
  }
}

/** Lost connections (server restart, terminated backend) are retried with backoff; SQL errors are not. */
export function isConnectionLoss(error: unknown): boolean {
  // 08: connection exceptions; 57P: admin/crash shutdown, cannot connect now (starting up); 53300: too many connections.
  if (error instanceof DatabaseError) return /^(08|57P|53300)/.test(error.code ?? '');
  return (
    error instanceof Error &&
    /Connection terminated|not queryable|timeout exceeded when trying to connect|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT/i.test(`${error.message} ${(error as NodeJS.ErrnoException).code ?? ''}`)
  );
}

async function retryConnectionLoss<T>(read: () => Promise<T>, attempts = 6, firstDelayMs = 100): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (attempt >= attempts || !isConnectionLoss(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, firstDelayMs * 2 ** (attempt - 1)));
    }
  }
}

function toLogRecord(row: LogRow): LogRecord {
  return {
    eventId: row.event_id,
    type: row.type,
    streamId: row.stream_id,
    streamRevision: BigInt(row.stream_revision),
    globalPosition: BigInt(row.global_position),
    checkpoint: `${row.transaction_id}:${row.global_position}`,
    recordedAt: row.recorded_at,
    data: row.data,
    metadata: { schemaVersion: row.schema_version },
  };
}

function toLogTextEvent(row: TextRow): LogTextEvent {
  return {
    eventId: row.event_id,
    type: row.type,
    streamId: row.stream_id,
    streamRevision: row.stream_revision,
    globalPosition: row.global_position,
    checkpoint: `${row.transaction_id}:${row.global_position}`,
    occurredAt: row.occurred_at,
    recordedAt: row.recorded_at,
    dataJson: row.data,
    metadata: JSON.parse(row.metadata) as EventMetadata,
    metadataJson: row.metadata,
  };
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    eventId: row.event_id,
    type: row.type,
    streamId: row.stream_id,
    streamRevision: BigInt(row.stream_revision),
    globalPosition: BigInt(row.global_position),
    checkpoint: `${row.transaction_id}:${row.global_position}`,
    occurredAt: row.occurred_at,
    recordedAt: row.recorded_at,
    data: row.data,
    metadata: row.metadata,
  };
}

/** Runs the migrations (safe when several processes start together) and returns the store. */
export async function createPostgresEventStore(options: PostgresEventStoreOptions): Promise<PostgresEventStore> {
  const schema = options.schema ?? 'event_store';
  quoteIdent(schema);
  if (!options.pool && !options.connectionString) throw new Error('createPostgresEventStore: pass a pool or a connectionString');
  const ownsPool = !options.pool;
  const pool = options.pool ?? new Pool({ connectionString: options.connectionString });
  // An idle client whose connection dies emits on the pool, which drops it; unhandled, that would crash the process.
  if (ownsPool) pool.on('error', () => undefined);
  try {
    await runMigrations(pool, schema);
  } catch (error) {
    if (ownsPool) await pool.end();
    throw error;
  }
  return new PostgresEventStore(pool, ownsPool, schema, options);
}
