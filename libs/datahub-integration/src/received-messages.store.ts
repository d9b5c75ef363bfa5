import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import type { KeptMessage, RawInboxMessage, ReceivedMessages } from '@dh/datahub-client';

interface Row {
  id: string;
  category: string;
  message_id: string;
  content_type: string;
  body: Buffer;
  exact_bytes: boolean;
}

/**
 * The inbox's copy of each message peeked from DataHub, kept before it is dequeued and dropped once the message
 * was stored (its events appended) or quarantined: record first, act after (issue 8). With it the inbox dequeues a
 * message and peeks the next while the previous ones are parsed and stored; a crash after a dequeue loses nothing,
 * the copy is processed when the inbox starts again. The body is kept as bytes (a NUL or bytes that are not UTF-8
 * are kept as received, for the quarantine), uncompressed: a row lives for a few documents.
 */
export class ReceivedMessageStore implements ReceivedMessages {
  constructor(
    private readonly pool: Pool,
    private readonly schema = 'datahub',
  ) {}

  async migrate(): Promise<void> {
    await this.pool.query(`
      CREATE SCHEMA IF NOT EXISTS ${this.schema};
      CREATE TABLE IF NOT EXISTS ${this.schema}.received_messages (
        id bigserial PRIMARY KEY,
        received_at timestamptz NOT NULL DEFAULT now(),
        category text NOT NULL,
        message_id text NOT NULL,
        content_type text NOT NULL,
        body bytea NOT NULL,
        -- false: the body was handed over as text only (a test double), kept as its UTF-8.
        exact_bytes boolean NOT NULL,
        body_sha256 text NOT NULL,
        UNIQUE (message_id, body_sha256)
      );
      ALTER TABLE ${this.schema}.received_messages ALTER COLUMN body SET STORAGE EXTERNAL;`);
  }

  /** Idempotent on DataHub's message id and body: the same message kept again (peeked again) answers its first id. */
  async keep(message: RawInboxMessage): Promise<string> {
    const bytes = message.bytes ?? Buffer.from(message.body, 'utf8');
    const hash = createHash('sha256').update(bytes).digest('hex');
    const { rows } = await this.pool.query<{ id: string }>(
      `INSERT INTO ${this.schema}.received_messages (category, message_id, content_type, body, exact_bytes, body_sha256) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (message_id, body_sha256) DO UPDATE SET received_at = ${this.schema}.received_messages.received_at
       RETURNING id::text`,
      [message.category, message.messageId, message.contentType, bytes, message.bytes !== undefined, hash],
    );
    return rows[0]!.id;
  }

  async pending(): Promise<KeptMessage[]> {
    const { rows } = await this.pool.query<Row>(`SELECT id::text, category, message_id, content_type, body, exact_bytes FROM ${this.schema}.received_messages ORDER BY id`);
    return rows.map((r) => ({
      id: r.id,
      message: {
        category: r.category,
        messageId: r.message_id,
        contentType: r.content_type,
        // As the client decodes a body: bytes that are not UTF-8 read as U+FFFD, the bytes themselves kept.
        body: new TextDecoder().decode(r.body),
        ...(r.exact_bytes ? { bytes: r.body } : {}),
      },
    }));
  }

  /** Whether copies wait to be processed (a service switched from record-first back to store-before-dequeue still has to). */
  async hasPending(): Promise<boolean> {
    const { rows } = await this.pool.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${this.schema}.received_messages) AS any`);
    return rows[0]?.any === true;
  }

  async done(id: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.schema}.received_messages WHERE id = $1`, [id]);
  }
}
