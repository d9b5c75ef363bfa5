import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { type Consumer, isConsumer, narrowScopes, type Principal, type Scope, scopesForConsumer } from '../principal';
import { generateApiKey, hashSecret, parseApiKey, secretMatches } from './api-key-format';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What we keep about a key: never the secret, never its hash outside this class. */
export interface ApiKeyRecord {
  id: string;
  prefix: string;
  name: string;
  consumer: Consumer;
  scopes: Scope[];
  createdAt: Date;
  createdBy: string | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  revokedBy: string | null;
}

export interface IssueApiKeyInput {
  /** Human label: "e-conomic production". */
  name: string;
  consumer: Consumer;
  /** Defaults to the consumer's scopes; may only narrow them. */
  scopes?: readonly Scope[];
  createdBy?: string;
  expiresAt?: Date;
}

export interface IssuedApiKey {
  /** The clear key, `dhk_<prefix>_<secret>`. Shown once: it cannot be recovered later. */
  key: string;
  record: ApiKeyRecord;
}

export class ApiKeyScopeError extends Error {
  override readonly name = 'ApiKeyScopeError';
}

interface ApiKeyRow {
  id: string;
  prefix: string;
  name: string;
  consumer: string;
  scopes: string[];
  created_at: Date;
  created_by: string | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  revoked_by: string | null;
}

const COLUMNS = 'id, prefix, name, consumer, scopes, created_at, created_by, expires_at, revoked_at, revoked_by';

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  if (!isConsumer(row.consumer)) throw new Error(`api key ${row.id} has unknown consumer ${row.consumer}`);
  return {
    id: row.id,
    prefix: row.prefix,
    name: row.name,
    consumer: row.consumer,
    scopes: narrowScopes(scopesForConsumer(row.consumer), row.scopes),
    createdAt: row.created_at,
    createdBy: row.created_by,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    revokedBy: row.revoked_by,
  };
}

/** API keys in `auth.api_keys` (run `migrateAuth` first). */
export class ApiKeyStore {
  constructor(
    private readonly pool: Pool,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async issue(input: IssueApiKeyInput): Promise<IssuedApiKey> {
    const allowed = scopesForConsumer(input.consumer);
    const requested = input.scopes ?? allowed;
    const outside = requested.filter((scope) => !allowed.includes(scope));
    if (outside.length > 0) throw new ApiKeyScopeError(`A ${input.consumer} key cannot carry ${outside.join(', ')}`);
    if (input.name.trim() === '') throw new ApiKeyScopeError('An API key needs a name');
    const { key, prefix, secret } = generateApiKey();
    const { rows } = await this.pool.query<ApiKeyRow>(
      `INSERT INTO auth.api_keys (id, prefix, secret_sha256, name, consumer, scopes, created_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
      [randomUUID(), prefix, hashSecret(secret), input.name, input.consumer, narrowScopes(allowed, requested), input.createdBy ?? null, input.expiresAt ?? null],
    );
    return { key, record: toRecord(rows[0]) };
  }

  /** The principal for a presented key, or `undefined` when it is malformed, unknown, wrong, revoked or expired. */
  async verify(key: string): Promise<Principal | undefined> {
    const parts = parseApiKey(key);
    if (!parts) return undefined;
    const { rows } = await this.pool.query<ApiKeyRow & { secret_sha256: Buffer }>(
      `SELECT ${COLUMNS}, secret_sha256 FROM auth.api_keys WHERE prefix = $1`,
      [parts.prefix],
    );
    const row = rows[0];
    if (!row || !secretMatches(parts.secret, row.secret_sha256)) return undefined;
    const record = toRecord(row);
    if (record.revokedAt !== null) return undefined;
    if (record.expiresAt !== null && record.expiresAt.getTime() <= this.now().getTime()) return undefined;
    return { kind: 'api-key', id: record.id, consumer: record.consumer, scopes: record.scopes };
  }

  /** True when the key was active and is now revoked; revocation takes effect on the next request. */
  async revoke(id: string, revokedBy?: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const { rowCount } = await this.pool.query(
      `UPDATE auth.api_keys SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL`,
      [id, revokedBy ?? null],
    );
    return (rowCount ?? 0) > 0;
  }

  async get(id: string): Promise<ApiKeyRecord | undefined> {
    if (!UUID.test(id)) return undefined;
    const { rows } = await this.pool.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM auth.api_keys WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async list(options: { includeRevoked?: boolean; consumer?: Consumer } = {}): Promise<ApiKeyRecord[]> {
    const { rows } = await this.pool.query<ApiKeyRow>(
      `SELECT ${COLUMNS} FROM auth.api_keys
        WHERE ($1::boolean OR revoked_at IS NULL) AND ($2::text IS NULL OR consumer = $2)
        ORDER BY created_at, id`,
      [options.includeRevoked ?? false, options.consumer ?? null],
    );
    return rows.map(toRecord);
  }
}
