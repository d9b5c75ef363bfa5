import { DynamicModule, MiddlewareConsumer, Module, NestModule, OnApplicationShutdown, RequestMethod } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { jsonOnlyMiddleware } from './json-only.middleware';
import { parseRateLimits, preAuthRateLimit, RATE_LIMITER, RATE_LIMITS, RateLimitInterceptor, sharedRateLimiterFromEnv, type RateLimits, type SharedRateLimiter } from './rate-limit';

/**
 * The gateway's edge: rate limits before authentication (per client address, and failed
 * authentications per address) and after it (per caller), counted in Redis so every replica shares
 * them (`RATE_LIMITS`, `REDIS_URL`, `RATE_LIMIT_PREFIX`); JSON-only bodies (415 otherwise,
 * `NON_JSON_BODY_PATHS` exempt). Body size (413) and malformed JSON (400) are handled by the
 * platform's bootstrap for every service.
 */
@Module({})
export class EdgeModule {
  static forRoot(env: NodeJS.ProcessEnv = process.env): DynamicModule {
    const limits = parseRateLimits(env.RATE_LIMITS);
    const limiter: SharedRateLimiter | null = limits === null ? null : sharedRateLimiterFromEnv(env);
    const exempt = (env.NON_JSON_BODY_PATHS ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);

    @Module({})
    class EdgeMiddlewareModule implements NestModule, OnApplicationShutdown {
      configure(consumer: MiddlewareConsumer): void {
        // Registered first, so it runs before the JSON check and before every guard.
        if (limits !== null && limiter !== null) consumer.apply(preAuthRateLimit(limits, limiter)).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
        consumer.apply(jsonOnlyMiddleware(exempt)).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
      }

      async onApplicationShutdown(): Promise<void> {
        await limiter?.close();
      }
    }

    return {
      module: EdgeModule,
      imports: [EdgeMiddlewareModule],
      providers: [
        { provide: RATE_LIMITS, useValue: limits },
        { provide: RATE_LIMITER, useValue: limiter },
        {
          provide: APP_INTERCEPTOR,
          useFactory: (rateLimits: RateLimits | null, shared: SharedRateLimiter | null) => (rateLimits === null || shared === null ? new RateLimitInterceptor(null, null) : new RateLimitInterceptor(rateLimits, shared)),
          inject: [RATE_LIMITS, RATE_LIMITER],
        },
      ],
    };
  }
}
