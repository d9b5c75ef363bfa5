import type { EventMetadata, EventStore, ReadAllOptions, RecordedEvent, SubscribeOptions, Subscription } from './event-store.port';

/**
 * An event of the global log with its `data` and `metadata` as JSON text, for a reader that passes them on without
 * looking inside (the relay writes them into the message body as they are): no parse of the stored JSON into objects
 * and no `JSON.stringify` of them again. The same event, order and checkpoint as in `readAll` / `subscribeToAll`.
 */
export interface LogTextEvent {
  eventId: string;
  type: string;
  streamId: string;
  /** 0-based revision inside the stream, as a decimal string. */
  streamRevision: string;
  /** Position in the global log, as a decimal string. */
  globalPosition: string;
  /** Opaque, adapter-specific position to resume reading the global log after this event. */
  checkpoint: string;
  /** ISO-8601 in UTC with milliseconds, as `Date.prototype.toISOString` writes `RecordedEvent.occurredAt`. */
  occurredAt: string;
  /** As `occurredAt`, of `RecordedEvent.recordedAt`. */
  recordedAt: string;
  /**
   * The event's `data` as JSON text of an object: it parses to the value `RecordedEvent.data` holds. Its whitespace,
   * key order and number notation are the store's (PostgreSQL: `jsonb`'s text), not necessarily what was appended.
   */
  dataJson: string;
  /** The metadata, parsed (the relay routes and sets headers on it; small). */
  metadata: EventMetadata;
  /** The same metadata as JSON text (as `dataJson`: parses to `metadata`). */
  metadataJson: string;
}

/**
 * The global log with data and metadata as JSON text. Optional: an adapter offers it where it saves work (PostgreSQL
 * selects `data::text`, so node-postgres does not parse the `jsonb`); callers take it with {@link logTextReadOf},
 * which falls back to `readAll` / `subscribeToAll` and `JSON.stringify` for any other store.
 */
export interface LogTextRead {
  readAllText(options?: ReadAllOptions): Promise<LogTextEvent[]>;
  /** As `subscribeToAll`: catch-up then live, the handler awaited event by event. */
  subscribeToAllText(options: SubscribeOptions<LogTextEvent>): Subscription;
}

/** A recorded event with its data and metadata written as JSON text. */
export function toLogTextEvent(event: RecordedEvent): LogTextEvent {
  return {
    eventId: event.eventId,
    type: event.type,
    streamId: event.streamId,
    streamRevision: event.streamRevision.toString(),
    globalPosition: event.globalPosition.toString(),
    checkpoint: event.checkpoint,
    occurredAt: event.occurredAt.toISOString(),
    recordedAt: event.recordedAt.toISOString(),
    dataJson: JSON.stringify(event.data),
    metadata: event.metadata,
    metadataJson: JSON.stringify(event.metadata),
  };
}

/**
 * The store's text read of the log (PostgreSQL), or one over its `readAll` / `subscribeToAll` that writes each event's
 * JSON (in memory, KurrentDB, an upcasting wrapper: whatever their `subscribeToAll` delivers is what is delivered).
 */
export function logTextReadOf(store: EventStore): LogTextRead {
  const candidate = store as EventStore & Partial<LogTextRead>;
  if (typeof candidate.readAllText === 'function' && typeof candidate.subscribeToAllText === 'function') {
    const native = store as EventStore & LogTextRead;
    return { readAllText: (options) => native.readAllText(options), subscribeToAllText: (options) => native.subscribeToAllText(options) };
  }
  return {
    readAllText: async (options) => (await store.readAll(options)).map(toLogTextEvent),
    subscribeToAllText: (options) => store.subscribeToAll({ ...options, onEvent: (event) => options.onEvent(toLogTextEvent(event)) }),
  };
}
