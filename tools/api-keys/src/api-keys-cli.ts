import { Pool } from 'pg';
import { ApiKeyStore, isConsumer, isScope, migrateAuth, type Scope } from '@dh/auth';
import { loadConfig } from '@dh/platform';

const USAGE = [
  'usage: api-keys issue --consumer erp|crm|payment --name "<who>" [--scopes a,b] [--expires YYYY-MM-DD]',
  '       api-keys list [--all]',
  '       api-keys revoke <key id>',
].join('\n');

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** Operator tool for the API keys of ERP, CRM and the payment service. The clear key is printed once. */
export async function runApiKeysCli(argv: string[], env: NodeJS.ProcessEnv, out: (line: string) => void): Promise<void> {
  const [command, ...rest] = argv;
  if (command !== 'issue' && command !== 'list' && command !== 'revoke') throw new UsageError(USAGE);
  const pool = new Pool({ connectionString: loadConfig('api-keys', 0, env).databaseUrl, application_name: 'api-keys' });
  try {
    await migrateAuth(pool);
    const store = new ApiKeyStore(pool);
    if (command === 'issue') {
      const consumer = option(rest, '--consumer');
      const name = option(rest, '--name');
      if (!consumer || !isConsumer(consumer) || !name) throw new UsageError(USAGE);
      const scopesArg = option(rest, '--scopes');
      const scopes = scopesArg?.split(',').map((s) => s.trim());
      const unknown = scopes?.filter((s) => !isScope(s)) ?? [];
      if (unknown.length > 0) throw new UsageError(`unknown scope(s): ${unknown.join(', ')}\n${USAGE}`);
      const expires = option(rest, '--expires');
      const issued = await store.issue({
        name,
        consumer,
        createdBy: env.USER ?? 'operator',
        ...(scopes ? { scopes: scopes as Scope[] } : {}),
        ...(expires ? { expiresAt: new Date(`${expires}T00:00:00Z`) } : {}),
      });
      out(`issued key ${issued.record.id} for ${consumer} (${issued.record.scopes.join(', ')})`);
      out(`key (shown once, store it now): ${issued.key}`);
      return;
    }
    if (command === 'list') {
      for (const key of await store.list({ includeRevoked: rest.includes('--all') })) {
        out(`${key.id}  ${key.consumer.padEnd(8)} ${key.name}  scopes=${key.scopes.join(',')}  ${key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active'}`);
      }
      return;
    }
    const id = rest[0];
    if (!id) throw new UsageError(USAGE);
    out((await store.revoke(id, env.USER ?? 'operator')) ? `revoked ${id}` : `no active key ${id}`);
  } finally {
    await pool.end();
  }
}
