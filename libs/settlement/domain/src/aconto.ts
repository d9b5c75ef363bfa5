import { MEAN_PRICE_SCALE, Money, ORE_SCALE, divRoundHalfAwayFromZero, formatScaled, parseDecimal, ratioToOre, toExactScaled, toOre, type Decimal } from '@dh/money';
import { chargePriceAt, spotPriceAt, toMeanScale, type Charge, type SpotPriceSeries } from '@dh/rates-domain';

export interface AcontoEstimate {
  readonly expectedAnnualKwh: string;
  /** All-in price per kWh excl. VAT (energy, tariffs, tax). */
  readonly expectedAllInPricePerKwh: string;
  /** Monthly subscriptions excl. VAT: one amount or the list of them (grid, Energinet, product). */
  readonly monthlySubscriptions: string | readonly string[];
  /** Share of the year billed this quarter; a product parameter, default 0.25 (÷ 4). */
  readonly quarterShare?: string;
  /**
   * A supply that starts (or ends) inside the quarter pays for its days only:
   * × daysSupplied ÷ daysInQuarter, exact, inside the single rounding.
   */
  readonly supplied?: { readonly days: number; readonly ofDays: number };
}

/**
 * (expected annual kWh × all-in price + 12 × monthly subscriptions) × 1.25 × share (÷ 4 by default)
 * [× supplied days ÷ days of the quarter], exact, rounded once to øre half away from zero
 * (domain.md "Aconto").
 */
export function acontoQuarterlyAmount(e: AcontoEstimate): Money {
  const subs = typeof e.monthlySubscriptions === 'string' ? [e.monthlySubscriptions] : e.monthlySubscriptions;
  const monthly = subs.reduce<Decimal>((s, x) => s.plus(parseDecimal(x)), parseDecimal('0'));
  const annual = parseDecimal(e.expectedAnnualKwh).times(parseDecimal(e.expectedAllInPricePerKwh)).plus(monthly.times('12'));
  const exact = toExactScaled(annual.times('1.25').times(parseDecimal(e.quarterShare ?? '0.25')));
  if (e.supplied === undefined) return toOre(exact.units, exact.scale);
  const { days, ofDays } = e.supplied;
  if (!Number.isSafeInteger(ofDays) || ofDays <= 0 || !Number.isSafeInteger(days) || days < 0 || days > ofDays) throw new RangeError(`aconto: supplied ${days} of ${ofDays} days`);
  return ratioToOre(exact.units * BigInt(days), exact.scale, BigInt(ofDays));
}

/**
 * The VAT contained in an amount incl. 25 % VAT: incl ÷ 5 (= 25 % of incl ÷ 1.25), rounded once to
 * øre; the amount excl. VAT is the rest, so excl + VAT = incl exactly.
 */
export function vatIncluded(amountInclVat: Money): { exclVat: Money; vat: Money } {
  const vat = ratioToOre(amountInclVat.ore, ORE_SCALE, 5n);
  return { exclVat: amountInclVat.sub(vat), vat };
}

/** Decimals of the expected all-in price per kWh (µDKK): a basis of an estimate, not an invoice line. */
export const ALL_IN_PRICE_DECIMALS = 6;

export interface AllInPriceInput {
  /** Hour starts of the reference period (a local month: 672–744 hours, DST included). */
  readonly hours: readonly Date[];
  readonly spot: SpotPriceSeries;
  /** Per-kWh prices added to spot: product margin, grid tariff, system and transmission tariff, electricity tax. */
  readonly perKwhCharges: readonly Charge[];
  /** Prices as known at this instant. */
  readonly asOf: Date;
}

/**
 * Expected all-in price per kWh excl. VAT: the unweighted mean over the reference hours of
 * (spot, the mean of four for quarter prices) + each per-kWh charge in force that hour, exact, rounded
 * once to 6 decimals half away from zero. Throws the rates' `MissingPriceError` when a price is missing.
 */
export function expectedAllInPricePerKwh(input: AllInPriceInput): string {
  if (input.hours.length === 0) throw new RangeError('expectedAllInPricePerKwh: no hours');
  let total = 0n;
  for (const h of input.hours) {
    total += toMeanScale(spotPriceAt(input.spot, h, { resolution: 'PT1H', asOf: input.asOf }));
    for (const c of input.perKwhCharges) total += chargePriceAt(c, h, input.asOf) * 100n;
  }
  const mean = divRoundHalfAwayFromZero(total, BigInt(input.hours.length) * 10n ** BigInt(MEAN_PRICE_SCALE - ALL_IN_PRICE_DECIMALS));
  return formatScaled(mean, ALL_IN_PRICE_DECIMALS);
}

export interface AcontoSettlement {
  readonly aconto_paid: Money;
  /** actual invoice total incl. VAT − aconto paid: positive = the customer owes, negative = refund. */
  readonly aconto_difference: Money;
  /** The difference carried to the next invoice, plus that invoice's new aconto amount if given. */
  readonly net_amount_due: Money;
}

export function acontoSettlement(a: { readonly invoiceTotalInclVat: Money; readonly acontoPaid: Money; readonly nextAcontoAmount?: Money }): AcontoSettlement {
  const difference = a.invoiceTotalInclVat.sub(a.acontoPaid);
  return { aconto_paid: a.acontoPaid, aconto_difference: difference, net_amount_due: difference.add(a.nextAcontoAmount ?? Money.ZERO) };
}
