import type { QualityCode } from '@dh/cim';
import { RESOLUTION_MS, localDayIntervals, localDayStart, addDays, type LocalDate } from '@dh/dk-time';
import { INTERVAL_ESTIMATED, INTERVAL_MEASURED, INTERVAL_MISSING, MAX_INTERVAL_WH, meteredQuantitiesOf } from './kernel/metered-quantities';
import { packedQuantitiesOf, type PackedMeteredDay } from './kernel/packed-quantities';
import { InvalidSettlementInput } from './settlement-halted';
import type { MeteredInterval, MeteredSeries } from './settlement-input';
import { Gen, prng } from './testing/seeded';

/**
 * `packedQuantitiesOf` lays stored packed days (integer Wh, quality runs; issue 8) on the kernel's grid without the
 * decimal strings the run went through before: unpacked to kWh strings with three decimals, made intervals with a
 * `Date` each (quality A04 / none / unknown codes as no quality), then `meteredQuantitiesOf`. These tests hold it to
 * that path: the same Wh, states and largest value whenever it answers, and null (the caller takes that path) for
 * what the path refuses or decides otherwise.
 */

const QUALITIES: ReadonlySet<string> = new Set(['A01', 'A02', 'A03', 'A04', 'A05', 'A06']);

/** The decimal path a run took for a packed day before (meteredPointsOf → seriesOf), as intervals. */
function asSeries(gsrn: string, days: readonly PackedMeteredDay[]): MeteredSeries {
  const intervals: MeteredInterval[] = [];
  for (const d of days) {
    const step = RESOLUTION_MS[d.resolution];
    let i = 0;
    for (const [code, count] of d.qualities) {
      for (let k = 0; k < count && i < d.wh.length; k++, i++) {
        const v = d.wh[i]!;
        const quantityKwh = v === null ? null : `${v < 0 ? '-' : ''}${Math.floor(Math.abs(v) / 1000)}.${String(Math.abs(v) % 1000).padStart(3, '0')}`;
        const q = code ?? 'A04';
        const quality = QUALITIES.has(q) && q !== 'A04' ? (q as QualityCode) : undefined;
        const start = new Date(d.startMs + (d.firstPosition - 1 + i) * step);
        intervals.push(quality === undefined ? { start, quantityKwh } : { start, quantityKwh, quality });
      }
    }
  }
  return { gsrn, resolution: days[0]!.resolution, intervals };
}

const GSRN = '571313180400000028';
const FROM: LocalDate = '2026-10-01';
const TO: LocalDate = '2026-11-01';
const fromMs = localDayStart(FROM).getTime();
const toMs = localDayStart(TO).getTime();

function monthOf(g: Gen, resolution: 'PT15M' | 'PT1H'): PackedMeteredDay[] {
  const days: PackedMeteredDay[] = [];
  for (let day = FROM; day < TO; day = addDays(day, 1)) {
    if (g.chance(0.05)) continue; // a day not received
    const n = localDayIntervals(day, resolution).length;
    const firstPosition = g.chance(0.1) ? g.int(1, n) : 1;
    const count = g.chance(0.1) ? g.int(0, n - firstPosition + 1) : n - firstPosition + 1;
    const wh = Array.from({ length: count }, () => (g.chance(0.03) ? null : g.chance(0.02) ? 0 : g.int(0, g.chance(0.05) ? 5_000_000 : 2_000)));
    const qualities: [string | null, number][] = [];
    for (let left = count; left > 0; ) {
      const run = g.chance(0.7) ? left : g.int(1, left);
      qualities.push([g.pick([null, 'A04', 'A04', 'A03', 'A05', 'A02', 'A01', 'A06', 'E01']), run]);
      left -= run;
    }
    days.push({ startMs: localDayStart(day).getTime(), resolution, firstPosition, wh, qualities });
  }
  return days;
}

describe('packedQuantitiesOf (issue 8): packed days straight onto the kernel grid', () => {
  it('gives the Wh, states and largest value the decimal path gives, for random months of PT15M and PT1H (incl. the 25-hour day, gaps, A02/A03/A05, unknown codes)', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const g = new Gen(prng(seed));
      const resolution = seed % 2 === 0 ? 'PT15M' : 'PT1H';
      const days = monthOf(g, resolution);
      if (days.length === 0) continue;
      const packed = packedQuantitiesOf(GSRN, days, fromMs, toMs);
      const decimal = meteredQuantitiesOf(asSeries(GSRN, days), 'consumption', fromMs, toMs);
      expect({ seed, packed: packed === null ? null : { wh: Array.from(packed.wh), state: Array.from(packed.state), maxWh: packed.maxWh, startMs: packed.startMs, resolution: packed.resolution } }).toEqual({
        seed,
        packed: { wh: Array.from(decimal.wh), state: Array.from(decimal.state), maxWh: decimal.maxWh, startMs: decimal.startMs, resolution: decimal.resolution },
      });
    }
  });

  it('reads the states of the quality codes as the decimal path does', () => {
    const day = (code: string | null, v: number | null): PackedMeteredDay => ({ startMs: fromMs, resolution: 'PT1H', firstPosition: 1, wh: [v], qualities: [[code, 1]] });
    const stateOf = (code: string | null, v: number | null) => packedQuantitiesOf(GSRN, [day(code, v)], fromMs, toMs)!.state[0];
    expect([stateOf(null, 5), stateOf('A04', 5), stateOf('A01', 5), stateOf('A06', 5), stateOf('E01', 5)]).toEqual(Array(5).fill(INTERVAL_MEASURED));
    expect([stateOf('A03', 5), stateOf('A05', 5)]).toEqual([INTERVAL_ESTIMATED, INTERVAL_ESTIMATED]);
    expect([stateOf('A02', 5), stateOf('A04', null)]).toEqual([INTERVAL_MISSING, INTERVAL_MISSING]);
  });

  it('answers null where the decimal path refuses or decides otherwise, so the caller takes that path', () => {
    const base: PackedMeteredDay = { startMs: fromMs, resolution: 'PT1H', firstPosition: 1, wh: [100, 200], qualities: [['A04', 2]] };
    const cases: [string, PackedMeteredDay[]][] = [
      ['no days', []],
      ['two values for one start (overlapping days)', [base, { ...base, firstPosition: 2 }]],
      ['a negative value', [{ ...base, wh: [-1, 200] }]],
      ['a value above the Int32 range in Wh', [{ ...base, wh: [MAX_INTERVAL_WH + 1, 200] }]],
      ['a value outside the period', [{ ...base, startMs: toMs }]],
      ['runs shorter than the values', [{ ...base, qualities: [['A04', 1]] }]],
      ['mixed resolutions', [base, { ...base, startMs: fromMs + 86_400_000, resolution: 'PT15M' }]],
      ['a start not on the resolution', [{ ...base, startMs: fromMs + 60_000 }]],
    ];
    for (const [what, days] of cases) expect({ what, q: packedQuantitiesOf(GSRN, days, fromMs, toMs) }).toEqual({ what, q: null });
    // The decimal path refuses the first three of those with invalid input (the kernel's caller then halts or takes the reference path).
    expect(() => meteredQuantitiesOf(asSeries(GSRN, cases[1]![1]), 'consumption', fromMs, toMs)).toThrow(InvalidSettlementInput);
    expect(() => meteredQuantitiesOf(asSeries(GSRN, cases[2]![1]), 'consumption', fromMs, toMs)).toThrow(InvalidSettlementInput);
    expect(() => meteredQuantitiesOf(asSeries(GSRN, cases[3]![1]), 'consumption', fromMs, toMs)).toThrow(InvalidSettlementInput);
  });

  it('a missing value (null or A02) takes no start, as in the decimal path: a later day may give it', () => {
    const first: PackedMeteredDay = { startMs: fromMs, resolution: 'PT1H', firstPosition: 1, wh: [null, 7], qualities: [['A04', 2]] };
    const second: PackedMeteredDay = { startMs: fromMs, resolution: 'PT1H', firstPosition: 1, wh: [5], qualities: [['A04', 1]] };
    const q = packedQuantitiesOf(GSRN, [first, second], fromMs, toMs)!;
    const d = meteredQuantitiesOf(asSeries(GSRN, [first, second]), 'consumption', fromMs, toMs);
    expect([Array.from(q.wh.slice(0, 2)), Array.from(q.state.slice(0, 2))]).toEqual([[5, 7], [INTERVAL_MEASURED, INTERVAL_MEASURED]]);
    expect([Array.from(d.wh.slice(0, 2)), Array.from(d.state.slice(0, 2))]).toEqual([[5, 7], [INTERVAL_MEASURED, INTERVAL_MEASURED]]);
  });
});
