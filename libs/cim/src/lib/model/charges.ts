import type { ChargeTypeCode, CimHeader, PartyId, TimeInterval } from './common';

export interface ChargeLink {
  readonly owner: PartyId;
  readonly type: ChargeTypeCode;
  readonly mRID: string;
  readonly factor: string;
  readonly effectiveDate: string;
  readonly terminationDate?: string;
}

export interface ChargeLinkRecord {
  readonly mRID: string;
  readonly meteringPointId: string;
  readonly chargeTypes: readonly ChargeLink[];
}

/** RSM-031 NotifyBillingMasterData (D07): charge links per metering point. */
export interface NotifyBillingMasterData {
  readonly kind: 'NotifyBillingMasterData';
  readonly header: CimHeader;
  readonly records: readonly ChargeLinkRecord[];
}

export interface PricePoint {
  readonly position: number;
  readonly price: string;
}

export interface PricePeriod {
  readonly resolution: 'PT15M' | 'PT1H' | 'P1D' | 'P1M';
  readonly timeInterval: TimeInterval;
  readonly points: readonly PricePoint[];
}

export interface ChargeInformation {
  readonly owner: PartyId;
  readonly type: ChargeTypeCode;
  readonly mRID: string;
  readonly name?: string;
  readonly description?: string;
  readonly priceResolution?: 'PT15M' | 'PT1H' | 'P1D' | 'P1M';
  readonly effectiveDate: string;
  readonly terminationDate?: string;
  /** D01 VAT payable, D02 no VAT. */
  readonly vatPayer?: 'D01' | 'D02';
  readonly transparentInvoicing?: boolean;
  readonly taxIndicator?: boolean;
  readonly prices?: PricePeriod;
}

export interface PriceListRecord {
  readonly mRID: string;
  readonly chargeTypes: readonly ChargeInformation[];
}

/** RSM-034 NotifyPriceList (D12): charge master data (D18) or prices (D08). */
export interface NotifyPriceList {
  readonly kind: 'NotifyPriceList';
  readonly header: CimHeader;
  readonly records: readonly PriceListRecord[];
}
