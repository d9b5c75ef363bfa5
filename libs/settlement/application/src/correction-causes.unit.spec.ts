import { localDayIntervals } from '@dh/dk-time';
import { gsrnCheckDigit } from '@dh/market-ids';
import { diffInvoices } from '@dh/settlement-domain';
import { withCauses, type CorrectionLineWithCauses } from './correction-causes';
import { invoiceFromJson, noteLinesToJson } from './invoice-codec';
import { computationInputsOf, computeInvoice } from './invoice-explanation';
import { buildSettlementInput, DEFAULT_RATES_CONFIG, type SettlementCopies } from './settlement-input';
import { GRID_TARIFF_C, hourlyDays, RADIUS_GLN, TEST_GSRN, testCharge, testCopies, testSupply } from './testing/copies';

const OCTOBER = { kind: 'month', year: 2025, month: 10 } as const;
const AS_OF = new Date('2025-11-05T00:00:00Z');
const LATER = new Date('2025-11-01T00:00:00Z');
const base = testCopies('2025-10-01', '2025-11-01', { consumption: hourlyDays(TEST_GSRN, '2025-10-01', '2025-11-01', '1.000') });

/** The dry run's note between two computations of the same invoice, each line with its causes. */
function note(before: SettlementCopies, after: SettlementCopies): CorrectionLineWithCauses[] {
  const a = computeInvoice(TEST_GSRN, OCTOBER, AS_OF, before);
  const b = computeInvoice(TEST_GSRN, OCTOBER, AS_OF, after);
  if (a.outcome !== 'settled' || b.outcome !== 'settled') throw new Error('expected both to settle');
  const json = (c: typeof a) => invoiceFromJson({ gsrn: TEST_GSRN, periodStart: '2025-10-01', periodToExclusive: '2025-11-01', asOf: c.asOf, lines: c.lines, totals: c.totals });
  return withCauses(noteLinesToJson(diffInvoices(json(a), json(b))), a.inputs, b.inputs);
}
const causesOf = (lines: CorrectionLineWithCauses[]) => Object.fromEntries(lines.map((l) => [l.key, l.causes.map((c) => c.input)]));

describe('a dry run names, per line, the inputs that changed under it (old → new version)', () => {
  it('metered data: the corrected day, version 1 → 2 with its document, on every kWh line and no subscription', () => {
    const v2 = hourlyDays(TEST_GSRN, '2025-10-10', '2025-10-11', (_, h) => (h === 4 ? '3.000' : '1.000')).map((d) => ({ ...d, version: 2, documentId: 'doc-2', receivedAt: LATER }));
    const lines = note(base, { ...base, consumption: [...base.consumption.filter((d) => d.day !== '2025-10-10'), ...v2] });
    expect(causesOf(lines)).toEqual({
      energy: ['metered-data'],
      'grid-tariff': ['metered-data'],
      'system-tariff': ['metered-data'],
      'transmission-tariff': ['metered-data'],
      'electricity-tax': ['metered-data'],
    });
    expect(lines[0]!.causes).toEqual([
      {
        input: 'metered-data',
        series: 'consumption',
        gsrn: TEST_GSRN,
        day: '2025-10-10',
        old: { version: 1, documentId: null, receivedAt: null },
        new: { version: 2, documentId: 'doc-2', receivedAt: LATER.toISOString() },
      },
    ]);
  });

  it('spot price: the delivery day whose prices came in a new version, on the energy line only', () => {
    const v2 = localDayIntervals('2025-10-20', 'PT1H').map((start, i) => ({ priceArea: 'DK2', start, resolution: 'PT1H' as const, dkkPerKwh: i === 0 ? '2.00' : '1.00', version: 2, publishedAt: LATER }));
    const lines = note(base, { ...base, spotPrices: [...base.spotPrices, ...v2] });
    expect(lines.map((l) => [l.key, l.amountExclVat])).toEqual([['energy', '1.00']]);
    expect(lines[0]!.causes).toEqual([
      { input: 'spot-price', priceArea: 'DK2', day: '2025-10-20', old: { resolution: 'PT1H', versions: [1], latestPublishedAt: '2024-06-01T00:00:00.000Z' }, new: { resolution: 'PT1H', versions: [2], latestPublishedAt: LATER.toISOString() } },
    ]);
  });

  it("a charge's price version from the 16th: the grid tariff line, those 16 days, version 1 → 2", () => {
    const c = testCharge(GRID_TARIFF_C, 'PT1H', Array.from({ length: 24 }, () => '0.30'));
    const v2 = { validFrom: '2025-10-16', validTo: null, resolution: 'PT1H' as const, prices: Array.from({ length: 24 }, () => '0.40'), version: 2, publishedAt: LATER };
    const lines = note(base, { ...base, charges: base.charges.map((x) => (x.chargeId === GRID_TARIFF_C ? { ...c, rows: [...c.rows, v2] } : x)) });
    expect(causesOf(lines)).toEqual({ 'grid-tariff': ['charge-price'] });
    expect(lines[0]!.causes[0]).toMatchObject({
      role: 'grid-tariff',
      firstDay: '2025-10-16',
      lastDay: '2025-10-31',
      days: 16,
      old: { chargeId: GRID_TARIFF_C, version: 1, validFrom: '2024-01-01' },
      new: { chargeId: GRID_TARIFF_C, version: 2, validFrom: '2025-10-16', publishedAt: LATER.toISOString() },
    });
  });

  it('a tax rate version: the electricity tax line, every day, version 1 → 2', () => {
    const lines = note(base, { ...base, taxRates: [...base.taxRates, { validFrom: '2025-01-01', validTo: null, normalDkkPerKwh: '0.750', reducedDkkPerKwh: '0.008', publishedAt: LATER, version: 2 }] });
    expect(causesOf(lines)).toEqual({ 'electricity-tax': ['tax-rate'] });
    expect(lines[0]!.causes[0]).toMatchObject({ role: 'electricity-tax', firstDay: '2025-10-01', lastDay: '2025-10-31', days: 31, old: { version: 1, prices: ['0.720000000'] }, new: { version: 2, prices: ['0.750000000'] } });
  });

  it("a product's new margin: the energy line, product price old → new", () => {
    const lines = note(base, { ...base, products: [...base.products, { ...base.products[0]!, marginDkkPerKwh: '0.06', validFrom: '2025-10-01', publishedAt: LATER }] });
    expect(causesOf(lines)).toEqual({ energy: ['product-price'] });
    expect(lines[0]!.causes[0]).toMatchObject({ role: 'product-margin', days: 31, old: { prices: ['0.050000000'] }, new: { prices: ['0.060000000'], validFrom: '2025-10-01' } });
  });

  it('the supply end moved to the 21st: every line names the supply (31 → 20 days)', () => {
    const lines = note(base, { ...base, supplies: [testSupply({ endDate: '2025-10-21' })] });
    expect(new Set(lines.flatMap((l) => l.causes.map((c) => c.input)))).toEqual(new Set(['supply']));
    expect(lines.find((l) => l.key === 'grid-subscription:2025-10')!.causes).toEqual([
      {
        input: 'supply',
        old: { productId: 'spot', products: [{ productId: 'spot', firstDay: '2025-10-01', lastDay: '2025-10-31', days: 31 }], suppliedDays: 31, firstDay: '2025-10-01', lastDay: '2025-10-31' },
        new: { productId: 'spot', products: [{ productId: 'spot', firstDay: '2025-10-01', lastDay: '2025-10-20', days: 20 }], suppliedDays: 20, firstDay: '2025-10-01', lastDay: '2025-10-20' },
      },
    ]);
  });

  it('a production point linked: the kWh lines name the production link', () => {
    const production = `57131317400000002${gsrnCheckDigit('57131317400000002')}`;
    const withFee = { ...base, products: [{ ...base.products[0]!, exportFeeDkkPerKwh: '0.02' }] };
    const lines = note(withFee, { ...withFee, supplies: [testSupply({ productionGsrn: production })], production: hourlyDays(production, '2025-10-01', '2025-11-01', '0.500') });
    expect(lines.find((l) => l.key === 'energy')!.causes).toEqual([{ input: 'production-link', old: null, new: production }]);
  });

  it('electric heating registered: the electricity tax lines name the threshold', () => {
    // 10 kWh an hour: 7,440 kWh in October, above the threshold (4,000 kWh a year, nothing before October).
    const heavy = { ...base, consumption: hourlyDays(TEST_GSRN, '2025-10-01', '2025-11-01', '10.000') };
    const lines = note(heavy, { ...heavy, supplies: [testSupply({ electricHeating: true })] });
    expect(lines.find((l) => l.kind === 'electricity-tax-reduced')!.causes).toEqual([{ input: 'electric-heating', old: null, new: expect.objectContaining({ annualThresholdKwh: '4000' }) }]);
    expect(lines.find((l) => l.kind === 'electricity-tax')!.causes).toEqual([{ input: 'electric-heating', old: null, new: expect.objectContaining({ annualThresholdKwh: '4000' }) }]);
  });

  it('a product change from the 16th: the product lines name the supply (spot → fixed from the 16th); the margin priced alike on the first 15 days is no change', () => {
    const fixed = { ...base.products[0]!, productId: 'fixed', name: 'Fast', marginDkkPerKwh: '0.10', monthlySubscriptionDkk: '49.00' };
    const copies = { ...base, products: [...base.products, fixed] };
    const lines = note(copies, { ...copies, productChanges: [{ gsrn: TEST_GSRN, from: '2025-10-16', productId: 'fixed' }] });
    expect(lines.map((l) => [l.key, l.amountExclVat])).toEqual([
      // 16–31 October 2025 = 385 hours (26 October has 25) × 1 kWh × 0.05 more = 19.25; 39.00 × 15/31 + 49.00 × 16/31 = 44.16.
      ['energy', '19.25'],
      ['product-subscription:2025-10', '5.16'],
    ]);
    const energy = lines[0]!.causes;
    expect(energy.map((c) => c.input)).toEqual(['supply', 'product-price']);
    expect(energy[0]).toMatchObject({
      old: { products: [{ productId: 'spot', days: 31 }] },
      new: { products: [{ productId: 'spot', firstDay: '2025-10-01', lastDay: '2025-10-15', days: 15 }, { productId: 'fixed', firstDay: '2025-10-16', lastDay: '2025-10-31', days: 16 }] },
    });
    expect(energy[1]).toMatchObject({ role: 'product-margin', firstDay: '2025-10-16', lastDay: '2025-10-31', days: 16, old: { prices: ['0.050000000'] }, new: { chargeId: 'product:spot+fixed:margin', prices: ['0.100000000'] } });
  });

  it('a fee (D02): its new price version, a link added and one stopped are the fee line\'s own cause, nothing else', () => {
    const FEE = `${RADIUS_GLN}:D02:GEB-01`;
    const fee = testCharge(FEE, 'P1M', ['95.00']);
    const link = { gsrn: TEST_GSRN, chargeId: FEE, owner: RADIUS_GLN, code: 'GEB-01', factor: '1', date: '2025-10-12' };
    const linked = { ...base, charges: [...base.charges, fee], feeLinks: [link] };
    const v2 = { validFrom: '2025-10-01', validTo: null, resolution: 'P1M' as const, prices: ['100.00'], version: 2, publishedAt: LATER };
    const repriced = note(linked, { ...linked, charges: [...base.charges, { ...fee, rows: [...fee.rows, v2] }] });
    expect(repriced.map((l) => [l.key, l.amountExclVat, l.vat])).toEqual([[`fee:${FEE}@2025-10-12`, '5.00', '1.25']]);
    const row = (version: number, price: string, publishedAt: string, validFrom: string) => ({ validFrom, validTo: null, version, publishedAt, resolution: 'P1M', prices: [price] });
    expect(repriced[0]!.causes).toEqual([
      {
        input: 'fee',
        chargeId: FEE,
        date: '2025-10-12',
        old: { chargeId: FEE, description: 'GEB-01', date: '2025-10-12', pieces: '1', vatExempt: false, row: row(1, '95.000000000', '2024-06-01T00:00:00.000Z', '2024-01-01') },
        new: { chargeId: FEE, description: 'GEB-01', date: '2025-10-12', pieces: '1', vatExempt: false, row: row(2, '100.000000000', LATER.toISOString(), '2025-10-01') },
      },
    ]);
    expect(causesOf(note(base, linked))).toEqual({ [`fee:${FEE}@2025-10-12`]: ['fee'] });
    expect(note(linked, base)[0]!.causes).toMatchObject([{ input: 'fee', old: { pieces: '1' }, new: null }]);
  });
});

describe("a note's causes from the correction's own computation (computationInputsOf)", () => {
  const built = (copies: SettlementCopies, asOf: Date) => buildSettlementInput(TEST_GSRN, OCTOBER, asOf, copies, DEFAULT_RATES_CONFIG, null);
  const settledInputs = (copies: SettlementCopies, asOf: Date) => {
    const c = computeInvoice(TEST_GSRN, OCTOBER, asOf, copies);
    if (c.outcome !== 'settled') throw new Error('expected it to settle');
    return c.inputs;
  };

  it("are computeInvoice's inputs, without settling again, for the input the correction built", () => {
    const v2 = localDayIntervals('2025-10-20', 'PT1H').map((start) => ({ priceArea: 'DK2', start, resolution: 'PT1H' as const, dkkPerKwh: '1.50', version: 2, publishedAt: LATER }));
    const copies = { ...base, spotPrices: [...base.spotPrices, ...v2] };
    for (const asOf of [AS_OF, new Date('2025-10-31T00:00:00Z')]) {
      const found = computationInputsOf(TEST_GSRN, copies, built(copies, asOf));
      expect(found).toEqual({ outcome: 'used', inputs: settledInputs(copies, asOf) });
    }
  });

  it('take the metered uses of the other side as they are only when it supplied the same days from the same series', () => {
    const after = computationInputsOf(TEST_GSRN, base, built(base, AS_OF));
    if (after.outcome !== 'used') throw new Error('expected inputs');
    const before = computationInputsOf(TEST_GSRN, base, built(base, LATER), { sameMetered: after.inputs });
    expect(before).toEqual({ outcome: 'used', inputs: settledInputs(base, LATER) });
    expect(before.outcome === 'used' && before.inputs.metered).toBe(after.inputs.metered);
    // A supply ending on the 20th: other days, the metered uses are computed again.
    const ended = { ...base, supplies: [testSupply({ endDate: '2025-10-21' })] };
    const shorter = computationInputsOf(TEST_GSRN, ended, built(ended, AS_OF), { sameMetered: after.inputs });
    expect(shorter).toEqual({ outcome: 'used', inputs: settledInputs(ended, AS_OF) });
    expect(shorter.outcome === 'used' && shorter.inputs.metered[0]!.days).toHaveLength(20);
  });

  it('are halted when the input is (no supply of the customer)', () => {
    const none = { ...base, supplies: [] };
    expect(computationInputsOf(TEST_GSRN, none, built(none, AS_OF))).toEqual({ outcome: 'halted' });
  });
});
