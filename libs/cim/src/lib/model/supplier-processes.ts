import type { CimHeader, PartyId } from './common';

/** E03 change of supplier (BRS-001), E65 move-in (BRS-009). */
export type ChangeOfSupplierReason = 'E03' | 'E65';
/** E20 end of supply (BRS-002), E66 move-out (BRS-010). */
export type EndOfSupplyReason = 'E20' | 'E66';
/** The process whose pending request is cancelled: E03 BRS-001, E65 BRS-009, E20 BRS-002, E66 BRS-010. */
export type CancellationReason = 'E03' | 'E65' | 'E20' | 'E66';
/** BRS-003 incorrect change of supplier; the code is an assumption (README). */
export type IncorrectSwitchReason = 'D07';

/** ARR = CPR (personal), VAT = CVR (company). */
export interface CustomerId {
  readonly codingScheme: 'ARR' | 'VAT';
  readonly value: string;
}

export interface ChangeOfSupplierRecord {
  readonly mRID: string;
  readonly meteringPointId: string;
  readonly energySupplier: PartyId;
  readonly balanceResponsibleParty?: PartyId;
  readonly customerId?: CustomerId;
  readonly customerName?: string;
  readonly start: string;
}

/** RSM-001 RequestChangeOfSupplier (392): BRS-001 (E03) and BRS-009 move-in (E65). */
export interface RequestChangeOfSupplier {
  readonly kind: 'RequestChangeOfSupplier';
  readonly header: CimHeader<ChangeOfSupplierReason>;
  readonly records: readonly ChangeOfSupplierRecord[];
}

export interface CancellationRecord {
  readonly mRID: string;
  /** The transaction id (MktActivityRecord.mRID) of the request being cancelled. */
  readonly originalTransactionIDReference: string;
  readonly meteringPointId: string;
  readonly energySupplier?: PartyId;
}

/** RSM-002 RequestCancelChangeOfSupplier: cancels a pending BRS-001/009 request, or a BRS-002/010 end of supply. */
export interface RequestCancelChangeOfSupplier {
  readonly kind: 'RequestCancelChangeOfSupplier';
  readonly header: CimHeader<CancellationReason>;
  readonly records: readonly CancellationRecord[];
}

export interface IncorrectSwitchRecord {
  readonly mRID: string;
  readonly originalTransactionIDReference?: string;
  readonly meteringPointId: string;
  readonly energySupplier: PartyId;
  /** Effective date of the switch that should not have happened. */
  readonly start: string;
}

/** RSM-003 RequestReallocateChangeOfSupplier: BRS-003 incorrect change of supplier. */
export interface RequestReallocateChangeOfSupplier {
  readonly kind: 'RequestReallocateChangeOfSupplier';
  readonly header: CimHeader<IncorrectSwitchReason>;
  readonly records: readonly IncorrectSwitchRecord[];
}

export interface EndOfSupplyRecord {
  readonly mRID: string;
  readonly meteringPointId: string;
  readonly energySupplier: PartyId;
  /** First instant without our supply. */
  readonly start: string;
}

/** RSM-005 RequestEndOfSupply: BRS-002 end of supply (E20) and BRS-010 move-out (E66). */
export interface RequestEndOfSupply {
  readonly kind: 'RequestEndOfSupply';
  readonly header: CimHeader<EndOfSupplyReason>;
  readonly records: readonly EndOfSupplyRecord[];
}

export interface GenericNotificationRecord {
  readonly mRID: string;
  readonly originalTransactionIDReference?: string;
  readonly validityStart: string;
  readonly meteringPointId: string;
}

/** RSM-004 GenericNotification (E44): e.g. end of supply notice to the old supplier after a switch (E03). */
export interface GenericNotification {
  readonly kind: 'GenericNotification';
  readonly header: CimHeader;
  readonly records: readonly GenericNotificationRecord[];
}
