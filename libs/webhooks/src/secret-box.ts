import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encrypts subscription secrets at rest (AES-256-GCM). We must be able to sign with the secret, so it
 * cannot be stored as a hash; instead the column holds `version(1) | iv(12) | tag(16) | ciphertext`,
 * under a key derived (HKDF-SHA256, info `dh-webhooks/secret/v1`) from the service master key
 * (`PII_MASTER_KEY`). A database dump alone does not reveal any secret; the subscription id is the
 * additional authenticated data, so a ciphertext copied to another row does not decrypt. The 16-byte
 * tag length is pinned (`authTagLength`), so a shortened tag is refused rather than checked on fewer bits.
 *
 * During a master-key rotation the previous master keys can still open; `keyId` names the current
 * key, stored beside each sealed secret so the rotation finds what is left to re-seal.
 */
export class SecretBox {
  private readonly key: Buffer;
  private readonly previous: Buffer[];
  readonly keyId: string;

  constructor(masterKey: Buffer, previousMasterKeys: readonly Buffer[] = []) {
    if (masterKey.length < 32) throw new Error('SecretBox: the master key must have at least 32 bytes');
    this.key = derive(masterKey);
    this.previous = previousMasterKeys.map(derive);
    this.keyId = createHash('sha256').update('dh-webhooks/key-id').update(this.key).digest('hex').slice(0, 16);
  }

  seal(secret: string, subscriptionId: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(subscriptionId, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), ciphertext]);
  }

  /** Opens with the current key, or with a previous one during a rotation. */
  open(sealed: Buffer, subscriptionId: string): string {
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) throw new Error('SecretBox: unknown secret format');
    let failure: unknown = null;
    for (const key of [this.key, ...this.previous]) {
      try {
        return openWith(key, sealed, subscriptionId);
      } catch (error) {
        failure = error;
      }
    }
    throw failure instanceof Error ? failure : new Error('SecretBox: no key opens this secret');
  }
}

function derive(masterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.from('dh-webhooks'), Buffer.from('dh-webhooks/secret/v1'), 32));
}

function openWith(key: Buffer, sealed: Buffer, subscriptionId: string): string {
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(subscriptionId, 'utf8'));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
}
