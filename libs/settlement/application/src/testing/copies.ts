import { addDays, compareLocalDates, localDayIntervals, localDayStart, type LocalDate } from '@dh/dk-time';
import { gsrnCheckDigit } from '@dh/market-ids';
import type { ChargeRecord, MeteredDayRecord, SettlementCopies, SupplyRecord } from '../settlement-input';
import { ENERGINET_GLN } from '../settlement-input';

/** Test copies of one metering point in grid area 791 (DK2, Radius): flat prices of at most 2 decimals, checkable by hand. */
export const TEST_GSRN = `57131317400000001${gsrnCheckDigit('57131317400000001')}`;
export const RADIUS_GLN = '5790000705689';
export const GRID_TARIFF_C = `${RADIUS_GLN}:D03:DT_C_01`;
export const GRID_SUBSCRIPTION_C = `${RADIUS_GLN}:D01:DA_C_F_01`;
const PUBLISHED = new Date('2024-06-01T00:00:00Z');

export function localDays(from: LocalDate, toExclusive: LocalDate): LocalDate[] {
  const out: LocalDate[] = [];
  for (let d = from; compareLocalDates(d, toExclusive) < 0; d = addDays(d, 1)) out.push(d);
  return out;
}

export function testSupply(over: Partial<SupplyRecord> = {}): SupplyRecord {
  return {
    gsrn: TEST_GSRN,
    customerId: 'customer-a',
    startDate: '2025-01-01',
    endDate: null,
    productId: 'spot',
    electricHeating: false,
    gridArea: '791',
    productionGsrn: null,
    billingFrequency: 'monthly',
    paymentModel: 'actual',
    reversed: false,
    ...over,
  };
}

/** A charge with one open-ended row from `validFrom`. */
export function testCharge(chargeId: string, resolution: ChargeRecord['rows'][number]['resolution'], prices: string[], validFrom: LocalDate = '2024-01-01', validTo: LocalDate | null = null): ChargeRecord {
  const [owner, chargeType, code] = chargeId.split(':') as [string, ChargeRecord['chargeType'], string];
  return { chargeId, owner, chargeType, code, description: code, rows: [{ validFrom, validTo, resolution, prices, version: 1, publishedAt: PUBLISHED }] };
}

/** Hourly metered days of a GSRN, every hour the same quantity (or from `kwh(hour index in the day)`). */
export function hourlyDays(gsrn: string, from: LocalDate, toExclusive: LocalDate, kwh: string | ((day: LocalDate, hour: number) => string)): MeteredDayRecord[] {
  return localDays(from, toExclusive).map((day) => ({
    gsrn,
    day,
    version: 1,
    resolution: 'PT1H',
    start: localDayStart(day),
    points: localDayIntervals(day, 'PT1H').map((_, i) => ({ position: i + 1, quantityKwh: typeof kwh === 'string' ? kwh : kwh(day, i), quality: 'A04' })),
  }));
}

/**
 * Copies priced for `[from, toExclusive)`: spot 1.00 DKK/kWh every hour, grid tariff C 0.30, system
 * 0.07, transmission 0.04, grid subscription 30.00, system subscription 15.00, product `spot`
 * (margin 0.05, subscription 39.00), electricity tax 0.720 / reduced 0.008 from 2024.
 */
export function testCopies(from: LocalDate, toExclusive: LocalDate, over: Partial<SettlementCopies> = {}): SettlementCopies {
  return {
    supplies: [testSupply()],
    products: [{ productId: 'spot', name: 'Spot', marginDkkPerKwh: '0.05', monthlySubscriptionDkk: '39.00', exportFeeDkkPerKwh: null, validFrom: '2024-01-01', publishedAt: PUBLISHED }],
    taxRates: [{ validFrom: '2024-01-01', validTo: null, normalDkkPerKwh: '0.720', reducedDkkPerKwh: '0.008', publishedAt: PUBLISHED, version: 1 }],
    gridAreas: [{ gridArea: '791', priceArea: 'DK2', gridCompanyGln: RADIUS_GLN, gridTariffChargeId: GRID_TARIFF_C, gridSubscriptionChargeId: GRID_SUBSCRIPTION_C }],
    charges: [
      testCharge(GRID_TARIFF_C, 'PT1H', Array.from({ length: 24 }, () => '0.30')),
      testCharge(GRID_SUBSCRIPTION_C, 'P1M', ['30.00']),
      testCharge(`${ENERGINET_GLN}:D03:41000`, 'P1D', ['0.07']),
      testCharge(`${ENERGINET_GLN}:D03:40000`, 'P1D', ['0.04']),
      testCharge(`${ENERGINET_GLN}:D01:41004`, 'P1M', ['15.00']),
    ],
    spotPrices: localDays(from, toExclusive).flatMap((day) =>
      localDayIntervals(day, 'PT1H').map((start) => ({ priceArea: 'DK2', start, resolution: 'PT1H' as const, dkkPerKwh: '1.00', version: 1, publishedAt: PUBLISHED })),
    ),
    consumption: [],
    production: [],
    ...over,
  };
}
