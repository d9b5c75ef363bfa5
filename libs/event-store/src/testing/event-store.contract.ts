import { randomUUID } from 'node:crypto';
import { DuplicateEventIdError, WrongExpectedRevisionError } from '../errors';
import { eventLookupOf } from '../event-lookup';
import { logTextReadOf, type LogTextEvent } from '../log-text-read';
import { retryAwareAppendOf } from '../retry-aware-append';
import type { EventMetadata, EventStore, JsonObject, NewEvent, RecordedEvent } from '../event-store.port';

export interface EventStoreUnderTest {
  store: EventStore;
  /** Drops what the factory created (databases, servers); `store.close()` is called before. */
  teardown?: () => Promise<void>;
}

export interface EventStoreCapabilities {
  /** Event ids are unique across the whole store, not only per stream (KurrentDB keeps no global id index). */
  uniqueEventIdsAcrossStreams?: boolean;
}

const metadata: EventMetadata = { correlationId: 'corr-1', causationId: null, actor: 'contract-test', schemaVersion: 1, context: 'test' };

export function newEvent(type = 'Something', data: JsonObject = {}, occurredAt = new Date('2026-01-15T10:00:00.000Z')): NewEvent {
  return { eventId: randomUUID(), type, data, metadata, occurredAt };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitFor(probe: () => void, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      probe();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(20);
    }
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/**
 * The behaviour every adapter must show. Stream ids are random, and global-log assertions only look at
 * this suite's streams, so it can run against a server that holds other data.
 */
export function describeEventStoreContract(
  name: string,
  factory: () => Promise<EventStoreUnderTest>,
  capabilities: EventStoreCapabilities = {},
): void {
  const uniqueIds = capabilities.uniqueEventIdsAcrossStreams ?? true;

  describe(`EventStore contract: ${name}`, () => {
    let underTest: EventStoreUnderTest;
    let store: EventStore;
    const stream = (category = 'contract') => `${category}-${randomUUID()}`;
    const ids = (events: { eventId: string }[]) => events.map((e) => e.eventId);

    beforeAll(async () => {
      underTest = await factory();
      store = underTest.store;
    });

    afterAll(async () => {
      await store?.close();
      await underTest?.teardown?.();
    });

    async function readAllOf(streams: string[], after: string | null = null, pageSize = 1000): Promise<RecordedEvent[]> {
      const wanted = new Set(streams);
      const out: RecordedEvent[] = [];
      for (;;) {
        const page = await store.readAll({ after, maxCount: pageSize });
        out.push(...page.filter((e) => wanted.has(e.streamId)));
        if (page.length < pageSize) return out;
        after = page[page.length - 1].checkpoint;
      }
    }

    describe('appendToStream', () => {
      it('stores events with consecutive revisions and returns the last revision and position', async () => {
        const s = stream();
        const batch = [newEvent('Opened', { n: 1 }), newEvent('Changed', { n: 2, nested: { list: [1, 'x', null] } })];
        const result = await store.appendToStream(s, batch, { expectedRevision: 'no_stream' });
        expect(result.nextExpectedRevision).toBe(1n);
        const read = await store.readStream(s);
        expect(read.map((e) => [e.eventId, e.type, e.streamId, e.streamRevision])).toEqual([
          [batch[0].eventId, 'Opened', s, 0n],
          [batch[1].eventId, 'Changed', s, 1n],
        ]);
        expect(read[1].data).toEqual({ n: 2, nested: { list: [1, 'x', null] } });
        expect(read[0].metadata).toEqual(metadata);
        expect(read[0].occurredAt.toISOString()).toBe('2026-01-15T10:00:00.000Z');
        expect(read[0].recordedAt).toBeInstanceOf(Date);
        expect(read[1].globalPosition).toBe(result.globalPosition);
        expect(read[0].globalPosition < read[1].globalPosition).toBe(true);
        expect(typeof read[0].checkpoint).toBe('string');
      });

      it('checks every kind of expected revision', async () => {
        const s = stream();
        const conflict = async (expectedRevision: 'no_stream' | 'stream_exists' | bigint, actual: bigint | 'no_stream') => {
          const error = await rejection(store.appendToStream(s, [newEvent()], { expectedRevision }));
          expect(error).toBeInstanceOf(WrongExpectedRevisionError);
          expect(error).toMatchObject({ streamId: s, actual });
        };
        await conflict('stream_exists', 'no_stream');
        await conflict(0n, 'no_stream');
        expect((await store.appendToStream(s, [newEvent()], { expectedRevision: 'no_stream' })).nextExpectedRevision).toBe(0n);
        await conflict('no_stream', 0n);
        await conflict(1n, 0n);
        expect((await store.appendToStream(s, [newEvent()], { expectedRevision: 0n })).nextExpectedRevision).toBe(1n);
        await conflict(0n, 1n);
        expect((await store.appendToStream(s, [newEvent()], { expectedRevision: 'stream_exists' })).nextExpectedRevision).toBe(2n);
        expect((await store.appendToStream(s, [newEvent()], { expectedRevision: 'any' })).nextExpectedRevision).toBe(3n);
        expect((await store.appendToStream(stream(), [newEvent()], { expectedRevision: 'any' })).nextExpectedRevision).toBe(0n);
        expect(await store.readStream(s)).toHaveLength(4);
      });

      it('lets exactly one of two concurrent writers at the same revision win', async () => {
        const s = stream();
        await store.appendToStream(s, [newEvent()], { expectedRevision: 'no_stream' });
        const results = await Promise.allSettled([
          store.appendToStream(s, [newEvent('A')], { expectedRevision: 0n }),
          store.appendToStream(s, [newEvent('B')], { expectedRevision: 0n }),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(failed?.reason).toBeInstanceOf(WrongExpectedRevisionError);
        expect(await store.readStream(s)).toHaveLength(2);
      });

      it('lets exactly one of two concurrent creators of a stream win', async () => {
        const s = stream();
        const results = await Promise.allSettled([
          store.appendToStream(s, [newEvent('A')], { expectedRevision: 'no_stream' }),
          store.appendToStream(s, [newEvent('B')], { expectedRevision: 'no_stream' }),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect(results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason).toBeInstanceOf(WrongExpectedRevisionError);
      });

      it('rejects an empty batch and a batch that repeats an id', async () => {
        const s = stream();
        await expect(store.appendToStream(s, [], { expectedRevision: 'any' })).rejects.toThrow(/at least one event/);
        const e = newEvent();
        await expect(store.appendToStream(s, [e, { ...e }], { expectedRevision: 'any' })).rejects.toThrow(/twice/);
        expect(await store.readStream(s)).toEqual([]);
      });
    });

    describe('idempotent append', () => {
      it('returns the original result for a retry with the same expected revision, even after the stream moved on', async () => {
        const s = stream();
        const batch = [newEvent('A'), newEvent('B')];
        const first = await store.appendToStream(s, batch, { expectedRevision: 'no_stream' });
        expect(await store.appendToStream(s, batch, { expectedRevision: 'no_stream' })).toEqual(first);
        const next = [newEvent('C')];
        const second = await store.appendToStream(s, next, { expectedRevision: 1n });
        await store.appendToStream(s, [newEvent('D')], { expectedRevision: 2n });
        expect(await store.appendToStream(s, batch, { expectedRevision: 'no_stream' })).toEqual(first);
        expect(await store.appendToStream(s, next, { expectedRevision: 1n })).toEqual(second);
        expect(ids(await store.readStream(s))).toEqual([...ids(batch), ...ids(next), expect.any(String)]);
      });

      it('returns the original result for a retry with expected revision any', async () => {
        const s = stream();
        await store.appendToStream(s, [newEvent()], { expectedRevision: 'any' });
        const batch = [newEvent('A'), newEvent('B')];
        const first = await store.appendToStream(s, batch, { expectedRevision: 'any' });
        expect(await store.appendToStream(s, batch, { expectedRevision: 'any' })).toEqual(first);
        expect(await store.readStream(s)).toHaveLength(3);
      });

      if (uniqueIds) {
        it('rejects ids stored in another stream, at other revisions, or only partly', async () => {
          const s = stream();
          const [a, b] = [newEvent('A'), newEvent('B')];
          await store.appendToStream(s, [a, b], { expectedRevision: 'no_stream' });
          const other = stream();
          const elsewhere = await rejection(store.appendToStream(other, [a], { expectedRevision: 'any' }));
          expect(elsewhere).toBeInstanceOf(DuplicateEventIdError);
          expect(elsewhere).toMatchObject({ streamId: other, eventIds: [a.eventId] });
          await expect(store.appendToStream(s, [b], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(DuplicateEventIdError);
          await expect(store.appendToStream(s, [b, a], { expectedRevision: 'any' })).rejects.toBeInstanceOf(DuplicateEventIdError);
          await expect(store.appendToStream(s, [a, b, newEvent()], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(
            DuplicateEventIdError,
          );
          expect(await store.readStream(other)).toEqual([]);
          expect(await store.readStream(s)).toHaveLength(2);
        });
      }
    });

    describe('appendToStreams', () => {
      it('appends to several streams at once, results in the order given', async () => {
        const [a, b, c] = [stream(), stream(), stream()];
        await store.appendToStream(b, [newEvent('First')], { expectedRevision: 'no_stream' });
        const batch = {
          a: [newEvent('A1'), newEvent('A2')],
          b: [newEvent('B2')],
          c: [newEvent('C1'), newEvent('C2'), newEvent('C3')],
        };
        const results = await store.appendToStreams([
          { streamId: c, events: batch.c, expectedRevision: 'no_stream' },
          { streamId: a, events: batch.a, expectedRevision: 'any' },
          { streamId: b, events: batch.b, expectedRevision: 0n },
        ]);
        expect(results.map((r) => r.nextExpectedRevision)).toEqual([2n, 1n, 1n]);
        expect((await store.readStream(a)).map((e) => [e.eventId, e.streamRevision])).toEqual([
          [batch.a[0].eventId, 0n],
          [batch.a[1].eventId, 1n],
        ]);
        expect((await store.readStream(b)).map((e) => e.type)).toEqual(['First', 'B2']);
        const cRead = await store.readStream(c);
        expect(cRead.map((e) => e.eventId)).toEqual(ids(batch.c));
        expect(cRead[2].globalPosition <= results[0].globalPosition).toBe(true);
        expect(cRead[0].metadata).toEqual(metadata);
        expect(cRead[0].occurredAt.toISOString()).toBe('2026-01-15T10:00:00.000Z');
      });

      it('keeps data and metadata exactly, whatever characters they hold, through both appends', async () => {
        const tricky = {
          'key "with" quotes': 'quote " backslash \\ slash / newline \n tab \t ø 😀 {"json":"inside"} [1,2]',
          nested: { list: ['\\"', '', ' ', '{', ']'], n: -1.5e-7, big: 12345678901234 },
        };
        const trickyMeta = { ...metadata, note: 'a "quoted" \\ note' };
        const [a, b] = [stream(), stream()];
        await store.appendToStream(a, [{ ...newEvent('Tricky', tricky), metadata: trickyMeta }], { expectedRevision: 'no_stream' });
        await store.appendToStreams([{ streamId: b, events: [{ ...newEvent('Tricky', tricky), metadata: trickyMeta }, newEvent('Plain', { x: 1 })], expectedRevision: 'no_stream' }]);
        for (const s of [a, b]) {
          const [read] = await store.readStream(s);
          expect(read.data).toEqual(tricky);
          expect(read.metadata).toEqual(trickyMeta);
        }
        expect((await store.readStream(b)).map((e) => e.data)).toEqual([tricky, { x: 1 }]);
      });

      it('stores nothing of the batch when one stream is not at its expected revision, and names that stream', async () => {
        const [a, b, c] = [stream(), stream(), stream()];
        await store.appendToStream(b, [newEvent()], { expectedRevision: 'no_stream' });
        const error = await rejection(
          store.appendToStreams([
            { streamId: a, events: [newEvent()], expectedRevision: 'no_stream' },
            { streamId: b, events: [newEvent()], expectedRevision: 'no_stream' },
            { streamId: c, events: [newEvent()], expectedRevision: 'no_stream' },
          ]),
        );
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error).toMatchObject({ streamId: b, actual: 0n });
        expect(await store.readStream(a)).toHaveLength(0);
        expect(await store.readStream(b)).toHaveLength(1);
        expect(await store.readStream(c)).toHaveLength(0);
      });

      it('answers a retried batch with the stored results and writes nothing twice', async () => {
        const [a, b] = [stream(), stream()];
        const appends = [
          { streamId: a, events: [newEvent(), newEvent()], expectedRevision: 'no_stream' as const },
          { streamId: b, events: [newEvent()], expectedRevision: 'no_stream' as const },
        ];
        const first = await store.appendToStreams(appends);
        expect(await store.appendToStreams(appends)).toEqual(first);
        expect(await store.readStream(a)).toHaveLength(2);
        expect(await store.readStream(b)).toHaveLength(1);
      });

      it('says per stream whether it wrote the events or found them stored, where the adapter offers it', async () => {
        const noting = retryAwareAppendOf(store);
        if (noting === null) return;
        const [a, b, c] = [stream(), stream(), stream()];
        const first = [
          { streamId: a, events: [newEvent(), newEvent()], expectedRevision: 'no_stream' as const },
          { streamId: b, events: [newEvent()], expectedRevision: 'no_stream' as const },
        ];
        const written = await noting.appendToStreamsNotingRetries(first);
        expect(written.map((r) => r.alreadyStored)).toEqual([false, false]);
        // The same batch again: answered with the stored results, each marked as found stored, nothing written twice.
        const again = await noting.appendToStreamsNotingRetries(first);
        expect(again).toEqual(written.map((r) => ({ ...r, alreadyStored: true })));
        // A retry of one stream beside a new append to another stream and a new stream, in one batch.
        const mixed = await noting.appendToStreamsNotingRetries([
          { streamId: c, events: [newEvent()], expectedRevision: 'no_stream' },
          first[0]!,
          { streamId: b, events: [newEvent()], expectedRevision: 0n },
        ]);
        expect(mixed.map((r) => r.alreadyStored)).toEqual([false, true, false]);
        expect(mixed[1]).toEqual(again[0]);
        expect(mixed[2]!.nextExpectedRevision).toBe(1n);
        // Its errors are appendToStreams' own, and nothing of a failed batch is stored.
        const failed = await rejection(
          noting.appendToStreamsNotingRetries([
            { streamId: stream(), events: [newEvent()], expectedRevision: 'no_stream' },
            { streamId: a, events: [newEvent()], expectedRevision: 5n },
          ]),
        );
        expect(failed).toBeInstanceOf(WrongExpectedRevisionError);
        expect(failed).toMatchObject({ streamId: a, actual: 1n });
        expect(await store.readStream(a)).toHaveLength(2);
        expect(await store.readStream(b)).toHaveLength(2);
        expect(await store.readStream(c)).toHaveLength(1);
      });

      it('refuses a batch naming a stream twice or no stream at all, before writing anything', async () => {
        const a = stream();
        await expect(
          store.appendToStreams([
            { streamId: a, events: [newEvent()], expectedRevision: 'any' },
            { streamId: a, events: [newEvent()], expectedRevision: 'any' },
          ]),
        ).rejects.toThrow(/twice/);
        await expect(store.appendToStreams([])).rejects.toThrow(/at least one/);
        expect(await store.readStream(a)).toHaveLength(0);
      });

      it('runs two concurrent batches over the same streams in opposite orders without a deadlock', async () => {
        const [a, b] = [stream(), stream()];
        const batch = (first: string, second: string) =>
          store.appendToStreams([
            { streamId: first, events: [newEvent()], expectedRevision: 'any' },
            { streamId: second, events: [newEvent()], expectedRevision: 'any' },
          ]);
        await Promise.all([batch(a, b), batch(b, a), batch(a, b), batch(b, a)]);
        expect(await store.readStream(a)).toHaveLength(4);
        expect(await store.readStream(b)).toHaveLength(4);
      });

      it('appends a batch of many new streams, one event each, results in the order given', async () => {
        const streams = Array.from({ length: 250 }, () => stream('many'));
        const appends = streams.map((streamId, i) => ({ streamId, events: [newEvent('Issued', { i })], expectedRevision: 'no_stream' as const }));
        const results = await store.appendToStreams(appends);
        expect(results).toHaveLength(streams.length);
        const read = await readAllOf(streams);
        expect(read).toHaveLength(streams.length);
        const byStream = new Map(read.map((e) => [e.streamId, e]));
        streams.forEach((streamId, i) => {
          const e = byStream.get(streamId);
          expect(e).toMatchObject({ eventId: appends[i].events[0].eventId, streamRevision: 0n, data: { i } });
          expect(results[i]).toEqual({ nextExpectedRevision: 0n, globalPosition: e?.globalPosition });
        });
        expect(new Set(results.map((r) => r.globalPosition)).size).toBe(streams.length);
      });

      it('mixes new and existing streams with every kind of expected revision in one batch', async () => {
        const [fresh, anyNew, exact, exists, anyOld] = [stream(), stream(), stream(), stream(), stream()];
        for (const s of [exact, exists, anyOld]) await store.appendToStream(s, [newEvent('Old'), newEvent('Old')], { expectedRevision: 'no_stream' });
        const results = await store.appendToStreams([
          { streamId: exact, events: [newEvent('New'), newEvent('New')], expectedRevision: 1n },
          { streamId: fresh, events: [newEvent('New')], expectedRevision: 'no_stream' },
          { streamId: exists, events: [newEvent('New')], expectedRevision: 'stream_exists' },
          { streamId: anyNew, events: [newEvent('New'), newEvent('New'), newEvent('New')], expectedRevision: 'any' },
          { streamId: anyOld, events: [newEvent('New')], expectedRevision: 'any' },
        ]);
        expect(results.map((r) => r.nextExpectedRevision)).toEqual([3n, 0n, 2n, 2n, 2n]);
        expect((await store.readStream(exact)).map((e) => [e.type, e.streamRevision])).toEqual([
          ['Old', 0n],
          ['Old', 1n],
          ['New', 2n],
          ['New', 3n],
        ]);
        expect((await store.readStream(anyNew)).map((e) => e.streamRevision)).toEqual([0n, 1n, 2n]);
        // The streams are at the revisions the batch reported: the next appends expect them.
        await store.appendToStreams([
          { streamId: exact, events: [newEvent()], expectedRevision: 3n },
          { streamId: fresh, events: [newEvent()], expectedRevision: 0n },
          { streamId: anyNew, events: [newEvent()], expectedRevision: 2n },
        ]);
        expect(await store.readStream(fresh)).toHaveLength(2);
      });

      it('stores nothing of a large batch when one stream in the middle fails, and leaves the new streams new', async () => {
        const streams = Array.from({ length: 120 }, () => stream('rollback'));
        const existing = streams[60];
        await store.appendToStream(existing, [newEvent()], { expectedRevision: 'no_stream' });
        for (const [expectedRevision, actual] of [['no_stream', 0n], [5n, 0n]] as const) {
          const error = await rejection(
            store.appendToStreams(streams.map((streamId) => ({ streamId, events: [newEvent(), newEvent()], expectedRevision: streamId === existing ? expectedRevision : ('no_stream' as const) }))),
          );
          expect(error).toBeInstanceOf(WrongExpectedRevisionError);
          expect(error).toMatchObject({ streamId: existing, actual });
        }
        expect(await readAllOf(streams)).toHaveLength(1);
        // Nothing of the failed batches is left: every other stream can still be created as new.
        const results = await store.appendToStreams(streams.filter((s) => s !== existing).map((streamId) => ({ streamId, events: [newEvent()], expectedRevision: 'no_stream' as const })));
        expect(results.every((r) => r.nextExpectedRevision === 0n)).toBe(true);
      });

      it('answers a retried large batch with the stored results even after its streams moved on', async () => {
        const streams = Array.from({ length: 80 }, () => stream('retry'));
        await store.appendToStream(streams[0], [newEvent()], { expectedRevision: 'no_stream' });
        const appends = streams.map((streamId, i) => ({
          streamId,
          events: Array.from({ length: 1 + (i % 3) }, () => newEvent()),
          expectedRevision: i === 0 ? 0n : ('no_stream' as const),
        }));
        const first = await store.appendToStreams(appends);
        await store.appendToStreams(streams.slice(0, 40).map((streamId) => ({ streamId, events: [newEvent('Later')], expectedRevision: 'any' as const })));
        expect(await store.appendToStreams(appends)).toEqual(first);
        const read = await readAllOf(streams);
        expect(read).toHaveLength(1 + appends.reduce((n, a) => n + a.events.length, 0) + 40);
        expect(new Set(read.map((e) => e.eventId)).size).toBe(read.length);
      });

      it('lets exactly one of several concurrent batches creating the same streams win, without a deadlock', async () => {
        const streams = Array.from({ length: 30 }, () => stream('race'));
        // Four different orders of the same streams (multipliers coprime to 30 permute them).
        const order = (k: number) => streams.map((_, i) => streams[(i * [1, 7, 11, 13][k] + k) % streams.length]);
        for (const k of [0, 1, 2, 3]) expect(new Set(order(k)).size).toBe(streams.length);
        const attempts = [0, 1, 2, 3].map((k) =>
          store.appendToStreams(order(k).map((streamId) => ({ streamId, events: [newEvent('Attempt', { k })], expectedRevision: 'no_stream' as const }))),
        );
        const settled = await Promise.allSettled(attempts);
        const won = settled.filter((r) => r.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const r of settled) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(WrongExpectedRevisionError);
        const read = await readAllOf(streams);
        expect(read).toHaveLength(streams.length);
        expect(new Set(read.map((e) => (e.data as { k: number }).k)).size).toBe(1);
      });

      it('runs many concurrent batches over overlapping new and existing streams in different orders without a deadlock', async () => {
        const streams = Array.from({ length: 12 }, () => stream('overlap'));
        for (const s of streams.slice(0, 6)) await store.appendToStream(s, [newEvent()], { expectedRevision: 'no_stream' });
        const batches = Array.from({ length: 8 }, (_, k) => {
          const chosen = streams.filter((_, i) => (i + k) % 3 !== 0);
          return k % 2 === 0 ? chosen : [...chosen].reverse();
        });
        await Promise.all(batches.map((chosen) => store.appendToStreams(chosen.map((streamId) => ({ streamId, events: [newEvent()], expectedRevision: 'any' as const })))));
        const expected = streams.map((_, i) => (i < 6 ? 1 : 0) + batches.filter((b) => b.includes(streams[i])).length);
        for (const [i, s] of streams.entries()) {
          const read = await store.readStream(s);
          expect(read.map((e) => e.streamRevision)).toEqual(Array.from({ length: expected[i] }, (_, r) => BigInt(r)));
        }
      });
    });

    describe('readStream', () => {
      const s = stream('read');
      // More than ten events, so an ordering on text instead of numbers shows.
      const batch = Array.from({ length: 12 }, (_, n) => newEvent('Numbered', { n }));
      const revisions = (events: RecordedEvent[]) => events.map((e) => Number(e.streamRevision));

      beforeAll(async () => {
        await store.appendToStream(s, batch.slice(0, 2), { expectedRevision: 'no_stream' });
        await store.appendToStream(s, batch.slice(2), { expectedRevision: 1n });
      });

      it('reads forwards and backwards', async () => {
        expect(ids(await store.readStream(s))).toEqual(ids(batch));
        expect(ids(await store.readStream(s, { direction: 'backwards' }))).toEqual(ids(batch).reverse());
      });

      it('starts at fromRevision (inclusive) and stops at maxCount', async () => {
        expect(revisions(await store.readStream(s, { fromRevision: 9n }))).toEqual([9, 10, 11]);
        expect(revisions(await store.readStream(s, { fromRevision: 2n, direction: 'backwards' }))).toEqual([2, 1, 0]);
        expect(revisions(await store.readStream(s, { fromRevision: 1n, maxCount: 2 }))).toEqual([1, 2]);
        expect(revisions(await store.readStream(s, { direction: 'backwards', maxCount: 2 }))).toEqual([11, 10]);
        expect(revisions(await store.readStream(s, { fromRevision: 10n, direction: 'backwards', maxCount: 3 }))).toEqual([10, 9, 8]);
        expect(await store.readStream(s, { fromRevision: 12n })).toEqual([]);
      });

      it('returns nothing for a stream that does not exist', async () => {
        expect(await store.readStream(stream('missing'))).toEqual([]);
      });

      it('reads as of an instant: only what was recorded by then', async () => {
        const t = stream('asof');
        await store.appendToStream(t, [newEvent('First')], { expectedRevision: 'no_stream' });
        await sleep(30);
        await store.appendToStream(t, [newEvent('Second'), newEvent('Third')], { expectedRevision: 0n });
        const all = await store.readStream(t);
        const firstRecorded = all[0].recordedAt;
        expect(all[1].recordedAt.getTime()).toBeGreaterThan(firstRecorded.getTime());
        expect((await store.readStream(t, { asOf: firstRecorded })).map((e) => e.type)).toEqual(['First']);
        expect((await store.readStream(t, { asOf: firstRecorded, direction: 'backwards' })).map((e) => e.type)).toEqual(['First']);
        expect(await store.readStream(t, { asOf: new Date(firstRecorded.getTime() - 1) })).toEqual([]);
        expect((await store.readStream(t, { asOf: all[2].recordedAt, direction: 'backwards', maxCount: 2 })).map((e) => e.type)).toEqual([
          'Third',
          'Second',
        ]);
      });
    });

    describe('readAll', () => {
      it('returns events in append order across streams and resumes after a checkpoint', async () => {
        const [a, b] = [stream('all-a'), stream('all-b')];
        const a0 = newEvent('A0');
        const b0 = newEvent('B0');
        const a12 = [newEvent('A1'), newEvent('A2')];
        await store.appendToStream(a, [a0], { expectedRevision: 'no_stream' });
        await store.appendToStream(b, [b0], { expectedRevision: 'no_stream' });
        await store.appendToStream(a, a12, { expectedRevision: 0n });

        const all = await readAllOf([a, b]);
        expect(ids(all)).toEqual(ids([a0, b0, ...a12]));
        expect(new Set(all.map((e) => e.checkpoint)).size).toBe(4);
        expect(ids(await readAllOf([a, b], all[1].checkpoint))).toEqual(ids(a12));
        expect(await readAllOf([a, b], all[3].checkpoint)).toEqual([]);
        expect(ids(await readAllOf([a, b], null, 2))).toEqual(ids(all));
        expect(await store.readAll({ maxCount: 2 })).toHaveLength(2);
      });

      it('keeps append order past ten events, and pages by checkpoint', async () => {
        const streams = [stream('many-a'), stream('many-b'), stream('many-c')];
        const appended: string[] = [];
        for (let i = 0; i < 24; i++) {
          const e = newEvent('Many', { i });
          appended.push(e.eventId);
          await store.appendToStream(streams[i % 3], [e], { expectedRevision: 'any' });
        }
        expect(ids(await readAllOf(streams))).toEqual(appended);
        const [, , , fourth] = await readAllOf(streams);
        expect(ids(await readAllOf(streams, fourth.checkpoint, 5))).toEqual(appended.slice(4));
      });

      it('rejects a malformed checkpoint', async () => {
        await expect(store.readAll({ after: 'not a checkpoint' })).rejects.toThrow(/checkpoint/i);
      });
    });

    describe('subscribeToAll', () => {
      it('catches up, then delivers new events live, in order, until stopped', async () => {
        const s = stream('sub');
        const before = [newEvent('B1'), newEvent('B2')];
        await store.appendToStream(s, before, { expectedRevision: 'no_stream' });
        const seen: RecordedEvent[] = [];
        let caughtUp = 0;
        const sub = store.subscribeToAll({
          onEvent: async (e) => {
            if (e.streamId === s) seen.push(e);
          },
          onCaughtUp: () => caughtUp++,
        });
        await waitFor(() => expect(caughtUp).toBe(1));
        expect(ids(seen)).toEqual(ids(before));
        const live = [newEvent('L1'), newEvent('L2')];
        await store.appendToStream(s, [live[0]], { expectedRevision: 1n });
        await store.appendToStream(s, [live[1]], { expectedRevision: 2n });
        await waitFor(() => expect(ids(seen)).toEqual(ids([...before, ...live])));
        await sub.stop();
        await expect(sub.done).resolves.toBeUndefined();
        await store.appendToStream(s, [newEvent('After')], { expectedRevision: 3n });
        await sleep(200);
        expect(seen).toHaveLength(4);
        expect(caughtUp).toBe(1);
      });

      it('starts after a checkpoint', async () => {
        const s = stream('sub-after');
        const batch = [newEvent('1'), newEvent('2'), newEvent('3')];
        await store.appendToStream(s, batch, { expectedRevision: 'no_stream' });
        const [, second] = await readAllOf([s]);
        const seen: string[] = [];
        const sub = store.subscribeToAll({
          after: second.checkpoint,
          onEvent: async (e) => {
            if (e.streamId === s) seen.push(e.eventId);
          },
        });
        await waitFor(() => expect(seen).toEqual([batch[2].eventId]));
        await sub.stop();
      });

      it('awaits the handler event by event', async () => {
        const s = stream('sub-seq');
        const batch = [newEvent('1'), newEvent('2'), newEvent('3')];
        await store.appendToStream(s, batch, { expectedRevision: 'no_stream' });
        const log: string[] = [];
        const sub = store.subscribeToAll({
          onEvent: async (e) => {
            if (e.streamId !== s) return;
            log.push(`start ${e.type}`);
            await sleep(10);
            log.push(`end ${e.type}`);
          },
        });
        await waitFor(() => expect(log).toHaveLength(6));
        expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
        await sub.stop();
      });

      it('stops with the handler error: onError is called and done rejects', async () => {
        const s = stream('sub-err');
        await store.appendToStream(s, [newEvent('Boom'), newEvent('Never')], { expectedRevision: 'no_stream' });
        const boom = new Error('handler failed');
        const errors: Error[] = [];
        const handled: string[] = [];
        const sub = store.subscribeToAll({
          onEvent: async (e) => {
            if (e.streamId !== s) return;
            handled.push(e.type);
            throw boom;
          },
          onError: (error) => errors.push(error),
        });
        await expect(sub.done).rejects.toBe(boom);
        expect(errors).toEqual([boom]);
        expect(handled).toEqual(['Boom']);
        await sub.stop();
      });

      it('can be stopped from inside the handler', async () => {
        const s = stream('sub-stop');
        await store.appendToStream(s, [newEvent('1'), newEvent('2')], { expectedRevision: 'no_stream' });
        const handled: string[] = [];
        const sub = store.subscribeToAll({
          onEvent: async (e) => {
            if (e.streamId !== s) return;
            handled.push(e.type);
            await sub.stop();
          },
        });
        await expect(sub.done).resolves.toBeUndefined();
        expect(handled).toEqual(['1']);
      });
    });

    describe('the log as JSON text (logTextReadOf: the adapter\'s own, or the fallback)', () => {
      // No \u0000: PostgreSQL's jsonb cannot hold it.
      const awkward: JsonObject = {
        text: 'line\nbreak "quote" \\ \t \u001f \u2028 æøå 😀',
        numbers: [0, -1, 1.5, 0.1, 1e-7, 123456789.125, 12345678901234567890, 1e21],
        nested: { b: [null, true, false, {}, []], a: 'x' },
        '': 'empty key',
      };
      const parsed = (e: LogTextEvent) => ({
        eventId: e.eventId,
        type: e.type,
        streamId: e.streamId,
        streamRevision: BigInt(e.streamRevision),
        globalPosition: BigInt(e.globalPosition),
        checkpoint: e.checkpoint,
        occurredAt: new Date(e.occurredAt),
        recordedAt: new Date(e.recordedAt),
        data: JSON.parse(e.dataJson) as unknown,
        metadata: e.metadata,
      });

      it("reads readAll's events, order and checkpoints, with data and metadata as JSON text that parses to them", async () => {
        const [a, b] = [stream('text-a'), stream('text-b')];
        const traced = { ...metadata, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', extra: { deep: ['x', 1] } };
        await store.appendToStreams([
          { streamId: a, expectedRevision: 'no_stream', events: [newEvent('T1', awkward), { ...newEvent('T2', { n: 2 }), metadata: traced }] },
          { streamId: b, expectedRevision: 'no_stream', events: [newEvent('T3', {})] },
        ]);
        const full = await readAllOf([a, b]);
        expect(full.map((e) => e.type)).toEqual(['T1', 'T2', 'T3']);
        const read = logTextReadOf(store);
        const wanted = new Set([a, b]);
        const text: LogTextEvent[] = [];
        let after: string | null = null;
        for (;;) {
          const page: LogTextEvent[] = await read.readAllText({ after, maxCount: 500 });
          text.push(...page.filter((e) => wanted.has(e.streamId)));
          if (page.length < 500) break;
          after = page[page.length - 1].checkpoint;
        }
        expect(text.map(parsed)).toEqual(full);
        expect(text.map((e) => JSON.parse(e.metadataJson) as unknown)).toEqual(full.map((e) => e.metadata));
        expect(text.map((e) => e.streamRevision)).toEqual(['0', '1', '0']);
        // The instants exactly as toISOString writes readAll's (the store's sub-millisecond digits cut, not rounded).
        expect(text.map((e) => [e.occurredAt, e.recordedAt])).toEqual(full.map((e) => [e.occurredAt.toISOString(), e.recordedAt.toISOString()]));
        expect(JSON.parse(text[0].dataJson)).toEqual(awkward);
        // Paged after a checkpoint like readAll.
        const rest = (await read.readAllText({ after: full[0].checkpoint })).filter((e) => wanted.has(e.streamId));
        expect(rest.map((e) => e.eventId)).toEqual(ids(full.slice(1)));
      });

      it('subscribes like subscribeToAll: after a checkpoint, in order, live, awaiting the handler', async () => {
        const s = stream('text-sub');
        const before = [newEvent('S1', awkward), newEvent('S2', { n: 2 })];
        await store.appendToStream(s, before, { expectedRevision: 'no_stream' });
        const [first] = await readAllOf([s]);
        const seen: LogTextEvent[] = [];
        let busy = false;
        const sub = logTextReadOf(store).subscribeToAllText({
          after: first.checkpoint,
          onEvent: async (e) => {
            if (e.streamId !== s) return;
            expect(busy).toBe(false);
            busy = true;
            await sleep(5);
            seen.push(e);
            busy = false;
          },
        });
        const live = newEvent('S3', { n: 3 });
        await store.appendToStream(s, [live], { expectedRevision: 1n });
        await waitFor(() => expect(seen).toHaveLength(2));
        await sub.stop();
        expect(seen.map(parsed)).toEqual((await readAllOf([s])).slice(1));
      });
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describe('event lookup (where the adapter offers it)', () => {
      it('finds an event by id, what it caused and its correlation, across streams', async () => {
        const lookup = eventLookupOf(store);
        if (lookup === null) {
          expect(capabilities.uniqueEventIdsAcrossStreams).toBe(false);
          return;
        }
        const correlationId = randomUUID();
        const cause = { ...newEvent('Cause'), metadata: { ...metadata, correlationId } };
        const effects = [0, 1].map(() => ({ ...newEvent('Effect'), metadata: { ...metadata, correlationId, causationId: cause.eventId } }));
        await store.appendToStream(stream('cause'), [cause], { expectedRevision: 'no_stream' });
        await store.appendToStream(stream('effect'), [effects[0]], { expectedRevision: 'no_stream' });
        await store.appendToStream(stream('effect'), [effects[1]], { expectedRevision: 'no_stream' });
        expect((await lookup.readEvent(cause.eventId))?.type).toBe('Cause');
        expect(await lookup.readEvent(randomUUID())).toBeNull();
        expect(await lookup.readEvent('not-a-uuid')).toBeNull();
        expect(ids(await lookup.readCausedBy(cause.eventId, 10))).toEqual(ids(effects));
        expect(ids(await lookup.readCausedBy(cause.eventId, 1))).toEqual([effects[0].eventId]);
        expect(ids(await lookup.readCorrelated(correlationId, 10))).toEqual([cause.eventId, ...ids(effects)]);
      });
    });
  });
}
