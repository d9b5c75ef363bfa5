import type { JsonObject, JsonValue } from '@dh/event-store';
import { isValidGsrn } from '@dh/market-ids';
import { ChargeDataError, chargeIdOfKey, isChargeType, validateChargeLink, validatePriceSeries, type ChargeType, type DataHubPriceResolution } from '@dh/rates-domain';
import type { ChargeDataSource, ChargeInformationRecorded, ChargeLinkData, ChargePricesRecorded } from '@dh/rates-domain';

/**
 * Reads the `datahub` context's `ChargeLinksReceived` / `PriceListReceived` (RSM-031/034 as
 * datahub-integration stored them) into rates' facts, refusing anything we could not price with:
 * a ChargeDataError names the field.
 */
const RESOLUTIONS: readonly DataHubPriceResolution[] = ['PT15M', 'PT1H', 'P1D', 'P1M'];

function text(data: JsonObject, field: string): string {
  const v = data[field];
  if (typeof v !== 'string' || v === '') throw new ChargeDataError(field, 'is missing');
  return v;
}

function optionalText(data: JsonObject, field: string): string | null {
  const v = data[field];
  return typeof v === 'string' && v !== '' ? v : null;
}

function instant(data: JsonObject, field: string, value: JsonValue | undefined = data[field]): string {
  const t = typeof value === 'string' ? new Date(value) : null;
  if (t === null || Number.isNaN(t.getTime())) throw new ChargeDataError(field, `${JSON.stringify(value ?? null)} is not an instant`);
  return t.toISOString();
}

function chargeType(value: JsonValue | undefined, field: string): ChargeType {
  if (!isChargeType(value)) throw new ChargeDataError(field, `${JSON.stringify(value ?? null)} is not D01, D02 or D03`);
  return value;
}

function resolution(value: JsonValue | undefined, field: string): DataHubPriceResolution {
  if (typeof value !== 'string' || !(RESOLUTIONS as readonly string[]).includes(value)) throw new ChargeDataError(field, `${JSON.stringify(value ?? null)} is not PT15M, PT1H, P1D or P1M`);
  return value as DataHubPriceResolution;
}

function objects(value: JsonValue | undefined, field: string): JsonObject[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v))) throw new ChargeDataError(field, 'must be a list of objects');
  return value as JsonObject[];
}

export function sourceOf(data: JsonObject): ChargeDataSource {
  return { documentId: text(data, 'documentId'), recordId: optionalText(data, 'recordId') ?? '', receivedAt: instant(data, 'receivedAt'), processType: optionalText(data, 'processType') };
}

/** `ChargeLinksReceived` → the metering point and its links, validated. */
export function chargeLinksOf(data: JsonObject): { gsrn: string; links: ChargeLinkData[] } {
  const gsrn = text(data, 'gsrn');
  if (!isValidGsrn(gsrn)) throw new ChargeDataError('gsrn', `${gsrn} is not a GSRN (18 digits, GS1 check digit)`);
  const links = objects(data['links'], 'links').map((l, i): ChargeLinkData => {
    const type = chargeType(l['chargeType'], `links[${i}].chargeType`);
    const key = { owner: text(l, 'ownerGln'), chargeType: type, code: text(l, 'chargeCode') };
    const link = {
      ...key,
      chargeId: chargeIdOfKey(key),
      factor: text(l, 'factor'),
      from: instant(l, `links[${i}].effectiveDate`, l['effectiveDate']),
      to: l['terminationDate'] === null || l['terminationDate'] === undefined ? null : instant(l, `links[${i}].terminationDate`, l['terminationDate']),
    };
    validateChargeLink(link, `links[${i}]`);
    return link;
  });
  if (links.length === 0) throw new ChargeDataError('links', 'is empty');
  return { gsrn, links };
}

/** `PriceListReceived` → the charge's master data (when DataHub sent it) and its prices (when it sent them). */
export function priceListOf(data: JsonObject): {
  chargeId: string;
  information: Omit<ChargeInformationRecorded, 'source'> | null;
  prices: Omit<ChargePricesRecorded, 'source'> | null;
} {
  const key = { owner: text(data, 'ownerGln'), chargeType: chargeType(data['chargeType'], 'chargeType'), code: text(data, 'chargeCode') };
  const chargeId = chargeIdOfKey(key);
  const rawPrices = data['prices'];
  let prices: Omit<ChargePricesRecorded, 'source'> | null = null;
  if (rawPrices !== null && rawPrices !== undefined) {
    if (typeof rawPrices !== 'object' || Array.isArray(rawPrices)) throw new ChargeDataError('prices', 'must be an object');
    const series = {
      resolution: resolution(rawPrices['resolution'], 'prices.resolution'),
      start: instant(rawPrices, 'prices.start', rawPrices['start']),
      end: instant(rawPrices, 'prices.end', rawPrices['end']),
      points: objects(rawPrices['points'], 'prices.points').map((p, i) => {
        if (typeof p['position'] !== 'number' || typeof p['price'] !== 'string') throw new ChargeDataError(`prices.points[${i}]`, 'needs a position and a price');
        return { position: p['position'], price: p['price'] };
      }),
    };
    validatePriceSeries(series);
    prices = { chargeId, ...key, ...series };
  }
  // Master data comes with business reason D18 (or D31 in a forced switch); a prices-only message (D08) carries no resolution.
  const priceResolution = data['priceResolution'];
  const vatPayer = data['vatPayer'];
  const information: Omit<ChargeInformationRecorded, 'source'> | null =
    priceResolution === null || priceResolution === undefined
      ? null
      : {
          chargeId,
          ...key,
          name: optionalText(data, 'name'),
          description: optionalText(data, 'description'),
          resolution: resolution(priceResolution, 'priceResolution'),
          taxIndicator: data['taxIndicator'] === true,
          vatPayer: vatPayer === 'D01' || vatPayer === 'D02' ? vatPayer : null,
          transparentInvoicing: data['transparentInvoicing'] === true,
          from: instant(data, 'effectiveDate'),
          to: data['terminationDate'] === null || data['terminationDate'] === undefined ? null : instant(data, 'terminationDate'),
        };
  if (information === null && prices === null) throw new ChargeDataError('prices', `neither master data nor prices for ${chargeId}`);
  return { chargeId, information, prices };
}
