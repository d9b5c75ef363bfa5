import { ProblemException, type ProblemDetails } from '@dh/platform';

/** Thrown by the authenticator; the guard turns it into a 401 with a `WWW-Authenticate` challenge. */
export class AuthenticationError extends Error {
  override readonly name = 'AuthenticationError';
  constructor(
    /** Safe to show the caller: says what was wrong in general terms, never which key/claim matched. */
    readonly publicReason: string,
    /** RFC 6750 error code for the challenge: absent when no credentials were sent at all. */
    readonly challengeError?: 'invalid_request' | 'invalid_token',
  ) {
    super(publicReason);
  }
}

export const AUTH_REALM = 'datahub-core';

/** `WWW-Authenticate` value: both accepted schemes, with an RFC 6750 error when credentials were bad. */
export function wwwAuthenticate(error?: AuthenticationError): string {
  const bearer = error?.challengeError ? `Bearer realm="${AUTH_REALM}", error="${error.challengeError}"` : `Bearer realm="${AUTH_REALM}"`;
  return `${bearer}, ApiKey realm="${AUTH_REALM}"`;
}

export function unauthorizedProblem(detail: string): ProblemException {
  return new ProblemException({ type: 'unauthorized', title: 'Unauthorized', status: 401, detail });
}

export function forbiddenProblem(missing: readonly string[], mode: 'all' | 'any'): ProblemException {
  const detail =
    mode === 'all'
      ? `Missing scope${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`
      : `Requires one of the scopes: ${missing.join(', ')}`;
  return new ProblemException({ type: 'forbidden', title: 'Forbidden', status: 403, detail, missingScopes: [...missing] });
}

/** An endpoint without a scope declaration is a programming error; it fails closed. */
export function undeclaredScopesProblem(): ProblemException {
  return new ProblemException({ type: 'forbidden', title: 'Forbidden', status: 403, detail: 'This endpoint is not open to any scope' });
}

export const DEFAULT_NOT_FOUND: ProblemDetails = { type: 'not-found', title: 'Not found', status: 404, detail: 'The resource does not exist' };
