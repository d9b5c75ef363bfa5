import type {
  AccountingPointCharacteristics,
  CimHeader,
  GenericNotification,
  MarketResponse,
  MarketResponseDocumentName,
  MarketRole,
  NotifyAggregatedMeasureData,
  NotifyValidatedMeasureData,
  NotifyWholesaleServices,
  Reason,
  WholesaleServicesSeries,
  AggregatedMeasureSeries,
} from '@dh/cim';
import { isoSeconds, thousandths } from './determinism';
import type { ScenarioMeteringPoint } from './scenario';

/** Energy product code used by DataHub on metered data. */
const ENERGY_PRODUCT = '8716867000030';

export interface HeaderInput {
  readonly mRID: string;
  readonly processType: string;
  readonly datahubGln: string;
  readonly datahubRole: MarketRole;
  readonly receiverGln: string;
  readonly created: Date;
}

function header(h: HeaderInput): CimHeader {
  return {
    mRID: h.mRID,
    processType: h.processType,
    businessSectorType: '23',
    sender: { id: { codingScheme: 'A10', value: h.datahubGln }, role: h.datahubRole },
    receiver: { id: { codingScheme: 'A10', value: h.receiverGln }, role: 'DDQ' },
    createdDateTime: isoSeconds(h.created),
  };
}

export interface ResponseInput {
  readonly header: HeaderInput;
  readonly documentName: MarketResponseDocumentName;
  readonly recordMRID: string;
  readonly originalTransaction: string;
  readonly meteringPointId: string;
  readonly start?: string;
  readonly reasons: readonly Reason[];
}

/** Confirm (A01) or reject (A02) of a supplier-process request (E44). */
export function marketResponse(r: ResponseInput): MarketResponse {
  return {
    kind: 'MarketResponse',
    documentName: r.documentName,
    header: header(r.header),
    reasonCode: r.documentName.startsWith('Confirm') ? 'A01' : 'A02',
    records: [
      {
        mRID: r.recordMRID,
        originalTransactionIDReference: r.originalTransaction,
        meteringPointId: r.meteringPointId,
        ...(r.start ? { start: r.start } : {}),
        reasons: r.reasons,
      },
    ],
  };
}

/** RSM-004: start/stop of supply on a metering point from `validityStart`. */
export function genericNotification(h: HeaderInput, recordMRID: string, gsrn: string, validityStart: Date, originalTransaction?: string): GenericNotification {
  return {
    kind: 'GenericNotification',
    header: header(h),
    records: [{ mRID: recordMRID, ...(originalTransaction ? { originalTransactionIDReference: originalTransaction } : {}), validityStart: isoSeconds(validityStart), meteringPointId: gsrn }],
  };
}

/** RSM-022: the metering point's master data as of `validityStart`, with `supplierGln` as its energy supplier. */
export function accountingPointCharacteristics(
  h: HeaderInput,
  recordMRID: string,
  mp: ScenarioMeteringPoint,
  supplierGln: string,
  validityStart: Date,
  originalTransaction?: string,
): AccountingPointCharacteristics {
  return {
    kind: 'AccountingPointCharacteristics',
    header: header(h),
    records: [
      {
        mRID: recordMRID,
        ...(originalTransaction ? { originalTransactionIDReference: originalTransaction } : {}),
        validityStart: isoSeconds(validityStart),
        meteringPoint: {
          mRID: mp.gsrn,
          type: mp.type,
          ...(mp.settlementMethod ? { settlementMethod: mp.settlementMethod } : {}),
          meteringMethod: 'D01',
          connectionState: 'E22',
          readCycle: mp.resolution,
          netSettlementGroup: '0',
          meteringGridArea: mp.gridArea,
          energySupplier: { codingScheme: 'A10', value: supplierGln },
          supplyStart: isoSeconds(validityStart),
        },
      },
    ],
  };
}

/** RSM-012: one metering point's validated quantities for one local day. */
export function validatedMeasureData(h: HeaderInput, seriesMRID: string, mp: ScenarioMeteringPoint, start: Date, end: Date, quantities: readonly number[]): NotifyValidatedMeasureData {
  return {
    kind: 'NotifyValidatedMeasureData',
    header: header(h),
    series: [
      {
        mRID: seriesMRID,
        meteringPointId: mp.gsrn,
        meteringPointType: mp.type,
        registrationDateTime: isoSeconds(end),
        product: ENERGY_PRODUCT,
        unit: 'KWH',
        period: {
          resolution: mp.resolution,
          timeInterval: { start: isoSeconds(start), end: isoSeconds(end) },
          points: quantities.map((q, i) => ({ position: i + 1, quantity: thousandths(q) })),
        },
      },
    ],
  };
}

export interface AggregationSeriesInput {
  readonly mRID: string;
  readonly gridArea: string;
  readonly type: 'E17' | 'E18';
  readonly settlementMethod?: 'D01' | 'E02';
  readonly supplierGln: string;
  readonly start: Date;
  readonly end: Date;
  /** Hourly sums in thousandths. */
  readonly hours: readonly number[];
}

/** RSM-014: hourly aggregates per grid area, type and settlement method for one supplier (BRS-023). */
export function aggregatedMeasureData(h: HeaderInput, series: readonly AggregationSeriesInput[]): NotifyAggregatedMeasureData {
  return {
    kind: 'NotifyAggregatedMeasureData',
    header: header(h),
    series: series.map(
      (s): AggregatedMeasureSeries => ({
        mRID: s.mRID,
        version: '1',
        meteringPointType: s.type,
        ...(s.settlementMethod ? { settlementMethod: s.settlementMethod } : {}),
        meteringGridArea: s.gridArea,
        energySupplier: { codingScheme: 'A10', value: s.supplierGln },
        product: ENERGY_PRODUCT,
        unit: 'KWH',
        period: {
          resolution: 'PT1H',
          timeInterval: { start: isoSeconds(s.start), end: isoSeconds(s.end) },
          points: s.hours.map((q, i) => ({ position: i + 1, quantity: thousandths(q) })),
        },
      }),
    ),
  };
}

export interface WholesaleSeriesInput {
  readonly mRID: string;
  readonly gridArea: string;
  readonly supplierGln: string;
  readonly chargeCode: string;
  readonly chargeType: 'D01' | 'D02' | 'D03';
  readonly chargeOwnerGln: string;
  readonly start: Date;
  readonly end: Date;
  readonly amount: string;
}

/** RSM-019: monthly sums per charge (P1M, amount only) for one supplier (BRS-027). */
export function wholesaleServices(h: HeaderInput, series: readonly WholesaleSeriesInput[]): NotifyWholesaleServices {
  return {
    kind: 'NotifyWholesaleServices',
    header: header(h),
    series: series.map(
      (s): WholesaleServicesSeries => ({
        mRID: s.mRID,
        version: '1',
        chargeCode: s.chargeCode,
        chargeType: s.chargeType,
        chargeOwner: { codingScheme: 'A10', value: s.chargeOwnerGln },
        meteringGridArea: s.gridArea,
        energySupplier: { codingScheme: 'A10', value: s.supplierGln },
        quantityUnit: 'KWH',
        currency: 'DKK',
        period: { resolution: 'P1M', timeInterval: { start: isoSeconds(s.start), end: isoSeconds(s.end) }, points: [{ position: 1, amount: s.amount }] },
      }),
    ),
  };
}
