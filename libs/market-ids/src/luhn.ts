import { firstNonDigit, digitsOf } from './result';

/**
 * Luhn (mod 10) check digit for a digit string: starting with the rightmost body digit,
 * weights 2,1,2,1,… leftwards; a product over 9 has 9 subtracted; check = (10 − sum mod 10) mod 10.
 * Used for the FI payment id ("+71<…>" line). NOT for GSRN/GLN, which are GS1.
 */
export function luhnCheckDigit(body: string): number {
  if (body.length === 0) throw new RangeError('Luhn check digit: empty body');
  if (firstNonDigit(body) !== 0) throw new RangeError('Luhn check digit: body must be digits only');
  const d = digitsOf(body);
  let sum = 0;
  for (let i = d.length - 1, w = 2; i >= 0; i--, w = w === 2 ? 1 : 2) {
    const p = d[i]! * w;
    sum += p > 9 ? p - 9 : p;
  }
  return (10 - (sum % 10)) % 10;
}

/** True when `s` (≥ 2 digits) ends with its correct Luhn check digit. */
export function isValidLuhn(s: string): boolean {
  if (typeof s !== 'string' || s.length < 2 || firstNonDigit(s) !== 0) return false;
  return luhnCheckDigit(s.slice(0, -1)) === s.charCodeAt(s.length - 1) - 48;
}

/** Appends the Luhn check digit to a digit body. */
export function withLuhnCheckDigit(body: string): string {
  return body + String(luhnCheckDigit(body));
}

/**
 * FI card type 71 payment id: 15 digits, the last being the Luhn check digit of the first 14.
 * `fiPaymentId71(12345)` → `"000000000123455"`.
 */
export function fiPaymentId71(reference: bigint | number | string): string {
  const body = typeof reference === 'string' ? reference : reference.toString();
  if (body.length === 0 || body.length > 14 || firstNonDigit(body) !== 0) {
    throw new RangeError('FI +71 payment id: reference must be 1..14 digits');
  }
  return withLuhnCheckDigit(body.padStart(14, '0'));
}

/** True when `s` is a 15-digit FI +71 payment id with a valid Luhn check digit. */
export function isValidFiPaymentId71(s: string): boolean {
  return typeof s === 'string' && s.length === 15 && isValidLuhn(s);
}
