import * as fs from 'node:fs';
import * as path from 'node:path';
import { Pool } from 'pg';
import { seriesPointsOf, writeCimXml, type NotifyValidatedMeasureData } from '@dh/cim';
import { DataHubClient, type ReceivedMessages } from '@dh/datahub-client';
import { createPostgresEventStore, type EventStore, type PostgresEventStore, type StreamAppend } from '@dh/event-store';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { startDataHubSimulator, type RunningDataHubSimulator } from '@dh/datahub-sim';
import { DataHubInboxWorker } from './datahub-inbox';
import { QuarantineStore } from './quarantine.store';
import { ReceivedMessageStore } from './received-messages.store';

const scenario = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../tools/datahub-sim/scenarios/example.json'), 'utf8')) as Record<string, unknown>;
const FORCED_GSRN = '571313180400000056';

/** A valid RSM-012 with two hourly series for 2026-06-01 (24 positions each). */
function hourlySeriesDocument(): NotifyValidatedMeasureData {
  const party = (value: string, role: 'DDQ' | 'DGL') => ({ id: { codingScheme: 'A10' as const, value }, role });
  const series = (mRID: string, gsrn: string) => ({
    mRID,
    meteringPointId: gsrn,
    meteringPointType: 'E17' as const,
    unit: 'KWH' as const,
    period: {
      resolution: 'PT1H' as const,
      timeInterval: { start: '2026-05-31T22:00Z', end: '2026-06-01T22:00Z' },
      points: Array.from({ length: 24 }, (_, i) => ({ position: i + 1, quantity: '0.512', quality: 'A04' as const })),
    },
  });
  return {
    kind: 'NotifyValidatedMeasureData',
    header: { mRID: 'held-document-1', processType: 'E23', businessSectorType: '23', sender: party('5790001330552', 'DGL'), receiver: party('5799999933318', 'DDQ'), createdDateTime: '2026-06-02T05:00:00Z' },
    series: [series('held-series-1', '571313180400000018'), series('held-series-2', '571313180400000049')],
  };
}

// Both ways of the inbox: store before dequeue, and record first (kept in our table, dequeued, then stored behind the peeking).
describe.each([
  ['peek → store → dequeue', false],
  ['peek → keep → dequeue, stored behind (received messages)', true],
])(`${DataHubInboxWorker.name}: %s`, (_mode, recordFirst) => {
  let db: TestDatabase;
  let received: ReceivedMessageStore;
  /** The worker's options in this mode. */
  const mode = (): { received?: ReceivedMessages } => (recordFirst ? { received } : {});
  let pool: Pool;
  let store: PostgresEventStore;
  let sim: RunningDataHubSimulator;
  let quarantine: QuarantineStore;
  let sut: DataHubInboxWorker;

  const eventsOfType = async (type: string) =>
    (await pool.query<{ stream_id: string; data: Record<string, unknown> }>('SELECT stream_id, data FROM event_store.events WHERE type = $1 ORDER BY global_position', [type])).rows;

  beforeAll(async () => {
    db = await createTestDatabase('datahub_inbox');
    pool = new Pool({ connectionString: db.url });
    store = await createPostgresEventStore({ pool });
    quarantine = new QuarantineStore(pool);
    await quarantine.migrate();
    received = new ReceivedMessageStore(pool);
    await received.migrate();
    sim = await startDataHubSimulator({ port: 0, scenario });
    const client = new DataHubClient({
      baseUrl: sim.url,
      clientId: 'our-supplier',
      clientSecret: 's3cret-our-supplier',
      scope: 'datahub3',
      retry: { maxAttempts: 6, baseDelayMs: 5, maxDelayMs: 50, maxRetryAfterMs: 1500 },
    });
    sut = new DataHubInboxWorker({ client, categories: ['masterdata', 'measuredata', 'aggregations'], eventStore: store, quarantine, ...mode() });
  });

  afterEach(async () => {
    // Every kept copy is dropped once its message was stored or quarantined.
    if (recordFirst) expect(await received.pending()).toEqual([]);
  });

  afterAll(async () => {
    await sim.stop();
    await store.close();
    await pool.end();
    await db.drop();
  });

  it('stores a forced switch’s master data and daily metered data as events, once, through faults and a duplicate delivery', async () => {
    // Every message of these days is delivered twice (two message ids, one document).
    sim.control.setFaults({ duplicateDelivery: 50, tooManyRequests: 2, retryAfterSeconds: 1, unavailable: 2 });
    sim.control.advanceTo(new Date('2026-04-02T23:30:00Z'));
    const result = await sut.pollOnce();
    sim.control.clearFaults();
    expect(result).toEqual({ stored: 4, duplicates: 4, quarantined: 0, errors: 0 });
    expect(sim.control.stats()).toMatchObject({ throttled: 2, unavailable: 2 });
    expect((await eventsOfType('DataHubNotificationReceived')).map((e) => e.data.gsrn)).toEqual([FORCED_GSRN]);

    const master = await eventsOfType('MeteringPointMasterDataReceived');
    expect(master).toHaveLength(1);
    expect(master[0].data).toMatchObject({ gsrn: FORCED_GSRN, gridArea: '804', meteringPointType: 'E17', category: 'masterdata' });

    const measured = await eventsOfType('ValidatedMeasureDataReceived');
    // 2026-04-01 and 2026-04-02: two local days of 96 quarter-hours each, each stored once.
    // Schema version 2: the points packed as integer Wh (read back with seriesPointsOf).
    expect(measured.map((e) => [e.data.gsrn, e.data.start, seriesPointsOf(e.data)?.length, Array.isArray(e.data.wh)])).toEqual([
      [FORCED_GSRN, '2026-03-31T22:00:00Z', 96, true],
      [FORCED_GSRN, '2026-04-01T22:00:00Z', 96, true],
    ]);
    expect(new Set(measured.map((e) => e.stream_id)).size).toBe(2);
    expect(await sut.pollOnce()).toEqual({ stored: 0, duplicates: 0, quarantined: 0, errors: 0 });
  });

  it('quarantines a malformed message with its raw body and reason, lists it, and keeps it when reprocessing still fails', async () => {
    sim.control.setFaults({ malformedMessage: { category: 'measuredata', count: 1 } });
    const result = await sut.pollOnce();
    expect(result.quarantined).toBe(1);
    const [held] = await quarantine.list();
    expect(held).toMatchObject({ category: 'measuredata', status: 'quarantined', attempts: 1 });
    expect(held.reason).toMatch(/^[A-Z_]+/);
    expect(held.rawBody.length).toBeGreaterThan(100);

    const again = await sut.reprocess(held.id);
    expect(again).toMatchObject({ outcome: 'still-invalid' });
    expect((await quarantine.get(held.id))?.attempts).toBe(2);
    expect(await sut.reprocess(987654)).toEqual({ outcome: 'not-found' });
  });

  it('reprocesses a quarantined message once it parses (a parser fix), storing its events and closing it', async () => {
    const validBody = writeCimXml(hourlySeriesDocument());
    await quarantine.add({ category: 'measuredata', messageId: 'held-by-old-parser', contentType: 'application/xml', body: validBody }, 'OLD_PARSER: rejected');
    const held = (await quarantine.list()).find((m) => m.messageId === 'held-by-old-parser');
    expect(held).toBeDefined();
    const before = (await eventsOfType('ValidatedMeasureDataReceived')).length;
    const outcome = await sut.reprocess(held!.id);
    if (outcome.outcome === 'still-invalid') throw new Error(`example did not parse: ${outcome.reason}`);
    expect(outcome).toEqual({ outcome: 'stored' });
    expect((await eventsOfType('ValidatedMeasureDataReceived')).length).toBe(before + 2);
    expect(await quarantine.get(held!.id)).toMatchObject({ status: 'reprocessed' });
    expect(await sut.reprocess(held!.id)).toEqual({ outcome: 'already-reprocessed' });
  });

  it('keeps a message with a NUL byte or bytes that are not UTF-8 as bytes in the quarantine, dequeues it, and goes on with its category', async () => {
    // DataHub's transport hands us corrupted bodies: the first measuredata message gets a NUL byte, the second an
    // invalid UTF-8 sequence; the third is delivered as sent.
    const corruptions: Array<(body: Buffer) => Buffer> = [
      (body) => Buffer.concat([body.subarray(0, 200), Buffer.from([0x00]), body.subarray(200)]),
      (body) => Buffer.concat([body.subarray(0, 200), Buffer.from([0xc3, 0x28, 0xff]), body.subarray(200)]),
    ];
    const corrupted: Buffer[] = [];
    const corrupting: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const url = String(input instanceof Request ? input.url : input);
      if (!url.includes('/measuredata') || init?.method !== 'GET' || response.status !== 200 || corruptions.length === 0) return response;
      const bytes = corruptions.shift()!(Buffer.from(await response.arrayBuffer()));
      corrupted.push(bytes);
      return new Response(bytes, { status: 200, headers: response.headers });
    };
    const client = new DataHubClient({ baseUrl: sim.url, clientId: 'our-supplier', clientSecret: 's3cret-our-supplier', scope: 'datahub3', fetch: corrupting });
    const worker = new DataHubInboxWorker({ client, categories: ['measuredata'], eventStore: store, quarantine, ...mode() });
    const before = (await eventsOfType('ValidatedMeasureDataReceived')).length;
    sim.control.advanceTo(new Date('2026-04-05T23:30:00Z'));

    expect(await worker.pollOnce()).toEqual({ stored: 1, duplicates: 0, quarantined: 2, errors: 0 });
    expect(corrupted).toHaveLength(2);
    expect((await eventsOfType('ValidatedMeasureDataReceived')).length).toBe(before + 1);
    const held = (await quarantine.list()).filter((m) => corrupted.some((c) => m.rawBytes?.equals(c)));
    expect(held.map((m) => m.reason)).toEqual([
      'INVALID_CHARACTER: the body has a NUL character at offset 200; kept as received',
      expect.stringMatching(/^INVALID_ENCODING: the body \(\d+ bytes\) is not valid UTF-8; kept as received$/),
    ]);
    expect(held[0].rawBody).toContain('\ufffd');
    // Dequeued: the category holds nothing back any more.
    expect(await worker.pollOnce()).toEqual({ stored: 0, duplicates: 0, quarantined: 0, errors: 0 });
    // Reprocessing reads the bytes, and they are still not a document.
    expect(await worker.reprocess(held[1].id)).toMatchObject({ outcome: 'still-invalid', reason: expect.stringMatching(/INVALID_ENCODING/) });
  });

  it('quarantines and dequeues a JSON message PostgreSQL cannot store (\\u0000 in a string) instead of peeking it for ever', async () => {
    let poisoned = 0;
    const poisoning: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const url = String(input instanceof Request ? input.url : input);
      if (!url.includes('/measuredata') || init?.method !== 'GET' || response.status !== 200 || poisoned > 0) return response;
      poisoned++;
      const text = await response.text();
      // A document id with an escaped NUL: valid JSON and CIM, refused by jsonb.
      const changed = text.replace(/("mRID":\s*")([^"]+)"/, '$1$2\\u0000"');
      expect(changed).not.toBe(text);
      return new Response(changed, { status: 200, headers: response.headers });
    };
    const client = new DataHubClient({ baseUrl: sim.url, clientId: 'our-supplier', clientSecret: 's3cret-our-supplier', scope: 'datahub3', format: 'json', fetch: poisoning });
    const worker = new DataHubInboxWorker({ client, categories: ['measuredata'], eventStore: store, quarantine, ...mode() });
    sim.control.advanceTo(new Date('2026-04-07T23:30:00Z'));
    const result = await worker.pollOnce();
    expect(result).toMatchObject({ quarantined: 1, errors: 0 });
    expect(result.stored).toBeGreaterThanOrEqual(1);
    const [held] = (await quarantine.list()).filter((m) => m.reason.startsWith('UNSTORABLE'));
    expect(held.reason).toMatch(/^UNSTORABLE: invalid byte sequence for encoding "UTF8": 0x00/);
    expect(held.rawBytes?.toString('utf8')).toContain('\\u0000');
    expect(await worker.pollOnce()).toEqual({ stored: 0, duplicates: 0, quarantined: 0, errors: 0 });
  });
  if (recordFirst) {
    it('processes the copies a crash left after the dequeue when it starts again, in order, and retries a failed store on the same message', async () => {
      const first = { ...hourlySeriesDocument(), header: { ...hourlySeriesDocument().header, mRID: 'kept-before-crash-1' } };
      const second = { ...hourlySeriesDocument(), header: { ...hourlySeriesDocument().header, mRID: 'kept-before-crash-2' } };
      // The previous process kept (and dequeued) these, then died: DataHub has nothing more for them.
      const kept = async (messageId: string, body: string) => received.keep({ category: 'measuredata', messageId, contentType: 'application/xml; charset=utf-8', body, bytes: Buffer.from(body, 'utf8') });
      const id1 = await kept('crash-1', writeCimXml(first));
      expect(await kept('crash-1', writeCimXml(first))).toBe(id1);
      await kept('crash-2', writeCimXml(second));
      await kept('crash-3', '<broken');
      // The event store fails the first append once: the same message is tried again, the later ones wait behind it.
      let failures = 1;
      const appended: string[] = [];
      const flaky = new Proxy(store as EventStore, {
        get(target, property, receiver) {
          const value: unknown = Reflect.get(target, property, receiver);
          if (typeof value !== 'function') return value;
          const fn = value as (...args: unknown[]) => Promise<unknown>;
          if (property !== 'appendToStream' && property !== 'appendToStreams' && property !== 'appendToStreamsNotingRetries') return fn.bind(target);
          return async (...args: unknown[]) => {
            if (failures > 0) {
              failures--;
              throw new Error('connection terminated unexpectedly');
            }
            const first = args[0];
            appended.push(...(Array.isArray(first) ? first.map((a: StreamAppend) => a.streamId) : [String(first)]));
            return fn.apply(target, args);
          };
        },
      });
      const errors: string[] = [];
      const client = new DataHubClient({ baseUrl: sim.url, clientId: 'our-supplier', clientSecret: 's3cret-our-supplier', scope: 'datahub3' });
      const worker = new DataHubInboxWorker({ client, categories: ['aggregations'], eventStore: flaky, quarantine, received, onError: (_error, stage) => errors.push(stage) });
      expect(await worker.pollOnce()).toEqual({ stored: 2, duplicates: 0, quarantined: 1, errors: 1 });
      expect(errors).toEqual(['store']);
      expect(appended).toEqual(['datahub-document-kept-before-crash-1', 'datahub-document-kept-before-crash-2']);
      expect((await quarantine.list()).filter((m) => m.messageId === 'crash-3')).toHaveLength(1);
    });
  }
});
