import {
  ANY,
  NO_STREAM,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AppendStreamRequest,
  type KurrentDBClient,
} from '@kurrent/kurrentdb-client';
import { DuplicateEventIdError, WrongExpectedRevisionError } from '../errors';
import type { EventMetadata } from '../event-store.port';
import { newEvent } from '../testing';
import { KurrentDbEventStore } from './kurrentdb-event-store';
import {
  OCCURRED_AT_KEY,
  comparePositions,
  formatKurrentCheckpoint,
  fromResolvedEvent,
  isStreamNotFound,
  mapAppendError,
  parseKurrentCheckpoint,
  toEventData,
  toStreamState,
} from './kurrentdb-mapping';

const metadata: EventMetadata = { correlationId: 'c-9', causationId: 'e-1', actor: 'ops', schemaVersion: 2, context: 'portfolio' };

function stored(overrides: Partial<{ metadata: unknown; isJson: boolean; data: unknown; position: { commit: bigint; prepare: bigint } | undefined }> = {}) {
  const event = {
    streamId: 'metering-point-1',
    id: '0b6d6a5e-3f0c-4a43-9d1e-1d1f3c2a9e01',
    revision: 4n,
    type: 'MeterRead',
    created: new Date('2026-02-01T00:00:01.000Z'),
    isJson: true,
    data: { kwh: 12 },
    metadata: { ...metadata, [OCCURRED_AT_KEY]: '2026-01-31T23:00:00.000Z' },
    position: { commit: 1200n, prepare: 1190n },
    ...overrides,
  };
  return { event } as unknown as AllStreamResolvedEvent;
}

describe('KurrentDB mapping', () => {
  it('maps expected revisions to stream states', () => {
    expect(toStreamState('no_stream')).toBe(NO_STREAM);
    expect(toStreamState('stream_exists')).toBe(STREAM_EXISTS);
    expect(toStreamState('any')).toBe(ANY);
    expect(toStreamState(7n)).toBe(7n);
  });

  it('writes checkpoints as "<commit>:<prepare>" and reads them back', () => {
    const position = { commit: 18446744073709551615n, prepare: 42n };
    expect(formatKurrentCheckpoint(position)).toBe('18446744073709551615:42');
    expect(parseKurrentCheckpoint(formatKurrentCheckpoint(position))).toEqual(position);
    expect(() => parseKurrentCheckpoint('12')).toThrow(/Malformed KurrentDB checkpoint/);
    expect(() => parseKurrentCheckpoint('1:2:3')).toThrow(/Malformed/);
    expect(comparePositions({ commit: 2n, prepare: 1n }, { commit: 1n, prepare: 9n })).toBe(1);
    expect(comparePositions({ commit: 2n, prepare: 1n }, { commit: 2n, prepare: 3n })).toBe(-1);
    expect(comparePositions({ commit: 2n, prepare: 3n }, { commit: 2n, prepare: 3n })).toBe(0);
  });

  it('maps WrongExpectedVersion to the typed error with the actual revision', () => {
    const atRevision = mapAppendError(new WrongExpectedVersionError(undefined, { streamName: 's-1', expected: 0n, current: 3n }), 's-1', 0n);
    expect(atRevision).toBeInstanceOf(WrongExpectedRevisionError);
    expect(atRevision).toMatchObject({ streamId: 's-1', expected: '0', actual: 3n });
    const missing = mapAppendError(new WrongExpectedVersionError(undefined, { streamName: 's-2', expected: STREAM_EXISTS, current: NO_STREAM }), 's-2', 'stream_exists');
    expect(missing).toMatchObject({ streamId: 's-2', expected: 'stream_exists', actual: 'no_stream' });
    const other = new Error('unavailable');
    expect(mapAppendError(other, 's-3', 'any')).toBe(other);
    expect(isStreamNotFound(new StreamNotFoundError(undefined, 's'))).toBe(true);
    expect(isStreamNotFound(other)).toBe(false);
  });

  it('carries metadata and occurredAt in the metadata JSON and back', () => {
    const event = newEvent('MeterRead', { kwh: 12 }, new Date('2026-01-31T23:00:00.000Z'));
    const data = toEventData({ ...event, metadata });
    expect(data).toEqual({
      id: event.eventId,
      contentType: 'application/json',
      type: 'MeterRead',
      data: { kwh: 12 },
      metadata: { ...metadata, [OCCURRED_AT_KEY]: '2026-01-31T23:00:00.000Z' },
    });
    expect(fromResolvedEvent(stored())).toEqual({
      eventId: '0b6d6a5e-3f0c-4a43-9d1e-1d1f3c2a9e01',
      type: 'MeterRead',
      streamId: 'metering-point-1',
      streamRevision: 4n,
      globalPosition: 1200n,
      checkpoint: '1200:1190',
      occurredAt: new Date('2026-01-31T23:00:00.000Z'),
      recordedAt: new Date('2026-02-01T00:00:01.000Z'),
      data: { kwh: 12 },
      metadata,
    });
  });

  it('reads events written by other tools with defaults, and skips what is not a JSON event', () => {
    const foreign = fromResolvedEvent(stored({ metadata: new Uint8Array([1, 2, 3]) }));
    expect(foreign?.occurredAt).toEqual(new Date('2026-02-01T00:00:01.000Z'));
    expect(foreign?.metadata).toEqual({ correlationId: '', causationId: null, actor: '', schemaVersion: 1, context: '' });
    const bytes = fromResolvedEvent(stored({ metadata: new TextEncoder().encode(JSON.stringify({ actor: 'legacy' })) }));
    expect(bytes?.metadata.actor).toBe('legacy');
    expect(fromResolvedEvent(stored({ isJson: false, data: new Uint8Array([1]) }))).toBeNull();
    expect(fromResolvedEvent({} as AllStreamResolvedEvent)).toBeNull();
    expect(() => fromResolvedEvent(stored({ position: undefined }))).toThrow(/positions/);
  });
});

/** A client stub that answers from canned events, to test the adapter's own logic without a server. */
function stubClient(options: { append?: () => Promise<unknown>; multiAppend?: (requests: AppendStreamRequest[]) => Promise<unknown>; events: AllStreamResolvedEvent[] }) {
  const calls: { method: string; options: unknown }[] = [];
  async function* iterate(list: AllStreamResolvedEvent[]) {
    for (const e of list) yield e;
  }
  const client = {
    appendToStream: async () => (options.append ? options.append() : { success: true, nextExpectedRevision: 0n, position: { commit: 1n, prepare: 1n } }),
    multiStreamAppend: async (requests: AppendStreamRequest[]) => {
      calls.push({ method: 'multiStreamAppend', options: requests });
      return options.multiAppend ? options.multiAppend(requests) : { position: 0n, responses: [] };
    },
    readStream: (_name: string, o: { fromRevision?: unknown; maxCount?: number }) => {
      calls.push({ method: 'readStream', options: o });
      const from = typeof o.fromRevision === 'bigint' ? o.fromRevision : 0n;
      return iterate(options.events.filter((e) => (e.event?.revision ?? 0n) >= from).slice(0, o.maxCount));
    },
    readAll: (o: unknown) => {
      calls.push({ method: 'readAll', options: o });
      return iterate(options.events);
    },
  };
  return { client: client as unknown as KurrentDBClient, calls };
}

function at(revision: bigint, id: string, commit: bigint): AllStreamResolvedEvent {
  return { event: { ...stored().event!, streamId: 's', revision, id, position: { commit, prepare: commit } } } as AllStreamResolvedEvent;
}

describe('KurrentDbEventStore against a stubbed client', () => {
  const a = newEvent();
  const b = newEvent();

  it('answers a retried append the server rejected as a conflict from where the batch is stored', async () => {
    const { client } = stubClient({
      append: () => Promise.reject(new WrongExpectedVersionError(undefined, { streamName: 's', expected: NO_STREAM, current: 2n })),
      events: [at(0n, a.eventId, 10n), at(1n, b.eventId, 11n), at(2n, newEvent().eventId, 12n)],
    });
    const store = new KurrentDbEventStore(client, false);
    await expect(store.appendToStream('s', [a, b], { expectedRevision: 'no_stream' })).resolves.toEqual({ nextExpectedRevision: 1n, globalPosition: 11n });
    await expect(store.appendToStream('s', [b], { expectedRevision: 0n })).resolves.toEqual({ nextExpectedRevision: 1n, globalPosition: 11n });
    await expect(store.appendToStream('s', [a, newEvent()], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(DuplicateEventIdError);
    const conflict = await store.appendToStream('s', [newEvent()], { expectedRevision: 0n }).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(WrongExpectedRevisionError);
    expect(conflict).toMatchObject({ actual: 2n });
  });

  it('appends to several streams with one multi-stream append, metadata packed in one string property and read back', async () => {
    const { client, calls } = stubClient({
      events: [],
      multiAppend: async (requests) => ({ position: 77n, responses: requests.map((r, i) => ({ streamName: r.streamName, revision: BigInt(i + 3) })) }),
    });
    const store = new KurrentDbEventStore(client, false);
    const results = await store.appendToStreams([
      { streamId: 'x', events: [a], expectedRevision: 'no_stream' },
      { streamId: 'y', events: [b], expectedRevision: 2n },
    ]);
    expect(results).toEqual([
      { nextExpectedRevision: 3n, globalPosition: 77n },
      { nextExpectedRevision: 4n, globalPosition: 77n },
    ]);
    const requests = calls.find((c) => c.method === 'multiStreamAppend')?.options as AppendStreamRequest[];
    expect(requests.map((r) => [r.streamName, r.expectedState])).toEqual([
      ['x', NO_STREAM],
      ['y', 2n],
    ]);
    const properties = requests[0].events[0].metadata as Record<string, unknown>;
    expect(Object.values(properties).every((v) => typeof v === 'string')).toBe(true);
    // The server keeps the properties as the event's metadata: the port's metadata and domain time come back.
    const read = fromResolvedEvent(stored({ metadata: properties }));
    expect(read?.metadata).toEqual(a.metadata);
    expect(read?.occurredAt).toEqual(a.occurredAt);
  });

  it('names the stream a multi-stream append was refused for', async () => {
    const { client } = stubClient({
      events: [],
      multiAppend: () => Promise.reject(new WrongExpectedVersionError(undefined, { streamName: 'y', expected: NO_STREAM, current: 5n })),
    });
    const store = new KurrentDbEventStore(client, false);
    const error = await store
      .appendToStreams([
        { streamId: 'x', events: [newEvent()], expectedRevision: 'no_stream' },
        { streamId: 'y', events: [newEvent()], expectedRevision: 'no_stream' },
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    expect(error).toMatchObject({ streamId: 'y', actual: 5n });
  });

  it('reads $all after a checkpoint without repeating the event at the checkpoint', async () => {
    const { client, calls } = stubClient({ events: [at(0n, a.eventId, 10n), at(1n, b.eventId, 11n)] });
    const store = new KurrentDbEventStore(client, false);
    const events = await store.readAll({ after: '10:10', maxCount: 5 });
    expect(events.map((e) => e.eventId)).toEqual([b.eventId]);
    expect(calls.at(-1)?.options).toMatchObject({ fromPosition: { commit: 10n, prepare: 10n }, maxCount: 6 });
  });

  it('applies asOf on created before counting', async () => {
    const late = { event: { ...at(1n, b.eventId, 11n).event!, created: new Date('2026-02-02T00:00:00.000Z') } } as AllStreamResolvedEvent;
    const { client } = stubClient({ events: [at(0n, a.eventId, 10n), late] });
    const store = new KurrentDbEventStore(client, false);
    expect((await store.readStream('s', { asOf: new Date('2026-02-01T12:00:00.000Z'), maxCount: 2 })).map((e) => e.eventId)).toEqual([a.eventId]);
  });
});
