import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` on one connection while holding a PostgreSQL session advisory lock, so only one replica runs a
 * periodic pass at a time; null (and nothing run) when another holds it.
 */
export async function underAdvisoryLock<T>(pool: Pool, name: string, work: (client: PoolClient) => Promise<T>): Promise<T | null> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [name]);
    if (!rows[0]?.locked) return null;
    try {
      return await work(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [name]);
    }
  } finally {
    client.release();
  }
}
