import {
  calculateJwkThumbprint,
  createRemoteJWKSet,
  decodeJwt,
  errors,
  exportJWK,
  importSPKI,
  jwksCache,
  jwtVerify,
  type JWK,
  type JWKSCacheInput,
  type JWTPayload,
  type JWTVerifyOptions,
  type KeyLike,
} from 'jose';
import { CUSTOMER_SCOPES, isStaffRole, narrowScopes, type Principal, scopesForConsumer, scopesForRoles } from '../principal';
import { AuthenticationError } from '../problems';
import type { AuthConfig, IssuerConfig } from './auth-config';

/**
 * An issuer's JWKS as jose fetches and caches it. `cache` is jose's own record of the set it holds (`uat`: when it
 * was fetched, `jwks`: the set), updated by every fetch; `published` is the keys of that set, worked out once per fetch.
 */
interface RemoteKeys {
  kind: 'remote';
  getKey: ReturnType<typeof createRemoteJWKSet>;
  cache: JWKSCacheInput;
  published: { uat: number; keys: Promise<ReadonlySet<string>> } | null;
}

type VerificationKey = { kind: 'static'; key: Promise<KeyLike | Uint8Array> } | RemoteKeys;

interface PreparedIssuer {
  config: IssuerConfig;
  key: VerificationKey;
  algorithms: string[];
}

export interface JwtVerifierOptions {
  /** For tests: the verifier's idea of now. */
  now?: () => Date;
  /** JWKS fetch timeout; default 5 s. */
  jwksTimeoutMs?: number;
  /** How long a fetched JWKS is used before it is fetched again; default 10 min. */
  jwksCacheMaxAgeMs?: number;
  /** After a fetch, how long a token naming a key the JWKS lacks is refused without fetching it again; default 30 s. */
  jwksCooldownMs?: number;
  /**
   * Verified tokens remembered (by the exact token string, signature included) so that the next request
   * with the same token skips the signature check: at most this many (default 10,000; 0: none), the
   * oldest forgotten first.
   */
  verifiedTokenCacheSize?: number;
  /** How long a verified token is remembered: until its `exp`, and at most this long (default 60 s). */
  verifiedTokenCacheMs?: number;
}

export const DEFAULT_VERIFIED_TOKEN_CACHE_SIZE = 10_000;
export const DEFAULT_VERIFIED_TOKEN_CACHE_MS = 60_000;

interface VerifiedToken {
  principal: Principal;
  /** Epoch ms of the verification: a clock set back before it verifies again. */
  from: number;
  /** Epoch ms from which the token is verified again (never later than its `exp`). */
  until: number;
  /** For a key from a JWKS: the key (see `keyIdentity`) and the fetch of the JWKS it was last known to be in. */
  signedBy?: { keys: RemoteKeys; key: string; uat: number };
}

/** When jose last fetched the JWKS (0: never). */
const fetchedAt = (keys: RemoteKeys): number => ('uat' in keys.cache && typeof keys.cache.uat === 'number' ? keys.cache.uat : 0);

/**
 * A signing key as a token selects it: the `kid` it names (empty when it names none) and the key's RFC 7638
 * thumbprint, so a `kid` reused for another key is another key.
 */
const keyIdentity = (kid: string | undefined, thumbprint: string): string => `${kid ?? ''} ${thumbprint}`;

/** The identities of the keys in a JWKS: each with its `kid`, and without (for tokens that name none). */
async function publishedKeys(jwks: readonly JWK[]): Promise<ReadonlySet<string>> {
  const out = new Set<string>();
  for (const jwk of jwks) {
    let thumbprint: string;
    try {
      thumbprint = await calculateJwkThumbprint(jwk);
    } catch {
      continue; // Not a key jose could verify with either.
    }
    out.add(keyIdentity(undefined, thumbprint));
    if (typeof jwk.kid === 'string') out.add(keyIdentity(jwk.kid, thumbprint));
  }
  return out;
}

/** A copy per request: no request can change the principal another one gets. */
function copyOf(principal: Principal): Principal {
  return { ...principal, scopes: [...principal.scopes], ...(principal.roles ? { roles: [...principal.roles] } : {}) };
}

function prepare(config: IssuerConfig, options: JwtVerifierOptions): PreparedIssuer {
  if ('jwksUrl' in config) {
    const cache: JWKSCacheInput = {};
    const getKey = createRemoteJWKSet(new URL(config.jwksUrl), {
      timeoutDuration: options.jwksTimeoutMs ?? 5000,
      cooldownDuration: options.jwksCooldownMs ?? 30_000,
      cacheMaxAge: options.jwksCacheMaxAgeMs ?? 10 * 60_000,
      [jwksCache]: cache,
    });
    return { config, key: { kind: 'remote', getKey, cache, published: null }, algorithms: config.algorithms ?? ['RS256', 'PS256', 'ES256', 'EdDSA'] };
  }
  if ('publicKey' in config) {
    const algorithm = config.algorithm ?? 'RS256';
    const key = importSPKI(config.publicKey, algorithm);
    // Surface a broken key at verification time as a refusal, not an unhandled rejection at start-up.
    key.catch(() => undefined);
    return { config, key: { kind: 'static', key }, algorithms: [algorithm] };
  }
  const algorithm = config.algorithm ?? 'HS256';
  return { config, key: { kind: 'static', key: Promise.resolve(new TextEncoder().encode(config.secret)) }, algorithms: [algorithm] };
}

function stringClaim(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `scope` (space-separated, RFC 8693/9068) or `scp` (array or string); `undefined` when absent. */
function scopeClaim(payload: JWTPayload): string[] | undefined {
  const raw = payload.scope ?? payload.scp;
  if (raw === undefined) return undefined;
  if (typeof raw === 'string') return raw.split(' ').filter((s) => s !== '');
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === 'string');
  return [];
}

function listClaim(payload: JWTPayload, name: string): string[] {
  const raw = payload[name];
  if (typeof raw === 'string') return raw.split(' ').filter((s) => s !== '');
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === 'string');
  return [];
}

const invalid = (reason = 'The access token is invalid'): AuthenticationError => new AuthenticationError(reason, 'invalid_token');

/**
 * Verifies bearer JWTs against the configured issuers (signature, `iss`, `aud`, `exp`/`nbf` with a
 * small explicit clock tolerance, allowed algorithms per issuer; `alg: none` can never pass) and turns
 * the claims into a principal.
 */
export class JwtVerifier {
  private readonly issuers: PreparedIssuer[];
  /** Tokens that passed verification, oldest first (a `Map` keeps insertion order). */
  private readonly verified = new Map<string, VerifiedToken>();
  private readonly cacheSize: number;
  private readonly cacheMs: number;

  constructor(
    private readonly config: AuthConfig,
    private readonly options: JwtVerifierOptions = {},
  ) {
    this.issuers = config.issuers.map((issuer) => prepare(issuer, options));
    this.cacheSize = options.verifiedTokenCacheSize ?? DEFAULT_VERIFIED_TOKEN_CACHE_SIZE;
    this.cacheMs = options.verifiedTokenCacheMs ?? DEFAULT_VERIFIED_TOKEN_CACHE_MS;
  }

  /**
   * Throws `AuthenticationError` (expired, unknown issuer, bad signature, wrong audience, missing claims).
   * A token verified before and not yet expired (see `verifiedTokenCacheMs`) is not checked again;
   * refusals are never remembered.
   */
  async verify(token: string): Promise<Principal> {
    const now = this.options.now ? this.options.now().getTime() : Date.now();
    const known = this.verified.get(token);
    if (known !== undefined) {
      if (known.from <= now && now < known.until) {
        const stillPublished = known.signedBy === undefined || this.stillPublished(known.signedBy);
        if (stillPublished === true || (stillPublished !== false && (await stillPublished))) return copyOf(known.principal);
      }
      this.verified.delete(token);
    }
    const { principal, expiresAt, signedBy } = await this.verifyToken(token);
    this.remember(token, { principal, from: now, until: Math.min(expiresAt, now + this.cacheMs), ...(signedBy ? { signedBy } : {}) });
    return copyOf(principal);
  }

  /**
   * Whether a remembered token's key is still in its issuer's JWKS. A JWKS fetched since the token was verified
   * (for any request: a token naming a key the set lacked, the set aged out) is looked at, so a withdrawn key stops
   * its tokens as soon as the JWKS is fetched without it; a JWKS that aged out and was not fetched again since is not
   * trusted: the token is verified again, which fetches it.
   */
  private stillPublished(signedBy: NonNullable<VerifiedToken['signedBy']>): boolean | Promise<boolean> {
    const { keys } = signedBy;
    if (!keys.getKey.fresh) return false;
    const uat = fetchedAt(keys);
    if (uat === signedBy.uat) return true;
    if (keys.published?.uat !== uat) {
      const jwks = 'jwks' in keys.cache && Array.isArray(keys.cache.jwks?.keys) ? keys.cache.jwks.keys : [];
      keys.published = { uat, keys: publishedKeys(jwks) };
    }
    return keys.published.keys.then((published) => {
      if (!published.has(signedBy.key)) return false;
      signedBy.uat = uat;
      return true;
    });
  }

  private remember(token: string, entry: VerifiedToken): void {
    if (this.cacheSize <= 0 || entry.until <= entry.from) return;
    while (this.verified.size >= this.cacheSize) {
      const oldest = this.verified.keys().next();
      if (oldest.done === true) break;
      this.verified.delete(oldest.value);
    }
    this.verified.set(token, entry);
  }

  private async verifyToken(token: string): Promise<{ principal: Principal; expiresAt: number; signedBy?: VerifiedToken['signedBy'] }> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      throw invalid('The access token is malformed');
    }
    const candidates = this.issuers.filter((issuer) => issuer.config.issuer === unverified.iss);
    if (candidates.length === 0) throw invalid();
    // Made only when needed: an error captures a stack trace, which a verified token need not pay for.
    let failure: AuthenticationError | undefined;
    // Several configurations may share an issuer (one IdP, portal and backoffice audiences): the first
    // whose audience and key accept the token wins.
    for (const issuer of candidates) {
      const verifyOptions: JWTVerifyOptions = {
        issuer: issuer.config.issuer,
        audience: issuer.config.audience,
        algorithms: issuer.algorithms,
        clockTolerance: this.config.clockToleranceSeconds,
        requiredClaims: ['exp', 'sub'],
        ...(this.options.now ? { currentDate: this.options.now() } : {}),
      };
      try {
        if (issuer.key.kind === 'remote') {
          // Read before the key is looked up: a fetch during the look-up makes the remembered token be checked against it.
          const uat = fetchedAt(issuer.key);
          const { payload, protectedHeader, key } = await jwtVerify(token, issuer.key.getKey, verifyOptions);
          const principal = this.toPrincipal(issuer.config, payload);
          const thumbprint = await calculateJwkThumbprint(await exportJWK(key));
          return { principal, expiresAt: (payload.exp ?? 0) * 1000, signedBy: { keys: issuer.key, key: keyIdentity(protectedHeader.kid, thumbprint), uat } };
        }
        const { payload } = await jwtVerify(token, await issuer.key.key, verifyOptions);
        // `exp` is a required claim: jose refuses a token without a numeric one.
        return { principal: this.toPrincipal(issuer.config, payload), expiresAt: (payload.exp ?? 0) * 1000 };
      } catch (error) {
        if (error instanceof AuthenticationError) throw error;
        if (error instanceof errors.JWTExpired) failure = invalid('The access token has expired');
        // Anything else (signature, audience, algorithm, unreachable JWKS) stays "invalid": the caller
        // learns no more than that.
      }
    }
    throw failure ?? invalid();
  }

  private toPrincipal(issuer: IssuerConfig, payload: JWTPayload): Principal {
    const subject = stringClaim(payload, 'sub');
    if (subject === undefined) throw invalid();
    const requested = scopeClaim(payload);
    switch (issuer.kind) {
      case 'client': {
        const clientId = stringClaim(payload, 'client_id') ?? stringClaim(payload, 'azp') ?? subject;
        const consumer = issuer.clients?.[clientId];
        if (consumer === undefined) throw invalid('The client is not registered with this API');
        return { kind: 'client', id: clientId, consumer, scopes: narrowScopes(scopesForConsumer(consumer), requested) };
      }
      case 'customer': {
        const customerId = stringClaim(payload, issuer.customerIdClaim ?? 'customer_id');
        if (customerId === undefined) throw invalid('The access token names no customer');
        return { kind: 'customer', id: subject, customerId, scopes: narrowScopes(CUSTOMER_SCOPES, requested) };
      }
      case 'staff': {
        const roles = [...new Set(listClaim(payload, issuer.rolesClaim ?? 'roles').filter(isStaffRole))];
        return { kind: 'staff', id: subject, roles, scopes: narrowScopes(scopesForRoles(roles), requested) };
      }
    }
  }
}
