import type { RetryPolicy } from '@dh/http-retry';

export { backoffDelay, parseRetryAfter, retryDelay, type RetryPolicy } from '@dh/http-retry';

/** 2 s doubling to 60 s (the API asks to wait a minute after 429/503), five attempts. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 2_000, maxDelayMs: 60_000, maxRetryAfterMs: 120_000 };
