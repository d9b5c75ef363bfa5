import type { Pool, PoolClient } from 'pg';
import type { EventStore, RecordedEvent } from '@dh/event-store';
import type { Projection, ProjectedEvent } from './projection';
import { PROJECTION_SCHEMA, applyEvents, migrateProjectionState } from './projection-state';

export interface RebuildProgress {
  projection: string;
  appliedEvents: number;
  checkpoint: string | null;
  done: boolean;
}

export function toProjectedEvent(event: RecordedEvent): ProjectedEvent {
  return {
    eventId: event.eventId,
    type: event.type,
    streamId: event.streamId,
    streamRevision: event.streamRevision,
    checkpoint: event.checkpoint,
    recordedAt: event.recordedAt,
    data: event.data,
  };
}

async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

async function applyBatch(projection: Projection, events: RecordedEvent[], client: PoolClient): Promise<void> {
  await applyEvents(
    projection,
    events.map((event) => toProjectedEvent(projection.schemas ? projection.schemas.upcast(event) : event)),
    client,
  );
  const last = events[events.length - 1];
  await client.query(
    `UPDATE ${PROJECTION_SCHEMA}.projection_state SET checkpoint = $2, applied_events = applied_events + $3, updated_at = now() WHERE name = $1`,
    [projection.name, last.checkpoint, events.length],
  );
}

/**
 * Empties a projection's tables and replays the event store into them, in short transactions so
 * no long writing transaction holds back the global log. Live events that arrive meanwhile are
 * skipped by `applyGuarded`; the last step reads the log to its end while holding the projection's
 * state row, then hands over to the live consumer.
 */
/** Advisory-lock namespace of rebuilds (first key of the two-int form; the second is the projection's name). */
const REBUILD_LOCK_NAMESPACE = 0x64687262; // 'dhrb'

export class RebuildAlreadyRunningError extends Error {
  override readonly name = 'RebuildAlreadyRunningError';
  constructor(readonly projection: string) {
    super(`a rebuild of ${projection} is already running`);
  }
}

/**
 * One rebuild of a projection at a time: two at once would both empty its tables and each move its
 * checkpoint, one backwards. A session advisory lock per projection name, on a connection of its own held
 * for the whole rebuild; `ifRunning: 'refuse'` throws {@link RebuildAlreadyRunningError} instead of waiting.
 */
export async function rebuildProjection(
  pool: Pool,
  store: EventStore,
  projection: Projection,
  options: { batchSize?: number; onProgress?: (progress: RebuildProgress) => void; ifRunning?: 'wait' | 'refuse' } = {},
): Promise<RebuildProgress> {
  const [result] = await rebuildProjections(pool, store, [projection], options);
  return result;
}

/**
 * Rebuilds several projections in one pass over the log: each batch read once and applied to every one of
 * them in one transaction. Each projection's lock is taken first (in name order, so two multi-rebuilds
 * cannot deadlock), as in {@link rebuildProjection}.
 */
export async function rebuildProjections(
  pool: Pool,
  store: EventStore,
  projections: readonly Projection[],
  options: { batchSize?: number; onProgress?: (progress: RebuildProgress) => void; ifRunning?: 'wait' | 'refuse' } = {},
): Promise<RebuildProgress[]> {
  const ordered = [...projections].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lock = await pool.connect();
  let broken: Error | undefined;
  const locked: string[] = [];
  try {
    for (const projection of ordered) {
      if (options.ifRunning === 'refuse') {
        const { rows } = await lock.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [REBUILD_LOCK_NAMESPACE, projection.name]);
        if (rows[0]?.locked !== true) throw new RebuildAlreadyRunningError(projection.name);
      } else {
        await lock.query('SELECT pg_advisory_lock($1, hashtext($2))', [REBUILD_LOCK_NAMESPACE, projection.name]);
      }
      locked.push(projection.name);
    }
    const results = await rebuildLocked(pool, store, ordered, options);
    return projections.map((p) => results[ordered.indexOf(p)]);
  } finally {
    for (const name of locked) {
      await lock.query('SELECT pg_advisory_unlock($1, hashtext($2))', [REBUILD_LOCK_NAMESPACE, name]).catch((error: unknown) => {
        broken = error instanceof Error ? error : new Error(String(error));
      });
    }
    lock.release(broken);
  }
}

async function rebuildLocked(
  pool: Pool,
  store: EventStore,
  projections: readonly Projection[],
  options: { batchSize?: number; onProgress?: (progress: RebuildProgress) => void },
): Promise<RebuildProgress[]> {
  const batchSize = options.batchSize ?? 500;
  for (const projection of projections) {
    await inTransaction(pool, async (client) => {
      await migrateProjectionState(client);
      await projection.migrate(client);
    });
    await inTransaction(pool, async (client) => {
      await client.query(
        `INSERT INTO ${PROJECTION_SCHEMA}.projection_state (name, status) VALUES ($1, 'rebuilding')
         ON CONFLICT (name) DO UPDATE SET status = 'rebuilding', checkpoint = NULL, applied_events = 0, updated_at = now()`,
        [projection.name],
      );
      await client.query(`TRUNCATE ${projection.tables.map((t) => t.name).join(', ')}`);
    });
  }

  let checkpoint: string | null = null;
  let appliedEvents = 0;
  const report = (done: boolean): RebuildProgress[] =>
    projections.map((projection) => {
      const progress = { projection: projection.name, appliedEvents, checkpoint, done };
      options.onProgress?.(progress);
      return progress;
    });
  const applyToAll = async (events: RecordedEvent[], client: PoolClient): Promise<void> => {
    for (const projection of projections) await applyBatch(projection, events, client);
  };

  for (;;) {
    const events = await store.readAll({ after: checkpoint, maxCount: batchSize });
    if (events.length === 0) break;
    await inTransaction(pool, (client) => applyToAll(events, client));
    checkpoint = events[events.length - 1].checkpoint;
    appliedEvents += events.length;
    report(false);
    if (events.length < batchSize) break;
  }

  await inTransaction(pool, async (client) => {
    await client.query(`SELECT 1 FROM ${PROJECTION_SCHEMA}.projection_state WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE`, [projections.map((p) => p.name)]);
    for (;;) {
      const events = await store.readAll({ after: checkpoint, maxCount: batchSize });
      if (events.length === 0) break;
      await applyToAll(events, client);
      checkpoint = events[events.length - 1].checkpoint;
      appliedEvents += events.length;
    }
    await client.query(`UPDATE ${PROJECTION_SCHEMA}.projection_state SET status = 'live', updated_at = now() WHERE name = ANY($1::text[])`, [projections.map((p) => p.name)]);
  });
  return report(true);
}
