import type {
  AccountingPointCharacteristics,
  NotifyBillingMasterData,
  NotifyPriceList,
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
import type { ChargeSeriesResult, EnergySeriesResult, WholesaleEngineResult } from './settlement-engine';
import type { ScenarioCharge, ScenarioMeteringPoint } from './scenario';

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

/** One metering point's validated quantities for one local day, as a series of an RSM-012. */
export interface MeasureSeriesInput {
  readonly seriesMRID: string;
  readonly mp: ScenarioMeteringPoint;
  readonly start: Date;
  readonly end: Date;
  readonly quantities: readonly number[];
}

/** RSM-012 with one or more series (DataHub bundles a supplier's metering points of a day). */
export function validatedMeasureDataBundle(h: HeaderInput, series: readonly MeasureSeriesInput[]): NotifyValidatedMeasureData {
  return {
    kind: 'NotifyValidatedMeasureData',
    header: header(h),
    series: series.map(({ seriesMRID, mp, start, end, quantities }) => ({
      mRID: seriesMRID,
      meteringPointId: mp.gsrn,
      meteringPointType: mp.type,
      registrationDateTime: isoSeconds(end),
      product: ENERGY_PRODUCT,
      unit: 'KWH' as const,
      period: {
        resolution: mp.resolution,
        timeInterval: { start: isoSeconds(start), end: isoSeconds(end) },
        points: quantities.map((q, i) => ({ position: i + 1, quantity: thousandths(q) })),
      },
    })),
  };
}

/** RSM-012: one metering point's validated quantities for one local day. */
export function validatedMeasureData(h: HeaderInput, seriesMRID: string, mp: ScenarioMeteringPoint, start: Date, end: Date, quantities: readonly number[]): NotifyValidatedMeasureData {
  return validatedMeasureDataBundle(h, [{ seriesMRID, mp, start, end, quantities }]);
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

/** Product code DataHub writes on every RSM-019 series (`ProductType.Tariff`). */
const TARIFF_PRODUCT = '5790001330590';
const party = (value: string) => ({ codingScheme: 'A10' as const, value });

/** RSM-031 (D07): the charge links of one metering point, with their own periods and factors. */
export function notifyBillingMasterData(h: HeaderInput, recordMRID: string, gsrn: string, links: readonly { charge: ScenarioCharge; factor: number; from: Date; to?: Date }[]): NotifyBillingMasterData {
  return {
    kind: 'NotifyBillingMasterData',
    header: header(h),
    records: [
      {
        mRID: recordMRID,
        meteringPointId: gsrn,
        chargeTypes: links.map((l) => ({
          owner: party(l.charge.ownerGln),
          type: l.charge.type,
          mRID: l.charge.code,
          factor: String(l.factor),
          effectiveDate: isoSeconds(l.from),
          ...(l.to ? { terminationDate: isoSeconds(l.to) } : {}),
        })),
      },
    ],
  };
}

/**
 * RSM-034 (D12): charge master data (business reason D18) or prices (D08) of the scenario's charges, valid from
 * `from`: a tariff's 24 hourly prices by Copenhagen hour, or one price for the whole validity.
 */
export function notifyPriceList(h: HeaderInput, recordMRID: (i: number) => string, charges: readonly ScenarioCharge[], from: Date, until: Date): NotifyPriceList {
  const masterData = h.processType === 'D18';
  return {
    kind: 'NotifyPriceList',
    header: header(h),
    records: charges.map((c, i) => ({
      mRID: recordMRID(i),
      chargeTypes: [
        {
          owner: party(c.ownerGln),
          type: c.type,
          mRID: c.code,
          ...(masterData ? { name: c.name, description: c.name, priceResolution: c.resolution, vatPayer: 'D01' as const, transparentInvoicing: false, taxIndicator: c.tax } : {}),
          effectiveDate: isoSeconds(from),
          ...(masterData
            ? {}
            : {
                prices: {
                  resolution: c.resolution,
                  timeInterval: { start: isoSeconds(from), end: isoSeconds(until) },
                  points: (c.resolution === 'PT1H' && c.hourlyPrices ? c.hourlyPrices : [c.price]).map((price, p) => ({ position: p + 1, price })),
                },
              }),
        },
      ],
    })),
  };
}

/** RSM-014: one series (DataHub sends one per document) of a supplier's energy in a grid area. */
export function aggregatedEnergy(
  h: HeaderInput,
  seriesMRID: string,
  calculationVersion: number,
  s: EnergySeriesResult,
  gridArea: string,
  supplierGln: string,
  period: { start: Date; end: Date },
  answer: { settlementVersion?: 'D01' | 'D02' | 'D03'; originalTransaction?: string },
): NotifyAggregatedMeasureData {
  return {
    kind: 'NotifyAggregatedMeasureData',
    header: header(h),
    series: [
      {
        mRID: seriesMRID,
        version: String(calculationVersion),
        ...(answer.settlementVersion ? { settlementVersion: answer.settlementVersion } : {}),
        ...(answer.originalTransaction ? { originalTransactionIDReference: answer.originalTransaction } : {}),
        meteringPointType: s.type,
        ...(s.settlementMethod ? { settlementMethod: s.settlementMethod } : {}),
        meteringGridArea: gridArea,
        energySupplier: party(supplierGln),
        product: ENERGY_PRODUCT,
        unit: 'KWH',
        period: {
          resolution: s.resolution,
          timeInterval: { start: isoSeconds(period.start), end: isoSeconds(period.end) },
          // Measured values carry no quality (DataHub omits A04).
          points: s.quantities.map((q, i) => ({ position: i + 1, quantity: thousandths(q) })),
        },
      },
    ],
  };
}

/**
 * RSM-019 for one supplier and grid area: amounts per charge (PT1H hourly tariffs, P1D daily tariffs,
 * subscriptions and fees; quality A06, A05 where a slot has no price), monthly sums per charge and total monthly
 * amounts per charge owner and in all (P1M, no price unit, no quality).
 */
export function wholesaleSettlement(
  h: HeaderInput,
  nextId: () => string,
  calculationVersion: number,
  result: WholesaleEngineResult,
  gridArea: string,
  supplierGln: string,
  period: { start: Date; end: Date },
  answer: { settlementVersion?: 'D01' | 'D02' | 'D03'; originalTransaction?: string },
): NotifyWholesaleServices {
  const common = {
    version: String(calculationVersion),
    ...(answer.settlementVersion ? { settlementVersion: answer.settlementVersion } : {}),
    ...(answer.originalTransaction ? { originalTransactionIDReference: answer.originalTransaction } : {}),
    meteringGridArea: gridArea,
    energySupplier: party(supplierGln),
    product: TARIFF_PRODUCT,
    currency: 'DKK' as const,
  };
  const interval = { start: isoSeconds(period.start), end: isoSeconds(period.end) };
  const perCharge = (s: ChargeSeriesResult): WholesaleServicesSeries => {
    const unit = s.charge.type === 'D03' ? ('KWH' as const) : ('H87' as const);
    return {
      mRID: nextId(),
      ...common,
      meteringPointType: s.type,
      ...(s.settlementMethod ? { settlementMethod: s.settlementMethod } : {}),
      chargeCode: s.charge.code,
      chargeType: s.charge.type,
      chargeOwner: party(s.charge.ownerGln),
      quantityUnit: unit,
      priceUnit: unit,
      period: {
        resolution: s.resolution,
        timeInterval: interval,
        points: s.slots.map((slot, i) => ({
          position: i + 1,
          quantity: thousandths(slot.quantity),
          ...(slot.price !== null ? { price: slot.price } : {}),
          amount: slot.amount ?? '0',
          quality: slot.price === null ? ('A05' as const) : ('A06' as const),
        })),
      },
    };
  };
  const monthly = (amount: string, charge?: ScenarioCharge, owner?: string): WholesaleServicesSeries => ({
    mRID: nextId(),
    ...common,
    ...(charge ? { chargeCode: charge.code, chargeType: charge.type, chargeOwner: party(charge.ownerGln), quantityUnit: charge.type === 'D03' ? ('KWH' as const) : ('H87' as const) } : {}),
    ...(owner ? { chargeOwner: party(owner) } : {}),
    period: { resolution: 'P1M', timeInterval: interval, points: [{ position: 1, amount }] },
  });
  return {
    kind: 'NotifyWholesaleServices',
    header: header(h),
    series: [
      ...result.series.map(perCharge),
      ...result.monthly.map((m) => monthly(m.amount, m.charge)),
      ...result.totalsPerOwner.map((t) => monthly(t.amount, undefined, t.owner)),
      monthly(result.total),
    ],
  };
}
