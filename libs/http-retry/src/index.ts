/** Retry timing shared by the HTTP clients of the market systems (DataHub, Eloverblik, Energi Data Service). */
export interface RetryPolicy {
  /** Attempts per call, the first included. */
  readonly maxAttempts: number;
  /** First back-off step; doubles per attempt. */
  readonly baseDelayMs: number;
  /** Cap of one back-off step. */
  readonly maxDelayMs: number;
  /** A `Retry-After` longer than this fails the call instead of waiting. */
  readonly maxRetryAfterMs: number;
}

/** "Equal jitter": half the exponential step fixed, half random, so retries spread without collapsing to 0. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/** `Retry-After` in milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** Delay before the next attempt: at least `Retry-After` (plus up to a second of jitter), else the back-off. */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfterMs: number | undefined, random: () => number): number {
  if (retryAfterMs === undefined) return backoffDelay(policy, attempt, random);
  return retryAfterMs + Math.round(random() * Math.min(policy.baseDelayMs, 1_000));
}
