import { settleMeteringPoint, settleReference, type BillingPeriod, type Invoice } from '@dh/settlement-domain';
import { Money, parseQuantityMilliKwh, vatOf } from '@dh/money';
import { addDays, compareLocalDates, localDayStart } from '@dh/dk-time';
import {
  buildPointInput,
  buildSettlementInput,
  customerSuppliesInPeriod,
  DEFAULT_RATES_CONFIG,
  electricHeatingInForce,
  ENERGINET_GLN,
  productDaysOf,
  suppliesInPeriod,
  yearToDateMilliKwh,
  type ChargeLinkRecord,
  type ElectricHeatingChangeRecord,
  type FeeLinkRecord,
  type ProductChangeRecord,
  type ProductDays,
  type SettlementCopies,
  type SupplyRecord,
} from './settlement-input';
import { periodDates } from './period';
import { GRID_SUBSCRIPTION_C, GRID_TARIFF_C, hourlyDays, localDays, RADIUS_GLN, TEST_GSRN, testCharge, testCopies, testSupply } from './testing/copies';

const DECEMBER_2025 = { kind: 'month', year: 2025, month: 12 } as const;

function settle(copies: SettlementCopies, period: BillingPeriod = DECEMBER_2025, customerId: string | null = null): Invoice {
  const built = buildSettlementInput(TEST_GSRN, period, new Date('2026-01-05T00:00:00Z'), copies, DEFAULT_RATES_CONFIG, customerId);
  if (!built.ok) throw new Error(JSON.stringify(built.halt));
  const result = settleMeteringPoint(built.input);
  if (result.outcome !== 'settled') throw new Error(JSON.stringify(result));
  // The big.js reference settles the same input to the same invoice.
  expect(JSON.stringify(settleReference(built.input))).toBe(JSON.stringify(result));
  return result.invoice;
}

const line = (invoice: Invoice, kind: string) => invoice.lines.find((l) => l.kind === kind);

describe('electric-heating year to date: only the days of the supply the threshold is prorated over', () => {
  // A (elvarme) supplied 1 January – 30 June 2025 and used 3,000 kWh; B (elvarme) moved in 1 July, used
  // 800 kWh July–November and 409.2 kWh in December (0.55 kWh every hour of 744) at tax 0.720 / reduced 0.008.
  const a = testSupply({ customerId: 'customer-a', startDate: '2025-01-01', endDate: '2025-07-01', electricHeating: true });
  const b = testSupply({ customerId: 'customer-b', startDate: '2025-07-01', electricHeating: true });
  const beforeDecember = [
    ...hourlyDays(TEST_GSRN, '2025-03-10', '2025-03-11', '125.000'), // A: 24 × 125 = 3,000 kWh
    ...hourlyDays(TEST_GSRN, '2025-08-10', '2025-08-11', (_, hour) => (hour < 20 ? '40.000' : '0.000')), // B: 20 × 40 = 800 kWh
  ];
  const copies = testCopies('2025-12-01', '2026-01-01', {
    supplies: [a, b],
    consumption: hourlyDays(TEST_GSRN, '2025-12-01', '2026-01-01', '0.550'),
    consumptionBeforePeriod: beforeDecember,
  });

  it("B's December is all at the normal rate: threshold 4,000 × 184/365 = 2,016.438 kWh, year to date 800 kWh (A's 3,000 are not B's)", () => {
    const invoice = settle(copies);
    expect(line(invoice, 'electricity-tax')).toMatchObject({ quantityKwh: '409.200' });
    expect(line(invoice, 'electricity-tax')!.amountExclVat.format()).toBe('294.62');
    expect(line(invoice, 'electricity-tax-reduced')).toBeUndefined();
  });

  it('counts only supplied days before the period in the same calendar year', () => {
    const periods = [{ start: '2025-07-01', endExclusive: null }];
    expect(yearToDateMilliKwh(periods, DECEMBER_2025, beforeDecember, [])).toBe(800_000n);
    // December's own days and days of the year before never count.
    expect(yearToDateMilliKwh(periods, DECEMBER_2025, [...beforeDecember, ...hourlyDays(TEST_GSRN, '2025-12-01', '2025-12-02', '1.000')], [])).toBe(800_000n);
    // With A's supply among the periods, A's days count.
    expect(yearToDateMilliKwh([{ start: '2025-01-01', endExclusive: '2025-07-01' }, ...periods], DECEMBER_2025, beforeDecember, [])).toBe(3_800_000n);
  });

  it('a reversed supply is no supply: its days do not count either', () => {
    const reversed = testSupply({ customerId: 'customer-b', startDate: '2025-07-01', electricHeating: true, reversed: true });
    const c = testSupply({ customerId: 'customer-c', startDate: '2025-09-01', electricHeating: true });
    const invoice = settle({ ...copies, supplies: [a, { ...reversed, endDate: '2025-09-01' }, c] });
    // C's threshold: 4,000 × 122/365 = 1,336.986 kWh; year to date 0 (B's August is not C's): all normal.
    expect(line(invoice, 'electricity-tax')!.amountExclVat.format()).toBe('294.62');
  });
});

describe('VAT mode from the settlement configuration', () => {
  // October 2025, 10.003 kWh in the first hour of each day (0 otherwise): lines whose 25 % round up one by one.
  const copies = testCopies('2025-10-01', '2025-11-01', { consumption: hourlyDays(TEST_GSRN, '2025-10-01', '2025-11-01', (_, hour) => (hour === 0 ? '10.003' : '0.000')) });
  const invoiceIn = (vatMode: 'per-line' | 'invoice-subtotal' | undefined): Invoice => {
    const built = buildSettlementInput(TEST_GSRN, { kind: 'month', year: 2025, month: 10 }, new Date('2025-11-05T00:00:00Z'), copies, { ...DEFAULT_RATES_CONFIG, ...(vatMode ? { vatMode } : {}) });
    if (!built.ok) throw new Error(JSON.stringify(built.halt));
    const result = settleMeteringPoint(built.input);
    if (result.outcome !== 'settled') throw new Error(JSON.stringify(result));
    return result.invoice;
  };

  it('is passed to the engine: the same invoice per line and on the subtotal, same amounts, VAT summing to 25 % of the subtotal', () => {
    const perLine = invoiceIn(undefined);
    const subtotal = invoiceIn('invoice-subtotal');
    expect(invoiceIn('per-line')).toEqual(perLine);
    expect(subtotal.lines.map((l) => l.amountExclVat.format())).toEqual(perLine.lines.map((l) => l.amountExclVat.format()));
    expect(subtotal.totals.exclVat.format()).toBe(perLine.totals.exclVat.format());
    expect(subtotal.totals.vat.format()).toBe(vatOf(subtotal.totals.exclVat).format());
    expect(Money.sum(subtotal.lines.map((l) => l.vat)).format()).toBe(subtotal.totals.vat.format());
    expect(Money.sum(perLine.lines.map((l) => l.vat)).format()).toBe(perLine.totals.vat.format());
    // 310.093 kWh: energy 325.60 (VAT 81.40), grid 93.03 (23.2575 → 23.26), system 21.71 (5.4275 → 5.43), transmission 12.40 (3.10),
    // tax 223.27 (55.8175 → 55.82), subscriptions 30 + 15 + 39 (7.50 + 3.75 + 9.75): per line 190.01; 25 % of 760.01 = 190.0025 → 190.00.
    expect([perLine.totals.exclVat.format(), perLine.totals.vat.format(), subtotal.totals.vat.format()]).toEqual(['760.01', '190.01', '190.00']);
  });
});

describe('charge links per metering point (DataHub RSM-031) price the grid tariff and subscription', () => {
  const OCTOBER = { kind: 'month', year: 2025, month: 10 } as const;
  const B_LOW = `${RADIUS_GLN}:D03:DT_B_02`;
  const B_SUBSCRIPTION = `${RADIUS_GLN}:D01:DA_B_F_02`;
  const link = (chargeId: string, from: string, to: string | null, factor = '1'): ChargeLinkRecord => {
    const [owner, chargeType, code] = chargeId.split(':') as [string, 'D01' | 'D03', string];
    return { gsrn: TEST_GSRN, chargeId, owner, chargeType, code, factor, from, to };
  };
  // 1.000 kWh every hour of October 2025 (745 hours: the 25-hour 26 October) = 745 kWh.
  const base = testCopies('2025-10-01', '2025-11-01', { consumption: hourlyDays(TEST_GSRN, '2025-10-01', '2025-11-01', '1.000') });
  const withCharges = (over: Partial<SettlementCopies>): SettlementCopies => ({
    ...base,
    charges: [...base.charges, testCharge(B_LOW, 'PT1H', Array.from({ length: 24 }, (_, h) => (h >= 17 && h < 21 ? '0.20' : '0.10'))), testCharge(B_SUBSCRIPTION, 'P1M', ['200.00'])],
    ...over,
  });
  const grid = (invoice: Invoice) => ({
    tariff: [line(invoice, 'grid-tariff')!.chargeId, line(invoice, 'grid-tariff')!.amountExclVat.format()],
    subscription: [line(invoice, 'grid-subscription')!.chargeId, line(invoice, 'grid-subscription')!.amountExclVat.format()],
  });

  it('without links the grid area mapping (C tariff 0.30, subscription 30.00) is the fallback', () => {
    // 745 × 0.30 = 223.50
    expect(grid(settle(base, OCTOBER))).toEqual({ tariff: [GRID_TARIFF_C, '223.50'], subscription: [GRID_SUBSCRIPTION_C, '30.00'] });
  });

  it('a B-low metering point in a C grid area pays the tariff DataHub links to it, not the C tariff', () => {
    const copies = withCharges({ chargeLinks: [link(B_LOW, '2024-01-01', null), link(B_SUBSCRIPTION, '2024-01-01', null)] });
    // Hours 17–21 local: 31 days × 4 h = 124 h at 0.20 = 24.80; the other 621 h at 0.10 = 62.10 → 86.90.
    expect(grid(settle(copies, OCTOBER))).toEqual({ tariff: [B_LOW, '86.90'], subscription: [B_SUBSCRIPTION, '200.00'] });
  });

  it('a link that ends mid-month prices only its own days: C tariff to 15 October, B-low from the 16th; a subscription link ending on the 16th is prorated, two pieces', () => {
    const copies = withCharges({
      chargeLinks: [link(GRID_TARIFF_C, '2024-01-01', '2025-10-16'), link(B_LOW, '2025-10-16', null), link(GRID_SUBSCRIPTION_C, '2024-01-01', '2025-10-16', '2')],
    });
    const invoice = settle(copies, OCTOBER);
    // C: 15 days × 24 h × 0.30 = 108.00. B-low from the 16th: 16 days, 385 hours (the 26th has 25), 64 of them at 0.20 = 12.80,
    // 321 at 0.10 = 32.10. 108.00 + 12.80 + 32.10 = 152.90.
    // Subscription: 2 pieces × 30.00 on 15 of 31 days = 60.00 × 15 / 31 = 29.032… → 29.03.
    expect(grid(invoice)).toEqual({ tariff: [`${GRID_TARIFF_C}+${B_LOW}`, '152.90'], subscription: [GRID_SUBSCRIPTION_C, '29.03'] });
    expect(line(invoice, 'grid-tariff')!.description).toBe('DT_C_01 + DT_B_02');
  });

  it("Energinet's links leave the national charges to the configuration; a linked charge without a price halts naming it", () => {
    const energinet = link(`${ENERGINET_GLN}:D03:41000`, '2025-10-10', null);
    expect(grid(settle(withCharges({ chargeLinks: [energinet] }), OCTOBER))).toEqual(grid(settle(base, OCTOBER)));
    const unknown = `${RADIUS_GLN}:D03:DT_A_01`;
    const built = buildSettlementInput(TEST_GSRN, OCTOBER, new Date('2025-11-05T00:00:00Z'), withCharges({ chargeLinks: [link(unknown, '2025-10-01', null)] }));
    expect(built).toMatchObject({ ok: false, halt: { reason: 'missing-price', chargeId: unknown, interval: { start: localDayStart('2025-10-01') } } });
  });
});

describe('one invoice per customer supply: a move between two of our customers on the 15th', () => {
  const OCTOBER = { kind: 'month', year: 2025, month: 10 } as const;
  // A (spot, no electric heating) moves out: last day 14 October; B (fixed, electric heating) moves in on the 15th.
  const a = testSupply({ customerId: 'customer-a', startDate: '2024-06-01', endDate: '2025-10-15', productId: 'spot' });
  const b = testSupply({ customerId: 'customer-b', startDate: '2025-10-15', productId: 'fixed', electricHeating: true });
  const base = testCopies('2025-10-01', '2025-11-01');
  const copies: SettlementCopies = {
    ...base,
    supplies: [b, a],
    products: [...base.products, { productId: 'fixed', name: 'Fast', marginDkkPerKwh: '0.10', monthlySubscriptionDkk: '29.00', exportFeeDkkPerKwh: null, validFrom: '2024-01-01', publishedAt: new Date('2024-06-01T00:00:00Z') }],
    consumption: hourlyDays(TEST_GSRN, '2025-10-01', '2025-11-01', '1.000'),
  };
  const rows = (invoice: Invoice) => Object.fromEntries(invoice.lines.map((l) => [l.key, [l.quantityKwh, l.amountExclVat.format()]]));
  const built = (customerId: string | null) => buildSettlementInput(TEST_GSRN, OCTOBER, new Date('2025-11-05T00:00:00Z'), copies, DEFAULT_RATES_CONFIG, customerId);

  it('lists the customers in the order their supplies start', () => {
    expect(customerSuppliesInPeriod(copies.supplies, TEST_GSRN, OCTOBER)).toEqual(['customer-a', 'customer-b']);
    expect(customerSuppliesInPeriod(copies.supplies, TEST_GSRN, { kind: 'month', year: 2025, month: 11 })).toEqual(['customer-b']);
  });

  it('never settles two customers on one invoice', () => {
    expect(built(null)).toMatchObject({ ok: false, halt: { reason: 'missing-configuration', problem: expect.stringContaining('2 customers are supplied') } });
    expect(built('customer-c')).toMatchObject({ ok: false, halt: { reason: 'missing-configuration', problem: `no supply of ${TEST_GSRN} to customer customer-c in the period` } });
  });

  it("A's invoice: 1–14 October, A's product, no electric heating, subscriptions for 14 of 31 days", () => {
    const input = built('customer-a');
    expect(input).toMatchObject({ ok: true, customerId: 'customer-a', input: { meteringPoint: { electricHeating: false }, supplyPeriods: [{ start: '2024-06-01', endExclusive: '2025-10-15' }] } });
    // 14 days × 24 h = 336 kWh: energy 336 × (1.00 + 0.05) = 352.80; grid 100.80; system 23.52; transmission 13.44; tax 336 × 0.72 = 241.92;
    // subscriptions 30 × 14/31 = 13.548… → 13.55, 15 × 14/31 = 6.774… → 6.77, 39 × 14/31 = 17.612… → 17.61.
    expect(rows(settle(copies, OCTOBER, 'customer-a'))).toEqual({
      energy: ['336.000', '352.80'],
      'grid-tariff': ['336.000', '100.80'],
      'system-tariff': ['336.000', '23.52'],
      'transmission-tariff': ['336.000', '13.44'],
      'electricity-tax': ['336.000', '241.92'],
      'grid-subscription:2025-10': [null, '13.55'],
      'system-subscription:2025-10': [null, '6.77'],
      'product-subscription:2025-10': [null, '17.61'],
    });
  });

  it("B's invoice: 15–31 October (409 hours: the 26th has 25), B's product and electric heating, subscriptions for 17 of 31 days", () => {
    const input = built('customer-b');
    expect(input).toMatchObject({ ok: true, customerId: 'customer-b', input: { meteringPoint: { electricHeating: true }, supplyPeriods: [{ start: '2025-10-15', endExclusive: null }] } });
    // energy 409 × 1.10 = 449.90; grid 122.70; system 28.63; transmission 16.36; tax 409 × 0.72 = 294.48 (B's threshold 4,000 × 78/365 = 854.795 kWh not reached);
    // subscriptions 30 × 17/31 = 16.451… → 16.45, 15 × 17/31 = 8.225… → 8.23, 29 × 17/31 = 15.903… → 15.90.
    expect(rows(settle(copies, OCTOBER, 'customer-b'))).toEqual({
      energy: ['409.000', '449.90'],
      'grid-tariff': ['409.000', '122.70'],
      'system-tariff': ['409.000', '28.63'],
      'transmission-tariff': ['409.000', '16.36'],
      'electricity-tax': ['409.000', '294.48'],
      'grid-subscription:2025-10': [null, '16.45'],
      'system-subscription:2025-10': [null, '8.23'],
      'product-subscription:2025-10': [null, '15.90'],
    });
  });
});

describe('fees (D02) DataHub links to the metering point: one line on the invoice of the customer supply holding the fee day', () => {
  const OCTOBER = { kind: 'month', year: 2025, month: 10 } as const;
  const FEE = `${RADIUS_GLN}:D02:GEB-01`;
  // A's last day is 14 October, B moves in on the 15th (as above, one product for brevity).
  const a = testSupply({ customerId: 'customer-a', startDate: '2024-06-01', endDate: '2025-10-15' });
  const b = testSupply({ customerId: 'customer-b', startDate: '2025-10-15' });
  const base = testCopies('2025-10-01', '2025-11-01', { supplies: [a, b], consumption: hourlyDays(TEST_GSRN, '2025-10-01', '2025-11-01', '1.000') });
  const feeLink = (date: string, factor = '1'): FeeLinkRecord => ({ gsrn: TEST_GSRN, chargeId: FEE, owner: RADIUS_GLN, code: 'GEB-01', factor, date });
  const copies: SettlementCopies = { ...base, charges: [...base.charges, testCharge(FEE, 'P1M', ['95.00'])], feeLinks: [feeLink('2025-10-15'), feeLink('2025-10-03', '2')] };
  const fees = (invoice: Invoice) => invoice.lines.filter((l) => l.kind === 'fee').map((l) => [l.key, l.amountExclVat.format(), l.vat.format()]);

  it("the fee dated on B's move-in day is on B's invoice only; the two pieces dated the 3rd on A's only", () => {
    // 95.00 × 1 = 95.00, VAT 23.75; 95.00 × 2 = 190.00, VAT 47.50.
    expect(fees(settle(copies, OCTOBER, 'customer-b'))).toEqual([[`fee:${FEE}@2025-10-15`, '95.00', '23.75']]);
    expect(fees(settle(copies, OCTOBER, 'customer-a'))).toEqual([[`fee:${FEE}@2025-10-03`, '190.00', '47.50']]);
  });

  it('a fee of another metering point, or dated outside the period, is not invoiced; a fee without a price halts naming it', () => {
    const other = { ...copies, feeLinks: [{ ...feeLink('2025-10-20'), gsrn: '571313174115550099' }, feeLink('2025-11-01')] };
    expect(fees(settle(other, OCTOBER, 'customer-b'))).toEqual([]);
    const unpriced = { ...copies, charges: base.charges };
    const built = buildSettlementInput(TEST_GSRN, OCTOBER, new Date('2025-11-05T00:00:00Z'), unpriced, DEFAULT_RATES_CONFIG, 'customer-b');
    expect(built).toMatchObject({ ok: false, halt: { reason: 'missing-price', chargeId: FEE, interval: { start: localDayStart('2025-10-15') } } });
  });
});

describe('a product redefined later, computed as of before the redefinition was published', () => {
  // The product "spot" (margin 0.05) is redefined from 1 October with margin 0.04, published 1 December.
  const base = testCopies('2025-10-01', '2025-11-01', { consumption: hourlyDays(TEST_GSRN, '2025-10-01', '2025-11-01', '1.000') });
  const redefined: SettlementCopies = { ...base, products: [...base.products, { ...base.products[0]!, marginDkkPerKwh: '0.04', validFrom: '2025-10-01', publishedAt: new Date('2025-12-01T00:00:00Z') }] };
  const invoiceAsOf = (copies: SettlementCopies, asOf: string): Invoice => {
    const built = buildSettlementInput(TEST_GSRN, { kind: 'month', year: 2025, month: 10 }, new Date(asOf), copies, DEFAULT_RATES_CONFIG);
    if (!built.ok) throw new Error(JSON.stringify(built.halt));
    const result = settleMeteringPoint(built.input);
    if (result.outcome !== 'settled') throw new Error(JSON.stringify(result));
    return result.invoice;
  };

  it('is the invoice as it was: the old row runs on, the later one is not known yet (no gap, no halt)', () => {
    expect(JSON.stringify(invoiceAsOf(redefined, '2025-11-05T00:00:00Z'))).toBe(JSON.stringify(invoiceAsOf(base, '2025-11-05T00:00:00Z')));
  });

  it('after the publication the new margin prices the month (745 kWh × 0.01 less)', () => {
    const before = line(invoiceAsOf(redefined, '2025-11-05T00:00:00Z'), 'energy')!.amountExclVat;
    const after = line(invoiceAsOf(redefined, '2025-12-05T00:00:00Z'), 'energy')!.amountExclVat;
    expect(before.sub(after).format()).toBe('7.45');
  });
});

describe('buildPointInput: the customer supply’s own part of buildSettlementInput, without prices (a run’s worker on resolved prices)', () => {
  const OCTOBER = { kind: 'month', year: 2025, month: 10 } as const;
  const FEE = `${RADIUS_GLN}:D02:GEB-01`;
  const PRODUCTION = `57131317400000002${'0'}`;
  const a = testSupply({ customerId: 'customer-a', startDate: '2024-06-01', endDate: '2025-10-15' });
  const b = testSupply({ customerId: 'customer-b', startDate: '2025-10-15', electricHeating: true, productionGsrn: PRODUCTION });
  const base = testCopies('2025-10-01', '2025-11-01', { supplies: [a, b], consumption: hourlyDays(TEST_GSRN, '2025-10-01', '2025-11-01', '1.000') });
  const fee = (date: string, factor = '1'): FeeLinkRecord => ({ gsrn: TEST_GSRN, chargeId: FEE, owner: RADIUS_GLN, code: 'GEB-01', factor, date, vatPayer: 'D02' });
  const variants: [string, SettlementCopies][] = [
    ['a move on the 15th with fees, production and electric heating', {
      ...base,
      charges: [...base.charges, testCharge(FEE, 'P1M', ['95.00'])],
      feeLinks: [fee('2025-10-15'), fee('2025-10-03', '2')],
      production: hourlyDays(PRODUCTION, '2025-10-01', '2025-11-01', '0.250'),
      consumptionBeforePeriod: hourlyDays(TEST_GSRN, '2025-08-01', '2025-08-03', '2.000'),
      electricHeatingChanges: [{ gsrn: TEST_GSRN, from: '2025-10-20', electricHeating: false }],
    }],
    ['one customer all month', testCopies('2025-10-01', '2025-11-01', { consumption: hourlyDays(TEST_GSRN, '2025-10-01', '2025-11-01', '0.125') })],
    ['a product change from a date', { ...base, supplies: [testSupply()], productChanges: [{ gsrn: TEST_GSRN, from: '2025-10-10', productId: 'spot' }] }],
    ['no supply in the period', { ...base, supplies: [testSupply({ startDate: '2025-11-01' })] }],
    ['a product not defined', { ...base, supplies: [testSupply({ productId: 'gone' })] }],
    ['a grid area not mapped', { ...base, gridAreas: [] }],
    ['a fee without a price', { ...base, feeLinks: [fee('2025-10-16')] }],
  ];

  it.each(variants)('%s: the same metering point, supply periods, series, year to date, fees and halts', (_, copies) => {
    for (const customerId of [null, 'customer-a', 'customer-b']) {
      const full = buildSettlementInput(TEST_GSRN, OCTOBER, new Date('2025-11-05T00:00:00Z'), copies, { ...DEFAULT_RATES_CONFIG, vatMode: 'invoice-subtotal' }, customerId);
      const point = buildPointInput(TEST_GSRN, OCTOBER, copies, { ...DEFAULT_RATES_CONFIG, vatMode: 'invoice-subtotal' }, customerId);
      const lean = buildPointInput(TEST_GSRN, OCTOBER, copies, DEFAULT_RATES_CONFIG, customerId, false);
      if (!full.ok) {
        expect(point).toEqual(full);
        continue;
      }
      const { input } = full;
      expect(point).toEqual({
        ok: true,
        point: {
          meteringPoint: input.meteringPoint,
          supplyPeriods: input.supplyPeriods,
          consumption: input.consumption,
          ...(input.production !== undefined ? { production: input.production } : {}),
          yearToDateMilliKwh: parseQuantityMilliKwh(input.yearToDateConsumptionKwh),
          vatMode: 'invoice-subtotal',
          ...(input.fees !== undefined ? { fees: input.fees } : {}),
        },
        customerId: full.customerId,
        paymentModel: full.paymentModel,
        gridArea: full.gridArea,
        priceArea: full.priceArea,
        productionGsrn: full.productionGsrn,
        products: full.products,
      });
      // Without its consumption series (the caller lays packed days itself) and without a VAT mode configured.
      expect(lean).toMatchObject({ ok: true, point: { consumption: null } });
      if (lean.ok && point.ok) expect({ ...lean.point, consumption: point.point.consumption, vatMode: 'invoice-subtotal' }).toEqual(point.point);
    }
  });

  it('builds none of the prices: a price list the set of charges would refuse does not stop it', () => {
    const refused = { ...base, supplies: [testSupply()], charges: base.charges.map((c) => ({ ...c, rows: c.rows.map((r) => ({ ...r, prices: ['not a price'] })) })), spotPrices: [] };
    expect(() => buildSettlementInput(TEST_GSRN, OCTOBER, new Date('2025-11-05T00:00:00Z'), refused)).toThrow();
    expect(buildPointInput(TEST_GSRN, OCTOBER, refused)).toMatchObject({ ok: true, customerId: 'customer-a' });
  });
});

describe('supplied days, products and electric heating per day, on day numbers', () => {
  // The string-compared versions these replaced (issue 8), as the reference.
  const supplyOn = (supplies: readonly SupplyRecord[], day: string) =>
    supplies.find((s) => compareLocalDates(s.startDate, day) <= 0 && (s.endDate === null || compareLocalDates(s.endDate, day) > 0));
  function inForceOn<T>(supply: SupplyRecord, initial: T, changes: readonly { from: string; value: T }[], day: string): T {
    let value = initial;
    let at: string | null = null;
    for (const c of changes) {
      if (compareLocalDates(c.from, supply.startDate) < 0 || compareLocalDates(c.from, day) > 0) continue;
      if (at === null || compareLocalDates(c.from, at) >= 0) {
        value = c.value;
        at = c.from;
      }
    }
    return value;
  }
  const referenceProductDays = (supplies: readonly SupplyRecord[], changes: readonly ProductChangeRecord[], days: readonly string[]): ProductDays[] => {
    const out: ProductDays[] = [];
    for (const day of days) {
      const s = supplyOn(supplies, day);
      if (s === undefined) continue;
      const productId = inForceOn(s, s.productId, changes.filter((c) => c.gsrn === s.gsrn).map((c) => ({ from: c.from, value: c.productId })), day);
      const last = out[out.length - 1];
      if (last !== undefined && last.productId === productId && compareLocalDates(addDays(last.lastDay, 1), day) === 0) {
        last.lastDay = day;
        last.days++;
      } else out.push({ productId, firstDay: day, lastDay: day, days: 1 });
    }
    return out;
  };
  const referenceHeating = (supplies: readonly SupplyRecord[], changes: readonly ElectricHeatingChangeRecord[], period: BillingPeriod): boolean => {
    const { from, toExclusive } = periodDates(period);
    let supplied = 0;
    for (let day = from; compareLocalDates(day, toExclusive) < 0; day = addDays(day, 1)) {
      const s = supplyOn(supplies, day);
      if (s === undefined) continue;
      supplied++;
      if (!inForceOn(s, s.electricHeating, changes.filter((c) => c.gsrn === s.gsrn).map((c) => ({ from: c.from, value: c.electricHeating })), day)) return false;
    }
    return supplied > 0;
  };

  it('give what the string-compared days gave, on seeded supplies, product changes and electric-heating changes', () => {
    let seed = 19;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const OTHER = '571313174115550099';
    const dayNear = (base: string): string => addDays(base, rand(140) - 50);
    let settledSome = 0;
    for (let i = 0; i < 400; i++) {
      const period: BillingPeriod = i % 3 === 0 ? { kind: 'quarter', year: 2026, quarter: 1 + rand(4) } : { kind: 'month', year: 2026, month: 1 + rand(12) };
      const { from } = periodDates(period);
      const supplies = Array.from({ length: 1 + rand(3) }, (_, k) => {
        const startDate = dayNear(from);
        return testSupply({
          gsrn: rand(8) === 0 ? OTHER : TEST_GSRN,
          customerId: `customer-${k}`,
          startDate,
          endDate: rand(3) === 0 ? null : addDays(startDate, 1 + rand(90)),
          productId: `product-${rand(3)}`,
          electricHeating: rand(2) === 0,
        });
      });
      const productChanges = Array.from({ length: rand(4) }, () => ({ gsrn: rand(5) === 0 ? OTHER : TEST_GSRN, from: dayNear(from), productId: `product-${rand(3)}` }));
      const heating = Array.from({ length: rand(4) }, () => ({ gsrn: rand(5) === 0 ? OTHER : TEST_GSRN, from: dayNear(from), electricHeating: rand(2) === 0 }));
      const days = localDays(from, periodDates(period).toExclusive).filter((d) => supplyOn(supplies, d) !== undefined);
      const productDays = productDaysOf(supplies, productChanges, days);
      expect(productDays).toEqual(referenceProductDays(supplies, productChanges, days));
      expect(electricHeatingInForce(supplies, heating, period)).toBe(referenceHeating(supplies, heating, period));
      // The whole input: the same supplied days (the product lines' days), products and flag as the reference gives.
      const copies = testCopies(from, periodDates(period).toExclusive, {
        supplies: supplies.map((s) => ({ ...s, gsrn: TEST_GSRN, customerId: 'customer-a' })),
        productChanges,
        electricHeatingChanges: heating,
        spotPrices: [],
        products: ['product-0', 'product-1', 'product-2'].map((productId) => ({ productId, name: productId, marginDkkPerKwh: '0.05', monthlySubscriptionDkk: '39.00', exportFeeDkkPerKwh: null, validFrom: '2024-01-01', publishedAt: new Date('2024-06-01T00:00:00Z') })),
      });
      const built = buildPointInput(TEST_GSRN, period, copies);
      const own = copies.supplies.filter((s) => suppliesInPeriod([s], period).length > 0);
      if (own.length === 0) {
        expect(built.ok).toBe(false);
        continue;
      }
      const ownDays = localDays(from, periodDates(period).toExclusive).filter((d) => supplyOn(own, d) !== undefined);
      expect(built).toMatchObject({ ok: true, products: referenceProductDays(own, productChanges, ownDays), point: { meteringPoint: { electricHeating: referenceHeating(own, heating, period) } } });
      settledSome++;
    }
    expect(settledSome).toBeGreaterThan(100);
  });
});
