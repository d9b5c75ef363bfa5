import { RESOLUTION_MS, type Resolution } from '@dh/dk-time';
import { mwhToKwhPriceUnits } from '@dh/money';
import type { PriceRecordError } from '../errors';
import { isPriceArea } from '../price-area';
import type { SpotPrice } from '../spot/spot-prices';
import type { PriceVersion } from '../versions';
import { parseAll, type RecordReader } from './fields';

export type ParsedRecords<T> = { readonly ok: true; readonly value: T[] } | { readonly ok: false; readonly errors: PriceRecordError[] };

function spotRecord(r: RecordReader, timeField: string, priceField: string, resolution: Resolution, version: PriceVersion): SpotPrice {
  const start = r.utcInstant(timeField);
  if (start.getTime() % RESOLUTION_MS[resolution] !== 0) r.fail(timeField, `is not the start of a ${resolution} interval: ${start.toISOString()}`);
  const area = r.string('PriceArea');
  if (!isPriceArea(area)) r.fail('PriceArea', `must be DK1 or DK2, got ${JSON.stringify(area)}`);
  // DKK/MWh with every published decimal (up to 6) → nano-DKK/kWh, exact (market-facts.md §2).
  const nanoDkkPerKwh = r.decimal(priceField, (s) => mwhToKwhPriceUnits(s));
  return { priceArea: area, start, resolution, nanoDkkPerKwh, publishedAt: version.publishedAt, version: version.version };
}

/**
 * `DayAheadPrices` records (15-minute, from delivery day 2025-10-01): `TimeUTC`, `PriceArea`,
 * `DayAheadPriceDKK` in DKK/MWh. Keyed on `TimeUTC`: `TimeDK` is naive local time and ambiguous on
 * the 25-hour day. Prices must arrive as decimal strings (raw-number JSON).
 */
export function parseDayAheadPrices(records: readonly unknown[], version: PriceVersion): ParsedRecords<SpotPrice> {
  return parseAll('DayAheadPrices', records, (r) => spotRecord(r, 'TimeUTC', 'DayAheadPriceDKK', 'PT15M', version));
}

/** `Elspotprices` records (hourly history until 2025-09-30): `HourUTC`, `PriceArea`, `SpotPriceDKK` in DKK/MWh. */
export function parseElspotprices(records: readonly unknown[], version: PriceVersion): ParsedRecords<SpotPrice> {
  return parseAll('Elspotprices', records, (r) => spotRecord(r, 'HourUTC', 'SpotPriceDKK', 'PT1H', version));
}
