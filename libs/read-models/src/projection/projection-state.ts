import type { PoolClient } from 'pg';
import { compareCheckpoints, projectionHandles, Projection, ProjectedEvent } from './projection';

export const PROJECTION_SCHEMA = 'read_models';

export async function migrateProjectionState(client: PoolClient): Promise<void> {
  await client.query(`
    CREATE SCHEMA IF NOT EXISTS ${PROJECTION_SCHEMA};
    CREATE TABLE IF NOT EXISTS ${PROJECTION_SCHEMA}.projection_state (
      name text PRIMARY KEY,
      status text NOT NULL DEFAULT 'live' CHECK (status IN ('live', 'rebuilding')),
      checkpoint text,
      applied_events bigint NOT NULL DEFAULT 0,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    -- The layout of the projection's tables its live model was built with (Projection.layout; null: the first one).
    ALTER TABLE ${PROJECTION_SCHEMA}.projection_state ADD COLUMN IF NOT EXISTS layout text;`);
}

export type ApplyOutcome = 'applied' | 'already-applied' | 'rebuilding';

/**
 * Applies one event in the caller's transaction, guarded by the projection's own checkpoint.
 * Events arrive in global-log order (one relay, single active consumer), so an event at or before
 * the checkpoint was applied already (a redelivery, or covered by a rebuild). While a rebuild runs,
 * live events are left to the rebuild, which reads the log to its end under the same row lock.
 */
export async function applyGuarded(projection: Projection, event: ProjectedEvent, client: PoolClient): Promise<ApplyOutcome> {
  await client.query(`INSERT INTO ${PROJECTION_SCHEMA}.projection_state (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [projection.name]);
  const { rows } = await client.query<{ status: 'live' | 'rebuilding'; checkpoint: string | null }>(
    `SELECT status, checkpoint FROM ${PROJECTION_SCHEMA}.projection_state WHERE name = $1 FOR UPDATE`,
    [projection.name],
  );
  const state = rows[0];
  if (state.status === 'rebuilding') return 'rebuilding';
  if (state.checkpoint !== null && compareCheckpoints(event.checkpoint, state.checkpoint) <= 0) return 'already-applied';
  if (projectionHandles(projection, event.type)) await projection.apply(event, client);
  await client.query(
    `UPDATE ${PROJECTION_SCHEMA}.projection_state SET checkpoint = $2, applied_events = applied_events + 1, updated_at = now() WHERE name = $1`,
    [projection.name, event.checkpoint],
  );
  return 'applied';
}

/**
 * Applies events in order with `applyBatch` when the projection has it, else `apply` one by one; only those of its
 * {@link Projection.eventTypes} when it lists them.
 */
export async function applyEvents(projection: Projection, all: readonly ProjectedEvent[], client: PoolClient): Promise<void> {
  const types = projection.eventTypes;
  const events = types === undefined ? all : all.filter((event) => types.has(event.type));
  if (events.length === 0) return;
  if (projection.applyBatch && events.length > 1) await projection.applyBatch(events, client);
  else for (const event of events) await projection.apply(event, client);
}

/**
 * `applyGuarded` for a batch in global-log order, in the caller's transaction: one lock of the
 * projection's state row, the events after its checkpoint applied together (`applyEvents`), one
 * checkpoint update. Returns how many were applied (0 while a rebuild runs or when all were applied before).
 */
export async function applyGuardedBatch(projection: Projection, events: readonly ProjectedEvent[], client: PoolClient): Promise<{ applied: number; outcome: ApplyOutcome }> {
  await client.query(`INSERT INTO ${PROJECTION_SCHEMA}.projection_state (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [projection.name]);
  const { rows } = await client.query<{ status: 'live' | 'rebuilding'; checkpoint: string | null }>(
    `SELECT status, checkpoint FROM ${PROJECTION_SCHEMA}.projection_state WHERE name = $1 FOR UPDATE`,
    [projection.name],
  );
  const state = rows[0];
  if (state.status === 'rebuilding') return { applied: 0, outcome: 'rebuilding' };
  const stored = state.checkpoint;
  const fresh = stored === null ? events : events.filter((event) => compareCheckpoints(event.checkpoint, stored) > 0);
  if (fresh.length === 0) return { applied: 0, outcome: 'already-applied' };
  await applyEvents(projection, fresh, client);
  await client.query(
    `UPDATE ${PROJECTION_SCHEMA}.projection_state SET checkpoint = $2, applied_events = applied_events + $3, updated_at = now() WHERE name = $1`,
    [projection.name, fresh[fresh.length - 1].checkpoint, fresh.length],
  );
  return { applied: fresh.length, outcome: 'applied' };
}

/**
 * md5 over every row of the projection's tables (or of a table's declared `content`) in key order: equal read models,
 * equal checksums. The count is of those rows.
 */
export async function projectionChecksum(projection: Projection, client: PoolClient): Promise<string> {
  const parts: string[] = [];
  for (const table of projection.tables) {
    const { rows } = await client.query<{ digest: string | null; count: string }>(
      `SELECT md5(string_agg(t::text, E'\\n' ORDER BY ${table.orderBy})) AS digest, count(*) AS count FROM ${table.content ? `(${table.content})` : table.name} t`,
    );
    parts.push(`${table.name}:${rows[0].count}:${rows[0].digest ?? 'empty'}`);
  }
  return parts.join('|');
}
