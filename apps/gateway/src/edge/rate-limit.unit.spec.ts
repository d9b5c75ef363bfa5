import { DEFAULT_RATE_LIMITS, parseRateLimits, rateLimitClassOf, rateLimitKeyOf, TokenBucketLimiter } from './rate-limit';

describe('token bucket rate limiter', () => {
  it('allows the burst, then refuses with the seconds until the next token, and refills at the rate', () => {
    let now = 1_000_000;
    const limiter = new TokenBucketLimiter(() => now);
    const limit = { ratePerSecond: 2, burst: 3 };
    expect([1, 2, 3].map(() => limiter.take('k', limit).allowed)).toEqual([true, true, true]);
    expect(limiter.take('k', limit)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(limiter.take('other', limit).allowed).toBe(true);
    now += 500; // one token back at 2/s
    expect(limiter.take('k', limit).allowed).toBe(true);
    expect(limiter.take('k', limit).allowed).toBe(false);
    now += 60_000; // never more than the burst
    expect([1, 2, 3, 4].map(() => limiter.take('k', limit).allowed)).toEqual([true, true, true, false]);
  });

  it('rounds Retry-After up for slow rates', () => {
    const limiter = new TokenBucketLimiter(() => 0);
    const limit = { ratePerSecond: 0.2, burst: 1 };
    limiter.take('k', limit);
    expect(limiter.take('k', limit)).toEqual({ allowed: false, retryAfterSeconds: 5 });
  });

  it('parses RATE_LIMITS over the defaults and refuses nonsense', () => {
    expect(parseRateLimits(undefined)).toEqual(DEFAULT_RATE_LIMITS);
    expect(parseRateLimits('off')).toBeNull();
    expect(parseRateLimits('{"customer":{"ratePerSecond":2}}')?.customer).toEqual({ ratePerSecond: 2, burst: DEFAULT_RATE_LIMITS.customer.burst });
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
});
