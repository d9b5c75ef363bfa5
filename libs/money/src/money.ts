import { Decimal, formatScaled, toExactScaled, toScaled } from './decimal';
import { divRoundHalfAwayFromZero, pow10, roundHalfAwayFromZero } from './rounding';

/** Øre: 2 decimals of DKK. */
export const ORE_SCALE = 2;

/**
 * An amount of DKK as an integer number of øre. Immutable. Produced from exact amounts only via
 * {@link toOre}/{@link vatOf}/{@link prorate} (the single rounding rule) or from exact øre.
 * JSON form is the plain string `"-1234.56"` (see {@link Money.parse}).
 */
export class Money {
  static readonly ZERO: Money = new Money(0n);

  private constructor(readonly ore: bigint) {}

  /** From an integer number of øre (a JS number must be a safe integer). */
  static ofOre(ore: bigint | number): Money {
    if (typeof ore === 'number' && !Number.isSafeInteger(ore)) throw new RangeError(`Money.ofOre: ${ore} is not a safe integer`);
    return new Money(BigInt(ore));
  }

  /** Exact DKK string with at most 2 decimals (e.g. `"1234.5"`, `"-0.01"`); more decimals throw. */
  static parse(dkk: string): Money {
    return new Money(toScaled(dkk, ORE_SCALE));
  }

  static sum(items: Iterable<Money>): Money {
    let total = 0n;
    for (const m of items) total += m.ore;
    return new Money(total);
  }

  add(other: Money): Money {
    return new Money(this.ore + other.ore);
  }

  sub(other: Money): Money {
    return new Money(this.ore - other.ore);
  }

  negate(): Money {
    return new Money(-this.ore);
  }

  abs(): Money {
    return this.ore < 0n ? new Money(-this.ore) : this;
  }

  /** Multiplies by an integer (e.g. a count); exact. */
  times(n: bigint | number): Money {
    if (typeof n === 'number' && !Number.isSafeInteger(n)) throw new RangeError(`Money.times: ${n} is not a safe integer`);
    return new Money(this.ore * BigInt(n));
  }

  compare(other: Money): -1 | 0 | 1 {
    return this.ore < other.ore ? -1 : this.ore > other.ore ? 1 : 0;
  }

  equals(other: Money): boolean {
    return this.ore === other.ore;
  }

  sign(): -1 | 0 | 1 {
    return this.ore < 0n ? -1 : this.ore > 0n ? 1 : 0;
  }

  isZero(): boolean {
    return this.ore === 0n;
  }

  isNegative(): boolean {
    return this.ore < 0n;
  }

  isPositive(): boolean {
    return this.ore > 0n;
  }

  /** `"1234.56"`, `"-0.05"`: point separator, no thousands separators, always two decimals. */
  format(): string {
    return formatScaled(this.ore, ORE_SCALE);
  }

  toString(): string {
    return this.format();
  }

  toJSON(): string {
    return this.format();
  }
}

/** `"1234.56"` from øre. */
export function formatDkk(ore: bigint | Money): string {
  return formatScaled(typeof ore === 'bigint' ? ore : ore.ore, ORE_SCALE);
}

/**
 * An exact amount `units × 10^-scale` DKK rounded once to øre, half away from zero.
 * E.g. a line sum at scale 12 (milli-kWh × nano-DKK/kWh): `toOre(sum, 12)`.
 */
export function toOre(units: bigint, scale: number): Money {
  return Money.ofOre(roundHalfAwayFromZero(units, scale, ORE_SCALE));
}

/** Danish VAT rate (momsloven: 25 %). */
export const DK_VAT_RATE = '0.25';

/**
 * VAT of an already rounded line amount: `line × rate`, rounded half away from zero to øre.
 * 0.02 DKK → 0.005 → 0.01; −0.02 → −0.01.
 */
const DK_VAT_SCALED = toExactScaled(DK_VAT_RATE);

export function vatOf(lineAmount: Money, rate: Decimal | string = DK_VAT_RATE): Money {
  const r = rate === DK_VAT_RATE ? DK_VAT_SCALED : toExactScaled(rate);
  return toOre(lineAmount.ore * r.units, ORE_SCALE + r.scale);
}

/**
 * VAT of an invoice's subtotal allocated back to its lines: the invoice VAT is `vatOf(Σ lines)`
 * (rounded once), and each line gets its exact share (`line × rate`) rounded down to øre plus one øre
 * for the lines with the largest remainders until the shares sum to the invoice VAT (largest
 * remainder method; ties go to the earlier line). Signed amounts are allowed (a credit line takes a
 * negative share). The result is in the order of `lineAmounts`.
 */
export function vatAllocated(lineAmounts: readonly Money[], rate: Decimal | string = DK_VAT_RATE): Money[] {
  const r = rate === DK_VAT_RATE ? DK_VAT_SCALED : toExactScaled(rate);
  const den = pow10(r.scale);
  const total = vatOf(Money.sum(lineAmounts), rate).ore;
  // floor(exact share) in øre and the remainder in 1/den øre, for each line.
  const shares = lineAmounts.map((a, i) => {
    const exact = a.ore * r.units;
    let floor = exact / den;
    if (exact < 0n && floor * den !== exact) floor -= 1n;
    return { i, floor, remainder: exact - floor * den };
  });
  let left = total - shares.reduce((s, x) => s + x.floor, 0n);
  const byRemainder = [...shares].sort((a, b) => (a.remainder === b.remainder ? a.i - b.i : a.remainder > b.remainder ? -1 : 1));
  for (const x of byRemainder) {
    if (left <= 0n || x.remainder === 0n) break;
    x.floor += 1n;
    left -= 1n;
  }
  // Σ floor ≤ ⌊exact total⌋ ≤ the rounded total ≤ ⌈exact total⌉ ≤ Σ floor + (lines with a remainder): always fully allocated.
  if (left !== 0n) throw new Error(`vatAllocated: ${left} øre left over`);
  return shares.map((x) => Money.ofOre(x.floor));
}

/**
 * `monthlyAmount × daysSupplied ÷ daysInMonth`, exact, rounded once to øre (half away from zero).
 * `monthlyAmount` may carry more than 2 decimals (e.g. Energinet's 15.583333 DKK/month).
 */
export function prorate(monthlyAmount: Money | Decimal | string, daysSupplied: number, daysInMonth: number): Money {
  if (!Number.isSafeInteger(daysInMonth) || daysInMonth <= 0) throw new RangeError(`prorate: daysInMonth ${daysInMonth} must be a positive integer`);
  if (!Number.isSafeInteger(daysSupplied) || daysSupplied < 0 || daysSupplied > daysInMonth) {
    throw new RangeError(`prorate: daysSupplied ${daysSupplied} must be an integer in 0..${daysInMonth}`);
  }
  const { units, scale } = monthlyAmount instanceof Money ? { units: monthlyAmount.ore, scale: ORE_SCALE } : toExactScaled(monthlyAmount);
  return ratioToOre(units * BigInt(daysSupplied), scale, BigInt(daysInMonth));
}

/** Rounds the rational `(units × 10^-scale) / denominator` DKK once to øre, half away from zero. */
export function ratioToOre(units: bigint, scale: number, denominator: bigint): Money {
  if (scale >= ORE_SCALE) return Money.ofOre(divRoundHalfAwayFromZero(units, denominator * pow10(scale - ORE_SCALE)));
  return Money.ofOre(divRoundHalfAwayFromZero(units * pow10(ORE_SCALE - scale), denominator));
}
