import { addDays, daysInLocalMonth, formatLocalDate, localDateOf, type LocalDate } from '@dh/dk-time';
import { gsrnCheckDigit } from '@dh/market-ids';
import { formatScaled, Money, parseQuantityMilliKwh, vatOf } from '@dh/money';
import type { ChargePriceRow, SpotPrice } from '@dh/rates-domain';
import {
  electricHeatingThresholdMilliKwh,
  meteredQuantitiesOf,
  resolvePeriodPrices,
  settleMeteringPoint,
  settleMeteringPointOnPrices,
  settleReference,
  type BillingPeriod,
  type LinkedFee,
  type MeteredSeries,
  type SettlementInput,
  type SupplyPeriod,
} from './index';
import { fitsDoubleBlocks } from './kernel/settle-on-prices';
import { Gen, prng } from './testing/seeded';
import { charge, hourlySpot, meteredSeries, priceBook, quarterSpot, radiusTariff, row, settlementInput } from './testing/settlement-fixtures';

/**
 * The run path of the kernel (prices resolved once per period and shared by every metering point,
 * quantities as integer Wh) against the big.js reference, invoice by invoice and line by line, over
 * generated months: DST months, negative prices, partial supplies, the electric-heating threshold
 * crossed inside an interval, hourly netting of own production, price versions, and single gaps
 * that must halt exactly as the reference halts.
 */

const AS_OF = new Date('2029-01-01T00:00:00Z');
const LATE_CORRECTION = new Date('2029-06-01T00:00:00Z');
const EARLY_CORRECTION = new Date('2028-06-01T00:00:00Z');

function gsrnOf(n: number): string {
  const body = `57131317411${String(n).padStart(6, '0')}`;
  return `${body}${gsrnCheckDigit(body)}`;
}

interface GeneratedPoint {
  readonly input: SettlementInput;
  readonly gap: boolean;
}

interface GeneratedRun {
  readonly period: BillingPeriod;
  readonly points: readonly GeneratedPoint[];
  readonly base: SettlementInput;
}

const DST_MONTHS: readonly [number, number][] = [
  [2025, 10],
  [2026, 3],
  [2026, 10],
  [2027, 3],
  [2027, 10],
];

function supplyOf(g: Gen, from: LocalDate, days: number): SupplyPeriod[] {
  switch (g.int(0, 4)) {
    case 0:
      return [{ start: addDays(from, -g.int(0, 40)), endExclusive: null }];
    case 1:
      return [{ start: addDays(from, g.int(1, days - 1)), endExclusive: null }];
    case 2:
      return [{ start: addDays(from, -g.int(0, 5)), endExclusive: addDays(from, g.int(1, days - 1)) }];
    case 3: {
      const a = g.int(0, days - 4);
      const b = g.int(a + 1, days - 2);
      return [
        { start: addDays(from, a), endExclusive: addDays(from, b) },
        { start: addDays(from, b + 1), endExclusive: g.chance(0.5) ? null : addDays(from, days) },
      ];
    }
    default:
      return [{ start: addDays(from, g.int(0, days - 3)), endExclusive: addDays(from, g.int(days - 2, days)) }];
  }
}

/** Removes one interval inside the supplied days, so the point must halt on it. */
function withGap(g: Gen, series: MeteredSeries, inside: (t: Date) => boolean): MeteredSeries {
  const candidates = series.intervals.filter((iv) => inside(iv.start));
  if (candidates.length === 0) return series;
  const drop = g.pick(candidates);
  return { ...series, intervals: series.intervals.filter((iv) => iv !== drop) };
}

function generateRun(seed: number): GeneratedRun {
  const g = new Gen(prng(seed));
  const [year, month] = g.chance(0.6) ? g.pick(DST_MONTHS) : [g.pick([2025, 2026, 2027]), g.int(1, 12)];
  const usable = year === 2025 && month < 10 ? 10 : month;
  const quarterly = g.chance(0.15);
  const quarter = Math.floor((usable - 1) / 3) + 1;
  const period: BillingPeriod = quarterly ? { kind: 'quarter', year, quarter } : { kind: 'month', year, month: usable };
  const firstMonth = quarterly ? quarter * 3 - 2 : usable;
  const from = formatLocalDate(year, firstMonth, 1);
  const days = quarterly ? [0, 1, 2].reduce((n, i) => n + daysInLocalMonth(year, firstMonth + i), 0) : daysInLocalMonth(year, usable);
  const to = addDays(from, days);
  const dataFrom = addDays(from, -1);

  // Some months are mostly negative (sunny, windy), so whole energy lines come out negative.
  const negativeMonth = g.chance(0.25);
  const spotPrice = (): string => (negativeMonth ? g.decimal(-3_000_000_000, 200_000_000, 6) : g.decimal(-300_000_000, 3_000_000_000, 6));
  const quarterPrices = g.chance(0.5);
  const spot: SpotPrice[] = quarterPrices ? quarterSpot('DK2', dataFrom, to, spotPrice) : hourlySpot('DK2', dataFrom, to, spotPrice);
  const corrections: SpotPrice[] = spot
    .filter(() => g.chance(0.01))
    .map((p) => ({ ...p, nanoDkkPerKwh: p.nanoDkkPerKwh - BigInt(g.int(0, 90_000_000)), publishedAt: g.chance(0.5) ? EARLY_CORRECTION : LATE_CORRECTION, version: 2 }));
  // Sometimes one spot price is missing: points supplied then halt on it, the others settle.
  const missingSpot = g.chance(0.3) ? g.pick(spot.filter((p) => p.start.getTime() >= new Date(`${from}T12:00:00Z`).getTime())) : undefined;
  const tariff = (): string[] => Array.from({ length: 24 }, () => g.decimal(0, 2_000_000, 6));
  const change = addDays(from, g.int(1, days - 1));
  const gridRows: ChargePriceRow[] = [
    row(tariff(), '2025-01-01', change),
    row(tariff(), change, null),
    row(tariff(), addDays(from, 2), addDays(from, 3), { publishedAt: EARLY_CORRECTION, version: 2 }),
    row(tariff(), addDays(from, 4), addDays(from, 5), { publishedAt: LATE_CORRECTION, version: 3 }),
  ];
  const prices = priceBook(
    [...spot, ...corrections].filter((p) => p !== missingSpot),
    { gridTariff: radiusTariff(gridRows) },
  );
  const product = {
    name: 'Spot',
    margin: charge('product', 'D03', 'margin', 'Tillæg', [row(g.decimal(0, 200_000, 6), '2025-01-01', change), row(g.decimal(-50_000, 200_000, 6), change, null)]),
    subscription: charge('product', 'D01', 'subscription', 'Abonnement', [row(g.decimal(0, 99_999, 2), '2025-01-01', null, { resolution: 'P1M' })]),
    exportFee: charge('product', 'D03', 'export-fee', 'Gebyr', [row(g.decimal(0, 100_000, 6), '2025-01-01', null)]),
  };

  // Fees (D02) from their own generator, so the rest of the generated data stays as it was: a fee on
  // some day of the period (supplied or not), a price version published after the run, decimal prices.
  const fg = new Gen(prng(seed ^ 0xfee));
  const feeCharge = charge('5790000705689', 'D02', 'GEB-01', 'Gebyr', [
    row(fg.decimal(0, 500_000_000, 6), '2025-01-01', change, { resolution: 'P1M' }),
    row(fg.decimal(0, 500_000_000, 6), change, null, { resolution: 'P1M' }),
    row(fg.decimal(0, 500_000_000, 6), addDays(from, 3), null, { resolution: 'P1M', publishedAt: LATE_CORRECTION, version: 2 }),
  ]);
  const otherFee = charge('5790000705689', 'D02', 'GEB-02', 'Gebyr for aflæsning', [row(fg.decimal(1, 99_999_999, 8), '2025-01-01', null)]);
  const exemptReading = fg.chance(0.5);
  const feesOf = (): LinkedFee[] =>
    fg.chance(0.3)
      ? []
      : Array.from({ length: fg.int(1, 3) }, () => {
          const c = fg.chance(0.7) ? feeCharge : otherFee;
          // The reading fee is one DataHub marks VATPayer D02 (no VAT) in half the runs.
          return { charge: c, date: addDays(from, fg.int(-2, days + 1)), factor: String(fg.int(0, 4)), ...(c === otherFee && exemptReading ? { vatExempt: true } : {}) };
        });

  const points: GeneratedPoint[] = [];
  for (let i = 0; i < 10; i++) {
    const gsrn = gsrnOf(seed % 1000 * 100 + i * 2);
    const productionGsrn = gsrnOf(seed % 1000 * 100 + i * 2 + 1);
    const supplyPeriods = supplyOf(g, from, days);
    const resolution = g.pick(['PT15M', 'PT1H'] as const);
    const big = g.chance(0.15);
    const qty = (): string => g.decimal(0, big ? 9_999_999 : 2_000, 3);
    const quality = (): 'A03' | 'A05' | undefined => (g.chance(0.02) ? g.pick(['A03', 'A05'] as const) : undefined);
    const supplied = (t: Date): boolean => {
      const d = localDateOf(t);
      return d >= from && d < to && supplyPeriods.some((s) => d >= s.start && (s.endExclusive === null || d < s.endExclusive));
    };
    const gap = g.chance(0.08);
    let consumption = meteredSeries(gsrn, resolution, dataFrom, to, qty, quality);
    const withProduction = g.chance(0.25);
    let production = withProduction ? meteredSeries(productionGsrn, g.pick(['PT15M', 'PT1H'] as const), dataFrom, to, () => (g.chance(0.4) ? '0.000' : qty()), quality) : undefined;
    if (gap) {
      if (production !== undefined && g.chance(0.5)) production = withGap(g, production, supplied);
      else consumption = withGap(g, consumption, supplied);
    }
    const electricHeating = g.chance(0.35);
    const threshold = electricHeatingThresholdMilliKwh('4000', supplyPeriods, year);
    const below = BigInt(g.int(0, big ? 50_000_000 : 400_000));
    points.push({
      gap,
      input: settlementInput({
        meteringPoint: { gsrn, gridArea: '791', priceArea: 'DK2', electricHeating, ...(withProduction ? { productionGsrn } : {}) },
        billingPeriod: period,
        supplyPeriods,
        consumption,
        ...(production === undefined ? {} : { production }),
        prices,
        product,
        yearToDateConsumptionKwh: formatScaled(threshold > below ? threshold - below : 0n, 3),
        asOf: AS_OF,
        // Every other point in VAT mode invoice-subtotal (by index, so the generated data stay as they were).
        ...(i % 2 === 1 ? { vatMode: 'invoice-subtotal' as const } : {}),
        fees: feesOf(),
      }),
    });
  }
  return { period, points, base: points[0]!.input };
}

const SEEDS = Array.from({ length: 14 }, (_, i) => 0xbeef + i * 104_729);

describe('the kernel on prices resolved once per period (run path) equals the big.js reference', () => {
  const runs = SEEDS.map((seed) => ({ seed, run: generateRun(seed) }));
  const outcomes = runs.flatMap(({ seed, run }) => {
    const b = run.base;
    const prices = resolvePeriodPrices(b.prices, b.meteringPoint.gridArea, b.product, run.period, b.asOf);
    return run.points.map((pt) => {
      const i = pt.input;
      const onGrid = (s: MeteredSeries, what: string) => meteredQuantitiesOf(s, what, prices.startMs, prices.endMs);
      const point = {
        meteringPoint: i.meteringPoint,
        supplyPeriods: i.supplyPeriods,
        consumption: onGrid(i.consumption, 'consumption'),
        ...(i.production === undefined ? {} : { production: onGrid(i.production, 'production') }),
        yearToDateMilliKwh: parseQuantityMilliKwh(i.yearToDateConsumptionKwh),
        ...(i.vatMode === undefined ? {} : { vatMode: i.vatMode }),
        ...(i.fees === undefined ? {} : { fees: i.fees }),
      };
      const fast = fitsDoubleBlocks(prices, {
        gsrn: i.meteringPoint.gsrn,
        supply: i.supplyPeriods,
        consumption: point.consumption,
        production: point.production ?? null,
        electricHeating: i.meteringPoint.electricHeating ? { thresholdMilliKwh: 0n, yearToDateMilliKwh: point.yearToDateMilliKwh } : null,
      });
      return { seed, pt, fast, run: settleMeteringPointOnPrices(prices, point), exact: settleMeteringPointOnPrices(prices, point, { path: 'exact-intervals' }) };
    });
  });

  it('covers DST months, halts, the exact fallback, netting, electric heating and negative amounts', () => {
    expect(runs.some(({ run }) => run.period.kind === 'month' && [3, 10].includes(run.period.month))).toBe(true);
    expect(outcomes.filter((o) => o.run.outcome === 'halted').length).toBeGreaterThan(5);
    expect(outcomes.filter((o) => o.run.outcome === 'settled').length).toBeGreaterThan(80);
    expect(outcomes.some((o) => !o.fast)).toBe(true);
    const settledLines = outcomes.flatMap((o) => (o.run.outcome === 'settled' ? o.run.invoice.lines : []));
    for (const kind of ['export-energy', 'electricity-tax-reduced', 'production', 'fee']) expect(settledLines.some((l) => l.kind === kind)).toBe(true);
    // Fees in both VAT modes, on the kernel's double blocks and on the exact fallback.
    const withFee = outcomes.filter((o) => o.run.outcome === 'settled' && o.run.invoice.lines.some((l) => l.kind === 'fee'));
    expect(withFee.some((o) => o.pt.input.vatMode === 'invoice-subtotal') && withFee.some((o) => o.pt.input.vatMode === undefined)).toBe(true);
    expect(withFee.some((o) => o.fast)).toBe(true);
    expect(withFee.some((o) => o.run.outcome === 'settled' && o.run.invoice.lines.some((l) => l.vatExempt === true && !l.amountExclVat.isZero()))).toBe(true);
    expect(settledLines.some((l) => l.kind === 'energy' && l.amountExclVat.isNegative())).toBe(true);
  });

  it('equals the reference on every line of every invoice, and halts where and why the reference halts', () => {
    for (const o of outcomes) {
      const expected = JSON.stringify(settleReference(o.pt.input));
      expect({ seed: o.seed, gsrn: o.pt.input.meteringPoint.gsrn, result: JSON.stringify(o.run) }).toEqual({ seed: o.seed, gsrn: o.pt.input.meteringPoint.gsrn, result: expected });
    }
  });

  it('the exact per-interval path and the single-point API give the same invoices and halts', () => {
    for (const o of outcomes) {
      expect(JSON.stringify(o.exact)).toBe(JSON.stringify(o.run));
      expect(JSON.stringify(settleMeteringPoint(o.pt.input))).toBe(JSON.stringify(o.run));
    }
  });

  it('VAT mode invoice-subtotal: the lines\' VAT sums to 25 % of the subtotal rounded once, and differs from per-line VAT on some invoices', () => {
    const subtotal = outcomes.filter((o) => o.pt.input.vatMode === 'invoice-subtotal' && o.run.outcome === 'settled');
    expect(subtotal.length).toBeGreaterThan(40);
    let differs = 0;
    for (const o of subtotal) {
      if (o.run.outcome !== 'settled') continue;
      const { totals, lines } = o.run.invoice;
      // Lines without VAT (a fee with VATPayer D02) are outside the subtotal VAT is computed on.
      expect(totals.vat.format()).toBe(vatOf(Money.sum(lines.filter((l) => l.vatExempt !== true).map((l) => l.amountExclVat))).format());
      expect(Money.sum(lines.map((l) => l.vat)).format()).toBe(totals.vat.format());
      const perLine = settleMeteringPoint({ ...o.pt.input, vatMode: 'per-line' });
      if (perLine.outcome !== 'settled') throw new Error('per-line halted where subtotal settled');
      expect(perLine.invoice.lines.map((l) => l.amountExclVat.format())).toEqual(lines.map((l) => l.amountExclVat.format()));
      if (!perLine.invoice.totals.vat.equals(totals.vat)) differs++;
    }
    expect(differs).toBeGreaterThan(0);
  });

  it('every point with a gap in its supplied days halts on missing metered data, never a partial invoice', () => {
    const gaps = outcomes.filter((o) => o.pt.gap);
    expect(gaps.length).toBeGreaterThan(3);
    for (const o of gaps) expect(o.run).toMatchObject({ outcome: 'halted', reason: expect.stringMatching(/^missing-(metered-data|price)$/) });
  });
});
