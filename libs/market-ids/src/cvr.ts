import { IdError, ParseResult, digitsOf, firstNonDigit, idError, unwrap } from './result';

declare const cvrBrand: unique symbol;
/** An 8-digit Danish company id (CVR) passing the modulus-11 check. */
export type Cvr = string & { readonly [cvrBrand]: 'Cvr' };

const CVR_WEIGHTS = [2, 7, 6, 5, 4, 3, 2, 1] as const;

/** CVR: 8 digits, Σ digit·(2,7,6,5,4,3,2,1) ≡ 0 (mod 11). */
export function parseCvr(input: unknown): ParseResult<Cvr, IdError> {
  if (typeof input !== 'string') return { ok: false, error: idError('CVR', { code: 'not_a_string' }) };
  if (input.length !== 8) return { ok: false, error: idError('CVR', { code: 'length', expected: 8, actual: input.length }) };
  const bad = firstNonDigit(input);
  if (bad !== 0) return { ok: false, error: idError('CVR', { code: 'non_digit', position: bad }) };
  const d = digitsOf(input);
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += d[i]! * CVR_WEIGHTS[i]!;
  if (sum % 11 !== 0) return { ok: false, error: idError('CVR', { code: 'checksum' }) };
  return { ok: true, value: input as Cvr };
}

export function toCvr(input: unknown): Cvr {
  return unwrap(parseCvr(input));
}

export function isValidCvr(input: unknown): input is Cvr {
  return parseCvr(input).ok;
}
