import { createTestDatabase, eventually, type TestDatabase } from '@dh/testing';
import { DatabaseError, Pool, type PoolClient } from 'pg';
import type { NewEvent, RecordedEvent, Subscription } from '../event-store.port';
import type { LogTextEvent } from '../log-text-read';
import { newEvent } from '../testing';
import { createPostgresEventStore, type PostgresEventStore } from './postgres-event-store';

/**
 * The global log must never skip a transaction that took its sequence numbers early and committed late.
 * A naive `global_position > last` reader does skip it; the (xid8, position) reader does not.
 */
describe('PostgreSQL global order under concurrent writers', () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase('es_global_order');
    pool = new Pool({ connectionString: db.url, max: 12 });
    pool.on('error', () => undefined);
    store = await createPostgresEventStore({ pool, pollIntervalMs: 100 });
  });

  afterAll(async () => {
    await store?.close();
    await pool?.end();
    await db?.drop();
  });

  /** Appends inside an explicit transaction that sleeps after taking its positions, before committing. */
  async function slowAppend(client: PoolClient, streamId: string, events: NewEvent[], sleepMs: number): Promise<void> {
    await client.query('BEGIN');
    try {
      await client.query(
        `SELECT * FROM event_store.append_to_stream($1, 'any', $2::uuid[], $3::text[], $4::jsonb, $5::jsonb, $6::timestamptz[], 'event_store_appended')`,
        [
          streamId,
          events.map((e) => e.eventId),
          events.map((e) => e.type),
          JSON.stringify(events.map((e) => e.data)),
          JSON.stringify(events.map((e) => e.metadata)),
          events.map((e) => e.occurredAt.toISOString()),
        ],
      );
      if (sleepMs > 0) await client.query('SELECT pg_sleep($1)', [sleepMs / 1000]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  }

  it('shows that a naive position reader loses a late-committing transaction, and readAll does not', async () => {
    const naive = async (after: bigint) =>
      (
        await pool.query<{ position: string }>(
          'SELECT global_position::text AS position FROM event_store.events WHERE global_position > $1 ORDER BY global_position',
          [after.toString()],
        )
      ).rows.map((r) => BigInt(r.position));
    const start = (await naive(0n)).at(-1) ?? 0n;
    const checkpoint = (await store.readAll()).at(-1)?.checkpoint ?? null;

    const early = await pool.connect();
    try {
      const late = newEvent('TookPositionFirst');
      await early.query('BEGIN');
      await early.query(
        `SELECT * FROM event_store.append_to_stream($1, 'no_stream', $2::uuid[], ARRAY['TookPositionFirst'], ARRAY['{}'], $3::text[], ARRAY[now()], 'event_store_appended')`,
        ['demo-early', [late.eventId], [JSON.stringify(late.metadata)]],
      );
      const committed = await store.appendToStream('demo-second', [newEvent('CommittedFirst')], { expectedRevision: 'no_stream' });

      const naiveSeen = await naive(start);
      expect(naiveSeen).toEqual([committed.globalPosition]);
      expect(await store.readAll({ after: checkpoint })).toEqual([]);

      await early.query('COMMIT');
      // The naive reader moved past the early transaction's position and never sees it.
      expect(await naive(naiveSeen[0])).toEqual([]);
      // xids are cluster-wide: a write transaction of another test on this server can hold the log back a moment longer.
      await eventually(async () =>
        expect((await store.readAll({ after: checkpoint })).map((e) => e.type)).toEqual(['TookPositionFirst', 'CommittedFirst']),
      );
    } finally {
      early.release();
    }
  });

  it('delivers an appended event within a second while another database on the cluster holds a write transaction open for 30 s', async () => {
    // xids are cluster-wide: before migration 4, this transaction held every reader of the log back until it ended.
    const other = await createTestDatabase('es_long_tx');
    const holder = new Pool({ connectionString: other.url, max: 1 });
    holder.on('error', () => undefined);
    const client = await holder.connect();
    const seen = new Map<string, number>();
    let caughtUp = false;
    const sub = store.subscribeToAll({ onEvent: async (e) => void (e.streamId.startsWith('long-tx-') && seen.set(e.eventId, Date.now())), onCaughtUp: () => (caughtUp = true) });
    try {
      await eventually(() => expect(caughtUp).toBe(true));
      await client.query('BEGIN');
      await client.query('CREATE TABLE held (n int)');
      await client.query('INSERT INTO held VALUES (1)');
      const held = client.query('SELECT pg_sleep(30)').catch(() => undefined);
      const openedAt = Date.now();
      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        const event = newEvent('DuringLongTransaction', { i });
        const appendedAt = Date.now();
        await store.appendToStream(`long-tx-${i}`, [event], { expectedRevision: 'no_stream' });
        await eventually(() => expect(seen.has(event.eventId)).toBe(true), 1_000, 10);
        latencies.push(seen.get(event.eventId)! - appendedAt);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      // The holder's transaction was open the whole time, with its write and its transaction id.
      const { rows } = await pool.query<{ open: boolean }>(`SELECT count(*) = 1 AS open FROM pg_stat_activity WHERE datname = $1 AND backend_xid IS NOT NULL AND state = 'active'`, [other.name]);
      expect(rows[0].open).toBe(true);
      expect(Date.now() - openedAt).toBeLessThan(30_000);
      expect(Math.max(...latencies)).toBeLessThan(1_000);
      await pool.query(`SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [other.name]);
      await held;
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
      await sub.stop();
      await holder.end();
      await other.drop();
    }
  }, 40_000);

  it('delivers every event exactly once to subscribers, also across a restart from a checkpoint', async () => {
    const writers = 8;
    const appendsPerWriter = 200;
    const written: string[] = [];

    const seenA: RecordedEvent[] = [];
    let caughtUpA = false;
    const subA = store.subscribeToAll({ onEvent: async (e) => void (e.streamId.startsWith('writer-') && seenA.push(e)), onCaughtUp: () => (caughtUpA = true) });

    // C reads as the relay does: the log as JSON text (the same read_all, another select list).
    const seenC: LogTextEvent[] = [];
    const subC = store.subscribeToAllText({ onEvent: async (e) => void (e.streamId.startsWith('writer-') && seenC.push(e)) });

    // B stops part way and resumes from its last checkpoint, as a relay restarting would.
    const seenB: RecordedEvent[] = [];
    let subB: Subscription = store.subscribeToAll({ onEvent: async (e) => void (e.streamId.startsWith('writer-') && seenB.push(e)) });
    let restartedB = false;
    const restartB = (async () => {
      while (seenB.length < 600) await new Promise((resolve) => setTimeout(resolve, 10));
      await subB.stop();
      subB = store.subscribeToAll({
        after: seenB[seenB.length - 1].checkpoint,
        onEvent: async (e) => void (e.streamId.startsWith('writer-') && seenB.push(e)),
      });
      restartedB = true;
    })();

    const writer = async (w: number) => {
      for (let i = 0; i < appendsPerWriter; i++) {
        const streamId = `writer-${w}-${i % 4}`;
        const events = i % 7 === 0 ? [newEvent('Batch', { w, i }), newEvent('Batch', { w, i }), newEvent('Batch', { w, i })] : [newEvent('Single', { w, i })];
        written.push(...events.map((e) => e.eventId));
        if (i % 25 === 3) {
          const client = await pool.connect();
          try {
            await slowAppend(client, streamId, events, 40 + ((w * 37 + i) % 120));
          } finally {
            client.release();
          }
        } else {
          await store.appendToStream(streamId, events, { expectedRevision: 'any' });
        }
      }
    };
    await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
    await restartB;

    const settle = async (seen: readonly unknown[]) => {
      const deadline = Date.now() + 10_000;
      while (seen.length < written.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      // Give a duplicate the chance to show up.
      await new Promise((resolve) => setTimeout(resolve, 300));
    };
    await settle(seenA);
    await settle(seenB);
    await settle(seenC);
    await subA.stop();
    await subB.stop();
    await subC.stop();

    expect(caughtUpA).toBe(true);
    expect(restartedB).toBe(true);
    const expectedIds = new Set(written);
    expect(expectedIds.size).toBe(written.length);
    for (const seen of [seenA, seenB]) {
      const ids = seen.map((e) => e.eventId);
      expect(ids).toHaveLength(written.length);
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(ids)).toEqual(expectedIds);
      // Within each stream, revisions arrive in order without gaps.
      const next = new Map<string, bigint>();
      for (const e of seen) {
        expect(e.streamRevision).toBe(next.get(e.streamId) ?? 0n);
        next.set(e.streamId, e.streamRevision + 1n);
      }
    }
    expect(seenA.map((e) => e.eventId)).toEqual(seenB.map((e) => e.eventId));
    expect(seenC.map((e) => [e.eventId, e.checkpoint, e.streamRevision])).toEqual(seenA.map((e) => [e.eventId, e.checkpoint, e.streamRevision.toString()]));
  }, 30_000);

  it('delivers every event of concurrent multi-stream batches exactly once, in stream order, also with late commits', async () => {
    const writers = 6;
    const batchesPerWriter = 60;
    const written: string[] = [];
    const seen: RecordedEvent[] = [];
    const sub = store.subscribeToAll({ onEvent: async (e) => void (e.streamId.startsWith('batch-') && seen.push(e)) });

    /**
     * One batch inside an explicit transaction that sleeps after taking its positions, before committing; run again,
     * as the store does, when it met a younger writer of one of its streams (DH006).
     */
    const slowBatch = async (appends: { streamId: string; events: NewEvent[] }[], sleepMs: number): Promise<void> => {
      for (;;) {
        try {
          return await slowBatchOnce(appends, sleepMs);
        } catch (error) {
          if (!(error instanceof DatabaseError && error.code === 'DH006')) throw error;
        }
      }
    };
    const slowBatchOnce = async (appends: { streamId: string; events: NewEvent[] }[], sleepMs: number): Promise<void> => {
      const client = await pool.connect();
      const events = appends.flatMap((a) => a.events);
      try {
        await client.query('BEGIN');
        await client.query(
          `SELECT * FROM event_store.append_to_streams($1::text[], $2::text[], $3::int[], $4::uuid[], $5::text[], $6::jsonb, $7::jsonb, $8::timestamptz[], NULL)`,
          [
            appends.map((a) => a.streamId),
            appends.map(() => 'any'),
            appends.map((a) => a.events.length),
            events.map((e) => e.eventId),
            events.map((e) => e.type),
            JSON.stringify(events.map((e) => e.data)),
            JSON.stringify(events.map((e) => e.metadata)),
            events.map((e) => e.occurredAt.toISOString()),
          ],
        );
        await client.query('SELECT pg_sleep($1)', [sleepMs / 1000]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    };

    const writer = async (w: number) => {
      for (let i = 0; i < batchesPerWriter; i++) {
        // Streams shared between writers (and new ones), named in different orders.
        const streams = [`batch-shared-${i % 5}`, `batch-shared-${(i + w) % 5}`, `batch-own-${w}-${i % 7}`, `batch-new-${w}-${i}`];
        const distinct = [...new Set(w % 2 === 0 ? streams : streams.reverse())];
        const appends = distinct.map((streamId, k) => ({ streamId, events: Array.from({ length: 1 + ((i + k) % 3) }, () => newEvent('Batched', { w, i })) }));
        written.push(...appends.flatMap((a) => a.events.map((e) => e.eventId)));
        if (i % 10 === 4) await slowBatch(appends, 30 + ((w * 41 + i) % 90));
        else await store.appendToStreams(appends.map((a) => ({ ...a, expectedRevision: 'any' as const })));
      }
    };
    await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
    await eventually(() => expect(seen.length).toBeGreaterThanOrEqual(written.length), 15_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sub.stop();

    const ids = seen.map((e) => e.eventId);
    expect(ids).toHaveLength(written.length);
    expect(new Set(ids)).toEqual(new Set(written));
    const next = new Map<string, bigint>();
    for (const e of seen) {
      expect(e.streamRevision).toBe(next.get(e.streamId) ?? 0n);
      next.set(e.streamId, e.streamRevision + 1n);
    }
  }, 60_000);
});
