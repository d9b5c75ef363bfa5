import { addDays, daysBetween, isLocalDate, type LocalDate } from '@dh/dk-time';
import { toGsrn, type Gsrn } from '@dh/market-ids';
import { DEFAULT_RETRY_POLICY, parseRetryAfter, retryDelay, type RetryPolicy } from './backoff';
import { estimateFromDailyHistory, twelveMonthWindow, type AnnualConsumptionEstimate } from './estimate';
import { EloverblikAuthError, EloverblikError, EloverblikInsufficientDataError, EloverblikNoDataError, EloverblikUnavailableError, errorForCode } from './errors';
import { entryFor, parseDetails, parseTimeSeriesPoints, pointDate, sumKwh, type ConsumptionPoint, type ConsumptionSeries, type HistoryAggregation, type MeteringPointDetails } from './responses';

export interface EloverblikClientOptions {
  /** Third-party API base: `https://api.eloverblik.dk/thirdpartyapi` (pre-production `https://apipreprod.eloverblik.dk/thirdpartyapi`) or the simulator's `apiBaseUrl`. */
  readonly baseUrl: string;
  /** The long-lived refresh token (created in the Eloverblik portal; stands for our third-party access). */
  readonly refreshToken: string;
  /** Default: global `fetch`. */
  readonly fetch?: typeof fetch;
  readonly retry?: Partial<RetryPolicy>;
  /** Fetch a new data access token this long before it expires (default 5 minutes, at most half its lifetime). */
  readonly refreshBeforeExpiryMs?: number;
  /** Lifetime assumed when the data access token carries no readable `exp` (default 1 hour; the real one lives 24 h). */
  readonly assumedTokenLifetimeMs?: number;
  /** Per HTTP request (default 60 s; time series of many points can be slow). */
  readonly requestTimeoutMs?: number;
  /** Days per `gettimeseries` request when a range is split (default 365; the API allows at most 730). */
  readonly maxDaysPerRequest?: number;
  /** Injected for tests: wall clock (ms), sleep and jitter source. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export interface HistoryRange {
  /** First local date (Europe/Copenhagen), inclusive. */
  readonly from: LocalDate;
  /** Last local date, exclusive (the API's `dateTo`). */
  readonly to: LocalDate;
  /** Default `Hour`. */
  readonly aggregation?: HistoryAggregation;
}

export interface EstimateOptions {
  /** Fewer measured days than this fall back to `estimatedAnnualVolume` (default 30). */
  readonly minDaysForScaling?: number;
}

interface CachedToken {
  readonly value: string;
  readonly refreshAt: number;
}

interface HttpAnswer {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
}

function isTransient(status: number): boolean {
  return status === 429 || status >= 500;
}

/** `exp`/`iat` (seconds) of a JWT, without verifying it (we only need to know when to refresh). */
function jwtTimes(token: string): { exp?: number; iat?: number } {
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    if (typeof payload !== 'object' || payload === null) return {};
    const o = payload as Record<string, unknown>;
    return { ...(typeof o['exp'] === 'number' ? { exp: o['exp'] } : {}), ...(typeof o['iat'] === 'number' ? { iat: o['iat'] } : {}) };
  } catch {
    return {};
  }
}

/** "[30004] InvalidDateFormat" (a JSON string) or a problem document → code and text. */
function errorBody(text: string): { code?: number; text?: string } {
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain text
  }
  if (typeof parsed === 'string') {
    const m = /^\[(\d+)\]\s*(.*)$/.exec(parsed.trim());
    return m ? { code: Number(m[1]), text: m[2] ?? '' } : { text: parsed };
  }
  if (typeof parsed === 'object' && parsed !== null) {
    const o = parsed as Record<string, unknown>;
    const detail = typeof o['detail'] === 'string' ? o['detail'] : undefined;
    const title = typeof o['title'] === 'string' ? o['title'] : typeof o['message'] === 'string' ? o['message'] : undefined;
    const m = detail === undefined ? null : /^\[(\d+)\]\s*(.*)$/.exec(detail);
    if (m) return { code: Number(m[1]), text: m[2] ?? '' };
    const joined = [title, detail].filter((x) => x !== undefined).join(': ');
    return joined ? { text: joined } : {};
  }
  return {};
}

function validGsrn(gsrn: string): Gsrn {
  // Throws InvalidIdError (typed problem, never echoing the input) before any request is made.
  return toGsrn(gsrn);
}

/**
 * Client of Eloverblik's third-party API: refresh token → cached data access token (renewed before it expires, and
 * once more on a 401), metering point details, time series, and the annual-consumption estimate for the first aconto.
 * 429/503/5xx and network failures are retried with bounded back-off, honouring `Retry-After`.
 */
export class EloverblikClient {
  private readonly fetchFn: typeof fetch;
  private readonly policy: RetryPolicy;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly baseUrl: string;
  private cached: CachedToken | undefined;
  private inflight: Promise<string> | undefined;

  constructor(private readonly options: EloverblikClientOptions) {
    if (!options.refreshToken) throw new RangeError('refreshToken is required');
    this.fetchFn = options.fetch ?? fetch;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    if (!Number.isInteger(this.policy.maxAttempts) || this.policy.maxAttempts < 1) throw new RangeError('retry.maxAttempts must be an integer ≥ 1');
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  /** `POST /api/meteringpoint/getdetails` for one metering point. */
  async getMeteringPointDetails(gsrn: string): Promise<MeteringPointDetails> {
    const id = validGsrn(gsrn);
    const body = await this.api('POST', '/api/meteringpoint/getdetails', { meteringPoints: { meteringPoint: [id] } });
    return parseDetails(entryFor(body, id), id);
  }

  /**
   * `POST /api/meterdata/gettimeseries/{from}/{to}/{aggregation}`; ranges longer than `maxDaysPerRequest` are split.
   * Throws {@link EloverblikNoDataError} when no part of the range has data.
   */
  async getConsumptionHistory(gsrn: string, range: HistoryRange): Promise<ConsumptionSeries> {
    const id = validGsrn(gsrn);
    const { from, to } = range;
    const aggregation = range.aggregation ?? 'Hour';
    if (!isLocalDate(from) || !isLocalDate(to)) throw new RangeError('from and to must be local dates YYYY-MM-DD');
    if (daysBetween(from, to) < 1) throw new RangeError(`Empty range [${from}, ${to})`);
    const chunk = this.options.maxDaysPerRequest ?? 365;
    if (!Number.isSafeInteger(chunk) || chunk < 1 || chunk > 730) throw new RangeError('maxDaysPerRequest must be an integer 1..730');
    const points: ConsumptionPoint[] = [];
    let lastNoData: EloverblikNoDataError | undefined;
    for (let start = from; start < to; ) {
      const end = daysBetween(start, to) > chunk ? addDays(start, chunk) : to;
      const body = await this.api('POST', `/api/meterdata/gettimeseries/${start}/${end}/${aggregation}`, { meteringPoints: { meteringPoint: [id] } });
      try {
        points.push(...parseTimeSeriesPoints(entryFor(body, id), id));
      } catch (error) {
        if (!(error instanceof EloverblikNoDataError)) throw error;
        lastNoData = error;
      }
      start = end;
    }
    if (points.length === 0 && lastNoData) throw lastNoData;
    return { gsrn: id, aggregation, from, to, unit: 'KWH', points, totalKwh: sumKwh(points.map((p) => p.kwh)) };
  }

  /**
   * Expected annual consumption (kWh, exact) for the first aconto amount. Rule: the window is the 12 months before
   * `today` ([today − 1 year, today)); with every day measured the exact sum, with at least `minDaysForScaling` (30)
   * measured days the sum scaled by 365 / measured days (rounded half away from zero to 0.001 kWh), else the metering
   * point's `estimatedAnnualVolume`. Throws {@link EloverblikInsufficientDataError} when none applies.
   */
  async estimateAnnualConsumption(gsrn: string, today: LocalDate, options: EstimateOptions = {}): Promise<AnnualConsumptionEstimate> {
    const id = validGsrn(gsrn);
    const window = twelveMonthWindow(today);
    const days = new Map<LocalDate, string>();
    try {
      const series = await this.getConsumptionHistory(id, { ...window, aggregation: 'Day' });
      const byDay = new Map<LocalDate, string[]>();
      for (const p of series.points) {
        const date = pointDate(p);
        if (date < window.from || date >= window.to) continue;
        byDay.set(date, [...(byDay.get(date) ?? []), p.kwh]);
      }
      for (const [date, values] of byDay) days.set(date, sumKwh(values));
    } catch (error) {
      if (!(error instanceof EloverblikNoDataError)) throw error;
    }
    const measured = estimateFromDailyHistory({ window, days, ...(options.minDaysForScaling === undefined ? {} : { minDaysForScaling: options.minDaysForScaling }) });
    if (measured) return measured;
    const details = await this.getMeteringPointDetails(id);
    if (details.estimatedAnnualVolumeKwh === undefined) {
      throw new EloverblikInsufficientDataError(`${days.size} measured day(s) in [${window.from}, ${window.to}) and no estimatedAnnualVolume for ${id}`, { gsrn: id });
    }
    return {
      kwh: details.estimatedAnnualVolumeKwh,
      basis: 'estimated-annual-volume',
      window,
      daysInWindow: daysBetween(window.from, window.to),
      daysWithData: days.size,
      measuredKwh: sumKwh(days.values()),
    };
  }

  /** A data access token (cached; renewed before expiry). */
  async accessToken(): Promise<string> {
    const c = this.cached;
    if (c && this.now() < c.refreshAt) return c.value;
    return this.fetchToken();
  }

  private fetchToken(): Promise<string> {
    if (!this.inflight) {
      this.inflight = this.requestToken().finally(() => {
        this.inflight = undefined;
      });
    }
    return this.inflight;
  }

  private async requestToken(): Promise<string> {
    const answer = await this.withRetry('GET', '/api/token', undefined, this.options.refreshToken);
    if (answer.status === 401 || answer.status === 403) {
      const e = errorBody(answer.text);
      throw new EloverblikAuthError(`Eloverblik refused the refresh token (${answer.status}${e.text ? ` ${e.text}` : ''})`, { status: answer.status, ...e });
    }
    if (answer.status !== 200) throw this.httpError('GET /api/token', answer);
    let token: unknown;
    try {
      token = (JSON.parse(answer.text) as { result?: unknown }).result;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token === '') throw new EloverblikError('Malformed token response: no result', { status: answer.status });
    const issuedAt = this.now();
    const { exp, iat } = jwtTimes(token);
    const expiresAt = exp !== undefined ? exp * 1000 : issuedAt + (this.options.assumedTokenLifetimeMs ?? 3_600_000);
    const lifetime = Math.max(0, expiresAt - (iat !== undefined ? iat * 1000 : issuedAt));
    const margin = Math.min(this.options.refreshBeforeExpiryMs ?? 300_000, lifetime / 2);
    this.cached = { value: token, refreshAt: expiresAt - margin };
    return token;
  }

  /** Authenticated JSON call: one forced token renewal on a 401, typed errors for the rest. */
  private async api(method: 'GET' | 'POST', path: string, body: unknown): Promise<unknown> {
    let token = await this.accessToken();
    let answer = await this.withRetry(method, path, body, token);
    if (answer.status === 401) {
      if (this.cached?.value === token) this.cached = undefined;
      token = await this.accessToken();
      answer = await this.withRetry(method, path, body, token);
      if (answer.status === 401) {
        const e = errorBody(answer.text);
        throw new EloverblikAuthError(`Eloverblik answered 401 to ${method} ${path} with a fresh data access token`, { status: 401, ...e });
      }
    }
    if (answer.status !== 200) throw this.httpError(`${method} ${path}`, answer);
    try {
      return JSON.parse(answer.text) as unknown;
    } catch (cause) {
      throw new EloverblikError(`Malformed Eloverblik response to ${method} ${path}: not JSON`, { status: answer.status, cause });
    }
  }

  private httpError(what: string, answer: HttpAnswer): EloverblikError {
    const e = errorBody(answer.text);
    const message = `Eloverblik answered ${answer.status} to ${what}${e.code !== undefined ? ` [${e.code}]` : ''}${e.text ? ` ${e.text}` : ''}`;
    if (e.code !== undefined) return errorForCode(message, { code: e.code, status: answer.status, ...(e.text === undefined ? {} : { text: e.text }) });
    return new EloverblikError(message, { status: answer.status, ...(e.text === undefined ? {} : { text: e.text }) });
  }

  /** One logical request: retried on 429/5xx/network failures with back-off (honouring `Retry-After`), bounded. */
  private async withRetry(method: 'GET' | 'POST', path: string, body: unknown, bearer: string): Promise<HttpAnswer> {
    let lastStatus: number | undefined;
    let lastCause: unknown;
    for (let attempt = 1; attempt <= this.policy.maxAttempts; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        const res = await this.fetchFn(`${this.baseUrl}${path}`, {
          method,
          headers: { Authorization: `Bearer ${bearer}`, Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 60_000),
        });
        const text = await res.text();
        if (!isTransient(res.status)) return { status: res.status, text, headers: res.headers };
        lastStatus = res.status;
        lastCause = undefined;
        retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), this.now());
        if (retryAfterMs !== undefined && retryAfterMs > this.policy.maxRetryAfterMs) {
          throw new EloverblikUnavailableError(`Eloverblik asked to retry ${method} ${path} after ${Math.round(retryAfterMs / 1000)} s (more than we wait)`, attempt, { status: res.status });
        }
      } catch (error) {
        if (error instanceof EloverblikError) throw error;
        lastStatus = undefined;
        lastCause = error;
      }
      if (attempt < this.policy.maxAttempts) await this.sleep(retryDelay(this.policy, attempt, retryAfterMs, this.random));
    }
    const why = lastStatus !== undefined ? `HTTP ${lastStatus}` : `network failure (${lastCause instanceof Error ? lastCause.message : String(lastCause)})`;
    throw new EloverblikUnavailableError(`Eloverblik unavailable for ${method} ${path} after ${this.policy.maxAttempts} attempt(s): ${why}`, this.policy.maxAttempts, {
      ...(lastStatus === undefined ? {} : { status: lastStatus }),
      ...(lastCause === undefined ? {} : { cause: lastCause }),
    });
  }
}
