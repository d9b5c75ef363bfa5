import { addDays, compareLocalDates, localDayIntervals, localHourOf, type LocalDate, type Resolution } from '@dh/dk-time';
import { gsrnCheckDigit } from '@dh/market-ids';
import { parsePriceNanoDkkPerKwh } from '@dh/money';
import {
  createCharge,
  createPriceBook,
  createSpotPriceSeries,
  parseDayAheadPrices,
  parseElspotprices,
  type Charge,
  type ChargePriceRow,
  type ChargeResolution,
  type PriceArea,
  type PriceBook,
  type SpotPrice,
} from '@dh/rates-domain';
import type { QualityCode } from '@dh/cim';
import type { MeteredInterval, MeteredSeries, Product, SettlementInput } from '../settlement-input';

export const GSRN = `57131317411555001${gsrnCheckDigit('57131317411555001')}`;
export const PRODUCTION_GSRN = `57131317411555002${gsrnCheckDigit('57131317411555002')}`;
export const RADIUS_GLN = '5790000705689';
export const ENERGINET_GLN = '5790000432752';
export const GRID_AREA = '791';
export const PUBLISHED = new Date('2024-01-01T00:00:00Z');
export const AS_OF = new Date('2030-01-01T00:00:00Z');

export function row(prices: string | readonly string[], validFrom: LocalDate, validTo: LocalDate | null, opts: { resolution?: ChargeResolution; publishedAt?: Date; version?: number } = {}): ChargePriceRow {
  const list = typeof prices === 'string' ? [prices] : prices;
  return {
    validFrom,
    validTo,
    resolution: opts.resolution ?? (list.length === 24 ? 'PT1H' : 'P1D'),
    prices: list.map(parsePriceNanoDkkPerKwh),
    publishedAt: opts.publishedAt ?? PUBLISHED,
    version: opts.version ?? 1,
  };
}

export function charge(owner: string, chargeType: 'D01' | 'D02' | 'D03', code: string, description: string, rows: readonly ChargePriceRow[]): Charge {
  return createCharge({ owner, chargeType, code, description, rows });
}

/** 24 hourly prices: `peak` for local hours 17–21 (Price18..Price21), `other` otherwise. */
export function twoBandTariff(other: string, peak: string): string[] {
  return Array.from({ length: 24 }, (_, h) => (h >= 17 && h < 21 ? peak : other));
}

export const radiusTariff = (rows?: readonly ChargePriceRow[]): Charge =>
  charge(RADIUS_GLN, 'D03', 'DT_C_01', 'Nettarif C', rows ?? [row(twoBandTariff('0.325', '0.9751'), '2025-01-01', null)]);
export const radiusSubscription = (): Charge =>
  charge(RADIUS_GLN, 'D01', 'DA_C_F_01', 'Netabonnement', [row('36.773011', '2025-01-01', null, { resolution: 'P1M' })]);

/** Energinet and tax rates 2025–2027 (market-facts.md §1). */
export const systemTariff = (): Charge =>
  charge(ENERGINET_GLN, 'D03', '41000', 'Systemtarif', [row('0.074', '2025-01-01', '2026-01-01'), row('0.072', '2026-01-01', null)]);
export const transmissionTariff = (): Charge =>
  charge(ENERGINET_GLN, 'D03', '40000', 'Transmissions nettarif', [row('0.061', '2025-01-01', '2026-01-01'), row('0.043', '2026-01-01', null)]);
export const systemSubscription = (): Charge =>
  charge(ENERGINET_GLN, 'D01', '41004', 'Systemabonnement', [
    row('15.166666', '2025-01-01', '2026-01-01', { resolution: 'P1M' }),
    row('15.583333', '2026-01-01', null, { resolution: 'P1M' }),
  ]);
export const electricityTax = (): Charge =>
  charge(ENERGINET_GLN, 'D03', 'EA-001', 'Elafgift', [row('0.720', '2025-01-01', '2026-01-01'), row('0.008', '2026-01-01', '2028-01-01')]);
export const reducedElectricityTax = (): Charge =>
  charge(ENERGINET_GLN, 'D03', 'EA-001-R', 'Reduceret elafgift', [row('0.008', '2025-01-01', '2028-01-01')]);

export function product(opts: { margin?: string; subscription?: string; exportFee?: string } = {}): Product {
  return {
    name: 'Spot',
    margin: charge('product', 'D03', 'margin', 'Tillæg', [row(opts.margin ?? '0.05', '2025-01-01', null)]),
    subscription: charge('product', 'D01', 'subscription', 'Abonnement', [row(opts.subscription ?? '39.00', '2025-01-01', null, { resolution: 'P1M' })]),
    exportFee: charge('product', 'D03', 'export-fee', 'Gebyr for køb af overskudsproduktion', [row(opts.exportFee ?? '0.02', '2025-01-01', null)]),
  };
}

function localDays(from: LocalDate, toExclusive: LocalDate): LocalDate[] {
  const out: LocalDate[] = [];
  for (let d = from; compareLocalDates(d, toExclusive) < 0; d = addDays(d, 1)) out.push(d);
  return out;
}

const naiveUtc = (t: Date): string => t.toISOString().slice(0, 19);

/** Hourly spot prices as `Elspotprices` records (DKK/MWh strings) through the parser. */
export function hourlySpot(area: PriceArea, from: LocalDate, toExclusive: LocalDate, dkkPerMwh: (hourStart: Date) => string): SpotPrice[] {
  const records = localDays(from, toExclusive).flatMap((d) =>
    localDayIntervals(d, 'PT1H').map((t) => ({ HourUTC: naiveUtc(t), HourDK: 'ignored', PriceArea: area, SpotPriceDKK: dkkPerMwh(t) })),
  );
  const parsed = parseElspotprices(records, { publishedAt: PUBLISHED, version: 1 });
  if (!parsed.ok) throw parsed.errors[0];
  return parsed.value;
}

/** Quarter-hour spot prices as `DayAheadPrices` records through the parser. */
export function quarterSpot(area: PriceArea, from: LocalDate, toExclusive: LocalDate, dkkPerMwh: (quarterStart: Date) => string): SpotPrice[] {
  const records = localDays(from, toExclusive).flatMap((d) =>
    localDayIntervals(d, 'PT15M').map((t) => ({ TimeUTC: naiveUtc(t), TimeDK: 'ignored', PriceArea: area, DayAheadPriceEUR: '1', DayAheadPriceDKK: dkkPerMwh(t) })),
  );
  const parsed = parseDayAheadPrices(records, { publishedAt: PUBLISHED, version: 1 });
  if (!parsed.ok) throw parsed.errors[0];
  return parsed.value;
}

export function priceBook(spot: readonly SpotPrice[], opts: { gridTariff?: Charge; priceArea?: PriceArea } = {}): PriceBook {
  const area = opts.priceArea ?? 'DK2';
  const grid = opts.gridTariff ?? radiusTariff();
  const sub = radiusSubscription();
  const nat = [systemTariff(), transmissionTariff(), systemSubscription(), electricityTax(), reducedElectricityTax()];
  return createPriceBook({
    spot: [createSpotPriceSeries(area, spot)],
    charges: [grid, sub, ...nat],
    configuration: {
      gridAreas: [{ gridArea: GRID_AREA, priceArea: area, gridCompanyGln: RADIUS_GLN, gridTariffChargeId: grid.chargeId, gridSubscriptionChargeId: sub.chargeId }],
      national: {
        systemTariffChargeId: nat[0]!.chargeId,
        transmissionTariffChargeId: nat[1]!.chargeId,
        systemSubscriptionChargeId: nat[2]!.chargeId,
        electricityTaxChargeId: nat[3]!.chargeId,
        reducedElectricityTaxChargeId: nat[4]!.chargeId,
      },
      electricHeatingThresholdKwh: '4000',
    },
  });
}

/** A metered series over local days with a quantity (and optional quality) per interval start. */
export function meteredSeries(
  gsrn: string,
  resolution: Resolution,
  from: LocalDate,
  toExclusive: LocalDate,
  kwh: (start: Date) => string,
  quality: (start: Date) => QualityCode | undefined = () => undefined,
): MeteredSeries {
  const intervals: MeteredInterval[] = localDays(from, toExclusive).flatMap((d) =>
    localDayIntervals(d, resolution).map((start) => {
      const q = quality(start);
      return q === undefined ? { start, quantityKwh: kwh(start) } : { start, quantityKwh: kwh(start), quality: q };
    }),
  );
  return { gsrn, resolution, intervals };
}

export const localHour = localHourOf;

export function settlementInput(over: Partial<SettlementInput> & Pick<SettlementInput, 'consumption' | 'prices' | 'billingPeriod' | 'supplyPeriods'>): SettlementInput {
  return {
    meteringPoint: { gsrn: GSRN, gridArea: GRID_AREA, priceArea: 'DK2', electricHeating: false },
    product: product(),
    yearToDateConsumptionKwh: '0',
    asOf: AS_OF,
    ...over,
  };
}
