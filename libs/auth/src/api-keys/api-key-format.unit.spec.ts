import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { API_KEY_PATTERN, formatApiKey, generateApiKey, hashSecret, parseApiKey, secretMatches } from './api-key-format';
import { ApiKeyScopeError, ApiKeyStore } from './api-key-store';

describe('API key format', () => {
  it('is dhk_<16 hex prefix>_<64 hex secret> (32 random bytes)', () => {
    const { key, prefix, secret } = generateApiKey();
    expect(key).toMatch(/^dhk_[0-9a-f]{16}_[0-9a-f]{64}$/);
    expect(key).toBe(`dhk_${prefix}_${secret}`);
    expect(Buffer.from(secret, 'hex')).toHaveLength(32);
  });

  it('never repeats a prefix or a secret', () => {
    const keys = Array.from({ length: 200 }, () => generateApiKey());
    expect(new Set(keys.map((k) => k.prefix)).size).toBe(200);
    expect(new Set(keys.map((k) => k.secret)).size).toBe(200);
  });

  it('parses its own keys and nothing else', () => {
    const parts = { prefix: '0123456789abcdef', secret: 'ab'.repeat(32) };
    expect(parseApiKey(formatApiKey(parts))).toEqual(parts);
    for (const bad of [
      '',
      `dhk_0123456789abcdef_${'ab'.repeat(31)}`,
      `dhk_0123456789abcdef_${'ab'.repeat(32)}0`,
      `dhk_0123456789ABCDEF_${'ab'.repeat(32)}`,
      `xyz_0123456789abcdef_${'ab'.repeat(32)}`,
      ` dhk_0123456789abcdef_${'ab'.repeat(32)}`,
      `dhk_0123456789abcdef_${'ab'.repeat(32)}\n`,
    ]) {
      expect(parseApiKey(bad)).toBeUndefined();
    }
    expect(API_KEY_PATTERN.test(formatApiKey(parts))).toBe(true);
  });

  it('hashes the secret with SHA-256 and compares against the digest only', () => {
    const { secret } = generateApiKey();
    const digest = hashSecret(secret);
    expect(digest.toString('hex')).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(secretMatches(secret, digest)).toBe(true);
    expect(secretMatches(secret.replace(/.$/, (c) => (c === '0' ? '1' : '0')), digest)).toBe(false);
    expect(secretMatches(secret, Buffer.alloc(16))).toBe(false);
  });
});

describe('ApiKeyStore.issue (hash-only storage)', () => {
  function fakePool() {
    const calls: { sql: string; params: unknown[] }[] = [];
    const pool = {
      query: async (sql: string, params: unknown[]) => {
        calls.push({ sql, params });
        const [id, prefix, , name, consumer, scopes, createdBy, expiresAt] = params;
        return { rows: [{ id, prefix, name, consumer, scopes, created_at: new Date(), created_by: createdBy, expires_at: expiresAt, revoked_at: null, revoked_by: null }] };
      },
    };
    return { pool: pool as unknown as Pool, calls };
  }

  it('sends only the prefix and the SHA-256 of the secret to the database, and returns the clear key once', async () => {
    const { pool, calls } = fakePool();
    const issued = await new ApiKeyStore(pool).issue({ name: 'e-conomic', consumer: 'erp' });
    const parts = parseApiKey(issued.key)!;
    expect(parts).toBeDefined();
    expect(calls).toHaveLength(1);
    const serialised = JSON.stringify(calls[0].params.map((p) => (Buffer.isBuffer(p) ? `<buffer ${p.toString('hex')}>` : p)));
    expect(serialised).not.toContain(parts.secret);
    expect(serialised).not.toContain(issued.key);
    expect(calls[0].params).toContainEqual(hashSecret(parts.secret));
    expect(calls[0].params).toContain(parts.prefix);
    expect(JSON.stringify(issued.record)).not.toContain(parts.secret);
    expect(issued.record.scopes).toEqual(['settlement:read', 'settlement:export', 'payments:read', 'payments:write', 'balance:read', 'webhooks:manage', 'reconciliation:read']);
  });

  it('refuses scopes outside the consumer’s defaults', async () => {
    const { pool, calls } = fakePool();
    await expect(new ApiKeyStore(pool).issue({ name: 'pay', consumer: 'payment', scopes: ['payments:write', 'customers:write'] })).rejects.toThrow(ApiKeyScopeError);
    expect(calls).toHaveLength(0);
  });
});
