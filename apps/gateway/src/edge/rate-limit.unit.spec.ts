import { DEFAULT_RATE_LIMITS, memoryRateLimiter, parseRateLimits, rateLimitClassOf, rateLimitKeyOf, rateLimitPrefix } from './rate-limit';

describe('rate limits', () => {
  it('allows the burst per window, then refuses with the seconds until the window ends, per key', async () => {
    const limiter = memoryRateLimiter();
    const limit = { ratePerSecond: 2, burst: 3 };
    const taken = [];
    for (let i = 0; i < 4; i++) taken.push(await limiter.take('crm', 'k', limit));
    expect(taken.map((t) => t.allowed)).toEqual([true, true, true, false]);
    expect(taken[3]).toEqual({ allowed: false, retryAfterSeconds: 2 });
    expect((await limiter.take('crm', 'other', limit)).allowed).toBe(true);
    expect(await limiter.check('crm', 'k', limit)).toEqual({ allowed: false, retryAfterSeconds: expect.any(Number) });
    expect(await limiter.check('crm', 'unused', limit)).toEqual({ allowed: true, remaining: 3 });
  });

  it('parses RATE_LIMITS over the defaults and refuses nonsense', () => {
    expect(parseRateLimits(undefined)).toEqual(DEFAULT_RATE_LIMITS);
    expect(parseRateLimits('off')).toBeNull();
    expect(parseRateLimits('{"customer":{"ratePerSecond":2}}')?.customer).toEqual({ ratePerSecond: 2, burst: DEFAULT_RATE_LIMITS.customer.burst });
    expect(parseRateLimits('{"auth-failure":{"burst":3}}')?.['auth-failure'].burst).toBe(3);
    expect(() => parseRateLimits('{"robots":{"ratePerSecond":2}}')).toThrow(/unknown class/);
    expect(() => parseRateLimits('{"erp":{"burst":0}}')).toThrow(/burst/);
    expect(() => parseRateLimits('{not json')).toThrow(/JSON/);
  });

  it('keys by principal and classes by consumer, customer, staff or anonymous (by IP)', () => {
    expect(rateLimitClassOf({ kind: 'api-key', id: 'k1', consumer: 'payment', scopes: [] })).toBe('payment');
    expect(rateLimitClassOf({ kind: 'customer', id: 'c', customerId: 'x', scopes: [] })).toBe('customer');
    expect(rateLimitClassOf({ kind: 'staff', id: 's', roles: ['admin'], scopes: [] })).toBe('staff');
    expect(rateLimitClassOf(undefined)).toBe('anonymous');
    expect(rateLimitKeyOf({ kind: 'client', id: 'erp-client', consumer: 'erp', scopes: [] }, '10.0.0.1')).toBe('client:erp-client');
    expect(rateLimitKeyOf(undefined, '10.0.0.1')).toBe('ip:10.0.0.1');
  });

  it('shares counters between replicas of one deployment (same database), not between deployments', () => {
    expect(rateLimitPrefix({ DATABASE_URL: 'postgres://postgres@db:5432/dhcore' })).toBe('dh:rl:dhcore');
    expect(rateLimitPrefix({ DATABASE_URL: 'postgres://postgres@db:5432/dh_test_x' })).toBe('dh:rl:dh_test_x');
    expect(rateLimitPrefix({ RATE_LIMIT_PREFIX: 'eu1', DATABASE_URL: 'postgres://db/dhcore' })).toBe('eu1');
  });
});
