import type { Pool, PoolClient } from 'pg';
import type { AwaitingEffectiveDate, AwaitingEffectiveDates, ProcessIndex } from '@dh/portfolio-application';

export const PROCESS_INDEX_SCHEMA = 'portfolio';

export async function migrateProcessIndex(pool: Pool, schema = PROCESS_INDEX_SCHEMA): Promise<void> {
  await pool.query(`
    CREATE SCHEMA IF NOT EXISTS ${schema};
    CREATE TABLE IF NOT EXISTS ${schema}.process_index (
      gsrn text NOT NULL,
      process_id text NOT NULL,
      PRIMARY KEY (gsrn, process_id)
    );
    CREATE TABLE IF NOT EXISTS ${schema}.awaiting_effective_date (
      process_id text PRIMARY KEY,
      gsrn text NOT NULL,
      effective_date date NOT NULL,
      trigger_event_id text NOT NULL,
      correlation_id text NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now(),
      done_at timestamptz
    );
    CREATE INDEX IF NOT EXISTS awaiting_effective_date_due ON ${schema}.awaiting_effective_date (effective_date) WHERE done_at IS NULL;`);
}

/**
 * The process manager's GSRN → processes index, written in the inbox transaction of the event that
 * taught it (a `PoolClient` in a transaction); the effective-date scheduler reads it through the pool.
 */
export class PgProcessIndex implements ProcessIndex, AwaitingEffectiveDates {
  constructor(
    private readonly db: Pick<PoolClient, 'query'> | Pick<Pool, 'query'>,
    private readonly schema = PROCESS_INDEX_SCHEMA,
  ) {}

  async add(entry: { gsrn: string; processId: string }): Promise<void> {
    await this.db.query(`INSERT INTO ${this.schema}.process_index (gsrn, process_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [entry.gsrn, entry.processId]);
  }

  async processIdsFor(gsrn: string): Promise<string[]> {
    const { rows } = await this.db.query<{ process_id: string }>(`SELECT process_id FROM ${this.schema}.process_index WHERE gsrn = $1 ORDER BY process_id`, [gsrn]);
    return rows.map((r) => r.process_id);
  }

  async awaitEffectiveDate(entry: AwaitingEffectiveDate): Promise<void> {
    await this.db.query(
      `INSERT INTO ${this.schema}.awaiting_effective_date (process_id, gsrn, effective_date, trigger_event_id, correlation_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [entry.processId, entry.gsrn, entry.effectiveDate, entry.triggerEventId, entry.correlationId],
    );
  }

  async due(today: string): Promise<AwaitingEffectiveDate[]> {
    const { rows } = await this.db.query<{ process_id: string; gsrn: string; effective_date: string; trigger_event_id: string; correlation_id: string }>(
      `SELECT process_id, gsrn, to_char(effective_date, 'YYYY-MM-DD') AS effective_date, trigger_event_id, correlation_id
         FROM ${this.schema}.awaiting_effective_date WHERE done_at IS NULL AND effective_date <= $1::date ORDER BY effective_date, process_id`,
      [today],
    );
    return rows.map((r) => ({ processId: r.process_id, gsrn: r.gsrn, effectiveDate: r.effective_date, triggerEventId: r.trigger_event_id, correlationId: r.correlation_id }));
  }

  async done(processId: string, at: Date): Promise<void> {
    await this.db.query(`UPDATE ${this.schema}.awaiting_effective_date SET done_at = $2 WHERE process_id = $1 AND done_at IS NULL`, [processId, at]);
  }
}
