/** 10^0 … 10^40, the scale differences settlement meets on every line (computed once). */
const POWERS_OF_TEN: readonly bigint[] = Array.from({ length: 41 }, (_, i) => 10n ** BigInt(i));

export function pow10(n: number): bigint {
  const cached = POWERS_OF_TEN[n];
  if (cached !== undefined) return cached;
  if (!Number.isSafeInteger(n) || n < 0 || n > 1000) throw new RangeError(`Invalid scale difference ${n}`);
  return 10n ** BigInt(n);
}

/**
 * `num / den` rounded to an integer, half away from zero (…-0.5 → -1, 0.5 → 1).
 * The single rounding primitive of the system; everything else builds on it.
 */
export function divRoundHalfAwayFromZero(num: bigint, den: bigint): bigint {
  if (den === 0n) throw new RangeError('Division by zero');
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const negative = num < 0n;
  const a = negative ? -num : num;
  const q = a / den;
  const r = a - q * den;
  const rounded = r * 2n >= den ? q + 1n : q;
  return negative ? -rounded : rounded;
}

/**
 * Re-expresses `units × 10^-fromScale` at `toScale`, rounding half away from zero when decimals
 * are dropped; exact (multiplication) when `toScale ≥ fromScale`.
 */
export function roundHalfAwayFromZero(units: bigint, fromScale: number, toScale = 2): bigint {
  if (toScale >= fromScale) return units * pow10(toScale - fromScale);
  return divRoundHalfAwayFromZero(units, pow10(fromScale - toScale));
}

/**
 * Exact change of scale. Up-scaling always succeeds; down-scaling throws a RangeError if
 * non-zero digits would be dropped (use {@link roundHalfAwayFromZero} to round deliberately).
 */
export function rescale(units: bigint, fromScale: number, toScale: number): bigint {
  if (toScale >= fromScale) return units * pow10(toScale - fromScale);
  const d = pow10(fromScale - toScale);
  if (units % d !== 0n) throw new RangeError(`Cannot rescale from ${fromScale} to ${toScale} decimals without rounding`);
  return units / d;
}
