import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { AuthenticatedRequest, Principal } from '@dh/auth';
import { ProblemException } from '@dh/platform';

/** Consumer classes with their own limits: the systems (by consumer), customers, staff, and anonymous callers (by IP). */
export const RATE_LIMIT_CLASSES = ['erp', 'crm', 'payment', 'customer', 'staff', 'anonymous'] as const;
export type RateLimitClass = (typeof RATE_LIMIT_CLASSES)[number];

export interface BucketLimit {
  /** Sustained requests per second (tokens added per second). */
  ratePerSecond: number;
  /** Bucket size: how many requests may come at once after a quiet period. */
  burst: number;
}

export type RateLimits = Record<RateLimitClass, BucketLimit>;

export const DEFAULT_RATE_LIMITS: RateLimits = {
  erp: { ratePerSecond: 50, burst: 100 },
  crm: { ratePerSecond: 50, burst: 100 },
  payment: { ratePerSecond: 20, burst: 40 },
  customer: { ratePerSecond: 10, burst: 30 },
  staff: { ratePerSecond: 20, burst: 40 },
  anonymous: { ratePerSecond: 5, burst: 20 },
};

export const RATE_LIMITED_TYPE = 'rate-limited';

/**
 * `RATE_LIMITS` (JSON) overrides the defaults per class, e.g.
 * `{"customer":{"ratePerSecond":2,"burst":5},"erp":{"ratePerSecond":100}}`; a missing field keeps its default.
 * `RATE_LIMITS=off` disables rate limiting (for load tests only).
 */
export function parseRateLimits(raw: string | undefined): RateLimits | null {
  if (raw === undefined || raw.trim() === '') return DEFAULT_RATE_LIMITS;
  if (raw.trim() === 'off') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('RATE_LIMITS must be JSON: {"<class>": {"ratePerSecond": n, "burst": n}}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('RATE_LIMITS must be a JSON object');
  const limits: RateLimits = { ...DEFAULT_RATE_LIMITS };
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!(RATE_LIMIT_CLASSES as readonly string[]).includes(name)) throw new Error(`RATE_LIMITS: unknown class "${name}" (known: ${RATE_LIMIT_CLASSES.join(', ')})`);
    if (typeof value !== 'object' || value === null) throw new Error(`RATE_LIMITS.${name} must be an object`);
    const entry = value as Record<string, unknown>;
    const base = limits[name as RateLimitClass];
    const ratePerSecond = entry.ratePerSecond ?? base.ratePerSecond;
    const burst = entry.burst ?? base.burst;
    if (typeof ratePerSecond !== 'number' || !(ratePerSecond > 0)) throw new Error(`RATE_LIMITS.${name}.ratePerSecond must be a positive number`);
    if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 1) throw new Error(`RATE_LIMITS.${name}.burst must be a positive integer`);
    limits[name as RateLimitClass] = { ratePerSecond, burst };
  }
  return limits;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export type TakeResult = { allowed: true; remaining: number } | { allowed: false; retryAfterSeconds: number };

/**
 * Token buckets in memory, one per key. Each gateway instance counts on its own: with N replicas a
 * caller gets up to N times the limit. A shared limit across replicas needs a shared store (Redis,
 * or a Postgres row per key updated with the same arithmetic) — not built.
 */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  constructor(private readonly now: () => number = () => Date.now()) {}

  take(key: string, limit: BucketLimit): TakeResult {
    const now = this.now();
    this.sweep(now, limit);
    const bucket = this.buckets.get(key) ?? { tokens: limit.burst, updatedAt: now };
    const elapsedSeconds = Math.max(0, now - bucket.updatedAt) / 1000;
    bucket.tokens = Math.min(limit.burst, bucket.tokens + elapsedSeconds * limit.ratePerSecond);
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, remaining: Math.floor(bucket.tokens) };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / limit.ratePerSecond)) };
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Forget buckets idle for a minute (they would be full again anyway for any sane limit), at most once a minute. */
  private sweep(now: number, limit: BucketLimit): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    const idleMs = Math.max(60_000, (limit.burst / limit.ratePerSecond) * 1000);
    for (const [key, bucket] of this.buckets) if (now - bucket.updatedAt > idleMs) this.buckets.delete(key);
  }
}

export function rateLimitClassOf(principal: Principal | undefined): RateLimitClass {
  if (!principal) return 'anonymous';
  if (principal.kind === 'customer') return 'customer';
  if (principal.kind === 'staff') return 'staff';
  return principal.consumer ?? 'anonymous';
}

export function rateLimitKeyOf(principal: Principal | undefined, ip: string | undefined): string {
  return principal ? `${principal.kind}:${principal.id}` : `ip:${ip ?? 'unknown'}`;
}

export const RATE_LIMITS = Symbol('RATE_LIMITS');
export const RATE_LIMITER = Symbol('RATE_LIMITER');

/**
 * Runs after the auth guard (interceptors follow guards), so it keys authenticated calls by principal
 * (`kind:id`) and public ones by IP. Over the limit: 429 problem+json `…/problems/rate-limited` with
 * `Retry-After` (seconds). Calls refused by the guard (401/403) never reach it and are not counted.
 */
@Injectable()
export class RateLimitInterceptor implements NestInterceptor {
  constructor(
    private readonly limits: RateLimits | null,
    private readonly limiter: TokenBucketLimiter,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (this.limits === null || context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const principal = request.principal;
    const consumerClass = rateLimitClassOf(principal);
    const limit = this.limits[consumerClass];
    const result = this.limiter.take(`${consumerClass}|${rateLimitKeyOf(principal, request.ip)}`, limit);
    const response = http.getResponse<{ setHeader(name: string, value: string): void }>();
    response.setHeader('RateLimit-Policy', `${limit.burst};w=${Math.ceil(limit.burst / limit.ratePerSecond)}`);
    if (!result.allowed) {
      throw new ProblemException({
        type: RATE_LIMITED_TYPE,
        title: 'Too many requests',
        status: 429,
        detail: `Rate limit for ${consumerClass} callers exceeded (${limit.ratePerSecond}/s, burst ${limit.burst}); retry after ${result.retryAfterSeconds} s.`,
        retryAfterSeconds: result.retryAfterSeconds,
      });
    }
    return next.handle();
  }
}
