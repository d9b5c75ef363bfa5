import { createHmac } from 'node:crypto';
import { Pool } from 'pg';
import { createPostgresEventStore, withUpcasting, type EventStore } from '@dh/event-store';
import { MasterKeys, open, PersonalDataErasedError, PiiVault } from '@dh/platform';
import { createCustomer, PORTFOLIO_EVENT_SCHEMAS } from '@dh/portfolio-application';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { erasePersonalData } from './erase-personal-data';

/**
 * An attacker who holds everything we hold (the database and the master key) tries to get an erased
 * customer's CPR back. Before the erasure the search must find the index (so the search works);
 * after it, neither the CPR, nor its keyed hash for any candidate CPR, nor the sealed data opens.
 */
describe('erasure leaves no way back to the CPR', () => {
  const MASTER_KEY = Buffer.alloc(32, 5);
  const CPR = '0502851237';
  let db: TestDatabase;
  let pool: Pool;
  let store: EventStore;
  let vault: PiiVault;

  beforeAll(async () => {
    db = await createTestDatabase('erasure_recovery');
    pool = new Pool({ connectionString: db.url, max: 4 });
    store = withUpcasting(await createPostgresEventStore({ pool }), PORTFOLIO_EVENT_SCHEMAS);
    vault = new PiiVault(pool, MASTER_KEY);
    await vault.migrate();
  });
  afterAll(async () => {
    await store?.close();
    await pool?.end();
    await db?.drop();
  });

  /** Every row of every table of every schema we own, as text. */
  async function everything(): Promise<string> {
    const { rows: tables } = await pool.query<{ schema: string; name: string }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
       WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
    );
    const parts: string[] = [];
    for (const t of tables) {
      const { rows } = await pool.query<{ row: string }>(`SELECT t::text AS row FROM "${t.schema}"."${t.name}" t`);
      parts.push(...rows.map((r) => r.row));
    }
    return parts.join('\n');
  }

  /** The attacker's dictionary: the keyed hash of CPR candidates (here a window around the real one), under the unwrapped index key. */
  async function candidateHashes(): Promise<Map<string, string>> {
    const { rows } = await pool.query<{ wrapped_key: string; master_key_id: string }>(`SELECT wrapped_key, master_key_id FROM pii.vault_keys WHERE name = 'identity-index'`);
    const indexKey = new MasterKeys(MASTER_KEY).unwrap(rows[0]!.wrapped_key, 'vault:identity-index', rows[0]!.master_key_id);
    // The old scheme too: an HMAC key derived from the master key, as events of schema version 1 used.
    const oldIndexKey = createHmac('sha256', MASTER_KEY).update('blind-index').digest();
    const hashes = new Map<string, string>();
    const base = Number(CPR.slice(6));
    for (let serial = Math.max(0, base - 500); serial <= Math.min(9999, base + 500); serial++) {
      const candidate = `${CPR.slice(0, 6)}${String(serial).padStart(4, '0')}`;
      hashes.set(createHmac('sha256', indexKey).update(`cpr:${candidate}`).digest('hex'), candidate);
      hashes.set(createHmac('sha256', oldIndexKey).update(`cpr:${candidate}`).digest('hex'), candidate);
    }
    return hashes;
  }

  const found = (dump: string, hashes: Map<string, string>): string[] => [...hashes.keys()].filter((h) => dump.includes(h)).map((h) => hashes.get(h)!);

  // The customers read model holds what CustomerCreated holds (read-models' upcasting test shows no hash survives there).
  it('keeps the identity index out of events, and deletes it with the key', async () => {
    const context = { correlationId: 'c-1', causationId: null, actor: 'crm', now: new Date('2026-10-01T10:00:00Z') };
    const { customerId } = await createCustomer({ store, protector: vault }, { name: 'Anna Hansen', email: 'anna@example.dk', customerType: 'private', cpr: `${CPR.slice(0, 6)}-${CPR.slice(6)}` }, context);

    const hashes = await candidateHashes();
    const before = await everything();
    expect(found(before, hashes)).toEqual([CPR]);
    const { rows: indexRows } = await pool.query(`SELECT 1 FROM pii.identity_index WHERE subject_id = $1`, [customerId]);
    expect(indexRows).toHaveLength(1);
    const { rows: eventRows } = await pool.query<{ data: string }>(`SELECT data::text AS data FROM event_store.events`);
    expect(found(eventRows.map((r) => r.data).join('\n'), hashes)).toEqual([]);
    expect(before).not.toContain(CPR);

    await erasePersonalData({ store, vault, clock: () => new Date('2026-11-01T10:00:00Z') }, customerId, { correlationId: 'c-2', causationId: null, actor: 'staff:dpo' });

    const after = await everything();
    expect(found(after, hashes)).toEqual([]);
    expect(after).not.toContain(CPR);
    expect(after).not.toContain(`${CPR.slice(0, 6)}-${CPR.slice(6)}`);
    // The sealed personal data is still in the event (bookkeeping, rebuilds) and opens for nobody.
    const [created] = await store.readStream(`customer-${customerId}`, { maxCount: 1 });
    const sealed = String(created!.data.personalData);
    await expect(new PiiVault(pool, MASTER_KEY).decrypt(customerId, sealed)).rejects.toBeInstanceOf(PersonalDataErasedError);
    const { rows: keyRows } = await pool.query<{ wrapped_key: string | null }>(`SELECT wrapped_key FROM pii.subject_keys WHERE subject_id = $1`, [customerId]);
    expect(keyRows[0]!.wrapped_key).toBeNull();
    expect(() => open(MASTER_KEY, sealed, customerId)).toThrow();
  });
});
