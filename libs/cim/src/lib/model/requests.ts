import type { ChargeTypeCode, CimHeader, MeteringPointType, PartyId, SettlementMethod, SettlementVersion } from './common';

export interface AggregatedMeasureDataRequestSeries {
  readonly mRID: string;
  readonly settlementVersion?: SettlementVersion;
  readonly meteringPointType?: MeteringPointType;
  readonly settlementMethod?: SettlementMethod;
  readonly start: string;
  readonly end?: string;
  readonly meteringGridArea?: string;
  readonly energySupplier?: PartyId;
  readonly balanceResponsibleParty?: PartyId;
}

/** RSM-016 RequestAggregatedMeasureData (E74), BRS-026. */
export interface RequestAggregatedMeasureData {
  readonly kind: 'RequestAggregatedMeasureData';
  readonly header: CimHeader;
  readonly series: readonly AggregatedMeasureDataRequestSeries[];
}

export interface RequestedChargeType {
  readonly type: ChargeTypeCode;
  readonly mRID: string;
}

export interface WholesaleSettlementRequestSeries {
  readonly mRID: string;
  readonly settlementVersion?: SettlementVersion;
  readonly start: string;
  readonly end?: string;
  readonly meteringGridArea?: string;
  readonly energySupplier?: PartyId;
  readonly chargeOwner?: PartyId;
  /** P1M asks for monthly sums (BRS-030). */
  readonly resolution?: 'PT1H' | 'P1D' | 'P1M';
  readonly chargeTypes: readonly RequestedChargeType[];
}

/** RSM-017 RequestWholesaleSettlement (D21), BRS-028 / BRS-030. */
export interface RequestWholesaleSettlement {
  readonly kind: 'RequestWholesaleSettlement';
  readonly header: CimHeader;
  readonly series: readonly WholesaleSettlementRequestSeries[];
}
