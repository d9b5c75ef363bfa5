import type { CimHeader, MeteringPointType, PartyId, SettlementMethod } from './common';

export interface Address {
  readonly streetCode?: string;
  readonly streetName?: string;
  readonly buildingNumber?: string;
  readonly floor?: string;
  readonly suite?: string;
  readonly townCode?: string;
  readonly townName?: string;
  readonly townSection?: string;
  readonly country?: string;
  readonly postalCode?: string;
}

export interface AccountingPoint {
  /** GSRN, 18 digits. */
  readonly mRID: string;
  readonly meteringPointResponsible?: PartyId;
  readonly type: MeteringPointType;
  /** Only for consumption (E17): D01 flex, E02 non-profiled. */
  readonly settlementMethod?: SettlementMethod;
  readonly meteringMethod?: string;
  readonly connectionState?: string;
  readonly readCycle?: string;
  readonly netSettlementGroup?: string;
  readonly meteringGridArea: string;
  readonly energySupplier?: PartyId;
  readonly supplyStart?: string;
  readonly description?: string;
  readonly mainAddress?: Address;
}

export interface AccountingPointRecord {
  readonly mRID: string;
  readonly originalTransactionIDReference?: string;
  /** Effective date of these characteristics. */
  readonly validityStart: string;
  readonly meteringPoint: AccountingPoint;
}

/** RSM-022 AccountingPointCharacteristics (E07): metering point master data (the mission's "RSM-007"). */
export interface AccountingPointCharacteristics {
  readonly kind: 'AccountingPointCharacteristics';
  readonly header: CimHeader;
  readonly records: readonly AccountingPointRecord[];
}
