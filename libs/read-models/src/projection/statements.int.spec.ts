import { Pool } from 'pg';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { runGroupsTogether } from './statements';

describe('runGroupsTogether (groups of statements, one transaction each, one round trip)', () => {
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase('statement_groups');
    pool = new Pool({ connectionString: db.url, max: 2 });
  });

  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  const tables = async () => (await pool.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map((r) => r.name);

  it('commits each group in turn and reports it while the later groups still run, with the settings of each transaction', async () => {
    const client = await pool.connect();
    const seen: { group: number; others: Promise<string[]> }[] = [];
    try {
      await runGroupsTogether(
        client,
        [
          ['CREATE TABLE first_group (id int PRIMARY KEY)', "INSERT INTO first_group VALUES (1)"],
          // Runs after the report of the first group's commit has been sent: sleeps so the report arrives first.
          ['SELECT pg_sleep(0.3)', 'CREATE TABLE second_group (id int PRIMARY KEY, note text)', "INSERT INTO second_group SELECT 1, current_setting('synchronous_commit')"],
        ],
        ['SET LOCAL synchronous_commit = off'],
        // What another connection sees when a group is reported.
        (group) => seen.push({ group, others: tables() }),
      );
      expect(seen.map((s) => s.group)).toEqual([0, 1]);
      // The first report came while the second group slept: the first table was committed, the second not there yet.
      expect(await seen[0].others).toEqual(['first_group']);
      expect(await seen[1].others).toEqual(['first_group', 'second_group']);
      expect((await client.query<{ note: string }>('SELECT note FROM second_group')).rows).toEqual([{ note: 'off' }]);
      expect((await client.query<{ s: string }>(`SELECT current_setting('synchronous_commit') AS s`)).rows[0].s).toBe('on');
    } finally {
      client.release();
    }
  });

  it('keeps the groups committed before a failure, rolls back the failing one, skips the rest, and leaves the connection usable', async () => {
    const client = await pool.connect();
    const committed: number[] = [];
    try {
      await expect(
        runGroupsTogether(
          client,
          [['CREATE TABLE kept (id int)'], ['CREATE TABLE rolled_back (id int)', 'SELECT 1/0'], ['CREATE TABLE never (id int)']],
          [],
          (group) => committed.push(group),
        ),
      ).rejects.toThrow('division by zero');
      expect(committed).toEqual([0]);
      expect((await client.query<{ ok: number }>('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      client.release();
    }
    const names = await tables();
    expect(names).toContain('kept');
    expect(names).not.toContain('rolled_back');
    expect(names).not.toContain('never');
  });

  it('returns without a callback for the commits', async () => {
    const client = await pool.connect();
    try {
      await runGroupsTogether(client, [['CREATE TABLE uncounted (id int)'], ['CREATE TABLE uncounted_too (id int)']]);
    } finally {
      client.release();
    }
    expect(await tables()).toEqual(expect.arrayContaining(['uncounted', 'uncounted_too']));
  }, 10_000);
});
