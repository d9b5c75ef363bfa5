import type { QualityCode } from '@dh/cim';
import { RESOLUTION_MS } from '@dh/dk-time';
import { parseQuantityMilliKwh } from '@dh/money';
import { INTERVAL_MEASURED, INTERVAL_MISSING, MAX_INTERVAL_WH, intervalStateOf, meteredQuantitiesOf, plainMilliKwh } from './kernel/metered-quantities';
import { InvalidSettlementInput } from './settlement-halted';
import type { MeteredInterval, MeteredSeries } from './settlement-input';
import { prng } from './testing/seeded';

/**
 * `meteredQuantitiesOf` reads plain kWh strings by character codes and keeps "one value per start" with a
 * mark per grid interval (issue 8: it was 65× the kernel's time per point). These tests hold it to the
 * straightforward conversion it replaced (every value through the exact decimal parser, a Set of starts):
 * the same Wh, states and largest value, and the same invalid-input errors, message for message.
 */

/** The conversion as it was before, kept here as the reference. */
function straightforward(series: MeteredSeries, what: string, fromMs: number, toMs: number): { wh: number[]; state: number[] } {
  if (series.resolution !== 'PT15M' && series.resolution !== 'PT1H') throw new InvalidSettlementInput(`${what} resolution ${String(series.resolution)} is not PT15M or PT1H`);
  const step = RESOLUTION_MS[series.resolution];
  const count = Math.max(0, (toMs - fromMs) / step);
  const wh = new Array<number>(count).fill(0);
  const state = new Array<number>(count).fill(INTERVAL_MISSING);
  const seen = new Set<number>();
  for (const iv of series.intervals) {
    const ms = iv.start.getTime();
    if (!Number.isFinite(ms) || ms % step !== 0) throw new InvalidSettlementInput(`${what} ${series.gsrn}: interval start ${String(iv.start)} is not aligned to ${series.resolution}`);
    if (seen.has(ms)) throw new InvalidSettlementInput(`${what} ${series.gsrn}: two values for ${iv.start.toISOString()}`);
    const st = intervalStateOf(iv.quality, iv.quantityKwh !== null);
    if (st === INTERVAL_MISSING) continue;
    let milliKwh: bigint;
    try {
      milliKwh = parseQuantityMilliKwh(iv.quantityKwh!);
    } catch (e) {
      throw new InvalidSettlementInput(`${what} ${series.gsrn} at ${iv.start.toISOString()}: quantity ${JSON.stringify(iv.quantityKwh)}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (milliKwh < 0n) throw new InvalidSettlementInput(`${what} ${series.gsrn} at ${iv.start.toISOString()}: negative quantity ${iv.quantityKwh}`);
    if (milliKwh > BigInt(MAX_INTERVAL_WH)) {
      throw new InvalidSettlementInput(`${what} ${series.gsrn} at ${iv.start.toISOString()}: quantity ${iv.quantityKwh} kWh exceeds ${MAX_INTERVAL_WH / 1000} kWh per interval`);
    }
    seen.add(ms);
    if (ms < fromMs || ms >= toMs) continue;
    const i = (ms - fromMs) / step;
    wh[i] = Number(milliKwh);
    state[i] = st;
  }
  return { wh, state };
}

type Outcome = { ok: true; wh: number[]; state: number[] } | { ok: false; error: string };

function outcomeOf(f: () => { wh: ArrayLike<number>; state: ArrayLike<number> }): Outcome {
  try {
    const r = f();
    return { ok: true, wh: Array.from(r.wh), state: Array.from(r.state) };
  } catch (e) {
    if (!(e instanceof InvalidSettlementInput)) throw e;
    return { ok: false, error: e.message };
  }
}

const GSRN = '571313174000000007';
/** 2026-10-01 00:00 Copenhagen, and 3 days of quarters. */
const FROM = Date.UTC(2026, 8, 30, 22);
const TO = FROM + 3 * 24 * 3_600_000;
const Q = RESOLUTION_MS.PT15M;

const QUANTITIES = [
  '0', '0.0', '0.000', '1', '1.5', '1.25', '1.125', '0.001', '00012.340', '1234567', '1234567.999', '2147483.647', '2147483.648', '12345678', '9999999.999',
  '1.', '.5', '1.2345', '1.2300', '1.0000', '-0.001', '-0', '+1', '1e3', '1E-3', '1,5', ' 1', '1 ', '', 'abc', '١٢', '１',
];

describe('meteredQuantitiesOf: the character-code reading equals the exact parser', () => {
  it('plainMilliKwh gives the exact parser\'s Wh for every string it accepts, and declines the rest', () => {
    for (const q of QUANTITIES) {
      const plain = plainMilliKwh(q);
      let exact: bigint | null = null;
      try {
        exact = parseQuantityMilliKwh(q);
      } catch {
        exact = null;
      }
      if (plain >= 0) expect([q, BigInt(plain)]).toEqual([q, exact]);
    }
    expect(plainMilliKwh('1.125')).toBe(1125);
    expect(plainMilliKwh('1.2300')).toBe(-1);
    expect(plainMilliKwh('-0.001')).toBe(-1);
  });

  it('every quantity string, alone and in a series, converts or fails exactly as before', () => {
    const series = (intervals: MeteredInterval[]): MeteredSeries => ({ gsrn: GSRN, resolution: 'PT15M', intervals });
    for (const q of QUANTITIES) {
      const s = series([
        { start: new Date(FROM), quantityKwh: '0.5' },
        { start: new Date(FROM + Q), quantityKwh: q, quality: 'A03' },
      ]);
      expect([q, outcomeOf(() => meteredQuantitiesOf(s, 'consumption', FROM, TO))]).toEqual([q, outcomeOf(() => straightforward(s, 'consumption', FROM, TO))]);
    }
  });

  it('duplicates, missing values, values off the grid and misaligned starts behave as before', () => {
    const at = (k: number, quantityKwh: string | null, quality?: QualityCode): MeteredInterval => ({ start: new Date(FROM + k * Q), quantityKwh, ...(quality !== undefined ? { quality } : {}) });
    const cases: MeteredInterval[][] = [
      [at(0, '1'), at(0, '2')],
      [at(0, null), at(0, '2')],
      [at(0, '1', 'A02'), at(0, '2')],
      [at(0, '2'), at(0, '1', 'A02')],
      [at(0, '2'), at(0, null)],
      [at(-4, '1'), at(-4, '1')],
      [at(-4, null), at(-4, '1')],
      [at(300, '1'), at(300, '2')],
      [at(5, '1'), { start: new Date(FROM + 5 * Q + 60_000), quantityKwh: '1' }],
      [at(5, '1'), { start: new Date(Number.NaN), quantityKwh: '1' }],
      [at(-1, 'x'), at(3, '1')],
      [at(400, '-1'), at(3, '1')],
      [at(2, '1', 'A03'), at(3, '1', 'A05'), at(4, '1', 'A04'), at(5, '1', 'A06'), at(6, '0.250', 'A02')],
    ];
    for (const intervals of cases) {
      const s: MeteredSeries = { gsrn: GSRN, resolution: 'PT15M', intervals };
      expect(outcomeOf(() => meteredQuantitiesOf(s, 'production', FROM, TO))).toEqual(outcomeOf(() => straightforward(s, 'production', FROM, TO)));
    }
  });

  it('generated series (gaps, qualities, values off the grid): same Wh, states and largest value', () => {
    const rnd = prng(20261205);
    const qualities: (QualityCode | undefined)[] = [undefined, undefined, undefined, 'A04', 'A03', 'A05', 'A02', 'A01', 'A06'];
    for (let n = 0; n < 40; n++) {
      const intervals: MeteredInterval[] = [];
      for (let k = -8; k < 3 * 96 + 8; k++) {
        if (rnd() < 0.02) continue;
        const wh = Math.floor(rnd() * (n % 5 === 0 ? 2_000_000 : 3_000));
        const quantityKwh = rnd() < 0.01 ? null : `${Math.floor(wh / 1000)}.${String(wh % 1000).padStart(3, '0').slice(0, 1 + Math.floor(rnd() * 3))}`;
        const quality = qualities[Math.floor(rnd() * qualities.length)];
        intervals.push({ start: new Date(FROM + k * Q), quantityKwh, ...(quality !== undefined ? { quality } : {}) });
      }
      const s: MeteredSeries = { gsrn: GSRN, resolution: 'PT15M', intervals };
      const got = meteredQuantitiesOf(s, 'consumption', FROM, TO);
      const want = straightforward(s, 'consumption', FROM, TO);
      expect({ wh: Array.from(got.wh), state: Array.from(got.state) }).toEqual(want);
      expect(got.maxWh).toBe(Math.max(0, ...want.wh));
      expect(got.state.some((x) => x === INTERVAL_MEASURED)).toBe(true);
    }
  });
});
