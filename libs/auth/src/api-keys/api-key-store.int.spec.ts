import { createHash } from 'node:crypto';
import { Pool } from 'pg';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { migrateAuth } from '../migrations';
import { scopesForConsumer } from '../principal';
import { createTestApiKey } from '../testing';
import { parseApiKey } from './api-key-format';
import { ApiKeyScopeError, ApiKeyStore } from './api-key-store';

describe(`${ApiKeyStore.name} (PostgreSQL)`, () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: ApiKeyStore;

  beforeAll(async () => {
    db = await createTestDatabase('auth_keys');
    pool = new Pool({ connectionString: db.url });
    await migrateAuth(pool);
    await migrateAuth(pool); // idempotent
    store = new ApiKeyStore(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('issues a key that verifies to its consumer’s principal', async () => {
    const { key, record } = await store.issue({ name: 'e-conomic', consumer: 'erp', createdBy: 'admin-1' });
    expect(record).toMatchObject({ name: 'e-conomic', consumer: 'erp', createdBy: 'admin-1', revokedAt: null, prefix: parseApiKey(key)!.prefix });
    await expect(store.verify(key)).resolves.toEqual({ kind: 'api-key', id: record.id, consumer: 'erp', scopes: scopesForConsumer('erp') });
  });

  it('stores only the prefix and the SHA-256 of the secret', async () => {
    const { key, record } = await createTestApiKey(store, { consumer: 'payment' });
    const { secret } = parseApiKey(key)!;
    const { rows } = await pool.query<{ row: string; hash: string }>(`SELECT row_to_json(k)::text AS row, encode(secret_sha256, 'hex') AS hash FROM auth.api_keys k WHERE id = $1`, [record.id]);
    expect(rows[0].row).not.toContain(secret);
    expect(rows[0].row).not.toContain(Buffer.from(secret).toString('base64'));
    expect(rows[0].hash).toBe(createHash('sha256').update(secret).digest('hex'));
    const listed = await store.list();
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect(listed.map((k) => k.id)).toContain(record.id);
  });

  it('refuses a wrong secret with a known prefix, a malformed key and an unknown key', async () => {
    const { key } = await createTestApiKey(store);
    const { prefix, secret } = parseApiKey(key)!;
    const flipped = secret.slice(0, -1) + (secret.endsWith('0') ? '1' : '0');
    await expect(store.verify(`dhk_${prefix}_${flipped}`)).resolves.toBeUndefined();
    await expect(store.verify(key.toUpperCase())).resolves.toBeUndefined();
    await expect(store.verify(`dhk_${'0'.repeat(16)}_${secret}`)).resolves.toBeUndefined();
    await expect(store.verify(key)).resolves.toBeDefined();
  });

  it('carries narrowed scopes and refuses scopes outside the consumer', async () => {
    const { key } = await store.issue({ name: 'read only erp', consumer: 'erp', scopes: ['settlement:read'] });
    await expect(store.verify(key)).resolves.toMatchObject({ scopes: ['settlement:read'] });
    await expect(store.issue({ name: 'greedy', consumer: 'erp', scopes: ['customers:write'] })).rejects.toBeInstanceOf(ApiKeyScopeError);
  });

  it('revokes: the key stops working at once, stays listed with includeRevoked, and revoking twice reports false', async () => {
    const { key, record } = await createTestApiKey(store, { consumer: 'crm' });
    await expect(store.verify(key)).resolves.toBeDefined();
    await expect(store.revoke(record.id, 'admin-2')).resolves.toBe(true);
    await expect(store.verify(key)).resolves.toBeUndefined();
    await expect(store.revoke(record.id)).resolves.toBe(false);
    await expect(store.revoke('not-a-uuid')).resolves.toBe(false);
    expect((await store.list()).map((k) => k.id)).not.toContain(record.id);
    const all = await store.list({ includeRevoked: true, consumer: 'crm' });
    expect(all.find((k) => k.id === record.id)).toMatchObject({ revokedBy: 'admin-2' });
    expect(all.every((k) => k.consumer === 'crm')).toBe(true);
  });

  it('refuses an expired key', async () => {
    const { key } = await store.issue({ name: 'short-lived', consumer: 'payment', expiresAt: new Date(Date.now() + 60_000) });
    await expect(store.verify(key)).resolves.toBeDefined();
    await expect(new ApiKeyStore(pool, () => new Date(Date.now() + 120_000)).verify(key)).resolves.toBeUndefined();
  });
});
