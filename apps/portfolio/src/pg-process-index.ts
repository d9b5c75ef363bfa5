import type { Pool, PoolClient } from 'pg';
import type { ProcessIndex } from '@dh/portfolio-application';

export const PROCESS_INDEX_SCHEMA = 'portfolio';

export async function migrateProcessIndex(pool: Pool, schema = PROCESS_INDEX_SCHEMA): Promise<void> {
  await pool.query(`
    CREATE SCHEMA IF NOT EXISTS ${schema};
    CREATE TABLE IF NOT EXISTS ${schema}.process_index (
      gsrn text NOT NULL,
      process_id text NOT NULL,
      PRIMARY KEY (gsrn, process_id)
    );`);
}

/** The process manager's GSRN → processes index, written in the inbox transaction of the event that taught it. */
export class PgProcessIndex implements ProcessIndex {
  constructor(
    private readonly tx: PoolClient,
    private readonly schema = PROCESS_INDEX_SCHEMA,
  ) {}

  async add(entry: { gsrn: string; processId: string }): Promise<void> {
    await this.tx.query(`INSERT INTO ${this.schema}.process_index (gsrn, process_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [entry.gsrn, entry.processId]);
  }

  async processIdsFor(gsrn: string): Promise<string[]> {
    const { rows } = await this.tx.query<{ process_id: string }>(`SELECT process_id FROM ${this.schema}.process_index WHERE gsrn = $1 ORDER BY process_id`, [gsrn]);
    return rows.map((r) => r.process_id);
  }
}
