import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Headers of every webhook request. */
export const WEBHOOK_ID_HEADER = 'Webhook-Id';
export const WEBHOOK_TIMESTAMP_HEADER = 'Webhook-Timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'Webhook-Signature';
/** The public routing key of the event (`customer.activated`), for routing without parsing. */
export const WEBHOOK_EVENT_HEADER = 'Webhook-Event';
/** 1 for the first attempt of a delivery. */
export const WEBHOOK_ATTEMPT_HEADER = 'Webhook-Attempt';

/** Prefix of subscription secrets; the whole string (prefix included) is the HMAC key. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** A new subscription secret: `whsec_` + 32 random bytes, base64url. */
export function generateWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * `v1=` + hex HMAC-SHA256 over `<timestamp>.<body>` with the secret's UTF-8 bytes as key; the
 * timestamp is the `Webhook-Timestamp` header (Unix seconds) and the body the raw request bytes.
 */
export function signWebhook(secret: string, timestamp: number | string, body: string | Buffer): string {
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8'));
  mac.update(`${timestamp}.`, 'utf8');
  mac.update(body);
  return `v1=${mac.digest('hex')}`;
}

export interface VerifyWebhookInput {
  secret: string;
  /** Raw body bytes exactly as received (not re-serialised JSON). */
  body: string | Buffer;
  timestamp: string | undefined;
  signature: string | undefined;
  /** Seconds of allowed difference between the timestamp and `now`. Default 300. */
  toleranceSeconds?: number;
  now?: Date;
}

export type VerifyWebhookResult = { ok: true } | { ok: false; reason: 'missing-headers' | 'stale-timestamp' | 'bad-signature' };

/**
 * The receiver's check, as documented: recompute the signature and compare in constant time against
 * each `v1=` entry of the header (space separated, so a secret rotation can send two), and refuse a
 * timestamp outside the tolerance (replay protection).
 */
export function verifyWebhook(input: VerifyWebhookInput): VerifyWebhookResult {
  if (!input.timestamp || !input.signature || !/^\d+$/.test(input.timestamp)) return { ok: false, reason: 'missing-headers' };
  const now = Math.floor((input.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - Number(input.timestamp)) > (input.toleranceSeconds ?? 300)) return { ok: false, reason: 'stale-timestamp' };
  const expected = Buffer.from(signWebhook(input.secret, input.timestamp, input.body), 'utf8');
  const matches = input.signature
    .split(' ')
    .map((part) => Buffer.from(part.trim(), 'utf8'))
    .some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected));
  return matches ? { ok: true } : { ok: false, reason: 'bad-signature' };
}
