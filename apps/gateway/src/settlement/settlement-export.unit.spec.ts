import type { SettlementInvoiceReadModel, SettlementNoteReadModel } from '@dh/read-models';
import { CSV_COLUMNS, exportCsv, exportInvoice, exportNote } from './settlement-export';

const line = (key: string, kind: string, description: string, quantityKwh: string | null, amountExclVat: string, vat: string, amountInclVat: string) => ({
  key,
  kind,
  description,
  chargeId: null,
  month: null,
  quantityKwh,
  daysSupplied: null,
  amountExclVat,
  vat,
  amountInclVat,
});

function invoiceRow(): SettlementInvoiceReadModel {
  return {
    invoiceId: '22222222-2222-5222-8222-222222222222',
    runId: null,
    customerId: 'customer-2',
    gsrn: '571313174000000019',
    period: '2026-10',
    periodStart: '2026-10-01',
    periodEnd: '2026-10-31',
    paymentModel: 'aconto',
    lines: [line('energy', 'energy', 'Energi, "spot"', '745.000', '782.25', '195.56', '977.81'), line('product-subscription:2026-10', 'product-subscription', 'Abonnement', null, '39', '9.75', '48.75')],
    // numeric columns as PostgreSQL returns them; "39" and "-0.5" must still leave as 2-decimal strings.
    totalExclVat: '821.25',
    totalVat: '205.31',
    totalInclVat: '1026.56',
    acontoPaid: '1000',
    acontoDifference: '26.56',
    netAmountDue: '26.56',
    estimated: false,
    asOf: new Date('2026-11-02T00:00:00Z'),
    issuedAt: new Date('2026-11-02T00:00:00Z'),
  };
}

describe('ERP settlement export', () => {
  it('has every field of the mission export table, amounts as 2-decimal strings', () => {
    const e = exportInvoice(invoiceRow());
    expect(Object.keys(e).sort()).toEqual(
      ['invoice_id', 'customer_id', 'gsrn', 'period_start', 'period_end', 'lines', 'total_excl_vat', 'total_vat', 'total_incl_vat', 'aconto_paid', 'aconto_difference', 'net_amount_due', 'payment_reference'].sort(),
    );
    expect(e).toMatchObject({ period_start: '2026-10-01', period_end: '2026-10-31', total_incl_vat: '1026.56', aconto_paid: '1000.00', aconto_difference: '26.56', net_amount_due: '26.56' });
    expect(e.lines[1]).toMatchObject({ kind: 'product-subscription', quantity_kwh: null, amount_excl_vat: '39.00', vat_amount: '9.75', amount_incl_vat: '48.75' });
  });

  it('gives customers who do not pay aconto no aconto difference (0.00, never the invoice total)', () => {
    const actual = exportInvoice({ ...invoiceRow(), paymentModel: 'actual', acontoPaid: '0', acontoDifference: '1026.56', netAmountDue: '1026.56' });
    expect(actual).toMatchObject({ total_incl_vat: '1026.56', aconto_paid: '0.00', aconto_difference: '0.00', net_amount_due: '1026.56' });
  });

  it('writes RFC 4180 CSV, one row per line, quoting commas and quotes', () => {
    const rows = exportCsv([exportInvoice(invoiceRow())]).split('\r\n');
    expect(rows[0]).toBe(CSV_COLUMNS.join(','));
    expect(rows[1]).toBe(
      '22222222-2222-5222-8222-222222222222,customer-2,571313174000000019,2026-10-01,2026-10-31,energy,energy,"Energi, ""spot""",745.000,,782.25,195.56,821.25,205.31,1026.56,1000.00,26.56,26.56',
    );
    expect(rows[2]).toBe(
      '22222222-2222-5222-8222-222222222222,customer-2,571313174000000019,2026-10-01,2026-10-31,product-subscription:2026-10,product-subscription,Abonnement,,,39.00,9.75,821.25,205.31,1026.56,1000.00,26.56,26.56',
    );
    expect(rows.slice(3)).toEqual(['']);
  });

  it('exports notes with signed 2-decimal totals', () => {
    const note: SettlementNoteReadModel = {
      noteId: 'n',
      invoiceId: 'i',
      customerId: 'c',
      gsrn: 'g',
      period: '2026-10',
      noteType: 'credit',
      cause: 'metered-data',
      lines: [line('energy', 'energy', 'Energi', '-1.000', '-1.05', '-0.26', '-1.31')],
      totalExclVat: '-1.05',
      totalVat: '-0.26',
      totalInclVat: '-1.3',
      issuedAt: new Date('2026-11-03T00:00:00Z'),
      exportState: 'pending',
      acknowledgedAt: null,
      erpReference: null,
    };
    expect(exportNote(note)).toMatchObject({ note_type: 'credit', total_incl_vat: '-1.30', lines: [{ amount_excl_vat: '-1.05', vat_amount: '-0.26' }], issued_at: '2026-11-03T00:00:00.000Z' });
    expect(exportNote(note).export).toEqual({ state: 'pending', acknowledged_at: null, erp_reference: null });
    const booked = exportNote({ ...note, exportState: 'acknowledged', acknowledgedAt: new Date('2026-11-04T08:00:00Z'), erpReference: 'CN-1001' });
    expect(booked.export).toEqual({ state: 'acknowledged', acknowledged_at: '2026-11-04T08:00:00.000Z', erp_reference: 'CN-1001' });
  });
});
