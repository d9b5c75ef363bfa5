import { compareLocalDates, isLocalDate } from '@dh/dk-time';
import type { EventStore, JsonObject } from '@dh/event-store';
import { parseGln } from '@dh/market-ids';
import { isDecimalString } from '@dh/money';
import { isPriceArea } from '@dh/rates-domain';
import { InvalidRatesCommandError } from './errors';
import {
  ELECTRICITY_TAX_RATE_SET,
  ELECTRICITY_TAX_STREAM_ID,
  GRID_AREA_MAPPED,
  gridAreaStreamId,
  PRODUCT_DEFINED,
  productStreamId,
  toEventData,
  type ElectricityTaxRateSet,
  type GridAreaMapped,
  type ProductDefined,
  type RatesCommandContext,
} from './events';
import { appendIfChanged, canonicalJson } from './versioned-append';

export interface ConfigurationResult {
  streamId: string;
  /** False when the same definition was already in force (nothing appended). */
  appended: boolean;
}

function record(payload: unknown): Record<string, unknown> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new InvalidRatesCommandError('(payload)', 'must be a JSON object');
  return payload as Record<string, unknown>;
}
function text(p: Record<string, unknown>, field: string, pattern?: RegExp): string {
  const v = p[field];
  if (typeof v !== 'string' || v.length === 0) throw new InvalidRatesCommandError(field, 'must be a non-empty string');
  if (pattern !== undefined && !pattern.test(v)) throw new InvalidRatesCommandError(field, `has an invalid format: ${JSON.stringify(v)}`);
  return v;
}
function decimal(p: Record<string, unknown>, field: string): string {
  const v = p[field];
  if (!isDecimalString(v)) throw new InvalidRatesCommandError(field, `must be a decimal string (e.g. "0.72"), got ${JSON.stringify(v)}`);
  return v;
}
function date(p: Record<string, unknown>, field: string): string {
  const v = p[field];
  if (!isLocalDate(v)) throw new InvalidRatesCommandError(field, `must be a date YYYY-MM-DD, got ${JSON.stringify(v)}`);
  return v;
}
function gln(p: Record<string, unknown>, field: string): string {
  const v = text(p, field);
  if (!parseGln(v).ok) throw new InvalidRatesCommandError(field, `is not a valid GLN: ${JSON.stringify(v)}`);
  return v;
}
const ID = /^[A-Za-z0-9][A-Za-z0-9:._-]*$/;

function same(a: JsonObject, b: JsonObject): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** Validates a `DefineProduct` payload. */
export function productDefinitionOf(payload: unknown): ProductDefined {
  const p = record(payload);
  const product: ProductDefined = {
    productId: text(p, 'productId', ID),
    name: text(p, 'name'),
    marginDkkPerKwh: decimal(p, 'marginDkkPerKwh'),
    monthlySubscriptionDkk: decimal(p, 'monthlySubscriptionDkk'),
    validFrom: date(p, 'validFrom'),
  };
  if (p['exportFeeDkkPerKwh'] !== undefined && p['exportFeeDkkPerKwh'] !== null) product.exportFeeDkkPerKwh = decimal(p, 'exportFeeDkkPerKwh');
  if (p['validTo'] !== undefined && p['validTo'] !== null) {
    const validTo = date(p, 'validTo');
    if (compareLocalDates(validTo, product.validFrom) <= 0) throw new InvalidRatesCommandError('validTo', `(${validTo}) must be after validFrom (${product.validFrom})`);
    product.validTo = validTo;
  }
  if (p['billingFrequencies'] !== undefined && p['billingFrequencies'] !== null) {
    const f = p['billingFrequencies'];
    if (!Array.isArray(f) || f.length === 0 || !f.every((x) => x === 'monthly' || x === 'quarterly') || new Set(f).size !== f.length) {
      throw new InvalidRatesCommandError('billingFrequencies', `must be a non-empty list of "monthly" and/or "quarterly", got ${JSON.stringify(f)}`);
    }
    product.billingFrequencies = [...(f as ('monthly' | 'quarterly')[])].sort();
  }
  return product;
}

/**
 * Our product's prices from `validFrom` (stream `product-<productId>`), every change a new event (version =
 * its position in the stream). The same definition as the one in force for that `validFrom` appends nothing;
 * going back to an earlier price is a change like any other.
 */
export async function defineProduct(deps: { store: EventStore }, payload: unknown, context: RatesCommandContext): Promise<ConfigurationResult> {
  const data = toEventData(productDefinitionOf(payload));
  const streamId = productStreamId(String(data['productId']));
  const r = await appendIfChanged(
    deps.store,
    streamId,
    PRODUCT_DEFINED,
    (_latest, stream) => {
      const current = stream.filter((e) => e.type === PRODUCT_DEFINED && e.data['validFrom'] === data['validFrom']).pop();
      return current !== undefined && same(current.data, data) ? null : data;
    },
    context,
  );
  return { streamId, appended: r.appended };
}

/** Validates a `SetElectricityTaxRate` payload. */
export function electricityTaxRateOf(payload: unknown): ElectricityTaxRateSet {
  const p = record(payload);
  const validFrom = date(p, 'validFrom');
  const validTo = p['validTo'] === null || p['validTo'] === undefined ? null : date(p, 'validTo');
  if (validTo !== null && compareLocalDates(validTo, validFrom) <= 0) throw new InvalidRatesCommandError('validTo', `(${validTo}) must be after validFrom (${validFrom})`);
  return { validFrom, validTo, normalDkkPerKwh: decimal(p, 'normalDkkPerKwh'), reducedDkkPerKwh: decimal(p, 'reducedDkkPerKwh') };
}

/**
 * The electricity tax (elafgift) for [validFrom, validTo), normal and reduced (electric heating) rates, in
 * the one stream `electricity-tax-rates`. The latest event for a `validFrom` is in force; repeating it appends nothing.
 */
export async function setElectricityTaxRate(deps: { store: EventStore }, payload: unknown, context: RatesCommandContext): Promise<ConfigurationResult> {
  const data = toEventData(electricityTaxRateOf(payload));
  const r = await appendIfChanged(
    deps.store,
    ELECTRICITY_TAX_STREAM_ID,
    ELECTRICITY_TAX_RATE_SET,
    (_latest, stream) => {
      const current = stream.filter((e) => e.type === ELECTRICITY_TAX_RATE_SET && e.data['validFrom'] === data['validFrom']).pop();
      return current !== undefined && same(current.data, data) ? null : data;
    },
    context,
  );
  return { streamId: ELECTRICITY_TAX_STREAM_ID, appended: r.appended };
}

/** Validates a `MapGridArea` payload. */
export function gridAreaMappingOf(payload: unknown): GridAreaMapped {
  const p = record(payload);
  const priceArea = p['priceArea'];
  if (!isPriceArea(priceArea)) throw new InvalidRatesCommandError('priceArea', `must be DK1 or DK2, got ${JSON.stringify(priceArea)}`);
  return {
    gridArea: text(p, 'gridArea', /^\d{3}$/),
    priceArea,
    gridCompanyGln: gln(p, 'gridCompanyGln'),
    gridTariffChargeId: text(p, 'gridTariffChargeId'),
    gridSubscriptionChargeId: text(p, 'gridSubscriptionChargeId'),
  };
}

/** Grid area → price area, grid company and its tariff and subscription charges (stream `grid-area-<gridArea>`). */
export async function mapGridArea(deps: { store: EventStore }, payload: unknown, context: RatesCommandContext): Promise<ConfigurationResult> {
  const data = toEventData(gridAreaMappingOf(payload));
  const streamId = gridAreaStreamId(String(data['gridArea']));
  const r = await appendIfChanged(deps.store, streamId, GRID_AREA_MAPPED, (latest) => (latest !== null && same(latest, data) ? null : data), context);
  return { streamId, appended: r.appended };
}
