import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM with a 96-bit random IV and a 128-bit tag. The tag length is pinned on both sides:
 * without `authTagLength`, Node accepts any tag from 4 to 16 bytes on decryption, and whoever can
 * write a stored value could shorten the tag to 4 bytes and forge it by trying 2^32 values
 * (NIST SP 800-38D §5.2.1.2 and appendix C on short tags).
 */
const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;
const VERSION = 'v1';

export function seal(key: Buffer, plaintext: Buffer, aad: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: GCM_TAG_BYTES });
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join('.');
}

export function open(key: Buffer, sealed: string, aad: string): Buffer {
  const [version, iv, tag, body] = sealed.split('.');
  if (version !== VERSION || !iv || !tag || body === undefined) throw new Error('Not a sealed personal-data value');
  const tagBytes = Buffer.from(tag, 'base64');
  const ivBytes = Buffer.from(iv, 'base64');
  if (tagBytes.length !== GCM_TAG_BYTES || ivBytes.length !== IV_BYTES) throw new Error('Sealed value has a wrong tag or IV length');
  const decipher = createDecipheriv(ALGORITHM, key, ivBytes, { authTagLength: GCM_TAG_BYTES });
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(tagBytes);
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]);
}

/** A short public name of a master key (not a secret: a hash prefix), stored beside what it wraps. */
export function masterKeyId(masterKey: Buffer): string {
  return createHash('sha256').update('dh-pii-master-key-id').update(masterKey).digest('hex').slice(0, 16);
}

/**
 * The master keys a process knows: the current one wraps everything new; previous ones (during a
 * rotation, `PII_PREVIOUS_MASTER_KEYS`) can still unwrap what has not been re-wrapped yet.
 */
export class MasterKeys {
  readonly currentId: string;
  private readonly byId = new Map<string, Buffer>();

  constructor(
    readonly current: Buffer,
    previous: readonly Buffer[] = [],
  ) {
    for (const key of [current, ...previous]) {
      if (key.length !== 32) throw new Error('PII master keys must be 32 bytes');
      this.byId.set(masterKeyId(key), key);
    }
    this.currentId = masterKeyId(current);
  }

  /** Wraps with the current key; returns the wrapped value and the id of the key that wrapped it. */
  wrap(plaintext: Buffer, aad: string): { wrapped: string; keyId: string } {
    return { wrapped: seal(this.current, plaintext, aad), keyId: this.currentId };
  }

  /** Unwraps with the key named by `keyId`, or (rows written before key ids) with whichever key opens it. */
  unwrap(wrapped: string, aad: string, keyId: string | null): Buffer {
    if (keyId !== null) {
      const key = this.byId.get(keyId);
      if (!key) throw new Error(`Master key ${keyId} is not configured (PII_MASTER_KEY or PII_PREVIOUS_MASTER_KEYS)`);
      return open(key, wrapped, aad);
    }
    let last: unknown = null;
    for (const key of this.byId.values()) {
      try {
        return open(key, wrapped, aad);
      } catch (error) {
        last = error;
      }
    }
    throw last instanceof Error ? last : new Error('No master key opens this value');
  }
}
