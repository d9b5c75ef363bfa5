import { Money, parseDecimal, toExactScaled, toOre, type Decimal } from '@dh/money';

export interface AcontoEstimate {
  readonly expectedAnnualKwh: string;
  /** All-in price per kWh excl. VAT (energy, tariffs, tax). */
  readonly expectedAllInPricePerKwh: string;
  /** Monthly subscriptions excl. VAT: one amount or the list of them (grid, Energinet, product). */
  readonly monthlySubscriptions: string | readonly string[];
  /** Share of the year billed this quarter; a product parameter, default 0.25 (÷ 4). */
  readonly quarterShare?: string;
}

/**
 * (expected annual kWh × all-in price + 12 × monthly subscriptions) × 1.25 × share (÷ 4 by default),
 * exact, rounded once to øre half away from zero (domain.md "Aconto").
 */
export function acontoQuarterlyAmount(e: AcontoEstimate): Money {
  const subs = typeof e.monthlySubscriptions === 'string' ? [e.monthlySubscriptions] : e.monthlySubscriptions;
  const monthly = subs.reduce<Decimal>((s, x) => s.plus(parseDecimal(x)), parseDecimal('0'));
  const annual = parseDecimal(e.expectedAnnualKwh).times(parseDecimal(e.expectedAllInPricePerKwh)).plus(monthly.times('12'));
  const exact = toExactScaled(annual.times('1.25').times(parseDecimal(e.quarterShare ?? '0.25')));
  return toOre(exact.units, exact.scale);
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
