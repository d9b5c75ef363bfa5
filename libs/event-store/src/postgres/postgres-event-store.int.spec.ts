import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { DatabaseError, Pool } from 'pg';
import { DuplicateEventIdError, WrongExpectedRevisionError } from '../errors';
import { describeEventStoreContract, newEvent } from '../testing';
import { EVENT_STORE_MIGRATIONS, runMigrations } from './migrations';
import { createPostgresEventStore, isConnectionLoss, parsePostgresCheckpoint } from './postgres-event-store';

describeEventStoreContract('postgres', async () => {
  const db = await createTestDatabase('es_contract');
  const store = await createPostgresEventStore({ connectionString: db.url, pollIntervalMs: 100 });
  return { store, teardown: () => db.drop() };
});

describe('PostgresEventStore', () => {
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase('es_postgres');
    pool = new Pool({ connectionString: db.url, max: 6 });
    pool.on('error', () => undefined);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('migrates once when several processes start together, in its own schema', async () => {
    const schema = 'es_race';
    const results = await Promise.all([0, 1, 2, 3].map(() => runMigrations(pool, schema)));
    const expected = EVENT_STORE_MIGRATIONS.map((m) => m.version);
    expect(results.filter((applied) => applied.length > 0)).toEqual([expected]);
    const rows = await pool.query<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
    expect(rows.rows.map((r) => r.version)).toEqual(expected);
    expect(await runMigrations(pool, schema)).toEqual([]);
  });

  it('works on a caller-owned pool and leaves it open on close', async () => {
    const store = await createPostgresEventStore({ pool, schema: 'es_owned' });
    const e = newEvent();
    await store.appendToStream('owned-1', [e], { expectedRevision: 'no_stream' });
    await store.close();
    const rows = await pool.query<{ id: string }>('SELECT event_id::text AS id FROM es_owned.events');
    expect(rows.rows).toEqual([{ id: e.eventId }]);
  });

  it('compresses a large event with lz4 (migration 10) and reads it back unchanged', async () => {
    const store = await createPostgresEventStore({ pool, schema: 'es_lz4' });
    // Three days of PT15M Wh as the inbox stores a series: over PostgreSQL's ~2 KB row threshold in jsonb, so compressed inline.
    const wh = Array.from({ length: 288 }, (_, i) => 1_000 + ((i * 7_919) % 5_000));
    const large = newEvent('ValidatedMeasureDataReceived', { gsrn: '571313180490000004', wh, qualities: [['A04', 96]] });
    const small = newEvent('Small');
    await store.appendToStream('lz4-1', [large, small], { expectedRevision: 'no_stream' });
    const rows = await pool.query<{ id: string; c: string | null }>(`SELECT event_id::text AS id, pg_column_compression(data) AS c FROM es_lz4.events ORDER BY stream_revision`);
    expect(rows.rows).toEqual([
      { id: large.eventId, c: 'lz4' },
      { id: small.eventId, c: null },
    ]);
    const read = await store.readStream('lz4-1');
    expect(read.map((e) => e.data)).toEqual([large.data, small.data]);
    await store.close();
  });

  /** Values whose text jsonb writes differently from JSON.stringify: the stored values must still be the ones given. */
  const awkwardData = () => ({ wh: [0, 1_000, 9_007_199_254_740_991, -3], kwh: 0.1, tiny: 1e-7, text: 'æøå "quoted" \\ \u2028 😀', nested: { b: [null, true, {}], a: [] } });

  it('appends with migration 12 functions alone (data and metadata as one jsonb array each)', async () => {
    const store = await createPostgresEventStore({ pool, schema: 'es_jsonb' });
    // The text-array functions stay for processes of the previous release; without them the store must still append.
    await pool.query(`DROP FUNCTION es_jsonb.append_to_stream(text, text, uuid[], text[], text[], text[], timestamptz[], text)`);
    await pool.query(`DROP FUNCTION es_jsonb.append_to_streams(text[], text[], int[], uuid[], text[], text[], text[], timestamptz[], text)`);
    const [a, b, c] = [newEvent('A', awkwardData()), newEvent('B', { n: 2 }), newEvent('C', { n: 3 })];
    await store.appendToStream('jsonb-1', [a, b], { expectedRevision: 'no_stream' });
    const batch = await store.appendToStreams([
      { streamId: 'jsonb-1', events: [c], expectedRevision: 1n },
      { streamId: 'jsonb-2', events: [newEvent('D', { list: [1.5, 'x'] })], expectedRevision: 'no_stream' },
    ]);
    expect(batch.map((r) => r.nextExpectedRevision)).toEqual([2n, 0n]);
    // A retry is answered from the stored events, and noted as one.
    const retried = await store.appendToStreamsNotingRetries([{ streamId: 'jsonb-1', events: [c], expectedRevision: 1n }]);
    expect(retried).toEqual([{ ...batch[0], alreadyStored: true }]);
    await expect(store.appendToStream('jsonb-1', [newEvent()], { expectedRevision: 0n })).rejects.toThrow(WrongExpectedRevisionError);
    const read = await store.readStream('jsonb-1');
    expect(read.map((e) => [e.eventId, e.data, e.metadata])).toEqual([a, b, c].map((e) => [e.eventId, e.data, e.metadata]));
    await store.close();
  });

  it('keeps the text-array append functions for a process of the previous release (rolling deploy)', async () => {
    const store = await createPostgresEventStore({ pool, schema: 'es_previous' });
    // The call of the release before migration 12: each event's JSON as a text, split from one json array.
    const texts = (param: string) => `ARRAY(SELECT j.v::text FROM json_array_elements(${param}::json) WITH ORDINALITY AS j(v, o) ORDER BY j.o)`;
    const [a, b] = [newEvent('A', awkwardData()), newEvent('B')];
    await pool.query(
      `SELECT * FROM es_previous.append_to_streams($1::text[], $2::text[], $3::int[], $4::uuid[], $5::text[], ${texts('$6')}, ${texts('$7')}, $8::timestamptz[], NULL)`,
      [['prev-1'], ['no_stream'], [1], [a.eventId], [a.type], JSON.stringify([a.data]), JSON.stringify([a.metadata]), [a.occurredAt.toISOString()]],
    );
    await pool.query(
      `SELECT * FROM es_previous.append_to_stream($1, $2, $3::uuid[], $4::text[], ${texts('$5')}, ${texts('$6')}, $7::timestamptz[], NULL)`,
      ['prev-1', '0', [b.eventId], [b.type], JSON.stringify([b.data]), JSON.stringify([b.metadata]), [b.occurredAt.toISOString()]],
    );
    expect((await store.readStream('prev-1')).map((e) => [e.eventId, e.data, e.metadata])).toEqual([a, b].map((e) => [e.eventId, e.data, e.metadata]));
    await store.close();
  });

  it('appends by index lookups alone, in a session that began on an empty events table (migration 13)', async () => {
    // append_to_stream's plans are kept per session from its first calls; made on an empty table they must not be
    // sequential scans (kept while the table grows). One connection, so every append runs in the session measured.
    const session = new Pool({ connectionString: db.url, max: 1 });
    session.on('error', () => undefined);
    const store = await createPostgresEventStore({ pool: session, schema: 'es_index_only' });
    const seqScans = async (): Promise<Record<string, number>> => {
      const rows = await pool.query<{ relname: string; seq_scan: string }>(
        `SELECT relname, seq_scan::text FROM pg_stat_user_tables WHERE schemaname = 'es_index_only' AND relname IN ('events', 'streams') ORDER BY relname`,
      );
      return Object.fromEntries(rows.rows.map((r) => [r.relname, Number(r.seq_scan)]));
    };
    // The appending session's counts reach the shared statistics when it goes idle after this.
    const flush = () => session.query('SELECT pg_stat_force_next_flush()').then(() => session.query('SELECT 1'));
    await flush();
    const before = await seqScans();
    const appended = [];
    for (let i = 0; i < 12; i++) {
      const e = newEvent();
      await store.appendToStream(`index-only-${i}`, [e], { expectedRevision: 'no_stream' });
      await store.appendToStream(`index-only-${i}`, [newEvent()], { expectedRevision: 0n });
      appended.push(e);
    }
    // A retry (answered as stored), a duplicate id in a new stream and a wrong revision take the check's other paths.
    expect((await store.appendToStream('index-only-0', [appended[0]], { expectedRevision: 'no_stream' })).nextExpectedRevision).toBe(0n);
    await expect(store.appendToStream('index-only-new', [appended[1]], { expectedRevision: 'no_stream' })).rejects.toThrow(DuplicateEventIdError);
    await expect(store.appendToStream('index-only-2', [newEvent()], { expectedRevision: 0n })).rejects.toThrow(WrongExpectedRevisionError);
    await flush();
    expect(await seqScans()).toEqual(before);
    await store.close();
    await session.end();
  });

  it('refuses data or metadata that is not an array of one element per event (DH005), writing nothing', async () => {
    const store = await createPostgresEventStore({ pool, schema: 'es_jsonb_checks' });
    const e = newEvent();
    const code = (promise: Promise<unknown>) => promise.then(() => 'no error', (error: unknown) => (error instanceof DatabaseError ? error.code : String(error)));
    const single = (data: string, metadata: string) =>
      pool.query(`SELECT * FROM es_jsonb_checks.append_to_stream('c-1', 'any', $1::uuid[], ARRAY['T'], $2::jsonb, $3::jsonb, ARRAY[now()], NULL)`, [[e.eventId], data, metadata]);
    const batch = (data: string, metadata: string) =>
      pool.query(
        `SELECT * FROM es_jsonb_checks.append_to_streams(ARRAY['c-1'], ARRAY['any'], ARRAY[1], $1::uuid[], ARRAY['T'], $2::jsonb, $3::jsonb, ARRAY[now()], NULL)`,
        [[e.eventId], data, metadata],
      );
    const meta = JSON.stringify([e.metadata]);
    for (const call of [single, batch]) {
      expect(await code(call('{}', meta))).toBe('DH005');
      expect(await code(call('[]', meta))).toBe('DH005');
      expect(await code(call('[{}, {}]', meta))).toBe('DH005');
      expect(await code(call('[{}]', JSON.stringify(e.metadata)))).toBe('DH005');
      expect(await code(call('[{}]', 'null'))).toBe('DH005');
    }
    expect(await store.readAll()).toEqual([]);
    expect(await code(batch('[{"ok": true}]', meta))).toBe('no error');
    expect((await store.readAll()).map((r) => r.data)).toEqual([{ ok: true }]);
    await store.close();
  });

  it('keeps two schemas apart', async () => {
    const [a, b] = await Promise.all([
      createPostgresEventStore({ pool, schema: 'es_a' }),
      createPostgresEventStore({ pool, schema: 'es_b' }),
    ]);
    await a.appendToStream('s-1', [newEvent()], { expectedRevision: 'no_stream' });
    expect(await b.readStream('s-1')).toEqual([]);
    await b.appendToStream('s-1', [newEvent()], { expectedRevision: 'no_stream' });
    expect(await a.readAll()).toHaveLength(1);
  });

  it('rejects bad options and bad schema names', async () => {
    await expect(createPostgresEventStore({})).rejects.toThrow(/pool or a connectionString/);
    await expect(createPostgresEventStore({ pool, schema: 'bad"; drop' })).rejects.toThrow(/Invalid schema name/);
    expect(() => parsePostgresCheckpoint('12')).toThrow(/Malformed/);
    expect(parsePostgresCheckpoint('771:42')).toEqual({ transactionId: '771', globalPosition: '42' });
  });

  it('does not return an event to readAll while an older append is still open, and waits for no other transaction', async () => {
    const store = await createPostgresEventStore({ pool, schema: 'es_xmin' });
    const unrelated = await pool.connect();
    const appender = await pool.connect();
    try {
      // An older transaction that writes elsewhere holds nothing back.
      await unrelated.query('BEGIN');
      await unrelated.query('CREATE TEMP TABLE scratch (n int)');
      await unrelated.query('INSERT INTO scratch VALUES (1)');
      await store.appendToStream('late-0', [newEvent()], { expectedRevision: 'no_stream' });
      expect(await store.readAll()).toHaveLength(1);

      // An older transaction that appends does, until it ends.
      await appender.query('BEGIN');
      const open = newEvent('OpenAppend');
      await appender.query(
        `SELECT * FROM es_xmin.append_to_stream('open-1', 'no_stream', $1::uuid[], ARRAY['OpenAppend'], ARRAY['{}'], $2::text[], ARRAY[now()], 'es_xmin_appended')`,
        [[open.eventId], [JSON.stringify(open.metadata)]],
      );
      const checkpoint = (await store.readAll()).at(-1)!.checkpoint;
      await store.appendToStream('late-1', [newEvent('Late')], { expectedRevision: 'no_stream' });
      expect(await store.readAll({ after: checkpoint })).toEqual([]);
      await appender.query('COMMIT');
      expect((await store.readAll({ after: checkpoint })).map((e) => e.type)).toEqual(['OpenAppend', 'Late']);
    } finally {
      await unrelated.query('ROLLBACK').catch(() => undefined);
      unrelated.release();
      appender.release();
    }
  });

  it('refuses an append that follows another write in the same transaction (a reader could pass it meanwhile)', async () => {
    const store = await createPostgresEventStore({ pool, schema: 'es_first_write' });
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('CREATE TEMP TABLE scratch2 (n int)');
      await client.query('INSERT INTO scratch2 VALUES (1)');
      const e = newEvent();
      await expect(
        client.query(
          `SELECT * FROM es_first_write.append_to_stream('w-1', 'no_stream', $1::uuid[], ARRAY['Tested'], '[{}]'::jsonb, $2::jsonb, ARRAY[now()], 'es_first_write_appended')`,
          [[e.eventId], JSON.stringify([e.metadata])],
        ),
      ).rejects.toThrow(/must come before any other write/);
      await client.query('ROLLBACK');
      // Two appends in one transaction are fine: the first one took the lock.
      await client.query('BEGIN');
      for (const streamId of ['w-1', 'w-2']) {
        const ev = newEvent();
        await client.query(
          `SELECT * FROM es_first_write.append_to_stream($1, 'no_stream', $2::uuid[], ARRAY['Tested'], '[{}]'::jsonb, $3::jsonb, ARRAY[now()], 'es_first_write_appended')`,
          [streamId, [ev.eventId], JSON.stringify([ev.metadata])],
        );
      }
      await client.query('COMMIT');
      expect(await store.readAll()).toHaveLength(2);
    } finally {
      client.release();
    }
  });

  it('keeps receiving live events after its LISTEN connection is killed', async () => {
    const store = await createPostgresEventStore({ pool, schema: 'es_listen', pollIntervalMs: 60_000, listenReconnectDelayMs: 50 });
    const seen: string[] = [];
    let caughtUp = false;
    const sub = store.subscribeToAll({ onEvent: async (e) => void seen.push(e.eventId), onCaughtUp: () => (caughtUp = true) });
    const listeners = async () =>
      (await pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN "es_listen_appended"'`)).rows;
    await waitUntil(async () => caughtUp && (await listeners()).length === 1);
    const first = newEvent();
    await store.appendToStream('listen-1', [first], { expectedRevision: 'no_stream' });
    await waitUntil(async () => seen.length === 1);

    for (const { pid } of await listeners()) await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await waitUntil(async () => (await listeners()).length === 1);
    const second = newEvent();
    await store.appendToStream('listen-1', [second], { expectedRevision: 0n });
    // The poll interval is a minute: only a re-established LISTEN can deliver this in time.
    await waitUntil(async () => seen.length === 2, 5_000);
    expect(seen).toEqual([first.eventId, second.eventId]);
    await sub.stop();
    expect(await listeners()).toEqual([]);
  });
});

describe('PostgresEventStore on a connection string', () => {
  it('keeps its subscription going when every connection to the database is terminated', async () => {
    const db = await createTestDatabase('es_terminate');
    const store = await createPostgresEventStore({ connectionString: db.url, pollIntervalMs: 50, listenReconnectDelayMs: 50 });
    const admin = new Pool({ connectionString: db.url, max: 1 });
    try {
      const seen: string[] = [];
      const errors: Error[] = [];
      const sub = store.subscribeToAll({ onEvent: async (e) => void seen.push(e.eventId), onError: (e) => errors.push(e) });
      await store.appendToStream('t-1', [newEvent()], { expectedRevision: 'no_stream' });
      await waitUntil(async () => seen.length === 1);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
      await store.appendToStream('t-1', [newEvent()], { expectedRevision: 0n });
      await waitUntil(async () => seen.length === 2);
      expect(errors).toEqual([]);
      await sub.stop();
    } finally {
      await store.close();
      await admin.end();
      await db.drop();
    }
  });

  it('tells lost connections from SQL errors', () => {
    const sqlError = (code: string) => Object.assign(new DatabaseError('x', 1, 'error'), { code });
    expect(isConnectionLoss(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionLoss(sqlError('57P01'))).toBe(true);
    expect(isConnectionLoss(sqlError('08006'))).toBe(true);
    expect(isConnectionLoss(sqlError('23505'))).toBe(false);
    expect(isConnectionLoss(new Error('boom'))).toBe(false);
  });
});

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
