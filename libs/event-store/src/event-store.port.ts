/**
 * The event store port. Every service appends and reads through this interface;
 * the PostgreSQL adapter is the embedded default, KurrentDB (EventStoreDB) the production option.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface EventMetadata {
  correlationId: string;
  causationId: string | null;
  actor: string;
  schemaVersion: number;
  /** Bounded context that wrote the event; the relay routes on `<context>.<event-name>`. */
  context: string;
  [key: string]: JsonValue;
}

export interface NewEvent {
  /** UUID chosen by the writer; the same id appended twice is stored once. */
  eventId: string;
  type: string;
  data: JsonObject;
  metadata: EventMetadata;
  /** When it happened in the domain (the command's clock), as opposed to when it was recorded. */
  occurredAt: Date;
}

export interface RecordedEvent {
  eventId: string;
  type: string;
  streamId: string;
  /** 0-based revision of the event inside its stream. */
  streamRevision: bigint;
  /** Unique, increasing with append order inside one transaction; not a gap-free sequence. */
  globalPosition: bigint;
  /** Opaque, adapter-specific position to resume reading the global log after this event. */
  checkpoint: string;
  occurredAt: Date;
  recordedAt: Date;
  data: JsonObject;
  metadata: EventMetadata;
}

/** `no_stream`: the stream must not exist; `stream_exists`: it must; `any`: no check; bigint: the last revision must be exactly this. */
export type ExpectedRevision = 'no_stream' | 'stream_exists' | 'any' | bigint;

export interface AppendResult {
  /** Revision of the last event now in the stream. */
  nextExpectedRevision: bigint;
  /** Global position of the last appended event. */
  globalPosition: bigint;
}

/** One stream's part of {@link EventStore.appendToStreams}. */
export interface StreamAppend {
  streamId: string;
  events: NewEvent[];
  expectedRevision: ExpectedRevision;
}

export interface ReadStreamOptions {
  direction?: 'forwards' | 'backwards';
  /** Inclusive start revision; defaults to the first (forwards) or last (backwards) event. */
  fromRevision?: bigint;
  maxCount?: number;
  /** Only events recorded at or before this instant: what we knew then. */
  asOf?: Date;
}

export interface ReadAllOptions {
  /** Exclusive: read events after this checkpoint; from the beginning when absent. */
  after?: string | null;
  maxCount?: number;
}

/** `E`: what each event is delivered as (a {@link RecordedEvent}, or a `LogTextEvent` from `subscribeToAllText`). */
export interface SubscribeOptions<E = RecordedEvent> {
  after?: string | null;
  /** Called for each event in global order; the next event waits for the returned promise. */
  onEvent: (event: E) => Promise<void>;
  /** Called once when the subscription stops because of an error (not on `stop()`). */
  onError?: (error: Error) => void;
  /** Called after the catch-up phase, when the subscription has reached the end of the log once. */
  onCaughtUp?: () => void;
}

export interface Subscription {
  stop(): Promise<void>;
  /** Resolves when stopped, rejects if it stopped because of an error. */
  readonly done: Promise<void>;
}

export interface EventStore {
  appendToStream(streamId: string, events: NewEvent[], options: { expectedRevision: ExpectedRevision }): Promise<AppendResult>;
  /**
   * Appends to several streams at once, atomically: all or nothing, in one round trip (one transaction in
   * PostgreSQL), each stream's expected revision checked as `appendToStream` checks it (a
   * WrongExpectedRevisionError names the stream; nothing of the batch is stored). Each stream at most once
   * per batch, event ids unique across it. A retry of a stored batch returns the original results. Results
   * in the order of `appends`. For writers with many streams to write at a volume boundary (a DataHub
   * document with many series), instead of one transaction per stream.
   */
  appendToStreams(appends: StreamAppend[]): Promise<AppendResult[]>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  subscribeToAll(options: SubscribeOptions): Subscription;
  /** Connectivity probe for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const EVENT_STORE = Symbol('EVENT_STORE');
