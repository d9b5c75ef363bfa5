import { addDays, localDayIntervals, tariffPriceIndex, type LocalDate } from '@dh/dk-time';
import { gsrnCheckDigit } from '@dh/market-ids';
import { PRICE_SCALE, formatScaled, parsePriceNanoDkkPerKwh } from '@dh/money';
import { createCharge, createPriceBook, createSpotPriceSeries, type Charge, type ChargePriceRow, type PriceBook, type SpotPrice } from '@dh/rates-domain';
import type { MeteredInterval, Product, SettlementInput } from '@dh/settlement-domain';

/**
 * The data of the settlement benchmark (issue 4): N consumption metering points × October 2026 in
 * PT15M (31 days, the 25-hour day 2026-10-25 included: 2,980 quarter-hours), quarter-hour spot
 * prices in DK2, a time-of-use grid tariff (24 hourly prices), Energinet's system and transmission
 * tariffs, the electricity tax and three monthly subscriptions. Everything is derived from integers
 * (Wh, nano-DKK/kWh) by a seeded generator, so the fast path, the big.js reference, the Float64Array
 * loop and the SQL query all see exactly the same numbers.
 */

export const PERIOD_FROM: LocalDate = '2026-10-01';
export const PERIOD_TO: LocalDate = '2026-11-01';
export const DAYS_IN_PERIOD = 31;
export const GRID_AREA = '791';
const GRID_GLN = '5790000705689';
const ENERGINET_GLN = '5790000432752';
const PUBLISHED = new Date('2026-09-01T00:00:00Z');
/** Settled as known at this instant (all prices published before). */
export const AS_OF = new Date('2026-11-05T00:00:00Z');

/** mulberry32: small, seeded, reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Quarter-hour starts of the period, in order (2,980 for October 2026). */
export function periodQuarters(): Date[] {
  const out: Date[] = [];
  for (let d = PERIOD_FROM; d < PERIOD_TO; d = addDays(d, 1)) out.push(...localDayIntervals(d, 'PT15M'));
  return out;
}

/** Prices as decimal strings (DKK/kWh, or DKK/month for subscriptions): the one source for every side. */
export const TARIFFS = {
  margin: '0.0495',
  /** Time-of-use grid tariff by local hour (Price1..Price24): low 00–06, high 06–17 and 21–24, peak 17–21. */
  grid: Array.from({ length: 24 }, (_, h) => (h < 6 ? '0.1327' : h >= 17 && h < 21 ? '0.520875' : '0.265351')),
  system: '0.072',
  transmission: '0.043',
  tax: '0.008',
  reducedTax: '0.008',
} as const;

export const SUBSCRIPTIONS = {
  'grid-subscription': '36.773011',
  'system-subscription': '15.583333',
  'product-subscription': '39.00',
} as const;

export type SubscriptionKind = keyof typeof SUBSCRIPTIONS;

/** The line keys of every invoice of the benchmark, in the order they are compared. */
export const LINE_KEYS = [
  'energy',
  'grid-tariff',
  'system-tariff',
  'transmission-tariff',
  'electricity-tax',
  'grid-subscription:2026-10',
  'system-subscription:2026-10',
  'product-subscription:2026-10',
] as const;

export interface SettlementBenchData {
  readonly points: number;
  readonly quarters: readonly Date[];
  /** 0-based tariff price index (Price1 = 0) of each quarter, from `tariffPriceIndex`. */
  readonly tariffHour: Uint8Array;
  /** Spot price of each quarter, nano-DKK/kWh. */
  readonly spotNano: readonly bigint[];
  /** Quantities in Wh, point-major: `wh[p * quarters.length + i]`. */
  readonly wh: Int32Array;
  readonly gsrns: readonly string[];
  readonly prices: PriceBook;
  readonly product: Product;
}

function gsrnOf(p: number): string {
  const body = `57131318${String(p).padStart(9, '0')}`;
  return `${body}${gsrnCheckDigit(body)}`;
}

export function createSettlementData(points: number): SettlementBenchData {
  const quarters = periodQuarters();
  const n = quarters.length;
  const tariffHour = Uint8Array.from(quarters, (q) => tariffPriceIndex(q) - 1);

  // Spot: a daily shape plus noise, some negative hours; DKK/MWh with 6 decimals = nano-DKK/kWh.
  const rs = prng(42);
  const spotNano = quarters.map((_, i) => {
    const h = tariffHour[i]!;
    const base = h < 6 ? 350_000_000 : h >= 17 && h < 21 ? 1_600_000_000 : 800_000_000;
    return BigInt(Math.floor(base + (rs() - 0.25) * 900_000_000));
  });

  // Quantities: households (0.02–0.6 kWh per quarter, evening peak) and every 20th a business (up to 9 kWh).
  const wh = new Int32Array(points * n);
  const rq = prng(7);
  for (let p = 0; p < points; p++) {
    const scale = p % 20 === 19 ? 15 : 1;
    for (let i = 0; i < n; i++) {
      const h = tariffHour[i]!;
      const shape = h >= 17 && h < 21 ? 2.5 : h < 6 ? 0.6 : 1;
      wh[p * n + i] = Math.floor((20 + rq() * 220) * shape * scale);
    }
  }

  const row = (prices: string | readonly string[], resolution: ChargePriceRow['resolution']): ChargePriceRow => ({
    validFrom: '2026-01-01',
    validTo: null,
    resolution,
    prices: (typeof prices === 'string' ? [prices] : prices).map(parsePriceNanoDkkPerKwh),
    publishedAt: PUBLISHED,
    version: 1,
  });
  const charge = (owner: string, chargeType: 'D01' | 'D03', code: string, description: string, r: ChargePriceRow): Charge =>
    createCharge({ owner, chargeType, code, description, rows: [r] });

  const gridTariff = charge(GRID_GLN, 'D03', 'DT_C_01', 'Nettarif C time', row(TARIFFS.grid, 'PT1H'));
  const gridSubscription = charge(GRID_GLN, 'D01', 'DA_C_F_01', 'Netabonnement', row(SUBSCRIPTIONS['grid-subscription'], 'P1M'));
  const national = [
    charge(ENERGINET_GLN, 'D03', '41000', 'Systemtarif', row(TARIFFS.system, 'P1D')),
    charge(ENERGINET_GLN, 'D03', '40000', 'Transmissions nettarif', row(TARIFFS.transmission, 'P1D')),
    charge(ENERGINET_GLN, 'D01', '41004', 'Systemabonnement', row(SUBSCRIPTIONS['system-subscription'], 'P1M')),
    charge(ENERGINET_GLN, 'D03', 'EA-001', 'Elafgift', row(TARIFFS.tax, 'P1D')),
    charge(ENERGINET_GLN, 'D03', 'EA-001-R', 'Reduceret elafgift', row(TARIFFS.reducedTax, 'P1D')),
  ] as const;
  const spot: SpotPrice[] = quarters.map((start, i) => ({ priceArea: 'DK2', start, resolution: 'PT15M', nanoDkkPerKwh: spotNano[i]!, publishedAt: PUBLISHED, version: 1 }));
  const prices = createPriceBook({
    spot: [createSpotPriceSeries('DK2', spot)],
    charges: [gridTariff, gridSubscription, ...national],
    configuration: {
      gridAreas: [{ gridArea: GRID_AREA, priceArea: 'DK2', gridCompanyGln: GRID_GLN, gridTariffChargeId: gridTariff.chargeId, gridSubscriptionChargeId: gridSubscription.chargeId }],
      national: {
        systemTariffChargeId: national[0].chargeId,
        transmissionTariffChargeId: national[1].chargeId,
        systemSubscriptionChargeId: national[2].chargeId,
        electricityTaxChargeId: national[3].chargeId,
        reducedElectricityTaxChargeId: national[4].chargeId,
      },
      electricHeatingThresholdKwh: '4000',
    },
  });
  const product: Product = {
    name: 'Spot',
    margin: charge('product', 'D03', 'margin', 'Tillæg', row(TARIFFS.margin, 'P1D')),
    subscription: charge('product', 'D01', 'subscription', 'Abonnement', row(SUBSCRIPTIONS['product-subscription'], 'P1M')),
  };
  return { points, quarters, tariffHour, spotNano, wh, gsrns: Array.from({ length: points }, (_, p) => gsrnOf(p)), prices, product };
}

/** `"0.123"` for 123 Wh; cached, since quantities repeat. */
const kwhStrings: string[] = [];
export function kwhOf(wh: number): string {
  let s = kwhStrings[wh];
  if (s === undefined) kwhStrings[wh] = s = `${Math.floor(wh / 1000)}.${String(wh % 1000).padStart(3, '0')}`;
  return s;
}

/** The settlement input of point `p`: a metered series as RSM-012 delivers it (decimal strings). */
export function settlementInputOf(data: SettlementBenchData, p: number): SettlementInput {
  const n = data.quarters.length;
  const intervals: MeteredInterval[] = new Array<MeteredInterval>(n);
  for (let i = 0; i < n; i++) intervals[i] = { start: data.quarters[i]!, quantityKwh: kwhOf(data.wh[p * n + i]!) };
  const gsrn = data.gsrns[p]!;
  return {
    meteringPoint: { gsrn, gridArea: GRID_AREA, priceArea: 'DK2', electricHeating: false },
    supplyPeriods: [{ start: '2026-01-01', endExclusive: null }],
    billingPeriod: { kind: 'month', year: 2026, month: 10 },
    consumption: { gsrn, resolution: 'PT15M', intervals },
    prices: data.prices,
    product: data.product,
    yearToDateConsumptionKwh: '0',
    asOf: AS_OF,
  };
}

/** A nano-DKK/kWh price as the decimal string the SQL tables hold. */
export function nanoToDecimal(nano: bigint): string {
  return formatScaled(nano, PRICE_SCALE);
}
