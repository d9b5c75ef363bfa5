import { createHmac, randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { MasterKeys, open, seal } from './sealing';

/**
 * Personal data (CPR, names, addresses, e-mail) is encrypted per data subject with AES-256-GCM.
 * Each subject has its own random data key, stored wrapped by the master key. Erasing a subject
 * (GDPR) destroys its key: events and read models keep their ciphertext for bookkeeping and
 * rebuilds, but nobody can read the person any more ("crypto-shredding").
 *
 * Finding a subject by CPR/CVR needs an equality index. It is a keyed hash (HMAC-SHA256 under an
 * index key the master key wraps) kept here, beside the subject's key, and deleted with it: a hash
 * of a CPR must not outlive the erasure anywhere, because the whole CPR space (about 10^7 valid
 * numbers) is hashed in minutes by anyone who holds the index key.
 */

export class PersonalDataErasedError extends Error {
  override readonly name = 'PersonalDataErasedError';
  constructor(readonly subjectId: string) {
    super(`Personal data of subject ${subjectId} has been erased`);
  }
}

/**
 * Subject keys are cached briefly: an erasure made by another process (another replica) takes
 * effect here within this time.
 */
export const SUBJECT_KEY_CACHE_MS = 30_000;

const IDENTITY_INDEX_KEY = 'identity-index';

export class PiiVault {
  private readonly keys = new Map<string, { key: Buffer; until: number }>();
  private readonly master: MasterKeys;
  private indexKey: Promise<Buffer> | null = null;

  constructor(
    private readonly pool: Pool,
    masterKey: Buffer | MasterKeys,
    private readonly schema = 'pii',
    private readonly cacheMs = SUBJECT_KEY_CACHE_MS,
  ) {
    this.master = masterKey instanceof MasterKeys ? masterKey : new MasterKeys(masterKey);
  }

  async migrate(): Promise<void> {
    await this.pool.query(`
      CREATE SCHEMA IF NOT EXISTS ${this.schema};
      CREATE TABLE IF NOT EXISTS ${this.schema}.subject_keys (
        subject_id text PRIMARY KEY,
        wrapped_key text,
        created_at timestamptz NOT NULL DEFAULT now(),
        erased_at timestamptz
      );
      ALTER TABLE ${this.schema}.subject_keys ADD COLUMN IF NOT EXISTS master_key_id text;
      CREATE TABLE IF NOT EXISTS ${this.schema}.vault_keys (
        name text PRIMARY KEY,
        wrapped_key text NOT NULL,
        master_key_id text NOT NULL
      );
      CREATE TABLE IF NOT EXISTS ${this.schema}.identity_index (
        subject_id text PRIMARY KEY,
        index_hash text NOT NULL
      );
      CREATE INDEX IF NOT EXISTS identity_index_hash ON ${this.schema}.identity_index (index_hash);
      CREATE TABLE IF NOT EXISTS ${this.schema}.search_terms (
        subject_id text NOT NULL,
        kind text NOT NULL,
        term_hash text NOT NULL,
        PRIMARY KEY (subject_id, kind, term_hash)
      );
      CREATE INDEX IF NOT EXISTS search_terms_hash ON ${this.schema}.search_terms (kind, term_hash);`);
  }

  /** Records the subject's CPR/CVR (`cpr:0101901234`, `cvr:12345678`) as a keyed hash, for `subjectsWithIdentity`. */
  async registerIdentity(subjectId: string, identity: string): Promise<void> {
    const hash = await this.identityHash(identity);
    await this.pool.query(
      `INSERT INTO ${this.schema}.identity_index (subject_id, index_hash) VALUES ($1, $2) ON CONFLICT (subject_id) DO UPDATE SET index_hash = EXCLUDED.index_hash`,
      [subjectId, hash],
    );
  }

  /** The subjects (not erased) registered with this CPR/CVR. */
  async subjectsWithIdentity(identity: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ subject_id: string }>(`SELECT subject_id FROM ${this.schema}.identity_index WHERE index_hash = $1 ORDER BY subject_id`, [await this.identityHash(identity)]);
    return rows.map((r) => r.subject_id);
  }

  /**
   * Replaces the subject's search terms of one kind (`name`: the words of a name, normalised by the
   * caller) with keyed hashes of them, deleted on erasure like the identity index.
   */
  async registerSearchTerms(subjectId: string, kind: string, terms: readonly string[]): Promise<void> {
    const hashes = await Promise.all([...new Set(terms)].map((term) => this.identityHash(`${kind}:${term}`)));
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`DELETE FROM ${this.schema}.search_terms WHERE subject_id = $1 AND kind = $2`, [subjectId, kind]);
      if (hashes.length > 0) {
        await client.query(`INSERT INTO ${this.schema}.search_terms (subject_id, kind, term_hash) SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING`, [subjectId, kind, hashes]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** The subjects (not erased) that have every one of these search terms of the kind, at most `limit`. */
  async subjectsWithSearchTerms(kind: string, terms: readonly string[], limit = 50): Promise<string[]> {
    const unique = [...new Set(terms)];
    if (unique.length === 0) return [];
    const hashes = await Promise.all(unique.map((term) => this.identityHash(`${kind}:${term}`)));
    const { rows } = await this.pool.query<{ subject_id: string }>(
      `SELECT subject_id FROM ${this.schema}.search_terms WHERE kind = $1 AND term_hash = ANY($2::text[])
        GROUP BY subject_id HAVING count(*) = $3 ORDER BY subject_id LIMIT $4`,
      [kind, hashes, hashes.length, limit],
    );
    return rows.map((r) => r.subject_id);
  }

  async encrypt(subjectId: string, value: Record<string, string | null>): Promise<string> {
    const key = await this.subjectKey(subjectId, true);
    return seal(key, Buffer.from(JSON.stringify(value)), subjectId);
  }

  async decrypt(subjectId: string, sealed: string): Promise<Record<string, string | null>> {
    const key = await this.subjectKey(subjectId, false);
    return JSON.parse(open(key, sealed, subjectId).toString('utf8')) as Record<string, string | null>;
  }

  /** Destroys the subject's key, its identity index entry and its search terms together. */
  async erase(subjectId: string): Promise<void> {
    await this.pool.query(
      `WITH gone AS (DELETE FROM ${this.schema}.identity_index WHERE subject_id = $1),
            terms AS (DELETE FROM ${this.schema}.search_terms WHERE subject_id = $1)
       INSERT INTO ${this.schema}.subject_keys (subject_id, wrapped_key, erased_at) VALUES ($1, NULL, now())
       ON CONFLICT (subject_id) DO UPDATE SET wrapped_key = NULL, master_key_id = NULL, erased_at = now()`,
      [subjectId],
    );
    this.keys.delete(subjectId);
  }

  private async identityHash(identity: string): Promise<string> {
    this.indexKey ??= this.loadIndexKey().catch((error: unknown) => {
      this.indexKey = null;
      throw error;
    });
    return createHmac('sha256', await this.indexKey).update(identity).digest('hex');
  }

  private async loadIndexKey(): Promise<Buffer> {
    const { wrapped, keyId } = this.master.wrap(randomBytes(32), `vault:${IDENTITY_INDEX_KEY}`);
    await this.pool.query(`INSERT INTO ${this.schema}.vault_keys (name, wrapped_key, master_key_id) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`, [IDENTITY_INDEX_KEY, wrapped, keyId]);
    const { rows } = await this.pool.query<{ wrapped_key: string; master_key_id: string }>(`SELECT wrapped_key, master_key_id FROM ${this.schema}.vault_keys WHERE name = $1`, [IDENTITY_INDEX_KEY]);
    return this.master.unwrap(rows[0]!.wrapped_key, `vault:${IDENTITY_INDEX_KEY}`, rows[0]!.master_key_id);
  }

  private async subjectKey(subjectId: string, create: boolean): Promise<Buffer> {
    const cached = this.keys.get(subjectId);
    if (cached && cached.until > Date.now()) return cached.key;
    if (create) {
      const { wrapped, keyId } = this.master.wrap(randomBytes(32), `key:${subjectId}`);
      await this.pool.query(`INSERT INTO ${this.schema}.subject_keys (subject_id, wrapped_key, master_key_id) VALUES ($1, $2, $3) ON CONFLICT (subject_id) DO NOTHING`, [subjectId, wrapped, keyId]);
    }
    const { rows } = await this.pool.query<{ wrapped_key: string | null; master_key_id: string | null }>(
      `SELECT wrapped_key, master_key_id FROM ${this.schema}.subject_keys WHERE subject_id = $1`,
      [subjectId],
    );
    const row = rows[0];
    if (!row || row.wrapped_key === null) throw new PersonalDataErasedError(subjectId);
    const key = this.master.unwrap(row.wrapped_key, `key:${subjectId}`, row.master_key_id);
    this.keys.set(subjectId, { key, until: Date.now() + this.cacheMs });
    return key;
  }
}
