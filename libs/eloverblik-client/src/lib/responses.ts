import { localDateOf, positionInstant, type LocalDate } from '@dh/dk-time';
import { isValidGsrn, type Gsrn } from '@dh/market-ids';
import { formatScaled, parseQuantityMilliKwh, roundHalfAwayFromZero, toExactScaled } from '@dh/money';
import { EloverblikError, errorForCode } from './errors';

/** Aggregations of `gettimeseries` (Quarter only exists for 15-minute meters). */
export type HistoryAggregation = 'Actual' | 'Quarter' | 'Hour' | 'Day' | 'Month' | 'Year';
export type HistoryResolution = 'PT15M' | 'PT1H' | 'P1D' | 'P1M' | 'P1Y';

export interface ConsumptionPoint {
  /** Start of the interval (UTC instant). */
  readonly start: Date;
  /** End of the interval, exclusive. */
  readonly end: Date;
  readonly resolution: HistoryResolution;
  /** kWh with exactly 3 decimals, as exact as the API sent it. */
  readonly kwh: string;
  /** `out_Quantity.quality` (A04 measured, A05 estimated …). */
  readonly quality: string;
}

export interface ConsumptionSeries {
  readonly gsrn: Gsrn;
  readonly aggregation: HistoryAggregation;
  /** Requested local dates, `to` exclusive. */
  readonly from: LocalDate;
  readonly to: LocalDate;
  readonly unit: 'KWH';
  /** In time order; only intervals with data (a point before the history starts is absent, not zero). */
  readonly points: readonly ConsumptionPoint[];
  /** Exact sum of the points, 3 decimals. */
  readonly totalKwh: string;
}

export interface MeteringPointAddress {
  readonly streetName: string | undefined;
  readonly buildingNumber: string | undefined;
  readonly floorId: string | undefined;
  readonly roomId: string | undefined;
  readonly postcode: string | undefined;
  readonly cityName: string | undefined;
  readonly municipalityCode: string | undefined;
}

export interface MeteringPointDetails {
  readonly gsrn: Gsrn;
  /** `typeOfMP`: E17 consumption, E18 production, D01… child types. */
  readonly type: string | undefined;
  /** D01 flex, E02 non-profiled, E01 profiled (historic). */
  readonly settlementMethod: string | undefined;
  readonly gridArea: string | undefined;
  readonly gridOperator: { readonly gln: string | undefined; readonly name: string | undefined };
  /** Not in the documented third-party DTO (the simulator sends it); derive it from the grid area when absent. */
  readonly priceArea: 'DK1' | 'DK2' | undefined;
  /** Current supplier; not in the documented third-party DTO (the simulator sends it), so often undefined. */
  readonly balanceSupplier: { readonly gln: string; readonly name: string | undefined; readonly startDate: string | undefined } | undefined;
  readonly address: MeteringPointAddress;
  readonly consumerName: string | undefined;
  readonly consumerStartDate: string | undefined;
  /** D03 new, E22 connected, E23 disconnected. */
  readonly physicalStatus: string | undefined;
  readonly meterReadingOccurrence: string | undefined;
  /** `estimatedAnnualVolume` in kWh, exactly 3 decimals; undefined when the API has none. */
  readonly estimatedAnnualVolumeKwh: string | undefined;
  /**
   * The customer's consent: details only come back while one covers the point (otherwise 20012), so it is always
   * present here; `from`/`to` are the access window when the API tells it.
   */
  readonly consent: { readonly present: true; readonly from: string | undefined; readonly to: string | undefined };
  /**
   * The production (E18) metering point beside this consumption point (own solar): the simulator's extension
   * `linkedProductionMeteringPointId`; not in the documented third-party DTO, so often undefined.
   */
  readonly linkedProductionGsrn: Gsrn | undefined;
  /** The API's object as received, for fields not mapped here. */
  readonly raw: Readonly<Record<string, unknown>>;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function malformed(what: string, gsrn?: string): EloverblikError {
  return new EloverblikError(`Malformed Eloverblik response: ${what}`, gsrn === undefined ? {} : { gsrn });
}

function optString(o: Json, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The `result[]` entry for a metering point, or the typed error it reports (`success:false` inside a 200). */
export function entryFor(body: unknown, gsrn: string): Json {
  const list = isObject(body) ? body['result'] : undefined;
  if (!Array.isArray(list)) throw malformed('no result array', gsrn);
  const entry = list.find((e): e is Json => isObject(e) && e['id'] === gsrn) ?? (list.length === 1 && isObject(list[0]) ? list[0] : undefined);
  if (!entry) throw malformed(`no result for ${gsrn}`, gsrn);
  if (entry['success'] !== true) {
    const code = typeof entry['errorCode'] === 'number' ? entry['errorCode'] : Number(entry['errorCode']);
    const text = typeof entry['errorText'] === 'string' ? entry['errorText'] : 'unknown error';
    if (!Number.isInteger(code)) throw new EloverblikError(`Eloverblik refused ${gsrn}: ${text}`, { text, status: 200, gsrn });
    throw errorForCode(`Eloverblik refused ${gsrn}: ${code} ${text}`, { code, text, status: 200, gsrn });
  }
  return entry;
}

/** A kWh decimal string → exactly 3 decimals; more decimals are rounded half away from zero (EAV is free text-ish). */
function kwh3(value: string): string {
  const { units, scale } = toExactScaled(value);
  return formatScaled(roundHalfAwayFromZero(units, scale, 3), 3);
}

/** A linked production point must be another valid GSRN; anything else is a malformed answer, not a link. */
function linkedProduction(r: Json, gsrn: Gsrn): Gsrn | undefined {
  const linked = optString(r, 'linkedProductionMeteringPointId');
  if (linked === undefined) return undefined;
  if (!isValidGsrn(linked) || linked === gsrn) throw malformed(`linkedProductionMeteringPointId ${linked} is not another valid GSRN`, gsrn);
  return linked;
}

export function parseDetails(entry: Json, gsrn: Gsrn): MeteringPointDetails {
  const r = entry['result'];
  if (!isObject(r)) throw malformed('details without result', gsrn);
  const priceArea = optString(r, 'priceArea');
  const supplierGln = optString(r, 'balanceSupplierID');
  const eav = optString(r, 'estimatedAnnualVolume');
  let estimatedAnnualVolumeKwh: string | undefined;
  if (eav !== undefined) {
    try {
      estimatedAnnualVolumeKwh = kwh3(eav.trim());
    } catch {
      estimatedAnnualVolumeKwh = undefined; // not a number: treated as absent
    }
  }
  return {
    gsrn,
    type: optString(r, 'typeOfMP'),
    settlementMethod: optString(r, 'settlementMethod'),
    gridArea: optString(r, 'meteringGridAreaIdentification'),
    gridOperator: { gln: optString(r, 'gridOperatorID'), name: optString(r, 'gridOperatorName') },
    priceArea: priceArea === 'DK1' || priceArea === 'DK2' ? priceArea : undefined,
    balanceSupplier: supplierGln === undefined ? undefined : { gln: supplierGln, name: optString(r, 'balanceSupplierName'), startDate: optString(r, 'balanceSupplierStartDate') },
    address: {
      streetName: optString(r, 'streetName'),
      buildingNumber: optString(r, 'buildingNumber'),
      floorId: optString(r, 'floorId'),
      roomId: optString(r, 'roomId'),
      postcode: optString(r, 'postcode'),
      cityName: optString(r, 'cityName'),
      municipalityCode: optString(r, 'municipalityCode'),
    },
    consumerName: optString(r, 'firstConsumerPartyName'),
    consumerStartDate: optString(r, 'consumerStartDate'),
    physicalStatus: optString(r, 'physicalStatusOfMP'),
    meterReadingOccurrence: optString(r, 'meterReadingOccurrence'),
    estimatedAnnualVolumeKwh,
    consent: { present: true, from: optString(r, 'accessFrom'), to: optString(r, 'accessTo') },
    linkedProductionGsrn: linkedProduction(r, gsrn),
    raw: r,
  };
}

const FIXED_MS: Readonly<Record<string, number>> = { PT15M: 15 * 60_000, PT1H: 3_600_000 };
const RESOLUTIONS: readonly string[] = ['PT15M', 'PT1H', 'P1D', 'P1M', 'P1Y'];

function instant(v: unknown, what: string, gsrn: string): Date {
  const t = typeof v === 'string' ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(t)) throw malformed(`${what} is not an instant`, gsrn);
  return new Date(t);
}

/** Start and end of the point at `position` of a period. */
function pointInterval(resolution: HistoryResolution, start: Date, end: Date, position: number, count: number, gsrn: string): { start: Date; end: Date } {
  const fixed = FIXED_MS[resolution];
  let s: Date;
  let e: Date;
  if (fixed !== undefined) {
    s = new Date(start.getTime() + (position - 1) * fixed);
    e = new Date(s.getTime() + fixed);
  } else if (count === 1 && position === 1) {
    s = start;
    e = end;
  } else if (resolution === 'P1D' || resolution === 'P1M') {
    s = positionInstant(start, resolution, position);
    e = positionInstant(start, resolution, position + 1);
  } else throw malformed(`${resolution} period with ${count} points`, gsrn);
  if (e.getTime() > end.getTime()) e = end;
  if (s.getTime() < start.getTime() || s.getTime() >= end.getTime()) throw malformed(`position ${position} outside its period`, gsrn);
  return { start: s, end: e };
}

/** The points of a `MyEnergyData_MarketDocument` entry, in time order. */
export function parseTimeSeriesPoints(entry: Json, gsrn: string): ConsumptionPoint[] {
  const doc = entry['MyEnergyData_MarketDocument'];
  if (!isObject(doc)) throw malformed('time series entry without MyEnergyData_MarketDocument', gsrn);
  const series = doc['TimeSeries'];
  if (!Array.isArray(series)) throw malformed('no TimeSeries', gsrn);
  const points: ConsumptionPoint[] = [];
  for (const ts of series) {
    if (!isObject(ts)) throw malformed('TimeSeries entry is not an object', gsrn);
    const unit = ts['measurement_Unit.name'];
    if (unit !== undefined && unit !== null && unit !== 'KWH') throw malformed(`unit ${String(unit)} (expected KWH)`, gsrn);
    const periods = ts['Period'];
    if (!Array.isArray(periods)) throw malformed('no Period array', gsrn);
    for (const p of periods) {
      if (!isObject(p)) throw malformed('Period is not an object', gsrn);
      const resolution = p['resolution'];
      if (typeof resolution !== 'string' || !RESOLUTIONS.includes(resolution)) throw malformed(`resolution ${String(resolution)}`, gsrn);
      const interval = p['timeInterval'];
      if (!isObject(interval)) throw malformed('Period without timeInterval', gsrn);
      const start = instant(interval['start'], 'timeInterval.start', gsrn);
      const end = instant(interval['end'], 'timeInterval.end', gsrn);
      const raw = p['Point'];
      if (!Array.isArray(raw)) throw malformed('Period without Point array', gsrn);
      for (const pt of raw) {
        if (!isObject(pt)) throw malformed('Point is not an object', gsrn);
        const position = Number(pt['position']);
        if (!Number.isSafeInteger(position) || position < 1) throw malformed(`position ${String(pt['position'])}`, gsrn);
        const quantity = pt['out_Quantity.quantity'];
        if (typeof quantity !== 'string') throw malformed('quantity is not a string', gsrn);
        let milli: bigint;
        try {
          milli = parseQuantityMilliKwh(quantity);
        } catch (cause) {
          throw new EloverblikError(`Malformed Eloverblik response: quantity ${JSON.stringify(quantity)}`, { gsrn, cause });
        }
        const quality = typeof pt['out_Quantity.quality'] === 'string' ? pt['out_Quantity.quality'] : '';
        const at = pointInterval(resolution as HistoryResolution, start, end, position, raw.length, gsrn);
        points.push({ ...at, resolution: resolution as HistoryResolution, kwh: formatScaled(milli, 3), quality });
      }
    }
  }
  points.sort((a, b) => a.start.getTime() - b.start.getTime());
  for (let i = 1; i < points.length; i++) {
    const prev = points[i - 1];
    const cur = points[i];
    if (prev && cur && cur.start.getTime() < prev.end.getTime()) throw malformed(`overlapping points at ${cur.start.toISOString()}`, gsrn);
  }
  return points;
}

/** Exact sum (3 decimals) of kWh strings. */
export function sumKwh(values: Iterable<string>): string {
  let total = 0n;
  for (const v of values) total += parseQuantityMilliKwh(v);
  return formatScaled(total, 3);
}

/** Local (Copenhagen) date of a point's start. */
export function pointDate(point: ConsumptionPoint): LocalDate {
  return localDateOf(point.start);
}
