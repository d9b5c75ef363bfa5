import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { Scenario, ScenarioThirdParty } from './scenario';

const ISSUER = 'https://api.eloverblik-sim.local/thirdpartyapi';
const ALGORITHM = 'HS256';

export type AccessCheck = { readonly ok: true; readonly thirdParty: ScenarioThirdParty } | { readonly ok: false; readonly reason: 'missing' | 'invalid' | 'expired' };

function same(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The bearer token of an `Authorization` header, if any. */
export function bearerOf(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/**
 * Refresh tokens are the scenario's opaque strings; data access tokens are HS256 JWTs on the simulator's clock
 * (`iat`/`exp` follow the virtual time). `revokeAll` makes every token issued so far answer 401 (the "expired access
 * token" fault): each token carries the generation it was issued in.
 */
export class TokenService {
  private readonly key = new Uint8Array(randomBytes(32));
  private generation = 0;

  constructor(private readonly scenario: Scenario) {}

  thirdPartyOf(refreshToken: string, now: Date): ScenarioThirdParty | undefined {
    const tp = this.scenario.thirdParties.find((t) => same(t.refreshToken, refreshToken));
    if (!tp) return undefined;
    if (tp.refreshTokenExpiresAt !== undefined && now.getTime() >= Date.parse(tp.refreshTokenExpiresAt)) return undefined;
    return tp;
  }

  async issue(thirdParty: ScenarioThirdParty, now: Date): Promise<string> {
    const iat = Math.floor(now.getTime() / 1000);
    const index = this.scenario.thirdParties.indexOf(thirdParty);
    return new SignJWT({ tp: index, gen: this.generation, tokenType: 'DataAccessToken' })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(thirdParty.name)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + this.scenario.accessTokenLifetimeSeconds)
      .sign(this.key);
  }

  revokeAll(): void {
    this.generation++;
  }

  async verify(token: string | undefined, now: Date): Promise<AccessCheck> {
    if (token === undefined) return { ok: false, reason: 'missing' };
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: [ALGORITHM], issuer: ISSUER, currentDate: now });
      if (payload['gen'] !== this.generation) return { ok: false, reason: 'expired' };
      const index = payload['tp'];
      const tp = typeof index === 'number' ? this.scenario.thirdParties[index] : undefined;
      if (!tp) return { ok: false, reason: 'invalid' };
      return { ok: true, thirdParty: tp };
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { ok: false, reason: 'expired' };
      return { ok: false, reason: 'invalid' };
    }
  }
}
