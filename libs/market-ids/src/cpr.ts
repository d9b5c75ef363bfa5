import { IdError, ParseResult, digitsOf, firstNonDigit, idError, unwrap } from './result';

declare const cprBrand: unique symbol;
/**
 * A Danish personal id (CPR), normalised to 10 digits without the dash. Personal data:
 * never log it, never put it in an error message; show it with {@link maskCpr}.
 */
export type Cpr = string & { readonly [cprBrand]: 'Cpr' };

/**
 * Full birth year from the two-digit year and the 7th digit (first digit of the serial number),
 * per the CPR office's table:
 *   7th digit 0–3: 1900–1999
 *   7th digit 4 or 9: YY 00–36 → 2000–2036, YY 37–99 → 1937–1999
 *   7th digit 5–8: YY 00–57 → 2000–2057, YY 58–99 → 1858–1899
 */
export function cprCentury(yy: number, seventhDigit: number): number {
  if (!Number.isInteger(yy) || yy < 0 || yy > 99) throw new RangeError('CPR: two-digit year out of range');
  if (!Number.isInteger(seventhDigit) || seventhDigit < 0 || seventhDigit > 9) throw new RangeError('CPR: 7th digit out of range');
  if (seventhDigit <= 3) return 1900;
  if (seventhDigit === 4 || seventhDigit === 9) return yy <= 36 ? 2000 : 1900;
  return yy <= 57 ? 2000 : 1800;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Accepts `DDMMYYSSSS` or `DDMMYY-SSSS`. Checks format and that the birth date exists
 * (century from the 7th digit). Deliberately does NOT apply the modulus-11 check: CPR numbers
 * issued since 2007-10-01 may fail it and are valid (cpr.dk).
 * Error messages never contain the input.
 */
export function parseCpr(input: unknown): ParseResult<Cpr, IdError> {
  if (typeof input !== 'string') return { ok: false, error: idError('CPR', { code: 'not_a_string' }) };
  let s: string;
  if (input.length === 11) {
    if (input[6] !== '-') return { ok: false, error: idError('CPR', { code: 'format' }) };
    s = input.slice(0, 6) + input.slice(7);
  } else if (input.length === 10) {
    s = input;
  } else {
    return { ok: false, error: idError('CPR', { code: 'length', expected: 10, actual: input.length }) };
  }
  const bad = firstNonDigit(s);
  if (bad !== 0) {
    const position = input.length === 11 && bad > 6 ? bad + 1 : bad;
    return { ok: false, error: idError('CPR', { code: 'non_digit', position }) };
  }
  const d = digitsOf(s);
  const day = d[0]! * 10 + d[1]!;
  const month = d[2]! * 10 + d[3]!;
  const yy = d[4]! * 10 + d[5]!;
  const year = cprCentury(yy, d[6]!) + yy;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return { ok: false, error: idError('CPR', { code: 'date' }) };
  }
  return { ok: true, value: s as Cpr };
}

export function toCpr(input: unknown): Cpr {
  return unwrap(parseCpr(input));
}

export function isValidCpr(input: unknown): input is Cpr {
  return parseCpr(input).ok;
}

/** Birth date of a valid CPR as `YYYY-MM-DD`. */
export function cprBirthDate(cpr: Cpr): string {
  const d = digitsOf(cpr);
  const yy = d[4]! * 10 + d[5]!;
  const year = cprCentury(yy, d[6]!) + yy;
  return `${String(year).padStart(4, '0')}-${cpr.slice(2, 4)}-${cpr.slice(0, 2)}`;
}

/** `DDMMYY-XXXX`. Throws (without echoing the input) if it is not a valid CPR. */
export function maskCpr(input: string): string {
  const cpr = toCpr(input);
  return `${cpr.slice(0, 6)}-XXXX`;
}
