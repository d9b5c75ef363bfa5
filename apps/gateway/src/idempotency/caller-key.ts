import type { Principal } from '@dh/auth';

/**
 * The idempotency key a command carries to its service: the caller's `Idempotency-Key` prefixed with
 * the caller (as the gateway's idempotency store keys it, `kind:id`). Services derive stream and event
 * ids from it (customer id, process id), so an unscoped key would let a second caller who happens to
 * send the same key get the first caller's customer or process back as "already handled".
 */
export function callerIdempotencyKey(principal: Principal, key: string | undefined): string | undefined {
  return key ? `${principal.kind}:${principal.id}:${key}` : undefined;
}
