import { Pool } from 'pg';
import { ApiKeyStore } from '@dh/auth';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { runApiKeysCli, UsageError } from './api-keys-cli';

describe('api-keys CLI', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('apikeys');
  });
  afterAll(() => db.drop());

  it('issues a key shown once, lists it without the secret, and revokes it', async () => {
    const lines: string[] = [];
    const env = { DATABASE_URL: db.url };
    await runApiKeysCli(['issue', '--consumer', 'erp', '--name', 'e-conomic'], env, (l) => lines.push(l));
    const key = /key \(shown once, store it now\): (\S+)/.exec(lines.join('\n'))?.[1];
    const id = /issued key (\S+) for erp/.exec(lines[0])?.[1];
    expect(key).toMatch(/^dhk_/);
    const pool = new Pool({ connectionString: db.url });
    try {
      expect(await new ApiKeyStore(pool).verify(key!)).toMatchObject({ kind: 'api-key', consumer: 'erp' });
      lines.length = 0;
      await runApiKeysCli(['list'], env, (l) => lines.push(l));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('e-conomic');
      expect(lines[0]).not.toContain(key!.split('_')[2]);
      await runApiKeysCli(['revoke', id!], env, (l) => lines.push(l));
      expect(await new ApiKeyStore(pool).verify(key!)).toBeUndefined();
    } finally {
      await pool.end();
    }
  });

  it('refuses unknown consumers and scopes with the usage', async () => {
    await expect(runApiKeysCli(['issue', '--consumer', 'bank', '--name', 'x'], { DATABASE_URL: db.url }, () => undefined)).rejects.toBeInstanceOf(UsageError);
    await expect(runApiKeysCli(['issue', '--consumer', 'crm', '--name', 'x', '--scopes', 'everything'], { DATABASE_URL: db.url }, () => undefined)).rejects.toThrow('unknown scope(s): everything');
  });
});
