import { createHash } from 'node:crypto';

/** A UUID-shaped id derived from its inputs (SHA-256), so the same scenario yields the same ids. */
export function derivedUuid(...parts: readonly (string | number)[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** 32-bit seed from a string (first 4 bytes of SHA-256). */
export function seedOf(...parts: readonly (string | number)[]): number {
  return createHash('sha256').update(parts.join('\u0000')).digest().readUInt32BE(0);
}

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An instant as CIM writes it: UTC, whole seconds, `Z`. */
export function isoSeconds(instant: Date): string {
  return instant.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Thousandths (an integer) as a 3-decimal string: 1234 → "1.234", -5 → "-0.005". */
export function thousandths(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`Not an integer number of thousandths: ${n}`);
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  return `${sign}${Math.floor(abs / 1000)}.${String(abs % 1000).padStart(3, '0')}`;
}

/** Exact `quantity (thousandths) × price (decimal string)`, rounded half up to 6 decimals. */
export function amountOf(quantityThousandths: bigint, price: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(price);
  if (!m) throw new RangeError(`Invalid price ${price}`);
  const frac = m[3] ?? '';
  const priceScaled = BigInt(`${m[1]}${m[2]}${frac}`);
  const scale = 3 + frac.length; // decimals of the raw product
  let product = quantityThousandths * priceScaled;
  const negative = product < 0n;
  if (negative) product = -product;
  let six: bigint;
  if (scale <= 6) six = product * 10n ** BigInt(6 - scale);
  else {
    const div = 10n ** BigInt(scale - 6);
    six = product / div;
    if ((product % div) * 2n >= div) six += 1n;
  }
  const digits = six.toString().padStart(7, '0');
  const text = `${digits.slice(0, -6)}.${digits.slice(-6)}`;
  return negative && six !== 0n ? `-${text}` : text;
}
