import type { Period } from '@dh/dk-time';
import type { PriceArea } from '@dh/rates-domain';

/**
 * Why a metering point's settlement stopped. A halt replaces the whole invoice: never a partial one.
 */
export type SettlementHalted =
  | {
      readonly outcome: 'halted';
      readonly reason: 'missing-metered-data';
      readonly gsrn: string;
      /** The series lacking data: the consumption GSRN or the production GSRN. */
      readonly seriesGsrn: string;
      readonly interval: Period;
    }
  | {
      readonly outcome: 'halted';
      readonly reason: 'missing-price';
      readonly gsrn: string;
      readonly priceArea: PriceArea | null;
      readonly chargeId: string | null;
      readonly interval: Period;
    }
  | { readonly outcome: 'halted'; readonly reason: 'missing-configuration'; readonly gsrn: string; readonly problem: string }
  | { readonly outcome: 'halted'; readonly reason: 'invalid-input'; readonly gsrn: string; readonly problem: string };

export type HaltReason = SettlementHalted['reason'];

/** Internal: unwinds the interval loop to a halt. Never escapes `settle*`. */
export class MissingMeteredData extends Error {
  constructor(
    readonly seriesGsrn: string,
    readonly interval: Period,
  ) {
    super(`Missing metered data for ${seriesGsrn} at ${interval.start.toISOString()}`);
  }
}

/** Internal: invalid input found while preparing; becomes an `invalid-input` halt. */
export class InvalidSettlementInput extends Error {}

/** Internal: a configuration gap (grid area, charge, product price); becomes a `missing-configuration` halt. */
export class MissingConfiguration extends Error {}
