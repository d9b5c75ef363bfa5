import { addDays, daysInLocalMonth, formatLocalDate, localDayIntervals, type LocalDate } from '@dh/dk-time';
import { Money, formatScaled } from '@dh/money';
import type { ChargePriceRow, SpotPrice } from '@dh/rates-domain';
import { correctedTotals, creditInFull, diffInvoices, electricHeatingThresholdMilliKwh, settleMeteringPoint, settleReference, type Invoice, type LinkedFee, type SettlementInput, type SettlementResult } from './index';
import { Gen, prng } from './testing/seeded';
import { GSRN, PRODUCTION_GSRN, charge, hourlySpot, meteredSeries, priceBook, quarterSpot, radiusTariff, row, settlementInput } from './testing/settlement-fixtures';

interface Case {
  readonly input: SettlementInput;
  /** Same metering point re-settled later, with price corrections published after the first run. */
  readonly corrected: SettlementInput;
  /** The first run's input with a price book that never saw the corrections. */
  readonly beforeCorrections: SettlementInput;
}

const FIRST_RUN = new Date('2029-01-01T00:00:00Z');
const CORRECTION_PUBLISHED = new Date('2029-02-01T00:00:00Z');
const SECOND_RUN = new Date('2029-03-01T00:00:00Z');

function generateCase(seed: number): Case {
  const g = new Gen(prng(seed));
  const year = g.pick([2025, 2026, 2027]);
  const quarterly = g.chance(0.2);
  const month = year === 2025 ? g.int(10, 12) : g.int(1, 12);
  const quarter = year === 2025 ? 4 : g.int(1, 4);
  const firstMonth = quarterly ? quarter * 3 - 2 : month;
  const periodFrom = formatLocalDate(year, firstMonth, 1);
  const periodDays = quarterly ? [0, 1, 2].reduce((s, i) => s + daysInLocalMonth(year, firstMonth + i), 0) : daysInLocalMonth(year, month);
  // Short supplies keep the big.js reference affordable; some start before the period or stay open.
  const startOffset = g.int(-3, periodDays - 1);
  const start = addDays(periodFrom, startOffset);
  const length = g.int(1, 3);
  const openEnded = startOffset >= periodDays - 3 && g.chance(0.5);
  const end = openEnded ? null : addDays(start, length);
  const supplyPeriods = [{ start, endExclusive: end }];
  const first = startOffset < 0 ? periodFrom : start;
  const last = end === null ? addDays(periodFrom, periodDays) : end;
  const dataFrom: LocalDate = first;
  const dataTo: LocalDate = last < addDays(periodFrom, periodDays) ? last : addDays(periodFrom, periodDays);

  const resolution = g.pick(['PT15M', 'PT1H'] as const);
  const big = g.chance(0.1);
  const qty = (): string => g.decimal(0, big ? 999_999 : 2_000, 3);
  const quality = (): 'A03' | 'A05' | undefined => (g.chance(0.03) ? g.pick(['A03', 'A05'] as const) : undefined);
  const consumption = meteredSeries(GSRN, resolution, dataFrom, dataTo, qty, quality);
  const withProduction = g.chance(0.3);
  const production = withProduction ? meteredSeries(PRODUCTION_GSRN, g.pick(['PT15M', 'PT1H'] as const), dataFrom, dataTo, () => (g.chance(0.5) ? '0.000' : qty()), quality) : undefined;

  const spotPrice = (): string => g.decimal(-200_000_000, 3_000_000_000, 6);
  const spot: SpotPrice[] = g.chance(0.5) ? quarterSpot('DK2', dataFrom, dataTo, spotPrice) : hourlySpot('DK2', dataFrom, dataTo, spotPrice);
  const tariffPrices = (): string[] => Array.from({ length: 24 }, () => g.decimal(0, 2_000_000, 6));
  const change = addDays(dataFrom, g.int(0, 2));
  const gridRows: ChargePriceRow[] = [row(tariffPrices(), '2025-01-01', change), row(tariffPrices(), change, null)];
  // A spot correction and a tariff correction, both published between the two runs.
  const spotCorrections = spot.filter(() => g.chance(0.02)).map((p) => ({ ...p, nanoDkkPerKwh: p.nanoDkkPerKwh + BigInt(g.int(-50_000_000, 50_000_000)), publishedAt: CORRECTION_PUBLISHED, version: 2 }));
  const tariffCorrection = row(tariffPrices(), dataFrom, addDays(dataFrom, 1), { publishedAt: CORRECTION_PUBLISHED, version: 2 });

  const electricHeating = g.chance(0.4);
  // Just below the prorated threshold most of the time, so the crossing interval is split.
  const threshold = electricHeatingThresholdMilliKwh('4000', supplyPeriods, year);
  const below = BigInt(g.int(0, big ? 2_000_000 : 150_000));
  const yearToDate = formatScaled(threshold > below ? threshold - below : 0n, 3);
  const inputWithoutFees = settlementInput({
    meteringPoint: { gsrn: GSRN, gridArea: '791', priceArea: 'DK2', electricHeating, ...(withProduction ? { productionGsrn: PRODUCTION_GSRN } : {}) },
    billingPeriod: quarterly ? { kind: 'quarter', year, quarter } : { kind: 'month', year, month },
    supplyPeriods,
    consumption,
    ...(production === undefined ? {} : { production }),
    prices: priceBook([...spot, ...spotCorrections], { gridTariff: radiusTariff([...gridRows, tariffCorrection]) }),
    product: {
      name: 'Spot',
      margin: charge('product', 'D03', 'margin', 'Tillæg', [row(g.decimal(0, 200_000, 6), '2025-01-01', null)]),
      subscription: charge('product', 'D01', 'subscription', 'Abonnement', [row(g.decimal(0, 99_999, 2), '2025-01-01', null, { resolution: 'P1M' })]),
      exportFee: charge('product', 'D03', 'export-fee', 'Gebyr', [row(g.decimal(0, 100_000, 6), '2025-01-01', null)]),
    },
    // Near the (prorated) threshold, so the crossing interval is split in many cases.
    yearToDateConsumptionKwh: yearToDate,
    asOf: FIRST_RUN,
  });
  // Fees (D02) from their own generator, so the rest of the generated data stays as it was: dated on a
  // supplied day or not, their price corrected between the two runs on some cases.
  const fg = new Gen(prng(seed ^ 0xfee));
  const feeRows = [row(fg.decimal(0, 500_000_000, 6), '2025-01-01', null, { resolution: 'P1M' })];
  const feeCorrection = row(fg.decimal(0, 500_000_000, 6), dataFrom, null, { resolution: 'P1M', publishedAt: CORRECTION_PUBLISHED, version: 2 });
  const feeDays = [first, addDays(first, fg.int(0, 3)), addDays(periodFrom, fg.int(-1, periodDays))];
  const fees = (rows: ChargePriceRow[]): LinkedFee[] => {
    const f = charge('5790000705689', 'D02', 'GEB-01', 'Gebyr', rows);
    return feeDays.filter(() => fg.chance(0.6)).map((date) => ({ charge: f, date, factor: String(fg.int(0, 3)) }));
  };
  const corrected = fg.chance(0.5);
  const feesNow = fees(corrected ? [...feeRows, feeCorrection] : feeRows);
  const feesThen = feesNow.map((f) => ({ ...f, charge: charge('5790000705689', 'D02', 'GEB-01', 'Gebyr', feeRows) }));
  const input = { ...inputWithoutFees, fees: feesNow };
  return {
    input,
    corrected: { ...input, asOf: SECOND_RUN },
    beforeCorrections: { ...input, prices: priceBook(spot, { gridTariff: radiusTariff(gridRows) }), fees: feesThen },
  };
}

function invoiceOf(r: SettlementResult, seed: number): Invoice {
  if (r.outcome !== 'settled') throw new Error(`seed ${seed}: halted ${JSON.stringify(r)}`);
  return r.invoice;
}

/** 25 % half away from zero, computed independently of @dh/money: sign × ⌊(|øre| × 25 + 50) / 100⌋. */
function expectedVatOre(amountOre: bigint): bigint {
  const abs = amountOre < 0n ? -amountOre : amountOre;
  const v = (abs * 25n + 50n) / 100n;
  return amountOre < 0n ? -v : v;
}

const l0 = (inv: Invoice, key: string): string | null | undefined => inv.lines.find((l) => l.key === key)?.quantityKwh;

const SEEDS = Array.from({ length: 250 }, (_, i) => 0x5eed + i * 7919);

describe('settlement properties over generated inputs (seeded)', () => {
  const cases = SEEDS.map((seed) => ({ seed, ...generateCase(seed) }));
  const results = cases.map((c) => ({ ...c, a: invoiceOf(settleMeteringPoint(c.input), c.seed), b: invoiceOf(settleMeteringPoint(c.corrected), c.seed) }));

  it('covers the interesting shapes', () => {
    const kinds = new Set(results.flatMap((r) => [...r.a.lines, ...r.b.lines].map((l) => l.kind)));
    expect([...kinds].sort()).toEqual(
      ['electricity-tax', 'electricity-tax-reduced', 'energy', 'export-energy', 'export-fee', 'fee', 'grid-subscription', 'grid-tariff', 'product-subscription', 'production', 'system-subscription', 'system-tariff', 'transmission-tariff'].sort(),
    );
    expect(results.some((r) => r.a.estimated)).toBe(true);
    // A fee price version published between the runs corrects the fee line.
    expect(results.some((r) => diffInvoices(r.a, r.b).lines.some((l) => l.kind === 'fee'))).toBe(true);
    expect(results.some((r) => r.a.lines.some((l) => l.amountExclVat.isNegative()))).toBe(true);
    expect(results.filter((r) => diffInvoices(r.a, r.b).lines.length > 0).length).toBeGreaterThan(100);
    expect(results.filter((r) => r.a.lines.some((l) => l.kind === 'electricity-tax-reduced') && l0(r.a, 'electricity-tax') !== '0.000').length).toBeGreaterThan(5);
  });

  it('lines sum to the totals', () => {
    for (const { a } of results) {
      expect(a.totals.exclVat).toEqual(Money.sum(a.lines.map((l) => l.amountExclVat)));
      expect(a.totals.vat).toEqual(Money.sum(a.lines.map((l) => l.vat)));
      expect(a.totals.inclVat).toEqual(a.totals.exclVat.add(a.totals.vat));
      for (const l of a.lines) expect(l.amountInclVat).toEqual(l.amountExclVat.add(l.vat));
    }
  });

  it('VAT of every line is 25 % of its rounded amount, half away from zero', () => {
    for (const { a, b } of results) for (const l of [...a.lines, ...b.lines]) expect(l.vat.ore).toBe(expectedVatOre(l.amountExclVat.ore));
  });

  it('the fast path equals the big.js reference on every line', () => {
    for (const c of cases) {
      expect(JSON.stringify(settleReference(c.input))).toBe(JSON.stringify(settleMeteringPoint(c.input)));
    }
  });

  it('the exact per-interval BigInt path (the fallback for extreme magnitudes) equals the fast kernel', () => {
    for (const c of cases) {
      expect(JSON.stringify(settleMeteringPoint(c.input, { path: 'exact-intervals' }))).toBe(JSON.stringify(settleMeteringPoint(c.input)));
    }
  });

  it('re-running gives identical output', () => {
    for (const { input, a } of results) expect(JSON.stringify(settleMeteringPoint(input))).toBe(JSON.stringify({ outcome: 'settled', invoice: a }));
  });

  it('diffInvoices(x, x) is empty and diffInvoices(a, b) takes a to b', () => {
    for (const { a, b } of results) {
      expect(diffInvoices(a, a).lines).toEqual([]);
      expect(diffInvoices(a, a).noteType).toBe('none');
      const note = diffInvoices(a, b);
      expect(correctedTotals(a, note)).toEqual(b.totals);
      for (const l of b.lines) {
        const before = a.lines.find((x) => x.key === l.key);
        const d = note.lines.find((x) => x.key === l.key);
        expect((before?.amountExclVat ?? Money.ZERO).add(d?.amountExclVat ?? Money.ZERO)).toEqual(l.amountExclVat);
        expect((before?.vat ?? Money.ZERO).add(d?.vat ?? Money.ZERO)).toEqual(l.vat);
      }
      expect(correctedTotals(a, creditInFull(a))).toEqual({ exclVat: Money.ZERO, vat: Money.ZERO, inclVat: Money.ZERO });
    }
  });

  it('a correction published after the first run does not change the first run (as-of prices)', () => {
    for (const c of results) {
      expect(JSON.stringify(invoiceOf(settleMeteringPoint(c.beforeCorrections), c.seed))).toBe(JSON.stringify(c.a));
    }
  });

  it('every generated day has the right number of intervals (DST days included)', () => {
    for (const c of cases) {
      const n = c.input.consumption.resolution === 'PT15M' ? 4 : 1;
      const days = new Set(c.input.consumption.intervals.map((i) => i.start.getTime()));
      expect(days.size).toBe(c.input.consumption.intervals.length);
      expect(c.input.consumption.intervals.length % n).toBe(0);
    }
    expect(localDayIntervals('2026-03-29', 'PT15M')).toHaveLength(92);
  });
});
