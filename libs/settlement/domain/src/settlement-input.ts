import type { QualityCode } from '@dh/cim';
import type { LocalDate, Resolution } from '@dh/dk-time';
import type { Charge, PriceArea, PriceBook } from '@dh/rates-domain';
import type { VatMode } from './invoice';

export interface MeteringPoint {
  /** GSRN of the consumption (E17) metering point. */
  readonly gsrn: string;
  readonly gridArea: string;
  readonly priceArea: PriceArea;
  /** Registered for electric heating (elvarme): reduced tax above the yearly threshold. */
  readonly electricHeating: boolean;
  /** GSRN of the production (E18) metering point beside it, for hourly netting. */
  readonly productionGsrn?: string;
}

/** Days we supply the metering point: `start` … `endExclusive` − 1 (local dates); `null` = open-ended. */
export interface SupplyPeriod {
  readonly start: LocalDate;
  readonly endExclusive: LocalDate | null;
}

/** A calendar month or quarter in Europe/Copenhagen. */
export type BillingPeriod =
  | { readonly kind: 'month'; readonly year: number; readonly month: number }
  | { readonly kind: 'quarter'; readonly year: number; readonly quarter: number };

/** One metered interval (RSM-012 position). `quantityKwh` null or quality A02 = not available. */
export interface MeteredInterval {
  readonly start: Date;
  readonly quantityKwh: string | null;
  /** Absent = A04 (as provided). */
  readonly quality?: QualityCode;
}

export interface MeteredSeries {
  readonly gsrn: string;
  readonly resolution: Resolution;
  readonly intervals: readonly MeteredInterval[];
}

/** Our product: prices as charges with validity and versions (see @dh/rates-domain). */
export interface Product {
  readonly name: string;
  /** Margin per kWh added to the spot price. */
  readonly margin: Charge;
  /** Monthly subscription (P1M). */
  readonly subscription: Charge;
  /** Fee per kWh deducted from the spot price when we buy a net export; required with production. */
  readonly exportFee?: Charge;
}

/**
 * A one-off fee (DataHub charge type D02) DataHub links to the metering point (RSM-031): charged once,
 * on the link's start date (DataHub's effectiveDate), at the fee's price valid that day × the link's
 * factor (pieces), on the invoice of the customer supply that holds that day (opengeh-wholesale
 * `subscriptions_and_fees.py`: a fee is priced on its one-day link; datahub-formats.md §6).
 */
export interface LinkedFee {
  /** The fee's price list (its price per piece, P1M or P1D as DataHub sends fee prices). */
  readonly charge: Charge;
  /** The day the fee is charged: the link's own start, never a start clipped to a billing period. */
  readonly date: LocalDate;
  /** Pieces (DataHub's link quantity): a whole number. */
  readonly factor: string;
  /**
   * True when the fee's master data says no VAT (RSM-034 `VATPayer` D02 on the fee's date): its line carries
   * no VAT and stays out of the VAT base. Absent = VAT payable (D01), as every other line.
   */
  readonly vatExempt?: boolean;
}

export interface SettlementInput {
  readonly meteringPoint: MeteringPoint;
  readonly supplyPeriods: readonly SupplyPeriod[];
  readonly billingPeriod: BillingPeriod;
  readonly consumption: MeteredSeries;
  readonly production?: MeteredSeries;
  readonly prices: PriceBook;
  readonly product: Product;
  /** Consumption (net import) of the calendar year before the billing period, kWh; for electric heating. */
  readonly yearToDateConsumptionKwh: string;
  /** Prices as known at this instant are used (reproducible history). */
  readonly asOf: Date;
  /** How VAT is computed on the invoice; absent = `per-line` (see `VatMode`). */
  readonly vatMode?: VatMode;
  /** Fees linked to the metering point; only those dated on a supplied day are invoiced. Absent = none. */
  readonly fees?: readonly LinkedFee[];
}
