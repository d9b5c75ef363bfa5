import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { Pool, type PoolClient } from 'pg';
import type { RecordedEvent } from '../event-store.port';
import { newEvent } from '../testing';
import { EVENT_STORE_MIGRATIONS, runMigrations } from './migrations';
import { PostgresEventStore } from './postgres-event-store';

/**
 * The loss migration 7 fixed, reproduced on purpose.
 *
 * A writer A takes ROW EXCLUSIVE on the events table, then gets its transaction id. PostgreSQL publishes the id in
 * the proc array (a snapshot counts A as running) *before* it inserts the id's lock into the lock table. If the
 * reader's `read_horizon()` reads `pg_locks` in between, A shows only with ROW EXCLUSIVE and without an id: the
 * migration-4 horizon ignored it and fell back to the snapshot's xmax. A later writer B (higher id) commits, the
 * reader reads B and moves its checkpoint to (B's id, B's position); A then commits with a lower id, behind the
 * checkpoint, and is never read.
 *
 * The gap between the two steps is a few instructions inside PostgreSQL; no SQL can stop a backend there. What the
 * reader sees during it can be produced exactly: A is a real open transaction with its id, its ROW EXCLUSIVE lock and
 * its uncommitted events; only its transaction-id lock is hidden from the reader's `pg_locks`. The reader's
 * connections put a schema in front of pg_catalog on their search_path whose `pg_locks` view is the real one minus
 * the transaction-id locks of the sessions listed as stalled (the store's functions name `pg_locks` unqualified, so
 * they read the view). Everything else (snapshots, `pg_stat_activity`, the store's own functions) is PostgreSQL's.
 *
 * The same interleaving (two explicit connections: A BEGINs and appends, B appends and commits, the reader reads, A
 * COMMITs, the reader reads on) runs against a store at migration 7 and against one stopped at migration 6: the
 * first delivers A and B once each, the second loses A, as the lag benchmark did before the fix.
 */
describe('PostgreSQL read horizon: a writer between its transaction id and the id\'s lock (migration 7)', () => {
  let db: TestDatabase;
  let writers: Pool;
  let readers: Pool;

  beforeAll(async () => {
    db = await createTestDatabase('es_read_horizon');
    writers = new Pool({ connectionString: db.url, max: 4 });
    writers.on('error', () => undefined);
    await writers.query(`
      CREATE SCHEMA stall;
      CREATE TABLE stall.stalled (pid int PRIMARY KEY);
      -- pg_locks as a reader sees it while the listed sessions sit between taking their transaction id and inserting its lock.
      CREATE VIEW stall.pg_locks AS
        SELECT * FROM pg_catalog.pg_locks l WHERE NOT (l.locktype = 'transactionid' AND l.pid IN (SELECT pid FROM stall.stalled));`);
    readers = new Pool({ connectionString: db.url, max: 2, options: '-c search_path=stall,pg_catalog,public' });
    readers.on('error', () => undefined);
  });

  afterAll(async () => {
    await readers?.end();
    await writers?.end();
    await db?.drop();
  });

  /** A store in its own schema migrated up to `upTo`; appends through the writers' pool, reads through the readers'. */
  async function storeAt(schema: string, upTo: number): Promise<{ writer: PostgresEventStore; reader: PostgresEventStore }> {
    await runMigrations(
      writers,
      schema,
      EVENT_STORE_MIGRATIONS.filter((m) => m.version <= upTo),
    );
    return { writer: new PostgresEventStore(writers, false, schema, { migratedTo: upTo }), reader: new PostgresEventStore(readers, false, schema, { migratedTo: upTo }) };
  }

  /** Runs the interleaving; returns what the reader read before and after A's commit, and what the log holds. */
  async function interleave(schema: string, upTo: number): Promise<{ a: string; b: string; first: RecordedEvent[]; second: RecordedEvent[]; stored: string[] }> {
    const { writer, reader } = await storeAt(schema, upTo);
    await writer.appendToStream('before', [newEvent('Before')], { expectedRevision: 'no_stream' });
    const start = (await reader.readAll()).at(-1)!.checkpoint;

    const a = newEvent('TookItsIdFirst');
    const b = newEvent('CommittedFirst');
    const clientA: PoolClient = await writers.connect();
    try {
      await clientA.query('BEGIN');
      await clientA.query(
        `SELECT * FROM "${schema}".append_to_stream('stream-a', 'no_stream', $1::uuid[], ARRAY['TookItsIdFirst'], ARRAY['{}'], $2::text[], ARRAY[now()], NULL)`,
        [[a.eventId], [JSON.stringify(a.metadata)]],
      );
      const { rows } = await clientA.query<{ pid: number; xid: string }>('SELECT pg_backend_pid() AS pid, pg_current_xact_id()::text AS xid');
      // A holds its id (pg_stat_activity shows it) and ROW EXCLUSIVE; the reader's pg_locks does not show the id's lock.
      await writers.query('INSERT INTO stall.stalled (pid) VALUES ($1)', [rows[0].pid]);
      const seen = await readers.query<{ ids: number }>(
        `SELECT count(*)::int AS ids FROM pg_locks WHERE pid = $1 AND locktype = 'transactionid'`,
        [rows[0].pid],
      );
      expect(seen.rows[0].ids).toBe(0);

      const committed = await writer.appendToStream('stream-b', [b], { expectedRevision: 'no_stream' });
      expect(committed.globalPosition).toBeGreaterThan(0n);
      const first = await reader.readAll({ after: start });

      await clientA.query('COMMIT');
      await writers.query('DELETE FROM stall.stalled');
      const second = await reader.readAll({ after: first.at(-1)?.checkpoint ?? start });
      const stored = (await writer.readAll({ after: start })).map((e) => e.eventId);
      return { a: a.eventId, b: b.eventId, first, second, stored };
    } finally {
      await clientA.query('ROLLBACK').catch(() => undefined);
      await writers.query('DELETE FROM stall.stalled');
      clientA.release();
    }
  }

  it('migrations 7 and 8: the reader waits for A and then reads A and B, each once', async () => {
    const { a, b, first, second, stored } = await interleave('es_horizon_now', Number.POSITIVE_INFINITY);
    expect(stored.sort()).toEqual([a, b].sort());
    // pg_stat_activity shows A's id: the horizon stops at it, so B (a later id) is not read before A commits.
    expect(first.map((e) => e.eventId)).toEqual([]);
    expect(second.map((e) => e.eventId)).toEqual([a, b]);
    const read = [...first, ...second].map((e) => e.eventId);
    expect(new Set(read).size).toBe(read.length);
  });

  it('before migration 7 the same interleaving loses A: the reader passes it, and A commits behind its checkpoint', async () => {
    const { a, b, first, second, stored } = await interleave('es_horizon_pre7', 6);
    expect(stored.sort()).toEqual([a, b].sort());
    expect(first.map((e) => e.eventId)).toEqual([b]);
    expect(second).toEqual([]);
  });
});
