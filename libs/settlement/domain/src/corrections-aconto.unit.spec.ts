import { Money } from '@dh/money';
import { acontoQuarterlyAmount, acontoSettlement, expectedAllInPricePerKwh, vatIncluded, correctedTotals, creditInFull, diffInvoices, settleMeteringPoint, type Invoice, type SettlementInput } from './index';
import { GSRN, hourlySpot, meteredSeries, priceBook, settlementInput } from './testing/settlement-fixtures';

function invoice(input: SettlementInput): Invoice {
  const r = settleMeteringPoint(input);
  if (r.outcome !== 'settled') throw new Error(JSON.stringify(r));
  return r.invoice;
}

describe('corrections', () => {
  // 2026-06-15, 24 h × 4 quarters × 0.250 = 24.000 kWh, spot 400 DKK/MWh.
  const base = settlementInput({
    billingPeriod: { kind: 'month', year: 2026, month: 6 },
    supplyPeriods: [{ start: '2026-06-15', endExclusive: '2026-06-16' }],
    consumption: meteredSeries(GSRN, 'PT15M', '2026-06-15', '2026-06-16', () => '0.250'),
    prices: priceBook(hourlySpot('DK2', '2026-06-15', '2026-06-16', () => '400')),
  });
  const issued = invoice(base);
  // The grid company re-sends one quarter: 0.250 → 1.250 kWh (+1.000 kWh, 2026-06-15 09:00–09:15 local).
  const recomputed = invoice({
    ...base,
    consumption: { ...base.consumption, intervals: base.consumption.intervals.map((i) => (i.start.toISOString() === '2026-06-15T07:00:00.000Z' ? { ...i, quantityKwh: '1.250' } : i)) },
  });

  it('is empty when nothing changed', () => {
    expect(diffInvoices(issued, issued)).toMatchObject({ noteType: 'none', lines: [], totals: { exclVat: Money.ZERO, vat: Money.ZERO, inclVat: Money.ZERO } });
  });

  it('debits the difference per line kind, VAT as the difference of the lines’ VAT', () => {
    const note = diffInvoices(issued, recomputed);
    expect(note.noteType).toBe('debit');
    const t = Object.fromEntries(note.lines.map((l) => [l.key, [l.quantityKwh, l.amountExclVat.format(), l.vat.format()]]));
    // energy: 24 × 0.45 = 10.80 (VAT 2.70) → 25 × 0.45 = 11.25 (VAT 2.8125 → 2.81): +0.45, VAT +0.11
    // grid tariff (09:00 off-peak 0.325): 24 kWh = 4 × 0.9751 + 20 × 0.325 = 3.9004 + 6.5 = 10.4004 → 10.40 (VAT 2.60);
    //   25 kWh: 10.7254 → 10.73 (VAT 2.6825 → 2.68): +0.33, VAT +0.08
    // system: 1.728 → 1.73 (0.4325 → 0.43) vs 1.80 (0.45): +0.07, +0.02
    // transmission: 1.032 → 1.03 (0.2575 → 0.26) vs 1.075 → 1.08 (0.27): +0.05, +0.01
    // tax: 0.192 → 0.19 (0.0475 → 0.05) vs 0.20 (0.05): +0.01, 0.00
    expect(t).toEqual({
      energy: ['1.000', '0.45', '0.11'],
      'grid-tariff': ['1.000', '0.33', '0.08'],
      'system-tariff': ['1.000', '0.07', '0.02'],
      'transmission-tariff': ['1.000', '0.05', '0.01'],
      'electricity-tax': ['1.000', '0.01', '0.00'],
    });
    expect(note.totals.exclVat.format()).toBe('0.91');
    expect(correctedTotals(issued, note)).toEqual(recomputed.totals);
  });

  it('credits an invoice in full for an incorrect switch (BRS-003)', () => {
    const note = creditInFull(issued);
    expect(note.noteType).toBe('credit');
    expect(note.lines).toHaveLength(issued.lines.length);
    expect(note.totals.inclVat).toEqual(issued.totals.inclVat.negate());
    expect(note.lines[0]).toMatchObject({ key: 'energy', quantityKwh: '-24.000', amountExclVat: Money.parse('-10.80'), vat: Money.parse('-2.70') });
    expect(note.lines.find((l) => l.key === 'grid-subscription:2026-06')).toMatchObject({ quantityKwh: null, daysSupplied: -1 });
  });

  it('refuses to diff invoices of different metering points or periods', () => {
    expect(() => diffInvoices(issued, { ...recomputed, gsrn: '571234567891234568' })).toThrow('Cannot diff');
  });
});

describe('aconto', () => {
  it('quarterly amount = (annual kWh × price + 12 × subscriptions) × 1.25 ÷ 4, rounded once', () => {
    // 4,000 × 2.3456 = 9,382.4; 12 × (36.773011 + 15.583333 + 39) = 12 × 91.356344 = 1,096.276128
    // (9,382.4 + 1,096.276128) × 1.25 / 4 = 10,478.676128 × 0.3125 = 3,274.58629 → 3,274.59
    expect(acontoQuarterlyAmount({ expectedAnnualKwh: '4000', expectedAllInPricePerKwh: '2.3456', monthlySubscriptions: ['36.773011', '15.583333', '39'] }).format()).toBe('3274.59');
    // 1 × 0.01 × 1.25 / 4 = 0.003125 → 0.00; 1 × 0.02 → 0.00625 → 0.01 (half away from zero)
    expect(acontoQuarterlyAmount({ expectedAnnualKwh: '1', expectedAllInPricePerKwh: '0.01', monthlySubscriptions: '0' }).format()).toBe('0.00');
    expect(acontoQuarterlyAmount({ expectedAnnualKwh: '1', expectedAllInPricePerKwh: '0.02', monthlySubscriptions: '0' }).format()).toBe('0.01');
    // a seasonal product share: 40 % in Q1 → 10,478.676128 × 1.25 × 0.4 = 5,239.338064 → 5,239.34
    expect(acontoQuarterlyAmount({ expectedAnnualKwh: '4000', expectedAllInPricePerKwh: '2.3456', monthlySubscriptions: ['36.773011', '15.583333', '39'], quarterShare: '0.4' }).format()).toBe('5239.34');
  });

  it('settlement: difference = actual − paid, carried to the net amount due', () => {
    expect(acontoSettlement({ invoiceTotalInclVat: Money.parse('3100.25'), acontoPaid: Money.parse('3274.59') })).toEqual({
      aconto_paid: Money.parse('3274.59'),
      aconto_difference: Money.parse('-174.34'),
      net_amount_due: Money.parse('-174.34'),
    });
    expect(acontoSettlement({ invoiceTotalInclVat: Money.parse('3400.00'), acontoPaid: Money.parse('3274.59'), nextAcontoAmount: Money.parse('3274.59') }).net_amount_due.format()).toBe('3400.00');
  });
});

describe('aconto basis', () => {
  it('prorates a part quarter inside the single rounding', () => {
    // (2,000 × 1.47 + 12 × 84) × 1.25 × 0.25 × 45 / 90 = 3,948 × 0.15625 = 616.875 → 616.88
    expect(acontoQuarterlyAmount({ expectedAnnualKwh: '2000', expectedAllInPricePerKwh: '1.47', monthlySubscriptions: '84', supplied: { days: 45, ofDays: 90 } }).format()).toBe('616.88');
    // 1/3 of 300.00 = 100.00 exactly; 1/3 of 0.10 = 0.0333… → 0.03 (rounded once, not per factor)
    expect(acontoQuarterlyAmount({ expectedAnnualKwh: '0', expectedAllInPricePerKwh: '0', monthlySubscriptions: '80', supplied: { days: 30, ofDays: 90 } }).format()).toBe('100.00');
    expect(() => acontoQuarterlyAmount({ expectedAnnualKwh: '1', expectedAllInPricePerKwh: '1', monthlySubscriptions: '0', supplied: { days: 91, ofDays: 90 } })).toThrow(RangeError);
  });

  it('splits the VAT out of an amount incl. VAT so that excl + VAT = incl', () => {
    // 1,991.95 ÷ 5 = 398.39; 616.88 ÷ 5 = 123.376 → 123.38; 0.03 ÷ 5 = 0.006 → 0.01
    for (const [incl, vat] of [['1991.95', '398.39'], ['616.88', '123.38'], ['0.03', '0.01']] as const) {
      const split = vatIncluded(Money.parse(incl));
      expect(split.vat.format()).toBe(vat);
      expect(split.exclVat.add(split.vat).format()).toBe(incl);
    }
  });

  it('expected all-in price: mean over the hours of spot + per-kWh charges, 6 decimals', () => {
    // 2026-06-15: spot 100 DKK/MWh (0.10 DKK/kWh) in even UTC hours, 200 (0.20) in odd ones.
    const book = priceBook(hourlySpot('DK2', '2026-06-15', '2026-06-16', (h) => (h.getUTCHours() % 2 === 0 ? '100' : '200')));
    const spot = book.spot.get('DK2')!;
    const hours = [new Date('2026-06-14T22:00:00Z'), new Date('2026-06-14T23:00:00Z'), new Date('2026-06-15T00:00:00Z')];
    // spot 0.10, 0.20, 0.10 → mean 0.4 / 3 = 0.133333… → 0.133333
    expect(expectedAllInPricePerKwh({ hours, spot, perKwhCharges: [], asOf: new Date('2030-01-01T00:00:00Z') })).toBe('0.133333');
    // 0.10 + 0.20 + 0.20 = 0.50 / 3 = 0.1666… → 0.166667 (half away from zero at the 6th decimal)
    expect(expectedAllInPricePerKwh({ hours: [hours[0]!, hours[1]!, new Date('2026-06-15T01:00:00Z')], spot, perKwhCharges: [], asOf: new Date('2030-01-01T00:00:00Z') })).toBe('0.166667');
    expect(() => expectedAllInPricePerKwh({ hours: [new Date('2026-06-16T22:00:00Z')], spot, perKwhCharges: [], asOf: new Date('2030-01-01T00:00:00Z') })).toThrow('Missing spot price for DK2');
  });
});
