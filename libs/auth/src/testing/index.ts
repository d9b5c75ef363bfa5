import { SignJWT } from 'jose';
import type { ApiKeyStore, IssuedApiKey } from '../api-keys/api-key-store';
import { type AuthConfig, createAuthConfig } from '../jwt/auth-config';
import type { Consumer, Scope, StaffRole } from '../principal';

/**
 * Test-only issuers and tokens. Never import from production code: these secrets are public. Not
 * exported from `@dh/auth`; use `@dh/auth/testing`.
 */
export const TEST_SECRETS = {
  client: 'test-only-client-credentials-secret-0123456789',
  customer: 'test-only-customer-portal-login-secret-0123456789',
  staff: 'test-only-backoffice-staff-login-secret-0123456789',
} as const;

export const TEST_ISSUERS = {
  client: { issuer: 'https://idp.test/clients', audience: 'datahub-core-api' },
  customer: { issuer: 'https://portal.test/login', audience: 'datahub-core-portal' },
  staff: { issuer: 'https://backoffice.test/login', audience: 'datahub-core-backoffice' },
} as const;

/** Client ids the test client issuer knows: `test-erp`, `test-crm`, `test-payment`. */
export const TEST_CLIENT_IDS: Readonly<Record<Consumer, string>> = { erp: 'test-erp', crm: 'test-crm', payment: 'test-payment' };

/** An `AuthConfig` trusting the three test issuers (HS256, shared secrets above). */
export function testAuthConfig(clockToleranceSeconds = 5): AuthConfig {
  return createAuthConfig({
    clockToleranceSeconds,
    issuers: [
      {
        name: 'test-clients',
        kind: 'client',
        ...TEST_ISSUERS.client,
        secret: TEST_SECRETS.client,
        clients: { [TEST_CLIENT_IDS.erp]: 'erp', [TEST_CLIENT_IDS.crm]: 'crm', [TEST_CLIENT_IDS.payment]: 'payment' },
      },
      { name: 'test-portal', kind: 'customer', ...TEST_ISSUERS.customer, secret: TEST_SECRETS.customer },
      { name: 'test-backoffice', kind: 'staff', ...TEST_ISSUERS.staff, secret: TEST_SECRETS.staff },
    ],
  });
}

export interface TestJwtOptions {
  kind: 'client' | 'customer' | 'staff';
  /** kind client: which system (default `erp`). */
  consumer?: Consumer;
  /** kind customer: required. */
  customerId?: string;
  /** kind staff (default `['admin']`). Plain strings allowed, to test unknown roles. */
  roles?: (StaffRole | string)[];
  /** Sent as the `scope` claim: narrows the defaults. */
  scopes?: (Scope | string)[];
  /** jose time span ("5m", "-1h") or seconds from now; default "5m". */
  expiresIn?: string | number;
  subject?: string;
  /** Override issuer/audience/secret to build wrong tokens. */
  issuer?: string;
  audience?: string;
  secret?: string;
}

/** A signed token the `testAuthConfig()` issuers accept (unless the options make it wrong). */
export async function issueTestJwt(options: TestJwtOptions): Promise<string> {
  const claims: Record<string, unknown> = {};
  let subject = options.subject;
  if (options.kind === 'client') {
    const clientId = TEST_CLIENT_IDS[options.consumer ?? 'erp'];
    claims.client_id = clientId;
    subject ??= clientId;
  } else if (options.kind === 'customer') {
    if (options.customerId === undefined) throw new Error('issueTestJwt: kind customer needs customerId');
    claims.customer_id = options.customerId;
    subject ??= `customer-login-${options.customerId}`;
  } else {
    claims.roles = options.roles ?? ['admin'];
    subject ??= 'employee-1';
  }
  if (options.scopes !== undefined) claims.scope = options.scopes.join(' ');
  const nowSeconds = Math.floor(Date.now() / 1000);
  const expiresIn = options.expiresIn ?? '5m';
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(options.issuer ?? TEST_ISSUERS[options.kind].issuer)
    .setAudience(options.audience ?? TEST_ISSUERS[options.kind].audience)
    .setSubject(subject)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(typeof expiresIn === 'number' ? nowSeconds + expiresIn : expiresIn)
    .sign(new TextEncoder().encode(options.secret ?? TEST_SECRETS[options.kind]));
}

/** Issues a real key in the store (run `migrateAuth` first); returns the clear key and its record. */
export function createTestApiKey(store: ApiKeyStore, options: { consumer?: Consumer; scopes?: Scope[]; name?: string } = {}): Promise<IssuedApiKey> {
  const consumer = options.consumer ?? 'erp';
  return store.issue({ name: options.name ?? `test ${consumer} key`, consumer, ...(options.scopes ? { scopes: options.scopes } : {}), createdBy: 'test' });
}

/** Header helpers for supertest: `.set(bearer(token))`, `.set(apiKeyHeader(key))`. */
export const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });
export const apiKeyHeader = (key: string): Record<string, string> => ({ 'X-Api-Key': key });

/** `AUTH_ISSUERS` for a service process under test: trusts the three test issuers above. */
export function testAuthIssuersEnv(): string {
  return JSON.stringify([
    { name: 'test-clients', kind: 'client', ...TEST_ISSUERS.client, secret: TEST_SECRETS.client, algorithm: 'HS256', clients: { [TEST_CLIENT_IDS.erp]: 'erp', [TEST_CLIENT_IDS.crm]: 'crm', [TEST_CLIENT_IDS.payment]: 'payment' } },
    { name: 'test-portal', kind: 'customer', ...TEST_ISSUERS.customer, secret: TEST_SECRETS.customer, algorithm: 'HS256' },
    { name: 'test-backoffice', kind: 'staff', ...TEST_ISSUERS.staff, secret: TEST_SECRETS.staff, algorithm: 'HS256' },
  ]);
}
