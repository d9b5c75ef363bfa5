import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { from, mergeMap, type Observable } from 'rxjs';
import type { NextFunction, Request, Response } from 'express';
import type { AuthenticatedRequest, Principal } from '@dh/auth';
import { ProblemException } from '@dh/platform';
import Redis from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/**
 * Consumer classes with their own limits: the systems (by consumer), customers, staff, and anonymous
 * callers (by IP), after authentication; before it, every request per client address (`ip`) and the
 * failed authentications per client address (`auth-failure`: after `burst` failures the address is
 * refused, valid credentials or not, until the window ends).
 */
export const RATE_LIMIT_CLASSES = ['erp', 'crm', 'payment', 'customer', 'staff', 'anonymous', 'ip', 'auth-failure'] as const;
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
  ip: { ratePerSecond: 100, burst: 200 },
  // Ten failed logins per address in five minutes.
  'auth-failure': { ratePerSecond: 10 / 300, burst: 10 },
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

export type TakeResult = { allowed: true; remaining: number } | { allowed: false; retryAfterSeconds: number };

/**
 * Counters shared by every gateway replica. Each limit is a window of `burst` requests per
 * `burst / ratePerSecond` seconds (rate-limiter-flexible's fixed window, atomic in Redis), so a caller
 * gets the limit once however many replicas answer it. If Redis cannot be reached, each replica falls
 * back to counting in memory (rate-limiter-flexible's insurance limiter) rather than refusing or
 * letting everything through.
 */
export interface SharedRateLimiter {
  /** Counts one request of `key` under `limit`. */
  take(name: string, key: string, limit: BucketLimit): Promise<TakeResult>;
  /** Whether `key` has used up `limit`, without counting. */
  check(name: string, key: string, limit: BucketLimit): Promise<TakeResult>;
  close(): Promise<void>;
}

type LimiterFactory = (options: { keyPrefix: string; points: number; duration: number }) => RateLimiterAbstract;

function windowOf(limit: BucketLimit): { points: number; duration: number } {
  return { points: limit.burst, duration: Math.max(1, Math.ceil(limit.burst / limit.ratePerSecond)) };
}

function retryAfter(msBeforeNext: number): number {
  return Math.max(1, Math.ceil(msBeforeNext / 1000));
}

class FlexibleRateLimiter implements SharedRateLimiter {
  private readonly limiters = new Map<string, RateLimiterAbstract>();

  constructor(
    private readonly prefix: string,
    private readonly create: LimiterFactory,
    private readonly onClose: () => Promise<void> = async () => undefined,
  ) {}

  private limiter(name: string, limit: BucketLimit): RateLimiterAbstract {
    const { points, duration } = windowOf(limit);
    const id = `${name}:${points}:${duration}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      limiter = this.create({ keyPrefix: `${this.prefix}:${id}`, points, duration });
      this.limiters.set(id, limiter);
    }
    return limiter;
  }

  async take(name: string, key: string, limit: BucketLimit): Promise<TakeResult> {
    try {
      const result = await this.limiter(name, limit).consume(key);
      return { allowed: true, remaining: result.remainingPoints };
    } catch (refusal) {
      if (refusal instanceof RateLimiterRes) return { allowed: false, retryAfterSeconds: retryAfter(refusal.msBeforeNext) };
      throw refusal;
    }
  }

  async check(name: string, key: string, limit: BucketLimit): Promise<TakeResult> {
    const state = await this.limiter(name, limit).get(key);
    if (state === null || state.consumedPoints < limit.burst) return { allowed: true, remaining: state ? Math.max(0, limit.burst - state.consumedPoints) : limit.burst };
    return { allowed: false, retryAfterSeconds: retryAfter(state.msBeforeNext) };
  }

  close(): Promise<void> {
    return this.onClose();
  }
}

/** Counters in this process only (tests, and `RATE_LIMIT_STORE=memory` for a single instance). */
export function memoryRateLimiter(prefix = 'dh:rl'): SharedRateLimiter {
  return new FlexibleRateLimiter(prefix, (options) => new RateLimiterMemory(options));
}

/** Counters in Redis (`REDIS_URL`), shared by the replicas that use the same `prefix`. */
export function redisRateLimiter(redisUrl: string, prefix: string): SharedRateLimiter {
  // No offline queue: a request is not held while Redis is away; the insurance limiter answers instead.
  const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, lazyConnect: false });
  redis.on('error', () => undefined);
  return new FlexibleRateLimiter(
    prefix,
    (options) => new RateLimiterRedis({ ...options, storeClient: redis, insuranceLimiter: new RateLimiterMemory(options) }),
    async () => {
      redis.disconnect();
    },
  );
}

/**
 * Replicas of one deployment share a database, so by default they share the counters' prefix derived
 * from its name (`RATE_LIMIT_PREFIX` overrides); two stacks on one Redis (tests) never mix.
 */
export function rateLimitPrefix(env: NodeJS.ProcessEnv): string {
  if (env.RATE_LIMIT_PREFIX) return env.RATE_LIMIT_PREFIX;
  const database = env.DATABASE_URL ? new URL(env.DATABASE_URL).pathname.replace(/^\//, '') : 'dhcore';
  return `dh:rl:${database || 'dhcore'}`;
}

export function sharedRateLimiterFromEnv(env: NodeJS.ProcessEnv): SharedRateLimiter {
  const prefix = rateLimitPrefix(env);
  if (env.RATE_LIMIT_STORE === 'memory') return memoryRateLimiter(prefix);
  return redisRateLimiter(env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix);
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

/** Health checks and the API description are exempt: probes come often from one address. */
const EXEMPT = /^\/(health\/|api\/docs)/;

/**
 * Before authentication (Express middleware, ahead of every guard): refuses an address that has
 * failed to authenticate too often, then counts the request per address. A 401 answer counts as a
 * failure of that address, so guessing API keys or tokens is throttled, and a flood is refused
 * before any key is looked up or any signature checked.
 */
export function preAuthRateLimit(limits: RateLimits, limiter: SharedRateLimiter) {
  return (request: Request, response: Response, next: NextFunction): void => {
    if (EXEMPT.test(request.path)) return next();
    const address = `ip:${request.ip ?? request.socket.remoteAddress ?? 'unknown'}`;
    const run = async () => {
      const blocked = await limiter.check('auth-failure', address, limits['auth-failure']);
      if (!blocked.allowed) throw rateLimited('Too many failed authentications from this address', blocked.retryAfterSeconds);
      const counted = await limiter.take('ip', address, limits.ip);
      if (!counted.allowed) throw rateLimited('Too many requests from this address', counted.retryAfterSeconds);
      response.once('finish', () => {
        if (response.statusCode === 401) void limiter.take('auth-failure', address, limits['auth-failure']).catch(() => undefined);
      });
    };
    run().then(() => next(), next);
  };
}

export function rateLimited(detail: string, retryAfterSeconds: number): ProblemException {
  return new ProblemException({ type: RATE_LIMITED_TYPE, title: 'Too many requests', status: 429, detail: `${detail}; retry after ${retryAfterSeconds} s.`, retryAfterSeconds });
}

/**
 * Runs after the auth guard (interceptors follow guards), so it keys authenticated calls by principal
 * (`kind:id`) and public ones by IP. Over the limit: 429 problem+json `…/problems/rate-limited` with
 * `Retry-After` (seconds). Before authentication, `preAuthRateLimit` has already counted the request
 * per client address and refused addresses with too many failed authentications.
 */
@Injectable()
export class RateLimitInterceptor implements NestInterceptor {
  constructor(
    private readonly limits: RateLimits | null,
    private readonly limiter: SharedRateLimiter | null,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (this.limits === null || this.limiter === null || context.getType() !== 'http') return next.handle();
    const limits = this.limits;
    const limiter = this.limiter;
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const principal = request.principal;
    const consumerClass = rateLimitClassOf(principal);
    const limit = limits[consumerClass];
    const response = http.getResponse<{ setHeader(name: string, value: string): void }>();
    response.setHeader('RateLimit-Policy', `${limit.burst};w=${windowOf(limit).duration}`);
    return from(limiter.take(consumerClass, rateLimitKeyOf(principal, request.ip), limit)).pipe(
      mergeMap((result) => {
        if (!result.allowed) throw rateLimited(`Rate limit for ${consumerClass} callers exceeded (${limit.burst} per ${windowOf(limit).duration} s)`, result.retryAfterSeconds);
        return next.handle();
      }),
    );
  }
}
