import { compareLocalDates, isLocalDate, type LocalDate } from '@dh/dk-time';
import { PRICE_SCALE, toOre } from '@dh/money';
import { chargeRowOn, type Charge, type ChargePriceRow } from '@dh/rates-domain';
import { feeLineKey, formatUnitPrice, type LineDraft } from './invoice';
import { InvalidSettlementInput, MissingConfiguration } from './settlement-halted';
import type { LinkedFee } from './settlement-input';

/** A fee to invoice: one charge on one supplied day, its pieces summed over the links of that charge and day. */
export interface FeeDue {
  readonly charge: Charge;
  readonly date: LocalDate;
  readonly pieces: bigint;
  /** No VAT on the line (the fee's VATPayer is D02). */
  readonly vatExempt: boolean;
}

/**
 * Checks the fees of an input (a valid local date, a whole number of pieces) and keeps those dated on
 * a supplied day of this invoice, one per charge and day (two links of one charge on one day add their
 * pieces), ordered by day, then charge id. A fee dated outside the supplied days belongs to another
 * invoice (the neighbour customer's, another period's) or to none.
 */
export function feesDue(fees: readonly LinkedFee[] | undefined, suppliedDays: readonly LocalDate[]): FeeDue[] {
  if (fees === undefined || fees.length === 0) return [];
  const supplied = new Set(suppliedDays);
  const byKey = new Map<string, { charge: Charge; date: LocalDate; pieces: bigint; vatExempt: boolean }>();
  for (const f of fees) {
    if (!isLocalDate(f.date)) throw new InvalidSettlementInput(`fee ${f.charge.chargeId}: date ${JSON.stringify(f.date)} is not a local date`);
    if (!/^\d+$/.test(f.factor)) throw new InvalidSettlementInput(`fee ${f.charge.chargeId} on ${f.date}: factor ${JSON.stringify(f.factor)} is not a whole number of pieces`);
    if (!supplied.has(f.date)) continue;
    const key = feeLineKey(f.charge.chargeId, f.date);
    const known = byKey.get(key);
    if (known === undefined) byKey.set(key, { charge: f.charge, date: f.date, pieces: BigInt(f.factor), vatExempt: f.vatExempt === true });
    else known.pieces += BigInt(f.factor);
  }
  return [...byKey.values()].sort((a, b) => compareLocalDates(a.date, b.date) || (a.charge.chargeId < b.charge.chargeId ? -1 : a.charge.chargeId > b.charge.chargeId ? 1 : 0));
}

/** The fee's price row on its day as known at `asOf`: one price per piece (a PT1H row cannot price a fee). */
export function feeRow(fee: Pick<FeeDue, 'charge' | 'date'>, asOf: Date): ChargePriceRow {
  const row = chargeRowOn(fee.charge, fee.date, asOf);
  if (row.resolution === 'PT1H') throw new MissingConfiguration(`fee ${fee.charge.chargeId} has hourly prices on ${fee.date}, not one price per piece`);
  return row;
}

export function feeDescription(fee: Pick<FeeDue, 'charge' | 'date'>): string {
  return `${fee.charge.description} (${fee.date})`;
}

/** The fee's line, in integers: price per piece (nano-DKK) × pieces, rounded once to øre. */
export function feeLineDraft(fee: FeeDue, asOf: Date): LineDraft {
  const price = feeRow(fee, asOf).prices[0]!;
  return {
    kind: 'fee',
    key: feeLineKey(fee.charge.chargeId, fee.date),
    description: feeDescription(fee),
    chargeId: fee.charge.chargeId,
    month: null,
    quantityMilliKwh: null,
    daysSupplied: null,
    daysInMonth: null,
    unitPrice: formatUnitPrice(price, PRICE_SCALE),
    amountExclVat: toOre(price * fee.pieces, PRICE_SCALE),
    estimated: false,
    ...(fee.vatExempt ? { vatExempt: true as const } : {}),
  };
}
