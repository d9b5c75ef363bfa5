import type { ChargeTypeCode, CimHeader, MeteringPointType, PartyId, QualityCode, SettlementMethod, SettlementVersion, TimeInterval } from './common';

export type WholesaleResolution = 'PT15M' | 'PT1H' | 'P1D' | 'P1M';

export interface WholesalePoint {
  readonly position: number;
  readonly quantity?: string;
  readonly price?: string;
  /** energySum_Quantity.quantity: the amount in DKK, exact decimal string. */
  readonly amount: string;
  readonly quality?: QualityCode;
}

export interface WholesalePeriod {
  readonly resolution: WholesaleResolution;
  readonly timeInterval: TimeInterval;
  readonly points: readonly WholesalePoint[];
}

/** RSM-019 Series: amounts per charge (or a monthly sum / total). */
export interface WholesaleServicesSeries {
  readonly mRID: string;
  readonly version?: string;
  readonly settlementVersion?: SettlementVersion;
  readonly originalTransactionIDReference?: string;
  readonly meteringPointType?: MeteringPointType;
  readonly settlementMethod?: SettlementMethod;
  readonly chargeCode?: string;
  readonly chargeType?: ChargeTypeCode;
  readonly chargeOwner?: PartyId;
  readonly meteringGridArea: string;
  readonly energySupplier: PartyId;
  readonly product?: string;
  readonly quantityUnit?: 'KWH' | 'H87';
  readonly priceUnit?: 'KWH' | 'H87';
  readonly currency: 'DKK';
  readonly period: WholesalePeriod;
}

/** RSM-019 NotifyWholesaleServices (E31), BRS-027 / BRS-028 / BRS-030. */
export interface NotifyWholesaleServices {
  readonly kind: 'NotifyWholesaleServices';
  readonly header: CimHeader;
  readonly series: readonly WholesaleServicesSeries[];
}
