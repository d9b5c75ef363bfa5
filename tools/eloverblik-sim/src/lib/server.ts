import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { addDays, compareLocalDates, daysBetween, isLocalDate, localDateOf, localDayStart, type LocalDate } from '@dh/dk-time';
import { formatScaled } from '@dh/money';
import { timeSeriesPeriods, type SimAggregation } from './consumption';
import { parseScenario, type Scenario, type ScenarioMeteringPoint, type ScenarioThirdParty } from './scenario';
import { bearerOf, TokenService } from './tokens';

export interface EloverblikSimulatorOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Scenario JSON (see README) or a parsed {@link Scenario}; validated with `parseScenario`. */
  readonly scenario: unknown;
  /** Clock to follow instead of the scenario's (`scenario.now` gives a virtual clock, else the wall clock). */
  readonly clock?: () => Date;
}

/** Fault settings; `POST /sim/faults` takes the same JSON. Counts are consumed one per API request. */
export interface FaultSettings {
  /** The next N API requests (token included) answer 429 with `Retry-After`. */
  readonly tooManyRequests?: number;
  /** `Retry-After` seconds on those 429s (default 60, as the real API asks). */
  readonly retryAfterSeconds?: number;
  /** The next N API requests answer 503 (DataHub unavailable), after any pending 429s. */
  readonly unavailable?: number;
  /** One-shot: every data access token issued so far answers 401 from now on. */
  readonly expireAccessTokens?: boolean;
}

export interface ActiveFaults {
  tooManyRequests: number;
  retryAfterSeconds: number;
  unavailable: number;
}

export interface SimulatorStats {
  requests: number;
  tokenRequests: number;
  tokensIssued: number;
  detailsRequests: number;
  timeSeriesRequests: number;
  unauthorized: number;
  tooManyRequests: number;
  unavailable: number;
}

export interface EloverblikSimulatorControl {
  readonly scenario: Scenario;
  now(): Date;
  /** The simulator's local date (Europe/Copenhagen); data exists for days before it. */
  today(): LocalDate;
  /** Moves the clock forward (never back: tokens are checked against it). */
  advanceBy(ms: number): void;
  setNow(instant: Date | string): void;
  setFaults(faults: FaultSettings): void;
  clearFaults(): void;
  faults(): Readonly<ActiveFaults>;
  stats(): Readonly<SimulatorStats>;
}

export interface RunningEloverblikSimulator {
  /** Server root, e.g. `http://127.0.0.1:43123` (`/sim/*` lives here). */
  readonly url: string;
  /** Third-party API base for clients: `${url}/thirdpartyapi` (the real one is `https://api.eloverblik.dk/thirdpartyapi`). */
  readonly apiBaseUrl: string;
  readonly control: EloverblikSimulatorControl;
  stop(): Promise<void>;
}

const AGGREGATIONS: readonly string[] = ['Actual', 'Quarter', 'Hour', 'Day', 'Month', 'Year'];
const MAX_METERING_POINTS = 10;
const MAX_DAYS = 730;
const MAX_BODY_BYTES = 1024 * 1024;

/** An answer before any per-metering-point work: a status and a body (a JSON string "[code] Name" or a problem). */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body === 'string' ? body : `HTTP ${status}`);
  }
}

function apiError(status: number, code: number, name: string): HttpError {
  return new HttpError(status, `[${code}] ${name}`);
}

function problem(status: number, title: string, detail: string, headers: Record<string, string> = {}): HttpError {
  return new HttpError(status, { type: `https://tools.ietf.org/html/rfc9110#section-15.${status === 401 ? '5.2' : '5.1'}`, title, status, detail, traceId: `00-${randomUUID().replace(/-/g, '')}-01` }, headers);
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw problem(413, 'Payload Too Large', 'request body too large');
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw problem(400, 'One or more validation errors occurred.', 'request body is not JSON');
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `{"meteringPoints":{"meteringPoint":["…"]}}` → the ids (1..10 strings). */
function meteringPointIds(body: unknown): string[] {
  const inner = isObject(body) ? body['meteringPoints'] : undefined;
  const list = isObject(inner) ? inner['meteringPoint'] : undefined;
  if (!Array.isArray(list) || !list.every((x): x is string => typeof x === 'string')) {
    throw problem(400, 'One or more validation errors occurred.', 'body must be {"meteringPoints":{"meteringPoint":["<id>", …]}}');
  }
  if (list.length === 0) throw apiError(400, 10001, 'WrongNumberOfArguments');
  if (list.length > MAX_METERING_POINTS) throw apiError(412, 10002, 'TooManyRequestItems');
  return list;
}

/** Validates a `POST /sim/faults` body. */
export function parseFaultSettings(input: unknown): FaultSettings {
  if (!isObject(input)) throw problem(400, 'Bad Request', 'faults must be a JSON object');
  const known = ['tooManyRequests', 'retryAfterSeconds', 'unavailable', 'expireAccessTokens'];
  const unknown = Object.keys(input).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw problem(400, 'Bad Request', `unknown fault setting(s): ${unknown.join(', ')}`);
  const count = (name: string): number | undefined => {
    const v = input[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw problem(400, 'Bad Request', `${name} must be a non-negative integer`);
    return v;
  };
  const expire = input['expireAccessTokens'];
  if (expire !== undefined && typeof expire !== 'boolean') throw problem(400, 'Bad Request', 'expireAccessTokens must be a boolean');
  const out: { -readonly [K in keyof FaultSettings]: FaultSettings[K] } = {};
  const tooMany = count('tooManyRequests');
  const retryAfter = count('retryAfterSeconds');
  const unavailable = count('unavailable');
  if (tooMany !== undefined) out.tooManyRequests = tooMany;
  if (retryAfter !== undefined) out.retryAfterSeconds = retryAfter;
  if (unavailable !== undefined) out.unavailable = unavailable;
  if (expire !== undefined) out.expireAccessTokens = expire;
  return out;
}

interface Entry {
  readonly success: boolean;
  readonly errorCode: number;
  readonly errorText: string;
  readonly id: string;
  readonly stackTrace: null;
}

function ok(id: string): Entry {
  return { success: true, errorCode: 10000, errorText: 'NoError', id, stackTrace: null };
}

function failed(id: string, errorCode: number, errorText: string): Entry {
  return { success: false, errorCode, errorText, id, stackTrace: null };
}

/** The per-id outcome before any data: malformed id, unknown point, or no (active) consent. */
function lookup(
  scenario: Scenario,
  thirdParty: ScenarioThirdParty,
  id: string,
  today: LocalDate,
  noConsent: readonly [number, string],
): { readonly mp: ScenarioMeteringPoint; readonly consent: { from?: LocalDate; to?: LocalDate } } | Entry {
  if (id.length !== 18) return failed(id, 20003, 'MeteringPointIdNot18CharsLong');
  if (!/^\d{18}$/.test(id)) return failed(id, 20004, 'MeteringPointIdContainsNonDigits');
  const mp = scenario.meteringPoints.find((m) => m.gsrn === id);
  if (!mp) return failed(id, 20008, 'MeteringPointNotFound');
  const consent = thirdParty.consents.find(
    (c) => c.gsrn === id && (c.validFrom === undefined || compareLocalDates(c.validFrom, today) <= 0) && (c.validTo === undefined || compareLocalDates(today, c.validTo) < 0),
  );
  if (!consent) return failed(id, noConsent[0], noConsent[1]);
  return { mp, consent: { ...(consent.validFrom === undefined ? {} : { from: consent.validFrom }), ...(consent.validTo === undefined ? {} : { to: consent.validTo }) } };
}

const isoDay = (date: LocalDate): string => localDayStart(date).toISOString();
const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The real `MeteringPointDetailsDto` fields, plus simulator extensions (marked) the real DTO does not document. */
function detailsDto(mp: ScenarioMeteringPoint, consent: { from?: LocalDate; to?: LocalDate }, now: Date): Record<string, unknown> {
  const a = mp.address;
  return {
    meteringPointId: mp.gsrn,
    parentMeteringPointId: null,
    typeOfMP: mp.typeOfMP,
    energyTimeSeriesMeasureUnit: 'KWH',
    estimatedAnnualVolume: mp.estimatedAnnualVolume ?? null,
    settlementMethod: mp.settlementMethod ?? null,
    meterNumber: mp.gsrn.slice(-8),
    gridOperatorName: mp.gridOperator.name,
    gridOperatorID: mp.gridOperator.gln,
    gridOperatorID_SchemeAgencyIdentifier: 'GLN',
    meteringGridAreaIdentification: mp.gridArea,
    netSettlementGroup: '0',
    physicalStatusOfMP: mp.physicalStatus,
    consumerCategory: null,
    powerLimitKW: null,
    powerLimitA: null,
    subTypeOfMP: 'D01',
    productionObligation: null,
    mpCapacity: null,
    mpConnectionType: null,
    disconnectionType: 'D01',
    product: 'Item8716867000030',
    consumerCVR: null,
    dataAccessCVR: null,
    consumerStartDate: mp.consumerStartDate === undefined ? null : isoDay(mp.consumerStartDate),
    meterReadingOccurrence: 'PT1H',
    mpReadingCharacteristics: null,
    meterCounterDigits: null,
    meterCounterMultiplyFactor: null,
    meterCounterUnit: null,
    meterCounterType: null,
    taxReduction: 'false',
    taxSettlementDate: null,
    mpRelationType: null,
    streetCode: null,
    streetName: a.streetName,
    buildingNumber: a.buildingNumber,
    floorId: a.floorId ?? null,
    roomId: a.roomId ?? null,
    postcode: a.postcode,
    cityName: a.cityName,
    citySubDivisionName: null,
    municipalityCode: a.municipalityCode ?? null,
    locationDescription: null,
    firstConsumerPartyName: mp.consumerName ?? null,
    secondConsumerPartyName: null,
    occurrence: isoSeconds(now),
    contactAddresses: [],
    childMeteringPoints: [],
    // --- simulator extensions (not in the third-party DTO; DataHub knows them) ---
    priceArea: mp.priceArea,
    balanceSupplierID: mp.balanceSupplier?.gln ?? null,
    balanceSupplierName: mp.balanceSupplier?.name ?? null,
    balanceSupplierStartDate: mp.balanceSupplier === undefined ? null : isoDay(mp.balanceSupplier.startDate),
    accessFrom: consent.from === undefined ? null : isoDay(consent.from),
    accessTo: consent.to === undefined ? null : isoDay(consent.to),
    linkedProductionMeteringPointId: mp.linkedProductionGsrn ?? null,
  };
}

class Simulator {
  readonly tokens: TokenService;
  private offsetMs = 0;
  private readonly base: () => number;
  readonly active: ActiveFaults = { tooManyRequests: 0, retryAfterSeconds: 60, unavailable: 0 };
  readonly counters: SimulatorStats = { requests: 0, tokenRequests: 0, tokensIssued: 0, detailsRequests: 0, timeSeriesRequests: 0, unauthorized: 0, tooManyRequests: 0, unavailable: 0 };

  constructor(
    readonly scenario: Scenario,
    clock: (() => Date) | undefined,
  ) {
    this.tokens = new TokenService(scenario);
    if (clock) this.base = () => clock().getTime();
    else if (scenario.now !== undefined) {
      const fixed = Date.parse(scenario.now);
      this.base = () => fixed;
    } else this.base = () => Date.now();
  }

  now(): Date {
    return new Date(this.base() + this.offsetMs);
  }

  today(): LocalDate {
    return localDateOf(this.now());
  }

  advanceBy(ms: number): void {
    if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError('advanceBy: ms must be a non-negative integer');
    this.offsetMs += ms;
  }

  setNow(instant: Date | string): void {
    const t = typeof instant === 'string' ? Date.parse(instant) : instant.getTime();
    if (!Number.isFinite(t)) throw new RangeError('setNow: invalid instant');
    const delta = t - this.now().getTime();
    if (delta < 0) throw new RangeError('setNow: the simulator clock never goes back');
    this.offsetMs += delta;
  }

  setFaults(f: FaultSettings): void {
    if (f.tooManyRequests !== undefined) this.active.tooManyRequests = f.tooManyRequests;
    if (f.retryAfterSeconds !== undefined) this.active.retryAfterSeconds = f.retryAfterSeconds;
    if (f.unavailable !== undefined) this.active.unavailable = f.unavailable;
    if (f.expireAccessTokens) this.tokens.revokeAll();
  }

  clearFaults(): void {
    this.active.tooManyRequests = 0;
    this.active.retryAfterSeconds = 60;
    this.active.unavailable = 0;
  }

  /** 429/503 faults, consumed one per API request. */
  injectFault(): void {
    if (this.active.tooManyRequests > 0) {
      this.active.tooManyRequests--;
      this.counters.tooManyRequests++;
      throw new HttpError(429, { statusCode: 429, message: `Rate limit is exceeded. Try again in ${this.active.retryAfterSeconds} seconds.` }, { 'Retry-After': String(this.active.retryAfterSeconds) });
    }
    if (this.active.unavailable > 0) {
      this.active.unavailable--;
      this.counters.unavailable++;
      throw new HttpError(503, 'DataHub unavailable');
    }
  }

  async token(req: IncomingMessage): Promise<unknown> {
    this.counters.tokenRequests++;
    const refresh = bearerOf(req.headers.authorization);
    const tp = refresh === undefined ? undefined : this.tokens.thirdPartyOf(refresh, this.now());
    if (!tp) {
      this.counters.unauthorized++;
      throw problem(401, 'Unauthorized', 'refresh token missing, unknown or expired', { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
    this.counters.tokensIssued++;
    return { result: await this.tokens.issue(tp, this.now()) };
  }

  async authorize(req: IncomingMessage): Promise<ScenarioThirdParty> {
    const check = await this.tokens.verify(bearerOf(req.headers.authorization), this.now());
    if (check.ok) return check.thirdParty;
    this.counters.unauthorized++;
    const description = check.reason === 'expired' ? 'The token expired' : check.reason === 'missing' ? 'No data access token' : 'Invalid data access token';
    throw problem(401, 'Unauthorized', description, { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${description}"` });
  }

  details(tp: ScenarioThirdParty, ids: readonly string[]): unknown {
    this.counters.detailsRequests++;
    const today = this.today();
    return {
      result: ids.map((id) => {
        const found = lookup(this.scenario, tp, id, today, [20012, 'Unauthorized']);
        if ('success' in found) return { result: null, ...found };
        return { result: detailsDto(found.mp, found.consent, this.now()), ...ok(id) };
      }),
    };
  }

  timeSeries(tp: ScenarioThirdParty, ids: readonly string[], from: string, to: string, aggregation: string): unknown {
    this.counters.timeSeriesRequests++;
    const today = this.today();
    if (!isLocalDate(from) || !isLocalDate(to)) throw apiError(400, 30004, 'InvalidDateFormat');
    if (!AGGREGATIONS.includes(aggregation)) throw apiError(400, 30008, 'RequestedAggregationUnavaliable');
    if (aggregation === 'Quarter') throw apiError(400, 30008, 'RequestedAggregationUnavaliable');
    if (compareLocalDates(from, today) > 0) throw apiError(400, 30000, 'FromDateIsGreaterThanToday');
    if (compareLocalDates(from, to) > 0) throw apiError(400, 30001, 'FromDateIsGreaterThanToDate');
    if (from === to) throw apiError(400, 30002, 'ToDateCanNotBeEqualToFromDate');
    if (compareLocalDates(to, addDays(today, 1)) > 0) throw apiError(400, 30003, 'ToDateIsGreaterThanToday');
    if (daysBetween(from, to) > MAX_DAYS) throw apiError(400, 30014, 'PeriodNotAllowed');
    const created = isoSeconds(this.now());
    const mRID = randomUUID();
    return {
      result: ids.map((id) => {
        const found = lookup(this.scenario, tp, id, today, [30006, 'AccessToMeteringPointDenied']);
        if ('success' in found) return { MyEnergyData_MarketDocument: null, ...found };
        const mp = found.mp;
        const periods = timeSeriesPeriods(this.scenario.seed, mp, from, to, today, aggregation as SimAggregation);
        if (periods.length === 0) {
          return compareLocalDates(to, mp.historyFrom) <= 0
            ? { MyEnergyData_MarketDocument: null, ...failed(id, 30018, 'MeteringPointDataNotAvailableForTheRequestedPeriod') }
            : { MyEnergyData_MarketDocument: null, ...failed(id, 30015, 'NoDataAvailable') };
        }
        return {
          MyEnergyData_MarketDocument: {
            mRID,
            createdDateTime: created,
            'sender_MarketParticipant.name': 'Energinet',
            'sender_MarketParticipant.mRID': { codingScheme: 'A10', name: '5790000432752' },
            'period.timeInterval': { start: isoSeconds(localDayStart(from)), end: isoSeconds(localDayStart(to)) },
            TimeSeries: [
              {
                mRID: mp.gsrn,
                businessType: mp.typeOfMP === 'E18' ? 'A01' : 'A04',
                curveType: 'A01',
                'measurement_Unit.name': 'KWH',
                MarketEvaluationPoint: { mRID: { codingScheme: 'A10', name: mp.gsrn } },
                Period: periods.map((p) => ({
                  resolution: p.resolution,
                  timeInterval: { start: isoSeconds(p.start), end: isoSeconds(p.end) },
                  Point: p.points.map((pt) => ({ position: String(pt.position), 'out_Quantity.quantity': formatScaled(BigInt(pt.milli), 3), 'out_Quantity.quality': 'A04' })),
                })),
              },
            ],
          },
          ...ok(id),
        };
      }),
    };
  }
}

function answerError(res: ServerResponse, error: unknown, headers: Record<string, string>): void {
  if (error instanceof HttpError) sendJson(res, error.status, error.body, { ...headers, ...error.headers });
  else sendJson(res, 500, '[10003] InternalServerError', headers);
}

/** Starts the Eloverblik third-party API simulator (see the README for endpoints, scenario format and faults). */
export async function startEloverblikSimulator(options: EloverblikSimulatorOptions): Promise<RunningEloverblikSimulator> {
  const scenario = parseScenario(options.scenario);
  const sim = new Simulator(scenario, options.clock);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim.local');
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/^\/thirdpartyapi(?=\/api\/)/, '').replace(/\/+$/, '');
    const userCorrelation = req.headers['x-user-correlation-id'];
    const headers: Record<string, string> = { 'X-Correlation-ID': randomUUID(), ...(typeof userCorrelation === 'string' ? { 'X-User-Correlation-ID': userCorrelation } : {}) };
    try {
      if (path.startsWith('/sim/')) {
        if (path === '/sim/faults' && method === 'POST') {
          sim.setFaults(parseFaultSettings(await readJson(req)));
          return sendJson(res, 200, sim.active);
        }
        if (path === '/sim/faults' && method === 'DELETE') {
          sim.clearFaults();
          return sendJson(res, 200, sim.active);
        }
        if (path === '/sim/faults' && method === 'GET') return sendJson(res, 200, sim.active);
        if (path === '/sim/stats' && method === 'GET') return sendJson(res, 200, sim.counters);
        if (path === '/sim/clock' && method === 'GET') return sendJson(res, 200, { now: sim.now().toISOString(), today: sim.today() });
        if (path === '/sim/clock' && method === 'POST') {
          const body = await readJson(req);
          if (!isObject(body)) throw problem(400, 'Bad Request', 'body must be {"advanceSeconds": n} or {"now": "<instant>"}');
          try {
            if (typeof body['advanceSeconds'] === 'number') sim.advanceBy(body['advanceSeconds'] * 1000);
            else if (typeof body['now'] === 'string') sim.setNow(body['now']);
            else throw new RangeError('body must be {"advanceSeconds": n} or {"now": "<instant>"}');
          } catch (error) {
            throw problem(400, 'Bad Request', error instanceof Error ? error.message : String(error));
          }
          return sendJson(res, 200, { now: sim.now().toISOString(), today: sim.today() });
        }
        throw problem(404, 'Not Found', `${method} ${path}`);
      }
      if (!path.startsWith('/api/')) throw problem(404, 'Not Found', `${method} ${url.pathname}`);
      sim.counters.requests++;
      if (path === '/api/isalive' && method === 'GET') return sendJson(res, 200, true, headers);
      sim.injectFault();
      if (path === '/api/token' && method === 'GET') return sendJson(res, 200, await sim.token(req), headers);
      if (method === 'POST' && (path === '/api/meteringpoint/getdetails' || path === '/api/meteringpoints/meteringpoint/getdetails')) {
        const tp = await sim.authorize(req);
        return sendJson(res, 200, sim.details(tp, meteringPointIds(await readJson(req))), headers);
      }
      const ts = /^\/api\/meterdata\/gettimeseries\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
      if (ts && method === 'POST') {
        const tp = await sim.authorize(req);
        const ids = meteringPointIds(await readJson(req));
        return sendJson(res, 200, sim.timeSeries(tp, ids, decodeURIComponent(ts[1] ?? ''), decodeURIComponent(ts[2] ?? ''), decodeURIComponent(ts[3] ?? '')), headers);
      }
      throw problem(404, 'Not Found', `${method} ${url.pathname}`);
    } catch (error) {
      answerError(res, error, headers);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) answerError(res, error, {});
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  const control: EloverblikSimulatorControl = {
    scenario,
    now: () => sim.now(),
    today: () => sim.today(),
    advanceBy: (ms) => sim.advanceBy(ms),
    setNow: (instant) => sim.setNow(instant),
    setFaults: (faults) => sim.setFaults(faults),
    clearFaults: () => sim.clearFaults(),
    faults: () => ({ ...sim.active }),
    stats: () => ({ ...sim.counters }),
  };
  return {
    url,
    apiBaseUrl: `${url}/thirdpartyapi`,
    control,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
