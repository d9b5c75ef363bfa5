import { parseRetryAfter } from '@dh/http-retry';
import { parseJsonKeepingNumbers, RawJsonError, type RawJsonValue } from './raw-json';

export type EdsDatasetName = 'DayAheadPrices' | 'Elspotprices' | 'DatahubPricelist';

export interface EdsClientOptions {
  /** e.g. `https://api.energidataservice.dk`; datasets at `<baseUrl>/dataset/<name>`. */
  baseUrl: string;
  fetch?: typeof fetch;
  /** Records per request (the API's `limit`); default 5000. */
  pageSize?: number;
  /** Attempts per request, first included; default 6. */
  maxAttempts?: number;
  /** First back-off after a 5xx or network error; doubles per attempt, with jitter. Default 500 ms. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Longest wait honoured from a 429 `Retry-After` (default 120 s); longer waits give up. */
  maxRetryAfterMs?: number;
  /** Per-request timeout; default 30 s. */
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface DatasetQuery {
  /** `start` as the API takes it: Danish local `YYYY-MM-DD` or `YYYY-MM-DDTHH:mm`. */
  start?: string;
  end?: string;
  /** Column → accepted values (the API's `filter` JSON). */
  filter?: Readonly<Record<string, readonly string[]>>;
  /** e.g. `TimeUTC ASC`; paging needs a stable order. */
  sort?: string;
}

export interface DatasetResult {
  dataset: EdsDatasetName;
  /** Records with every JSON number as its decimal text. */
  records: RawJsonValue[];
  total: number;
  requests: number;
}

/** A non-retryable answer (4xx other than 408/429), or retries exhausted. */
export class EdsRequestError extends Error {
  override readonly name = 'EdsRequestError';
  constructor(
    readonly dataset: string,
    readonly status: number | null,
    message: string,
  ) {
    super(message);
  }
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

function isRecord(v: RawJsonValue | undefined): v is { [key: string]: RawJsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `Retry-After` in seconds or as an HTTP date → milliseconds. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | null {
  return parseRetryAfter(header, now) ?? null;
}

/**
 * Energi Data Service over HTTP: pages with `offset` until `total`, retries 5xx, 408 and network errors
 * with jittered exponential back-off and 429 after `Retry-After`, and reads JSON with raw numbers.
 */
export class EdsClient {
  private readonly fetchFn: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: EdsClientOptions) {
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  url(dataset: EdsDatasetName, query: DatasetQuery, limit: number, offset: number): string {
    const params = new URLSearchParams();
    if (query.start !== undefined) params.set('start', query.start);
    if (query.end !== undefined) params.set('end', query.end);
    if (query.filter !== undefined) params.set('filter', JSON.stringify(query.filter));
    if (query.sort !== undefined) params.set('sort', query.sort);
    params.set('limit', String(limit));
    params.set('offset', String(offset));
    return `${this.options.baseUrl.replace(/\/+$/, '')}/dataset/${dataset}?${params.toString()}`;
  }

  /** Every record of the query, all pages. If `total` changes while paging, starts over (up to 3 times). */
  async fetchAll(dataset: EdsDatasetName, query: DatasetQuery): Promise<DatasetResult> {
    const pageSize = this.options.pageSize ?? 5000;
    let requests = 0;
    for (let round = 1; ; round++) {
      const records: RawJsonValue[] = [];
      let total: number | null = null;
      let changed = false;
      while (total === null || records.length < total) {
        const page = await this.request(dataset, this.url(dataset, query, pageSize, records.length));
        requests += page.attempts;
        if (total !== null && page.total !== total) {
          changed = true;
          break;
        }
        total = page.total;
        if (page.records.length === 0) break;
        records.push(...page.records);
      }
      if (!changed && total !== null && records.length === total) return { dataset, records, total, requests };
      if (round >= 3) throw new EdsRequestError(dataset, null, `${dataset}: total changed while paging (${total ?? '?'} expected, ${records.length} read)`);
    }
  }

  /** A cheap request for readiness checks. */
  async ping(): Promise<void> {
    await this.request('DatahubPricelist', this.url('DatahubPricelist', {}, 1, 0), 1);
  }

  private async request(dataset: EdsDatasetName, url: string, maxAttempts = this.options.maxAttempts ?? 6): Promise<{ total: number; records: RawJsonValue[]; attempts: number }> {
    let lastProblem = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let wait: number;
      try {
        const res = await this.fetchFn(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000) });
        const text = await res.text();
        if (res.ok) return { ...this.page(dataset, text), attempts: attempt };
        lastProblem = `HTTP ${res.status}: ${text.slice(0, 200)}`;
        if (!RETRYABLE.has(res.status)) throw new EdsRequestError(dataset, res.status, `${dataset}: ${lastProblem}`);
        if (res.status === 429) {
          const after = retryAfterMs(res.headers.get('retry-after')) ?? this.backoff(attempt);
          if (after > (this.options.maxRetryAfterMs ?? 120_000)) throw new EdsRequestError(dataset, 429, `${dataset}: rate limited, Retry-After ${after} ms is longer than we wait`);
          wait = after;
        } else wait = this.backoff(attempt);
      } catch (error) {
        if (error instanceof EdsRequestError) throw error;
        lastProblem = error instanceof Error ? error.message : String(error);
        wait = this.backoff(attempt);
      }
      if (attempt < maxAttempts) await this.sleep(wait);
    }
    throw new EdsRequestError(dataset, null, `${dataset}: gave up after ${maxAttempts} attempts; last: ${lastProblem}`);
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.options.maxBackoffMs ?? 30_000, (this.options.initialBackoffMs ?? 500) * 2 ** (attempt - 1));
    return Math.round(base / 2 + (Math.random() * base) / 2);
  }

  private page(dataset: EdsDatasetName, text: string): { total: number; records: RawJsonValue[] } {
    let body: RawJsonValue;
    try {
      body = parseJsonKeepingNumbers(text);
    } catch (error) {
      if (error instanceof RawJsonError) throw new EdsRequestError(dataset, 200, `${dataset}: response is not JSON: ${error.message}`);
      throw error;
    }
    if (!isRecord(body) || !Array.isArray(body['records'])) throw new EdsRequestError(dataset, 200, `${dataset}: response has no records array`);
    const total = body['total'];
    if (typeof total !== 'string' || !/^\d+$/.test(total)) throw new EdsRequestError(dataset, 200, `${dataset}: response has no integer total`);
    return { total: Number(total), records: body['records'] };
  }
}
