import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { Pool } from 'pg';
import { withUpcasting, EventSchemas } from '../upcasting';
import { logTextReadOf } from '../log-text-read';
import { newEvent } from '../testing';
import { createPostgresEventStore, type PostgresEventStore } from './postgres-event-store';

describe('the log as JSON text from PostgreSQL (readAllText, subscribeToAllText)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase('es_log_text');
    pool = new Pool({ connectionString: db.url, max: 4 });
    store = await createPostgresEventStore({ pool, pollIntervalMs: 50 });
  });

  afterAll(async () => {
    await store?.close();
    await pool?.end();
    await db?.drop();
  });

  it("passes jsonb's own text through, unparsed: what data::text gives, not a JSON.stringify of the parsed data", async () => {
    await store.appendToStream('text-1', [newEvent('A', { b: 1, a: [1, 2], n: 1.50 })], { expectedRevision: 'no_stream' });
    const calls: string[] = [];
    const spied = new Proxy(store, {
      get(target, key, receiver) {
        if (key === 'readAll' || key === 'readAllText' || key === 'subscribeToAll' || key === 'subscribeToAllText') calls.push(key);
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const [event] = await logTextReadOf(spied).readAllText();
    // The adapter's own text read (looked up, then called), never readAll.
    expect(calls.filter((c) => c.startsWith('readAll'))).toEqual(['readAllText', 'readAllText']);
    const { rows } = await pool.query<{ data: string; metadata: string }>(`SELECT data::text AS data, metadata::text AS metadata FROM event_store.events`);
    expect(event.dataJson).toBe(rows[0].data);
    expect(event.metadataJson).toBe(rows[0].metadata);
    // jsonb's text: a space after ':' and ',', keys by length: not JSON.stringify's output.
    expect(event.dataJson).toBe('{"a": [1, 2], "b": 1, "n": 1.5}');
    expect(event.metadataJson).not.toBe(JSON.stringify(event.metadata));
  });

  it("writes the instants as readAll's Dates' toISOString: UTC whatever the session's time zone, microseconds cut, not rounded", async () => {
    // A session in a time zone with a half-hour offset: the text must still be UTC.
    const zoned = new Pool({ connectionString: db.url, max: 2, options: '-c TimeZone=America/St_Johns' });
    try {
      const zonedStore = await createPostgresEventStore({ pool: zoned });
      const e = newEvent('Instant', {}, new Date('2026-03-29T00:59:59.999Z'));
      await zonedStore.appendToStream('text-instants', [e], { expectedRevision: 'no_stream' });
      await pool.query(`UPDATE event_store.events SET recorded_at = '2026-10-25 00:30:00.123999+00' WHERE event_id = $1`, [e.eventId]);
      const [full] = (await zonedStore.readAll()).filter((x) => x.eventId === e.eventId);
      const [text] = (await zonedStore.readAllText()).filter((x) => x.eventId === e.eventId);
      expect([text.occurredAt, text.recordedAt]).toEqual(['2026-03-29T00:59:59.999Z', '2026-10-25T00:30:00.123Z']);
      expect([text.occurredAt, text.recordedAt]).toEqual([full.occurredAt.toISOString(), full.recordedAt.toISOString()]);
    } finally {
      await zoned.end();
    }
  });

  it('falls back to the wrapper\'s own reads for a store that hides the adapter (an upcasting wrapper): its events as it delivers them', async () => {
    const upcasting = withUpcasting(store, new EventSchemas([{ eventType: 'Old', fromVersion: 1, upcast: (data) => ({ ...data, upcast: true }) }]));
    await store.appendToStream('text-2', [newEvent('Old', { v: 1 })], { expectedRevision: 'no_stream' });
    const events = (await logTextReadOf(upcasting).readAllText()).filter((e) => e.streamId === 'text-2');
    expect(events.map((e) => JSON.parse(e.dataJson) as unknown)).toEqual([{ v: 1, upcast: true }]);
    expect(events.map((e) => e.metadata.schemaVersion)).toEqual([2]);
    expect(events[0].dataJson).toBe(JSON.stringify({ v: 1, upcast: true }));
  });
});
