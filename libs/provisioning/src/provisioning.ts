import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * Creating and dropping PostgreSQL databases and RabbitMQ vhosts: used by the demo (a fresh stack
 * every run) and by tests (one database and vhost per test file).
 */

export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const RABBITMQ_ADMIN_URL = process.env.TEST_RABBITMQ_ADMIN_URL ?? 'http://guest:guest@127.0.0.1:15672';
export const RABBITMQ_AMQP_BASE = process.env.TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export interface ProvisionedResource {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function quoteDatabase(name: string): string {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`Database name "${name}" must be lower-case letters, digits and underscores`);
  return `"${name}"`;
}

async function adminQuery(sql: string): Promise<void> {
  const admin = new Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

export async function createDatabase(name: string, options: { replace?: boolean } = {}): Promise<ProvisionedResource> {
  if (options.replace) await adminQuery(`DROP DATABASE IF EXISTS ${quoteDatabase(name)} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${quoteDatabase(name)}`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => dropDatabase(name) };
}

/**
 * Drops a database, forcing out whatever is still connected, but only after giving connections that are
 * already closing a moment to finish: `pool.end()` resolves once its clients were told to end, and a backend
 * terminated by `WITH (FORCE)` before its client's Terminate arrived sends that client an error it no longer
 * listens for (an unhandled 'error' that fails whichever test file runs next).
 */
async function dropDatabase(name: string, graceMs = 2_000): Promise<void> {
  const admin = new Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    const deadline = Date.now() + graceMs;
    for (;;) {
      const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
      if (rows[0].n === 0 || Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await admin.query(`DROP DATABASE IF EXISTS ${quoteDatabase(name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

async function rabbitAdmin(method: 'PUT' | 'DELETE', path: string, body?: unknown): Promise<void> {
  const base = new URL(RABBITMQ_ADMIN_URL);
  const auth = Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64');
  base.username = '';
  base.password = '';
  const res = await fetch(new URL(path, base), {
    method,
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok && !(method === 'DELETE' && res.status === 404)) {
    throw new Error(`RabbitMQ management ${method} ${path} failed: ${res.status} ${await res.text()}`);
  }
}

/** Needs the rabbitmq_management plugin (tools/scripts/ensure-services.sh enables it). */
export async function createVhost(name: string, options: { replace?: boolean } = {}): Promise<ProvisionedResource> {
  const path = `/api/vhosts/${encodeURIComponent(name)}`;
  if (options.replace) await rabbitAdmin('DELETE', path);
  const user = new URL(RABBITMQ_AMQP_BASE).username || 'guest';
  await rabbitAdmin('PUT', path, {});
  await rabbitAdmin('PUT', `/api/permissions/${encodeURIComponent(name)}/${encodeURIComponent(user)}`, { configure: '.*', write: '.*', read: '.*' });
  const url = new URL(RABBITMQ_AMQP_BASE);
  url.pathname = `/${encodeURIComponent(name)}`;
  return { name, url: url.toString(), drop: () => rabbitAdmin('DELETE', path) };
}

/** `dh_<namespace>_<prefix>_<pid>_<random>`: unique per process and call, safe as a database and vhost name. */
export function uniqueResourceName(namespace: string, prefix: string): string {
  const safe = prefix.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 24);
  return `dh_${namespace}_${safe}_${process.pid}_${randomBytes(4).toString('hex')}`;
}
