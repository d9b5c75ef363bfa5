import { Pool } from 'pg';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { copyField, copyRows } from './copy';

describe('copyRows (COPY … FROM STDIN)', () => {
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase('copy_rows');
    pool = new Pool({ connectionString: db.url, max: 2 });
    await pool.query(`CREATE TABLE copied (id int PRIMARY KEY, label text, at timestamptz, quantity numeric)`);
  });

  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('writes every row, in chunks, with escaped text, nulls, instants and exact decimals as they were', async () => {
    const labels = ['tab\there', 'line\nbreak', 'back\\slash', 'carriage\rreturn', null, 'plain'];
    function* rows(): Generator<string> {
      for (let id = 1; id <= 5000; id++) {
        const at = new Date(Date.UTC(2026, 2, 29, 0, 0) + id * 900_000).toISOString();
        yield [String(id), copyField(labels[id % labels.length]), at, copyField(id % 7 === 0 ? null : `${id}.125`)].join('\t');
      }
    }
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      expect(await copyRows(client, 'copied', ['id', 'label', 'at', 'quantity'], rows())).toBe(5000);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const { rows: stored } = await pool.query<{ id: number; label: string | null; at: Date; quantity: string | null }>(
      `SELECT id, label, at, quantity::text AS quantity FROM copied WHERE id IN (1, 2, 3, 4, 5, 6, 7, 5000) ORDER BY id`,
    );
    expect(stored.map((r) => r.label)).toEqual(['line\nbreak', 'back\\slash', 'carriage\rreturn', null, 'plain', 'tab\there', 'line\nbreak', 'back\\slash']);
    expect(stored[0].at.toISOString()).toBe('2026-03-29T00:15:00.000Z');
    expect(stored[6].quantity).toBeNull();
    expect(stored[7].quantity).toBe('5000.125');
    expect((await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM copied')).rows[0].n).toBe('5000');
  });

  it('rejects with the server error (a key already there) and leaves the connection usable', async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await expect(copyRows(client, 'copied', ['id', 'label'], ['9001\tnew', '1\tduplicate'])).rejects.toThrow(/duplicate key/);
      await client.query('ROLLBACK');
      expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      client.release();
    }
    expect((await pool.query('SELECT 1 FROM copied WHERE id = 9001')).rowCount).toBe(0);
  });

  it('rejects a statement the server refuses before any data is sent', async () => {
    const client = await pool.connect();
    try {
      await expect(copyRows(client, 'no_such_table', ['id'], ['1'])).rejects.toThrow(/no_such_table/);
      expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      client.release();
    }
  });
});
