import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * Every test run gets its own PostgreSQL database and RabbitMQ vhost, so runs on one machine
 * (a developer's and CI's, or two Jest workers) never see each other's data.
 */

export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const RABBITMQ_ADMIN_URL = process.env.TEST_RABBITMQ_ADMIN_URL ?? 'http://guest:guest@127.0.0.1:15672';
export const RABBITMQ_AMQP_BASE = process.env.TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export function uniqueName(prefix: string): string {
  const safe = prefix.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 24);
  return `dh_test_${safe}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  const admin = new Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new Client({ connectionString: POSTGRES_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export interface TestVhost {
  name: string;
  url: string;
  drop(): Promise<void>;
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

/** Needs the rabbitmq_management plugin (`.ci/run` enables it). */
export async function createTestVhost(prefix: string): Promise<TestVhost> {
  const name = uniqueName(prefix);
  const user = new URL(RABBITMQ_AMQP_BASE).username || 'guest';
  await rabbitAdmin('PUT', `/api/vhosts/${encodeURIComponent(name)}`, {});
  await rabbitAdmin('PUT', `/api/permissions/${encodeURIComponent(name)}/${encodeURIComponent(user)}`, { configure: '.*', write: '.*', read: '.*' });
  const url = new URL(RABBITMQ_AMQP_BASE);
  url.pathname = `/${encodeURIComponent(name)}`;
  return {
    name,
    url: url.toString(),
    drop: () => rabbitAdmin('DELETE', `/api/vhosts/${encodeURIComponent(name)}`),
  };
}
