import { DEFAULT_PUBLIC_PATHS } from './nest/auth.guard';
import { assertCustomerAccess, canAccessCustomer, customerScopeFilter } from './customer-access';
import { Authenticator, extractCredential } from './authenticator';
import { JwtVerifier } from './jwt/jwt-verifier';
import type { Principal } from './principal';
import { AuthenticationError, wwwAuthenticate } from './problems';
import { issueTestJwt, testAuthConfig } from './testing';
import { ProblemException } from '@dh/platform';

describe(extractCredential.name, () => {
  it('reads Bearer, ApiKey and X-Api-Key, case-insensitively for the scheme', () => {
    expect(extractCredential({ authorization: 'Bearer abc' })).toEqual({ kind: 'bearer', token: 'abc' });
    expect(extractCredential({ authorization: 'bearer abc' })).toEqual({ kind: 'bearer', token: 'abc' });
    expect(extractCredential({ authorization: 'ApiKey dhk_x' })).toEqual({ kind: 'api-key', key: 'dhk_x' });
    expect(extractCredential({ apiKey: 'dhk_y' })).toEqual({ kind: 'api-key', key: 'dhk_y' });
  });

  it.each([
    ['nothing', {}, undefined],
    ['two credentials', { authorization: 'Bearer a', apiKey: 'b' }, 'invalid_request'],
    ['Basic', { authorization: 'Basic dXNlcjpwYXNz' }, 'invalid_request'],
    ['a bare token', { authorization: 'abc' }, 'invalid_request'],
    ['extra parts', { authorization: 'Bearer a b' }, 'invalid_request'],
  ])('refuses %s', (_name, headers, challengeError) => {
    let error: unknown;
    try {
      extractCredential(headers);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).challengeError).toBe(challengeError);
  });
});

describe(Authenticator.name, () => {
  const keyPrincipal: Principal = { kind: 'api-key', id: 'k1', consumer: 'payment', scopes: ['payments:write'] };
  const sut = new Authenticator(new JwtVerifier(testAuthConfig()), { verify: async (key) => (key === 'good' ? keyPrincipal : undefined) });

  it('resolves API keys through the key verifier and bearer tokens through the JWT verifier', async () => {
    await expect(sut.authenticate({ apiKey: 'good' })).resolves.toBe(keyPrincipal);
    await expect(sut.authenticate({ authorization: 'ApiKey good' })).resolves.toBe(keyPrincipal);
    await expect(sut.authenticate({ authorization: `Bearer ${await issueTestJwt({ kind: 'customer', customerId: 'c1' })}` })).resolves.toMatchObject({ kind: 'customer', customerId: 'c1' });
  });

  it('refuses an unknown key and an API key sent as a bearer token', async () => {
    await expect(sut.authenticate({ apiKey: 'bad' })).rejects.toBeInstanceOf(AuthenticationError);
    await expect(sut.authenticate({ authorization: 'Bearer good' })).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('challenges for both schemes, with an RFC 6750 error only when credentials were bad', () => {
    expect(wwwAuthenticate()).toBe('Bearer realm="datahub-core", ApiKey realm="datahub-core"');
    expect(wwwAuthenticate(new AuthenticationError('x', 'invalid_token'))).toBe('Bearer realm="datahub-core", error="invalid_token", ApiKey realm="datahub-core"');
  });
});

describe('customer access', () => {
  const customerA: Principal = { kind: 'customer', id: 'login-a', customerId: 'A', scopes: ['portal:read'] };
  const staff: Principal = { kind: 'staff', id: 'emp', roles: ['support'], scopes: ['customers:read'] };

  it('lets a customer reach their own customer only, with a 404 otherwise', () => {
    expect(() => assertCustomerAccess(customerA, 'A')).not.toThrow();
    let error: unknown;
    try {
      assertCustomerAccess(customerA, 'B');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProblemException);
    expect((error as ProblemException).getStatus()).toBe(404);
    expect(canAccessCustomer(customerA, 'B')).toBe(false);
  });

  it('answers with the endpoint’s own not-found problem when given one', () => {
    const notFound = { type: 'customer-not-found', title: 'Customer not found', status: 404, detail: 'No customer with id B' };
    expect(() => assertCustomerAccess(customerA, 'B', notFound)).toThrow(expect.objectContaining({ response: expect.objectContaining({ type: expect.stringMatching(/customer-not-found$/) }) }));
  });

  it('leaves staff and systems to their scopes', () => {
    expect(() => assertCustomerAccess(staff, 'B')).not.toThrow();
    expect(customerScopeFilter(staff)).toEqual({});
  });

  it('filters lists to the customer’s own id, and refuses a customer principal without one', () => {
    expect(customerScopeFilter(customerA)).toEqual({ customerId: 'A' });
    expect(() => customerScopeFilter({ kind: 'customer', id: 'x', scopes: ['portal:read'] })).toThrow(ProblemException);
  });
});

describe('DEFAULT_PUBLIC_PATHS', () => {
  it('opens the platform health endpoints and nothing else (metrics live on a port of their own)', () => {
    const open = (path: string) => DEFAULT_PUBLIC_PATHS.some((p) => p.test(path));
    expect(['/health', '/health/', '/health/live', '/health/ready'].every(open)).toBe(true);
    expect(['/healthz', '/health/live/x', '/api/health', '/health/../api/customers', '/api/customers', '/metrics', '/metrics/x', '/api/metrics'].some(open)).toBe(false);
  });
});
