import type { Period } from '@dh/dk-time';
import type { PriceArea } from './price-area';

/**
 * No price known (as of the lookup's instant) for an interval. Settlement turns it into a halt of
 * the metering point, never into a partial invoice.
 */
export class MissingPriceError extends Error {
  override readonly name = 'MissingPriceError';
  readonly priceArea: PriceArea | undefined;
  readonly chargeId: string | undefined;

  constructor(
    readonly subject: { readonly priceArea: PriceArea } | { readonly chargeId: string },
    readonly interval: Period,
  ) {
    const what = 'priceArea' in subject ? `spot price for ${subject.priceArea}` : `price of charge ${subject.chargeId}`;
    super(`Missing ${what} for ${interval.start.toISOString()}–${interval.end.toISOString()}`);
    this.priceArea = 'priceArea' in subject ? subject.priceArea : undefined;
    this.chargeId = 'chargeId' in subject ? subject.chargeId : undefined;
  }
}

export type PriceDataset = 'DayAheadPrices' | 'Elspotprices' | 'DatahubPricelist';

/** A malformed Energi Data Service record: which dataset, which record (0-based), which field, and why. */
export class PriceRecordError extends Error {
  override readonly name = 'PriceRecordError';
  constructor(
    readonly dataset: PriceDataset,
    readonly index: number,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${dataset} record ${index}: field ${field} ${problem}`);
  }
}

/** Price data that contradicts itself (e.g. two versions of one price with the same publication). */
export class PriceDataConflictError extends Error {
  override readonly name = 'PriceDataConflictError';
}
