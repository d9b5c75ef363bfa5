import { MEAN_PRICE_SCALE, PRICE_SCALE } from '@dh/money';

/**
 * A price in DKK/kWh as an exact integer count of 10^-scale DKK: scale 9 (PRICE_SCALE) as published,
 * scale 11 (MEAN_PRICE_SCALE) for the exact mean of four quarter-hour prices.
 */
export interface ScaledPrice {
  readonly units: bigint;
  readonly scale: typeof PRICE_SCALE | typeof MEAN_PRICE_SCALE;
}

/** The price at MEAN_PRICE_SCALE (11), the common scale settlement multiplies quantities with. */
export function toMeanScale(p: ScaledPrice): bigint {
  return p.scale === MEAN_PRICE_SCALE ? p.units : p.units * 100n;
}
