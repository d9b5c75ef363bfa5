import { type Consumer, isConsumer } from '../principal';

/**
 * Which token issuers we trust, for which kind of principal. Read from `AUTH_ISSUERS` (a JSON array
 * of `IssuerConfig`) and `AUTH_CLOCK_TOLERANCE_SECONDS`, or built in code.
 */
export type IssuerKind = 'client' | 'customer' | 'staff';

export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];

interface IssuerBase {
  /** Our label, used in logs: "azure-ad-clients", "portal-login", "backoffice-login". */
  name: string;
  kind: IssuerKind;
  /** Exact `iss` value. */
  issuer: string;
  /** Accepted `aud` value(s); a token must name at least one. */
  audience: string | string[];
  /**
   * kind `client`: OAuth2 client id (`client_id`, else `azp`, else `sub`) → which system it is.
   * A token from an unlisted client is refused.
   */
  clients?: Record<string, Consumer>;
  /** kind `customer`: claim with the customer id; default `customer_id`. */
  customerIdClaim?: string;
  /** kind `staff`: claim with the roles (array or space-separated string); default `roles`. */
  rolesClaim?: string;
}

/** Exactly one key source per issuer. */
export type IssuerConfig =
  | (IssuerBase & { jwksUrl: string; algorithms?: AsymmetricAlgorithm[] })
  | (IssuerBase & { publicKey: string; algorithm?: AsymmetricAlgorithm })
  | (IssuerBase & { secret: string; algorithm?: HmacAlgorithm });

export interface AuthConfig {
  issuers: IssuerConfig[];
  /** Allowed clock difference for `exp`/`nbf`/`iat`, in seconds. Default 30, at most 300. */
  clockToleranceSeconds: number;
}

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;
/** HMAC secrets shorter than this are refused (RFC 7518 §3.2: at least the hash size). */
export const MIN_SECRET_BYTES = 32;

export class AuthConfigError extends Error {
  override readonly name = 'AuthConfigError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(raw: Record<string, unknown>, field: string, where: string): string {
  const value = raw[field];
  if (typeof value !== 'string' || value.trim() === '') throw new AuthConfigError(`${where}: "${field}" must be a non-empty string`);
  return value;
}

function optionalString(raw: Record<string, unknown>, field: string, where: string): string | undefined {
  return raw[field] === undefined ? undefined : requireString(raw, field, where);
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) throw new AuthConfigError(`${what} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

/** Validates one issuer (from JSON or code) and returns a normalised copy. */
export function parseIssuerConfig(raw: unknown, index = 0): IssuerConfig {
  const where = `AUTH_ISSUERS[${index}]`;
  if (!isRecord(raw)) throw new AuthConfigError(`${where} must be an object`);
  const name = requireString(raw, 'name', where);
  const at = `${where} (${name})`;
  const kind = oneOf(raw.kind, ['client', 'customer', 'staff'] as const, `${at}.kind`);
  const issuer = requireString(raw, 'issuer', at);
  const audienceRaw = raw.audience;
  let audience: string | string[];
  if (typeof audienceRaw === 'string' && audienceRaw !== '') audience = audienceRaw;
  else if (Array.isArray(audienceRaw) && audienceRaw.length > 0 && audienceRaw.every((a) => typeof a === 'string' && a !== '')) audience = audienceRaw as string[];
  else throw new AuthConfigError(`${at}: "audience" must be a non-empty string or array of strings`);

  const base: IssuerBase = { name, kind, issuer, audience };
  if (kind === 'client') {
    if (!isRecord(raw.clients) || Object.keys(raw.clients).length === 0) throw new AuthConfigError(`${at}: a client issuer needs "clients": { "<client id>": "erp" | "crm" | "payment" }`);
    const clients: Record<string, Consumer> = {};
    for (const [clientId, consumer] of Object.entries(raw.clients)) {
      if (typeof consumer !== 'string' || !isConsumer(consumer)) throw new AuthConfigError(`${at}: client "${clientId}" maps to unknown consumer ${JSON.stringify(consumer)}`);
      clients[clientId] = consumer;
    }
    base.clients = clients;
  }
  const customerIdClaim = optionalString(raw, 'customerIdClaim', at);
  if (customerIdClaim !== undefined) base.customerIdClaim = customerIdClaim;
  const rolesClaim = optionalString(raw, 'rolesClaim', at);
  if (rolesClaim !== undefined) base.rolesClaim = rolesClaim;

  const sources = (['jwksUrl', 'publicKey', 'secret'] as const).filter((field) => raw[field] !== undefined);
  if (sources.length !== 1) throw new AuthConfigError(`${at}: exactly one of "jwksUrl", "publicKey", "secret" is required, got ${sources.length === 0 ? 'none' : sources.join(' and ')}`);
  switch (sources[0]) {
    case 'jwksUrl': {
      const jwksUrl = requireString(raw, 'jwksUrl', at);
      let url: URL;
      try {
        url = new URL(jwksUrl);
      } catch {
        throw new AuthConfigError(`${at}: "jwksUrl" is not a URL`);
      }
      if (url.protocol !== 'https:' && url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') throw new AuthConfigError(`${at}: "jwksUrl" must use https (plain http only for localhost)`);
      const algorithms = raw.algorithms === undefined ? undefined : Array.isArray(raw.algorithms) ? raw.algorithms.map((a) => oneOf(a, ASYMMETRIC_ALGORITHMS, `${at}.algorithms[]`)) : undefined;
      if (raw.algorithms !== undefined && (algorithms === undefined || algorithms.length === 0)) throw new AuthConfigError(`${at}: "algorithms" must be a non-empty array`);
      return algorithms ? { ...base, jwksUrl, algorithms } : { ...base, jwksUrl };
    }
    case 'publicKey': {
      const publicKey = requireString(raw, 'publicKey', at);
      if (!publicKey.includes('-----BEGIN PUBLIC KEY-----')) throw new AuthConfigError(`${at}: "publicKey" must be a PEM SPKI public key (-----BEGIN PUBLIC KEY-----)`);
      const algorithm = raw.algorithm === undefined ? 'RS256' : oneOf(raw.algorithm, ASYMMETRIC_ALGORITHMS, `${at}.algorithm`);
      return { ...base, publicKey, algorithm };
    }
    case 'secret': {
      const secret = requireString(raw, 'secret', at);
      if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) throw new AuthConfigError(`${at}: "secret" must be at least ${MIN_SECRET_BYTES} bytes`);
      const algorithm = raw.algorithm === undefined ? 'HS256' : oneOf(raw.algorithm, HMAC_ALGORITHMS, `${at}.algorithm`);
      return { ...base, secret, algorithm };
    }
    default:
      throw new AuthConfigError(`${at}: no key source`);
  }
}

export function parseClockTolerance(raw: unknown): number {
  if (raw === undefined || raw === '') return DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const value = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > MAX_CLOCK_TOLERANCE_SECONDS) {
    throw new AuthConfigError(`AUTH_CLOCK_TOLERANCE_SECONDS must be an integer from 0 to ${MAX_CLOCK_TOLERANCE_SECONDS}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Validates a typed config object (e.g. one built in code or in tests). */
export function createAuthConfig(input: { issuers: readonly unknown[]; clockToleranceSeconds?: number }): AuthConfig {
  const issuers = input.issuers.map((issuer, index) => parseIssuerConfig(issuer, index));
  const names = new Set<string>();
  for (const issuer of issuers) {
    if (names.has(issuer.name)) throw new AuthConfigError(`issuer name "${issuer.name}" is used twice`);
    names.add(issuer.name);
  }
  return { issuers, clockToleranceSeconds: parseClockTolerance(input.clockToleranceSeconds) };
}

/** From the environment: `AUTH_ISSUERS` (JSON array, default none) and `AUTH_CLOCK_TOLERANCE_SECONDS` (default 30). */
export function loadAuthConfig(env: NodeJS.ProcessEnv = process.env): AuthConfig {
  const raw = env.AUTH_ISSUERS;
  let issuers: unknown = [];
  if (raw !== undefined && raw.trim() !== '') {
    try {
      issuers = JSON.parse(raw);
    } catch {
      throw new AuthConfigError('AUTH_ISSUERS is not valid JSON');
    }
  }
  if (!Array.isArray(issuers)) throw new AuthConfigError('AUTH_ISSUERS must be a JSON array of issuers');
  const config = createAuthConfig({ issuers });
  return { ...config, clockToleranceSeconds: parseClockTolerance(env.AUTH_CLOCK_TOLERANCE_SECONDS) };
}
