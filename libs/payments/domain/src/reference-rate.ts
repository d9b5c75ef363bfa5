import { compareLocalDates, isLocalDate, type LocalDate } from '@dh/dk-time';

/**
 * Danmarks Nationalbank's official lending rate (udlånsrente) as fixed on 1 January and 1 July: the reference
 * rate of renteloven § 5, stk. 1, in percent a year. Each value holds for its half-year only (1 January to
 * 30 June, 1 July to 31 December): a half-year without a value has no reference rate, and interest for it is
 * held back (`MissingReferenceRateError`) rather than charged at an older rate.
 */
export interface ReferenceRate {
  validFrom: LocalDate;
  /** Percent a year, up to 4 decimals (`"1.75"`). */
  ratePercent: string;
  /** Where the value comes from, as precisely as we can name it. */
  source: string;
  /** True when the value was checked against a source we name; false: taken as known, to be checked before production. */
  verified: boolean;
}

export function referenceRates(rates: readonly ReferenceRate[]): readonly ReferenceRate[] {
  for (const r of rates) {
    if (!isLocalDate(r.validFrom) || !/-(01-01|07-01)$/.test(r.validFrom)) throw new RangeError(`reference rate from ${r.validFrom}: it is fixed as of 1 January or 1 July (renteloven § 5)`);
    if (!/^\d{1,2}(\.\d{1,4})?$/.test(r.ratePercent)) throw new RangeError(`reference rate from ${r.validFrom}: ${r.ratePercent} is not a percentage with at most 4 decimals`);
  }
  return [...rates].sort((a, b) => compareLocalDates(a.validFrom, b.validFrom));
}

/** The first day of the half-year after the one starting on `validFrom` (a 1 January or 1 July). */
function nextHalfYear(validFrom: LocalDate): LocalDate {
  const year = Number(validFrom.slice(0, 4));
  return validFrom.endsWith('-01-01') ? `${year}-07-01` : `${year + 1}-01-01`;
}

/** The reference rate of the half-year `day` is in; null when that half-year has none. */
export function referenceRateOn(rates: readonly ReferenceRate[], day: LocalDate): ReferenceRate | null {
  for (const r of rates) if (compareLocalDates(r.validFrom, day) <= 0 && compareLocalDates(day, nextHalfYear(r.validFrom)) < 0) return r;
  return null;
}

/** How the values not checked against a named document are marked. */
const UNVERIFIED = 'not checked against nationalbanken.dk from this repository; confirm before charging interest in production';

/**
 * Known reference rates (renteloven § 5: Nationalbanken's official udlånsrente as of 1 January / 1 July). Only
 * 2024-01-01 is checked against a document we name; the others are Nationalbanken's lending rate after its decisions
 * as we know them, marked `verified: false` (the dunning pass uses them, and docs/payments say which to confirm).
 * No value is kept for a half-year we cannot name at all.
 */
export const REFERENCE_RATES: readonly ReferenceRate[] = referenceRates([
  {
    validFrom: '2024-01-01',
    ratePercent: '3.75',
    source: 'selandiaadvokater.dk/privat/retssager/renteoplysninger: "Procesrenten udgør pr. 1. januar 2024 3,75% med tillæg på 8%" (renteloven § 5 quoted there)',
    verified: true,
  },
  { validFrom: '2024-07-01', ratePercent: '3.50', source: `Danmarks Nationalbank, udlånsrente after the cut of June 2024; ${UNVERIFIED}`, verified: false },
  { validFrom: '2025-01-01', ratePercent: '2.75', source: `Danmarks Nationalbank, udlånsrente after the cut of December 2024; ${UNVERIFIED}`, verified: false },
  { validFrom: '2025-07-01', ratePercent: '1.75', source: `Danmarks Nationalbank, udlånsrente after the cut of June 2025; ${UNVERIFIED}`, verified: false },
  { validFrom: '2026-01-01', ratePercent: '1.75', source: `Danmarks Nationalbank, udlånsrente, no change known since June 2025; ${UNVERIFIED}`, verified: false },
  { validFrom: '2026-07-01', ratePercent: '1.75', source: `Danmarks Nationalbank, udlånsrente, no change known since June 2025; ${UNVERIFIED}`, verified: false },
]);
