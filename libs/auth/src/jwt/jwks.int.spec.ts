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

  it('refuses tokens when the JWKS endpoint is unreachable', async () => {
    const sut = new JwtVerifier(createAuthConfig({ issuers: [{ name: 'idp', kind: 'client', issuer: 'https://idp.local', audience: 'api', jwksUrl: 'http://127.0.0.1:9/jwks', clients: { 'crm-1': 'crm' } }] }), { jwksTimeoutMs: 500 });
    await expect(sut.verify(await sign(privateKey))).rejects.toBeInstanceOf(AuthenticationError);
  });
});
