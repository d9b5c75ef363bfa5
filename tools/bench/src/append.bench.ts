import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { createPostgresEventStore, EVENT_STORE_MIGRATIONS, PostgresEventStore, runMigrations, type EventMetadata, type JsonObject, type NewEvent } from '@dh/event-store';
import { fmt, log, median, msSince, now, result, type BenchResult } from './measure';

/**
 * Event-store append against plain INSERTs of the same rows.
 * (a) one event per append, each to a new stream, sequential on one connection at a time;
 *     baseline: one single-row INSERT per event.
 * (b) 100 events per append (one new stream per batch); baseline: one 100-row INSERT per batch.
 * (c) appendToStreams of 100 new streams with one event each (as a settlement run stores its invoices, each stream
 *     expected new); baseline: one 100-row INSERT per batch, the same rows. The same batches also go through the
 *     `append_to_streams` of migration 6 (one `append_to_stream` per stream; a store stopped at migration 8), the
 *     before of migration 9, in the same rounds.
 * (d) appendToStreams of one event to each of 100 existing streams with its exact expected revision (as settlement's
 *     metered-data consumer appends `metered-data-<gsrn>` streams); same baseline, same migration-6 comparison
 *     (fewer batches for migration 6: it is the slow side).
 */

const SINGLE_EVENTS = 500;
const BATCH_SIZE = 100;
const BATCHES = 30;
const ROUNDS = 3;
const PER_STREAM_BATCHES = 10;

export function benchPayload(i: number): JsonObject {
  return {
    meteringPointId: `5713131800${String(i).padStart(8, '0')}`,
    period: { start: '2026-03-31T22:00:00Z', end: '2026-04-30T22:00:00Z' },
    quantityKwh: `${(i % 10_000) / 1000}`,
    quality: i % 7 === 6 ? 'A03' : 'A04',
    note: 'x'.repeat(64),
  };
}

export const benchMetadata: EventMetadata = {
  correlationId: '00000000-0000-4000-8000-000000000001',
  causationId: null,
  actor: 'bench',
  schemaVersion: 1,
  context: 'bench',
};

function newEvent(i: number): NewEvent {
  return { eventId: randomUUID(), type: 'MeteredDataReceived', data: benchPayload(i), metadata: benchMetadata, occurredAt: new Date() };
}

const BASELINE_DDL = `
  CREATE TABLE IF NOT EXISTS bench_plain_events (
    id bigserial PRIMARY KEY,
    event_id uuid NOT NULL,
    stream_id text NOT NULL,
    type text NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
  )`;

function baselineRow(streamId: string, event: NewEvent): unknown[] {
  return [event.eventId, streamId, event.type, JSON.stringify(event.data), JSON.stringify(event.metadata), event.occurredAt.toISOString()];
}

function multiRowInsert(rows: number): string {
  const values: string[] = [];
  for (let r = 0; r < rows; r++) {
    const b = r * 6;
    values.push(`($${b + 1}::uuid, $${b + 2}, $${b + 3}, $${b + 4}::jsonb, $${b + 5}::jsonb, $${b + 6}::timestamptz)`);
  }
  return `INSERT INTO bench_plain_events (event_id, stream_id, type, data, metadata, occurred_at) VALUES ${values.join(', ')}`;
}

export async function runAppendBench(databaseUrl: string): Promise<BenchResult[]> {
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  pool.on('error', () => undefined);
  const store = await createPostgresEventStore({ pool, schema: 'bench_append' });
  await runMigrations(
    pool,
    'bench_append_m6',
    EVENT_STORE_MIGRATIONS.filter((m) => m.version <= 8),
  );
  const perStream = new PostgresEventStore(pool, false, 'bench_append_m6', { migratedTo: 8 });
  let counter = 0;
  try {
    await pool.query(BASELINE_DDL);
    const batchSql = multiRowInsert(BATCH_SIZE);

    const storeSingle = async (n: number): Promise<number> => {
      const events = Array.from({ length: n }, () => newEvent(counter++));
      const start = now();
      for (const event of events) await store.appendToStream(`bench-${event.eventId}`, [event], { expectedRevision: 'no_stream' });
      return (n / msSince(start)) * 1000;
    };
    const plainSingle = async (n: number): Promise<number> => {
      const events = Array.from({ length: n }, () => newEvent(counter++));
      const start = now();
      for (const event of events) {
        await pool.query('INSERT INTO bench_plain_events (event_id, stream_id, type, data, metadata, occurred_at) VALUES ($1::uuid, $2, $3, $4::jsonb, $5::jsonb, $6::timestamptz)', baselineRow(`bench-${event.eventId}`, event));
      }
      return (n / msSince(start)) * 1000;
    };
    const storeBatched = async (batches: number): Promise<number> => {
      const all = Array.from({ length: batches }, () => Array.from({ length: BATCH_SIZE }, () => newEvent(counter++)));
      const start = now();
      for (const batch of all) await store.appendToStream(`bench-batch-${batch[0].eventId}`, batch, { expectedRevision: 'no_stream' });
      return ((batches * BATCH_SIZE) / msSince(start)) * 1000;
    };
    const storeManyStreams = async (batches: number, target = store): Promise<number> => {
      const all = Array.from({ length: batches }, () => Array.from({ length: BATCH_SIZE }, () => newEvent(counter++)));
      const start = now();
      for (const batch of all) await target.appendToStreams(batch.map((event) => ({ streamId: `bench-many-${event.eventId}`, events: [event], expectedRevision: 'no_stream' as const })));
      return ((batches * BATCH_SIZE) / msSince(start)) * 1000;
    };
    const plainManyStreams = async (batches: number): Promise<number> => {
      const all = Array.from({ length: batches }, () => Array.from({ length: BATCH_SIZE }, () => newEvent(counter++)));
      const start = now();
      for (const batch of all) await pool.query(batchSql, batch.flatMap((e) => baselineRow(`bench-many-${e.eventId}`, e)));
      return ((batches * BATCH_SIZE) / msSince(start)) * 1000;
    };
    // (d): the same 100 streams per store, each batch one event per stream at the revision the last batch returned.
    const existingStreams = Array.from({ length: BATCH_SIZE }, (_, i) => `bench-existing-${i}`);
    const revisions = new Map<PostgresEventStore, bigint[]>();
    for (const target of [store, perStream]) {
      const created = await target.appendToStreams(existingStreams.map((streamId) => ({ streamId, events: [newEvent(counter++)], expectedRevision: 'no_stream' as const })));
      revisions.set(target, created.map((r) => r.nextExpectedRevision));
    }
    const storeExistingStreams = async (batches: number, target = store): Promise<number> => {
      const all = Array.from({ length: batches }, () => Array.from({ length: BATCH_SIZE }, () => newEvent(counter++)));
      const start = now();
      for (const batch of all) {
        const at = revisions.get(target) ?? [];
        const results = await target.appendToStreams(batch.map((event, i) => ({ streamId: existingStreams[i], events: [event], expectedRevision: at[i] })));
        revisions.set(target, results.map((r) => r.nextExpectedRevision));
      }
      return ((batches * BATCH_SIZE) / msSince(start)) * 1000;
    };
    const plainBatched = async (batches: number): Promise<number> => {
      const all = Array.from({ length: batches }, () => Array.from({ length: BATCH_SIZE }, () => newEvent(counter++)));
      const start = now();
      for (const batch of all) {
        const streamId = `bench-batch-${batch[0].eventId}`;
        await pool.query(batchSql, batch.flatMap((e) => baselineRow(streamId, e)));
      }
      return ((batches * BATCH_SIZE) / msSince(start)) * 1000;
    };

    // Warm-up: plans, JIT, connection set-up.
    await storeSingle(100);
    await plainSingle(100);
    await storeBatched(3);
    await plainBatched(3);
    await storeManyStreams(3);
    await plainManyStreams(3);
    await storeManyStreams(3, perStream);
    await storeExistingStreams(3);
    await storeExistingStreams(3, perStream);

    const runs = {
      storeSingle: [] as number[],
      plainSingle: [] as number[],
      storeBatched: [] as number[],
      plainBatched: [] as number[],
      storeMany: [] as number[],
      plainMany: [] as number[],
      perStreamMany: [] as number[],
      storeExisting: [] as number[],
      perStreamExisting: [] as number[],
    };
    // Interleaved, so a noisy neighbour hits both sides alike.
    for (let round = 1; round <= ROUNDS; round++) {
      runs.storeSingle.push(await storeSingle(SINGLE_EVENTS));
      runs.plainSingle.push(await plainSingle(SINGLE_EVENTS));
      runs.storeBatched.push(await storeBatched(BATCHES));
      runs.plainBatched.push(await plainBatched(BATCHES));
      runs.storeMany.push(await storeManyStreams(BATCHES));
      runs.plainMany.push(await plainManyStreams(BATCHES));
      runs.perStreamMany.push(await storeManyStreams(PER_STREAM_BATCHES, perStream));
      runs.storeExisting.push(await storeExistingStreams(BATCHES));
      runs.perStreamExisting.push(await storeExistingStreams(PER_STREAM_BATCHES, perStream));
      log(
        `  round ${round}: single ${fmt(runs.storeSingle[round - 1], 'ev/s')} vs INSERT ${fmt(runs.plainSingle[round - 1], 'ev/s')}; ` +
          `batched ${fmt(runs.storeBatched[round - 1], 'ev/s')} vs multi-row INSERT ${fmt(runs.plainBatched[round - 1], 'ev/s')}; ` +
          `${BATCH_SIZE} new streams ${fmt(runs.storeMany[round - 1], 'ev/s')} (migration 6: ${fmt(runs.perStreamMany[round - 1], 'ev/s')}) vs multi-row INSERT ${fmt(runs.plainMany[round - 1], 'ev/s')}; ` +
          `${BATCH_SIZE} existing streams ${fmt(runs.storeExisting[round - 1], 'ev/s')} (migration 6: ${fmt(runs.perStreamExisting[round - 1], 'ev/s')})`,
      );
    }
    return [
      result('append, 1 event/append', median(runs.storeSingle), median(runs.plainSingle), 'ev/s', true, 'single-row INSERT'),
      result(`append, ${BATCH_SIZE} events/append`, median(runs.storeBatched), median(runs.plainBatched), 'ev/s', true, `${BATCH_SIZE}-row INSERT`),
      result(`appendToStreams, ${BATCH_SIZE} new streams × 1 event`, median(runs.storeMany), median(runs.plainMany), 'ev/s', true, `${BATCH_SIZE}-row INSERT`),
      result(
        `appendToStreams, ${BATCH_SIZE} new streams × 1 event, migration 6 (per stream)`,
        median(runs.perStreamMany),
        median(runs.plainMany),
        'ev/s',
        true,
        `${BATCH_SIZE}-row INSERT`,
      ),
      result(`appendToStreams, ${BATCH_SIZE} existing streams × 1 event (exact revision)`, median(runs.storeExisting), median(runs.plainMany), 'ev/s', true, `${BATCH_SIZE}-row INSERT`),
      result(
        `appendToStreams, ${BATCH_SIZE} existing streams × 1 event, migration 6 (per stream)`,
        median(runs.perStreamExisting),
        median(runs.plainMany),
        'ev/s',
        true,
        `${BATCH_SIZE}-row INSERT`,
      ),
    ];
  } finally {
    await store.close();
    await pool.end();
  }
}
