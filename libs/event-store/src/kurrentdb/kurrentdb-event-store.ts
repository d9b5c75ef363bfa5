import { BACKWARDS, END, FORWARDS, KurrentDBClient, START, excludeSystemEvents, type AllStreamSubscription } from '@kurrent/kurrentdb-client';
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
import { assertAppendable, assertBatchAppendable, resolveStoredIds, type StoredEventLocation } from '../internal/append-rules';
import {
  comparePositions,
  fromResolvedEvent,
  isStreamNotFound,
  isWrongExpectedVersion,
  mapAppendError,
  parseKurrentCheckpoint,
  toEventData,
  toMultiAppendEventData,
  toStreamState,
} from './kurrentdb-mapping';

export interface KurrentDbEventStoreOptions {
  /** e.g. `kurrentdb://localhost:2113?tls=false` */
  connectionString?: string;
  /** A client owned by the caller (not disposed by `close`). */
  client?: KurrentDBClient;
}

/** The production option: KurrentDB (EventStoreDB) through its maintained Node client. */
export class KurrentDbEventStore implements EventStore {
  private readonly subscriptions = new Set<Subscription>();

  constructor(
    private readonly client: KurrentDBClient,
    private readonly ownsClient: boolean,
  ) {}

  async appendToStream(streamId: string, events: NewEvent[], options: { expectedRevision: ExpectedRevision }): Promise<AppendResult> {
    assertAppendable(streamId, events);
    const expected = options.expectedRevision;
    try {
      const result = await this.client.appendToStream(streamId, events.map(toEventData), { streamState: toStreamState(expected) });
      const globalPosition = result.position?.commit ?? (await this.positionOf(streamId, result.nextExpectedRevision));
      return { nextExpectedRevision: result.nextExpectedRevision, globalPosition };
    } catch (error) {
      if (isWrongExpectedVersion(error) && (expected === 'no_stream' || typeof expected === 'bigint')) {
        // The server's own idempotency check can miss a retry once the stream moved on; look at where the batch would be.
        const again = await this.findStoredBatch(streamId, expected, events);
        if (again) return again;
      }
      throw mapAppendError(error, streamId, expected);
    }
  }

  /**
   * KurrentDB's multi-stream append (server 25.1 or later): one atomic request for all streams, each with its
   * expected state. Every stream's result carries the commit position of the whole append. Unlike
   * `appendToStream`, a retry of a stored batch is not looked up: the server's idempotency answers it while
   * the streams have not moved on, else it is a WrongExpectedRevisionError.
   */
  async appendToStreams(appends: StreamAppend[]): Promise<AppendResult[]> {
    assertBatchAppendable(appends);
    try {
      const result = await this.client.multiStreamAppend(
        appends.map((a) => ({ streamName: a.streamId, events: a.events.map(toMultiAppendEventData), expectedState: toStreamState(a.expectedRevision) })),
      );
      const revisions = new Map(result.responses.map((r) => [r.streamName, r.revision]));
      return appends.map((a) => {
        const revision = revisions.get(a.streamId);
        if (revision === undefined) throw new Error(`KurrentDB multi-stream append did not answer for stream ${a.streamId}`);
        return { nextExpectedRevision: revision, globalPosition: result.position };
      });
    } catch (error) {
      const named = typeof error === 'object' && error !== null ? (error as { streamName?: unknown }).streamName : undefined;
      const failed = appends.find((a) => a.streamId === named) ?? appends[0];
      throw mapAppendError(error, failed.streamId, failed.expectedRevision);
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const asOf = options.asOf;
    const out: RecordedEvent[] = [];
    const limit = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    if (limit <= 0) return out;
    try {
      const reader = this.client.readStream(streamId, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision: options.fromRevision ?? (backwards ? END : START),
        // "As of" filters on `created`, so the count can only be applied after filtering.
        ...(asOf ? {} : { maxCount: limit }),
      });
      for await (const resolved of reader) {
        const event = fromResolvedEvent(resolved);
        if (!event) continue;
        if (asOf && event.recordedAt.getTime() > asOf.getTime()) {
          if (backwards) continue;
          break;
        }
        out.push(event);
        if (out.length >= limit) break;
      }
    } catch (error) {
      if (isStreamNotFound(error)) return [];
      throw error;
    }
    return out;
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const after = options.after ? parseKurrentCheckpoint(options.after) : null;
    const limit = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    const out: RecordedEvent[] = [];
    if (limit <= 0) return out;
    const reader = this.client.readAll({
      fromPosition: after ?? START,
      filter: excludeSystemEvents(),
      // fromPosition is inclusive: one more, to drop the event at the checkpoint itself.
      maxCount: after ? limit + 1 : limit,
    });
    for await (const resolved of reader) {
      const event = fromResolvedEvent(resolved);
      if (!event) continue;
      if (after && comparePositions(parseKurrentCheckpoint(event.checkpoint), after) <= 0) continue;
      out.push(event);
      if (out.length >= limit) break;
    }
    return out;
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    const after = options.after ? parseKurrentCheckpoint(options.after) : null;
    let stopped = false;
    let inHandler = false;
    const stream: AllStreamSubscription = this.client.subscribeToAll({ fromPosition: after ?? START, filter: excludeSystemEvents() });
    let caughtUp = false;
    stream.on('caughtUp', () => {
      if (caughtUp) return;
      caughtUp = true;
      options.onCaughtUp?.();
    });
    const run = async () => {
      for await (const resolved of stream) {
        if (stopped) break;
        const event = fromResolvedEvent(resolved);
        if (!event) continue;
        if (after && comparePositions(parseKurrentCheckpoint(event.checkpoint), after) <= 0) continue;
        inHandler = true;
        try {
          await options.onEvent(event);
        } finally {
          inHandler = false;
        }
      }
    };
    const done = run().catch(async (error: unknown) => {
      const err = error instanceof Error ? error : new Error(String(error));
      await stream.unsubscribe().catch(() => undefined);
      if (stopped) return;
      stopped = true;
      options.onError?.(err);
      throw err;
    });
    done.catch(() => undefined);
    const subscription: Subscription = {
      done,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await stream.unsubscribe().catch(() => undefined);
        if (!inHandler) await done.catch(() => undefined);
      },
    };
    this.subscriptions.add(subscription);
    done.finally(() => this.subscriptions.delete(subscription)).catch(() => undefined);
    return subscription;
  }

  async ping(): Promise<void> {
    try {
      for await (const _ of this.client.readStream('dh-readiness-ping', { maxCount: 1 })) break;
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    if (this.ownsClient) await this.client.dispose();
  }

  private async positionOf(streamId: string, revision: bigint): Promise<bigint> {
    const [event] = await this.readStream(streamId, { fromRevision: revision, maxCount: 1 });
    if (!event) throw new Error(`KurrentDB: appended event ${streamId}@${revision} could not be read back`);
    return event.globalPosition;
  }

  private async findStoredBatch(streamId: string, expected: 'no_stream' | bigint, events: NewEvent[]): Promise<AppendResult | undefined> {
    const from = expected === 'no_stream' ? 0n : expected + 1n;
    const stored = await this.readStream(streamId, { fromRevision: from, maxCount: events.length });
    const ids = events.map((e) => e.eventId.toLowerCase());
    const at = new Map(stored.map((e): [string, StoredEventLocation] => [e.eventId.toLowerCase(), e]));
    return resolveStoredIds(
      streamId,
      expected,
      ids,
      ids.map((id) => at.get(id)),
    );
  }
}

/** Connects lazily (the client dials on first use); a malformed connection string rejects at once. */
export async function createKurrentDbEventStore(options: KurrentDbEventStoreOptions): Promise<KurrentDbEventStore> {
  if (options.client) return new KurrentDbEventStore(options.client, false);
  if (!options.connectionString) throw new Error('createKurrentDbEventStore: pass a client or a connectionString');
  return new KurrentDbEventStore(KurrentDBClient.connectionString(options.connectionString), true);
}
