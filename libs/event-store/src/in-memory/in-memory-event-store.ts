import { WrongExpectedRevisionError } from '../errors';
import type {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamAppend,
  SubscribeOptions,
  Subscription,
} from '../event-store.port';
import type { EventLookup } from '../event-lookup';
import { assertRedactableFields, type EventRedaction } from '../event-redaction';
import { assertAppendable, assertBatchAppendable, formatExpected, resolveStoredIds } from '../internal/append-rules';
import { runPollingSubscription, Wakeup } from '../internal/polling-subscription';
import type { NotedAppendResult, RetryAwareAppend } from '../retry-aware-append';

export interface InMemoryEventStoreOptions {
  /** Clock for `recordedAt`; tests of "as of" reads can drive it. */
  clock?: () => Date;
}

/** Same semantics as the PostgreSQL adapter, for fast unit tests. Checkpoints are the global position. */
export class InMemoryEventStore implements EventStore, EventLookup, EventRedaction, RetryAwareAppend {
  private readonly log: RecordedEvent[] = [];
  private readonly streams = new Map<string, RecordedEvent[]>();
  private readonly byId = new Map<string, RecordedEvent>();
  private readonly wakeups = new Set<Wakeup>();
  private readonly clock: () => Date;
  private closed = false;

  constructor(options: InMemoryEventStoreOptions = {}) {
    this.clock = options.clock ?? (() => new Date());
  }

  async removeEventDataFields(streamId: string, eventType: string, fields: readonly string[]): Promise<number> {
    this.assertOpen();
    assertRedactableFields(fields);
    await Promise.resolve();
    let changed = 0;
    for (const event of this.streams.get(streamId) ?? []) {
      if (event.type !== eventType || !fields.some((f) => Object.prototype.hasOwnProperty.call(event.data, f))) continue;
      // The same RecordedEvent object sits in the stream, the global log and the id index.
      event.data = Object.fromEntries(Object.entries(event.data).filter(([key]) => !fields.includes(key)));
      changed++;
    }
    return changed;
  }

  async appendToStream(streamId: string, events: NewEvent[], options: { expectedRevision: ExpectedRevision }): Promise<AppendResult> {
    this.assertOpen();
    assertAppendable(streamId, events);
    await Promise.resolve();
    return this.checked(streamId, events, options.expectedRevision) ?? this.write(streamId, events);
  }

  async appendToStreams(appends: StreamAppend[]): Promise<AppendResult[]> {
    this.assertOpen();
    assertBatchAppendable(appends);
    await Promise.resolve();
    // Every stream is checked before anything is written: all or nothing.
    const retries = appends.map((a) => this.checked(a.streamId, a.events, a.expectedRevision));
    return appends.map((a, i) => retries[i] ?? this.write(a.streamId, a.events));
  }

  /** `appendToStreams`, saying per stream whether its events were found stored (a retry) or written now. */
  async appendToStreamsNotingRetries(appends: StreamAppend[]): Promise<NotedAppendResult[]> {
    this.assertOpen();
    assertBatchAppendable(appends);
    await Promise.resolve();
    const retries = appends.map((a) => this.checked(a.streamId, a.events, a.expectedRevision));
    return appends.map((a, i) => {
      const stored = retries[i];
      return stored ? { ...stored, alreadyStored: true } : { ...this.write(a.streamId, a.events), alreadyStored: false };
    });
  }

  /** The stored result when this append is a retry; undefined when it may be written; throws on a conflict. */
  private checked(streamId: string, events: NewEvent[], expected: ExpectedRevision): AppendResult | undefined {
    const stream = this.streams.get(streamId) ?? [];
    const ids = events.map((e) => e.eventId.toLowerCase());
    const again = resolveStoredIds(
      streamId,
      expected,
      ids,
      ids.map((id) => this.byId.get(id)),
    );
    if (again) return again;

    const current = stream.length === 0 ? 'no_stream' : BigInt(stream.length - 1);
    const ok =
      expected === 'any' ||
      (expected === 'no_stream' && current === 'no_stream') ||
      (expected === 'stream_exists' && current !== 'no_stream') ||
      (typeof expected === 'bigint' && current === expected);
    if (!ok) throw new WrongExpectedRevisionError(streamId, formatExpected(expected), current);
    return undefined;
  }

  private write(streamId: string, events: NewEvent[]): AppendResult {
    const stream = this.streams.get(streamId) ?? [];
    const recordedAt = this.clock();
    for (const event of events) {
      const globalPosition = BigInt(this.log.length + 1);
      const recorded: RecordedEvent = {
        eventId: event.eventId.toLowerCase(),
        type: event.type,
        streamId,
        streamRevision: BigInt(stream.length),
        globalPosition,
        checkpoint: globalPosition.toString(),
        occurredAt: new Date(event.occurredAt.getTime()),
        recordedAt: new Date(recordedAt.getTime()),
        data: cloneJson(event.data),
        metadata: cloneJson(event.metadata),
      };
      stream.push(recorded);
      this.log.push(recorded);
      this.byId.set(recorded.eventId, recorded);
    }
    this.streams.set(streamId, stream);
    for (const wakeup of this.wakeups) wakeup.notify();
    const last = stream[stream.length - 1];
    return { nextExpectedRevision: last.streamRevision, globalPosition: last.globalPosition };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    await Promise.resolve();
    const backwards = options.direction === 'backwards';
    let events = (this.streams.get(streamId) ?? []).filter((e) => !options.asOf || e.recordedAt.getTime() <= options.asOf.getTime());
    const from = options.fromRevision;
    if (from !== undefined) events = events.filter((e) => (backwards ? e.streamRevision <= from : e.streamRevision >= from));
    if (backwards) events = [...events].reverse();
    return events.slice(0, options.maxCount ?? events.length).map(copy);
  }

  async readEvent(eventId: string): Promise<RecordedEvent | null> {
    this.assertOpen();
    const event = this.byId.get(eventId.toLowerCase());
    return event === undefined ? null : copy(event);
  }

  async readCausedBy(eventId: string, maxCount: number): Promise<RecordedEvent[]> {
    this.assertOpen();
    return this.log.filter((e) => e.metadata.causationId === eventId).slice(0, maxCount).map(copy);
  }

  async readCorrelated(correlationId: string, maxCount: number): Promise<RecordedEvent[]> {
    this.assertOpen();
    return this.log.filter((e) => e.metadata.correlationId === correlationId).slice(0, maxCount).map(copy);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    await Promise.resolve();
    const start = options.after ? parseCheckpoint(options.after) : 0;
    return this.log.slice(start, start + (options.maxCount ?? this.log.length)).map(copy);
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    this.assertOpen();
    const wakeup = new Wakeup();
    this.wakeups.add(wakeup);
    return runPollingSubscription(options, {
      readBatch: (after, maxCount) => this.readAll({ after, maxCount }),
      waitForMore: () => wakeup.wait(60_000),
      interrupt: () => wakeup.notify(),
      dispose: async () => {
        this.wakeups.delete(wakeup);
      },
    });
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wakeup of this.wakeups) wakeup.notify();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('InMemoryEventStore is closed');
  }
}

export function createInMemoryEventStore(options: InMemoryEventStoreOptions = {}): InMemoryEventStore {
  return new InMemoryEventStore(options);
}

function parseCheckpoint(checkpoint: string): number {
  if (!/^\d+$/.test(checkpoint)) throw new Error(`Malformed in-memory checkpoint "${checkpoint}"`);
  return Number(checkpoint);
}

// JSON round trip rather than structuredClone: Dates and objects stay in the caller's realm (Jest runs tests in a vm context).
function cloneJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function copy(event: RecordedEvent): RecordedEvent {
  return {
    ...event,
    occurredAt: new Date(event.occurredAt.getTime()),
    recordedAt: new Date(event.recordedAt.getTime()),
    data: cloneJson(event.data),
    metadata: cloneJson(event.metadata),
  };
}
