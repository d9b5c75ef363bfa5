import { compareLocalDates, isLocalDate, type LocalDate } from '@dh/dk-time';

/**
 * Danmarks Nationalbank's official lending rate (udlånsrente) as fixed on 1 January and 1 July: the reference
 * rate of renteloven § 5, stk. 1, in percent a year. Data with validity periods (each value holds until the next).
 */
export interface ReferenceRate {
  validFrom: LocalDate;
  /** Percent a year, up to 4 decimals (`"1.75"`). */
  ratePercent: string;
  source: string;
}

export function referenceRates(rates: readonly ReferenceRate[]): readonly ReferenceRate[] {
  for (const r of rates) {
    if (!isLocalDate(r.validFrom) || !/-(01-01|07-01)$/.test(r.validFrom)) throw new RangeError(`reference rate from ${r.validFrom}: it is fixed as of 1 January or 1 July (renteloven § 5)`);
    if (!/^\d{1,2}(\.\d{1,4})?$/.test(r.ratePercent)) throw new RangeError(`reference rate from ${r.validFrom}: ${r.ratePercent} is not a percentage with at most 4 decimals`);
  }
  return [...rates].sort((a, b) => compareLocalDates(a.validFrom, b.validFrom));
}

export function referenceRateOn(rates: readonly ReferenceRate[], day: LocalDate): ReferenceRate | null {
  let found: ReferenceRate | null = null;
  for (const r of rates) if (compareLocalDates(r.validFrom, day) <= 0) found = r;
  return found;
}

const NATIONALBANKEN = "Danmarks Nationalbank, official lending rate (udlånsrente) on that day; check against nationalbanken.dk";

/** Known reference rates. 2024-01-01 is confirmed by a second source; the others are Nationalbanken's lending rate as we know it (check). */
export const REFERENCE_RATES: readonly ReferenceRate[] = referenceRates([
  { validFrom: '2024-01-01', ratePercent: '3.75', source: 'selandiaadvokater.dk/privat/retssager/renteoplysninger: "pr. 1. januar 2024 3,75%"' },
  { validFrom: '2024-07-01', ratePercent: '3.50', source: NATIONALBANKEN },
  { validFrom: '2025-01-01', ratePercent: '2.75', source: NATIONALBANKEN },
  { validFrom: '2025-07-01', ratePercent: '1.75', source: NATIONALBANKEN },
  { validFrom: '2026-01-01', ratePercent: '1.75', source: NATIONALBANKEN },
  { validFrom: '2026-07-01', ratePercent: '1.75', source: `${NATIONALBANKEN} (unchanged since 2025-06; confirm when published)` },
]);
