import { Pool } from 'pg';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { migrateAuth } from '../migrations';
import { AuditInputError, AuditLog } from './audit-log';

describe(`${AuditLog.name} (PostgreSQL)`, () => {
  let db: TestDatabase;
  let pool: Pool;
  let log: AuditLog;
  const staff = { id: 'emp-1', kind: 'staff' as const, roles: ['support' as const] };

  beforeAll(async () => {
    db = await createTestDatabase('auth_audit');
    pool = new Pool({ connectionString: db.url });
    await migrateAuth(pool);
    log = new AuditLog(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('records who, what, when, why and the outcome, and finds it again', async () => {
    const before = new Date(Date.now() - 1000);
    const entry = await log.record({ actor: staff, action: 'customer.read', subjectType: 'customer', subjectId: 'c-1', purpose: 'phone call about invoice', requestId: 'r-1', outcome: 'success', status: 200 });
    expect(entry).toMatchObject({ actorId: 'emp-1', actorKind: 'staff', actorRoles: ['support'], action: 'customer.read', subjectId: 'c-1', purpose: 'phone call about invoice', requestId: 'r-1', outcome: 'success', status: 200 });
    expect(entry.at.getTime()).toBeGreaterThan(before.getTime());
    await log.record({ actor: { id: 'emp-2', kind: 'staff', roles: ['admin'] }, action: 'customer.read', subjectType: 'customer', subjectId: 'c-2', purpose: 'x', outcome: 'not-found', status: 404 });
    expect((await log.query({ subjectId: 'c-1' })).map((e) => e.id)).toEqual([entry.id]);
    expect((await log.query({ actorId: 'emp-2' })).map((e) => e.outcome)).toEqual(['not-found']);
    expect(await log.query({ from: new Date(Date.now() + 60_000) })).toEqual([]);
    expect((await log.query({ action: 'customer.read', limit: 1 })).length).toBe(1);
  });

  it('masks CPR numbers and e-mail addresses in free text', async () => {
    const entry = await log.record({ actor: staff, action: 'customer.read', subjectType: 'customer', subjectId: '0101901234', purpose: 'caller 010190-1234 (anna@example.dk) asked', outcome: 'success' });
    const { rows } = await pool.query<{ row: string }>('SELECT row_to_json(e)::text AS row FROM audit.entries e WHERE id = $1', [entry.id]);
    expect(rows[0].row).not.toMatch(/1234/);
    expect(rows[0].row).not.toContain('anna@');
    expect(entry.purpose).toBe('caller 010190-XXXX (a***@example.dk) asked');
  });

  it('refuses actions and subject types that are not identifiers (no personal data smuggled in)', async () => {
    await expect(log.record({ actor: staff, action: 'read Anna Hansen', subjectType: 'customer', outcome: 'success' })).rejects.toBeInstanceOf(AuditInputError);
    await expect(log.record({ actor: staff, action: 'customer.read', subjectType: 'Customer 010190-1234', outcome: 'success' })).rejects.toBeInstanceOf(AuditInputError);
  });

  it('is append-only: UPDATE, DELETE and TRUNCATE are refused by the database', async () => {
    const entry = await log.record({ actor: staff, action: 'customer.read', subjectType: 'customer', subjectId: 'c-9', purpose: 'p', outcome: 'success' });
    await expect(pool.query(`UPDATE audit.entries SET purpose = 'changed' WHERE id = $1`, [entry.id])).rejects.toThrow(/append-only/);
    await expect(pool.query(`DELETE FROM audit.entries WHERE id = $1`, [entry.id])).rejects.toThrow(/append-only/);
    await expect(pool.query(`TRUNCATE audit.entries`)).rejects.toThrow(/append-only/);
    expect((await log.query({ subjectId: 'c-9' }))[0].purpose).toBe('p');
  });
});
