import { Decimal, formatScaled, fromScaled, toExactScaled, toScaled } from './decimal';
import { Money, toOre } from './money';
import { rescale } from './rounding';

/**
 * Fixed scales for bulk settlement (number of decimals of the integer representation):
 * - quantity: kWh with 3 decimals → integer milli-kWh (Wh);
 * - price: DKK/kWh with up to 9 decimals (DayAheadPriceDKK has 6 per MWh) → integer nano-DKK/kWh;
 * - product quantity × price: scale 3 + 9 = 12 (pico-DKK), exact in BigInt;
 * - mean of four quarter-hour prices: (p1+p2+p3+p4)/4 = (p1+p2+p3+p4) × 25 / 100, so the mean of
 *   values at scale 9 is exact at scale 11 (two more decimals, never more);
 * - hourly quantity × mean price: scale 3 + 11 = 14.
 */
export const QUANTITY_SCALE = 3;
export const PRICE_SCALE = 9;
export const AMOUNT_SCALE = QUANTITY_SCALE + PRICE_SCALE;
export const MEAN_PRICE_SCALE = PRICE_SCALE + 2;
export const MEAN_AMOUNT_SCALE = QUANTITY_SCALE + MEAN_PRICE_SCALE;

export type QuantityArray = Int32Array | BigInt64Array | readonly number[] | readonly bigint[];
export type PriceArray = BigInt64Array | readonly bigint[];

/** kWh string (≤ 3 decimals) → integer milli-kWh. Throws on more decimals: quantities are never rounded. */
export function parseQuantityMilliKwh(kwh: Decimal | string): bigint {
  return toScaled(kwh, QUANTITY_SCALE);
}

/** DKK/kWh string (≤ 9 decimals) → integer nano-DKK/kWh. Throws on more decimals. */
export function parsePriceNanoDkkPerKwh(dkkPerKwh: Decimal | string): bigint {
  return toScaled(dkkPerKwh, PRICE_SCALE);
}

/**
 * DKK/MWh → DKK/kWh, exactly (÷1000 by moving the decimal point; every published decimal kept):
 * `"123.456789"` → `0.123456789`, `"-5"` → `-0.005`.
 */
export function mwhToKwhPrice(dkkPerMwh: Decimal | string): Decimal {
  const { units, scale } = toExactScaled(dkkPerMwh);
  return fromScaled(units, scale + 3);
}

/** DKK/MWh → integer units of 10^-scale DKK/kWh (default nano-DKK/kWh); throws if not exact. */
export function mwhToKwhPriceUnits(dkkPerMwh: Decimal | string, scale: number = PRICE_SCALE): bigint {
  if (!Number.isSafeInteger(scale) || scale < 3) throw new RangeError(`mwhToKwhPriceUnits: scale ${scale} must be ≥ 3`);
  return toScaled(dkkPerMwh, scale - 3);
}

/**
 * Exact mean of four quarter-hour prices at any common scale s, returned at scale s + 2
 * (for PRICE_SCALE inputs: MEAN_PRICE_SCALE = 11). No rounding happens.
 */
export function meanOfFour(p1: bigint, p2: bigint, p3: bigint, p4: bigint): bigint {
  return (p1 + p2 + p3 + p4) * 25n;
}

function toBigIntQuantity(q: number | bigint, i: number): bigint {
  if (typeof q === 'bigint') return q;
  if (!Number.isSafeInteger(q)) throw new RangeError(`sumProducts: quantity at index ${i} (${q}) is not a safe integer`);
  return BigInt(q);
}

/**
 * Σ qᵢ × pᵢ exactly, in BigInt. With quantities in milli-kWh and prices in nano-DKK/kWh the result
 * is at AMOUNT_SCALE (12); in general at scale(q) + scale(p). Convert once with {@link toOre}.
 */
export function sumProducts(quantities: QuantityArray, prices: PriceArray): bigint {
  if (quantities.length !== prices.length) {
    throw new RangeError(`sumProducts: ${quantities.length} quantities but ${prices.length} prices`);
  }
  let sum = 0n;
  for (let i = 0; i < quantities.length; i++) {
    sum += toBigIntQuantity(quantities[i]!, i) * prices[i]!;
  }
  return sum;
}

/**
 * Exact accumulator for one invoice line at a fixed scale (default 14, which holds both
 * quarter-hour products (12) and hourly-quantity × mean-price products (14) without loss).
 * Rounds only in {@link ExactSum.toOre}.
 */
export class ExactSum {
  private total = 0n;

  constructor(readonly scale: number = MEAN_AMOUNT_SCALE) {
    if (!Number.isSafeInteger(scale) || scale < 0) throw new RangeError(`ExactSum: invalid scale ${scale}`);
  }

  /** Adds `units × 10^-scale`; throws if `scale` is finer than the accumulator's. */
  add(units: bigint, scale: number): this {
    this.total += rescale(units, scale, this.scale);
    return this;
  }

  /** Adds `a × b` where a is at `aScale` and b at `bScale`. */
  addProduct(a: bigint, aScale: number, b: bigint, bScale: number): this {
    return this.add(a * b, aScale + bScale);
  }

  get units(): bigint {
    return this.total;
  }

  toDecimalString(): string {
    return formatScaled(this.total, this.scale);
  }

  toOre(): Money {
    return toOre(this.total, this.scale);
  }
}
