import { localDayIntervals } from '@dh/dk-time';
import { settleMeteringPoint, settleReference, electricHeatingThresholdMilliKwh, type Invoice, type SettlementResult } from './index';
import {
  GSRN,
  PRODUCTION_GSRN,
  hourlySpot,
  localHour,
  meteredSeries,
  priceBook,
  quarterSpot,
  settlementInput,
} from './testing/settlement-fixtures';

/** key → [quantity kWh, unit price, amount excl. VAT, VAT] */
function table(inv: Invoice): Record<string, [string | null, string | null, string, string]> {
  return Object.fromEntries(inv.lines.map((l) => [l.key, [l.quantityKwh, l.unitPrice, l.amountExclVat.format(), l.vat.format()]]));
}

function settled(r: SettlementResult): Invoice {
  if (r.outcome !== 'settled') throw new Error(`expected an invoice, got halt ${JSON.stringify(r)}`);
  return r.invoice;
}

describe('settleMeteringPoint, worked out by hand', () => {
  describe('October 2026: PT15M quantities, hourly spot, supply from 2026-10-20 (includes the 25-hour 2026-10-25)', () => {
    // Supply 2026-10-20 … 2026-10-31 = 12 days. Quarter-hours: 11 days × 96 + 2026-10-25 × 100 = 1,056 + 100 = 1,156.
    // Peak = local hours 17–21 (4 h = 16 quarters a day): 12 × 16 = 192 quarters; off-peak: 11 × 80 + 84 = 964.
    // Every quarter 0.250 kWh, except:
    //   2026-10-20 00:00–00:15 local (2026-10-19T22:00Z): 0.003 kWh (off-peak −0.247)
    //   2026-10-31 18:00–19:00 local (17:00Z…17:45Z): 1.000, 1.000, 0.500, 0.125 = 2.625 instead of 1.000 (peak +1.625)
    // Peak kWh = 192 × 0.25 + 1.625 = 49.625; off-peak = 964 × 0.25 − 0.247 = 240.753; total 290.378.
    const special: Record<string, string> = {
      '2026-10-19T22:00:00.000Z': '0.003',
      '2026-10-31T17:00:00.000Z': '1.000',
      '2026-10-31T17:15:00.000Z': '1.000',
      '2026-10-31T17:30:00.000Z': '0.500',
      '2026-10-31T17:45:00.000Z': '0.125',
    };
    const consumption = meteredSeries(
      GSRN,
      'PT15M',
      '2026-10-20',
      '2026-11-01',
      (t) => special[t.toISOString()] ?? '0.250',
      (t) => (t.toISOString() === '2026-10-22T08:00:00.000Z' ? 'A03' : undefined),
    );
    // Spot (hourly, DK2): 1250.5 DKK/MWh = 1.2505 DKK/kWh in local hours 17–21, else 400 DKK/MWh = 0.4.
    const spot = hourlySpot('DK2', '2026-10-20', '2026-11-01', (t) => (localHour(t) >= 17 && localHour(t) < 21 ? '1250.5' : '400'));
    const input = settlementInput({
      billingPeriod: { kind: 'month', year: 2026, month: 10 },
      supplyPeriods: [{ start: '2026-10-20', endExclusive: null }],
      consumption,
      prices: priceBook(spot),
    });

    it('counts 1,156 quarter-hours, the extra hour of 2026-10-25 included', () => {
      expect(consumption.intervals).toHaveLength(1156);
      expect(localDayIntervals('2026-10-25', 'PT15M')).toHaveLength(100);
    });

    it('prices every line exactly and rounds each once', () => {
      const inv = settled(settleMeteringPoint(input));
      expect(table(inv)).toEqual({
        // 49.625 × (1.2505 + 0.05) + 240.753 × (0.4 + 0.05) = 64.5373125 + 108.33885 = 172.8761625 → 172.88; VAT 43.22
        energy: ['290.378', null, '172.88', '43.22'],
        // 49.625 × 0.9751 + 240.753 × 0.325 = 48.3893375 + 78.244725 = 126.6340625 → 126.63; VAT 31.6575 → 31.66
        'grid-tariff': ['290.378', null, '126.63', '31.66'],
        // 290.378 × 0.072 = 20.907216 → 20.91; VAT 5.2275 → 5.23
        'system-tariff': ['290.378', '0.072', '20.91', '5.23'],
        // 290.378 × 0.043 = 12.486254 → 12.49; VAT 3.1225 → 3.12
        'transmission-tariff': ['290.378', '0.043', '12.49', '3.12'],
        // 290.378 × 0.008 = 2.323024 → 2.32; VAT 0.58
        'electricity-tax': ['290.378', '0.008', '2.32', '0.58'],
        // 36.773011 × 12 / 31 = 14.2347139… → 14.23; VAT 3.5575 → 3.56
        'grid-subscription:2026-10': [null, '36.773011', '14.23', '3.56'],
        // 15.583333 × 12 / 31 = 6.0322579… → 6.03; VAT 1.5075 → 1.51
        'system-subscription:2026-10': [null, '15.583333', '6.03', '1.51'],
        // 39.00 × 12 / 31 = 15.0967741… → 15.10; VAT 3.775 → 3.78
        'product-subscription:2026-10': [null, '39.00', '15.10', '3.78'],
      });
      // 172.88 + 126.63 + 20.91 + 12.49 + 2.32 + 14.23 + 6.03 + 15.10 = 370.59
      // 43.22 + 31.66 + 5.23 + 3.12 + 0.58 + 3.56 + 1.51 + 3.78 = 92.66
      expect([inv.totals.exclVat.format(), inv.totals.vat.format(), inv.totals.inclVat.format()]).toEqual(['370.59', '92.66', '463.25']);
      expect(inv.lines.find((l) => l.key === 'grid-subscription:2026-10')).toMatchObject({ daysSupplied: 12, daysInMonth: 31, estimated: false });
    });

    it('VAT mode invoice-subtotal on the same invoice: 25 % of 370.59 = 92.6475 → 92.65 (per line: 92.66), allocated back to the lines by largest remainder', () => {
      const inv = settled(settleMeteringPoint({ ...input, vatMode: 'invoice-subtotal' }));
      // Exact 25 % of each line, floored: 43.22 (rem 0), 31.65 (.0075), 5.22 (.0075), 3.12 (.0025), 0.58 (0), 3.55 (.0075), 1.50 (.0075), 3.77 (.005)
      // = 92.61; the 4 øre left go to the four largest remainders (.0075: grid tariff, system tariff, grid and system subscription).
      expect(Object.fromEntries(inv.lines.map((l) => [l.key, [l.amountExclVat.format(), l.vat.format(), l.amountInclVat.format()]]))).toEqual({
        energy: ['172.88', '43.22', '216.10'],
        'grid-tariff': ['126.63', '31.66', '158.29'],
        'system-tariff': ['20.91', '5.23', '26.14'],
        'transmission-tariff': ['12.49', '3.12', '15.61'],
        'electricity-tax': ['2.32', '0.58', '2.90'],
        'grid-subscription:2026-10': ['14.23', '3.56', '17.79'],
        'system-subscription:2026-10': ['6.03', '1.51', '7.54'],
        // 3.775 per line would round up to 3.78; here its remainder (.005) is not among the largest.
        'product-subscription:2026-10': ['15.10', '3.77', '18.87'],
      });
      expect([inv.totals.exclVat.format(), inv.totals.vat.format(), inv.totals.inclVat.format()]).toEqual(['370.59', '92.65', '463.24']);
      expect(JSON.stringify(settleReference({ ...input, vatMode: 'invoice-subtotal' }))).toBe(JSON.stringify(settleMeteringPoint({ ...input, vatMode: 'invoice-subtotal' })));
      // The default is per line, as before.
      expect(settled(settleMeteringPoint({ ...input, vatMode: 'per-line' })).totals.vat.format()).toBe('92.66');
    });

    it('an unknown VAT mode is invalid input, never a silent default', () => {
      expect(settleMeteringPoint({ ...input, vatMode: 'per-invoice' as never })).toMatchObject({ outcome: 'halted', reason: 'invalid-input', problem: expect.stringContaining('unknown VAT mode') });
    });

    it('flags every kWh line that used the estimated quarter (A03), not the subscriptions', () => {
      const inv = settled(settleMeteringPoint(input));
      expect(Object.fromEntries(inv.lines.map((l) => [l.key, l.estimated]))).toEqual({
        energy: true,
        'grid-tariff': true,
        'system-tariff': true,
        'transmission-tariff': true,
        'electricity-tax': true,
        'grid-subscription:2026-10': false,
        'system-subscription:2026-10': false,
        'product-subscription:2026-10': false,
      });
      expect(inv.estimated).toBe(true);
    });

    it('equals the big.js reference', () => {
      expect(JSON.stringify(settleReference(input))).toBe(JSON.stringify(settleMeteringPoint(input)));
    });
  });

  describe('March 2026: PT1H quantities with PT15M prices on the 23-hour 2026-03-29', () => {
    // Supply 2026-03-29 only: 23 hours (02:00–03:00 local does not exist, Price3 unused).
    // Quantities: 1.000 kWh an hour, 3.000 in 17:00–18:00 local → 22 × 1 + 3 = 25 kWh.
    // Quarter prices: [400, 500, 600, 701] DKK/MWh → hourly mean 550.25 DKK/MWh = 0.55025 DKK/kWh;
    // 17:00–18:00: [1000.000001, 1000, 1000, 1000] → mean 1000.00000025 DKK/MWh = 1.00000000025 DKK/kWh (11 decimals, kept).
    const consumption = meteredSeries(GSRN, 'PT1H', '2026-03-29', '2026-03-30', (t) => (localHour(t) === 17 ? '3.000' : '1.000'));
    const spot = quarterSpot('DK2', '2026-03-29', '2026-03-30', (t) => {
      const quarter = t.getUTCMinutes() / 15;
      if (localHour(t) === 17) return quarter === 0 ? '1000.000001' : '1000';
      return ['400', '500', '600', '701'][quarter]!;
    });
    const input = settlementInput({
      billingPeriod: { kind: 'month', year: 2026, month: 3 },
      supplyPeriods: [{ start: '2026-03-29', endExclusive: '2026-03-30' }],
      consumption,
      prices: priceBook(spot),
    });

    it('settles the hour at the exact mean of its four quarter prices', () => {
      expect(consumption.intervals).toHaveLength(23);
      const inv = settled(settleMeteringPoint(input));
      expect(table(inv)).toEqual({
        // 22 × (0.55025 + 0.05) + 3 × (1.00000000025 + 0.05) = 13.2055 + 3.15000000075 = 16.35550000075 → 16.36; VAT 4.09
        energy: ['25.000', null, '16.36', '4.09'],
        // peak hours 17,18,19,20: 3 + 1 + 1 + 1 = 6 kWh × 0.9751 = 5.8506; 19 kWh × 0.325 = 6.175; 12.0256 → 12.03; VAT 3.0075 → 3.01
        'grid-tariff': ['25.000', null, '12.03', '3.01'],
        // 25 × 0.072 = 1.80; VAT 0.45
        'system-tariff': ['25.000', '0.072', '1.80', '0.45'],
        // 25 × 0.043 = 1.075 → 1.08 (half away from zero); VAT 0.27
        'transmission-tariff': ['25.000', '0.043', '1.08', '0.27'],
        // 25 × 0.008 = 0.20; VAT 0.05
        'electricity-tax': ['25.000', '0.008', '0.20', '0.05'],
        // 36.773011 / 31 = 1.1862261… → 1.19; VAT 0.2975 → 0.30
        'grid-subscription:2026-03': [null, '36.773011', '1.19', '0.30'],
        // 15.583333 / 31 = 0.5026881… → 0.50; VAT 0.125 → 0.13
        'system-subscription:2026-03': [null, '15.583333', '0.50', '0.13'],
        // 39 / 31 = 1.2580645… → 1.26; VAT 0.315 → 0.32
        'product-subscription:2026-03': [null, '39.00', '1.26', '0.32'],
      });
      expect(JSON.stringify(settleReference(input))).toBe(JSON.stringify(settleMeteringPoint(input)));
    });
  });

  describe('electric heating: the interval crossing the prorated 4,000 kWh is split', () => {
    // Supply 2025-01-01 … 2025-12-01 (end exclusive 2025-12-02): 335 of 365 days.
    // Threshold 4,000 × 335 / 365 = 3,671.232876… kWh → 3,671.233 kWh (whole Wh, half away from zero).
    // Consumption before December: 3,670.000 kWh. 2025-12-01: 0.500 kWh every hour (24 h).
    // 00–01: 3,670.5; 01–02: 3,671.0; 02–03 crosses: 0.233 normal + 0.267 reduced; the 21 later hours reduced.
    // Normal 0.5 + 0.5 + 0.233 = 1.233 kWh × 0.720 (2025) = 0.88776 → 0.89; VAT 0.2225 → 0.22
    // Reduced 0.267 + 21 × 0.5 = 10.767 kWh × 0.008 = 0.086136 → 0.09; VAT 0.0225 → 0.02
    const supplyPeriods = [{ start: '2025-01-01', endExclusive: '2025-12-02' }];
    const input = settlementInput({
      meteringPoint: { gsrn: GSRN, gridArea: '791', priceArea: 'DK2', electricHeating: true },
      billingPeriod: { kind: 'month', year: 2025, month: 12 },
      supplyPeriods,
      consumption: meteredSeries(GSRN, 'PT1H', '2025-12-01', '2025-12-02', () => '0.500'),
      prices: priceBook(quarterSpot('DK2', '2025-12-01', '2025-12-02', () => '500')),
      yearToDateConsumptionKwh: '3670.000',
    });

    it('prorates the threshold by supplied days', () => {
      expect(electricHeatingThresholdMilliKwh('4000', supplyPeriods, 2025)).toBe(3671233n);
    });

    it('taxes the part below at the normal rate and the rest at the reduced rate', () => {
      const t = table(settled(settleMeteringPoint(input)));
      expect(t['electricity-tax']).toEqual(['1.233', '0.72', '0.89', '0.22']);
      expect(t['electricity-tax-reduced']).toEqual(['10.767', '0.008', '0.09', '0.02']);
      expect(t['energy']![0]).toBe('12.000');
      expect(JSON.stringify(settleReference(input))).toBe(JSON.stringify(settleMeteringPoint(input)));
    });

    it('has no reduced line before the threshold is reached', () => {
      const t = table(settled(settleMeteringPoint({ ...input, yearToDateConsumptionKwh: '100.000' })));
      expect(t['electricity-tax']![0]).toBe('12.000');
      expect(t['electricity-tax-reduced']).toBeUndefined();
    });
  });

  describe('solar: hourly netting with a net export hour', () => {
    // 2026-06-15 (24 h), PT15M consumption and production, spot PT15M 800 DKK/MWh except 12:00–13:00 local
    // [300, 300, 300, 301] → mean 0.30025 DKK/kWh.
    //   12–13: consumption 4 × 0.100 = 0.4, production 4 × 0.500 = 2.0 → net export 1.6
    //   13–14: consumption 4 × 0.250 = 1.0, production 4 × 0.200 = 0.8 → net import 0.2
    //   14–15: consumption [0.5, 0, 0, 0] = 0.5, production [0, 0.1, 0.1, 0.1] = 0.3 → net import 0.2
    //          (per quarter it would be 0.5 import and 0.3 export: the netting is per hour)
    //   21 other hours: consumption 1.0, production 0 → import 21.0.  Import 21.4 kWh, production 3.1 kWh.
    const cons: Record<number, readonly string[]> = { 12: ['0.100', '0.100', '0.100', '0.100'], 14: ['0.500', '0.000', '0.000', '0.000'] };
    const prod: Record<number, readonly string[]> = { 12: ['0.500', '0.500', '0.500', '0.500'], 13: ['0.200', '0.200', '0.200', '0.200'], 14: ['0.000', '0.100', '0.100', '0.100'] };
    const q = (t: Date): number => t.getUTCMinutes() / 15;
    const input = settlementInput({
      meteringPoint: { gsrn: GSRN, gridArea: '791', priceArea: 'DK2', electricHeating: false, productionGsrn: PRODUCTION_GSRN },
      billingPeriod: { kind: 'month', year: 2026, month: 6 },
      supplyPeriods: [{ start: '2026-06-15', endExclusive: '2026-06-16' }],
      consumption: meteredSeries(GSRN, 'PT15M', '2026-06-15', '2026-06-16', (t) => cons[localHour(t)]?.[q(t)] ?? '0.250'),
      production: meteredSeries(PRODUCTION_GSRN, 'PT15M', '2026-06-15', '2026-06-16', (t) => prod[localHour(t)]?.[q(t)] ?? '0.000'),
      prices: priceBook(quarterSpot('DK2', '2026-06-15', '2026-06-16', (t) => (localHour(t) === 12 ? (q(t) === 3 ? '301' : '300') : '800'))),
    });

    it('settles net import as usual and buys the net export at spot less our fee on its own lines', () => {
      const inv = settled(settleMeteringPoint(input));
      expect(table(inv)).toEqual({
        // 21.4 × (0.80 + 0.05) = 18.19; VAT 4.5475 → 4.55
        energy: ['21.400', '0.85', '18.19', '4.55'],
        // peak 17–21: 4 × 0.9751 = 3.9004; off-peak 17.4 × 0.325 = 5.655; 9.5554 → 9.56; VAT 2.3890 → 2.39
        'grid-tariff': ['21.400', null, '9.56', '2.39'],
        // 21.4 × 0.072 = 1.5408 → 1.54; VAT 0.385 → 0.39
        'system-tariff': ['21.400', '0.072', '1.54', '0.39'],
        // 21.4 × 0.043 = 0.9202 → 0.92; VAT 0.23
        'transmission-tariff': ['21.400', '0.043', '0.92', '0.23'],
        // 21.4 × 0.008 = 0.1712 → 0.17; VAT 0.0425 → 0.04
        'electricity-tax': ['21.400', '0.008', '0.17', '0.04'],
        production: ['3.100', null, '0.00', '0.00'],
        // −1.6 × 0.30025 = −0.4804 → −0.48; VAT −0.12
        'export-energy': ['1.600', '0.30025', '-0.48', '-0.12'],
        // 1.6 × 0.02 = 0.032 → 0.03; VAT 0.0075 → 0.01
        'export-fee': ['1.600', '0.02', '0.03', '0.01'],
        // June has 30 days: 36.773011 / 30 = 1.2257670 → 1.23 (VAT 0.31); 15.583333 / 30 = 0.5194444 → 0.52 (VAT 0.13); 39 / 30 = 1.30 (VAT 0.325 → 0.33)
        'grid-subscription:2026-06': [null, '36.773011', '1.23', '0.31'],
        'system-subscription:2026-06': [null, '15.583333', '0.52', '0.13'],
        'product-subscription:2026-06': [null, '39.00', '1.30', '0.33'],
      });
      expect(JSON.stringify(settleReference(input))).toBe(JSON.stringify(settleMeteringPoint(input)));
    });
  });

  describe('halts', () => {
    const spot = hourlySpot('DK2', '2026-10-20', '2026-11-01', () => '400');
    const full = meteredSeries(GSRN, 'PT15M', '2026-10-20', '2026-11-01', () => '0.250');
    const base = settlementInput({
      billingPeriod: { kind: 'month', year: 2026, month: 10 },
      supplyPeriods: [{ start: '2026-10-20', endExclusive: null }],
      consumption: full,
      prices: priceBook(spot),
    });

    it('halts on a missing metered quarter, naming GSRN and interval', () => {
      // The second 02:00–02:15 local on 2026-10-25 (01:00Z) is missing.
      const consumption = { ...full, intervals: full.intervals.filter((i) => i.start.toISOString() !== '2026-10-25T01:00:00.000Z') };
      const r = settleMeteringPoint({ ...base, consumption });
      expect(r).toEqual({
        outcome: 'halted',
        reason: 'missing-metered-data',
        gsrn: GSRN,
        seriesGsrn: GSRN,
        interval: { start: new Date('2026-10-25T01:00:00Z'), end: new Date('2026-10-25T01:15:00Z') },
      });
      expect(settleReference({ ...base, consumption })).toEqual(r);
    });

    it('halts on a quarter reported as not available (A02)', () => {
      const consumption = { ...full, intervals: full.intervals.map((i) => (i.start.toISOString() === '2026-10-31T22:45:00.000Z' ? { ...i, quality: 'A02' as const } : i)) };
      expect(settleMeteringPoint({ ...base, consumption })).toMatchObject({ outcome: 'halted', reason: 'missing-metered-data', gsrn: GSRN, interval: { start: new Date('2026-10-31T22:45:00Z') } });
    });

    it('halts on a missing spot price, naming GSRN, price area and interval', () => {
      const prices = priceBook(spot.filter((p) => p.start.toISOString() !== '2026-10-28T15:00:00.000Z'));
      const r = settleMeteringPoint({ ...base, prices });
      expect(r).toEqual({
        outcome: 'halted',
        reason: 'missing-price',
        gsrn: GSRN,
        priceArea: 'DK2',
        chargeId: null,
        interval: { start: new Date('2026-10-28T15:00:00Z'), end: new Date('2026-10-28T15:15:00Z') },
      });
    });

    it('halts when a charge has no price for a supplied day', () => {
      const r = settleMeteringPoint({ ...base, supplyPeriods: [{ start: '2024-12-31', endExclusive: null }], billingPeriod: { kind: 'month', year: 2024, month: 12 }, consumption: meteredSeries(GSRN, 'PT15M', '2024-12-31', '2025-01-01', () => '0.250'), prices: priceBook(hourlySpot('DK2', '2024-12-31', '2025-01-01', () => '400')) });
      expect(r).toMatchObject({ outcome: 'halted', reason: 'missing-price', gsrn: GSRN, priceArea: null, interval: { start: new Date('2024-12-30T23:00:00Z'), end: new Date('2024-12-31T23:00:00Z') } });
    });

    it('halts on a missing production quarter, naming the production GSRN', () => {
      const r = settleMeteringPoint({
        ...base,
        meteringPoint: { ...base.meteringPoint, productionGsrn: PRODUCTION_GSRN },
        production: meteredSeries(PRODUCTION_GSRN, 'PT15M', '2026-10-20', '2026-10-31', () => '0.000'),
      });
      expect(r).toMatchObject({ outcome: 'halted', reason: 'missing-metered-data', gsrn: GSRN, seriesGsrn: PRODUCTION_GSRN, interval: { start: new Date('2026-10-30T23:00:00Z') } });
    });
  });
});
