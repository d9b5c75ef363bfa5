import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { MasterKeys, PersonalDataErasedError, PiiVault } from '@dh/platform';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { SecretBox, WebhookStore } from '@dh/webhooks';
import { runRotateMasterKey, UsageError } from './rotate-master-key';

describe('rotate-master-key', () => {
  let db: TestDatabase;
  let pool: Pool;
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const SUBJECTS = 250;
  const sealed = new Map<string, string>();
  let webhookId: string;
  let webhookSecret: string;

  beforeAll(async () => {
    db = await createTestDatabase('rotate_key');
    pool = new Pool({ connectionString: db.url, max: 4 });
    const before = new PiiVault(pool, oldKey);
    await before.migrate();
    for (let i = 0; i < SUBJECTS; i++) {
      const id = randomUUID();
      sealed.set(id, await before.encrypt(id, { name: `Kunde ${i}`, cpr: '0101901234' }));
    }
    await before.registerIdentity([...sealed.keys()][0]!, 'cpr:0101901234');
    await before.erase([...sealed.keys()][1]!);
    const webhooks = new WebhookStore(pool, { masterKey: oldKey, policy: { allowLoopback: true, allowedNetworks: [] } });
    await webhooks.migrate();
    const registered = await webhooks.register('consumer:erp', { url: 'http://127.0.0.1:9/hooks', eventTypes: ['*'] });
    webhookId = registered.subscription.id;
    webhookSecret = registered.secret;
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  const env = () => ({ DATABASE_URL: db.url, PII_MASTER_KEY: newKey.toString('base64'), PII_PREVIOUS_MASTER_KEYS: oldKey.toString('base64') });

  it('refuses to run without a previous key to rotate away from', async () => {
    await expect(runRotateMasterKey([], { DATABASE_URL: db.url, PII_MASTER_KEY: newKey.toString('base64') }, () => undefined)).rejects.toBeInstanceOf(UsageError);
  });

  it('re-wraps every data key, the identity index key and the webhook secrets under the new key, in batches, and a second run finds nothing left', async () => {
    const lines: string[] = [];
    const results = await runRotateMasterKey(['--batch-size', '100'], env(), (l) => lines.push(l));
    // 250 subjects, one erased (no key left to wrap): 249 in three batches of at most 100.
    expect(results.map((r) => [r.table, r.rewrapped, r.batches])).toEqual([
      ['pii.subject_keys', SUBJECTS - 1, 3],
      ['pii.vault_keys', 1, 1],
      ['webhooks.subscriptions', 1, 1],
    ]);
    expect(lines.at(-1)).toMatch(/PII_PREVIOUS_MASTER_KEYS can be removed/);

    // Only the new key from now on: everything opens, the erased subject stays erased, the index still finds.
    const after = new PiiVault(pool, new MasterKeys(newKey));
    const [first, erased, ...rest] = [...sealed.entries()];
    expect(await after.decrypt(first![0], first![1])).toEqual({ name: 'Kunde 0', cpr: '0101901234' });
    for (const [id, value] of rest) expect((await after.decrypt(id, value)).cpr).toBe('0101901234');
    await expect(after.decrypt(erased![0], erased![1])).rejects.toBeInstanceOf(PersonalDataErasedError);
    expect(await after.subjectsWithIdentity('cpr:0101901234')).toEqual([first![0]]);
    const { rows } = await pool.query<{ secret_sealed: Buffer }>(`SELECT secret_sealed FROM webhooks.subscriptions WHERE id = $1`, [webhookId]);
    expect(new SecretBox(newKey).open(rows[0]!.secret_sealed, webhookId)).toBe(webhookSecret);

    // The old key alone opens nothing any more.
    await expect(new PiiVault(pool, new MasterKeys(oldKey)).decrypt(first![0], first![1])).rejects.toThrow();
    expect(() => new SecretBox(oldKey).open(rows[0]!.secret_sealed, webhookId)).toThrow();

    const again = await runRotateMasterKey([], env(), () => undefined);
    expect(again.map((r) => r.rewrapped)).toEqual([0, 0, 0]);
  });
});
