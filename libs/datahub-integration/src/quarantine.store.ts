import type { Pool } from 'pg';

export interface QuarantinedMessage {
  id: number;
  receivedAt: Date;
  category: string;
  messageId: string;
  contentType: string;
  rawBody: string;
  reason: string;
  status: 'quarantined' | 'reprocessed';
  attempts: number;
  resolvedAt: Date | null;
}

interface Row {
  id: string;
  received_at: Date;
  category: string;
  message_id: string;
  content_type: string;
  raw_body: string;
  reason: string;
  status: 'quarantined' | 'reprocessed';
  attempts: number;
  resolved_at: Date | null;
}

const toMessage = (r: Row): QuarantinedMessage => ({
  id: Number(r.id),
  receivedAt: r.received_at,
  category: r.category,
  messageId: r.message_id,
  contentType: r.content_type,
  rawBody: r.raw_body,
  reason: r.reason,
  status: r.status,
  attempts: r.attempts,
  resolvedAt: r.resolved_at,
});

/**
 * Messages that did not parse, kept byte for byte with the reason, until a fixed parser (or a
 * corrected document) lets them through. Nothing DataHub sends is dropped.
 */
export class QuarantineStore {
  constructor(
    private readonly pool: Pool,
    private readonly schema = 'datahub',
  ) {}

  async migrate(): Promise<void> {
    await this.pool.query(`
      CREATE SCHEMA IF NOT EXISTS ${this.schema};
      CREATE TABLE IF NOT EXISTS ${this.schema}.quarantine (
        id bigserial PRIMARY KEY,
        received_at timestamptz NOT NULL DEFAULT now(),
        category text NOT NULL,
        message_id text NOT NULL,
        content_type text NOT NULL,
        raw_body text NOT NULL,
        reason text NOT NULL,
        status text NOT NULL DEFAULT 'quarantined' CHECK (status IN ('quarantined', 'reprocessed')),
        attempts integer NOT NULL DEFAULT 1,
        resolved_at timestamptz,
        UNIQUE (message_id)
      );`);
  }

  /** Idempotent on DataHub's message id: a message quarantined twice (crash before dequeue) is kept once. */
  async add(message: { category: string; messageId: string; contentType: string; body: string }, reason: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.schema}.quarantine (category, message_id, content_type, raw_body, reason) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (message_id) DO UPDATE SET reason = EXCLUDED.reason, attempts = ${this.schema}.quarantine.attempts + 1`,
      [message.category, message.messageId, message.contentType, message.body, reason],
    );
  }

  async list(status: 'quarantined' | 'reprocessed' | 'all' = 'quarantined'): Promise<QuarantinedMessage[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM ${this.schema}.quarantine WHERE $1 = 'all' OR status = $1 ORDER BY id`,
      [status],
    );
    return rows.map(toMessage);
  }

  async get(id: number): Promise<QuarantinedMessage | null> {
    const { rows } = await this.pool.query<Row>(`SELECT * FROM ${this.schema}.quarantine WHERE id = $1`, [id]);
    return rows[0] ? toMessage(rows[0]) : null;
  }

  async markReprocessed(id: number): Promise<void> {
    await this.pool.query(`UPDATE ${this.schema}.quarantine SET status = 'reprocessed', resolved_at = now() WHERE id = $1`, [id]);
  }

  async recordFailedAttempt(id: number, reason: string): Promise<void> {
    await this.pool.query(`UPDATE ${this.schema}.quarantine SET reason = $2, attempts = attempts + 1 WHERE id = $1`, [id, reason]);
  }
}
