import type { EventStore, JsonObject, ReadAllOptions, RecordedEvent } from './event-store.port';

/**
 * An event of the global log as a read model uses it: the envelope without `occurredAt`, and of the metadata only
 * `schemaVersion` (for upcasting). A `RecordedEvent` is one.
 */
export interface LogRecord {
  eventId: string;
  type: string;
  streamId: string;
  streamRevision: bigint;
  globalPosition: bigint;
  checkpoint: string;
  recordedAt: Date;
  data: JsonObject;
  metadata: { schemaVersion: number };
}

/**
 * `readAll` for projections (a rebuild reads the whole log in pages): the same events, in the same order, with the
 * same checkpoints, as {@link LogRecord}s, so a long read does not parse what no read model looks at (each event's
 * metadata and `occurredAt`). Optional: an adapter offers it where it saves work (PostgreSQL); callers take it with
 * {@link projectionReadOf}.
 */
export interface ProjectionRead {
  readAllForProjection(options?: ReadAllOptions): Promise<LogRecord[]>;
}

/** The store's projection read, or its `readAll` (whose events are log records too) when it has none. */
export function projectionReadOf(store: EventStore): (options?: ReadAllOptions) => Promise<LogRecord[]> {
  if (typeof (store as EventStore & Partial<ProjectionRead>).readAllForProjection === 'function') {
    const lean = store as EventStore & ProjectionRead;
    return (options) => lean.readAllForProjection(options);
  }
  return (options): Promise<RecordedEvent[]> => store.readAll(options);
}
