import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encrypts subscription secrets at rest (AES-256-GCM). We must be able to sign with the secret, so it
 * cannot be stored as a hash; instead the column holds `version(1) | iv(12) | tag(16) | ciphertext`,
 * under a key derived (HKDF-SHA256, info `dh-webhooks/secret/v1`) from the service master key
 * (`PII_MASTER_KEY`). A database dump alone does not reveal any secret; the subscription id is the
 * additional authenticated data, so a ciphertext copied to another row does not decrypt.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(masterKey: Buffer) {
    if (masterKey.length < 32) throw new Error('SecretBox: the master key must have at least 32 bytes');
    this.key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.from('dh-webhooks'), Buffer.from('dh-webhooks/secret/v1'), 32));
  }

  seal(secret: string, subscriptionId: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(subscriptionId, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), ciphertext]);
  }

  open(sealed: Buffer, subscriptionId: string): string {
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) throw new Error('SecretBox: unknown secret format');
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(subscriptionId, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}
