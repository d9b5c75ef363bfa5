import { localDayStart } from '@dh/dk-time';
import { InMemoryEventStore, WrongExpectedRevisionError, type AppendResult, type ReadStreamOptions, type RecordedEvent, type StreamAppend } from '@dh/event-store';
import { gsrnCheckDigit } from '@dh/market-ids';
import { recordMeteredData, recordMeteredDataBatch, recordMeteredDataBatchKnown, type CommandMeta, type KnownMeteredStream, type MeteredStreamLookup } from './commands';
import { dataOf, type MeteredDataReceived } from './events';
import { meteredDataStreamId } from './ids';

const gsrn = (n: number): string => {
  const body = `57131317400000${String(n).padStart(3, '0')}`;
  return body + String(gsrnCheckDigit(body));
};

const meta = (n: number): CommandMeta => ({ correlationId: `doc-${n}`, causationId: `event-${n}`, actor: 'datahub', now: new Date('2026-10-05T06:00:00.000Z') });

/** A PT1H series over `days` local days from 1 October 2026 (hour h of day d: "d.h" kWh). */
function series(g: string, documentId: string, days: number, firstDay = 1) {
  const start = localDayStart(`2026-10-${String(firstDay).padStart(2, '0')}`);
  const end = localDayStart(`2026-10-${String(firstDay + days).padStart(2, '0')}`);
  const hours = (end.getTime() - start.getTime()) / 3_600_000;
  return {
    gsrn: g,
    documentId,
    receivedAt: '2026-10-05T05:00:00.000Z',
    resolution: 'PT1H',
    start: start.toISOString(),
    end: end.toISOString(),
    points: Array.from({ length: hours }, (_, i) => ({ position: i + 1, quantityKwh: `${Math.floor(i / 24)}.${String(i % 24).padStart(3, '0')}`, quality: i % 5 === 0 ? 'A03' : 'A04' })),
  };
}

/** Counts appendToStreams calls (the batched round trips). */
class CountingStore extends InMemoryEventStore {
  batches: string[][] = [];
  reads: string[] = [];
  override async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    this.reads.push(streamId);
    return super.readStream(streamId, options);
  }
  override async appendToStreams(appends: StreamAppend[]): Promise<AppendResult[]> {
    this.batches.push(appends.map((a) => a.streamId));
    return super.appendToStreams(appends);
  }
}

const shape = (events: RecordedEvent[]) => events.map((e) => [e.eventId, e.type, e.streamRevision, e.data, e.metadata, e.occurredAt.toISOString()]);

describe('recordMeteredDataBatch', () => {
  it('records many series in one batched append, with exactly the events, versions and ids recordMeteredData gives them', async () => {
    const payloads = [series(gsrn(1), 'doc-a:1', 3), series(gsrn(2), 'doc-a:2', 2), series(gsrn(3), 'doc-a:3', 1)];
    const batched = new CountingStore();
    const results = await recordMeteredDataBatch(
      batched,
      payloads.map((payload, i) => ({ payload, meta: meta(i) })),
    );
    expect(batched.batches).toEqual([[meteredDataStreamId(gsrn(1)), meteredDataStreamId(gsrn(2)), meteredDataStreamId(gsrn(3))]]);
    expect(results.map((r) => r.days.map((d) => [d.data.day, d.data.version]))).toEqual([
      [
        ['2026-10-01', 1],
        ['2026-10-02', 1],
        ['2026-10-03', 1],
      ],
      [
        ['2026-10-01', 1],
        ['2026-10-02', 1],
      ],
      [['2026-10-01', 1]],
    ]);

    const oneByOne = new InMemoryEventStore();
    for (const [i, payload] of payloads.entries()) await recordMeteredData(oneByOne, payload, meta(i));
    for (const p of payloads) {
      const stream = meteredDataStreamId(p.gsrn);
      expect(shape(await batched.readStream(stream))).toEqual(shape(await oneByOne.readStream(stream)));
    }
    const recorded = await batched.readStream(meteredDataStreamId(gsrn(1)));
    expect(results[0]!.days.map((d) => d.eventId)).toEqual(recorded.map((e) => e.eventId));
  });

  it('recognises series recorded before by either path, versions a corrected day, and splits two series of one point into rounds', async () => {
    const store = new CountingStore();
    await recordMeteredData(store, series(gsrn(1), 'doc-a:1', 2), meta(1));
    const results = await recordMeteredDataBatch(store, [
      { payload: series(gsrn(1), 'doc-a:1', 2), meta: meta(1) },
      { payload: series(gsrn(1), 'doc-b:1', 1, 2), meta: meta(2) },
      { payload: series(gsrn(2), 'doc-b:2', 1), meta: meta(3) },
      { payload: series(gsrn(2), 'doc-c:2', 1, 2), meta: meta(4) },
    ]);
    expect(results.map((r) => r.alreadyRecorded)).toEqual([true, false, false, false]);
    expect(results[1]!.days.map((d) => [d.data.day, d.data.version])).toEqual([['2026-10-02', 2]]);
    // Round 1: the first series of each point (gsrn 1's is stored already); round 2: the second of each.
    expect(store.batches).toEqual([[meteredDataStreamId(gsrn(2))], [meteredDataStreamId(gsrn(1)), meteredDataStreamId(gsrn(2))]]);
    const again = await recordMeteredDataBatch(store, [{ payload: series(gsrn(1), 'doc-b:1', 1, 2), meta: meta(2) }]);
    expect(again).toEqual([{ days: [], alreadyRecorded: true }]);
    expect(await recordMeteredData(store, series(gsrn(2), 'doc-c:2', 1, 2), meta(4))).toEqual({ days: [], alreadyRecorded: true });
    expect(await store.readStream(meteredDataStreamId(gsrn(1)))).toHaveLength(3);
  });

  it('refuses a batch with an invalid series before appending anything', async () => {
    const store = new CountingStore();
    const broken = { ...series(gsrn(2), 'doc-x:2', 1), gsrn: '571313174000000021' };
    await expect(
      recordMeteredDataBatch(store, [
        { payload: series(gsrn(1), 'doc-x:1', 1), meta: meta(1) },
        { payload: broken, meta: meta(2) },
      ]),
    ).rejects.toThrow(/GSRN/);
    expect(store.batches).toEqual([]);
  });

  /** What settlement's tables would answer: every day of the stream, folded from the stream itself. */
  async function knownFrom(store: InMemoryEventStore, gsrns: readonly string[]): Promise<Map<string, KnownMeteredStream>> {
    const out = new Map<string, KnownMeteredStream>();
    for (const g of gsrns) {
      const events = await store.readStream(meteredDataStreamId(g));
      if (events.length === 0) continue;
      const days = new Map<string, { version: number; documentIds: string[] }>();
      for (const e of events) {
        const d = dataOf<MeteredDataReceived>(e.data);
        const day = days.get(d.day) ?? { version: 0, documentIds: [] };
        days.set(d.day, { version: Math.max(day.version, d.version), documentIds: [...day.documentIds, d.documentId] });
      }
      out.set(g, { revision: events[events.length - 1]!.streamRevision, days });
    }
    return out;
  }

  it('with the day versions known, reads no stream and decides exactly as reading them does', async () => {
    const batch = [
      { payload: series(gsrn(1), 'doc-a:1', 2), meta: meta(1) },
      { payload: series(gsrn(1), 'doc-b:1', 1, 2), meta: meta(2) },
      { payload: series(gsrn(2), 'doc-b:2', 1), meta: meta(3) },
      { payload: series(gsrn(3), 'doc-b:3', 2), meta: meta(5) },
    ];
    const reading = new CountingStore();
    const knowing = new CountingStore();
    for (const store of [reading, knowing]) {
      await recordMeteredData(store, series(gsrn(1), 'doc-a:1', 2), meta(1));
      await recordMeteredData(store, series(gsrn(2), 'doc-z:2', 3), meta(4));
      store.reads = [];
    }
    const known = await knownFrom(knowing, [gsrn(1), gsrn(2)]);
    const lookedUp: string[][] = [];
    const lookup: MeteredStreamLookup = async (asked) => {
      lookedUp.push(asked.map((a) => `${a.gsrn}:${a.days.join(',')}`));
      return known;
    };
    const viaReads = await recordMeteredDataBatch(reading, batch);
    knowing.reads = [];
    const viaKnown = await recordMeteredDataBatchKnown(knowing, batch, lookup);
    expect(viaKnown.series).toEqual(viaReads);
    // gsrn 3 was not known (no stream yet): read once; the known ones not at all.
    expect(knowing.reads).toEqual([meteredDataStreamId(gsrn(3))]);
    expect(lookedUp).toEqual([[`${gsrn(1)}:2026-10-01,2026-10-02`, `${gsrn(2)}:2026-10-01`, `${gsrn(3)}:2026-10-01,2026-10-02`]]);
    for (const g of [gsrn(1), gsrn(2), gsrn(3)]) expect(shape(await knowing.readStream(meteredDataStreamId(g)))).toEqual(shape(await reading.readStream(meteredDataStreamId(g))));
    expect(viaReads[1]!.days.map((d) => [d.data.day, d.data.version])).toEqual([['2026-10-02', 2]]);
    expect(viaReads[2]!.days.map((d) => [d.data.day, d.data.version])).toEqual([['2026-10-01', 2]]);
    // The revisions after the batch, and the events of the stream it had to read (none yet for gsrn 3).
    expect([...viaKnown.streams.entries()].map(([g, s]) => [g, s.revision, s.read?.length ?? null])).toEqual([
      [gsrn(1), 2n, null],
      [gsrn(2), 3n, null],
      [gsrn(3), 1n, 0],
    ]);
  });

  it('a stale lookup (the stream moved on another path) fails the batch with a conflict and stores nothing of it', async () => {
    const store = new CountingStore();
    await recordMeteredData(store, series(gsrn(1), 'doc-a:1', 1), meta(1));
    const stale = await knownFrom(store, [gsrn(1)]);
    await recordMeteredData(store, series(gsrn(1), 'doc-b:1', 1), meta(2));
    await expect(
      recordMeteredDataBatchKnown(store, [{ payload: series(gsrn(1), 'doc-c:1', 1), meta: meta(3) }, { payload: series(gsrn(2), 'doc-c:2', 1), meta: meta(4) }], async () => stale),
    ).rejects.toThrow(WrongExpectedRevisionError);
    expect(await store.readStream(meteredDataStreamId(gsrn(1)))).toHaveLength(2);
    expect(await store.readStream(meteredDataStreamId(gsrn(2)))).toEqual([]);
  });
});
