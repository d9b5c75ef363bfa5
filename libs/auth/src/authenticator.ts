import type { Principal } from './principal';
import { AuthenticationError } from './problems';
import type { JwtVerifier } from './jwt/jwt-verifier';

/** Anything that turns a presented API key into a principal (the Postgres `ApiKeyStore`, or a fake). */
export interface ApiKeyVerifier {
  verify(key: string): Promise<Principal | undefined>;
}

/** The two headers credentials may arrive in. */
export interface PresentedCredentials {
  authorization?: string | undefined;
  apiKey?: string | undefined;
}

export type Credential = { kind: 'bearer'; token: string } | { kind: 'api-key'; key: string };

/**
 * `Authorization: Bearer <jwt>`, `Authorization: ApiKey <key>` or `X-Api-Key: <key>`; exactly one.
 * Throws `AuthenticationError` when none or several are present or the header is malformed.
 */
export function extractCredential(headers: PresentedCredentials): Credential {
  const authorization = headers.authorization?.trim();
  const apiKey = headers.apiKey?.trim();
  if (authorization && apiKey) throw new AuthenticationError('Send one credential: either Authorization or X-Api-Key', 'invalid_request');
  if (apiKey) return { kind: 'api-key', key: apiKey };
  if (!authorization) throw new AuthenticationError('Authentication is required');
  const match = /^(\S+)\s+(\S+)$/.exec(authorization);
  if (!match) throw new AuthenticationError('Malformed Authorization header', 'invalid_request');
  const scheme = match[1].toLowerCase();
  if (scheme === 'bearer') return { kind: 'bearer', token: match[2] };
  if (scheme === 'apikey') return { kind: 'api-key', key: match[2] };
  throw new AuthenticationError('Unsupported authorization scheme; use Bearer or ApiKey', 'invalid_request');
}

/** Resolves the caller from request headers; every failure is an `AuthenticationError` (→ 401). */
export class Authenticator {
  constructor(
    private readonly jwt: JwtVerifier,
    private readonly apiKeys?: ApiKeyVerifier,
  ) {}

  async authenticate(headers: PresentedCredentials): Promise<Principal> {
    const credential = extractCredential(headers);
    if (credential.kind === 'bearer') return this.jwt.verify(credential.token);
    const principal = this.apiKeys ? await this.apiKeys.verify(credential.key) : undefined;
    if (!principal) throw new AuthenticationError('The API key is invalid or revoked', 'invalid_token');
    return principal;
  }
}
