import type { CimHeader, MeteringPointType, PartyId, QualityCode, SettlementMethod, SettlementVersion, TimeInterval } from './common';

export type MeasureResolution = 'PT15M' | 'PT1H';

/**
 * One interval's value. `quantity` is the exact dot-decimal string from the document (kWh);
 * it is absent only when the quality says "not available" (A02). No quality means measured (A04).
 */
export interface MeasurePoint {
  readonly position: number;
  readonly quantity?: string;
  readonly quality?: QualityCode;
}

export interface MeasurePeriod {
  readonly resolution: MeasureResolution;
  readonly timeInterval: TimeInterval;
  readonly points: readonly MeasurePoint[];
}

/** RSM-012 Series: one metering point's time series. */
export interface ValidatedMeasureSeries {
  readonly mRID: string;
  readonly originalTransactionIDReference?: string;
  /** GSRN, 18 digits; its GS1 check digit is checked in strict mode (the default). */
  readonly meteringPointId: string;
  readonly meteringPointType: MeteringPointType;
  readonly registrationDateTime?: string;
  readonly product?: string;
  readonly unit: 'KWH' | 'K3';
  readonly period: MeasurePeriod;
}

/** RSM-012 NotifyValidatedMeasureData (E66), BRS-021. */
export interface NotifyValidatedMeasureData {
  readonly kind: 'NotifyValidatedMeasureData';
  readonly header: CimHeader;
  readonly series: readonly ValidatedMeasureSeries[];
}

/** RSM-014 Series: an aggregation per grid area (and supplier / BRP). */
export interface AggregatedMeasureSeries {
  readonly mRID: string;
  readonly version?: string;
  readonly settlementVersion?: SettlementVersion;
  readonly originalTransactionIDReference?: string;
  readonly meteringPointType: MeteringPointType;
  readonly settlementMethod?: SettlementMethod;
  readonly meteringGridArea: string;
  readonly energySupplier?: PartyId;
  readonly balanceResponsibleParty?: PartyId;
  readonly product?: string;
  readonly unit: 'KWH' | 'K3';
  readonly period: MeasurePeriod;
}

/** RSM-014 NotifyAggregatedMeasureData (E31), BRS-023 / BRS-026. */
export interface NotifyAggregatedMeasureData {
  readonly kind: 'NotifyAggregatedMeasureData';
  readonly header: CimHeader;
  readonly series: readonly AggregatedMeasureSeries[];
}
