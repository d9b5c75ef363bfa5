import { AuthConfigError, DEFAULT_CLOCK_TOLERANCE_SECONDS, loadAuthConfig } from './auth-config';

const secret = 'x'.repeat(32);
const env = (issuers: unknown, extra: Record<string, string> = {}) => ({ AUTH_ISSUERS: JSON.stringify(issuers), ...extra });

describe(loadAuthConfig.name, () => {
  it('reads AUTH_ISSUERS and AUTH_CLOCK_TOLERANCE_SECONDS', () => {
    const config = loadAuthConfig(
      env(
        [
          { name: 'clients', kind: 'client', issuer: 'https://idp', audience: ['api'], jwksUrl: 'https://idp/jwks', clients: { abc: 'erp' } },
          { name: 'portal', kind: 'customer', issuer: 'https://portal', audience: 'portal', secret },
          { name: 'backoffice', kind: 'staff', issuer: 'https://bo', audience: 'bo', secret, algorithm: 'HS512', rolesClaim: 'groups' },
        ],
        { AUTH_CLOCK_TOLERANCE_SECONDS: '10' },
      ),
    );
    expect(config.clockToleranceSeconds).toBe(10);
    expect(config.issuers.map((i) => [i.name, i.kind])).toEqual([
      ['clients', 'client'],
      ['portal', 'customer'],
      ['backoffice', 'staff'],
    ]);
    expect(config.issuers[0]).toMatchObject({ clients: { abc: 'erp' }, jwksUrl: 'https://idp/jwks' });
    expect(config.issuers[1]).toMatchObject({ algorithm: 'HS256' });
    expect(config.issuers[2]).toMatchObject({ algorithm: 'HS512', rolesClaim: 'groups' });
  });

  it('defaults to no issuers and a 30 s tolerance', () => {
    expect(loadAuthConfig({})).toEqual({ issuers: [], clockToleranceSeconds: DEFAULT_CLOCK_TOLERANCE_SECONDS });
    expect(DEFAULT_CLOCK_TOLERANCE_SECONDS).toBe(30);
  });

  it.each([
    ['not JSON', { AUTH_ISSUERS: '{' }],
    ['not an array', env({})],
    ['no key source', env([{ name: 'a', kind: 'staff', issuer: 'i', audience: 'a' }])],
    ['two key sources', env([{ name: 'a', kind: 'staff', issuer: 'i', audience: 'a', secret, jwksUrl: 'https://x/jwks' }])],
    ['short secret', env([{ name: 'a', kind: 'staff', issuer: 'i', audience: 'a', secret: 'short' }])],
    ['http JWKS off localhost', env([{ name: 'a', kind: 'staff', issuer: 'i', audience: 'a', jwksUrl: 'http://idp.example/jwks' }])],
    ['alg none', env([{ name: 'a', kind: 'staff', issuer: 'i', audience: 'a', secret, algorithm: 'none' }])],
    ['client issuer without clients', env([{ name: 'a', kind: 'client', issuer: 'i', audience: 'a', secret }])],
    ['unknown consumer', env([{ name: 'a', kind: 'client', issuer: 'i', audience: 'a', secret, clients: { x: 'bank' } }])],
    ['unknown kind', env([{ name: 'a', kind: 'robot', issuer: 'i', audience: 'a', secret }])],
    ['empty audience', env([{ name: 'a', kind: 'staff', issuer: 'i', audience: [], secret }])],
    ['duplicate names', env([{ name: 'a', kind: 'staff', issuer: 'i', audience: 'a', secret }, { name: 'a', kind: 'customer', issuer: 'j', audience: 'b', secret }])],
    ['tolerance above 300 s', { AUTH_CLOCK_TOLERANCE_SECONDS: '301' }],
    ['negative tolerance', { AUTH_CLOCK_TOLERANCE_SECONDS: '-1' }],
  ])('refuses %s', (_name, environment) => {
    expect(() => loadAuthConfig(environment)).toThrow(AuthConfigError);
  });

  it('never echoes a secret in an error', () => {
    const leaky = 'super-secret-value-that-must-not-leak-0123456789';
    try {
      loadAuthConfig(env([{ name: 'a', kind: 'staff', issuer: 'i', audience: 'a', secret: leaky, jwksUrl: 'https://x/jwks' }]));
      throw new Error('expected a refusal');
    } catch (error) {
      expect(error).toBeInstanceOf(AuthConfigError);
      expect((error as Error).message).not.toContain(leaky);
    }
  });
});
