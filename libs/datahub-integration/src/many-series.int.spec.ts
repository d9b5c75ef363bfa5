import { Pool } from 'pg';
import { seriesPointsOf, writeCimXml, type NotifyValidatedMeasureData } from '@dh/cim';
import { createPostgresEventStore, type PostgresEventStore, type StreamAppend } from '@dh/event-store';
import { gsrnCheckDigit } from '@dh/market-ids';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { inboundDocumentPartStreamId, createInboundStore } from './inbound-store';

const gsrn = (n: number): string => {
  const body = `57131318${String(n).padStart(9, '0')}`;
  return body + String(gsrnCheckDigit(body));
};

/** An RSM-012 bundling `count` hourly series of one day. */
function bundle(documentId: string, count: number): NotifyValidatedMeasureData {
  const party = (value: string, role: 'DDQ' | 'DGL') => ({ id: { codingScheme: 'A10' as const, value }, role });
  return {
    kind: 'NotifyValidatedMeasureData',
    header: { mRID: documentId, processType: 'E23', businessSectorType: '23', sender: party('5790001330552', 'DGL'), receiver: party('5799999933318', 'DDQ'), createdDateTime: '2026-06-02T05:00:00Z' },
    series: Array.from({ length: count }, (_, s) => ({
      mRID: `${documentId}-series-${s + 1}`,
      meteringPointId: gsrn(s + 1),
      meteringPointType: 'E17' as const,
      unit: 'KWH' as const,
      period: {
        resolution: 'PT1H' as const,
        timeInterval: { start: '2026-05-31T22:00Z', end: '2026-06-01T22:00Z' },
        points: Array.from({ length: 24 }, (_, i) => ({ position: i + 1, quantity: `${s}.${String(i).padStart(3, '0')}` })),
      },
    })),
  };
}

/** A store that fails the append of the batch holding the document's own stream once: a crash between batches. */
function crashingOnce(store: PostgresEventStore, documentStream: string): PostgresEventStore {
  let crashed = false;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'appendToStreams') {
        return async (appends: StreamAppend[]) => {
          if (!crashed && appends.some((a) => a.streamId === documentStream)) {
            crashed = true;
            throw new Error('process killed');
          }
          return target.appendToStreams(appends);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}

describe('a DataHub document with many series', () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase('many_series');
    pool = new Pool({ connectionString: db.url, max: 4 });
    store = await createPostgresEventStore({ pool });
  });
  afterAll(async () => {
    await store?.close();
    await pool?.end();
    await db?.drop();
  });

  const message = (doc: NotifyValidatedMeasureData) => {
    const body = writeCimXml(doc);
    return { category: 'MeasureData', messageId: `msg-${doc.header.mRID}`, contentType: 'application/xml', body, document: doc };
  };
  const streamsOf = async (documentId: string) =>
    (
      await pool.query<{ stream_id: string; n: number; txs: number }>(
        `SELECT stream_id, count(*)::int AS n, count(DISTINCT transaction_id)::int AS txs FROM event_store.events
          WHERE stream_id LIKE $1 GROUP BY stream_id ORDER BY stream_id`,
        [`datahub-document-${documentId}%`],
      )
    ).rows;

  it('stores its series in part streams with batched appends, one transaction per batch, the document stream last', async () => {
    const inbound = createInboundStore(store, undefined, () => new Date('2026-06-02T06:00:00Z'), undefined, { eventsPerStream: 10, streamsPerAppend: 2 });
    const doc = bundle('bundle-1', 25);
    expect(await inbound(message(doc))).toBe('stored');
    const streams = await streamsOf('bundle-1');
    expect(streams.map((s) => [s.stream_id, s.n])).toEqual([
      ['datahub-document-bundle-1', 10],
      ['datahub-document-bundle-1-part-1', 10],
      ['datahub-document-bundle-1-part-2', 5],
    ]);
    // Parts 1 and 2 in one transaction, the document's own stream in the next (appended last).
    const txs = await pool.query<{ stream_id: string; tx: string }>(
      `SELECT stream_id, min(transaction_id)::text AS tx FROM event_store.events WHERE stream_id LIKE 'datahub-document-bundle-1%' GROUP BY stream_id`,
    );
    const tx = new Map(txs.rows.map((r) => [r.stream_id, BigInt(r.tx)]));
    expect(tx.get(inboundDocumentPartStreamId('bundle-1', 1))).toBe(tx.get(inboundDocumentPartStreamId('bundle-1', 2)));
    expect(tx.get(inboundDocumentPartStreamId('bundle-1', 0))! > tx.get(inboundDocumentPartStreamId('bundle-1', 1))!).toBe(true);
    const events = await pool.query<{ data: { seriesId: string; gsrn: string; wh: number[] }; version: number }>(
      `SELECT data, (metadata->>'schemaVersion')::int AS version FROM event_store.events WHERE type = 'ValidatedMeasureDataReceived' AND stream_id LIKE 'datahub-document-bundle-1%' ORDER BY data->>'seriesId'`,
    );
    expect(events.rows.map((r) => r.data.seriesId).sort()).toEqual(doc.series.map((s) => s.mRID).sort());
    // Version 2: integer Wh, exactly the decimal DataHub sent.
    const series25 = events.rows.find((r) => r.data.seriesId === 'bundle-1-series-25');
    expect(series25?.version).toBe(2);
    expect(series25?.data.wh[3]).toBe(24003);
    expect(seriesPointsOf(series25!.data)?.[3]).toEqual({ position: 4, quantity: '24.003', quality: null });
    expect(await inbound(message(doc))).toBe('duplicate');
    expect(await streamsOf('bundle-1')).toEqual(streams);
  });

  it('after a crash between batches, the redelivered document is completed without writing any series twice', async () => {
    const doc = bundle('bundle-2', 25);
    const options = { eventsPerStream: 10, streamsPerAppend: 2 };
    const crashing = createInboundStore(crashingOnce(store, inboundDocumentPartStreamId('bundle-2', 0)), undefined, undefined, undefined, options);
    await expect(crashing(message(doc))).rejects.toThrow('process killed');
    expect((await streamsOf('bundle-2')).map((s) => s.stream_id)).toEqual(['datahub-document-bundle-2-part-1', 'datahub-document-bundle-2-part-2']);
    const inbound = createInboundStore(store, undefined, undefined, undefined, options);
    expect(await inbound(message(doc))).toBe('stored');
    expect((await streamsOf('bundle-2')).map((s) => [s.stream_id, s.n])).toEqual([
      ['datahub-document-bundle-2', 10],
      ['datahub-document-bundle-2-part-1', 10],
      ['datahub-document-bundle-2-part-2', 5],
    ]);
  });

  it('appends a document of one part without reading its stream first; a byte-identical redelivery is still a duplicate', async () => {
    let reads = 0;
    const counting = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'readStream') {
          return async (...args: Parameters<PostgresEventStore['readStream']>) => {
            reads++;
            return target.readStream(...args);
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const kept: string[] = [];
    const inbound = createInboundStore(counting, undefined, undefined, async (_message, reason) => void kept.push(reason), { eventsPerStream: 10 });
    const doc = bundle('single-1', 10);
    expect(await inbound(message(doc))).toBe('stored');
    expect(reads).toBe(0);
    expect(await inbound(message(doc))).toBe('duplicate');
    expect(reads).toBe(1);
    expect(kept).toEqual([]);
    expect((await streamsOf('single-1')).map((s) => [s.stream_id, s.n])).toEqual([['datahub-document-single-1', 10]]);
  });

  it('keeps other content under a stored document id aside and stores none of it, with more, fewer or many more series', async () => {
    const kept: { messageId: string; reason: string }[] = [];
    const inbound = createInboundStore(store, undefined, undefined, async (m, reason) => void kept.push({ messageId: m.messageId, reason }), { eventsPerStream: 10, streamsPerAppend: 2 });
    expect(await inbound(message(bundle('other-1', 5)))).toBe('stored');
    const stored = await streamsOf('other-1');
    // 7 series: the first five ids are stored, two are not (a conflict); 3 series: all three ids are stored (answered
    // as a retry); 25 series: three parts, two of them new streams.
    for (const count of [7, 3, 25]) {
      const other = { ...message(bundle('other-1', count)), messageId: `msg-other-1-${count}` };
      expect(await inbound(other)).toBe('duplicate');
      expect(kept.at(-1)).toEqual({ messageId: other.messageId, reason: expect.stringMatching(/stored before from message msg-other-1 with different content/) });
    }
    expect(kept).toHaveLength(3);
    expect(await streamsOf('other-1')).toEqual(stored);
  });

  it('keeps a document of few series in its one stream, as before', async () => {
    const inbound = createInboundStore(store);
    expect(await inbound(message(bundle('small-1', 3)))).toBe('stored');
    expect((await streamsOf('small-1')).map((s) => [s.stream_id, s.n])).toEqual([['datahub-document-small-1', 3]]);
  });
});
