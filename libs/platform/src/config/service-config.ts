/**
 * Configuration read once from the environment at start-up. Every service reads the same names,
 * so one `.env` (or one Kubernetes ConfigMap/Secret) configures the whole stack.
 */
export type EventStoreConfig = { kind: 'postgres'; schema: string } | { kind: 'kurrentdb'; connectionString: string };

export interface ServiceConfig {
  serviceName: string;
  httpPort: number;
  /** 127.0.0.1 by default; containers set HOST=0.0.0.0. */
  httpHost: string;
  /**
   * `METRICS_PORT`: Prometheus metrics on a port of their own (same host), never on the HTTP port. The gateway
   * always serves them apart (its HTTP port is public); other services serve `/metrics` on the HTTP port when unset.
   */
  metricsPort: number | null;
  databaseUrl: string;
  amqpUrl: string;
  exchange: string;
  eventStore: EventStoreConfig;
  /** 32-byte master key (base64) that wraps each data subject's key; see PiiVault. */
  piiMasterKey: Buffer;
  /** During a master-key rotation: the keys being replaced, still able to unwrap (`PII_PREVIOUS_MASTER_KEYS`, comma-separated base64). */
  piiPreviousMasterKeys: Buffer[];
  commandTimeoutMs: number;
  /** Simulation only: follow this clock (a simulator's `/sim/clock`) instead of the wall clock. */
  clockUrl: string | null;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new ConfigError(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

/** A fixed development key: refused when NODE_ENV=production. */
export const DEVELOPMENT_PII_KEY = Buffer.alloc(32, 7).toString('base64');

function clockUrlOf(env: NodeJS.ProcessEnv): string | null {
  const url = env.CLOCK_URL;
  if (!url) return null;
  if (env.NODE_ENV === 'production') throw new ConfigError('CLOCK_URL (a simulated clock) is not allowed when NODE_ENV=production');
  return url;
}

export function previousMasterKeys(env: NodeJS.ProcessEnv): Buffer[] {
  return (env.PII_PREVIOUS_MASTER_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean)
    .map((b64, i) => {
      const key = Buffer.from(b64, 'base64');
      if (key.length !== 32) throw new ConfigError(`PII_PREVIOUS_MASTER_KEYS entry ${i + 1} must decode to 32 bytes, got ${key.length}`);
      return key;
    });
}

export function loadConfig(serviceName: string, defaultPort: number, env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const keyB64 = env.PII_MASTER_KEY ?? (env.NODE_ENV === 'production' ? undefined : DEVELOPMENT_PII_KEY);
  if (!keyB64) throw new ConfigError('PII_MASTER_KEY is required in production (32 random bytes, base64)');
  const piiMasterKey = Buffer.from(keyB64, 'base64');
  if (piiMasterKey.length !== 32) throw new ConfigError(`PII_MASTER_KEY must decode to 32 bytes, got ${piiMasterKey.length}`);
  const piiPreviousMasterKeys = previousMasterKeys(env);

  const kurrent = env.EVENTSTORE_CONNECTION_STRING;
  const kind = env.EVENT_STORE ?? (kurrent ? 'kurrentdb' : 'postgres');
  let eventStore: EventStoreConfig;
  if (kind === 'kurrentdb') {
    if (!kurrent) throw new ConfigError('EVENT_STORE=kurrentdb needs EVENTSTORE_CONNECTION_STRING');
    eventStore = { kind, connectionString: kurrent };
  } else if (kind === 'postgres') {
    eventStore = { kind, schema: env.EVENT_STORE_SCHEMA ?? 'event_store' };
  } else {
    throw new ConfigError(`EVENT_STORE must be "postgres" or "kurrentdb", got "${kind}"`);
  }

  return {
    serviceName,
    httpPort: int(env, 'PORT', defaultPort),
    httpHost: env.HOST ?? '127.0.0.1',
    metricsPort: env.METRICS_PORT === undefined || env.METRICS_PORT === '' ? null : int(env, 'METRICS_PORT', 0),
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/dhcore',
    amqpUrl: env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    exchange: env.EVENT_EXCHANGE ?? 'domain.events',
    eventStore,
    piiMasterKey,
    piiPreviousMasterKeys,
    commandTimeoutMs: int(env, 'COMMAND_TIMEOUT_MS', 5000),
    clockUrl: clockUrlOf(env),
  };
}
