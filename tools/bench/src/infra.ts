import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { MessagingLogger } from '@dh/messaging';

/**
 * A private PostgreSQL database and RabbitMQ vhost per benchmark run, dropped at the end.
 * The same few lines as `createTestDatabase` / `createTestVhost` of `@dh/testing`, which is not
 * part of the build (`libs/testing/**` is excluded from `tsconfig.build.json`).
 */

export const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const RABBITMQ_ADMIN_URL = process.env.BENCH_RABBITMQ_ADMIN_URL ?? 'http://guest:guest@127.0.0.1:15672';
export const RABBITMQ_AMQP_BASE = process.env.BENCH_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export interface Disposable {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export function uniqueName(prefix: string): string {
  const safe = prefix.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 24);
  return `dh_bench_${safe}_${process.pid}_${randomBytes(4).toString('hex')}`;
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

export async function createBenchDatabase(prefix: string): Promise<Disposable> {
  const name = uniqueName(prefix);
  await adminQuery(`CREATE DATABASE "${name}"`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
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

/** Needs the rabbitmq_management plugin (`tools/scripts/ensure-services.sh` enables it). */
export async function createBenchVhost(prefix: string): Promise<Disposable> {
  const name = uniqueName(prefix);
  const user = new URL(RABBITMQ_AMQP_BASE).username || 'guest';
  await rabbitAdmin('PUT', `/api/vhosts/${encodeURIComponent(name)}`, {});
  await rabbitAdmin('PUT', `/api/permissions/${encodeURIComponent(name)}/${encodeURIComponent(user)}`, { configure: '.*', write: '.*', read: '.*' });
  const url = new URL(RABBITMQ_AMQP_BASE);
  url.pathname = `/${encodeURIComponent(name)}`;
  return { name, url: url.toString(), drop: () => rabbitAdmin('DELETE', `/api/vhosts/${encodeURIComponent(name)}`) };
}

/** Relay and consumer chatter ("Relay x: active") stays off stdout; warnings and errors go to stderr. */
export const benchLogger: MessagingLogger = {
  log: () => undefined,
  warn: (message) => console.error(`[warn] ${message}`),
  error: (message, trace) => console.error(`[error] ${message}${trace ? `\n${trace}` : ''}`),
};

/** Last-in-first-out clean-up of everything a run created; every step runs even if one fails. */
export class Cleanup {
  private readonly steps: Array<{ label: string; run: () => Promise<void> }> = [];

  add(label: string, run: () => Promise<void>): void {
    this.steps.push({ label, run });
  }

  async runAll(): Promise<string[]> {
    const failures: string[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop();
      if (!step) break;
      try {
        await step.run();
      } catch (error) {
        failures.push(`${step.label}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return failures;
  }
}
