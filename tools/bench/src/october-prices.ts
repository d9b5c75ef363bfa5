import { addDays, localDayIntervals, type LocalDate } from '@dh/dk-time';
import type { JsonObject } from '@dh/event-store';

/**
 * The prices of October 2026 in grid area 791 (DK2) that the whole-run and correction benchmarks settle on: the grid
 * area's mapping, Radius's tariff (three hourly bands) and subscription, Energinet's two tariffs and subscription, the
 * electricity tax, the spot product and 31 days of hourly spot prices (300–1,199 DKK/MWh, reproducible).
 */
export const OCTOBER_FROM: LocalDate = '2026-10-01';
export const OCTOBER_TO: LocalDate = '2026-11-01';
export const RADIUS = '5790000705689';
export const ENERGINET = '5790000432752';
export const PRICES_PUBLISHED = '2026-09-01T00:00:00.000Z';

export interface PriceInput {
  streamId: string;
  type: string;
  data: JsonObject;
}

export const octoberDays = (): LocalDate[] => {
  const out: LocalDate[] = [];
  for (let d = OCTOBER_FROM; d < OCTOBER_TO; d = addDays(d, 1)) out.push(d);
  return out;
};

/** Everything but the spot prices, in the order the benchmarks record it (context `rates`). */
export function octoberPriceInputs(): PriceInput[] {
  const charge = (owner: string, chargeType: string, code: string, resolution: string, prices: string[]): PriceInput => ({
    streamId: `charge-${owner}:${chargeType}:${code}`,
    type: 'ChargePricesPublished',
    data: { chargeId: `${owner}:${chargeType}:${code}`, owner, gln: owner, chargeType, code, description: code, version: 1, publishedAt: PRICES_PUBLISHED, rows: [{ validFrom: '2026-01-01', validTo: null, resolution, prices }] },
  });
  return [
    { streamId: 'grid-area-791', type: 'GridAreaMapped', data: { gridArea: '791', priceArea: 'DK2', gridCompanyGln: RADIUS, gridTariffChargeId: `${RADIUS}:D03:DT_C_01`, gridSubscriptionChargeId: `${RADIUS}:D01:DA_C_F_01` } },
    charge(RADIUS, 'D03', 'DT_C_01', 'PT1H', Array.from({ length: 24 }, (_, h) => (h < 6 ? '0.1327' : h >= 17 && h < 21 ? '0.520875' : '0.265351'))),
    charge(RADIUS, 'D01', 'DA_C_F_01', 'P1M', ['36.773011']),
    charge(ENERGINET, 'D03', '41000', 'P1D', ['0.072']),
    charge(ENERGINET, 'D03', '40000', 'P1D', ['0.043']),
    charge(ENERGINET, 'D01', '41004', 'P1M', ['15.583333']),
    { streamId: 'electricity-tax', type: 'ElectricityTaxRateSet', data: { validFrom: '2026-01-01', validTo: null, normalDkkPerKwh: '0.008', reducedDkkPerKwh: '0.008' } },
    { streamId: 'product-spot', type: 'ProductDefined', data: { productId: 'spot', name: 'Spot', marginDkkPerKwh: '0.0495', monthlySubscriptionDkk: '39.00', validFrom: '2026-01-01' } },
  ];
}

/** A day's hourly DK2 spot prices (`shift` moves every hour's price: a republication with other prices). */
export function octoberSpotPrices(day: LocalDate, version: number, publishedAt: string, shift = 0): PriceInput {
  const d = octoberDays().indexOf(day);
  return {
    streamId: `spot-prices-DK2-${day}`,
    type: 'SpotPricesPublished',
    data: {
      priceArea: 'DK2',
      deliveryDate: day,
      resolution: 'PT1H',
      source: 'bench',
      version,
      publishedAt,
      prices: localDayIntervals(day, 'PT1H').map((h, i) => {
        const mwh = 300 + ((d * 37 + i * 53 + shift) % 900) + (i % 7) / 8;
        return { start: h.toISOString(), dkkPerMwh: mwh.toFixed(3), dkkPerKwh: (mwh / 1000).toFixed(6) };
      }),
    },
  };
}
