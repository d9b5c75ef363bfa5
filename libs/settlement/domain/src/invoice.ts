import type { LocalDate } from '@dh/dk-time';
import { Money, QUANTITY_SCALE, formatScaled, vatAllocated, vatOf } from '@dh/money';
import { InvalidSettlementInput } from './settlement-halted';

export type LineKind =
  | 'energy'
  | 'grid-tariff'
  | 'system-tariff'
  | 'transmission-tariff'
  | 'electricity-tax'
  | 'electricity-tax-reduced'
  | 'production'
  | 'export-energy'
  | 'export-fee'
  | 'grid-subscription'
  | 'system-subscription'
  | 'product-subscription'
  | 'fee';

export interface InvoiceLine {
  /**
   * Identifies the line across invoices of the same period: the kind, plus `:YYYY-MM` for subscriptions
   * and `:<chargeId>@<date>` for a fee (one line per fee charge and day).
   */
  readonly key: string;
  readonly kind: LineKind;
  readonly description: string;
  readonly chargeId: string | null;
  /** `YYYY-MM` for subscription lines, else null. */
  readonly month: string | null;
  /** kWh with exactly 3 decimals (exact sum of the intervals); null for subscriptions. */
  readonly quantityKwh: string | null;
  readonly daysSupplied: number | null;
  readonly daysInMonth: number | null;
  /** DKK per kWh (per month for subscriptions) when one price applied to the whole line, else null. */
  readonly unitPrice: string | null;
  /** Exact sum over the line's intervals, rounded once to øre, half away from zero. */
  readonly amountExclVat: Money;
  /**
   * VAT mode `per-line`: 25 % of the rounded amount, rounded the same way. `invoice-subtotal`: the
   * line's share of 25 % of the invoice subtotal (largest remainder; see {@link VatMode}).
   */
  readonly vat: Money;
  readonly amountInclVat: Money;
  /** True when any interval of the line had an estimated quality (A03) or was incomplete (A05). */
  readonly estimated: boolean;
  /** Present (true) only on a line without VAT: a fee whose charge DataHub marks VATPayer D02 (no VAT). */
  readonly vatExempt?: true;
}

export interface InvoiceTotals {
  readonly exclVat: Money;
  readonly vat: Money;
  readonly inclVat: Money;
}

export interface Invoice {
  readonly gsrn: string;
  readonly periodFrom: LocalDate;
  readonly periodToExclusive: LocalDate;
  readonly asOf: Date;
  readonly lines: readonly InvoiceLine[];
  /** Sums of the rounded lines. */
  readonly totals: InvoiceTotals;
  readonly estimated: boolean;
}

/** A line before VAT: the amount is already rounded (once) by @dh/money. */
export interface LineDraft {
  readonly kind: LineKind;
  readonly description: string;
  readonly chargeId: string | null;
  readonly month: string | null;
  readonly quantityMilliKwh: bigint | null;
  readonly daysSupplied: number | null;
  readonly daysInMonth: number | null;
  readonly unitPrice: string | null;
  readonly amountExclVat: Money;
  readonly estimated: boolean;
  /** The line's key when the kind and month do not identify it (fees: {@link feeLineKey}). */
  readonly key?: string;
  /** A line without VAT (see {@link InvoiceLine.vatExempt}). */
  readonly vatExempt?: true;
}

/** The key of a fee's line: one per fee charge and day it is charged. */
export function feeLineKey(chargeId: string, date: LocalDate): string {
  return `fee:${chargeId}@${date}`;
}

export function lineKey(kind: LineKind, month: string | null): string {
  return month === null ? kind : `${kind}:${month}`;
}

let lastKwh = -1n;
let lastKwhText = '';

export function formatKwh(milliKwh: bigint): string {
  // An invoice's kWh lines mostly share one quantity: format it once.
  if (milliKwh === lastKwh) return lastKwhText;
  lastKwh = milliKwh;
  return (lastKwhText = formatKwhUncached(milliKwh));
}

function formatKwhUncached(milliKwh: bigint): string {
  return formatScaled(milliKwh, QUANTITY_SCALE);
}

/** Exact price for display: every decimal kept, trailing zeros beyond two decimals dropped (no rounding). */
export function formatUnitPrice(units: bigint, scale: number): string {
  const s = formatScaled(units, scale);
  const dot = s.indexOf('.');
  if (dot < 0) return `${s}.00`;
  let end = s.length;
  while (end > dot + 3 && s[end - 1] === '0') end--;
  return s.slice(0, end);
}

export function finishLine(d: LineDraft): InvoiceLine {
  const vat = d.vatExempt === true ? Money.ZERO : vatOf(d.amountExclVat);
  return {
    key: d.key ?? lineKey(d.kind, d.month),
    kind: d.kind,
    description: d.description,
    chargeId: d.chargeId,
    month: d.month,
    quantityKwh: d.quantityMilliKwh === null ? null : formatKwh(d.quantityMilliKwh),
    daysSupplied: d.daysSupplied,
    daysInMonth: d.daysInMonth,
    unitPrice: d.unitPrice,
    amountExclVat: d.amountExclVat,
    vat,
    amountInclVat: d.amountExclVat.add(vat),
    estimated: d.estimated,
    ...(d.vatExempt === true ? { vatExempt: true as const } : {}),
  };
}

export function totalsOf(lines: readonly { readonly amountExclVat: Money; readonly vat: Money }[]): InvoiceTotals {
  let excl = 0n;
  let vatOre = 0n;
  for (const l of lines) {
    excl += l.amountExclVat.ore;
    vatOre += l.vat.ore;
  }
  const exclVat = Money.ofOre(excl);
  const vat = Money.ofOre(vatOre);
  return { exclVat, vat, inclVat: exclVat.add(vat) };
}

export function invoiceOf(gsrn: string, periodFrom: LocalDate, periodToExclusive: LocalDate, asOf: Date, drafts: readonly LineDraft[]): Invoice {
  return invoiceOfLines(gsrn, periodFrom, periodToExclusive, asOf, drafts.map(finishLine));
}

/** An invoice of finished lines (lines are immutable, so one finished line may appear on many invoices). */
export function invoiceOfLines(gsrn: string, periodFrom: LocalDate, periodToExclusive: LocalDate, asOf: Date, lines: readonly InvoiceLine[]): Invoice {
  return { gsrn, periodFrom, periodToExclusive, asOf, lines, totals: totalsOf(lines), estimated: lines.some((l) => l.estimated) };
}

/**
 * How an invoice's VAT is computed (a supplier setting): `per-line` (default) — 25 % of each rounded
 * line, rounded half away from zero, the invoice VAT their sum; `invoice-subtotal` — 25 % of the
 * invoice subtotal, rounded once, allocated back to the lines by the largest remainder method so that
 * the lines' VAT sums to the invoice VAT (`vatAllocated` in @dh/money). The two can differ by a few
 * øre on an invoice (each line's rounding against one rounding of the total).
 */
export type VatMode = 'per-line' | 'invoice-subtotal';

export const VAT_MODES: readonly VatMode[] = ['per-line', 'invoice-subtotal'];

export function isVatMode(value: unknown): value is VatMode {
  return typeof value === 'string' && (VAT_MODES as readonly string[]).includes(value);
}

/** The invoice with its VAT in `mode` (absent = `per-line`: the invoice as computed). Unknown modes are invalid input. */
export function withVatMode(invoice: Invoice, mode: VatMode | undefined): Invoice {
  if (mode === undefined || mode === 'per-line') return invoice;
  if (!isVatMode(mode)) throw new InvalidSettlementInput(`unknown VAT mode ${JSON.stringify(mode)} (${VAT_MODES.join(', ')})`);
  // Lines without VAT (a fee DataHub marks VATPayer D02) are not in the subtotal VAT is computed on.
  const taxable = invoice.lines.filter((l) => l.vatExempt !== true);
  const allocated = vatAllocated(taxable.map((l) => l.amountExclVat));
  let next = 0;
  const vat = invoice.lines.map((l) => (l.vatExempt === true ? Money.ZERO : allocated[next++]!));
  const lines = invoice.lines.map((l, i) => (vat[i]!.equals(l.vat) ? l : { ...l, vat: vat[i]!, amountInclVat: l.amountExclVat.add(vat[i]!) }));
  return invoiceOfLines(invoice.gsrn, invoice.periodFrom, invoice.periodToExclusive, invoice.asOf, lines);
}
