import { RESOLUTION_MS, addDays, compareLocalDates, localDayStart, type LocalDate } from '@dh/dk-time';
import { PRICE_SCALE } from '@dh/money';
import { MissingPriceError, chargeRowOn, ratesForGridArea, rowPriceAt, spotPriceAt, type Charge, type MeteringPointRates, type PriceBook } from '@dh/rates-domain';
import { billingDates, type BillingDates } from '../billing-period';
import { finishLine, type InvoiceLine, type LineKind } from '../invoice';
import { SubscriptionLine } from '../line-accumulators';
import { MissingConfiguration } from '../settlement-halted';
import type { BillingPeriod, Product } from '../settlement-input';

const HOUR_MS = RESOLUTION_MS.PT1H;
const QUARTER_MS = RESOLUTION_MS.PT15M;

export interface PeriodDay {
  readonly date: LocalDate;
  readonly startMs: number;
  /** Index of the day's first hour in the period's hour arrays; its first quarter is 4 × this. */
  readonly firstHour: number;
  /** 23, 24 or 25. */
  readonly hours: number;
  /** Index into `billing.months`. */
  readonly month: number;
}

/** A per-kWh charge priced for every hour of the period (a P1D row gives the same price each hour). */
export interface HourlyCharge {
  readonly charge: Charge;
  /** nano-DKK/kWh per hour of the period; NaN on a day without a row. */
  readonly perHour: Float64Array;
  /** Per day: the price every hour of the day has (a P1D row), else NaN (hourly prices, or none). */
  readonly perDay: Float64Array;
  /** Per day of the period: why it has no price (a MissingPriceError), else null. */
  readonly dayError: readonly (Error | null)[];
  /** Largest |price| over the period, for the kernel's exactness bound. */
  readonly maxAbs: number;
  /** The one price every hour of the period has, or null when it varies or a day has none. */
  readonly constant: number | null;
}

/** A monthly subscription: the monthly price in force on each day, or why there is none. */
export interface SubscriptionCharge {
  readonly kind: LineKind;
  readonly charge: Charge;
  /** nano-DKK per month, per day of the period. */
  readonly perDay: readonly (bigint | Error)[];
}

/**
 * Every price one billing period needs for one set of charges (price area, grid area, product), as
 * known at `asOf`, resolved once and laid out in typed arrays by hour and quarter-hour of the
 * period. Versions, validity periods, tariff hours in Copenhagen time (the repeated autumn hour uses
 * Price3 twice, the spring day skips it) and the PT1H/PT15M mix are all resolved here, so settling a
 * metering point is a loop over arrays. A price that is missing stays missing (NaN / an error per
 * day) and halts only the metering points that need it.
 */
export interface PeriodPrices {
  readonly period: BillingPeriod;
  readonly billing: BillingDates;
  readonly asOf: Date;
  readonly rates: MeteringPointRates;
  readonly product: Product;
  readonly startMs: number;
  readonly endMs: number;
  readonly days: readonly PeriodDay[];
  readonly hourCount: number;
  /** nano-DKK/kWh per quarter-hour: the quarter's own price, else its hour's; NaN when neither is known. */
  readonly spotQuarter: Float64Array;
  /**
   * Per hour, 4 × the spot price of a PT1H interval at scale 9: 4 × the hourly price, or the sum of
   * the four quarter prices (their mean is exactly a quarter of it; domain.md "Time"). NaN when none.
   */
  readonly spotHour4: Float64Array;
  readonly maxAbsSpotQuarter: number;
  readonly maxAbsSpotHour4: number;
  readonly margin: HourlyCharge;
  readonly gridTariff: HourlyCharge;
  readonly systemTariff: HourlyCharge;
  readonly transmissionTariff: HourlyCharge;
  readonly electricityTax: HourlyCharge;
  readonly reducedElectricityTax: HourlyCharge;
  /** Null when the product has no export fee. */
  readonly exportFee: HourlyCharge | null;
  /** Largest |price| of every per-kWh charge above, for the kernel's exactness bound. */
  readonly maxAbsCharges: number;
  /** Grid, Energinet system and product subscription, in the order of the invoice. */
  readonly subscriptions: readonly SubscriptionCharge[];
  /**
   * Per day, the first price a supplied day lacks, in the order settlement checks them: the three
   * subscriptions, then margin, grid, system and transmission tariff and the electricity tax
   * (export fee and reduced tax are checked only when a day needs them). Null when complete.
   */
  readonly dayStop: readonly (Error | null)[];
  /**
   * Per month of the period: the three subscription lines of a point supplied every day of it (the
   * same for every such point, so computed once), or null when a day of the month has no price.
   */
  readonly fullMonthSubscriptions: readonly (readonly InvoiceLine[] | null)[];
}

/** The subscription lines of one month for the given supplied days (indexes into the period's days). */
export function subscriptionLines(p: Pick<PeriodPrices, 'billing' | 'subscriptions'>, month: number, days: readonly number[]): InvoiceLine[] {
  const m = p.billing.months[month]!;
  return p.subscriptions.map((s) => {
    const line = new SubscriptionLine(s.kind, s.charge.description, s.charge.chargeId, m.label, m.days);
    for (const d of days) line.addDay(s.perDay[d] as bigint);
    return finishLine(line.draft());
  });
}

/** A price as a double; prices are below 10^6 DKK/kWh (DataHub's maximum), so far inside 2^53 nano-DKK. */
function safe(units: bigint, what: string): number {
  const n = Number(units);
  if (!Number.isSafeInteger(n)) throw new MissingConfiguration(`${what}: price ${units} nano-DKK is beyond the exact range`);
  return n;
}

function periodDays(billing: BillingDates): PeriodDay[] {
  const days: PeriodDay[] = [];
  let firstHour = 0;
  for (let d = billing.from; compareLocalDates(d, billing.toExclusive) < 0; d = addDays(d, 1)) {
    const startMs = localDayStart(d).getTime();
    // An integer (Smi) field, so that the kernel indexes its typed arrays with int32 arithmetic, not doubles.
    const hours = ((localDayStart(addDays(d, 1)).getTime() - startMs) / HOUR_MS) | 0;
    const month = billing.months.findIndex((m) => m.label === d.slice(0, 7));
    days.push({ date: d, startMs, firstHour, hours, month });
    firstHour += hours;
  }
  return days;
}

/** Days outside the range asked for are not resolved; a kernel that reaches one has a bug (not a halt). */
const NOT_RESOLVED = new Error('prices of this day were not resolved for this settlement');

function hourlyCharge(charge: Charge, days: readonly PeriodDay[], hourCount: number, asOf: Date, resolved: (d: number) => boolean): HourlyCharge {
  const perHour = new Float64Array(hourCount).fill(Number.NaN);
  const perDay = new Float64Array(days.length).fill(Number.NaN);
  const dayError: (Error | null)[] = [];
  let maxAbs = 0;
  let constant: number | null | undefined;
  for (const [d, day] of days.entries()) {
    if (!resolved(d)) {
      dayError.push(NOT_RESOLVED);
      continue;
    }
    let row;
    try {
      row = chargeRowOn(charge, day.date, asOf);
    } catch (e) {
      if (!(e instanceof MissingPriceError)) throw e;
      dayError.push(e);
      constant = null;
      continue;
    }
    dayError.push(null);
    if (row.resolution !== 'PT1H') perDay[d] = safe(row.prices[0]!, charge.chargeId);
    for (let h = 0; h < day.hours; h++) {
      const p = safe(rowPriceAt(row, new Date(day.startMs + h * HOUR_MS)), charge.chargeId);
      perHour[day.firstHour + h] = p;
      if (Math.abs(p) > maxAbs) maxAbs = Math.abs(p);
      if (constant === undefined) constant = p;
      else if (constant !== null && constant !== p) constant = null;
    }
  }
  return { charge, perHour, perDay, dayError, maxAbs, constant: constant ?? null };
}

function subscriptionCharge(kind: LineKind, charge: Charge, days: readonly PeriodDay[], asOf: Date, resolved: (d: number) => boolean): SubscriptionCharge {
  const perDay = days.map((day, d): bigint | Error => {
    if (!resolved(d)) return NOT_RESOLVED;
    try {
      const row = chargeRowOn(charge, day.date, asOf);
      if (row.resolution !== 'P1M') return new MissingConfiguration(`charge ${charge.chargeId} is used as a subscription but its price on ${day.date} is ${row.resolution}, not P1M`);
      return row.prices[0]!;
    } catch (e) {
      if (e instanceof MissingPriceError) return e;
      throw e;
    }
  });
  return { kind, charge, perDay };
}

/**
 * Resolves the prices of one (grid area → price area and grid charges, product, billing period,
 * asOf): once per run and set of charges, shared by every metering point that has them.
 * `days` limits the work to the local days `[from, toExclusive)` of the period (one metering
 * point's supply); the others are left unresolved. Throws {@link MissingConfiguration} when the
 * grid area or a charge is not configured.
 */
export function resolvePeriodPrices(
  prices: PriceBook,
  gridArea: string,
  product: Product,
  period: BillingPeriod,
  asOf: Date,
  days?: { readonly from: LocalDate; readonly toExclusive: LocalDate },
): PeriodPrices {
  const configured = ratesForGridArea(prices, gridArea);
  if (!configured.ok) throw new MissingConfiguration(configured.detail);
  const rates = configured.rates;
  const billing = billingDates(period);
  const allDays = periodDays(billing);
  // Validated YYYY-MM-DD strings order like the dates.
  const inRange = allDays.map((day) => days === undefined || (day.date >= days.from && day.date < days.toExclusive));
  const resolved = (d: number): boolean => inRange[d]!;
  const hourCount = allDays.reduce((n, d) => n + d.hours, 0);
  const startMs = allDays[0]!.startMs;
  const spotQuarter = new Float64Array(hourCount * 4).fill(Number.NaN);
  const spotHour4 = new Float64Array(hourCount).fill(Number.NaN);
  let maxAbsSpotQuarter = 0;
  let maxAbsSpotHour4 = 0;
  for (const [d, day] of allDays.entries()) {
    if (!resolved(d)) continue;
    for (let h = day.firstHour; h < day.firstHour + day.hours; h++) {
      const hourMs = startMs + h * HOUR_MS;
      for (let k = 0; k < 4; k++) {
        try {
          const p = safe(spotPriceAt(rates.spot, new Date(hourMs + k * QUARTER_MS), { resolution: 'PT15M', asOf }).units, `spot ${rates.priceArea}`);
          spotQuarter[h * 4 + k] = p;
          if (Math.abs(p) > maxAbsSpotQuarter) maxAbsSpotQuarter = Math.abs(p);
        } catch (e) {
          if (!(e instanceof MissingPriceError)) throw e;
        }
      }
      try {
        const p = spotPriceAt(rates.spot, new Date(hourMs), { resolution: 'PT1H', asOf });
        // A published hourly price counts four times; a mean of four quarters is their sum ÷ 4 (meanOfFour is sum × 25 at scale 11).
        const sum4 = safe(p.scale === PRICE_SCALE ? p.units * 4n : p.units / 25n, `spot ${rates.priceArea}`);
        spotHour4[h] = sum4;
        if (Math.abs(sum4) > maxAbsSpotHour4) maxAbsSpotHour4 = Math.abs(sum4);
      } catch (e) {
        if (!(e instanceof MissingPriceError)) throw e;
      }
    }
  }
  const hourly = (c: Charge): HourlyCharge => hourlyCharge(c, allDays, hourCount, asOf, resolved);
  const subscriptions = [
    subscriptionCharge('grid-subscription', rates.gridSubscription, allDays, asOf, resolved),
    subscriptionCharge('system-subscription', rates.systemSubscription, allDays, asOf, resolved),
    subscriptionCharge('product-subscription', product.subscription, allDays, asOf, resolved),
  ];
  const margin = hourly(product.margin);
  const gridTariff = hourly(rates.gridTariff);
  const systemTariff = hourly(rates.systemTariff);
  const transmissionTariff = hourly(rates.transmissionTariff);
  const electricityTax = hourly(rates.electricityTax);
  const reducedElectricityTax = hourly(rates.reducedElectricityTax);
  const exportFee = product.exportFee === undefined ? null : hourly(product.exportFee);
  const dayStop = allDays.map((_, d): Error | null => {
    for (const sub of subscriptions) {
      const v = sub.perDay[d]!;
      if (v instanceof Error) return v;
    }
    for (const c of [margin, gridTariff, systemTariff, transmissionTariff, electricityTax]) if (c.dayError[d]) return c.dayError[d]!;
    return null;
  });
  const fullMonthSubscriptions = billing.months.map((_, mi) => {
    const days = allDays.flatMap((day, d) => (day.month === mi ? [d] : []));
    if (days.some((d) => subscriptions.some((sub) => sub.perDay[d] instanceof Error))) return null;
    return subscriptionLines({ billing, subscriptions }, mi, days);
  });
  return {
    period,
    billing,
    asOf,
    rates,
    product,
    startMs,
    endMs: startMs + hourCount * HOUR_MS,
    days: allDays,
    hourCount,
    spotQuarter,
    spotHour4,
    maxAbsSpotQuarter,
    maxAbsSpotHour4,
    margin,
    gridTariff,
    systemTariff,
    transmissionTariff,
    electricityTax,
    reducedElectricityTax,
    exportFee,
    maxAbsCharges: Math.max(...[margin, gridTariff, systemTariff, transmissionTariff, electricityTax, reducedElectricityTax, exportFee].map((c) => c?.maxAbs ?? 0)),
    subscriptions,
    dayStop,
    fullMonthSubscriptions,
  };
}
