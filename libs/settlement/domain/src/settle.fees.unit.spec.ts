import { Money, vatOf } from '@dh/money';
import {
  diffInvoices,
  meteredQuantitiesOf,
  resolvePeriodPrices,
  settleMeteringPoint,
  settleMeteringPointOnPrices,
  settleReference,
  type Invoice,
  type LinkedFee,
  type SettlementInput,
  type SettlementResult,
  type VatMode,
} from './index';
import { GSRN, RADIUS_GLN, charge, hourlySpot, meteredSeries, priceBook, row, settlementInput } from './testing/settlement-fixtures';

/**
 * Fees (DataHub charge type D02) linked to the metering point: one line each, on the invoice whose
 * supplied days hold the fee's date, price on that day × the link's pieces, rounded once to øre.
 */

const REOPENING = charge(RADIUS_GLN, 'D02', 'GEB-01', 'Gebyr for genåbning', [row('95.00', '2025-01-01', null, { resolution: 'P1M' })]);
/** 12.345678 per piece: 2 pieces = 24.691356 → 24.69 (rounded once, at the line). */
const READING = charge(RADIUS_GLN, 'D02', 'GEB-02', 'Gebyr for aflæsning', [row('12.345678', '2025-01-01', null)]);
const REOPENING_ID = REOPENING.chargeId;
const READING_ID = READING.chargeId;

const fee = (c: LinkedFee['charge'], date: string, factor = '1'): LinkedFee => ({ charge: c, date, factor });

function settled(r: SettlementResult): Invoice {
  if (r.outcome !== 'settled') throw new Error(`expected an invoice, got halt ${JSON.stringify(r)}`);
  return r.invoice;
}

/** The same input through the three paths (kernel, exact per-interval BigInt, big.js reference) and the run path on shared prices. */
function allPaths(input: SettlementInput): SettlementResult[] {
  const prices = resolvePeriodPrices(input.prices, input.meteringPoint.gridArea, input.product, input.billingPeriod, input.asOf);
  const point = {
    meteringPoint: input.meteringPoint,
    supplyPeriods: input.supplyPeriods,
    consumption: meteredQuantitiesOf(input.consumption, 'consumption', prices.startMs, prices.endMs),
    yearToDateMilliKwh: 0n,
    ...(input.vatMode !== undefined ? { vatMode: input.vatMode } : {}),
    ...(input.fees !== undefined ? { fees: input.fees } : {}),
  };
  return [settleMeteringPoint(input), settleMeteringPoint(input, { path: 'exact-intervals' }), settleReference(input), settleMeteringPointOnPrices(prices, point), settleMeteringPointOnPrices(prices, point, { path: 'exact-intervals' })];
}

function agreed(input: SettlementInput): Invoice {
  const [first, ...others] = allPaths(input);
  for (const other of others) expect(JSON.stringify(other)).toBe(JSON.stringify(first));
  return settled(first!);
}

const feeRows = (inv: Invoice) => inv.lines.filter((l) => l.kind === 'fee').map((l) => [l.key, l.description, l.chargeId, l.unitPrice, l.amountExclVat.format(), l.vat.format(), l.amountInclVat.format()]);

describe('fees (D02) linked to the metering point, worked out by hand', () => {
  // October 2026, supply from 20 October: 0.250 kWh a quarter-hour, spot 0.40 DKK/kWh.
  const base = settlementInput({
    billingPeriod: { kind: 'month', year: 2026, month: 10 },
    supplyPeriods: [{ start: '2026-10-20', endExclusive: null }],
    consumption: meteredSeries(GSRN, 'PT15M', '2026-10-01', '2026-11-01', () => '0.250'),
    prices: priceBook(hourlySpot('DK2', '2026-10-01', '2026-11-01', () => '400')),
  });
  const withFees: SettlementInput = {
    ...base,
    fees: [
      fee(REOPENING, '2026-10-22'),
      fee(READING, '2026-10-31', '2'),
      // Before the supply started (another customer's, or nobody's) and after the period: not on this invoice.
      fee(REOPENING, '2026-10-19'),
      fee(READING, '2026-11-01'),
    ],
  };

  for (const vatMode of ['per-line', 'invoice-subtotal'] as const satisfies readonly VatMode[]) {
    it(`VAT mode ${vatMode}: each fee dated on a supplied day is its own line, price × pieces, rounded once; kernel, exact path, run path and reference agree`, () => {
      const without = agreed({ ...base, vatMode });
      const inv = agreed({ ...withFees, vatMode });
      // Every other line is the invoice without fees, unchanged (in per-line mode to the øre, VAT included).
      expect(inv.lines.filter((l) => l.kind !== 'fee').map((l) => [l.key, l.amountExclVat.format()])).toEqual(without.lines.map((l) => [l.key, l.amountExclVat.format()]));
      // 95.00 × 1 = 95.00, VAT 23.75; 12.345678 × 2 = 24.691356 → 24.69, VAT 6.1725 → 6.17.
      expect(feeRows(inv)).toEqual([
        [`fee:${REOPENING_ID}@2026-10-22`, 'Gebyr for genåbning (2026-10-22)', REOPENING_ID, '95.00', '95.00', '23.75', '118.75'],
        [`fee:${READING_ID}@2026-10-31`, 'Gebyr for aflæsning (2026-10-31)', READING_ID, '12.345678', '24.69', '6.17', '30.86'],
      ]);
      expect(inv.totals.exclVat.format()).toBe(without.totals.exclVat.add(Money.parse('119.69')).format());
      if (vatMode === 'per-line') expect(inv.totals.vat.format()).toBe(without.totals.vat.add(Money.parse('29.92')).format());
      else expect(inv.totals.vat.format()).toBe(vatOf(inv.totals.exclVat).format());
      expect(Money.sum(inv.lines.map((l) => l.vat)).format()).toBe(inv.totals.vat.format());
    });
  }

  for (const vatMode of ['per-line', 'invoice-subtotal'] as const satisfies readonly VatMode[]) {
    it(`VAT mode ${vatMode}: a fee DataHub marks VATPayer D02 (no VAT) has no VAT and stays out of the VAT base`, () => {
      const without = agreed({ ...base, vatMode });
      const inv = agreed({ ...base, vatMode, fees: [{ ...fee(REOPENING, '2026-10-22'), vatExempt: true }] });
      expect(feeRows(inv)).toEqual([[`fee:${REOPENING_ID}@2026-10-22`, 'Gebyr for genåbning (2026-10-22)', REOPENING_ID, '95.00', '95.00', '0.00', '95.00']]);
      expect(inv.lines.find((l) => l.kind === 'fee')!.vatExempt).toBe(true);
      // The other lines and their VAT are the invoice without the fee, in both modes; 95.00 more excl. and incl. VAT.
      expect(inv.lines.filter((l) => l.kind !== 'fee').map((l) => [l.key, l.amountExclVat.format(), l.vat.format()])).toEqual(without.lines.map((l) => [l.key, l.amountExclVat.format(), l.vat.format()]));
      expect([inv.totals.exclVat.format(), inv.totals.vat.format(), inv.totals.inclVat.format()]).toEqual([
        without.totals.exclVat.add(Money.parse('95.00')).format(),
        without.totals.vat.format(),
        without.totals.inclVat.add(Money.parse('95.00')).format(),
      ]);
    });
  }

  it('two links of one fee on one day add their pieces on one line', () => {
    const inv = agreed({ ...base, fees: [fee(REOPENING, '2026-10-25'), fee(REOPENING, '2026-10-25', '2')] });
    expect(feeRows(inv)).toEqual([[`fee:${REOPENING_ID}@2026-10-25`, 'Gebyr for genåbning (2026-10-25)', REOPENING_ID, '95.00', '285.00', '71.25', '356.25']]);
  });

  it('the fee is on exactly one of two customer supplies of the period: the one whose days hold its date', () => {
    const fees = [fee(REOPENING, '2026-10-15'), fee(READING, '2026-10-14')];
    const first = agreed({ ...base, supplyPeriods: [{ start: '2026-10-01', endExclusive: '2026-10-15' }], fees });
    const second = agreed({ ...base, supplyPeriods: [{ start: '2026-10-15', endExclusive: null }], fees });
    expect(feeRows(first).map((r) => r[0])).toEqual([`fee:${READING_ID}@2026-10-14`]);
    expect(feeRows(second).map((r) => r[0])).toEqual([`fee:${REOPENING_ID}@2026-10-15`]);
  });

  it('prices the fee at the price version known at asOf on its day: a later version corrects only the fee line', () => {
    const repriced = charge(RADIUS_GLN, 'D02', 'GEB-01', 'Gebyr for genåbning', [
      row('95.00', '2025-01-01', null, { resolution: 'P1M' }),
      row('100.00', '2026-10-01', null, { resolution: 'P1M', publishedAt: new Date('2030-06-01T00:00:00Z'), version: 2 }),
    ]);
    const issued = agreed({ ...base, fees: [fee(repriced, '2026-10-22')] });
    const recomputed = agreed({ ...base, fees: [fee(repriced, '2026-10-22')], asOf: new Date('2030-07-01T00:00:00Z') });
    expect(feeRows(issued)[0]![4]).toBe('95.00');
    const note = diffInvoices(issued, recomputed);
    expect(note.noteType).toBe('debit');
    expect(note.lines.map((l) => [l.key, l.amountExclVat.format(), l.vat.format()])).toEqual([[`fee:${REOPENING_ID}@2026-10-22`, '5.00', '1.25']]);
  });

  it('a fee link added after invoicing is a debit of the fee alone; removed again, a credit of it', () => {
    const issued = agreed(base);
    const linked = agreed({ ...base, fees: [fee(REOPENING, '2026-10-22')] });
    expect(diffInvoices(issued, linked).lines.map((l) => [l.key, l.amountExclVat.format(), l.vat.format()])).toEqual([[`fee:${REOPENING_ID}@2026-10-22`, '95.00', '23.75']]);
    const note = diffInvoices(linked, issued);
    expect(note.noteType).toBe('credit');
    expect(note.lines.map((l) => [l.key, l.amountExclVat.format(), l.vat.format()])).toEqual([[`fee:${REOPENING_ID}@2026-10-22`, '-95.00', '-23.75']]);
    // Settled again with the same fee: nothing to correct (never charged twice).
    expect(diffInvoices(linked, agreed({ ...base, fees: [fee(REOPENING, '2026-10-22')] })).noteType).toBe('none');
  });

  it('halts, on every path alike, when a fee has no price on its day or its factor is not a whole number of pieces', () => {
    const late = charge(RADIUS_GLN, 'D02', 'GEB-03', 'Gebyr', [row('50.00', '2026-10-25', null)]);
    for (const r of allPaths({ ...base, fees: [fee(late, '2026-10-22')] })) {
      expect(r).toMatchObject({ outcome: 'halted', reason: 'missing-price', chargeId: late.chargeId, interval: { start: new Date('2026-10-21T22:00:00Z') } });
    }
    // The same fee dated outside the supply is not this invoice's: no halt.
    expect(agreed({ ...base, fees: [fee(late, '2026-10-05')] }).lines.some((l) => l.kind === 'fee')).toBe(false);
    for (const r of allPaths({ ...base, fees: [fee(REOPENING, '2026-10-22', '1.5')] })) expect(r).toMatchObject({ outcome: 'halted', reason: 'invalid-input', problem: expect.stringContaining('whole number') });
    const hourly = charge(RADIUS_GLN, 'D02', 'GEB-04', 'Gebyr', [row(Array.from({ length: 24 }, () => '1.00'), '2025-01-01', null)]);
    for (const r of allPaths({ ...base, fees: [fee(hourly, '2026-10-22')] })) expect(r).toMatchObject({ outcome: 'halted', reason: 'missing-configuration' });
  });
});
