import type { LocalDate } from '@dh/dk-time';
import { isValidGsrn } from '@dh/market-ids';
import { PrecisionLossError, DecimalParseError, parseQuantityMilliKwh } from '@dh/money';
import { MissingPriceError, ratesForGridArea, type Charge, type MeteringPointRates } from '@dh/rates-domain';
import { billingDates, type BillingDates } from './billing-period';
import type { Invoice } from './invoice';
import { feesDue, type FeeDue } from './fees';
import { indexMeteredSeries, type MeteredIndex } from './metered';
import { InvalidSettlementInput, MissingConfiguration, MissingMeteredData, type SettlementHalted } from './settlement-halted';
import type { LinkedFee, Product, SettlementInput, SupplyPeriod } from './settlement-input';
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
  /** The linked fees dated on a supplied day (`feesDue`). */
  readonly fees: readonly FeeDue[];
  readonly asOf: Date;
}

/** What every path validates, in one order, so the fast path and the reference halt alike. */
export interface PreparedPoint<S> {
  readonly gsrn: string;
  readonly billing: BillingDates;
  readonly supply: readonly SupplyPeriod[];
  readonly rates: MeteringPointRates;
  readonly exportFee: Charge | null;
  readonly consumption: S;
  readonly production: S | null;
  readonly electricHeating: PreparedSettlement['electricHeating'];
  readonly fees: readonly FeeDue[];
}

/** The series of a point in whatever form a path settles on (decimal strings indexed, or integer Wh arrays). */
export interface PointSeries<S> {
  readonly consumptionGsrn: string;
  consumption(): S;
  /** The given production series' GSRN, or undefined when none was given. */
  readonly productionGsrn: string | undefined;
  production(): S;
  /** No production series given for a point that has a production GSRN: every interval missing. */
  emptyProduction(gsrn: string): S;
  yearToDateMilliKwh(): bigint;
}

export interface PointToPrepare {
  readonly meteringPoint: SettlementInput['meteringPoint'];
  readonly supplyPeriods: SettlementInput['supplyPeriods'];
  readonly billingPeriod: SettlementInput['billingPeriod'];
  /** The billing period's dates when a caller has them already (prices resolved for the period). */
  readonly billing?: BillingDates;
  readonly product: Product;
  readonly asOf: Date;
  readonly fees?: readonly LinkedFee[];
}

export function preparePoint<S>(input: PointToPrepare, resolveRates: () => MeteringPointRates, series: PointSeries<S>): PreparedPoint<S> {
  const mp = input.meteringPoint;
  if (!isValidGsrn(mp.gsrn)) throw new InvalidSettlementInput(`metering point GSRN ${JSON.stringify(mp.gsrn)} is not a valid GSRN`);
  if (!(input.asOf instanceof Date) || !Number.isFinite(input.asOf.getTime())) throw new InvalidSettlementInput('asOf is not a valid instant');
  const billing = input.billing ?? billingDates(input.billingPeriod);
  const supply = checkedSupplyPeriods(input.supplyPeriods);
  const rates = resolveRates();
  if (rates.priceArea !== mp.priceArea) {
    throw new MissingConfiguration(`metering point is in ${mp.priceArea} but grid area ${mp.gridArea} is configured in ${rates.priceArea}`);
  }
  if (series.consumptionGsrn !== mp.gsrn) throw new InvalidSettlementInput(`consumption series is for ${series.consumptionGsrn}, not ${mp.gsrn}`);
  const consumption = series.consumption();
  let production: S | null = null;
  if (series.productionGsrn !== undefined || mp.productionGsrn !== undefined) {
    if (mp.productionGsrn === undefined) throw new InvalidSettlementInput('production series given but the metering point has no production GSRN');
    if (!isValidGsrn(mp.productionGsrn)) throw new InvalidSettlementInput(`production GSRN ${JSON.stringify(mp.productionGsrn)} is not a valid GSRN`);
    const gsrn = series.productionGsrn ?? mp.productionGsrn;
    if (gsrn !== mp.productionGsrn) throw new InvalidSettlementInput(`production series is for ${gsrn}, not ${mp.productionGsrn}`);
    production = series.productionGsrn === undefined ? series.emptyProduction(gsrn) : series.production();
    if (input.product.exportFee === undefined) throw new MissingConfiguration(`product ${input.product.name} has no export fee for a production metering point`);
  }
  let electricHeating: PreparedSettlement['electricHeating'] = null;
  if (mp.electricHeating) {
    const yearToDateMilliKwh = series.yearToDateMilliKwh();
    if (yearToDateMilliKwh < 0n) throw new InvalidSettlementInput('yearToDateConsumptionKwh is negative');
    electricHeating = {
      thresholdMilliKwh: electricHeatingThresholdMilliKwh(rates.electricHeatingThresholdKwh, supply, input.billingPeriod.year),
      yearToDateMilliKwh,
    };
  }
  // A fee is invoiced once, on the invoice whose supplied days hold its date.
  const fees = input.fees === undefined || input.fees.length === 0 ? [] : feesDue(input.fees, suppliedDays(supply, billing));
  return { gsrn: mp.gsrn, billing, supply, rates, exportFee: production === null ? null : (input.product.exportFee ?? null), consumption, production, electricHeating, fees };
}

/** The year-to-date consumption of an input as exact Wh (invalid input when it is not a ≤ 3-decimal kWh). */
export function yearToDateOf(input: SettlementInput): bigint {
  try {
    return parseQuantityMilliKwh(input.yearToDateConsumptionKwh);
  } catch (e) {
    if (e instanceof DecimalParseError || e instanceof PrecisionLossError) throw new InvalidSettlementInput(`yearToDateConsumptionKwh: ${e.message}`);
    throw e;
  }
}

export function ratesOf(input: SettlementInput): MeteringPointRates {
  const resolved = ratesForGridArea(input.prices, input.meteringPoint.gridArea);
  if (!resolved.ok) throw new MissingConfiguration(resolved.detail);
  return resolved.rates;
}

/** The reference engine's preparation: the series indexed by interval start with their decimal strings. */
export function prepareSettlement(input: SettlementInput): PreparedSettlement {
  const p = preparePoint(input, () => ratesOf(input), {
    consumptionGsrn: input.consumption.gsrn,
    consumption: () => indexMeteredSeries(input.consumption, 'consumption'),
    productionGsrn: input.production?.gsrn,
    production: () => indexMeteredSeries(input.production!, 'production'),
    emptyProduction: (gsrn) => indexMeteredSeries({ gsrn, resolution: input.consumption.resolution, intervals: [] }, 'production'),
    yearToDateMilliKwh: () => yearToDateOf(input),
  });
  return { ...p, days: suppliedDays(p.supply, p.billing), product: input.product, asOf: input.asOf };
}

/** The typed halt of a settlement's stop (missing data or price, configuration, invalid input); null for any other error (a bug). */
export function haltOf(gsrn: string, e: unknown): SettlementHalted | null {
  if (e instanceof MissingMeteredData) return { outcome: 'halted', reason: 'missing-metered-data', gsrn, seriesGsrn: e.seriesGsrn, interval: e.interval };
  if (e instanceof MissingPriceError) {
    return { outcome: 'halted', reason: 'missing-price', gsrn, priceArea: e.priceArea ?? null, chargeId: e.chargeId ?? null, interval: e.interval };
  }
  if (e instanceof MissingConfiguration) return { outcome: 'halted', reason: 'missing-configuration', gsrn, problem: e.message };
  if (e instanceof InvalidSettlementInput) return { outcome: 'halted', reason: 'invalid-input', gsrn, problem: e.message };
  return null;
}

/** Turns the stops of a settlement into a typed halt; other errors are bugs and propagate. */
export function settledOrHalted(gsrn: string, compute: () => Invoice): SettlementResult {
  try {
    return { outcome: 'settled', invoice: compute() };
  } catch (e) {
    const halt = haltOf(gsrn, e);
    if (halt === null) throw e;
    return halt;
  }
}

/** Runs a settlement computation on the prepared input and turns every stop into a typed halt. */
export function runSettlement(input: SettlementInput, compute: (p: PreparedSettlement) => Invoice): SettlementResult {
  return settledOrHalted(input.meteringPoint.gsrn, () => compute(prepareSettlement(input)));
}
