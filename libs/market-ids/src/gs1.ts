import { IdError, IdKind, ParseResult, digitsOf, firstNonDigit, idError, unwrap } from './result';

declare const gsrnBrand: unique symbol;
declare const glnBrand: unique symbol;

/** An 18-digit GSRN (metering point id) whose GS1 mod-10 check digit is valid. */
export type Gsrn = string & { readonly [gsrnBrand]: 'Gsrn' };
/** A 13-digit GLN (market participant id) whose GS1 mod-10 check digit is valid. */
export type Gln = string & { readonly [glnBrand]: 'Gln' };

/**
 * GS1 mod-10 check digit (GTIN/GLN/GSRN), NOT Luhn: weights 3,1,3,1,… starting from the
 * rightmost data digit and moving left; check = (10 − sum mod 10) mod 10.
 * @param body the data digits without the check digit (any length ≥ 1)
 */
export function gs1CheckDigit(body: string): number {
  if (body.length === 0) throw new RangeError('GS1 check digit: empty body');
  if (firstNonDigit(body) !== 0) throw new RangeError('GS1 check digit: body must be digits only');
  const d = digitsOf(body);
  let sum = 0;
  for (let i = d.length - 1, w = 3; i >= 0; i--, w = w === 3 ? 1 : 3) sum += d[i]! * w;
  return (10 - (sum % 10)) % 10;
}

function parseGs1(kind: IdKind, length: number, input: unknown): ParseResult<string, IdError> {
  if (typeof input !== 'string') return { ok: false, error: idError(kind, { code: 'not_a_string' }) };
  if (input.length !== length) return { ok: false, error: idError(kind, { code: 'length', expected: length, actual: input.length }) };
  const bad = firstNonDigit(input);
  if (bad !== 0) return { ok: false, error: idError(kind, { code: 'non_digit', position: bad }) };
  const expected = gs1CheckDigit(input.slice(0, length - 1));
  const actual = input.charCodeAt(length - 1) - 48;
  if (expected !== actual) return { ok: false, error: idError(kind, { code: 'check_digit', expected, actual }) };
  return { ok: true, value: input };
}

/** GS1 check digit for the first 17 digits of a GSRN. */
export function gsrnCheckDigit(first17: string): number {
  if (first17.length !== 17) throw new RangeError(`GSRN check digit: expected 17 digits, got ${first17.length} characters`);
  return gs1CheckDigit(first17);
}

/** Validates an 18-digit GSRN (no whitespace trimming: ids are compared byte for byte). */
export function parseGsrn(input: unknown): ParseResult<Gsrn, IdError> {
  return parseGs1('GSRN', 18, input) as ParseResult<Gsrn, IdError>;
}

/** Like {@link parseGsrn} but throws {@link InvalidIdError}. */
export function toGsrn(input: unknown): Gsrn {
  return unwrap(parseGsrn(input));
}

export function isValidGsrn(input: unknown): input is Gsrn {
  return parseGsrn(input).ok;
}

/** True for a valid GSRN with the Danish prefix `57`. */
export function isDanishGsrn(input: unknown): input is Gsrn {
  return isValidGsrn(input) && input.startsWith('57');
}

/** GS1 check digit for the first 12 digits of a GLN. */
export function glnCheckDigit(first12: string): number {
  if (first12.length !== 12) throw new RangeError(`GLN check digit: expected 12 digits, got ${first12.length} characters`);
  return gs1CheckDigit(first12);
}

export function parseGln(input: unknown): ParseResult<Gln, IdError> {
  return parseGs1('GLN', 13, input) as ParseResult<Gln, IdError>;
}

export function toGln(input: unknown): Gln {
  return unwrap(parseGln(input));
}

export function isValidGln(input: unknown): input is Gln {
  return parseGln(input).ok;
}
