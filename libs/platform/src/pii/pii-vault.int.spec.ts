import { Pool } from 'pg';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, TestDatabase } from '@dh/testing';
import { PersonalDataErasedError, PiiVault } from './pii-vault';

describe(PiiVault.name, () => {
  let db: TestDatabase;
  let pool: Pool;
  const masterKey = randomBytes(32);

  beforeAll(async () => {
    db = await createTestDatabase('pii');
    pool = new Pool({ connectionString: db.url });
    await new PiiVault(pool, masterKey).migrate();
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('round-trips personal data and never stores it in clear', async () => {
    const sut = new PiiVault(pool, masterKey);
    const sealed = await sut.encrypt('customer-1', { name: 'Anna Hansen', cpr: '0101901234' });
    expect(sealed).not.toContain('Anna');
    expect(sealed).not.toContain('0101901234');
    expect(await new PiiVault(pool, masterKey).decrypt('customer-1', sealed)).toEqual({ name: 'Anna Hansen', cpr: '0101901234' });
  });

  it('cannot open one subject’s data with another subject’s key', async () => {
    const sut = new PiiVault(pool, masterKey);
    const sealed = await sut.encrypt('customer-2', { name: 'Bo' });
    await sut.encrypt('customer-3', { name: 'Carl' });
    await expect(sut.decrypt('customer-3', sealed)).rejects.toThrow();
  });

  it('erases a subject by destroying its key', async () => {
    const sut = new PiiVault(pool, masterKey);
    const sealed = await sut.encrypt('customer-4', { name: 'Dorte' });
    await sut.erase('customer-4');
    await expect(new PiiVault(pool, masterKey).decrypt('customer-4', sealed)).rejects.toBeInstanceOf(PersonalDataErasedError);
    await expect(sut.decrypt('customer-4', sealed)).rejects.toBeInstanceOf(PersonalDataErasedError);
  });

  it('finds subjects by CPR through a keyed index that the erasure deletes with the key', async () => {
    const sut = new PiiVault(pool, masterKey);
    await sut.encrypt('customer-6', { cpr: '0101901234' });
    await sut.registerIdentity('customer-6', 'cpr:0101901234');
    expect(await new PiiVault(pool, masterKey).subjectsWithIdentity('cpr:0101901234')).toEqual(['customer-6']);
    expect(await sut.subjectsWithIdentity('cpr:0101901235')).toEqual([]);
    const { rows } = await pool.query<{ index_hash: string }>(`SELECT index_hash FROM pii.identity_index WHERE subject_id = 'customer-6'`);
    expect(rows[0]!.index_hash).not.toContain('0101901234');

    await sut.erase('customer-6');
    expect(await sut.subjectsWithIdentity('cpr:0101901234')).toEqual([]);
    expect((await pool.query(`SELECT 1 FROM pii.identity_index WHERE subject_id = 'customer-6'`)).rowCount).toBe(0);
  });

  it('finds subjects by every word of a name through keyed hashes, replaced on rename and deleted on erasure', async () => {
    const sut = new PiiVault(pool, masterKey);
    await sut.encrypt('customer-8', { name: 'Anna Hansen' });
    await sut.encrypt('customer-9', { name: 'Anna Holm' });
    await sut.registerSearchTerms('customer-8', 'name', ['anna', 'hansen']);
    await sut.registerSearchTerms('customer-9', 'name', ['anna', 'holm']);
    expect(await sut.subjectsWithSearchTerms('name', ['anna'])).toEqual(['customer-8', 'customer-9']);
    expect(await sut.subjectsWithSearchTerms('name', ['hansen', 'anna'])).toEqual(['customer-8']);
    expect(await sut.subjectsWithSearchTerms('name', [])).toEqual([]);
    const { rows } = await pool.query<{ term_hash: string }>(`SELECT term_hash FROM pii.search_terms WHERE subject_id = 'customer-8'`);
    expect(rows.map((r) => r.term_hash).join()).not.toContain('hansen');

    await sut.registerSearchTerms('customer-8', 'name', ['anna', 'berg']);
    expect(await sut.subjectsWithSearchTerms('name', ['hansen'])).toEqual([]);
    await sut.erase('customer-9');
    expect(await sut.subjectsWithSearchTerms('name', ['anna'])).toEqual(['customer-8']);
    expect((await pool.query(`SELECT 1 FROM pii.search_terms WHERE subject_id = 'customer-9'`)).rowCount).toBe(0);
  });

  it('refuses a sealed value whose GCM tag was shortened (tag length pinned to 16 bytes)', async () => {
    const sut = new PiiVault(pool, masterKey);
    const sealed = await sut.encrypt('customer-7', { name: 'Frida' });
    const [version, iv, tag, body] = sealed.split('.');
    const shortTag = Buffer.from(tag!, 'base64').subarray(0, 4).toString('base64');
    await expect(sut.decrypt('customer-7', [version, iv, shortTag, body].join('.'))).rejects.toThrow(/tag/);
  });

  it('stops decrypting an erased subject in another process once its cached key expires', async () => {
    const replicaA = new PiiVault(pool, masterKey, 'pii', 50);
    const replicaB = new PiiVault(pool, masterKey, 'pii', 50);
    const sealed = await replicaA.encrypt('customer-5', { name: 'Erik' });
    expect(await replicaB.decrypt('customer-5', sealed)).toEqual({ name: 'Erik' });
    await replicaA.erase('customer-5');
    await new Promise((resolve) => setTimeout(resolve, 80));
    await expect(replicaB.decrypt('customer-5', sealed)).rejects.toBeInstanceOf(PersonalDataErasedError);
  });
});
