import type { EventMetadata, JsonObject } from '@dh/event-store';
import type { ChargeResolution, ChargeType, PriceArea } from '@dh/rates-domain';

/** `metadata.context` of every rates event: the relay routes them as `rates.<kebab-type>`. */
export const RATES_CONTEXT = 'rates';

export const SPOT_PRICES_PUBLISHED = 'SpotPricesPublished';
export const CHARGE_PRICES_PUBLISHED = 'ChargePricesPublished';
export const PRODUCT_DEFINED = 'ProductDefined';
export const ELECTRICITY_TAX_RATE_SET = 'ElectricityTaxRateSet';
export const GRID_AREA_MAPPED = 'GridAreaMapped';

export interface SpotPriceEntry {
  /** Interval start, ISO UTC instant (`2026-10-25T00:00:00.000Z`). */
  start: string;
  /** DKK/MWh exactly as published. */
  dkkPerMwh: string;
  /** DKK/kWh: `dkkPerMwh` ÷ 1000 by moving the decimal point, every decimal kept. */
  dkkPerKwh: string;
}

/** One complete local delivery day of one price area. A later event in the stream is a correction (version + 1). */
export interface SpotPricesPublished {
  priceArea: PriceArea;
  /** Local (Europe/Copenhagen) delivery date `YYYY-MM-DD`. */
  deliveryDate: string;
  resolution: 'PT15M' | 'PT1H';
  /** `manual`: a staff correction of the previous version (see `correction`). */
  source: 'DayAheadPrices' | 'Elspotprices' | 'manual';
  version: number;
  /** When we learned this version (ISO UTC). */
  publishedAt: string;
  /** Every interval of the day in time order: 92/96/100 (PT15M) or 23/24/25 (PT1H). */
  prices: SpotPriceEntry[];
  /** Present on a manual correction: why, who, which version it corrects and which intervals changed. */
  correction?: ManualCorrection & { basedOnVersion: number; intervals: { start: string; before: string; after: string }[] };
}

/** A price changed by hand by staff (a published price known to be wrong), with the reason they gave. */
export interface ManualCorrection {
  reason: string;
  actor: string;
}

export interface ChargePriceRowData {
  validFrom: string;
  /** Exclusive; null open-ended. */
  validTo: string | null;
  resolution: ChargeResolution;
  /** DKK per kWh (per month for P1M) as published: 24 for PT1H (a null `PriceN` is `Price1`), one otherwise. */
  prices: string[];
  /**
   * Present when staff corrected the row by hand: the prices the published row had (null: a row added by hand).
   * A later ingest keeps the manual row while the price list still publishes those same prices.
   */
  manual?: ManualCorrection & { replaced: string[] | null };
}

/** Every known price row of one charge; a later event in the stream (version + 1) supersedes the earlier one. */
export interface ChargePricesPublished {
  chargeId: string;
  /** `ChargeOwner` as published (company name). */
  owner: string;
  gln: string;
  chargeType: ChargeType;
  code: string;
  /** `Note` (the invoice-line text), else `Description`. */
  description: string;
  version: number;
  publishedAt: string;
  /** Sorted by `validFrom`. */
  rows: ChargePriceRowData[];
  /** Present on a manual correction (the rows it changed carry `manual`). */
  correction?: ManualCorrection;
}

export interface ProductDefined {
  productId: string;
  name: string;
  marginDkkPerKwh: string;
  monthlySubscriptionDkk: string;
  exportFeeDkkPerKwh?: string;
  /** Prices of this version apply from this local date (a later version with a later date takes over). */
  validFrom: string;
  /**
   * Last day + 1 the product may be sold (CRM's catalogue hides it from then; supplies already on it keep
   * the prices in force). Absent or null: on sale.
   */
  validTo?: string | null;
  /** Billing frequencies the product is offered with; absent = both. */
  billingFrequencies?: ('monthly' | 'quarterly')[];
}

export interface ElectricityTaxRateSet {
  validFrom: string;
  validTo: string | null;
  normalDkkPerKwh: string;
  reducedDkkPerKwh: string;
}

export interface GridAreaMapped {
  gridArea: string;
  priceArea: PriceArea;
  gridCompanyGln: string;
  gridTariffChargeId: string;
  gridSubscriptionChargeId: string;
}

export const spotPricesStreamId = (priceArea: PriceArea, deliveryDate: string): string => `spot-prices-${priceArea}-${deliveryDate}`;
export const chargeStreamId = (chargeId: string): string => `charge-${chargeId}`;
export const productStreamId = (productId: string): string => `product-${productId}`;
export const ELECTRICITY_TAX_STREAM_ID = 'electricity-tax-rates';
export const gridAreaStreamId = (gridArea: string): string => `grid-area-${gridArea}`;

/** Who asked, and the command's clock. */
export interface RatesCommandContext {
  correlationId: string;
  causationId: string | null;
  actor: string;
  now: Date;
}

export function ratesMetadata(context: RatesCommandContext): EventMetadata {
  return { correlationId: context.correlationId, causationId: context.causationId, actor: context.actor, schemaVersion: 1, context: RATES_CONTEXT };
}

/** Event data as stored: the contract types hold only JSON values (optional fields are left out, never undefined). */
export function toEventData(data: SpotPricesPublished | ChargePricesPublished | ProductDefined | ElectricityTaxRateSet | GridAreaMapped): JsonObject {
  return JSON.parse(JSON.stringify(data)) as JsonObject;
}
