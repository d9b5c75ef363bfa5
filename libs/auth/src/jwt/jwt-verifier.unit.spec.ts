import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { issueTestJwt, TEST_ISSUERS, TEST_SECRETS, testAuthConfig } from '../testing';
import { AuthenticationError } from '../problems';
import { scopesForConsumer, scopesForRoles } from '../principal';
import { createAuthConfig } from './auth-config';
import { JwtVerifier } from './jwt-verifier';

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function refusal(promise: Promise<unknown>): Promise<AuthenticationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthenticationError);
  return error as AuthenticationError;
}

describe(JwtVerifier.name, () => {
  const verifier = new JwtVerifier(testAuthConfig(5));

  describe('principals', () => {
    it('turns a client-credentials token into a client principal with its system’s scopes', async () => {
      const principal = await verifier.verify(await issueTestJwt({ kind: 'client', consumer: 'crm' }));
      expect(principal).toEqual({ kind: 'client', id: 'test-crm', consumer: 'crm', scopes: scopesForConsumer('crm') });
    });

    it('turns a portal token into a customer principal bound to customer_id', async () => {
      const principal = await verifier.verify(await issueTestJwt({ kind: 'customer', customerId: 'c-1', subject: 'login-7' }));
      expect(principal).toEqual({ kind: 'customer', id: 'login-7', customerId: 'c-1', scopes: ['portal:read', 'portal:write'] });
    });

    it('turns a backoffice token into a staff principal with its roles’ scopes, dropping unknown roles', async () => {
      const principal = await verifier.verify(await issueTestJwt({ kind: 'staff', roles: ['support', 'superuser'], subject: 'emp-3' }));
      expect(principal).toEqual({ kind: 'staff', id: 'emp-3', roles: ['support'], scopes: scopesForRoles(['support']) });
    });

    it('lets the scope claim narrow, never widen', async () => {
      const principal = await verifier.verify(await issueTestJwt({ kind: 'client', consumer: 'payment', scopes: ['balance:read', 'audit:read', 'staff:write'] }));
      expect(principal.scopes).toEqual(['balance:read']);
    });

    it('refuses a client the issuer config does not list', async () => {
      const token = await new SignJWT({ client_id: 'stranger' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(TEST_ISSUERS.client.issuer)
        .setAudience(TEST_ISSUERS.client.audience)
        .setSubject('stranger')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(TEST_SECRETS.client));
      expect((await refusal(verifier.verify(token))).challengeError).toBe('invalid_token');
    });

    it('refuses a portal token without customer_id', async () => {
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(TEST_ISSUERS.customer.issuer)
        .setAudience(TEST_ISSUERS.customer.audience)
        .setSubject('login-1')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(TEST_SECRETS.customer));
      await refusal(verifier.verify(token));
    });
  });

  describe('refusals', () => {
    it('refuses an expired token, and says so', async () => {
      const error = await refusal(verifier.verify(await issueTestJwt({ kind: 'staff', expiresIn: -60 })));
      expect(error.publicReason).toMatch(/expired/);
    });

    it('accepts a token expired by less than the configured clock tolerance, not more', async () => {
      const token = await issueTestJwt({ kind: 'staff', expiresIn: -3 });
      await expect(new JwtVerifier(testAuthConfig(5)).verify(token)).resolves.toMatchObject({ kind: 'staff' });
      await refusal(new JwtVerifier(testAuthConfig(0)).verify(token));
    });

    it('refuses a token without exp', async () => {
      const token = await new SignJWT({ roles: ['admin'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(TEST_ISSUERS.staff.issuer)
        .setAudience(TEST_ISSUERS.staff.audience)
        .setSubject('emp-1')
        .sign(new TextEncoder().encode(TEST_SECRETS.staff));
      await refusal(verifier.verify(token));
    });

    it('refuses the wrong audience (a portal token presented as a backoffice token too)', async () => {
      await refusal(verifier.verify(await issueTestJwt({ kind: 'staff', audience: 'someone-else' })));
      await refusal(verifier.verify(await issueTestJwt({ kind: 'staff', audience: TEST_ISSUERS.customer.audience })));
    });

    it('refuses an unknown issuer', async () => {
      await refusal(verifier.verify(await issueTestJwt({ kind: 'staff', issuer: 'https://evil.test/' })));
    });

    it('refuses a bad signature', async () => {
      await refusal(verifier.verify(await issueTestJwt({ kind: 'staff', secret: 'another-secret-that-is-long-enough-0123456789' })));
      // A token signed with one issuer's key, claiming to come from another.
      await refusal(verifier.verify(await issueTestJwt({ kind: 'staff', secret: TEST_SECRETS.customer })));
      const good = await issueTestJwt({ kind: 'staff', roles: ['read-only'] });
      const [header, , signature] = good.split('.');
      const forged = [header, b64url({ iss: TEST_ISSUERS.staff.issuer, aud: TEST_ISSUERS.staff.audience, sub: 'emp-1', roles: ['admin'], exp: Math.floor(Date.now() / 1000) + 300 }), signature].join('.');
      await refusal(verifier.verify(forged));
    });

    it('refuses alg none', async () => {
      const payload = { iss: TEST_ISSUERS.staff.issuer, aud: TEST_ISSUERS.staff.audience, sub: 'emp-1', roles: ['admin'], exp: Math.floor(Date.now() / 1000) + 300 };
      await refusal(verifier.verify(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`));
      await refusal(verifier.verify(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}`));
    });

    it('refuses garbage', async () => {
      for (const token of ['', 'abc', 'a.b.c', `${b64url({ alg: 'HS256' })}.not-json.sig`]) {
        await refusal(verifier.verify(token));
      }
    });
  });

  describe('verified tokens remembered', () => {
    // The portal issuer's audience is changed after a verification: a token verified again is refused,
    // a remembered one is not. (Configurations never change in a running service; this only makes the
    // verification visible.)
    const retire = (config: ReturnType<typeof testAuthConfig>) => {
      config.issuers.find((i) => i.kind === 'customer')!.audience = 'retired-audience';
    };
    const customerToken = (expiresIn: string | number = '5m') => issueTestJwt({ kind: 'customer', customerId: 'c-9', subject: 'login-9', expiresIn });

    it('does not verify a token again within 60 s of its verification', async () => {
      const config = testAuthConfig(5);
      let now = Date.now();
      const sut = new JwtVerifier(config, { now: () => new Date(now) });
      const token = await customerToken();
      const first = await sut.verify(token);
      retire(config);
      now += 59_000;
      await expect(sut.verify(token)).resolves.toEqual(first);
      now += 2_000;
      await refusal(sut.verify(token));
    });

    it('never past the token’s exp: it is verified again then (and refused once expired beyond the clock tolerance)', async () => {
      const config = testAuthConfig(5);
      let now = Date.now();
      const sut = new JwtVerifier(config, { now: () => new Date(now) });
      const token = await customerToken(20);
      await sut.verify(token);
      now += 21_000;
      // Within the clock tolerance: verified again, and still accepted.
      await expect(sut.verify(token)).resolves.toMatchObject({ kind: 'customer', customerId: 'c-9' });
      retire(config);
      await refusal(sut.verify(token));
      now += 10_000;
      expect((await refusal(new JwtVerifier(testAuthConfig(5), { now: () => new Date(now) }).verify(token))).publicReason).toMatch(/expired/);
    });

    it('remembers no refusal', async () => {
      const config = testAuthConfig(5);
      const sut = new JwtVerifier(config);
      const token = await customerToken();
      const audience = config.issuers.find((i) => i.kind === 'customer')!.audience;
      retire(config);
      await refusal(sut.verify(token));
      config.issuers.find((i) => i.kind === 'customer')!.audience = audience;
      await expect(sut.verify(token)).resolves.toMatchObject({ kind: 'customer', customerId: 'c-9' });
    });

    it('verifies again when the clock is set back before the verification', async () => {
      const config = testAuthConfig(5);
      let now = Date.now();
      const sut = new JwtVerifier(config, { now: () => new Date(now) });
      const token = await customerToken();
      await sut.verify(token);
      retire(config);
      now -= 1_000;
      await refusal(sut.verify(token));
    });

    it('keeps at most verifiedTokenCacheSize tokens, forgetting the oldest; 0 remembers none', async () => {
      const config = testAuthConfig(5);
      const sut = new JwtVerifier(config, { verifiedTokenCacheSize: 1 });
      const [a, b] = [await customerToken(), await issueTestJwt({ kind: 'customer', customerId: 'c-10' })];
      await sut.verify(a);
      await sut.verify(b);
      retire(config);
      await refusal(sut.verify(a));
      await expect(sut.verify(b)).resolves.toMatchObject({ customerId: 'c-10' });

      const none = testAuthConfig(5);
      const uncached = new JwtVerifier(none, { verifiedTokenCacheSize: 0 });
      await uncached.verify(a);
      retire(none);
      await refusal(uncached.verify(a));
    });

    it('hands every request its own copy of the principal', async () => {
      const sut = new JwtVerifier(testAuthConfig(5));
      const token = await issueTestJwt({ kind: 'staff', roles: ['support'] });
      const first = await sut.verify(token);
      first.scopes.push('staff:write');
      first.roles!.push('admin');
      expect(await sut.verify(token)).toEqual({ kind: 'staff', id: 'employee-1', roles: ['support'], scopes: scopesForRoles(['support']) });
    });
  });

  describe('public-key issuers', () => {
    it('verifies RS256 with a configured PEM key and refuses an HS256 token keyed with that public key (algorithm confusion)', async () => {
      const { publicKey, privateKey } = await generateKeyPair('RS256');
      const pem = await exportSPKI(publicKey);
      const config = createAuthConfig({ issuers: [{ name: 'erp-idp', kind: 'client', issuer: 'https://idp.example', audience: 'api', publicKey: pem, algorithm: 'RS256', clients: { 'erp-1': 'erp' } }] });
      const sut = new JwtVerifier(config);
      const claims = new SignJWT({ client_id: 'erp-1' }).setIssuer('https://idp.example').setAudience('api').setSubject('erp-1').setExpirationTime('5m');
      const good = await claims.setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
      await expect(sut.verify(good)).resolves.toMatchObject({ kind: 'client', id: 'erp-1', consumer: 'erp' });

      const confused = await new SignJWT({ client_id: 'erp-1' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('https://idp.example')
        .setAudience('api')
        .setSubject('erp-1')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(pem));
      await refusal(sut.verify(confused));

      const other = await generateKeyPair('RS256');
      await refusal(sut.verify(await new SignJWT({ client_id: 'erp-1' }).setProtectedHeader({ alg: 'RS256' }).setIssuer('https://idp.example').setAudience('api').setSubject('erp-1').setExpirationTime('5m').sign(other.privateKey)));
    });
  });
});
