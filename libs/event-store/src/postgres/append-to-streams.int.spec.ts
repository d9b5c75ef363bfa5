import { createTestDatabase, mulberry32, type TestDatabase } from '@dh/testing';
import { DatabaseError, Pool } from 'pg';
import { DuplicateEventIdError, WrongExpectedRevisionError } from '../errors';
import type { AppendResult, ExpectedRevision, NewEvent, RecordedEvent, StreamAppend } from '../event-store.port';
import { newEvent } from '../testing';
import { EVENT_STORE_MIGRATIONS, runMigrations } from './migrations';
import { PostgresEventStore } from './postgres-event-store';

/**
 * The set-based `append_to_streams` (migration 9) against the one it replaced (migration 6: `append_to_stream` per
 * stream, in stream-id order). Same results, same errors naming the same stream, same events in the same log order,
 * on a random sequence of batches with retries, reused ids and wrong revisions. The store at the latest migration
 * calls migration 12's form (data and metadata as jsonb arrays), so the comparison holds for it too.
 */
describe('PostgreSQL append_to_streams, set-based (migration 9)', () => {
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase('es_append_streams');
    pool = new Pool({ connectionString: db.url, max: 8 });
    pool.on('error', () => undefined);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  async function storeAt(schema: string, upTo = Number.POSITIVE_INFINITY): Promise<PostgresEventStore> {
    await runMigrations(
      pool,
      schema,
      EVENT_STORE_MIGRATIONS.filter((m) => m.version <= upTo),
    );
    return new PostgresEventStore(pool, false, schema, { migratedTo: upTo });
  }

  type Outcome =
    | { ok: { nextExpectedRevision: bigint; globalPosition: bigint }[] }
    | { error: string; streamId: string; actual?: string; eventIds?: string[] };

  async function outcome(store: PostgresEventStore, appends: StreamAppend[]): Promise<Outcome> {
    try {
      const results: AppendResult[] = await store.appendToStreams(appends);
      return { ok: results.map((r) => ({ ...r })) };
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError) return { error: error.name, streamId: error.streamId, actual: String(error.actual) };
      if (error instanceof DuplicateEventIdError) return { error: error.name, streamId: error.streamId, eventIds: [...error.eventIds].sort() };
      throw error;
    }
  }

  /** append_to_streams called directly, as the store does, with data and metadata as text arrays. */
  function callSql(schema: string, streamIds: string[], expected: string[], counts: number[], events: NewEvent[]): { text: string; values: unknown[] } {
    return {
      text: `SELECT * FROM "${schema}".append_to_streams($1::text[], $2::text[], $3::int[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], NULL)`,
      values: [
        streamIds,
        expected,
        counts,
        events.map((e) => e.eventId),
        events.map((e) => e.type),
        events.map((e) => JSON.stringify(e.data)),
        events.map((e) => JSON.stringify(e.metadata)),
        events.map((e) => e.occurredAt.toISOString()),
      ],
    };
  }

  it('refuses malformed calls (DH005) and an append after another write of its transaction (DH003)', async () => {
    const store = await storeAt('es_m9_checks');
    const call = (streamIds: string[], counts: number[], events: NewEvent[]) => {
      const q = callSql('es_m9_checks', streamIds, streamIds.map(() => 'any'), counts, events);
      return pool.query(q.text, q.values);
    };
    const code = async (promise: Promise<unknown>) => {
      try {
        await promise;
      } catch (error) {
        return error instanceof DatabaseError ? error.code : String(error);
      }
      return 'no error';
    };
    expect(await code(call(['a', 'b'], [1], [newEvent(), newEvent()]))).toBe('DH005');
    expect(await code(call(['a', 'b'], [1, 2], [newEvent(), newEvent()]))).toBe('DH005');
    expect(await code(call(['a', 'a'], [1, 1], [newEvent(), newEvent()]))).toBe('DH005');
    expect(await code(call(['a', 'b'], [2, 0], [newEvent(), newEvent()]))).toBe('DH005');
    expect(await store.readAll()).toEqual([]);

    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('CREATE TEMP TABLE scratch_m9 (n int)');
      await client.query('INSERT INTO scratch_m9 VALUES (1)');
      const q = callSql('es_m9_checks', ['w-1'], ['no_stream'], [1], [newEvent()]);
      expect(await code(client.query(q.text, q.values))).toBe('DH003');
      await client.query('ROLLBACK');
      // Two batches in one transaction are fine: the first one took the lock.
      await client.query('BEGIN');
      for (const streamId of ['w-1', 'w-2']) {
        const q2 = callSql('es_m9_checks', [streamId, `${streamId}-b`], ['no_stream', 'no_stream'], [1, 1], [newEvent(), newEvent()]);
        await client.query(q2.text, q2.values);
      }
      await client.query('COMMIT');
      expect(await store.readAll()).toHaveLength(4);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  });

  it('holds readers back while a batch is open, then delivers it whole, before a later commit', async () => {
    const store = await storeAt('es_m9_open');
    await store.appendToStream('before', [newEvent('Before')], { expectedRevision: 'no_stream' });
    const checkpoint = (await store.readAll()).at(-1)!.checkpoint;
    const client = await pool.connect();
    try {
      const batch = [newEvent('Open'), newEvent('Open'), newEvent('Open')];
      await client.query('BEGIN');
      const q = callSql('es_m9_open', ['open-a', 'open-b', 'open-c'], ['no_stream', 'no_stream', 'no_stream'], [1, 1, 1], batch);
      await client.query(q.text, q.values);
      await store.appendToStreams([{ streamId: 'late', events: [newEvent('Late')], expectedRevision: 'no_stream' }]);
      expect(await store.readAll({ after: checkpoint })).toEqual([]);
      await client.query('COMMIT');
      expect((await store.readAll({ after: checkpoint })).map((e) => [e.streamId, e.type])).toEqual([
        ['open-a', 'Open'],
        ['open-b', 'Open'],
        ['open-c', 'Open'],
        ['late', 'Late'],
      ]);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  });

  it('names the stream and its stored ids when a batch reuses ids of another stream, and writes nothing', async () => {
    const store = await storeAt('es_m9_dup');
    const [a, b] = [newEvent(), newEvent()];
    await store.appendToStreams([{ streamId: 'first', events: [a, b], expectedRevision: 'no_stream' }]);
    const fresh = newEvent();
    const error = await store
      .appendToStreams([
        { streamId: 'ok', events: [fresh], expectedRevision: 'no_stream' },
        { streamId: 'reuser', events: [newEvent(), b], expectedRevision: 'any' },
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DuplicateEventIdError);
    expect(error).toMatchObject({ streamId: 'reuser', eventIds: [b.eventId] });
    expect(await store.readEvent(fresh.eventId)).toBeNull();
    expect((await store.readAll()).map((e) => e.eventId)).toEqual([a.eventId, b.eventId]);
  });

  /**
   * B (a batch through the store) creates stream x, taking its transaction id, then waits for stream y, which C is
   * creating. Meanwhile A takes a younger id and locks stream z, which B also appends to. C commits, B moves on to z and
   * waits for A; A appends z's revision 1 and commits. B then appends z's revision 2 with the *older* id: in the log
   * (transaction-id order) revision 2 came before 1. Migration 6 did exactly that; migration 9 notices the younger
   * writer of z (DH006) and the store runs B again, in a new transaction.
   */
  async function behindYoungerWriter(schema: string, upTo: number): Promise<{ order: [string, bigint][]; result: AppendResult[] }> {
    const store = await storeAt(schema, upTo);
    await store.appendToStream('z', [newEvent('S0')], { expectedRevision: 'no_stream' });
    const [a, c] = [await pool.connect(), await pool.connect()];
    try {
      await c.query('BEGIN');
      const qc = callSql(schema, ['y'], ['no_stream'], [1], [newEvent('Y0')]);
      await c.query(qc.text, qc.values);
      const b = store.appendToStreams([
        { streamId: 'x', events: [newEvent('X0')], expectedRevision: 'no_stream' },
        { streamId: 'y', events: [newEvent('Y1')], expectedRevision: 'any' },
        { streamId: 'z', events: [newEvent('S2')], expectedRevision: 'any' },
      ]);
      const waiting = async (n: number) => {
        for (let i = 0; i < 400; i++) {
          const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND a.datname = current_database()`);
          if (rows[0].n >= n) return;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        throw new Error('nobody waits');
      };
      await waiting(1); // B waits for C's y
      await a.query('BEGIN');
      const qa = callSql(schema, ['z'], ['any'], [1], [newEvent('S1')]);
      await a.query(qa.text, qa.values);
      await c.query('COMMIT');
      await waiting(1); // B waits for A's z
      await a.query('COMMIT');
      const result = await b;
      const log = await store.readAll();
      return { order: log.filter((e) => e.streamId === 'z').map((e) => [e.type, e.streamRevision]), result };
    } finally {
      await a.query('ROLLBACK').catch(() => undefined);
      await c.query('ROLLBACK').catch(() => undefined);
      a.release();
      c.release();
    }
  }

  it('keeps a stream in revision order in the log when a batch waited for a younger writer of it (runs the batch again)', async () => {
    const { order, result } = await behindYoungerWriter('es_m9_younger', Number.POSITIVE_INFINITY);
    expect(order).toEqual([
      ['S0', 0n],
      ['S1', 1n],
      ['S2', 2n],
    ]);
    expect(result.map((r) => r.nextExpectedRevision)).toEqual([0n, 1n, 2n]);
  });

  it('migration 6 put such a batch behind the younger writer in the stream but before it in the log', async () => {
    const { order } = await behindYoungerWriter('es_m8_younger', 8);
    expect(order).toEqual([
      ['S0', 0n],
      ['S2', 2n],
      ['S1', 1n],
    ]);
  });

  it('answers a random sequence of batches exactly as migration 6 did, and stores the same log', async () => {
    const before = await storeAt('es_m8', 8);
    const after = await storeAt('es_m9');
    const random = mulberry32(20261206);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const names = Array.from({ length: 14 }, (_, i) => `s-${String.fromCharCode(97 + ((i * 5) % 14))}${i % 3 === 0 ? '-x' : ''}`);
    const previous: StreamAppend[] = [];
    const outcomes: { before: Outcome; after: Outcome; storedAnswers: number }[] = [];

    for (let op = 0; op < 250; op++) {
      const revisions = new Map(
        (await pool.query<{ stream_id: string; revision: string }>('SELECT stream_id, revision::text FROM es_m9.streams')).rows.map((r) => [r.stream_id, BigInt(r.revision)]),
      );
      const count = 1 + Math.floor(random() * 6);
      const chosen = [...names].sort(() => random() - 0.5).slice(0, count);
      const appends: StreamAppend[] = chosen.map((streamId) => {
        const roll = random();
        const earlier = previous.filter((p) => p.streamId === streamId);
        if (roll < 0.15 && earlier.length > 0) return pick(earlier); // a retry, maybe long after
        const current = revisions.get(streamId);
        const exists = current !== undefined && current >= 0n;
        const events: NewEvent[] = Array.from({ length: 1 + Math.floor(random() * 3) }, () => newEvent('Random', { op }));
        if (roll < 0.2 && previous.length > 0) events.unshift(pick(pick(previous).events)); // an id stored elsewhere or before
        let expectedRevision: ExpectedRevision;
        if (random() < 0.88) expectedRevision = pick(['any', exists ? 'stream_exists' : 'no_stream', exists ? current : 'no_stream'] as const);
        else expectedRevision = pick(['no_stream', 'stream_exists', (current ?? -1n) + 1n, 0n] as const);
        return { streamId, events, expectedRevision };
      });
      // A retry can repeat a stream already chosen: keep the first mention of each stream and of each event id.
      const ids = new Set<string>();
      const batch = appends.filter((a) => {
        if (a.events.some((e) => ids.has(e.eventId))) return false;
        a.events.forEach((e) => ids.add(e.eventId));
        return true;
      });
      if (batch.length === 0) continue;
      const last = await pool.query<{ p: string }>('SELECT coalesce(max(global_position), 0)::text AS p FROM es_m9.events');
      const result = { before: await outcome(before, batch), after: await outcome(after, batch) };
      const storedAnswers = 'ok' in result.after ? result.after.ok.filter((r) => r.globalPosition <= BigInt(last.rows[0].p)).length : 0;
      outcomes.push({ ...result, storedAnswers });
      previous.push(...batch);
    }

    const logOf = async (store: PostgresEventStore): Promise<RecordedEvent[]> => {
      const all: RecordedEvent[] = [];
      for (let page = await store.readAll({ maxCount: 500 }); page.length > 0; page = await store.readAll({ after: page.at(-1)!.checkpoint, maxCount: 500 })) all.push(...page);
      return all;
    };
    const [logBefore, logAfter] = [await logOf(before), await logOf(after)];
    // A failed batch took sequence values in migration 6 (before the failing stream was reached), none now: compare
    // positions by the event they point at.
    const normalise = (log: RecordedEvent[], o: Outcome) => {
      if (!('ok' in o)) return o;
      const at = new Map(log.map((e) => [e.globalPosition, e.eventId]));
      return { ok: o.ok.map((r) => ({ nextExpectedRevision: r.nextExpectedRevision, last: at.get(r.globalPosition) })) };
    };
    expect(outcomes.map((o) => normalise(logAfter, o.after))).toEqual(outcomes.map((o) => normalise(logBefore, o.before)));
    const shape = (log: RecordedEvent[]) => log.map((e) => [e.streamId, e.streamRevision, e.eventId, e.type, e.data]);
    expect(shape(logAfter)).toEqual(shape(logBefore));

    // The sequence exercised what it is meant to: successes, retries answered as stored, both kinds of error, and
    // failures of batches where another stream was fine.
    const kinds = outcomes.map((o) => ('ok' in o.after ? 'ok' : o.after.error));
    expect(kinds.filter((k) => k === 'ok').length).toBeGreaterThan(60);
    expect(kinds.filter((k) => k === 'WrongExpectedRevisionError').length).toBeGreaterThan(20);
    expect(kinds.filter((k) => k === 'DuplicateEventIdError').length).toBeGreaterThan(20);
    expect(outcomes.filter((o) => o.storedAnswers > 0).length).toBeGreaterThan(10);
    // Batches where one stream was answered as stored and another appended.
    expect(outcomes.filter((o) => o.storedAnswers > 0 && 'ok' in o.after && o.storedAnswers < o.after.ok.length).length).toBeGreaterThan(3);
    const stored = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM es_m9.events');
    expect(BigInt(stored.rows[0].n)).toBe(BigInt(logAfter.length));
  }, 60_000);
});
