import { addDays, compareLocalDates, isLocalDate, localDateOf, localDayIntervals, type LocalDate } from '@dh/dk-time';
import type { EventStore, JsonObject } from '@dh/event-store';
import { isPriceArea, parseDayAheadPrices, parseElspotprices, type PriceArea, type SpotPrice } from '@dh/rates-domain';
import { mwhTextToKwhText, sameDecimal } from './decimals';
import type { EdsClient } from './eds-client';
import { InvalidRatesCommandError, MalformedEdsDataError } from './errors';
import { SPOT_PRICES_PUBLISHED, spotPricesStreamId, toEventData, type RatesCommandContext, type SpotPriceEntry, type SpotPricesPublished } from './events';
import { appendIfChanged } from './versioned-append';
import type { RawJsonValue } from './raw-json';

/** First delivery day of 15-minute prices (`DayAheadPrices`); before it, hourly `Elspotprices`. */
export const FIRST_QUARTER_HOUR_DELIVERY_DATE: LocalDate = '2025-10-01';
/** Longest range one command may ingest. */
export const MAX_INGEST_DAYS = 366;

export interface IngestSpotPricesRequest {
  priceArea: string;
  /** First local delivery date, inclusive. */
  from: string;
  /** Last local delivery date, exclusive. */
  to: string;
}

export interface SpotDayOutcome {
  deliveryDate: string;
  streamId: string;
  /** `appended`: a new version; `unchanged`: identical to the latest version; `incomplete`: not every interval published yet, nothing appended. */
  outcome: 'appended' | 'unchanged' | 'incomplete';
  /** Version in force after the call (0 when none). */
  version: number;
  intervals: number;
}

export interface IngestSpotPricesResult {
  priceArea: PriceArea;
  days: SpotDayOutcome[];
  requests: number;
}

export function validateDateRange(from: string, to: string, maxDays = MAX_INGEST_DAYS): void {
  if (!isLocalDate(from)) throw new InvalidRatesCommandError('from', `must be a date YYYY-MM-DD, got ${JSON.stringify(from)}`);
  if (!isLocalDate(to)) throw new InvalidRatesCommandError('to', `must be a date YYYY-MM-DD, got ${JSON.stringify(to)}`);
  if (compareLocalDates(to, from) <= 0) throw new InvalidRatesCommandError('to', `(${to}) must be after from (${from})`);
  if (compareLocalDates(to, addDays(from, maxDays)) > 0) throw new InvalidRatesCommandError('to', `is more than ${maxDays} days after from`);
}

interface ParsedDay {
  source: 'DayAheadPrices' | 'Elspotprices';
  resolution: 'PT15M' | 'PT1H';
  prices: Map<number, SpotPriceEntry>;
}

type Source = { dataset: 'DayAheadPrices' | 'Elspotprices'; timeField: string; priceField: string; from: LocalDate; to: LocalDate };

function sourcesFor(from: LocalDate, to: LocalDate): Source[] {
  const split = FIRST_QUARTER_HOUR_DELIVERY_DATE;
  const out: Source[] = [];
  if (compareLocalDates(from, split) < 0) out.push({ dataset: 'Elspotprices', timeField: 'HourUTC', priceField: 'SpotPriceDKK', from, to: compareLocalDates(to, split) < 0 ? to : split });
  if (compareLocalDates(to, split) > 0) out.push({ dataset: 'DayAheadPrices', timeField: 'TimeUTC', priceField: 'DayAheadPriceDKK', from: compareLocalDates(from, split) > 0 ? from : split, to });
  return out;
}

function rawField(record: RawJsonValue | undefined, field: string): string {
  if (typeof record === 'object' && record !== null && !Array.isArray(record)) {
    const v = record[field];
    if (typeof v === 'string') return v;
  }
  // The domain parser accepted the record, so the field is a decimal string; anything else is a bug here.
  throw new Error(`record field ${field} is not a string after parsing`);
}

function sameDay(latest: JsonObject, day: SpotPricesPublished): boolean {
  const old = latest as unknown as SpotPricesPublished;
  if (old.resolution !== day.resolution || old.source !== day.source || old.prices.length !== day.prices.length) return false;
  return old.prices.every((p, i) => p.start === day.prices[i]!.start && sameDecimal(p.dkkPerMwh, day.prices[i]!.dkkPerMwh));
}

/**
 * Fetches the day-ahead prices of a price area for local delivery dates [from, to) — `Elspotprices` before
 * 2025-10-01, `DayAheadPrices` from it — and appends one `SpotPricesPublished` per complete day whose prices
 * differ from the latest version (version + 1). Every record is validated before anything is appended:
 * one malformed record rejects the whole ingest. Days not fully published are reported and left alone.
 */
export async function ingestSpotPrices(
  deps: { store: EventStore; eds: EdsClient },
  request: IngestSpotPricesRequest,
  context: RatesCommandContext,
): Promise<IngestSpotPricesResult> {
  if (!isPriceArea(request.priceArea)) throw new InvalidRatesCommandError('priceArea', `must be DK1 or DK2, got ${JSON.stringify(request.priceArea)}`);
  const priceArea = request.priceArea;
  validateDateRange(request.from, request.to);
  const version = { publishedAt: context.now, version: 0 };

  const days = new Map<LocalDate, ParsedDay>();
  let requests = 0;
  for (const s of sourcesFor(request.from, request.to)) {
    const result = await deps.eds.fetchAll(s.dataset, { start: s.from, end: s.to, filter: { PriceArea: [priceArea] }, sort: `${s.timeField} ASC` });
    requests += result.requests;
    const parsed = s.dataset === 'DayAheadPrices' ? parseDayAheadPrices(result.records, version) : parseElspotprices(result.records, version);
    if (!parsed.ok) throw MalformedEdsDataError.fromRecordErrors(parsed.errors);
    const problems: MalformedEdsDataError['problems'] = [];
    parsed.value.forEach((p: SpotPrice, index) => {
      if (p.priceArea !== priceArea) {
        problems.push({ dataset: s.dataset, index, field: 'PriceArea', problem: `is ${p.priceArea}, but ${priceArea} was asked for` });
        return;
      }
      const date = localDateOf(p.start);
      if (compareLocalDates(date, s.from) < 0 || compareLocalDates(date, s.to) >= 0) return;
      let day = days.get(date);
      if (day === undefined) days.set(date, (day = { source: s.dataset, resolution: p.resolution === 'PT15M' ? 'PT15M' : 'PT1H', prices: new Map() }));
      const ms = p.start.getTime();
      if (day.prices.has(ms)) {
        problems.push({ dataset: s.dataset, index, field: s.timeField, problem: `repeats ${p.start.toISOString()}` });
        return;
      }
      const dkkPerMwh = rawField(result.records[index], s.priceField);
      day.prices.set(ms, { start: p.start.toISOString(), dkkPerMwh, dkkPerKwh: mwhTextToKwhText(dkkPerMwh) });
    });
    if (problems.length > 0) throw new MalformedEdsDataError(problems);
  }

  const outcomes: SpotDayOutcome[] = [];
  for (let date = request.from; compareLocalDates(date, request.to) < 0; date = addDays(date, 1)) {
    const streamId = spotPricesStreamId(priceArea, date);
    const day = days.get(date);
    const resolution = compareLocalDates(date, FIRST_QUARTER_HOUR_DELIVERY_DATE) < 0 ? 'PT1H' : 'PT15M';
    const expected = localDayIntervals(date, resolution);
    const complete = day !== undefined && day.prices.size === expected.length && expected.every((t) => day.prices.has(t.getTime()));
    if (!complete) {
      const latest = (await deps.store.readStream(streamId)).filter((e) => e.type === SPOT_PRICES_PUBLISHED).pop();
      outcomes.push({ deliveryDate: date, streamId, outcome: 'incomplete', version: latest === undefined ? 0 : Number(latest.data['version']), intervals: day?.prices.size ?? 0 });
      continue;
    }
    const prices = expected.map((t) => day.prices.get(t.getTime())!);
    const result = await appendIfChanged(
      deps.store,
      streamId,
      SPOT_PRICES_PUBLISHED,
      (latest, stream) => {
        // A manual correction stands while Energi Data Service still publishes the version it corrected.
        const published = [...stream].reverse().find((e) => e.type === SPOT_PRICES_PUBLISHED && e.data['source'] !== 'manual')?.data ?? null;
        const compareWith = latest !== null && latest['source'] === 'manual' ? published : latest;
        const candidate: SpotPricesPublished = {
          priceArea,
          deliveryDate: date,
          resolution: day.resolution,
          source: day.source,
          version: latest === null ? 1 : Number(latest['version']) + 1,
          publishedAt: context.now.toISOString(),
          prices,
        };
        if (compareWith !== null && sameDay(compareWith, candidate)) return null;
        return toEventData(candidate);
      },
      context,
    );
    const version = result.data === null ? 0 : Number(result.data['version']);
    outcomes.push({ deliveryDate: date, streamId, outcome: result.appended ? 'appended' : 'unchanged', version, intervals: prices.length });
  }
  return { priceArea, days: outcomes, requests };
}
