import { packPeriodPoints, packPoints, writeCimJson, type CimDocument, type MeasurePeriod, type PackedPoints } from '@dh/cim';
import type { JsonObject } from '@dh/event-store';
import { aggregatedMeasureDataEvents, chargeLinkEvents, priceListEvents, wholesaleServicesEvents } from './market-data-events';

export const DATAHUB_CONTEXT = 'datahub';

export interface InboundEvent {
  type: string;
  data: JsonObject;
  /** `metadata.schemaVersion` of the event; 1 when absent. */
  schemaVersion?: number;
}

/** `ValidatedMeasureDataReceived` is version 2: a series in kWh carries its points packed (integer Wh), see measureDataPointsFields. */
export const VALIDATED_MEASURE_DATA_SCHEMA_VERSION = 2;

/**
 * The points of an RSM-012 series in `ValidatedMeasureDataReceived` v2: packed (`firstPosition`, `wh` integer Wh,
 * `qualities` as runs; `@dh/cim` `packPoints`) when the series is in kWh and every quantity is exact in Wh and the
 * positions are consecutive, else `points` as in v1 (`{position, quantity, quality}`, the decimal as DataHub sent it).
 * Readers take both with `seriesPointsOf` (`@dh/cim`), which also reads every v1 event stored before.
 */
export function measureDataPointsFields(unit: string, points: readonly { position: number; quantity?: string; quality?: string }[]): JsonObject {
  return pointsFields(unit === 'KWH' ? packPoints(points) : null, points);
}

/**
 * {@link measureDataPointsFields} of a parsed period: packed as the XML fast path read them, when it did (no point
 * object or quantity string is made per value), else from its points.
 */
function periodPointsFields(unit: string, period: MeasurePeriod): JsonObject {
  const packed = unit === 'KWH' ? packPeriodPoints(period) : null;
  return pointsFields(packed, packed ? [] : period.points);
}

function pointsFields(packed: PackedPoints | null, points: readonly { position: number; quantity?: string; quality?: string }[]): JsonObject {
  if (packed) return { firstPosition: packed.firstPosition, wh: packed.wh, qualities: packed.qualities };
  return { points: points.map((p) => ({ position: p.position, quantity: p.quantity ?? null, quality: p.quality ?? null })) };
}

export interface InboundMessageInfo {
  messageId: string;
  category: string;
  receivedAt: Date;
}

/** One stream per DataHub document: a redelivered document (same mRID) lands on the same stream. */
export const inboundDocumentStreamId = (documentId: string): string => `datahub-document-${documentId}`;

/** Transaction ids a document answers, so the store can resolve them to our processes. */
export function answeredTransactionIds(document: CimDocument): string[] {
  if (document.kind !== 'MarketResponse') return [];
  return document.records.flatMap((r) => (r.originalTransactionIDReference ? [r.originalTransactionIDReference] : []));
}

/**
 * What a DataHub document tells the rest of the system, as events of the datahub context. Metered
 * data, master data, charge links and price lists (RSM-031/034), aggregations and wholesale results
 * (RSM-014/019) and process answers get events of their own that other services consume; every other
 * document is kept whole (as CIM JSON) so nothing DataHub sent is lost.
 */
export function toInboundEvents(document: CimDocument, info: InboundMessageInfo, processIds: ReadonlyMap<string, string> = new Map()): InboundEvent[] {
  const documentId = document.header.mRID;
  const common = { documentId, messageId: info.messageId, category: info.category, receivedAt: info.receivedAt.toISOString(), processType: 'processType' in document.header ? document.header.processType : null };
  switch (document.kind) {
    case 'NotifyValidatedMeasureData':
      // The fields written out rather than spread (the same keys in the same order): an object literal with two
      // spreads took about four times as long per series as the rest of the event (2026-12-06).
      return document.series.map((series) => {
        const data: JsonObject = {
          documentId: common.documentId,
          messageId: common.messageId,
          category: common.category,
          receivedAt: common.receivedAt,
          processType: common.processType,
          seriesId: series.mRID,
          gsrn: series.meteringPointId,
          meteringPointType: series.meteringPointType,
          unit: series.unit,
          resolution: series.period.resolution,
          start: series.period.timeInterval.start,
          end: series.period.timeInterval.end,
        };
        const points = periodPointsFields(series.unit, series.period);
        for (const key in points) data[key] = points[key]!;
        return { type: 'ValidatedMeasureDataReceived', data, schemaVersion: VALIDATED_MEASURE_DATA_SCHEMA_VERSION };
      });
    case 'AccountingPointCharacteristics':
      return document.records.map((record) => ({
        type: 'MeteringPointMasterDataReceived',
        data: {
          ...common,
          gsrn: record.meteringPoint.mRID,
          validityStart: record.validityStart,
          meteringPointType: record.meteringPoint.type,
          settlementMethod: record.meteringPoint.settlementMethod ?? null,
          gridArea: record.meteringPoint.meteringGridArea,
          energySupplierGln: record.meteringPoint.energySupplier?.value ?? null,
          supplyStart: record.meteringPoint.supplyStart ?? null,
          originalTransactionId: record.originalTransactionIDReference ?? null,
        },
      }));
    case 'MarketResponse':
      return document.records.map((record) => ({
        type: 'DataHubAnswerReceived',
        data: {
          ...common,
          documentName: document.documentName,
          accepted: document.reasonCode === 'A01',
          originalTransactionId: record.originalTransactionIDReference ?? null,
          /** Our process the answer belongs to: the request's transaction id is the process id; a cancellation's is looked up. */
          processId: record.originalTransactionIDReference ? (processIds.get(record.originalTransactionIDReference) ?? null) : null,
          gsrn: record.meteringPointId ?? null,
          effectiveDate: record.start ?? null,
          reasons: record.reasons.map((r) => ({ code: r.code, text: r.text ?? null })),
        },
      }));
    case 'GenericNotification':
      return document.records.map((record) => ({
        type: 'DataHubNotificationReceived',
        data: {
          ...common,
          gsrn: record.meteringPointId,
          validityStart: record.validityStart,
          originalTransactionId: record.originalTransactionIDReference ?? null,
        },
      }));
    case 'NotifyBillingMasterData':
      return chargeLinkEvents(document, common);
    case 'NotifyPriceList':
      return priceListEvents(document, common);
    case 'NotifyAggregatedMeasureData':
      return aggregatedMeasureDataEvents(document, common);
    case 'NotifyWholesaleServices':
      return wholesaleServicesEvents(document, common);
    default:
      return [{ type: 'DataHubDocumentReceived', data: { ...common, kind: document.kind, document: JSON.parse(writeCimJson(document)) as JsonObject } }];
  }
}
