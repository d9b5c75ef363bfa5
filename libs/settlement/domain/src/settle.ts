import { RESOLUTION_MS, type LocalDate, type Resolution } from '@dh/dk-time';
import { formatScaled, QUANTITY_SCALE } from '@dh/money';
import { MissingPriceError, chargeRowOn, rowPriceAt, spotPriceAt, toMeanScale, type Charge, type ChargePriceRow, type SpotPriceSeries } from '@dh/rates-domain';
import { invoiceOf, withVatMode, type Invoice, type LineDraft, type LineKind, type VatMode } from './invoice';
import { doubleBlockDays, settleOnPrices, type PointOnPrices } from './kernel/settle-on-prices';
import { INTERVAL_ESTIMATED, INTERVAL_MISSING, emptyQuantities, meteredQuantitiesOf, type MeteredQuantities } from './kernel/metered-quantities';
import { resolvePeriodPrices, type PeriodPrices } from './kernel/period-prices';
import { KwhLine, QuantityLine, SubscriptionLine } from './line-accumulators';
import { settlementIntervals, type MeteredIndex, type MeteredValue } from './metered';
import { preparePoint, settledOrHalted, yearToDateOf, type PointToPrepare, type PreparedSettlement, type SettlementResult } from './prepare';
import { suppliedDays } from './supply';
import { feeLineDraft } from './fees';
import { MissingConfiguration } from './settlement-halted';
import type { LinkedFee, MeteringPoint, SettlementInput, SupplyPeriod } from './settlement-input';

export interface SettleOptions {
  /**
   * `auto` (default): the fast kernel when its double blocks provably stay exact, else the exact
   * per-interval BigInt path. `exact-intervals` forces the latter (tests prove both equal the reference).
   */
  readonly path?: 'auto' | 'exact-intervals';
}

/**
 * Settles one metering point for one billing period. Returns the invoice, or a typed halt when
 * metered data or a price is missing: never a partial invoice. For many points of one period, resolve
 * the prices once with {@link resolvePeriodPrices} and use {@link settleMeteringPointOnPrices}.
 */
export function settleMeteringPoint(input: SettlementInput, options: SettleOptions = {}): SettlementResult {
  return settledOrHalted(input.meteringPoint.gsrn, () => {
    let prices: PeriodPrices | undefined;
    // Only the days the supply can touch: one point does not need the whole period resolved.
    const resolve = (): PeriodPrices => (prices ??= resolvePeriodPrices(input.prices, input.meteringPoint.gridArea, input.product, input.billingPeriod, input.asOf, supplySpan(input.supplyPeriods)));
    const point = preparePoint(input, () => resolve().rates, {
      consumptionGsrn: input.consumption.gsrn,
      consumption: () => meteredQuantitiesOf(input.consumption, 'consumption', resolve().startMs, resolve().endMs),
      productionGsrn: input.production?.gsrn,
      production: () => meteredQuantitiesOf(input.production!, 'production', resolve().startMs, resolve().endMs),
      emptyProduction: (gsrn) => emptyOn(resolve(), gsrn, input.consumption.resolution),
      yearToDateMilliKwh: () => yearToDateOf(input),
    });
    return withVatMode(settlePrepared(resolve(), { gsrn: point.gsrn, supply: point.supply, consumption: point.consumption, production: point.production, electricHeating: point.electricHeating, fees: point.fees }, options), input.vatMode);
  });
}

/** One metering point of a run, its series already integer Wh on the grid of the period's prices. */
export interface MeteringPointOnPrices {
  readonly meteringPoint: MeteringPoint;
  readonly supplyPeriods: readonly SupplyPeriod[];
  readonly consumption: MeteredQuantities;
  /** Required when the metering point has a production GSRN (absent = every interval missing). */
  readonly production?: MeteredQuantities;
  /** Net import of the calendar year before the period (electric heating), Wh. */
  readonly yearToDateMilliKwh: bigint;
  /** How VAT is computed on the invoice; absent = `per-line` (see `VatMode`). */
  readonly vatMode?: VatMode;
  /** Fees DataHub links to the metering point (see `SettlementInput.fees`). Absent = none. */
  readonly fees?: readonly LinkedFee[];
}

/**
 * The run path: settles a metering point on prices resolved once for its period and set of charges
 * (same grid area, product and asOf). Same rules, checks, halts and invoice as {@link settleMeteringPoint}.
 */
export function settleMeteringPointOnPrices(prices: PeriodPrices, point: MeteringPointOnPrices, options: SettleOptions = {}): SettlementResult {
  const mp = point.meteringPoint;
  return settledOrHalted(mp.gsrn, () => {
    if (mp.gridArea !== prices.rates.gridArea) throw new MissingConfiguration(`prices are resolved for grid area ${prices.rates.gridArea}, not ${mp.gridArea}`);
    const onGrid = (q: MeteredQuantities): MeteredQuantities => {
      const step = RESOLUTION_MS[q.resolution];
      if (q.startMs !== prices.startMs || q.wh.length !== (prices.endMs - prices.startMs) / step) {
        throw new Error(`metered quantities of ${q.gsrn} are not laid out on the grid of ${prices.billing.from}–${prices.billing.toExclusive}`);
      }
      return q;
    };
    const input: PointToPrepare = {
      meteringPoint: mp,
      supplyPeriods: point.supplyPeriods,
      billingPeriod: prices.period,
      billing: prices.billing,
      product: prices.product,
      asOf: prices.asOf,
      ...(point.fees !== undefined ? { fees: point.fees } : {}),
    };
    const prepared = preparePoint(input, () => prices.rates, {
      consumptionGsrn: point.consumption.gsrn,
      consumption: () => onGrid(point.consumption),
      productionGsrn: point.production?.gsrn,
      production: () => onGrid(point.production!),
      emptyProduction: (gsrn) => emptyOn(prices, gsrn, point.consumption.resolution),
      yearToDateMilliKwh: () => point.yearToDateMilliKwh,
    });
    return withVatMode(
      settlePrepared(prices, { gsrn: prepared.gsrn, supply: prepared.supply, consumption: prepared.consumption, production: prepared.production, electricHeating: prepared.electricHeating, fees: prepared.fees }, options),
      point.vatMode,
    );
  });
}

/** First supplied day to the last (exclusive); an open end runs to the period's end. Called after the periods were checked. */
function supplySpan(periods: readonly SupplyPeriod[]): { from: LocalDate; toExclusive: LocalDate } {
  if (periods.length === 0) return { from: '9999-12-31', toExclusive: '9999-12-31' };
  const from = periods.map((p) => p.start).reduce((a, b) => (a < b ? a : b));
  const toExclusive = periods.some((p) => p.endExclusive === null) ? '9999-12-31' : periods.map((p) => p.endExclusive!).reduce((a, b) => (a > b ? a : b));
  return { from, toExclusive };
}

function emptyOn(p: PeriodPrices, gsrn: string, resolution: MeteredQuantities['resolution']): MeteredQuantities {
  return emptyQuantities(gsrn, resolution, p.startMs, (p.endMs - p.startMs) / RESOLUTION_MS[resolution]);
}

function settlePrepared(prices: PeriodPrices, point: PointOnPrices, options: SettleOptions): Invoice {
  const blockDays = (options.path ?? 'auto') === 'auto' ? doubleBlockDays(prices, point) : 0;
  if (blockDays >= 1) return settleOnPrices(prices, point, blockDays);
  return settleExactIntervals({
    gsrn: point.gsrn,
    billing: prices.billing,
    supply: point.supply,
    days: suppliedDays(point.supply, prices.billing),
    rates: prices.rates,
    product: prices.product,
    exportFee: point.production === null ? null : (prices.product.exportFee ?? null),
    consumption: indexOfQuantities(point.consumption),
    production: point.production === null ? null : indexOfQuantities(point.production),
    electricHeating: point.electricHeating,
    fees: point.fees ?? [],
    asOf: prices.asOf,
  });
}

/** The interval index the exact per-interval path reads, from integer Wh. */
function indexOfQuantities(q: MeteredQuantities): MeteredIndex {
  const step = RESOLUTION_MS[q.resolution];
  const byStart = new Map<number, MeteredValue>();
  for (let i = 0; i < q.wh.length; i++) {
    if (q.state[i] === INTERVAL_MISSING) continue;
    const milliKwh = BigInt(q.wh[i]!);
    byStart.set(q.startMs + i * step, { milliKwh, kwh: formatScaled(milliKwh, QUANTITY_SCALE), estimated: q.state[i] === INTERVAL_ESTIMATED });
  }
  return { gsrn: q.gsrn, resolution: q.resolution, byStart };
}

/** The interval's spot price at scale 11; an hour without one names its first quarter without a price. */
function intervalSpot(series: SpotPriceSeries, at: Date, resolution: Resolution, asOf: Date): bigint {
  try {
    return toMeanScale(spotPriceAt(series, at, { resolution, asOf }));
  } catch (e) {
    if (!(e instanceof MissingPriceError) || resolution !== 'PT1H') throw e;
    for (let k = 0; k < 4; k++) spotPriceAt(series, new Date(at.getTime() + k * RESOLUTION_MS.PT15M), { resolution: 'PT15M', asOf });
    throw e;
  }
}

function subscriptionRow(charge: Charge, day: LocalDate, asOf: Date): ChargePriceRow {
  const row = chargeRowOn(charge, day, asOf);
  if (row.resolution !== 'P1M') throw new MissingConfiguration(`charge ${charge.chargeId} is used as a subscription but its price on ${day} is ${row.resolution}, not P1M`);
  return row;
}

export const SUBSCRIPTION_KINDS: readonly LineKind[] = ['grid-subscription', 'system-subscription', 'product-subscription'];

export function subscriptionCharges(p: PreparedSettlement): readonly [LineKind, Charge][] {
  return [
    ['grid-subscription', p.rates.gridSubscription],
    ['system-subscription', p.rates.systemSubscription],
    ['product-subscription', p.product.subscription],
  ];
}

/**
 * The exact per-interval path: BigInt per interval, per-interval price look-ups. Used when a point's
 * quantities and prices are too large for the kernel's checked double blocks.
 */
function settleExactIntervals(p: PreparedSettlement): Invoice {
  const r = p.rates;
  const asOf = p.asOf;
  const energy = new KwhLine('energy', `${p.product.name}: spot price + margin`, p.product.margin.chargeId);
  const gridTariff = new KwhLine('grid-tariff', r.gridTariff.description, r.gridTariff.chargeId);
  const systemTariff = new KwhLine('system-tariff', r.systemTariff.description, r.systemTariff.chargeId);
  const transmissionTariff = new KwhLine('transmission-tariff', r.transmissionTariff.description, r.transmissionTariff.chargeId);
  const tax = new KwhLine('electricity-tax', r.electricityTax.description, r.electricityTax.chargeId);
  const reducedTax = new KwhLine('electricity-tax-reduced', r.reducedElectricityTax.description, r.reducedElectricityTax.chargeId);
  const production = new QuantityLine('production', 'Own production (hourly netting)');
  const exportEnergy = new KwhLine('export-energy', 'Net export bought at the spot price', null, -1n);
  const exportFee = new KwhLine('export-fee', p.exportFee?.description ?? '', p.exportFee?.chargeId ?? null);
  const subscriptions = new Map<string, SubscriptionLine>();
  const eh = p.electricHeating;
  let cumulative = eh?.yearToDateMilliKwh ?? 0n;

  for (const day of p.days) {
    const month = p.billing.months.find((m) => m.label === day.slice(0, 7))!;
    for (const [kind, charge] of subscriptionCharges(p)) {
      const key = `${kind}:${month.label}`;
      let line = subscriptions.get(key);
      if (line === undefined) subscriptions.set(key, (line = new SubscriptionLine(kind, charge.description, charge.chargeId, month.label, month.days)));
      line.addDay(subscriptionRow(charge, day, asOf).prices[0]!);
    }
    const margin = chargeRowOn(p.product.margin, day, asOf);
    const grid = chargeRowOn(r.gridTariff, day, asOf);
    const system = chargeRowOn(r.systemTariff, day, asOf);
    const transmission = chargeRowOn(r.transmissionTariff, day, asOf);
    const taxRow = chargeRowOn(r.electricityTax, day, asOf);
    const feeRow = p.exportFee === null ? null : chargeRowOn(p.exportFee, day, asOf);
    let reducedRow: ChargePriceRow | undefined;

    for (const iv of settlementIntervals(day, p.consumption, p.production)) {
      const at = iv.start;
      const spot = intervalSpot(r.spot, at, iv.resolution, asOf);
      let consumed = 0n;
      for (const v of iv.consumption) consumed += v.milliKwh;
      let imported = consumed;
      if (iv.production !== null) {
        // Hourly netting (domain.md "Special cases"): per hour, consumption − production.
        let produced = 0n;
        for (const v of iv.production) produced += v.milliKwh;
        production.add(produced, iv.estimated);
        imported = consumed > produced ? consumed - produced : 0n;
        const exported = produced > consumed ? produced - consumed : 0n;
        if (exported > 0n) {
          exportEnergy.add(exported, spot, iv.estimated);
          exportFee.add(exported, rowPriceAt(feeRow!, at) * 100n, iv.estimated);
        }
        if (imported === 0n) continue;
      }
      energy.add(imported, spot + rowPriceAt(margin, at) * 100n, iv.estimated);
      gridTariff.add(imported, rowPriceAt(grid, at) * 100n, iv.estimated);
      systemTariff.add(imported, rowPriceAt(system, at) * 100n, iv.estimated);
      transmissionTariff.add(imported, rowPriceAt(transmission, at) * 100n, iv.estimated);
      let normal = imported;
      if (eh !== null) {
        // Electric heating: the interval crossing the yearly threshold is split at it.
        const room = eh.thresholdMilliKwh - cumulative;
        normal = room <= 0n ? 0n : room < imported ? room : imported;
        cumulative += imported;
      }
      const reduced = imported - normal;
      if (normal > 0n || reduced === 0n) tax.add(normal, rowPriceAt(taxRow, at) * 100n, iv.estimated);
      if (reduced > 0n) {
        reducedRow ??= chargeRowOn(r.reducedElectricityTax, day, asOf);
        reducedTax.add(reduced, rowPriceAt(reducedRow, at) * 100n, iv.estimated);
      }
    }
  }

  const drafts: LineDraft[] = [];
  if (p.days.length > 0) {
    drafts.push(energy.draft(), gridTariff.draft(), systemTariff.draft(), transmissionTariff.draft(), tax.draft());
    if (reducedTax.touched) drafts.push(reducedTax.draft());
    if (p.production !== null) drafts.push(production.draft());
    if (exportEnergy.touched) drafts.push(exportEnergy.draft(), exportFee.draft());
  }
  for (const m of p.billing.months) for (const [kind] of subscriptionCharges(p)) {
    const line = subscriptions.get(`${kind}:${m.label}`);
    if (line !== undefined) drafts.push(line.draft());
  }
  // Fees last: one line each, price on its day × pieces (after every other price of the period was checked).
  for (const fee of p.fees) drafts.push(feeLineDraft(fee, asOf));
  return invoiceOf(p.gsrn, p.billing.from, p.billing.toExclusive, asOf, drafts);
}
