import { Pool } from 'pg';
import { loadConfig, MasterKeys, PiiVault, rewrapVaultKeys, type RewrapResult } from '@dh/platform';
import { migrateWebhooks, resealWebhookSecrets, SecretBox } from '@dh/webhooks';

const USAGE = 'usage: rotate-master-key [--batch-size N]   (PII_MASTER_KEY = the new key, PII_PREVIOUS_MASTER_KEYS = the old key(s))';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Operator tool for replacing the PII master key. The procedure:
 *   1. start every service with PII_MASTER_KEY=<new> and PII_PREVIOUS_MASTER_KEYS=<old>: new data keys
 *      are wrapped with the new key, and both keys unwrap;
 *   2. run this tool with the same two variables: it re-wraps every data subject's key, the identity
 *      index key and every webhook signing secret under the new key, in batches (resumable: run it
 *      again after an interruption, and it reports 0 when nothing is left);
 *   3. remove PII_PREVIOUS_MASTER_KEYS from the services and destroy the old key.
 * Personal data itself is not re-encrypted: it is sealed under the subjects' data keys, which do not change.
 */
export async function runRotateMasterKey(argv: string[], env: NodeJS.ProcessEnv, out: (line: string) => void): Promise<RewrapResult[]> {
  let batchSize = 1000;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--batch-size' && /^[1-9]\d*$/.test(argv[i + 1] ?? '')) batchSize = Number(argv[++i]);
    else throw new UsageError(USAGE);
  }
  const config = loadConfig('rotate-master-key', 0, env);
  if (config.piiPreviousMasterKeys.length === 0) throw new UsageError(`PII_PREVIOUS_MASTER_KEYS names no key to rotate away from\n${USAGE}`);
  const keys = new MasterKeys(config.piiMasterKey, config.piiPreviousMasterKeys);
  const pool = new Pool({ connectionString: config.databaseUrl, application_name: 'rotate-master-key', max: 2 });
  try {
    await new PiiVault(pool, keys).migrate();
    await migrateWebhooks(pool);
    const results = [
      ...(await rewrapVaultKeys(pool, keys, { batchSize })),
      await resealWebhookSecrets(pool, new SecretBox(config.piiMasterKey, config.piiPreviousMasterKeys), { batchSize }),
    ];
    for (const r of results) out(`${r.table}: ${r.rewrapped} re-wrapped in ${r.batches} batch(es) of at most ${batchSize}`);
    out(`everything is under master key ${keys.currentId}; PII_PREVIOUS_MASTER_KEYS can be removed`);
    return results;
  } finally {
    await pool.end();
  }
}
