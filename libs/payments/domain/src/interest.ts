import { addDays, compareLocalDates, type LocalDate } from '@dh/dk-time';
import { Money, divRoundHalfAwayFromZero } from '@dh/money';
import { INTEREST_ACT } from './interest-act';
import { referenceRateOn, type ReferenceRate } from './reference-rate';

export class MissingReferenceRateError extends Error {
  override readonly name = 'MissingReferenceRateError';
  constructor(readonly day: LocalDate) {
    super(`no reference rate (renteloven § 5) is known for ${day}: add Nationalbanken's rate as of ${day.slice(0, 4)}-${day.slice(5, 7) < '07' ? '01' : '07'}-01`);
  }
}

/** Percent with up to 4 decimals → ten-thousandths of a percent. */
const scaledPercent = (p: string): bigint => {
  const [whole, frac = ''] = p.split('.') as [string, string?];
  return BigInt(whole) * 10_000n + BigInt(frac.padEnd(4, '0'));
};

export interface InterestCharge {
  amount: Money;
  /** Interest runs for the days after `fromExclusive` up to and including `through`. */
  fromExclusive: LocalDate;
  through: LocalDate;
  days: number;
  /** The annual rates applied (reference + 8 points), in percent, one per rate period crossed. */
  annualRatesPercent: string[];
}

/**
 * Interest on an overdue amount (renteloven § 5: reference rate + 8 percentage points a year, the reference rate
 * in force on each day), simple, per day on a 365-day year (our choice; the Act fixes the rate, not the day
 * count), summed exactly and rounded once to øre, half away from zero. Nothing for a non-positive amount or an
 * empty period.
 */
export function interestOn(principal: Money, fromExclusive: LocalDate, through: LocalDate, rates: readonly ReferenceRate[]): InterestCharge {
  const annual: string[] = [];
  let numerator = 0n;
  let days = 0;
  if (principal.isPositive()) {
    for (let d = addDays(fromExclusive, 1); compareLocalDates(d, through) <= 0; d = addDays(d, 1)) {
      const ref = referenceRateOn(rates, d);
      if (ref === null) throw new MissingReferenceRateError(d);
      const rate = scaledPercent(ref.ratePercent) + scaledPercent(INTEREST_ACT.interestSurchargePercentagePoints);
      const label = `${rate / 10_000n}.${(rate % 10_000n).toString().padStart(4, '0')}`.replace(/0+$/, '').replace(/\.$/, '');
      if (annual[annual.length - 1] !== label) annual.push(label);
      numerator += principal.ore * rate;
      days++;
    }
  }
  // øre × (percent × 10^4) per day ÷ (100 % × 10^4 × 365 days)
  const amount = Money.ofOre(divRoundHalfAwayFromZero(numerator, 100n * 10_000n * 365n));
  return { amount, fromExclusive, through, days, annualRatesPercent: annual };
}
