import { daysBetween, type LocalDate } from '@dh/dk-time';
import { toOre } from '@dh/money';
import { finishLine, invoiceOfLines, type Invoice, type InvoiceLine, type LineDraft } from '../invoice';
import { feeLineDraft, type FeeDue } from '../fees';
import type { SupplyPeriod } from '../settlement-input';
import { settleConsumption } from './consumption';
import { Lines } from './lines';
import { maxIntervalWh, type MeteredQuantities } from './metered-quantities';
import { settleNetted } from './netting';
import { subscriptionLines, type PeriodPrices } from './period-prices';

/** Every sum the kernel keeps in a double must stay below this to be exact. */
const EXACT = Number.MAX_SAFE_INTEGER;

/** One metering point as the kernel takes it: validated, its series on the grid of the period's prices. */
export interface PointOnPrices {
  readonly gsrn: string;
  /** Checked and sorted (see `checkedSupplyPeriods`). */
  readonly supply: readonly SupplyPeriod[];
  readonly consumption: MeteredQuantities;
  readonly production: MeteredQuantities | null;
  /** The year's (prorated) threshold and the net import before the period, Wh. */
  readonly electricHeating: { readonly thresholdMilliKwh: bigint; readonly yearToDateMilliKwh: bigint } | null;
  /** Linked fees dated on a supplied day (`feesDue`); absent = none. */
  readonly fees?: readonly FeeDue[];
}

/** Indexes into `prices.days` of the supplied days, in order. */
export function suppliedDayIndexes(prices: PeriodPrices, supply: readonly SupplyPeriod[]): number[] {
  const n = prices.days.length;
  const { from, toExclusive } = prices.billing;
  // Checked local dates (YYYY-MM-DD) order as strings: a date outside the period needs no day count.
  // `| 0`: day indexes stay small integers (Smis), so the kernel's index arithmetic stays int32.
  const indexOf = (date: LocalDate): number => (date <= from ? 0 : date >= toExclusive ? n : daysBetween(from, date) | 0);
  const out: number[] = [];
  for (const s of supply) {
    const a = indexOf(s.start);
    const b = s.endExclusive === null ? n : indexOf(s.endExclusive);
    for (let d = a; d < b; d++) out.push(d);
  }
  return out;
}

const maxAbs = (a: number, b: number): number => (a > b ? a : b);

/**
 * How many days the fast kernel may sum in doubles before it flushes them into BigInts, so that
 * every partial sum provably stays below 2^53 (a day is at most 100 quarter-hours or 25 hours, an
 * hour at most 4 intervals). 0 when not even one day fits: then the exact per-interval BigInt path
 * settles the point (industrial quantities at extreme prices).
 */
export function doubleBlockDays(prices: PeriodPrices, point: PointOnPrices): number {
  const c = point.consumption;
  const maxC = maxIntervalWh(c);
  const perHour = (q: MeteredQuantities, max: number): number => (q.resolution === 'PT15M' ? 4 * max : max);
  const charges = prices.maxAbsCharges;
  const eh = point.electricHeating;
  if (eh !== null && (eh.thresholdMilliKwh > BigInt(EXACT) || eh.yearToDateMilliKwh > BigInt(EXACT) / 2n)) return 0;
  let day: number;
  if (point.production !== null) {
    const hour = Math.max(perHour(c, maxC), perHour(point.production, maxIntervalWh(point.production)));
    day = hour * maxAbs(prices.maxAbsSpotHour4, charges) * 25;
  } else if (c.resolution === 'PT15M') {
    day = Math.max(maxC * prices.maxAbsSpotQuarter * 100, 4 * maxC * charges * 25);
  } else {
    day = maxC * maxAbs(prices.maxAbsSpotHour4, charges) * 25;
  }
  // Quantities are sums of at most 100 × 2^31 Wh a day: far inside 2^53 for any billing period.
  if (day === 0) return prices.days.length;
  return Math.min(prices.days.length, Math.floor(EXACT / day));
}

/** True when the fast kernel settles the point exactly (see {@link doubleBlockDays}). */
export function fitsDoubleBlocks(prices: PeriodPrices, point: PointOnPrices): boolean {
  return doubleBlockDays(prices, point) >= 1;
}

/** Subscription lines per month: the monthly price in force each supplied day, ÷ days in month, rounded once. */
function subscriptionsOf(p: PeriodPrices, days: readonly number[]): InvoiceLine[] {
  const lines: InvoiceLine[] = [];
  for (let mi = 0; mi < p.billing.months.length; mi++) {
    let count = 0;
    for (const d of days) if (p.days[d]!.month === mi) count++;
    if (count === 0) continue;
    const full = count === p.billing.months[mi]!.days ? p.fullMonthSubscriptions[mi] : null;
    lines.push(...(full ?? subscriptionLines(p, mi, days.filter((d) => p.days[d]!.month === mi))));
  }
  return lines;
}

/**
 * Settles one metering point on prices resolved for its period: the fast exact kernel, summing in
 * doubles for `blockDays` days at a time ({@link doubleBlockDays}, ≥ 1). Throws the typed stops (missing metered data, missing price) in
 * the order a reader of the invoice would meet them: day by day, subscriptions and charges of the
 * day first, then its intervals in time order.
 */
export function settleOnPrices(p: PeriodPrices, point: PointOnPrices, blockDays: number): Invoice {
  if (!(blockDays >= 1)) throw new RangeError(`settleOnPrices: ${blockDays} days per double block cannot be exact`);
  const days = suppliedDayIndexes(p, point.supply);
  const netted = point.production !== null;
  const lines = new Lines(p, netted || point.consumption.resolution === 'PT1H');
  if (netted) settleNetted(p, point, days, lines, blockDays);
  else settleConsumption(p, point.consumption, point.electricHeating, days, lines, blockDays);
  const drafts: LineDraft[] = [];
  if (days.length > 0) {
    drafts.push(lines.energy.draft(), lines.grid.draft(), lines.system.draft(), lines.transmission.draft(), lines.tax.draft());
    if (lines.reducedTaxTouched) drafts.push(lines.reducedTax.draft());
    if (netted) {
      drafts.push({
        kind: 'production',
        description: 'Own production (hourly netting)',
        chargeId: null,
        month: null,
        quantityMilliKwh: BigInt(lines.producedWh),
        daysSupplied: null,
        daysInMonth: null,
        unitPrice: null,
        amountExclVat: toOre(0n, 0),
        estimated: lines.productionEstimated,
      });
    }
    if (lines.exportTouched) drafts.push(lines.exportEnergy.draft(), lines.exportFee.draft());
  }
  const invoiceLines = [...drafts.map(finishLine), ...subscriptionsOf(p, days)];
  // Fees last: one line each, the fee's price on its day × pieces, rounded once.
  if (point.fees !== undefined) for (const fee of point.fees) invoiceLines.push(finishLine(feeLineDraft(fee, p.asOf)));
  return invoiceOfLines(point.gsrn, p.billing.from, p.billing.toExclusive, p.asOf, invoiceLines);
}
