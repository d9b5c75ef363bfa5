import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * `dhk_<prefix>_<secret>`: the prefix (8 random bytes, hex) is the lookup key and may appear in logs
 * and listings; the secret (32 random bytes, hex) is shown once at issue and only its SHA-256 is stored.
 * A 256-bit random secret needs no slow hash: nobody can brute-force it from the digest.
 */
export const API_KEY_PATTERN = /^dhk_([0-9a-f]{16})_([0-9a-f]{64})$/;

export interface ApiKeyParts {
  prefix: string;
  secret: string;
}

export function generateApiKey(): ApiKeyParts & { key: string } {
  const prefix = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('hex');
  return { prefix, secret, key: formatApiKey({ prefix, secret }) };
}

export function formatApiKey(parts: ApiKeyParts): string {
  return `dhk_${parts.prefix}_${parts.secret}`;
}

/** `undefined` for anything that is not exactly a key of our format (no partial matches). */
export function parseApiKey(key: string): ApiKeyParts | undefined {
  const match = API_KEY_PATTERN.exec(key);
  if (!match) return undefined;
  return { prefix: match[1], secret: match[2] };
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Constant-time comparison of a presented secret against a stored digest. */
export function secretMatches(secret: string, storedHash: Buffer): boolean {
  const presented = hashSecret(secret);
  return storedHash.length === presented.length && timingSafeEqual(presented, storedHash);
}
