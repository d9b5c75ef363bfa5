import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { AuthenticationError } from '../problems';
import { createAuthConfig } from './auth-config';
import { JwtVerifier } from './jwt-verifier';

describe('JwtVerifier with a remote JWKS', () => {
  let server: Server;
  let url: string;
  let privateKey: KeyLike;
  let requests = 0;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = createServer((_req, res) => {
      requests += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const sign = (key: KeyLike, kid = 'k1') =>
    new SignJWT({ client_id: 'crm-1' }).setProtectedHeader({ alg: 'ES256', kid }).setIssuer('https://idp.local').setAudience('api').setSubject('crm-1').setExpirationTime('5m').sign(key);

  it('fetches the key set, verifies with it, caches it, and refuses a key it does not list', async () => {
    const sut = new JwtVerifier(createAuthConfig({ issuers: [{ name: 'idp', kind: 'client', issuer: 'https://idp.local', audience: 'api', jwksUrl: url, algorithms: ['ES256'], clients: { 'crm-1': 'crm' } }] }));
    await expect(sut.verify(await sign(privateKey))).resolves.toMatchObject({ kind: 'client', id: 'crm-1', consumer: 'crm' });
    await expect(sut.verify(await sign(privateKey))).resolves.toMatchObject({ kind: 'client' });
    expect(requests).toBe(1);
    const stranger = await generateKeyPair('ES256');
    await expect(sut.verify(await sign(stranger.privateKey))).rejects.toBeInstanceOf(AuthenticationError);
    await expect(sut.verify(await sign(stranger.privateKey, 'k2'))).rejects.toBeInstanceOf(AuthenticationError);
  });

  describe('a key withdrawn from the JWKS', () => {
    let keySet: { k1: KeyLike; k2: KeyLike; k3: KeyLike };
    let k3Published: object;
    let all: object[];
    let published: object[];
    let fetches = 0;
    let rotating: Server;
    let rotatingUrl: string;

    beforeAll(async () => {
      const [one, two, three] = [await generateKeyPair('ES256'), await generateKeyPair('ES256'), await generateKeyPair('ES256')];
      keySet = { k1: one.privateKey, k2: two.privateKey, k3: three.privateKey };
      const jwk = async (key: KeyLike, kid: string) => ({ ...(await exportJWK(key)), kid, alg: 'ES256', use: 'sig' });
      all = [await jwk(one.publicKey, 'k1'), await jwk(two.publicKey, 'k2')];
      k3Published = await jwk(three.publicKey, 'k3');
      rotating = createServer((_req, res) => {
        fetches += 1;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: published }));
      });
      await new Promise<void>((resolve) => rotating.listen(0, '127.0.0.1', resolve));
      rotatingUrl = `http://127.0.0.1:${(rotating.address() as AddressInfo).port}/jwks`;
    });
    beforeEach(() => {
      published = all;
    });
    afterAll(async () => {
      await new Promise((resolve) => rotating.close(resolve));
    });

    const verifier = (options: ConstructorParameters<typeof JwtVerifier>[1]) =>
      new JwtVerifier(createAuthConfig({ issuers: [{ name: 'idp', kind: 'client', issuer: 'https://idp.local', audience: 'api', jwksUrl: rotatingUrl, algorithms: ['ES256'], clients: { 'crm-1': 'crm' } }] }), options);
    const withdraw = (kid: string) => (published = published.filter((k) => (k as { kid: string }).kid !== kid));

    it('stops the tokens it signed, remembered as verified, as soon as the JWKS is fetched without it (by any request)', async () => {
      // No cool-down: the rotated set is fetched for the first token of the new key, however soon.
      const sut = verifier({ jwksCooldownMs: 0 });
      const [byK1, byK2] = [await sign(keySet.k1, 'k1'), await sign(keySet.k2, 'k2')];
      await expect(sut.verify(byK1)).resolves.toMatchObject({ kind: 'client', consumer: 'crm' });
      await expect(sut.verify(byK2)).resolves.toMatchObject({ kind: 'client', consumer: 'crm' });
      const fetched = fetches;
      // The issuer rotates: k3 published, k1 withdrawn.
      published = [all[1]!, k3Published];
      // Until the JWKS is fetched again, k1 is the issuer's key as far as anyone here knows.
      await expect(sut.verify(byK1)).resolves.toMatchObject({ kind: 'client' });
      expect(fetches).toBe(fetched);
      // Another request's token names k3, which the cached JWKS lacks: the JWKS is fetched again, without k1.
      await expect(sut.verify(await sign(keySet.k3, 'k3'))).resolves.toMatchObject({ kind: 'client' });
      expect(fetches).toBe(fetched + 1);
      await expect(sut.verify(byK1)).rejects.toBeInstanceOf(AuthenticationError);
      // A token of a key still published stays remembered: accepted without fetching the JWKS again.
      const beforeK2 = fetches;
      await expect(sut.verify(byK2)).resolves.toMatchObject({ kind: 'client', consumer: 'crm' });
      expect(fetches).toBe(beforeK2);
    });

    it('verifies a remembered token again once the JWKS it was checked against has aged out', async () => {
      const sut = verifier({ jwksCacheMaxAgeMs: 1000 });
      const byK2 = await sign(keySet.k2, 'k2');
      await expect(sut.verify(byK2)).resolves.toMatchObject({ kind: 'client' });
      const before = fetches;
      await expect(sut.verify(byK2)).resolves.toMatchObject({ kind: 'client' });
      expect(fetches).toBe(before);
      withdraw('k2');
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await expect(sut.verify(byK2)).rejects.toBeInstanceOf(AuthenticationError);
      expect(fetches).toBe(before + 1);
    });
  });

  it('refuses tokens when the JWKS endpoint is unreachable', async () => {
    const sut = new JwtVerifier(createAuthConfig({ issuers: [{ name: 'idp', kind: 'client', issuer: 'https://idp.local', audience: 'api', jwksUrl: 'http://127.0.0.1:9/jwks', clients: { 'crm-1': 'crm' } }] }), { jwksTimeoutMs: 500 });
    await expect(sut.verify(await sign(privateKey))).rejects.toBeInstanceOf(AuthenticationError);
  });
});
