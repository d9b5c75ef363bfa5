import { DynamicModule, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { jsonOnlyMiddleware } from './json-only.middleware';
import { parseRateLimits, RATE_LIMITER, RATE_LIMITS, RateLimitInterceptor, TokenBucketLimiter, type RateLimits } from './rate-limit';

/**
 * The gateway's edge: rate limits per caller (`RATE_LIMITS`), JSON-only bodies (415 otherwise,
 * `NON_JSON_BODY_PATHS` exempt). Body size (413) and malformed JSON (400) are handled by the
 * platform's bootstrap for every service.
 */
@Module({})
export class EdgeModule {
  static forRoot(env: NodeJS.ProcessEnv = process.env): DynamicModule {
    const limits = parseRateLimits(env.RATE_LIMITS);
    const exempt = (env.NON_JSON_BODY_PATHS ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);

    @Module({})
    class JsonOnlyModule implements NestModule {
      configure(consumer: MiddlewareConsumer): void {
        consumer.apply(jsonOnlyMiddleware(exempt)).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
      }
    }

    return {
      module: EdgeModule,
      imports: [JsonOnlyModule],
      providers: [
        { provide: RATE_LIMITS, useValue: limits },
        { provide: RATE_LIMITER, useValue: new TokenBucketLimiter() },
        {
          provide: APP_INTERCEPTOR,
          useFactory: (rateLimits: RateLimits | null, limiter: TokenBucketLimiter) => new RateLimitInterceptor(rateLimits, limiter),
          inject: [RATE_LIMITS, RATE_LIMITER],
        },
      ],
    };
  }
}
