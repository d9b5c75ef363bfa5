import type { RetryPolicy } from '@dh/http-retry';

export { backoffDelay, parseRetryAfter, retryDelay, type RetryPolicy } from '@dh/http-retry';

/** 250 ms doubling to at most 10 s, five attempts; a Retry-After beyond two minutes fails the call. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 120_000 };
