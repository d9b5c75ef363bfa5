import type { Pool } from 'pg';
import { quoteSchema } from '@dh/messaging';
import { DEFAULT_WEBHOOKS_SCHEMA } from './migrations';
import { SecretBox } from './secret-box';

/**
 * Master-key rotation for webhook secrets: re-seals every secret not sealed under the current key,
 * in batches of `batchSize` (one SELECT, one UPDATE each), resumable. `box` must know the previous
 * master keys.
 */
export async function resealWebhookSecrets(pool: Pool, box: SecretBox, options: { schema?: string; batchSize?: number } = {}): Promise<{ table: string; rewrapped: number; batches: number }> {
  const s = quoteSchema(options.schema ?? DEFAULT_WEBHOOKS_SCHEMA);
  const batchSize = options.batchSize ?? 1000;
  let rewrapped = 0;
  let batches = 0;
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const { rows } = await pool.query<{ id: string; secret_sealed: Buffer }>(
      `SELECT id, secret_sealed FROM ${s}.subscriptions WHERE secret_key_id IS DISTINCT FROM $1 AND id > $2 ORDER BY id LIMIT $3`,
      [box.keyId, after, batchSize],
    );
    if (rows.length === 0) return { table: `${options.schema ?? DEFAULT_WEBHOOKS_SCHEMA}.subscriptions`, rewrapped, batches };
    const ids = rows.map((r) => r.id);
    const sealed = rows.map((r) => box.seal(box.open(r.secret_sealed, r.id), r.id));
    const updated = await pool.query(
      `UPDATE ${s}.subscriptions t SET secret_sealed = u.sealed, secret_key_id = $3 FROM unnest($1::uuid[], $2::bytea[]) AS u(id, sealed) WHERE t.id = u.id`,
      [ids, sealed, box.keyId],
    );
    rewrapped += updated.rowCount ?? 0;
    batches++;
    after = ids[ids.length - 1]!;
  }
}
