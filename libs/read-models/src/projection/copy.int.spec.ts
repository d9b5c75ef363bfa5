import { Pool } from 'pg';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { BinaryCopyWriter, copyBuffers, copyField, copyRows, CopyWriter, PG_TYPE } from './copy';

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

describe('BinaryCopyWriter (COPY … FROM STDIN (FORMAT binary))', () => {
  let db: TestDatabase;
  let pool: Pool;
  const columns = ['id', 'n', 'ns', 'ts', 'bs', 'd', 'at', 'i', 't'];

  beforeAll(async () => {
    db = await createTestDatabase('copy_binary');
    pool = new Pool({ connectionString: db.url, max: 2 });
    for (const table of ['from_text', 'from_binary']) {
      await pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY, n numeric, ns numeric[], ts text[], bs boolean[], d date, at timestamptz, i int, t text)`);
    }
  });

  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  async function copyBoth(text: CopyWriter, binary: BinaryCopyWriter): Promise<void> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const rows = await copyBuffers(client, 'from_text', columns, text.take());
      expect(await copyBuffers(client, 'from_binary', columns, binary.take(), 'binary')).toBe(rows);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }

  /** Each table's rows as PostgreSQL prints them (numeric scale included). */
  const printed = async (table: string): Promise<string[]> =>
    (await pool.query<{ r: string }>(`SELECT (${table}.*)::text AS r FROM ${table} ORDER BY id`)).rows.map((row) => row.r);

  it('stores what the text format stores: numerics of any sign and scale from units or text, arrays with nulls, dates, instants, UTF-8 text', async () => {
    const text = new CopyWriter();
    const binary = new BinaryCopyWriter();
    let id = 0;
    const unitCases: [number, number][] = [
      [0, 0], [0, 3], [7, 0], [-5, 1], [125, 2], [1, 4], [1, 5], [10_000, 0], [100_000_001, 4], [1000, 3], [-1, 15],
      [9_007_199_254_740_991, 15], [-9_007_199_254_740_991, 0], [99_999_999, 4], [123_450_000, 8],
    ];
    const day = Date.UTC(2026, 9, 25) / 86_400_000;
    for (const [units, scale] of unitCases) {
      id++;
      const at = Date.UTC(1999, 11, 31, 23) + id * 3_600_001;
      text.decimal(id, 0, 0).tab().decimal(units, scale, 0).tab().text('{1,NULL,2.50}').tab().text('{A03,NULL,"a b"}').tab().text('{t,NULL,f}').tab();
      text.text(new Date((day + id) * 86_400_000).toISOString().slice(0, 10)).tab().text(new Date(at).toISOString()).tab().decimal(-id, 0, 0).tab().text('blåbær ⚡\ttab').endRow();
      binary.row(columns.length).int4(id).numeric(units, scale);
      binary.open().arrayHeader(PG_TYPE.numeric, 3, true).numeric(1, 0).nullField().numeric(250, 2).close();
      binary.open().arrayHeader(PG_TYPE.text, 3, true).text('A03').nullField().text('a b').close();
      binary.open().arrayHeader(PG_TYPE.bool, 3, true).bool(true).nullField().bool(false).close();
      binary.date(day + id).timestamptz(at).int4(-id).text('blåbær ⚡\ttab');
    }
    const texts = ['0', '0.000', '-0', '-0.00', '00012.50', '1.10', '-1.23456789', '9999.9999', '-10000.0000', '0.00000001', '100000000.0001',
      '123456789012345678901234567890.123456789012345678901234567890', `${'9'.repeat(60)}.${'0'.repeat(59)}1`];
    for (const value of texts) {
      id++;
      text.decimal(id, 0, 0).tab().text(value).tab().text(`{${value},NULL}`).tab().text(null).tab().text(null).tab().text(null).tab().text(null).tab().text(null).tab().text('').endRow();
      binary.row(columns.length).int4(id);
      expect(binary.numericText(value)).toBe(true);
      binary.open().arrayHeader(PG_TYPE.numeric, 2, true);
      expect(binary.numericText(value)).toBe(true);
      binary.nullField().close();
      binary.nullField().nullField().nullField().nullField().nullField().text('');
    }
    await copyBoth(text, binary);
    const fromText = await printed('from_text');
    expect(fromText).toHaveLength(id);
    expect(await printed('from_binary')).toEqual(fromText);
  });

  it('stores a field written across the writer’s buffers, rows in many CopyData messages', async () => {
    const text = new CopyWriter();
    const binary = new BinaryCopyWriter();
    for (let id = 1000; id < 1300; id++) {
      const long = `${id}`.repeat(1000 + id);
      text.decimal(id, 0, 0).tab().decimal(id * 1001, 3, 0).tab().text(null).tab().text(null).tab().text(null).tab().text(null).tab().text(null).tab().text(null).tab().text(long).endRow();
      binary.row(columns.length).int4(id).numeric(id * 1001, 3).nullField().nullField().nullField().nullField().nullField().nullField();
      binary.open().ascii(long.slice(0, 1000)).ascii(long.slice(1000)).close();
    }
    expect(binary.length).toBeGreaterThan(256 * 1024);
    await copyBoth(text, binary);
    expect(await printed('from_binary')).toEqual(await printed('from_text'));
  });
});
