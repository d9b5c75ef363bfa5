import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLocalDate, localDayStart, utcOffsetMinutes } from '@dh/dk-time';
import { isDecimalString, toExactScaled } from '@dh/money';
import { DATASETS, pricelistRecords, spotInstants, spotRecord, type EdsDataset, type SpotDataset, type SpotOverride } from './datasets';
import { fieldText, RawNumber, serializeJson, type EdsRecord, type FieldValue } from './raw-json';
import { parseScenario, type EdsScenario, type ScenarioCharge, type SimChargeResolution, type SimChargeType, type SimPriceArea } from './scenario';

export interface EdsSimulatorOptions {
  scenario: EdsScenario;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Longest time window a spot query may span, in days (default 400). */
  maxWindowDays?: number;
}

/** A price changed after its first publication. Spot: by dataset, area and UTC instant; pricelist: by charge and `validFrom`. */
export type Correction =
  | { dataset: SpotDataset; priceArea: SimPriceArea; timeUtc: string; priceDkk: string; priceEur?: string }
  | { dataset: 'DatahubPricelist'; gln: string; chargeType: SimChargeType; code: string; validFrom: string; validTo?: string | null; resolution?: SimChargeResolution; prices: string[] };

/** Replaces one field of every record matching `match` (field → text) with a malformed value. */
export interface Corruption {
  dataset: EdsDataset;
  match: Record<string, string>;
  field: string;
  /** A string is sent as a JSON string, `{ raw }` as raw JSON number text, null as null. */
  value: string | null | { raw: string };
}

export interface FaultSettings {
  /** The next N dataset requests answer 503. */
  unavailable?: number;
  /** The next N dataset requests (after the 503s) answer 429 with `Retry-After`. */
  rateLimited?: number;
  /** `Retry-After` seconds on those 429s (default 60, as the real API). */
  retryAfterSeconds?: number;
}

export interface SimulatorStats {
  requests: number;
  byStatus: Record<string, number>;
  byDataset: Record<string, number>;
}

export interface EdsSimulatorControl {
  publishCorrection(correction: Correction): void;
  corruptRecord(corruption: Corruption): void;
  clearCorruptions(): void;
  setFaults(faults: FaultSettings): void;
  /** Last published delivery date (inclusive); undefined: all. */
  publishThrough(date: string | undefined): void;
  stats(): SimulatorStats;
  resetStats(): void;
}

export interface RunningEdsSimulator {
  /** Base URL, e.g. `http://127.0.0.1:41234`; datasets at `<url>/dataset/<name>`. */
  url: string;
  control: EdsSimulatorControl;
  stop(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const FIELDS: Record<EdsDataset, readonly string[]> = {
  DayAheadPrices: ['TimeUTC', 'TimeDK', 'PriceArea', 'DayAheadPriceEUR', 'DayAheadPriceDKK'],
  Elspotprices: ['HourUTC', 'HourDK', 'PriceArea', 'SpotPriceDKK', 'SpotPriceEUR'],
  DatahubPricelist: [
    'ChargeOwner', 'GLN_Number', 'ChargeType', 'ChargeTypeCode', 'Note', 'Description', 'ValidFrom', 'ValidTo', 'VATClass',
    ...Array.from({ length: 24 }, (_, i) => `Price${i + 1}`), 'TransparentInvoicing', 'TaxIndicator', 'ResolutionDuration',
  ],
};
const DEFAULT_SORT: Record<EdsDataset, string> = { DayAheadPrices: 'TimeUTC DESC', Elspotprices: 'HourUTC DESC', DatahubPricelist: 'ValidFrom DESC' };

/** `YYYY-MM-DD` or `YYYY-MM-DDTHH:mm[:ss]`, Danish local time (as the real API reads `start`/`end`) → instant. */
export function parseLocalTime(param: string, text: string): { ms: number; date: string } {
  const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (m === null || !isLocalDate(m[1])) throw new HttpError(400, `${param} must be YYYY-MM-DD or YYYY-MM-DDTHH:mm, got ${JSON.stringify(text)}`);
  if (m[2] === undefined) return { ms: localDayStart(m[1]).getTime(), date: m[1] };
  const naive = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4] ?? '00'}Z`);
  if (Number.isNaN(naive)) throw new HttpError(400, `${param} is not a valid time: ${JSON.stringify(text)}`);
  // The earlier of the two readings on the repeated autumn hour; a spring-gap time is read as winter time.
  for (const offset of [120, 60]) {
    const candidate = naive - offset * 60_000;
    if (utcOffsetMinutes(new Date(candidate)) === offset) return { ms: candidate, date: m[1] };
  }
  return { ms: naive - 60 * 60_000, date: m[1] };
}

function nonNegativeInt(param: string, text: string | null, fallback: number): number {
  if (text === null || text === '') return fallback;
  if (!/^\d+$/.test(text)) throw new HttpError(400, `${param} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

function parseFilter(dataset: EdsDataset, text: string | null): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  if (text === null || text === '') return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HttpError(400, `filter is not JSON: ${text}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HttpError(400, 'filter must be a JSON object');
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!FIELDS[dataset].includes(key)) throw new HttpError(400, `filter: unknown column ${key} in ${dataset}`);
    const values = Array.isArray(value) ? value : [value];
    const set = new Set<string>();
    for (const v of values) {
      if (typeof v === 'string') set.add(v);
      else if (typeof v === 'number' && Number.isSafeInteger(v)) set.add(String(v));
      else throw new HttpError(400, `filter: values of ${key} must be strings`);
    }
    out.set(key, set);
  }
  return out;
}

function compareFieldValues(a: FieldValue | undefined, b: FieldValue | undefined): number {
  if (a === undefined || a === null) return b === undefined || b === null ? 0 : -1;
  if (b === undefined || b === null) return 1;
  if (a instanceof RawNumber && b instanceof RawNumber) {
    const x = toExactScaled(a.text);
    const y = toExactScaled(b.text);
    const scale = Math.max(x.scale, y.scale);
    const xu = x.units * 10n ** BigInt(scale - x.scale);
    const yu = y.units * 10n ** BigInt(scale - y.scale);
    return xu < yu ? -1 : xu > yu ? 1 : 0;
  }
  const s = fieldText(a)!;
  const t = fieldText(b)!;
  return s < t ? -1 : s > t ? 1 : 0;
}

function parseSort(dataset: EdsDataset, text: string | null): { field: string; direction: 1 | -1; text: string } {
  const sort = text === null || text === '' ? DEFAULT_SORT[dataset] : text;
  const m = /^\s*(\w+)(?:\s+(asc|desc))?\s*$/i.exec(sort);
  if (m === null || !FIELDS[dataset].includes(m[1]!)) throw new HttpError(400, `sort: unknown column or direction ${JSON.stringify(sort)}`);
  return { field: m[1]!, direction: m[2]?.toLowerCase() === 'desc' ? -1 : 1, text: sort };
}

/** Starts the simulated Energi Data Service API. */
export async function startEdsSimulator(options: EdsSimulatorOptions): Promise<RunningEdsSimulator> {
  const scenario = parseScenario(options.scenario);
  const charges: ScenarioCharge[] = scenario.charges;
  const maxWindowMs = (options.maxWindowDays ?? 400) * 86_400_000;
  let publishedThrough = scenario.publishedThrough;
  const spotOverrides = new Map<string, SpotOverride>();
  const corruptions: Corruption[] = [];
  const faults = { unavailable: 0, rateLimited: 0, retryAfterSeconds: 60 };
  let stats: SimulatorStats = { requests: 0, byStatus: {}, byDataset: {} };

  const spotKey = (dataset: SpotDataset, area: string, ms: number): string => `${dataset}|${area}|${ms}`;

  function records(dataset: EdsDataset, start: { ms: number; date: string } | null, end: { ms: number; date: string } | null): EdsRecord[] {
    let out: EdsRecord[];
    if (dataset === 'DatahubPricelist') {
      out = charges
        .flatMap(pricelistRecords)
        .filter((r) => (start === null || (fieldText(r['ValidFrom']) ?? '').slice(0, 10) >= start.date) && (end === null || (fieldText(r['ValidFrom']) ?? '').slice(0, 10) < end.date));
    } else {
      if (start === null || end === null) throw new HttpError(400, `${dataset}: this simulator needs both start and end`);
      if (end.ms - start.ms > maxWindowMs) throw new HttpError(400, `${dataset}: window longer than ${maxWindowMs / 86_400_000} days`);
      out = [];
      for (const ms of spotInstants(dataset, start.ms, end.ms, publishedThrough)) {
        for (const area of scenario.priceAreas) out.push(spotRecord(dataset, area, ms, scenario.seed, spotOverrides.get(spotKey(dataset, area, ms))));
      }
    }
    for (const c of corruptions) {
      if (c.dataset !== dataset) continue;
      for (const r of out) {
        if (Object.entries(c.match).every(([k, v]) => fieldText(r[k]) === v)) {
          r[c.field] = c.value === null || typeof c.value === 'string' ? c.value : new RawNumber(c.value.raw);
        }
      }
    }
    return out;
  }

  function query(dataset: EdsDataset, params: URLSearchParams): string {
    const start = params.get('start');
    const end = params.get('end');
    const filter = parseFilter(dataset, params.get('filter'));
    const sort = parseSort(dataset, params.get('sort'));
    const limit = nonNegativeInt('limit', params.get('limit'), 100);
    const offset = nonNegativeInt('offset', params.get('offset'), 0);
    const all = records(dataset, start === null ? null : parseLocalTime('start', start), end === null ? null : parseLocalTime('end', end))
      .filter((r) => [...filter].every(([k, values]) => values.has(fieldText(r[k]) ?? '')))
      .map((r, i) => ({ r, i }))
      .sort((a, b) => sort.direction * compareFieldValues(a.r[sort.field], b.r[sort.field]) || a.i - b.i)
      .map(({ r }) => r);
    const page = limit === 0 ? all.slice(offset) : all.slice(offset, offset + limit);
    return serializeJson({
      total: all.length,
      filters: params.get('filter') ?? '{}',
      sort: sort.text,
      limit: limit === 0 ? all.length : limit,
      dataset,
      records: page,
    });
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    stats.requests++;
    let status = 200;
    let body: string;
    let headers: Record<string, string> = {};
    try {
      const url = new URL(req.url ?? '/', 'http://sim');
      const m = /^\/dataset\/([A-Za-z]+)\/?$/.exec(url.pathname);
      if (req.method !== 'GET') throw new HttpError(405, 'only GET');
      if (m === null || !(DATASETS as readonly string[]).includes(m[1]!)) throw new HttpError(404, `no dataset at ${url.pathname}`);
      const dataset = m[1] as EdsDataset;
      stats.byDataset[dataset] = (stats.byDataset[dataset] ?? 0) + 1;
      if (faults.unavailable > 0) {
        faults.unavailable--;
        throw new HttpError(503, 'Service Unavailable');
      }
      if (faults.rateLimited > 0) {
        faults.rateLimited--;
        throw new HttpError(429, 'API rate limit exceeded', { 'Retry-After': String(faults.retryAfterSeconds) });
      }
      body = query(dataset, url.searchParams);
      headers = { RemainingCalls: '1000', TotalCalls: '1000' };
    } catch (error) {
      status = error instanceof HttpError ? error.status : 500;
      headers = error instanceof HttpError ? error.headers : {};
      body = JSON.stringify({ statusCode: status, error: status === 429 ? 'TOO_MANY_REQUESTS' : 'ERROR', message: error instanceof Error ? error.message : String(error) });
    }
    stats.byStatus[String(status)] = (stats.byStatus[String(status)] ?? 0) + 1;
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
    res.end(body);
  }

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;

  const control: EdsSimulatorControl = {
    publishCorrection(c) {
      if (c.dataset === 'DatahubPricelist') {
        for (const p of c.prices) if (!isDecimalString(p)) throw new Error(`publishCorrection: ${JSON.stringify(p)} is not a decimal string`);
        const charge = charges.find((x) => x.gln === c.gln && x.chargeType === c.chargeType && x.code === c.code);
        if (charge === undefined) throw new Error(`publishCorrection: no charge ${c.gln}/${c.chargeType}/${c.code}`);
        const row = charge.rows.find((r) => r.validFrom === c.validFrom);
        if (row === undefined) {
          charge.rows.push({ validFrom: c.validFrom, validTo: c.validTo ?? null, resolution: c.resolution ?? 'PT1H', prices: [...c.prices] });
        } else {
          row.prices = [...c.prices];
          if (c.validTo !== undefined) row.validTo = c.validTo;
          if (c.resolution !== undefined) row.resolution = c.resolution;
        }
        return;
      }
      if (!isDecimalString(c.priceDkk)) throw new Error(`publishCorrection: ${JSON.stringify(c.priceDkk)} is not a decimal string`);
      const ms = Date.parse(c.timeUtc);
      if (Number.isNaN(ms)) throw new Error(`publishCorrection: bad timeUtc ${c.timeUtc}`);
      spotOverrides.set(spotKey(c.dataset, c.priceArea, ms), { dkk: c.priceDkk, ...(c.priceEur !== undefined ? { eur: c.priceEur } : {}) });
    },
    corruptRecord(c) {
      corruptions.push(c);
    },
    clearCorruptions() {
      corruptions.splice(0);
    },
    setFaults(f) {
      faults.unavailable = f.unavailable ?? 0;
      faults.rateLimited = f.rateLimited ?? 0;
      faults.retryAfterSeconds = f.retryAfterSeconds ?? 60;
    },
    publishThrough(date) {
      publishedThrough = date;
    },
    stats: () => structuredClone(stats),
    resetStats() {
      stats = { requests: 0, byStatus: {}, byDataset: {} };
    },
  };

  return {
    url: `http://${address.address}:${address.port}`,
    control,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
