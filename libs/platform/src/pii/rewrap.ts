import type { Pool } from 'pg';
import type { MasterKeys } from './sealing';

export interface RewrapResult {
  table: string;
  rewrapped: number;
  batches: number;
}

/**
 * Re-wraps every key the vault holds (subject keys, the identity index key) under the current master
 * key, in batches: one SELECT of up to `batchSize` rows not yet under the current key, one UPDATE of
 * those rows. Memory and transaction size stay bounded by the batch, whatever the number of
 * customers; a rotation that stops half-way is resumed by running it again (rows already re-wrapped
 * are not selected again). Erased subjects have no key and are skipped.
 */
export async function rewrapVaultKeys(pool: Pool, keys: MasterKeys, options: { schema?: string; batchSize?: number } = {}): Promise<RewrapResult[]> {
  const schema = options.schema ?? 'pii';
  const batchSize = options.batchSize ?? 1000;
  return [
    await rewrapTable(pool, keys, { table: `${schema}.subject_keys`, idColumn: 'subject_id', aad: (id) => `key:${id}`, batchSize }),
    await rewrapTable(pool, keys, { table: `${schema}.vault_keys`, idColumn: 'name', aad: (id) => `vault:${id}`, batchSize }),
  ];
}

async function rewrapTable(pool: Pool, keys: MasterKeys, spec: { table: string; idColumn: string; aad: (id: string) => string; batchSize: number }): Promise<RewrapResult> {
  let rewrapped = 0;
  let batches = 0;
  let after = '';
  for (;;) {
    const { rows } = await pool.query<{ id: string; wrapped_key: string; master_key_id: string | null }>(
      `SELECT ${spec.idColumn} AS id, wrapped_key, master_key_id FROM ${spec.table}
       WHERE wrapped_key IS NOT NULL AND master_key_id IS DISTINCT FROM $1 AND ${spec.idColumn} > $2
       ORDER BY ${spec.idColumn} LIMIT $3`,
      [keys.currentId, after, spec.batchSize],
    );
    if (rows.length === 0) return { table: spec.table, rewrapped, batches };
    const ids: string[] = [];
    const wrapped: string[] = [];
    const previous: string[] = [];
    for (const row of rows) {
      const plain = keys.unwrap(row.wrapped_key, spec.aad(row.id), row.master_key_id);
      ids.push(row.id);
      wrapped.push(keys.wrap(plain, spec.aad(row.id)).wrapped);
      previous.push(row.wrapped_key);
    }
    // Only rows still holding what was read: a concurrent erasure (wrapped_key set to NULL) wins.
    const updated = await pool.query(
      `UPDATE ${spec.table} t SET wrapped_key = u.wrapped, master_key_id = $4
       FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, wrapped, previous)
       WHERE t.${spec.idColumn} = u.id AND t.wrapped_key = u.previous`,
      [ids, wrapped, previous, keys.currentId],
    );
    rewrapped += updated.rowCount ?? 0;
    batches++;
    after = ids[ids.length - 1]!;
  }
}
