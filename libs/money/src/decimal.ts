import BigJs from 'big.js';

/**
 * An isolated big.js constructor: its configuration does not leak into, or depend on, the global
 * `Big`. `strict` forbids building from a JS number (floating point) and `toNumber` with loss.
 * Used only at the edges (parse, format, reference checks); bulk arithmetic is on scaled BigInt.
 */
const B: BigJs.BigConstructor = BigJs();
B.DP = 40;
B.RM = B.roundHalfUp; // big.js "half up" is half away from zero (it rounds magnitudes).
B.strict = true;

/** Exact decimal value (big.js). Operations return new values; never construct from a JS number. */
export type Decimal = BigJs.Big;

export type DecimalParseProblem = 'not_a_string' | 'empty' | 'comma_separator' | 'whitespace' | 'not_a_number' | 'exponent_too_large';

export class DecimalParseError extends Error {
  override readonly name = 'DecimalParseError';
  constructor(
    readonly problem: DecimalParseProblem,
    readonly input: string,
  ) {
    super(DecimalParseError.describe(problem, input));
  }

  private static describe(problem: DecimalParseProblem, input: string): string {
    const shown = JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input);
    switch (problem) {
      case 'not_a_string':
        return 'Decimal: expected a string (numbers are floating point and not accepted)';
      case 'empty':
        return 'Decimal: empty string';
      case 'comma_separator':
        return `Decimal: ${shown} uses a comma; the decimal separator must be "." and no thousands separators are allowed`;
      case 'whitespace':
        return `Decimal: ${shown} contains whitespace`;
      case 'not_a_number':
        return `Decimal: ${shown} is not a plain decimal number (expected e.g. "-123.456" or "1.5e-3")`;
      case 'exponent_too_large':
        return `Decimal: ${shown} has an exponent beyond ±999`;
    }
  }
}

/** Thrown when a value cannot be represented at the requested scale without losing digits. */
export class PrecisionLossError extends Error {
  override readonly name = 'PrecisionLossError';
  constructor(
    readonly value: string,
    readonly scale: number,
  ) {
    super(`Decimal: ${value} has more than ${scale} decimal places; refusing to round implicitly`);
  }
}

const DECIMAL_RE = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

interface Parts {
  negative: boolean;
  /** All significant digits, integer and fraction concatenated. */
  digits: string;
  /** Value = digits × 10^exponent. */
  exponent: number;
}

function split(input: unknown): Parts {
  if (typeof input !== 'string') throw new DecimalParseError('not_a_string', String(input));
  if (input.length === 0) throw new DecimalParseError('empty', input);
  const m = DECIMAL_RE.exec(input);
  if (m === null) {
    if (input.includes(',')) throw new DecimalParseError('comma_separator', input);
    if (/\s/.test(input)) throw new DecimalParseError('whitespace', input);
    throw new DecimalParseError('not_a_number', input);
  }
  const [, sign, int, frac = '', exp = '0'] = m;
  const e = Number(exp);
  if (Math.abs(e) > 999) throw new DecimalParseError('exponent_too_large', input);
  return { negative: sign === '-', digits: (int ?? '') + frac, exponent: e - frac.length };
}

function assertScale(scale: number): void {
  if (!Number.isSafeInteger(scale) || scale < 0 || scale > 1000) throw new RangeError(`Invalid scale ${scale}`);
}

function partsToScaled(p: Parts, scale: number, original: string): bigint {
  const shift = scale + p.exponent;
  let units: bigint;
  if (shift >= 0) {
    units = BigInt(p.digits) * 10n ** BigInt(shift);
  } else {
    const drop = -shift;
    const keep = p.digits.length - drop;
    const dropped = keep > 0 ? p.digits.slice(keep) : p.digits;
    if (/[^0]/.test(dropped)) throw new PrecisionLossError(original, scale);
    units = keep > 0 ? BigInt(p.digits.slice(0, keep)) : 0n;
  }
  return p.negative ? -units : units;
}

/**
 * Strict parse of a decimal string: optional `-`, digits, optional `.digits`, optional exponent.
 * Rejects comma separators, whitespace, `NaN`, `Infinity`, `.5`, `5.`, `+5`, hex, empty strings.
 */
export function parseDecimal(input: string): Decimal {
  split(input);
  return new B(input);
}

/** True when {@link parseDecimal} would accept `input`. */
export function isDecimalString(input: unknown): input is string {
  return typeof input === 'string' && DECIMAL_RE.test(input);
}

/** Normal-notation string of a value (no exponent, no trailing-zero trimming beyond big.js's own). */
function canonical(x: Decimal | string): string {
  if (typeof x === 'string') return x;
  if (typeof x === 'object' && x !== null && Array.isArray(x.c) && typeof x.e === 'number') return x.toFixed();
  throw new DecimalParseError('not_a_string', String(x));
}

/**
 * The value as an integer count of 10^-scale units, exactly.
 * Throws {@link PrecisionLossError} when the value has more decimals than `scale`.
 * Example: `toScaled("740.951258", 6)` → `740951258n`.
 */
export function toScaled(x: Decimal | string, scale: number): bigint {
  assertScale(scale);
  const s = canonical(x);
  return partsToScaled(split(s), scale, s);
}

/** The value as `units × 10^-scale` with the smallest scale ≥ 0 that is exact. */
export function toExactScaled(x: Decimal | string): { units: bigint; scale: number } {
  const s = canonical(x);
  const p = split(s);
  let digits = p.digits;
  let exponent = p.exponent;
  while (exponent < 0 && digits.length > 1 && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    exponent++;
  }
  const scale = exponent < 0 ? -exponent : 0;
  return { units: partsToScaled({ ...p, digits, exponent }, scale, s), scale };
}

/** Plain string of `units × 10^-scale` with exactly `scale` decimals: `formatScaled(-5n, 3)` → `"-0.005"`. */
export function formatScaled(units: bigint, scale: number): string {
  assertScale(scale);
  const negative = units < 0n;
  const abs = (negative ? -units : units).toString();
  if (scale === 0) return (negative ? '-' : '') + abs;
  const padded = abs.padStart(scale + 1, '0');
  const int = padded.slice(0, padded.length - scale);
  const frac = padded.slice(padded.length - scale);
  return `${negative ? '-' : ''}${int}.${frac}`;
}

/** `units × 10^-scale` as a {@link Decimal}. */
export function fromScaled(units: bigint, scale: number): Decimal {
  return new B(formatScaled(units, scale));
}
