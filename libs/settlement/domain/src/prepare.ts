import type { LocalDate } from '@dh/dk-time';
import { isValidGsrn } from '@dh/market-ids';
import { PrecisionLossError, DecimalParseError, parseQuantityMilliKwh } from '@dh/money';
import { MissingPriceError, ratesForGridArea, type Charge, type MeteringPointRates } from '@dh/rates-domain';
import { billingDates, type BillingDates } from './billing-period';
import type { Invoice } from './invoice';
import { indexMeteredSeries, type MeteredIndex } from './metered';
import { InvalidSettlementInput, MissingConfiguration, MissingMeteredData, type SettlementHalted } from './settlement-halted';
import type { Product, SettlementInput, SupplyPeriod } from './settlement-input';
import { checkedSupplyPeriods, electricHeatingThresholdMilliKwh, suppliedDays } from './supply';

export type SettlementResult = { readonly outcome: 'settled'; readonly invoice: Invoice } | SettlementHalted;

/** Validated input, shared by the fast path and the reference implementation. */
export interface PreparedSettlement {
  readonly gsrn: string;
  readonly billing: BillingDates;
  readonly supply: readonly SupplyPeriod[];
  readonly days: readonly LocalDate[];
  readonly rates: MeteringPointRates;
  readonly product: Product;
  readonly exportFee: Charge | null;
  readonly consumption: MeteredIndex;
  readonly production: MeteredIndex | null;
  /** Present for electric heating: the year's (prorated) threshold and the consumption before the period, Wh. */
  readonly electricHeating: { readonly thresholdMilliKwh: bigint; readonly yearToDateMilliKwh: bigint } | null;
  readonly asOf: Date;
}

export function prepareSettlement(input: SettlementInput): PreparedSettlement {
  const mp = input.meteringPoint;
  if (!isValidGsrn(mp.gsrn)) throw new InvalidSettlementInput(`metering point GSRN ${JSON.stringify(mp.gsrn)} is not a valid GSRN`);
  if (!(input.asOf instanceof Date) || !Number.isFinite(input.asOf.getTime())) throw new InvalidSettlementInput('asOf is not a valid instant');
  const billing = billingDates(input.billingPeriod);
  const supply = checkedSupplyPeriods(input.supplyPeriods);
  const resolved = ratesForGridArea(input.prices, mp.gridArea);
  if (!resolved.ok) throw new MissingConfiguration(resolved.detail);
  if (resolved.rates.priceArea !== mp.priceArea) {
    throw new MissingConfiguration(`metering point is in ${mp.priceArea} but grid area ${mp.gridArea} is configured in ${resolved.rates.priceArea}`);
  }
  if (input.consumption.gsrn !== mp.gsrn) throw new InvalidSettlementInput(`consumption series is for ${input.consumption.gsrn}, not ${mp.gsrn}`);
  const consumption = indexMeteredSeries(input.consumption, 'consumption');
  let production: MeteredIndex | null = null;
  if (input.production !== undefined || mp.productionGsrn !== undefined) {
    if (mp.productionGsrn === undefined) throw new InvalidSettlementInput('production series given but the metering point has no production GSRN');
    if (!isValidGsrn(mp.productionGsrn)) throw new InvalidSettlementInput(`production GSRN ${JSON.stringify(mp.productionGsrn)} is not a valid GSRN`);
    const series = input.production ?? { gsrn: mp.productionGsrn, resolution: input.consumption.resolution, intervals: [] };
    if (series.gsrn !== mp.productionGsrn) throw new InvalidSettlementInput(`production series is for ${series.gsrn}, not ${mp.productionGsrn}`);
    production = indexMeteredSeries(series, 'production');
    if (input.product.exportFee === undefined) throw new MissingConfiguration(`product ${input.product.name} has no export fee for a production metering point`);
  }
  let electricHeating: PreparedSettlement['electricHeating'] = null;
  if (mp.electricHeating) {
    let yearToDateMilliKwh: bigint;
    try {
      yearToDateMilliKwh = parseQuantityMilliKwh(input.yearToDateConsumptionKwh);
    } catch (e) {
      if (e instanceof DecimalParseError || e instanceof PrecisionLossError) throw new InvalidSettlementInput(`yearToDateConsumptionKwh: ${e.message}`);
      throw e;
    }
    if (yearToDateMilliKwh < 0n) throw new InvalidSettlementInput('yearToDateConsumptionKwh is negative');
    electricHeating = {
      thresholdMilliKwh: electricHeatingThresholdMilliKwh(resolved.rates.electricHeatingThresholdKwh, supply, input.billingPeriod.year),
      yearToDateMilliKwh,
    };
  }
  return {
    gsrn: mp.gsrn,
    billing,
    supply,
    days: suppliedDays(supply, billing),
    rates: resolved.rates,
    product: input.product,
    exportFee: production === null ? null : (input.product.exportFee ?? null),
    consumption,
    production,
    electricHeating,
    asOf: input.asOf,
  };
}

/** Runs a settlement computation and turns every stop into a typed halt; other errors are bugs and propagate. */
export function runSettlement(input: SettlementInput, compute: (p: PreparedSettlement) => Invoice): SettlementResult {
  const gsrn = input.meteringPoint.gsrn;
  try {
    return { outcome: 'settled', invoice: compute(prepareSettlement(input)) };
  } catch (e) {
    if (e instanceof MissingMeteredData) return { outcome: 'halted', reason: 'missing-metered-data', gsrn, seriesGsrn: e.seriesGsrn, interval: e.interval };
    if (e instanceof MissingPriceError) {
      return { outcome: 'halted', reason: 'missing-price', gsrn, priceArea: e.priceArea ?? null, chargeId: e.chargeId ?? null, interval: e.interval };
    }
    if (e instanceof MissingConfiguration) return { outcome: 'halted', reason: 'missing-configuration', gsrn, problem: e.message };
    if (e instanceof InvalidSettlementInput) return { outcome: 'halted', reason: 'invalid-input', gsrn, problem: e.message };
    throw e;
  }
}
