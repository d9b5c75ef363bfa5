import { createHmac } from 'node:crypto';
import { Pool } from 'pg';
import { createPostgresEventStore, eventRedactionOf, withUpcasting, type EventRedaction, type EventStore } from '@dh/event-store';
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
  let redaction: EventRedaction | null;
  let vault: PiiVault;

  beforeAll(async () => {
    db = await createTestDatabase('erasure_recovery');
    pool = new Pool({ connectionString: db.url, max: 4 });
    const raw = await createPostgresEventStore({ pool });
    redaction = eventRedactionOf(raw);
    store = withUpcasting(raw, PORTFOLIO_EVENT_SCHEMAS);
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

  /** A customer as version 1 of CustomerCreated recorded it: the keyed CPR index (old scheme) inside the event. */
  async function appendVersion1Customer(customerId: string, cpr: string): Promise<string> {
    const oldIndexKey = createHmac('sha256', MASTER_KEY).update('blind-index').digest();
    const identityIndex = createHmac('sha256', oldIndexKey).update(`cpr:${cpr}`).digest('hex');
    await store.appendToStream(
      `customer-${customerId}`,
      [
        {
          eventId: '10000000-0000-4000-8000-000000000001',
          type: 'CustomerCreated',
          data: { customerId, customerType: 'private', personalData: await vault.encrypt(customerId, { name: 'Vera Version', cpr }), identityIndex },
          metadata: { correlationId: 'c-v1', causationId: null, actor: 'crm', schemaVersion: 1, context: 'portfolio' },
          occurredAt: new Date('2025-06-01T10:00:00Z'),
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    return identityIndex;
  }

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

    await erasePersonalData({ store, vault, redaction, clock: () => new Date('2026-11-01T10:00:00Z') }, customerId, { correlationId: 'c-2', causationId: null, actor: 'staff:dpo' });

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

  it('removes the index from a customer recorded by CustomerCreated version 1 (in the event itself), and an erasure again finds nothing left', async () => {
    const customerId = '00000000-0000-4000-8000-000000000071';
    const v1Cpr = `${CPR.slice(0, 6)}${String(Number(CPR.slice(6)) + 7).padStart(4, '0')}`;
    const identityIndex = await appendVersion1Customer(customerId, v1Cpr);
    const hashes = await candidateHashes();
    const before = await pool.query<{ data: string }>(`SELECT data::text AS data FROM event_store.events WHERE stream_id = $1`, [`customer-${customerId}`]);
    expect(found(before.rows.map((r) => r.data).join('\n'), hashes)).toEqual([v1Cpr]);
    expect(before.rows[0]!.data).toContain(identityIndex);

    const context = { correlationId: 'c-3', causationId: null, actor: 'staff:dpo' };
    await erasePersonalData({ store, vault, redaction, clock: () => new Date('2026-11-02T10:00:00Z') }, customerId, context);

    expect(found(await everything(), hashes)).toEqual([]);
    const [created] = await store.readStream(`customer-${customerId}`, { maxCount: 1 });
    // The event is the same event (id, revision, the sealed data), only without the index.
    expect(created).toMatchObject({ eventId: '10000000-0000-4000-8000-000000000001', streamRevision: 0n, type: 'CustomerCreated' });
    expect(Object.keys(created!.data).sort()).toEqual(['customerId', 'customerType', 'personalData']);
    await expect(vault.decrypt(customerId, String(created!.data.personalData))).rejects.toBeInstanceOf(PersonalDataErasedError);
    // Idempotent: the second erasure answers the first and changes nothing more.
    expect(await erasePersonalData({ store, vault, redaction, clock: () => new Date('2026-11-03T10:00:00Z') }, customerId, context)).toMatchObject({ alreadyErased: true, erasedAt: '2026-11-02T10:00:00.000Z' });
    expect(await redaction!.removeEventDataFields(`customer-${customerId}`, 'CustomerCreated', ['identityIndex'])).toBe(0);
  });
});
