import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { Pool } from 'pg';

/**
 * Personal data (CPR, names, addresses, e-mail) is encrypted per data subject with AES-256-GCM.
 * Each subject has its own random data key, stored wrapped by the master key. Erasing a subject
 * (GDPR) destroys its key: events and read models keep their ciphertext for bookkeeping and
 * rebuilds, but nobody can read the person any more ("crypto-shredding").
 */

const VERSION = 'v1';

export class PersonalDataErasedError extends Error {
  override readonly name = 'PersonalDataErasedError';
  constructor(readonly subjectId: string) {
    super(`Personal data of subject ${subjectId} has been erased`);
  }
}

function seal(key: Buffer, plaintext: Buffer, aad: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join('.');
}

function open(key: Buffer, sealed: string, aad: string): Buffer {
  const [version, iv, tag, body] = sealed.split('.');
  if (version !== VERSION || !iv || !tag || body === undefined) throw new Error('Not a sealed personal-data value');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]);
}

/**
 * Subject keys are cached briefly: an erasure made by another process (another replica) takes
 * effect here within this time.
 */
export const SUBJECT_KEY_CACHE_MS = 30_000;

export class PiiVault {
  private readonly keys = new Map<string, { key: Buffer; until: number }>();
  private readonly indexKey: Buffer;

  constructor(
    private readonly pool: Pool,
    private readonly masterKey: Buffer,
    private readonly schema = 'pii',
    private readonly cacheMs = SUBJECT_KEY_CACHE_MS,
  ) {
    if (masterKey.length !== 32) throw new Error('PII master key must be 32 bytes');
    this.indexKey = createHmac('sha256', masterKey).update('blind-index').digest();
  }

  async migrate(): Promise<void> {
    await this.pool.query(`
      CREATE SCHEMA IF NOT EXISTS ${this.schema};
      CREATE TABLE IF NOT EXISTS ${this.schema}.subject_keys (
        subject_id text PRIMARY KEY,
        wrapped_key text,
        created_at timestamptz NOT NULL DEFAULT now(),
        erased_at timestamptz
      );`);
  }

  /** A keyed hash for equality lookups (find a customer by CPR) without storing the value. */
  blindIndex(value: string): string {
    return createHmac('sha256', this.indexKey).update(value).digest('hex');
  }

  async encrypt(subjectId: string, value: Record<string, string | null>): Promise<string> {
    const key = await this.subjectKey(subjectId, true);
    return seal(key, Buffer.from(JSON.stringify(value)), subjectId);
  }

  async decrypt(subjectId: string, sealed: string): Promise<Record<string, string | null>> {
    const key = await this.subjectKey(subjectId, false);
    return JSON.parse(open(key, sealed, subjectId).toString('utf8')) as Record<string, string | null>;
  }

  async erase(subjectId: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.schema}.subject_keys (subject_id, wrapped_key, erased_at) VALUES ($1, NULL, now())
       ON CONFLICT (subject_id) DO UPDATE SET wrapped_key = NULL, erased_at = now()`,
      [subjectId],
    );
    this.keys.delete(subjectId);
  }

  private async subjectKey(subjectId: string, create: boolean): Promise<Buffer> {
    const cached = this.keys.get(subjectId);
    if (cached && cached.until > Date.now()) return cached.key;
    if (create) {
      const candidate = randomBytes(32);
      await this.pool.query(
        `INSERT INTO ${this.schema}.subject_keys (subject_id, wrapped_key) VALUES ($1, $2) ON CONFLICT (subject_id) DO NOTHING`,
        [subjectId, seal(this.masterKey, candidate, `key:${subjectId}`)],
      );
    }
    const { rows } = await this.pool.query<{ wrapped_key: string | null; erased_at: Date | null }>(
      `SELECT wrapped_key, erased_at FROM ${this.schema}.subject_keys WHERE subject_id = $1`,
      [subjectId],
    );
    const row = rows[0];
    if (!row || row.wrapped_key === null) throw new PersonalDataErasedError(subjectId);
    const key = open(this.masterKey, row.wrapped_key, `key:${subjectId}`);
    this.keys.set(subjectId, { key, until: Date.now() + this.cacheMs });
    return key;
  }
}
