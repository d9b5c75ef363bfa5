import { localDateOf, localDayEnd, localDayStart, localHourOf, utcOffsetMinutes, type LocalDate } from '@dh/dk-time';
import { formatScaled, toScaled } from '@dh/money';
import { hashString, mulberry32 } from './prng';
import { RawNumber, type EdsRecord } from './raw-json';
import type { ScenarioCharge, SimPriceArea } from './scenario';

export type SpotDataset = 'DayAheadPrices' | 'Elspotprices';
export type EdsDataset = SpotDataset | 'DatahubPricelist';
export const DATASETS: readonly EdsDataset[] = ['DayAheadPrices', 'Elspotprices', 'DatahubPricelist'];

/** First delivery day of 15-minute day-ahead prices; `Elspotprices` (hourly) ends the day before. */
export const FIRST_QUARTER_HOUR_DAY: LocalDate = '2025-10-01';
const QUARTER_START_MS = localDayStart(FIRST_QUARTER_HOUR_DAY).getTime();
const QUARTER_MS = 15 * 60_000;
const HOUR_MS = 60 * 60_000;
/** Simulated EUR rate: DKK per EUR × 10 000. */
const DKK_PER_EUR_E4 = 74_604n;

/** DKK/MWh by local hour: night low, evening peak. */
const HOUR_SHAPE = [450, 420, 400, 390, 400, 450, 600, 800, 850, 750, 650, 600, 550, 520, 540, 600, 750, 1000, 1150, 1050, 850, 700, 600, 500];

/** Micro-units (10^-6) as the shortest decimal text: `702677760n` → `"702.67776"`. */
export function microText(units: bigint): string {
  const s = formatScaled(units, 6).replace(/0+$/, '').replace(/\.$/, '');
  return s === '-0' ? '0' : s;
}

export function eurOfDkkMicro(dkkMicro: bigint): bigint {
  return (dkkMicro * 10_000n) / DKK_PER_EUR_E4;
}

/**
 * The generated DKK/MWh price (micro-units) of one interval: deterministic in (seed, dataset, area,
 * instant), 2 to 6 decimals, negative roughly once in 23 intervals.
 */
export function generatedSpotMicro(seed: number, dataset: SpotDataset, area: SimPriceArea, ms: number): bigint {
  const rng = mulberry32(hashString(`${seed}|${dataset}|${area}|${ms}`));
  const u1 = rng.next();
  const u2 = rng.next();
  const u3 = rng.next();
  let micro = BigInt(HOUR_SHAPE[localHourOf(new Date(ms))]!) * 1_000_000n + BigInt(u1 % 600_000_001) - 300_000_000n;
  if (u2 % 23 === 0) micro = -BigInt(u1 % 150_000_000) - 1n;
  const decimals = 2 + (u3 % 5);
  const q = 10n ** BigInt(6 - decimals);
  return micro - (micro % q);
}

/** Naive `YYYY-MM-DDTHH:mm:ss` of an instant in UTC, or in Danish local time. */
export function naiveUtc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}
export function naiveLocal(ms: number): string {
  return new Date(ms + utcOffsetMinutes(new Date(ms)) * 60_000).toISOString().slice(0, 19);
}

export interface SpotOverride {
  dkk: string;
  eur?: string;
}

/** The instants [fromMs, toMs) of a spot dataset, limited to its history and the published horizon. */
export function spotInstants(dataset: SpotDataset, fromMs: number, toMs: number, publishedThrough: LocalDate | undefined): number[] {
  const step = dataset === 'DayAheadPrices' ? QUARTER_MS : HOUR_MS;
  let lo = Math.ceil(fromMs / step) * step;
  let hi = toMs;
  if (dataset === 'DayAheadPrices') lo = Math.max(lo, QUARTER_START_MS);
  else hi = Math.min(hi, QUARTER_START_MS);
  if (publishedThrough !== undefined) hi = Math.min(hi, localDayEnd(publishedThrough).getTime());
  const out: number[] = [];
  for (let t = lo; t < hi; t += step) out.push(t);
  return out;
}

export function spotRecord(dataset: SpotDataset, area: SimPriceArea, ms: number, seed: number, override: SpotOverride | undefined): EdsRecord {
  const dkkMicro = override !== undefined ? toScaled(override.dkk, 6) : generatedSpotMicro(seed, dataset, area, ms);
  const dkk = override !== undefined ? override.dkk : microText(dkkMicro);
  const eur = override?.eur ?? microText(eurOfDkkMicro(dkkMicro));
  return dataset === 'DayAheadPrices'
    ? { TimeUTC: naiveUtc(ms), TimeDK: naiveLocal(ms), PriceArea: area, DayAheadPriceEUR: new RawNumber(eur), DayAheadPriceDKK: new RawNumber(dkk) }
    : { HourUTC: naiveUtc(ms), HourDK: naiveLocal(ms), PriceArea: area, SpotPriceDKK: new RawNumber(dkk), SpotPriceEUR: new RawNumber(eur) };
}

/** The DatahubPricelist records of a charge (one per row), `ValidFrom`/`ValidTo` as naive local midnights. */
export function pricelistRecords(charge: ScenarioCharge): EdsRecord[] {
  return charge.rows.map((row) => {
    const rec: EdsRecord = {
      ChargeOwner: charge.chargeOwner,
      GLN_Number: charge.gln,
      ChargeType: charge.chargeType,
      ChargeTypeCode: charge.code,
      Note: charge.note,
      Description: charge.description ?? charge.note,
      ValidFrom: `${row.validFrom}T00:00:00`,
      ValidTo: row.validTo === null ? null : `${row.validTo}T00:00:00`,
      VATClass: charge.vatClass ?? 'D02',
    };
    for (let i = 1; i <= 24; i++) {
      const p = row.prices[i - 1];
      rec[`Price${i}`] = p === undefined ? null : new RawNumber(p);
    }
    rec['TransparentInvoicing'] = new RawNumber(charge.transparentInvoicing === true ? '1' : '0');
    rec['TaxIndicator'] = new RawNumber(charge.taxIndicator === true ? '1' : '0');
    rec['ResolutionDuration'] = row.resolution;
    return rec;
  });
}

/** Local date of an instant (re-exported for the server). */
export { localDateOf };
