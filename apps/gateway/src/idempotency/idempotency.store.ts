import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';

export interface StoredResponse {
  status: number;
  body: unknown;
}

export type Reservation =
  | { kind: 'reserved'; owner: string; takenOver: boolean }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'in-progress'; retryAfterSeconds: number }
  | { kind: 'mismatch' };

/**
 * How long a request holds its key before another request with the same key may take it over. Longer
 * than any request can run (onboarding sends up to five commands, each with the command timeout), so a
 * live request is never overtaken; after a crash the key is free again when the lease ends.
 */
export const DEFAULT_IDEMPOTENCY_LEASE_SECONDS = 120;

/**
 * Remembers the first response to each (consumer, Idempotency-Key), with a fingerprint of the
 * request, so a retried POST gets the same answer and creates nothing new.
 *
 * A request in progress holds a lease (`locked_until`) under an owner id. If the gateway dies
 * mid-request the record would otherwise say "in progress" forever; once the lease has ended a retry
 * takes the key over and runs the request again. That is safe because every command the gateway sends
 * for a keyed request carries a key derived from it, and the services answer a repeated key with the
 * first outcome ("already handled"): taking over resumes the work, it never does it twice. Only the
 * current owner may complete or release the record, so a late first request cannot overwrite it.
 */
export class IdempotencyStore {
  constructor(
    private readonly pool: Pool,
    private readonly schema = 'gateway',
    private readonly leaseSeconds = DEFAULT_IDEMPOTENCY_LEASE_SECONDS,
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
      );
      ALTER TABLE ${this.schema}.idempotency_keys ADD COLUMN IF NOT EXISTS owner uuid;
      ALTER TABLE ${this.schema}.idempotency_keys ADD COLUMN IF NOT EXISTS locked_until timestamptz;`);
  }

  async reserve(consumer: string, key: string, fingerprint: string): Promise<Reservation> {
    const owner = randomUUID();
    const inserted = await this.pool.query(
      `INSERT INTO ${this.schema}.idempotency_keys (consumer, key, fingerprint, owner, locked_until)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) ON CONFLICT DO NOTHING`,
      [consumer, key, fingerprint, owner, this.leaseSeconds],
    );
    if (inserted.rowCount === 1) return { kind: 'reserved', owner, takenOver: false };
    const { rows } = await this.pool.query<{ fingerprint: string; status: number | null; body: unknown; remaining: number }>(
      `SELECT fingerprint, status, body,
              extract(epoch FROM coalesce(locked_until, created_at + make_interval(secs => $3)) - now())::float8 AS remaining
       FROM ${this.schema}.idempotency_keys WHERE consumer = $1 AND key = $2`,
      [consumer, key, this.leaseSeconds],
    );
    const row = rows[0];
    if (!row) return this.reserve(consumer, key, fingerprint);
    if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
    if (row.status !== null) return { kind: 'replay', response: { status: row.status, body: row.body } };
    if (row.remaining > 0) return { kind: 'in-progress', retryAfterSeconds: Math.max(1, Math.ceil(row.remaining)) };
    const taken = await this.pool.query(
      `UPDATE ${this.schema}.idempotency_keys SET owner = $3, locked_until = now() + make_interval(secs => $4)
       WHERE consumer = $1 AND key = $2 AND status IS NULL AND coalesce(locked_until, created_at + make_interval(secs => $4)) <= now()`,
      [consumer, key, owner, this.leaseSeconds],
    );
    if (taken.rowCount === 1) return { kind: 'reserved', owner, takenOver: true };
    // Another retry took it over first, or it completed meanwhile: look again.
    return this.reserve(consumer, key, fingerprint);
  }

  /** Stores the final answer; false when this owner no longer holds the key (it was taken over). */
  async complete(consumer: string, key: string, owner: string, response: StoredResponse): Promise<boolean> {
    const updated = await this.pool.query(
      `UPDATE ${this.schema}.idempotency_keys SET status = $4, body = $5, completed_at = now(), locked_until = NULL
       WHERE consumer = $1 AND key = $2 AND owner = $3 AND status IS NULL`,
      [consumer, key, owner, response.status, JSON.stringify(response.body)],
    );
    return updated.rowCount === 1;
  }

  /** A request that failed before it had an outcome may be retried with the same key at once. */
  async release(consumer: string, key: string, owner: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.schema}.idempotency_keys WHERE consumer = $1 AND key = $2 AND owner = $3 AND status IS NULL`, [consumer, key, owner]);
  }
}
