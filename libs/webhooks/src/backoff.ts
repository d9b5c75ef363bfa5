/** Retry schedule of failed deliveries. */
export interface RetryPolicy {
  /** Attempts per delivery cycle, the first included (a manual redelivery starts a new cycle). Default 12. */
  maxAttempts: number;
  /** Wait after the first failure, ms. Default 60 000. */
  initialDelayMs: number;
  /** Default 2. */
  factor: number;
  /** Default 6 h. */
  maxDelayMs: number;
  /** Relative jitter: the wait is multiplied by a uniform factor in [1 - jitter, 1 + jitter]. Default 0.25. */
  jitter: number;
}

/**
 * 12 attempts: waits of about 1, 2, 4, 8, 16, 32, 64, 128, 256 min, then 6 h twice (± 25 %):
 * the last attempt comes about 20 hours after the first.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ maxAttempts: 12, initialDelayMs: 60_000, factor: 2, maxDelayMs: 6 * 3600_000, jitter: 0.25 });

/** Wait before the next attempt after `failures` failed attempts in the current cycle (≥ 1). */
export function retryDelayMs(policy: RetryPolicy, failures: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** Math.max(0, failures - 1));
  const spread = 1 - policy.jitter + 2 * policy.jitter * random();
  return Math.max(0, Math.round(base * spread));
}
