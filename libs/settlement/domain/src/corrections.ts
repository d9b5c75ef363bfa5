import { Money, parseQuantityMilliKwh } from '@dh/money';
import { formatKwh, totalsOf, type Invoice, type InvoiceLine, type InvoiceTotals, type LineKind } from './invoice';

/** One line of a credit or debit note: recomputed − issued for one invoice line. */
export interface CorrectionLine {
  readonly key: string;
  readonly kind: LineKind;
  readonly month: string | null;
  readonly description: string;
  readonly chargeId: string | null;
  /** Difference in kWh (3 decimals), null for subscriptions. */
  readonly quantityKwh: string | null;
  /** Difference in days supplied, for subscriptions. */
  readonly daysSupplied: number | null;
  readonly amountExclVat: Money;
  /** recomputed VAT − issued VAT of the line (see README: keeps issued + note = recomputed to the øre). */
  readonly vat: Money;
  readonly amountInclVat: Money;
}

export interface CorrectionNote {
  readonly gsrn: string;
  readonly periodFrom: string;
  readonly periodToExclusive: string;
  /** `credit` when the customer gets money back, `debit` when they owe more; `none` when nothing changed. */
  readonly noteType: 'credit' | 'debit' | 'none';
  readonly lines: readonly CorrectionLine[];
  readonly totals: InvoiceTotals;
}

export class InvoiceMismatchError extends Error {
  override readonly name = 'InvoiceMismatchError';
}

const qty = (s: string | null): bigint => (s === null ? 0n : parseQuantityMilliKwh(s));

function diffLine(key: string, issued: InvoiceLine | undefined, recomputed: InvoiceLine | undefined): CorrectionLine | null {
  const sample = (recomputed ?? issued)!;
  const amount = (recomputed?.amountExclVat ?? Money.ZERO).sub(issued?.amountExclVat ?? Money.ZERO);
  const vat = (recomputed?.vat ?? Money.ZERO).sub(issued?.vat ?? Money.ZERO);
  const isKwh = sample.quantityKwh !== null;
  const dq = isKwh ? qty(recomputed?.quantityKwh ?? null) - qty(issued?.quantityKwh ?? null) : 0n;
  const dd = isKwh ? 0 : (recomputed?.daysSupplied ?? 0) - (issued?.daysSupplied ?? 0);
  if (amount.isZero() && vat.isZero() && dq === 0n && dd === 0) return null;
  return {
    key,
    kind: sample.kind,
    month: sample.month,
    description: sample.description,
    chargeId: sample.chargeId,
    quantityKwh: isKwh ? formatKwh(dq) : null,
    daysSupplied: isKwh ? null : dd,
    amountExclVat: amount,
    vat,
    amountInclVat: amount.add(vat),
  };
}

/**
 * The credit/debit note that takes an issued invoice to its recomputation (domain.md: corrections
 * never change an issued invoice). Lines are matched by key; a line only on one side counts as zero
 * on the other. Empty when nothing differs.
 */
export function diffInvoices(issued: Invoice, recomputed: Invoice): CorrectionNote {
  if (issued.gsrn !== recomputed.gsrn || issued.periodFrom !== recomputed.periodFrom || issued.periodToExclusive !== recomputed.periodToExclusive) {
    throw new InvoiceMismatchError(
      `Cannot diff ${issued.gsrn} ${issued.periodFrom}–${issued.periodToExclusive} against ${recomputed.gsrn} ${recomputed.periodFrom}–${recomputed.periodToExclusive}`,
    );
  }
  const before = new Map(issued.lines.map((l) => [l.key, l] as const));
  const after = new Map(recomputed.lines.map((l) => [l.key, l] as const));
  const keys = [...before.keys(), ...[...after.keys()].filter((k) => !before.has(k))];
  const lines = keys.map((k) => diffLine(k, before.get(k), after.get(k))).filter((l): l is CorrectionLine => l !== null);
  const totals = totalsOf(lines);
  const noteType = lines.length === 0 ? 'none' : totals.inclVat.isNegative() ? 'credit' : 'debit';
  return { gsrn: issued.gsrn, periodFrom: issued.periodFrom, periodToExclusive: issued.periodToExclusive, noteType, lines, totals };
}

/** Credits every line of an invoice in full (BRS-003 incorrect switch: the supply should never have been ours). */
export function creditInFull(invoice: Invoice): CorrectionNote {
  return diffInvoices(invoice, { ...invoice, lines: [], totals: totalsOf([]), estimated: false });
}

/** The totals a customer ends up with after an invoice and its note. */
export function correctedTotals(issued: Invoice, note: CorrectionNote): InvoiceTotals {
  const exclVat = issued.totals.exclVat.add(note.totals.exclVat);
  const vat = issued.totals.vat.add(note.totals.vat);
  return { exclVat, vat, inclVat: exclVat.add(vat) };
}
