import type { Pool } from 'pg';

/**
 * Schemas `auth` (API keys) and `audit` (append-only access log), versioned and applied under an
 * advisory lock so several gateway replicas can start at once.
 */
export interface AuthMigration {
  version: number;
  name: string;
  sql: string;
}

export const AUTH_MIGRATIONS: readonly AuthMigration[] = [
  {
    version: 1,
    name: 'api keys',
    sql: `
      CREATE TABLE auth.api_keys (
        id uuid PRIMARY KEY,
        prefix text NOT NULL UNIQUE,
        secret_sha256 bytea NOT NULL CHECK (octet_length(secret_sha256) = 32),
        name text NOT NULL,
        consumer text NOT NULL CHECK (consumer IN ('erp', 'crm', 'payment')),
        scopes text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text,
        expires_at timestamptz,
        revoked_at timestamptz,
        revoked_by text
      );`,
  },
  {
    version: 2,
    name: 'audit log (append-only)',
    sql: `
      CREATE TABLE audit.entries (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor_id text NOT NULL,
        actor_kind text NOT NULL,
        actor_roles text[] NOT NULL DEFAULT '{}',
        action text NOT NULL,
        subject_type text NOT NULL,
        subject_id text,
        purpose text,
        request_id text,
        outcome text NOT NULL,
        status integer
      );
      CREATE INDEX entries_subject_idx ON audit.entries (subject_type, subject_id, at);
      CREATE INDEX entries_actor_idx ON audit.entries (actor_id, at);
      CREATE FUNCTION audit.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        RAISE EXCEPTION 'audit.entries is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
      END
      $fn$;
      CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON audit.entries
        FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
      CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON audit.entries
        FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();`,
  },
];

const LOCK_KEY = 0x6175746800; // "auth\0"

export async function migrateAuth(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await client.query(`
      CREATE SCHEMA IF NOT EXISTS auth;
      CREATE SCHEMA IF NOT EXISTS audit;
      CREATE TABLE IF NOT EXISTS auth.schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      );`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM auth.schema_migrations');
    const applied = new Set(rows.map((row) => row.version));
    for (const migration of AUTH_MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO auth.schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}
