import { createHash } from 'node:crypto';
import type { Pool } from 'pg';

export interface QuarantinedMessage {
  id: number;
  receivedAt: Date;
  category: string;
  messageId: string;
  contentType: string;
  /** The body as text for people (bytes that are not UTF-8 and NUL characters shown as U+FFFD). */
  rawBody: string;
  /** The body exactly as received (bytea); null for rows kept before it was recorded (their text is exact). */
  rawBytes: Buffer | null;
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
  raw_bytes: Buffer | null;
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
  rawBytes: r.raw_bytes,
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
      );
      -- One row per MessageId and body: a second, different body under a MessageId already seen is kept too.
      ALTER TABLE ${this.schema}.quarantine ADD COLUMN IF NOT EXISTS body_sha256 text;
      UPDATE ${this.schema}.quarantine SET body_sha256 = encode(sha256(convert_to(raw_body, 'UTF8')), 'hex') WHERE body_sha256 IS NULL;
      ALTER TABLE ${this.schema}.quarantine DROP CONSTRAINT IF EXISTS quarantine_message_id_key;
      CREATE UNIQUE INDEX IF NOT EXISTS quarantine_message_body ON ${this.schema}.quarantine (message_id, body_sha256);
      -- The body as received: text cannot hold a NUL or bytes that are not UTF-8, so a message with either could not
      -- be kept, was never dequeued and held its whole DataHub queue category back.
      ALTER TABLE ${this.schema}.quarantine ADD COLUMN IF NOT EXISTS raw_bytes bytea;`);
  }

  /**
   * Idempotent on DataHub's message id and body: the same message quarantined twice (crash before
   * dequeue) is kept once; a different body under a MessageId already quarantined is kept as its own
   * row, its reason saying so, never dropped.
   */
  async add(message: { category: string; messageId: string; contentType: string; body: string; bytes?: Buffer }, reason: string): Promise<void> {
    const bytes = message.bytes ?? Buffer.from(message.body, 'utf8');
    const hash = createHash('sha256').update(bytes).digest('hex');
    // PostgreSQL text takes no NUL; a body decoded from bytes that are not UTF-8 already shows them as U+FFFD.
    const text = message.body.replace(/\u0000/g, '\ufffd');
    const { rows } = await this.pool.query<{ id: string }>(`SELECT id FROM ${this.schema}.quarantine WHERE message_id = $1 AND body_sha256 <> $2 ORDER BY id`, [message.messageId, hash]);
    const flagged = rows.length > 0 ? `MessageId ${message.messageId} was seen before with a different body (quarantine ${rows.map((r) => r.id).join(', ')}); ${reason}` : reason;
    await this.pool.query(
      `INSERT INTO ${this.schema}.quarantine (category, message_id, content_type, raw_body, raw_bytes, reason, body_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (message_id, body_sha256) DO UPDATE SET reason = EXCLUDED.reason, attempts = ${this.schema}.quarantine.attempts + 1`,
      [message.category, message.messageId, message.contentType, text, bytes, flagged, hash],
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
