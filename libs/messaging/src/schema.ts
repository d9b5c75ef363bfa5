import type { Pool, PoolClient } from 'pg';
import { quoteSchema } from './logger';

export const DEFAULT_MESSAGING_SCHEMA = 'messaging';

/** Serialises DDL of concurrent starters (CREATE ... IF NOT EXISTS is not race-free in PostgreSQL). */
const DDL_LOCK_KEY = 0x64686d73; // 'dhms'

/**
 * Creates, if missing, `<schema>.relay_checkpoints(name pk, checkpoint, updated_at)`,
 * `<schema>.inbox(consumer, event_id, processed_at, pk(consumer, event_id))` and
 * `<schema>.consumer_bindings(queue, exchange, pattern, single_active, caught_up_at)` (see `catch-up.ts`).
 */
export async function ensureMessagingTables(db: Pool | PoolClient, schema: string = DEFAULT_MESSAGING_SCHEMA): Promise<void> {
  const s = quoteSchema(schema);
  let client: PoolClient;
  let owned = false;
  if ('release' in db) {
    client = db;
  } else {
    client = await db.connect();
    owned = true;
  }
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [DDL_LOCK_KEY]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.relay_checkpoints (
         name text PRIMARY KEY,
         checkpoint text NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.inbox (
         consumer text NOT NULL,
         event_id text NOT NULL,
         processed_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (consumer, event_id)
       )`,
    );
    // Declared topology: the bindings each consumer has, with the moment it had caught up on them from the event store.
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.consumer_bindings (
         queue text NOT NULL,
         exchange text NOT NULL,
         pattern text NOT NULL,
         single_active boolean NOT NULL,
         caught_up_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (queue, exchange, pattern)
       )`,
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    if (owned) client.release();
  }
}

/**
 * Runs `ddl` (CREATE … IF NOT EXISTS statements) in one transaction under the advisory lock `lockKey`, so that
 * concurrent starters of a service do not race on it.
 */
export async function runDdlUnderLock(pool: Pool, lockKey: number, ddl: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [lockKey]);
    await client.query(ddl);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
