import type { Pool } from 'pg';

export interface StoredResponse {
  status: number;
  body: unknown;
}

export type Reservation =
  | { kind: 'reserved' }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'in-progress' }
  | { kind: 'mismatch' };

/**
 * Remembers the first response to each (consumer, Idempotency-Key), with a fingerprint of the
 * request, so a retried POST gets the same answer and creates nothing new.
 */
export class IdempotencyStore {
  constructor(
    private readonly pool: Pool,
    private readonly schema = 'gateway',
  ) {}

  async migrate(): Promise<void> {
    await this.pool.query(`
      CREATE SCHEMA IF NOT EXISTS ${this.schema};
      CREATE TABLE IF NOT EXISTS ${this.schema}.idempotency_keys (
        consumer text NOT NULL,
        key text NOT NULL,
        fingerprint text NOT NULL,
        status integer,
        body jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz,
        PRIMARY KEY (consumer, key)
      );`);
  }

  async reserve(consumer: string, key: string, fingerprint: string): Promise<Reservation> {
    const inserted = await this.pool.query(
      `INSERT INTO ${this.schema}.idempotency_keys (consumer, key, fingerprint) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      [consumer, key, fingerprint],
    );
    if (inserted.rowCount === 1) return { kind: 'reserved' };
    const { rows } = await this.pool.query<{ fingerprint: string; status: number | null; body: unknown }>(
      `SELECT fingerprint, status, body FROM ${this.schema}.idempotency_keys WHERE consumer = $1 AND key = $2`,
      [consumer, key],
    );
    const row = rows[0];
    if (!row) return this.reserve(consumer, key, fingerprint);
    if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
    if (row.status === null) return { kind: 'in-progress' };
    return { kind: 'replay', response: { status: row.status, body: row.body } };
  }

  async complete(consumer: string, key: string, response: StoredResponse): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.schema}.idempotency_keys SET status = $3, body = $4, completed_at = now() WHERE consumer = $1 AND key = $2`,
      [consumer, key, response.status, JSON.stringify(response.body)],
    );
  }

  /** A request that failed before it had an outcome may be retried with the same key. */
  async release(consumer: string, key: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.schema}.idempotency_keys WHERE consumer = $1 AND key = $2 AND status IS NULL`, [consumer, key]);
  }
}
