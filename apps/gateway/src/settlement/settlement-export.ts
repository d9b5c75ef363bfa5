import { Money } from '@dh/money';
import { paymentReference } from '@dh/settlement-application';
import type { AcontoInvoiceReadModel, SettlementInvoiceReadModel, SettlementLineJson, SettlementNoteReadModel } from '@dh/read-models';

/** One invoice in the ERP export format (mission doc, "Settlement export format"); amounts are 2-decimal strings. */
export interface ExportInvoice {
  /** Stable per GSRN and period: a re-export carries the same id, so ERP never books it twice. */
  invoice_id: string;
  customer_id: string;
  gsrn: string;
  period_start: string;
  /** Last day of the billing period, inclusive. */
  period_end: string;
  lines: ExportLine[];
  total_excl_vat: string;
  total_vat: string;
  total_incl_vat: string;
  /** Aconto paid in the period; 0.00 for customers who do not pay aconto. */
  aconto_paid: string;
  /** Actual − aconto paid for aconto customers; 0.00 for the others (never their invoice total). */
  aconto_difference: string;
  net_amount_due: string;
  /** FI payment id (kortart +71, Luhn) the customer pays with: `+71<` + 15 digits; matched by `POST /api/payments`. */
  payment_reference: string;
}

export interface ExportLine {
  line_key: string;
  kind: string;
  description: string;
  charge_id: string | null;
  month: string | null;
  quantity_kwh: string | null;
  unit_price: string | null;
  days_supplied: number | null;
  amount_excl_vat: string;
  vat_amount: string;
  amount_incl_vat: string;
}

export interface ExportNote {
  note_id: string;
  invoice_id: string;
  note_type: string;
  cause: string;
  customer_id: string;
  gsrn: string;
  period: string;
  lines: ExportLine[];
  total_excl_vat: string;
  total_vat: string;
  total_incl_vat: string;
  issued_at: string;
  /** `pending` until ERP acknowledges it booked the note (`POST /api/settlement/credit-notes/{id}/acknowledge`). */
  export: { state: 'pending' | 'acknowledged'; acknowledged_at: string | null; erp_reference: string | null };
}

/**
 * An aconto (advance) invoice as ERP books it: a receivable of its own, separate from the settlement
 * invoice of the same quarter (which carries what was paid in `aconto_paid`). Stable id per GSRN and
 * quarter, so a re-export never books it twice.
 */
export interface ExportAcontoInvoice {
  aconto_invoice_id: string;
  customer_id: string;
  gsrn: string;
  quarter: string;
  period_start: string;
  period_end: string;
  amount_excl_vat: string;
  vat_amount: string;
  amount_incl_vat: string;
  due_date: string;
  trigger: string;
  settled_period: string | null;
  basis: { expected_annual_kwh: string; price_per_kwh: string; price_source: string; reference_month: string; monthly_subscriptions: string; quarter_share: string; days_supplied: number; days_in_quarter: number };
  issued_at: string;
}

/** numeric(18,2) comes back as a string; re-format through Money so it is always exactly 2 decimals. */
export const dkk = (value: string): string => Money.parse(value).format();

export function exportLine(l: SettlementLineJson): ExportLine {
  return {
    line_key: l.key,
    kind: l.kind,
    description: l.description,
    charge_id: l.chargeId,
    month: l.month,
    quantity_kwh: l.quantityKwh,
    unit_price: l.unitPrice ?? null,
    days_supplied: l.daysSupplied,
    amount_excl_vat: dkk(l.amountExclVat),
    vat_amount: dkk(l.vat),
    amount_incl_vat: dkk(l.amountInclVat),
  };
}

export function exportInvoice(i: SettlementInvoiceReadModel): ExportInvoice {
  // Aconto fields belong to customers who pay aconto; for the others there is nothing paid in advance, so no
  // difference either (0.00), and net_amount_due is the invoice total.
  const aconto = i.paymentModel === 'aconto';
  return {
    invoice_id: i.invoiceId,
    customer_id: i.customerId,
    gsrn: i.gsrn,
    period_start: i.periodStart,
    period_end: i.periodEnd,
    lines: i.lines.map(exportLine),
    total_excl_vat: dkk(i.totalExclVat),
    total_vat: dkk(i.totalVat),
    total_incl_vat: dkk(i.totalInclVat),
    aconto_paid: aconto ? dkk(i.acontoPaid) : '0.00',
    aconto_difference: aconto ? dkk(i.acontoDifference) : '0.00',
    net_amount_due: dkk(i.netAmountDue),
    payment_reference: paymentReference(i.invoiceId),
  };
}

export function exportNote(n: SettlementNoteReadModel): ExportNote {
  return {
    note_id: n.noteId,
    invoice_id: n.invoiceId,
    note_type: n.noteType,
    cause: n.cause,
    customer_id: n.customerId,
    gsrn: n.gsrn,
    period: n.period,
    lines: n.lines.map(exportLine),
    total_excl_vat: dkk(n.totalExclVat),
    total_vat: dkk(n.totalVat),
    total_incl_vat: dkk(n.totalInclVat),
    issued_at: n.issuedAt.toISOString(),
    export: { state: n.exportState === 'acknowledged' ? 'acknowledged' : 'pending', acknowledged_at: n.acknowledgedAt?.toISOString() ?? null, erp_reference: n.erpReference },
  };
}

export function exportAcontoInvoice(a: AcontoInvoiceReadModel): ExportAcontoInvoice {
  return {
    aconto_invoice_id: a.acontoInvoiceId,
    customer_id: a.customerId,
    gsrn: a.gsrn,
    quarter: a.quarter,
    period_start: a.periodStart,
    period_end: a.periodEnd,
    amount_excl_vat: dkk(a.amountExclVat),
    vat_amount: dkk(a.vat),
    amount_incl_vat: dkk(a.amountInclVat),
    due_date: a.dueDate,
    trigger: a.trigger,
    settled_period: a.settledPeriod,
    basis: {
      expected_annual_kwh: a.basis.expectedAnnualKwh,
      price_per_kwh: a.basis.pricePerKwh,
      price_source: a.basis.priceSource,
      reference_month: a.basis.referenceMonth,
      monthly_subscriptions: a.basis.monthlySubscriptions,
      quarter_share: a.basis.quarterShare,
      days_supplied: a.basis.daysSupplied,
      days_in_quarter: a.basis.daysInQuarter,
    },
    issued_at: a.issuedAt.toISOString(),
  };
}

export const CSV_COLUMNS = [
  'invoice_id',
  'customer_id',
  'gsrn',
  'period_start',
  'period_end',
  'line_key',
  'line_kind',
  'line_description',
  'line_quantity_kwh',
  'line_unit_price',
  'line_amount_excl_vat',
  'line_vat_amount',
  'total_excl_vat',
  'total_vat',
  'total_incl_vat',
  'aconto_paid',
  'aconto_difference',
  'net_amount_due',
] as const;

export function csvField(value: string | null): string {
  if (value === null) return '';
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** RFC 4180 CSV, one row per invoice line with the invoice's fields repeated; CRLF line ends. */
export function exportCsv(invoices: readonly ExportInvoice[]): string {
  const rows: string[][] = [[...CSV_COLUMNS]];
  for (const i of invoices) {
    for (const l of i.lines) {
      rows.push([
        i.invoice_id,
        i.customer_id,
        i.gsrn,
        i.period_start,
        i.period_end,
        l.line_key,
        l.kind,
        l.description,
        l.quantity_kwh ?? '',
        l.unit_price ?? '',
        l.amount_excl_vat,
        l.vat_amount,
        i.total_excl_vat,
        i.total_vat,
        i.total_incl_vat,
        i.aconto_paid,
        i.aconto_difference,
        i.net_amount_due,
      ]);
    }
  }
  return rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}
