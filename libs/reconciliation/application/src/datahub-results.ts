import { localDateOf, parseLocalDate, positionInstant, type PositionResolution } from '@dh/dk-time';
import type { JsonObject, JsonValue } from '@dh/event-store';
import { toScaled } from '@dh/money';
import {
  compareResultVersions,
  isMeteringPointTypeCode,
  type ChargeTypeCode,
  type DataHubEnergySeries,
  type DataHubWholesaleSeries,
  type ResultVersion,
  type SettlementMethodCode,
} from '@dh/reconciliation-domain';
import type { DataHubResultSet } from './ports';

/** A DataHub result series as reconciliation stores it: the datahub event's data (RSM-014/019 series) and its version. */
export interface StoredResultSeries {
  readonly version: ResultVersion;
  readonly receivedAt: Date;
  readonly data: JsonObject;
}

/** The result version of an inbound `AggregatedMeasureDataReceived` / `WholesaleServicesReceived`. */
export function resultVersionOf(data: JsonObject): ResultVersion {
  const calculation = typeof data['calculationVersion'] === 'string' ? Number(data['calculationVersion']) : null;
  return {
    businessReason: typeof data['processType'] === 'string' ? data['processType'] : '',
    settlementVersion: typeof data['settlementVersion'] === 'string' ? data['settlementVersion'] : null,
    calculationVersion: calculation !== null && Number.isSafeInteger(calculation) ? calculation : null,
  };
}

/** The month (`YYYY-MM`, Copenhagen) a result series is for: that of its period start. */
export function resultPeriodOf(data: JsonObject): string {
  const c = parseLocalDate(localDateOf(new Date(String(data['start']))));
  return `${c.year}-${String(c.month).padStart(2, '0')}`;
}

/**
 * The current result among everything DataHub sent for a grid area and month: the series of the calculation
 * that supersedes all others (`compareResultVersions`); earlier ones stay stored and readable.
 */
export function currentResultSet(stored: readonly StoredResultSeries[]): { version: ResultVersion; receivedAt: Date; series: StoredResultSeries[] } | null {
  if (stored.length === 0) return null;
  const best = [...stored].sort((a, b) => compareResultVersions(b.version, a.version))[0]!.version;
  const series = stored.filter((s) => compareResultVersions(s.version, best) === 0);
  return { version: best, receivedAt: new Date(Math.max(...series.map((s) => s.receivedAt.getTime()))), series };
}

const str = (v: JsonValue | undefined): string | null => (typeof v === 'string' && v !== '' ? v : null);
const points = (data: JsonObject): JsonObject[] => (Array.isArray(data['points']) ? (data['points'] as JsonObject[]) : []);

function timeOf(start: Date, resolution: string, position: number): number {
  return positionInstant(start, resolution as PositionResolution, position).getTime();
}

export function toWholesaleSeries(data: JsonObject): DataHubWholesaleSeries {
  const start = new Date(String(data['start']));
  const resolution = String(data['resolution']) as DataHubWholesaleSeries['resolution'];
  const type = str(data['meteringPointType']);
  return {
    chargeOwner: str(data['chargeOwnerGln']),
    chargeType: str(data['chargeType']) as ChargeTypeCode | null,
    chargeCode: str(data['chargeCode']),
    meteringPointType: type !== null && isMeteringPointTypeCode(type) ? type : null,
    settlementMethod: str(data['settlementMethod']) as SettlementMethodCode | null,
    resolution,
    points: points(data).map((p) => ({
      time: timeOf(start, resolution, Number(p['position'])),
      quantity: str(p['quantity']) === null ? null : toScaled(String(p['quantity']), 3),
      price: str(p['price']) === null ? null : toScaled(String(p['price']), 6),
      amount: str(p['amount']) === null ? 0n : toScaled(String(p['amount']), 6),
    })),
  };
}

export function toEnergySeries(data: JsonObject): DataHubEnergySeries {
  const type = String(data['meteringPointType']);
  if (!isMeteringPointTypeCode(type)) throw new RangeError(`Unknown metering point type ${type}`);
  return {
    meteringPointType: type,
    settlementMethod: str(data['settlementMethod']) as SettlementMethodCode | null,
    resolution: String(data['resolution']) as 'PT15M' | 'PT1H',
    start: Date.parse(String(data['start'])),
    quantities: points(data).map((p) => (str(p['quantity']) === null ? null : toScaled(String(p['quantity']), 3))),
  };
}

export function resultSet<S>(stored: readonly StoredResultSeries[], convert: (data: JsonObject) => S): DataHubResultSet<S> | null {
  const current = currentResultSet(stored);
  return current === null ? null : { version: current.version, receivedAt: current.receivedAt, series: current.series.map((s) => convert(s.data)) };
}
