import { addDays, compareLocalDates, daysBetween, localDayIntervals, localDayStart, type LocalDate } from '@dh/dk-time';
import { PRICE_SCALE, parsePriceNanoDkkPerKwh, type Money } from '@dh/money';
import { MissingPriceError, PriceDataConflictError, chargePriceAt, createCharge, createSpotPriceSeries, isPriceArea, type Charge } from '@dh/rates-domain';
import { acontoQuarterlyAmount, expectedAllInPricePerKwh, formatUnitPrice, vatIncluded, type BillingPeriod } from '@dh/settlement-domain';
import type { AcontoInvoiceIssued } from './events';
import { acontoInvoiceIdOf } from './ids';
import { periodDates, periodLabel } from './period';
import { DEFAULT_RATES_CONFIG, productCharges, taxCharges, type SettlementCopies, type SettlementRatesConfig, type SupplyRecord } from './settlement-input';

export type Quarter = Extract<BillingPeriod, { kind: 'quarter' }>;
export type Month = Extract<BillingPeriod, { kind: 'month' }>;

export function quarterOf(date: LocalDate): Quarter {
  return { kind: 'quarter', year: Number(date.slice(0, 4)), quarter: Math.floor((Number(date.slice(5, 7)) - 1) / 3) + 1 };
}

export function nextQuarterOf(q: Quarter): Quarter {
  return q.quarter === 4 ? { kind: 'quarter', year: q.year + 1, quarter: 1 } : { kind: 'quarter', year: q.year, quarter: q.quarter + 1 };
}

/** The last complete month before a local date's month. */
export function monthBefore(date: LocalDate): Month {
  const y = Number(date.slice(0, 4));
  const m = Number(date.slice(5, 7));
  return m === 1 ? { kind: 'month', year: y - 1, month: 12 } : { kind: 'month', year: y, month: m - 1 };
}

/** The last month of a billing period (the reference month of the estimate that follows it). */
export function lastMonthOf(p: BillingPeriod): Month {
  return p.kind === 'month' ? p : { kind: 'month', year: p.year, month: p.quarter * 3 };
}

/** True when the period's invoice is the last of its quarter: a quarter, or the quarter's last month. */
export function closesQuarter(p: BillingPeriod): boolean {
  return p.kind === 'quarter' || p.month % 3 === 0;
}

export function quarterContaining(p: BillingPeriod): Quarter {
  return quarterOf(periodDates(p).from);
}

export interface AcontoPlanRequest {
  gsrn: string;
  quarter: Quarter;
  /** The last complete month whose prices are the basis. */
  referenceMonth: Month;
  supply: SupplyRecord;
  expectedAnnualKwh: string;
  /** Copies loaded for the reference month (spot prices, charge rows of that month). */
  copies: SettlementCopies;
  asOf: Date;
  trigger: AcontoInvoiceIssued['trigger'];
  settledPeriod: string | null;
  config?: SettlementRatesConfig;
}

export type AcontoPlan = { ok: true; invoice: AcontoInvoiceIssued } | { ok: false; problem: string };

const trim = (nano: bigint): string => formatUnitPrice(nano, PRICE_SCALE);

/**
 * The aconto invoice of one quarter (pure): expected annual kWh × the expected all-in price per kWh
 * (mean of the reference month's spot + margin + grid, system and transmission tariffs + electricity
 * tax, as known at `asOf`; the product's `expectedAllInPricePerKwh` when a price of that month is
 * missing) + 12 × the monthly subscriptions in force on the reference month's first day, × 1.25 × the
 * product's share of the quarter (0.25), × supplied days ÷ days of the quarter, rounded once.
 */
export function planAcontoInvoice(req: AcontoPlanRequest): AcontoPlan {
  const config = req.config ?? DEFAULT_RATES_CONFIG;
  const { supply, copies } = req;
  const q = periodDates(req.quarter);
  const from = compareLocalDates(supply.startDate, q.from) > 0 ? supply.startDate : q.from;
  const to = supply.endDate !== null && compareLocalDates(supply.endDate, q.toExclusive) < 0 ? supply.endDate : q.toExclusive;
  const daysInQuarter = daysBetween(q.from, q.toExclusive);
  const daysSupplied = compareLocalDates(from, to) < 0 ? daysBetween(from, to) : 0;
  if (daysSupplied === 0) return { ok: false, problem: `no supply of ${req.gsrn} in ${periodLabel(req.quarter)}` };
  const gridArea = copies.gridAreas.find((g) => g.gridArea === supply.gridArea);
  if (gridArea === undefined || !isPriceArea(gridArea.priceArea)) return { ok: false, problem: `grid area ${supply.gridArea} is not mapped to a price area` };
  const priceArea = gridArea.priceArea;
  const products = copies.products.filter((p) => p.productId === supply.productId);
  if (products.length === 0) return { ok: false, problem: `product ${supply.productId} is not defined` };
  const ref = periodDates(req.referenceMonth);
  // The product version in force on the reference month's first day (the earliest if it starts later).
  const sorted = [...products].sort((a, b) => compareLocalDates(a.validFrom, b.validFrom) || a.publishedAt.getTime() - b.publishedAt.getTime());
  const product = sorted.filter((p) => compareLocalDates(p.validFrom, ref.from) <= 0).pop() ?? sorted[0]!;
  const shares = product.acontoQuarterShares ?? null;
  const quarterShare = shares && shares.length === 4 ? shares[req.quarter.quarter - 1]! : '0.25';
  try {
    const charges = new Map<string, Charge>();
    for (const c of copies.charges) {
      charges.set(
        c.chargeId,
        createCharge({
          chargeId: c.chargeId,
          owner: c.owner,
          chargeType: c.chargeType,
          code: c.code,
          description: c.description,
          rows: c.rows.map((r) => ({ validFrom: r.validFrom, validTo: r.validTo, resolution: r.resolution, prices: r.prices.map(parsePriceNanoDkkPerKwh), publishedAt: r.publishedAt, version: r.version })),
        }),
      );
    }
    for (const t of taxCharges(config, copies.taxRates)) charges.set(t.chargeId, t);
    const productCh = productCharges(products);
    const need = (id: string): Charge => {
      const c = charges.get(id);
      if (c === undefined) throw new MissingPriceError({ chargeId: id }, { start: localDayStart(ref.from), end: localDayStart(ref.toExclusive) });
      return c;
    };
    const refStart = localDayStart(ref.from);
    let subscriptionsNano: bigint;
    try {
      subscriptionsNano =
        chargePriceAt(need(gridArea.gridSubscriptionChargeId), refStart, req.asOf) +
        chargePriceAt(need(config.national.systemSubscriptionChargeId), refStart, req.asOf) +
        chargePriceAt(productCh.subscription, refStart, req.asOf);
    } catch (error) {
      if (error instanceof MissingPriceError) return { ok: false, problem: `monthly subscriptions on ${ref.from}: ${error.message}` };
      throw error;
    }
    let pricePerKwh: string;
    let priceSource: 'prices' | 'product' = 'prices';
    try {
      const spot = createSpotPriceSeries(
        priceArea,
        copies.spotPrices
          .filter((p) => p.priceArea === priceArea)
          .map((p) => ({ priceArea, start: p.start, resolution: p.resolution, nanoDkkPerKwh: parsePriceNanoDkkPerKwh(p.dkkPerKwh), publishedAt: p.publishedAt, version: p.version })),
      );
      const hours: Date[] = [];
      for (let d = ref.from; compareLocalDates(d, ref.toExclusive) < 0; d = addDays(d, 1)) hours.push(...localDayIntervals(d, 'PT1H'));
      pricePerKwh = expectedAllInPricePerKwh({
        hours,
        spot,
        perKwhCharges: [productCh.margin, need(gridArea.gridTariffChargeId), need(config.national.systemTariffChargeId), need(config.national.transmissionTariffChargeId), need(config.national.electricityTaxChargeId)],
        asOf: req.asOf,
      });
    } catch (error) {
      if (!(error instanceof MissingPriceError)) throw error;
      const fallback = product.expectedAllInPricePerKwh ?? null;
      if (fallback === null) return { ok: false, problem: `prices of ${periodLabel(req.referenceMonth)} incomplete (${error.message}) and product ${product.productId} has no expectedAllInPricePerKwh` };
      pricePerKwh = fallback;
      priceSource = 'product';
    }
    const monthlySubscriptions = trim(subscriptionsNano);
    const amount: Money = acontoQuarterlyAmount({
      expectedAnnualKwh: req.expectedAnnualKwh,
      expectedAllInPricePerKwh: pricePerKwh,
      monthlySubscriptions,
      quarterShare,
      supplied: { days: daysSupplied, ofDays: daysInQuarter },
    });
    const { exclVat, vat } = vatIncluded(amount);
    const label = periodLabel(req.quarter);
    return {
      ok: true,
      invoice: {
        acontoInvoiceId: acontoInvoiceIdOf(req.gsrn, label),
        customerId: supply.customerId,
        gsrn: req.gsrn,
        quarter: label,
        periodStart: q.from,
        periodEnd: addDays(q.toExclusive, -1),
        amountInclVat: amount.format(),
        amountExclVat: exclVat.format(),
        vat: vat.format(),
        dueDate: from,
        trigger: req.trigger,
        settledPeriod: req.settledPeriod,
        basis: {
          expectedAnnualKwh: req.expectedAnnualKwh,
          pricePerKwh,
          priceSource,
          referenceMonth: periodLabel(req.referenceMonth),
          monthlySubscriptions,
          quarterShare,
          daysSupplied,
          daysInQuarter,
        },
      },
    };
  } catch (error) {
    if (error instanceof PriceDataConflictError) return { ok: false, problem: error.message };
    throw error;
  }
}

