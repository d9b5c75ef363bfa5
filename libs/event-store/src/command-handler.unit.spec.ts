import { createHash, randomUUID } from 'node:crypto';
import { deterministicEventId, handleCommand, type Decider } from './command-handler';
import { WrongExpectedRevisionError } from './errors';
import type { AppendResult, EventMetadata, EventStore, ExpectedRevision, NewEvent } from './event-store.port';
import { InMemoryEventStore } from './in-memory/in-memory-event-store';

type CounterEvent = { type: 'Incremented'; data: { by: number } } | { type: 'Capped'; data: { at: number } };
type Increment = { by: number; cap: number };
interface Counter {
  value: number;
  capped: boolean;
}

const counter: Decider<Increment, Counter, CounterEvent> = {
  initialState: { value: 0, capped: false },
  evolve: (state, event) =>
    event.type === 'Incremented' ? { ...state, value: state.value + event.data.by } : { ...state, capped: true },
  decide: (command, state) => {
    if (state.capped) throw new Error('counter is capped');
    const next = state.value + command.by;
    return next >= command.cap
      ? [
          { type: 'Incremented', data: { by: command.by } },
          { type: 'Capped', data: { at: next } },
        ]
      : [{ type: 'Incremented', data: { by: command.by } }];
  },
};

const metadata: EventMetadata = { correlationId: 'c-1', causationId: null, actor: 'test', schemaVersion: 1, context: 'test' };
const now = new Date('2026-03-01T12:00:00.000Z');

/** Lets a rival writer append to the stream right before each of our first `conflicts` appends. */
class RivalWritesFirst implements EventStore {
  appendCalls = 0;
  constructor(
    private readonly inner: InMemoryEventStore,
    private conflicts: number,
  ) {}
  async appendToStream(streamId: string, events: NewEvent[], options: { expectedRevision: ExpectedRevision }): Promise<AppendResult> {
    this.appendCalls++;
    if (this.conflicts > 0) {
      this.conflicts--;
      await this.inner.appendToStream(
        streamId,
        [{ eventId: randomUUID(), type: 'Incremented', data: { by: 100 }, metadata, occurredAt: now }],
        { expectedRevision: 'any' },
      );
    }
    return this.inner.appendToStream(streamId, events, options);
  }
  appendToStreams: EventStore['appendToStreams'] = (...args) => this.inner.appendToStreams(...args);
  readStream: EventStore['readStream'] = (...args) => this.inner.readStream(...args);
  readAll: EventStore['readAll'] = (...args) => this.inner.readAll(...args);
  subscribeToAll: EventStore['subscribeToAll'] = (...args) => this.inner.subscribeToAll(...args);
  ping = () => this.inner.ping();
  close = () => this.inner.close();
}

describe('handleCommand', () => {
  it('appends the decided events to a new stream with occurredAt and metadata', async () => {
    const store = new InMemoryEventStore();
    const result = await handleCommand({ store, streamId: 'counter-1', decider: counter, command: { by: 2, cap: 10 }, metadata, now });
    expect(result).toMatchObject({ appendResult: { nextExpectedRevision: 0n }, state: { value: 2, capped: false }, attempts: 1 });
    const [stored] = await store.readStream('counter-1');
    expect(stored).toMatchObject({ type: 'Incremented', data: { by: 2 }, metadata, occurredAt: now });
  });

  it('folds the existing stream and appends at its revision', async () => {
    const store = new InMemoryEventStore();
    await handleCommand({ store, streamId: 'counter-1', decider: counter, command: { by: 4, cap: 10 }, metadata, now });
    const result = await handleCommand({ store, streamId: 'counter-1', decider: counter, command: { by: 6, cap: 10 }, metadata, now });
    expect(result.events.map((e) => e.type)).toEqual(['Incremented', 'Capped']);
    expect(result.state).toEqual({ value: 10, capped: true });
    expect(result.appendResult?.nextExpectedRevision).toBe(2n);
    await expect(handleCommand({ store, streamId: 'counter-1', decider: counter, command: { by: 1, cap: 10 }, metadata, now })).rejects.toThrow(
      'counter is capped',
    );
  });

  it('reloads and decides again after a conflict, on the state the rival left', async () => {
    const store = new RivalWritesFirst(new InMemoryEventStore(), 1);
    const result = await handleCommand({ store, streamId: 'counter-2', decider: counter, command: { by: 1, cap: 50 }, metadata, now });
    expect(result.attempts).toBe(2);
    expect(store.appendCalls).toBe(2);
    // The rival's +100 was folded in before deciding again, so the cap is reached.
    expect(result.events.map((e) => e.type)).toEqual(['Incremented', 'Capped']);
    expect((await store.readStream('counter-2')).map((e) => e.data)).toEqual([{ by: 100 }, { by: 1 }, { at: 101 }]);
  });

  it('gives up after maxRetries with the typed conflict error', async () => {
    const store = new RivalWritesFirst(new InMemoryEventStore(), 10);
    const error = await handleCommand({ store, streamId: 'counter-3', decider: counter, command: { by: 1, cap: 1_000 }, metadata, now, maxRetries: 2 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    expect(store.appendCalls).toBe(3);
    expect((await store.readStream('counter-3')).every((e) => e.data.by === 100)).toBe(true);
  });

  it('stores a retried command once when it carries the same idempotency key', async () => {
    const store = new InMemoryEventStore();
    const command = { store, streamId: 'counter-4', decider: counter, command: { by: 5, cap: 5 }, metadata, now, idempotencyKey: 'request-42' };
    const first = await handleCommand(command);
    const retry = await handleCommand(command);
    expect(retry.alreadyHandled).toBe(true);
    expect(retry.appendResult).toEqual(first.appendResult);
    const stored = await store.readStream('counter-4');
    expect(stored.map((e) => e.eventId)).toEqual([deterministicEventId('request-42', 'counter-4', 0), deterministicEventId('request-42', 'counter-4', 1)]);
    // A different key is a different command.
    await expect(handleCommand({ ...command, idempotencyKey: 'request-43' })).rejects.toThrow('counter is capped');
  });

  it('lets the idempotent append absorb two racing deliveries of the same command', async () => {
    const store = new InMemoryEventStore();
    const command = { store, streamId: 'counter-5', decider: counter, command: { by: 1, cap: 9 }, metadata, now, idempotencyKey: 'request-7' };
    const results = await Promise.all([handleCommand(command), handleCommand(command)]);
    expect(results[0].appendResult).toEqual(results[1].appendResult);
    expect(await store.readStream('counter-5')).toHaveLength(1);
  });

  it('uses random ids without a key, and appends nothing when nothing is decided', async () => {
    const store = new InMemoryEventStore();
    const a = await handleCommand({ store, streamId: 'counter-6', decider: counter, command: { by: 1, cap: 9 }, metadata, now });
    const b = await handleCommand({ store, streamId: 'counter-6', decider: counter, command: { by: 1, cap: 9 }, metadata, now });
    expect(a.appendResult?.nextExpectedRevision).toBe(0n);
    expect(b.appendResult?.nextExpectedRevision).toBe(1n);
    const quiet: Decider<null, Counter, CounterEvent> = { ...counter, decide: () => [] };
    const none = await handleCommand({ store, streamId: 'counter-6', decider: quiet, command: null, metadata, now });
    expect(none).toMatchObject({ events: [], appendResult: null, state: { value: 2 } });
  });

  it('derives stable version-5 style UUIDs per key, stream and index', () => {
    const id = deterministicEventId('k', 's', 0);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deterministicEventId('k', 's', 0)).toBe(id);
    expect(new Set([id, deterministicEventId('k', 's', 1), deterministicEventId('k', 't', 0), deterministicEventId('j', 's', 0)]).size).toBe(4);
  });

  it('derives the ids stored before: SHA-1 of the name with the version and variant bits set on its bytes', () => {
    // Ids of events already in the store (computed with createHash and the bytes changed in place, before 2026-12-06).
    expect(deterministicEventId('k', 's', 0)).toBe('bfaec19b-a2a5-5b19-98c4-2e8d27c83aaa');
    expect(deterministicEventId('metered-data/doc:series', 'metered-data-571313180400000025', 2)).toBe('e3fc3c7c-aa41-5fc8-b1b5-212696532ffd');
    expect(deterministicEventId('Søren 😀', 'datahub-document-x', 99)).toBe('2c88de33-afba-5360-951c-8adfcee321bd');
    const reference = (key: string, stream: string, index: number): string => {
      const bytes = createHash('sha1').update(`dh-event-store\u0000${stream}\u0000${key}\u0000${index}`).digest();
      bytes[6] = (bytes[6]! & 0x0f) | 0x50;
      bytes[8] = (bytes[8]! & 0x3f) | 0x80;
      const hex = bytes.subarray(0, 16).toString('hex');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
    };
    for (let i = 0; i < 2_000; i++) {
      const key = `document-${(i * 7919).toString(36)}:${i % 13 === 0 ? 'æø😀' : ''}`;
      expect(deterministicEventId(key, `stream-${i % 97}`, i % 500)).toBe(reference(key, `stream-${i % 97}`, i % 500));
    }
  });
});
