import { randomBytes, timingSafeEqual } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { Scenario, ScenarioClient } from './scenario';

const ISSUER = 'https://login.datahub-sim.local/v2.0';
const ALGORITHM = 'HS256';

export interface IssuedToken {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
}

export interface TokenActor {
  readonly clientId: string;
  readonly gln: string;
}

export type TokenCheck = { readonly ok: true; readonly actor: TokenActor } | { readonly ok: false; readonly description: string };

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Issues and verifies HS256 JWTs on the simulator's clock (`iat`/`exp` follow the virtual time). */
export class TokenService {
  private readonly key = new Uint8Array(randomBytes(32));

  constructor(private readonly scenario: Scenario) {}

  authenticate(clientId: string, clientSecret: string): ScenarioClient | undefined {
    const client = this.scenario.clients.find((c) => c.clientId === clientId);
    return client && sameSecret(client.clientSecret, clientSecret) ? client : undefined;
  }

  async issue(client: ScenarioClient, scope: string, now: Date): Promise<IssuedToken> {
    const iat = Math.floor(now.getTime() / 1000);
    const lifetime = this.scenario.tokenLifetimeSeconds;
    const accessToken = await new SignJWT({ azp: client.clientId, roles: ['energysupplier'], gln: client.gln, scp: scope })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(scope)
      .setSubject(client.clientId)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + lifetime)
      .sign(this.key);
    return { access_token: accessToken, token_type: 'Bearer', expires_in: lifetime };
  }

  async verify(token: string, now: Date): Promise<TokenCheck> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: [ALGORITHM], issuer: ISSUER, currentDate: now });
      const clientId = typeof payload['azp'] === 'string' ? payload['azp'] : undefined;
      const client = this.scenario.clients.find((c) => c.clientId === clientId);
      if (!client) return { ok: false, description: 'unknown client' };
      return { ok: true, actor: { clientId: client.clientId, gln: client.gln } };
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { ok: false, description: 'token expired' };
      return { ok: false, description: 'invalid token' };
    }
  }
}
