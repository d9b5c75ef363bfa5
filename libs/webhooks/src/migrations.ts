import type { Pool } from 'pg';
import { quoteSchema } from '@dh/messaging';

export const DEFAULT_WEBHOOKS_SCHEMA = 'webhooks';

/** Advisory-lock key of the migration (two-int form: namespace, schema hash). */
const LOCK_NAMESPACE = 0x64687768; // 'dhwh'

function migrations(s: string): { version: number; sql: string }[] {
  return [
    {
      version: 1,
      sql: `
        CREATE TABLE ${s}.subscriptions (
          id uuid PRIMARY KEY,
          owner text NOT NULL,
          url text NOT NULL,
          event_types text[] NOT NULL CHECK (cardinality(event_types) > 0),
          secret_sealed bytea NOT NULL,
          active boolean NOT NULL DEFAULT true,
          created_at timestamptz NOT NULL DEFAULT now(),
          deactivated_at timestamptz
        );
        CREATE INDEX subscriptions_owner_idx ON ${s}.subscriptions (owner, created_at);
        CREATE INDEX subscriptions_types_idx ON ${s}.subscriptions USING gin (event_types) WHERE active;
        CREATE TABLE ${s}.deliveries (
          id uuid PRIMARY KEY,
          subscription_id uuid NOT NULL REFERENCES ${s}.subscriptions (id),
          event_id text NOT NULL,
          event_type text NOT NULL,
          body text NOT NULL,
          status text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'cancelled')),
          attempts integer NOT NULL DEFAULT 0,
          cycle_attempts integer NOT NULL DEFAULT 0,
          manual_requested boolean NOT NULL DEFAULT false,
          next_attempt_at timestamptz,
          last_attempt_at timestamptz,
          last_status_code integer,
          last_error text,
          delivered_at timestamptz,
          created_at timestamptz NOT NULL DEFAULT now(),
          UNIQUE (subscription_id, event_id)
        );
        CREATE INDEX deliveries_due_idx ON ${s}.deliveries (next_attempt_at) WHERE status = 'pending';
        CREATE INDEX deliveries_subscription_idx ON ${s}.deliveries (subscription_id, created_at DESC);
        CREATE TABLE ${s}.delivery_attempts (
          delivery_id uuid NOT NULL REFERENCES ${s}.deliveries (id),
          attempt integer NOT NULL,
          trigger text NOT NULL CHECK (trigger IN ('automatic', 'manual')),
          started_at timestamptz NOT NULL,
          duration_ms integer NOT NULL,
          status_code integer,
          error text,
          PRIMARY KEY (delivery_id, attempt)
        );`,
    },
    {
      // Which master key sealed each secret, so a master-key rotation re-seals exactly what is left.
      version: 2,
      sql: `ALTER TABLE ${s}.subscriptions ADD COLUMN secret_key_id text;`,
    },
  ];
}

/** Creates schema `webhooks` (or `schema`) and its tables; versioned, under an advisory lock, safe to run from several processes. */
export async function migrateWebhooks(pool: Pool, schema: string = DEFAULT_WEBHOOKS_SCHEMA): Promise<void> {
  const s = quoteSchema(schema);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_NAMESPACE, schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const applied = new Set((await client.query<{ version: number }>(`SELECT version FROM ${s}.migrations`)).rows.map((r) => r.version));
    for (const m of migrations(s)) {
      if (applied.has(m.version)) continue;
      await client.query(m.sql);
      await client.query(`INSERT INTO ${s}.migrations (version) VALUES ($1)`, [m.version]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
