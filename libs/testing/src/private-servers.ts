import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { freePort, freePorts } from '@dh/provisioning';

/**
 * Servers a fault test may stop, crash and restart: a PostgreSQL cluster (initdb + pg_ctl) and a
 * RabbitMQ node of their own, on free ports, in a temporary directory removed afterwards. The
 * machine's own PostgreSQL and RabbitMQ are never touched. Both refuse to run as root, so as root
 * they run as the `postgres` and `rabbitmq` users the Debian packages create.
 */

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitFor(what: string, timeoutMs: number, ready: () => Promise<boolean>, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs} ms\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** argv run as `user` when we are root, as ourselves otherwise. */
function asUser(user: string, argv: string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', user, '--', ...argv]] : [argv[0]!, argv.slice(1)];
}

function run(user: string, argv: string[], env: NodeJS.ProcessEnv = process.env): string {
  const [command, args] = asUser(user, argv);
  const result = spawnSync(command, args, { env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${argv.join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`);
  return result.stdout;
}

function privateDirectory(prefix: string, owner: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  if (isRoot()) {
    const ids = spawnSync('id', ['-u', owner], { encoding: 'utf8' }).stdout.trim();
    const gid = spawnSync('id', ['-g', owner], { encoding: 'utf8' }).stdout.trim();
    chownSync(dir, Number(ids), Number(gid));
  }
  return dir;
}

export interface PrivatePostgres {
  port: number;
  /** Connection URL of a database on this cluster (default `postgres`). */
  url(database?: string): string;
  createDatabase(name: string): Promise<string>;
  /** Ends every client backend except the caller's (`pg_terminate_backend`); returns how many. */
  terminateBackends(where?: string): Promise<number>;
  /** Process ids of the client backends, for a `kill -9` of one (the postmaster then restarts all of them). */
  backendPids(): Promise<number[]>;
  /** `pg_ctl stop`: `fast` rolls back and disconnects, `immediate` is a crash (recovery on the next start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stops the cluster and removes its directory. */
  destroy(): Promise<void>;
}

const PG_USER = 'postgres';

/** An own PostgreSQL cluster on a free port (trust auth on 127.0.0.1, fsync off: it is thrown away). */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = privateDirectory('dh-pg-', PG_USER);
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const port = await freePort();
  run(PG_USER, ['initdb', '-D', data, '-A', 'trust', '-U', PG_USER, '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const url = (database = 'postgres') => `postgres://${PG_USER}@127.0.0.1:${port}/${database}`;
  const admin = async <T>(work: (client: Client) => Promise<T>): Promise<T> => {
    const client = new Client({ connectionString: url(), application_name: 'private-postgres-admin' });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  const start = async () => {
    run(PG_USER, ['pg_ctl', '-D', data, '-o', options, '-l', logFile, '-w', '-t', '60', 'start']);
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    run(PG_USER, ['pg_ctl', '-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
  };
  await start();
  return {
    port,
    url,
    async createDatabase(name) {
      if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`);
      await admin((c) => c.query(`CREATE DATABASE "${name}"`));
      return url(name);
    },
    terminateBackends: (where = 'true') =>
      admin(async (c) => {
        const { rows } = await c.query<{ n: string }>(
          `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity
            WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND (${where})`,
        );
        return Number(rows[0]?.n ?? 0);
      }),
    backendPids: () =>
      admin(async (c) => {
        const { rows } = await c.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`);
        return rows.map((r) => r.pid);
      }),
    stop,
    start,
    async restart(mode = 'fast') {
      await stop(mode);
      await start();
    },
    async destroy() {
      try {
        await stop('immediate');
      } catch {
        // not running
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivateRabbitMq {
  port: number;
  /** AMQP URL (guest/guest on 127.0.0.1, vhost `/`). */
  url: string;
  /** Stops the node (SIGTERM, a clean broker shutdown) and waits for the process to end. */
  stop(): Promise<void>;
  /** Kills the node (SIGKILL): connections drop without a close. */
  kill(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

const RABBIT_USER = 'rabbitmq';

/**
 * An own RabbitMQ node: its own node name, AMQP and distribution ports, database and log
 * directories, no plugins (so no management listener), run in the foreground as a child process.
 */
export async function startPrivateRabbitMq(options: { startTimeoutMs?: number } = {}): Promise<PrivateRabbitMq> {
  const dir = privateDirectory('dh-rmq-', RABBIT_USER);
  const [port, distPort] = (await freePorts(2)) as [number, number];
  const nodeName = `dhtest${port}@localhost`;
  writeFileSync(path.join(dir, 'enabled_plugins'), '[].\n');
  // No config file: defaults plus what the environment below sets.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq'),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
    RABBITMQ_PID_FILE: path.join(dir, 'rabbitmq.pid'),
    // The Debian package keeps the Erlang cookie in the rabbitmq user's home.
    ...(isRoot() ? { HOME: '/var/lib/rabbitmq' } : {}),
  };
  const server = process.env.RABBITMQ_SERVER_BIN ?? (isRoot() ? '/usr/lib/rabbitmq/bin/rabbitmq-server' : 'rabbitmq-server');
  let child: ChildProcess | null = null;
  let output = '';
  const timeoutMs = options.startTimeoutMs ?? 60_000;

  const start = async () => {
    if (child) return;
    const [command, args] = asUser(RABBIT_USER, [server]);
    const started = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
    started.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    started.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    child = started;
    started.once('exit', () => {
      if (child === started) child = null;
    });
    await waitFor(`RabbitMQ node ${nodeName}`, timeoutMs, async () => {
      if (child !== started) throw new Error(`RabbitMQ node ${nodeName} exited\n${output}`);
      return (await portAnswers(port)) && /Starting broker\.\.\. completed|Server startup complete/.test(output);
    }, () => output);
  };
  const end = async (signal: NodeJS.Signals) => {
    const running = child;
    if (!running) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    // runuser forwards the signal to the node; the Erlang VM stops cleanly on SIGTERM.
    running.kill(signal);
    await exited;
    if (signal === 'SIGKILL') killStrays();
    await waitFor(`RabbitMQ node ${nodeName} to stop`, 30_000, async () => !(await portAnswers(port)), () => output);
  };
  /** SIGKILL to runuser does not reach the VM: end the node's own processes by their pid file. */
  const killStrays = () => {
    const pid = spawnSync('cat', [path.join(dir, 'rabbitmq.pid')], { encoding: 'utf8' }).stdout.trim();
    if (/^\d+$/.test(pid)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  await start();
  return {
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    start,
    async destroy() {
      await end('SIGTERM').catch(() => end('SIGKILL'));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
