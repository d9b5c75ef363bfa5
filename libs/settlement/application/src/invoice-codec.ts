import { Money } from '@dh/money';
import type { CorrectionNote, Invoice, InvoiceLine, InvoiceTotals, LineKind } from '@dh/settlement-domain';
import type { CorrectionLineJson, InvoiceLineJson, TotalsJson } from './events';

export function lineToJson(l: InvoiceLine): InvoiceLineJson {
  return {
    key: l.key,
    kind: l.kind,
    description: l.description,
    chargeId: l.chargeId,
    month: l.month,
    quantityKwh: l.quantityKwh,
    daysSupplied: l.daysSupplied,
    daysInMonth: l.daysInMonth,
    unitPrice: l.unitPrice,
    amountExclVat: l.amountExclVat.format(),
    vat: l.vat.format(),
    amountInclVat: l.amountInclVat.format(),
    estimated: l.estimated,
    ...(l.vatExempt === true ? { vatExempt: true as const } : {}),
  };
}

export function lineFromJson(j: InvoiceLineJson): InvoiceLine {
  return {
    key: j.key,
    kind: j.kind as LineKind,
    description: j.description,
    chargeId: j.chargeId,
    month: j.month,
    quantityKwh: j.quantityKwh,
    daysSupplied: j.daysSupplied,
    daysInMonth: j.daysInMonth,
    unitPrice: j.unitPrice,
    amountExclVat: Money.parse(j.amountExclVat),
    vat: Money.parse(j.vat),
    amountInclVat: Money.parse(j.amountInclVat),
    estimated: j.estimated,
    ...(j.vatExempt === true ? { vatExempt: true as const } : {}),
  };
}

export function totalsToJson(t: InvoiceTotals): TotalsJson {
  return { exclVat: t.exclVat.format(), vat: t.vat.format(), inclVat: t.inclVat.format() };
}

export function totalsFromJson(t: TotalsJson): InvoiceTotals {
  return { exclVat: Money.parse(t.exclVat), vat: Money.parse(t.vat), inclVat: Money.parse(t.inclVat) };
}

export function invoiceFromJson(j: { gsrn: string; periodStart: string; periodToExclusive: string; asOf: string; lines: InvoiceLineJson[]; totals: TotalsJson }): Invoice {
  const lines = j.lines.map(lineFromJson);
  return {
    gsrn: j.gsrn,
    periodFrom: j.periodStart,
    periodToExclusive: j.periodToExclusive,
    asOf: new Date(j.asOf),
    lines,
    totals: totalsFromJson(j.totals),
    estimated: lines.some((l) => l.estimated),
  };
}

export function noteLinesToJson(note: CorrectionNote): CorrectionLineJson[] {
  return note.lines.map((l) => ({
    key: l.key,
    kind: l.kind,
    month: l.month,
    description: l.description,
    chargeId: l.chargeId,
    quantityKwh: l.quantityKwh,
    daysSupplied: l.daysSupplied,
    amountExclVat: l.amountExclVat.format(),
    vat: l.vat.format(),
    amountInclVat: l.amountInclVat.format(),
  }));
}
