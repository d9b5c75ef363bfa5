import { localDayStart } from '@dh/dk-time';
import { InMemoryEventStore, type AppendResult, type RecordedEvent, type StreamAppend } from '@dh/event-store';
import { gsrnCheckDigit } from '@dh/market-ids';
import { recordMeteredData, recordMeteredDataBatch, type CommandMeta } from './commands';
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
});
