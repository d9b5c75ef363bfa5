import { RESOLUTION_MS, type Resolution } from '@dh/dk-time';
import { parseQuantityMilliKwh } from '@dh/money';
import { InvalidSettlementInput } from '../settlement-halted';
import type { MeteredSeries } from '../settlement-input';

/**
 * State of one metered interval in {@link MeteredQuantities.state}, as bits so a whole day can be
 * summarised branch-free: bit 1 "has a value" (AND over a day is 0 when any is missing), bit 2
 * "estimated" (OR over a day tells whether any was).
 */
export const INTERVAL_MISSING = 0;
export const INTERVAL_MEASURED = 1;
/** A03 estimated or A05 incomplete: settles, but flags the lines that used it. */
export const INTERVAL_ESTIMATED = 3;
export const PRESENT_BIT = 1;
export const ESTIMATED_BIT = 2;

/**
 * The largest quantity one interval may hold: 2,147,483.647 kWh, the Int32 range in Wh. That is
 * 8.6 GW for a quarter-hour, more than Denmark's whole consumption, so no real metering point is
 * refused; a value beyond it is invalid input, never wrapped.
 */
export const MAX_INTERVAL_WH = 2_147_483_647;

/**
 * Metered quantities of one series as integer Wh on a fixed grid: index `i` is the interval starting
 * at `startMs + i × resolution` (the first local midnight of the billing period). This is the form
 * the settlement kernel loops over; quantities never pass through strings or floats on the way.
 */
export interface MeteredQuantities {
  readonly gsrn: string;
  readonly resolution: Resolution;
  readonly startMs: number;
  /** Wh per interval; meaningful only where `state[i] !== INTERVAL_MISSING`. */
  readonly wh: Int32Array;
  readonly state: Uint8Array;
  /** The largest value of `wh`, when the producer knows it (a loader that decoded every value); else it is scanned. */
  readonly maxWh?: number;
}

/** Quality codes that flag a line as estimated (see README "Supplied intervals"). */
const ESTIMATED_QUALITIES: ReadonlySet<string> = new Set(['A03', 'A05']);

/** The state of a value with this quality; A02 (not available) and a missing quantity are no value. */
export function intervalStateOf(quality: string | undefined | null, hasQuantity: boolean): number {
  if (!hasQuantity || quality === 'A02') return INTERVAL_MISSING;
  return quality !== undefined && quality !== null && ESTIMATED_QUALITIES.has(quality) ? INTERVAL_ESTIMATED : INTERVAL_MEASURED;
}

/** Empty quantities (every interval missing) for `count` intervals from `startMs`. */
export function emptyQuantities(gsrn: string, resolution: Resolution, startMs: number, count: number): MeteredQuantities {
  return { gsrn, resolution, startMs, wh: new Int32Array(count), state: new Uint8Array(count) };
}

/**
 * Wh of a plain kWh string — `digits` or `digits.d`, `.dd`, `.ddd`, at most 7 integer digits — read by
 * character codes; -1 for anything else (signs, exponents, more decimals, spaces, …), which then goes
 * through the exact parser and its errors. Every string accepted here is one `parseQuantityMilliKwh`
 * accepts, with the same value (a unit test compares them).
 */
export function plainMilliKwh(s: string): number {
  const n = s.length;
  let v = 0;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) break;
    const x = c - 48;
    if (x < 0 || x > 9) return -1;
    v = v * 10 + x;
  }
  if (i === 0 || i > 7) return -1;
  v *= 1000;
  if (i === n) return v;
  const decimals = n - i - 1;
  if (decimals < 1 || decimals > 3) return -1;
  let f = 0;
  for (let j = i + 1; j < n; j++) {
    const x = s.charCodeAt(j) - 48;
    if (x < 0 || x > 9) return -1;
    f = f * 10 + x;
  }
  return v + f * (decimals === 1 ? 100 : decimals === 2 ? 10 : 1);
}

/** The exact parse of a quantity that is not plain (see {@link plainMilliKwh}), with the errors of invalid input. */
function exactMilliKwh(iv: MeteredSeries['intervals'][number], what: string, gsrn: string): number {
  let milliKwh: bigint;
  try {
    milliKwh = parseQuantityMilliKwh(iv.quantityKwh!);
  } catch (e) {
    throw new InvalidSettlementInput(`${what} ${gsrn} at ${iv.start.toISOString()}: quantity ${JSON.stringify(iv.quantityKwh)}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (milliKwh < 0n) throw new InvalidSettlementInput(`${what} ${gsrn} at ${iv.start.toISOString()}: negative quantity ${iv.quantityKwh}`);
  if (milliKwh > BigInt(MAX_INTERVAL_WH)) {
    throw new InvalidSettlementInput(`${what} ${gsrn} at ${iv.start.toISOString()}: quantity ${iv.quantityKwh} kWh exceeds ${MAX_INTERVAL_WH / 1000} kWh per interval`);
  }
  return Number(milliKwh);
}

/**
 * Lays a received series (decimal kWh strings, as in RSM-012) on the grid of `[fromMs, toMs)`.
 * Every value is validated, also those outside the grid (alignment, one value per start, exact
 * decimal with ≤ 3 decimals, not negative, within {@link MAX_INTERVAL_WH}); values outside are then ignored.
 * Plain quantity strings are read by character codes ({@link plainMilliKwh}); the rest by the exact
 * parser. "One value per start" is kept by a mark per grid interval (a Set only for starts off the grid).
 */
export function meteredQuantitiesOf(series: MeteredSeries, what: string, fromMs: number, toMs: number): MeteredQuantities {
  if (series.resolution !== 'PT15M' && series.resolution !== 'PT1H') throw new InvalidSettlementInput(`${what} resolution ${String(series.resolution)} is not PT15M or PT1H`);
  const step = RESOLUTION_MS[series.resolution];
  const count = Math.max(0, (toMs - fromMs) / step);
  const wh = new Int32Array(count);
  const state = new Uint8Array(count);
  const onGrid = fromMs % step === 0 && Number.isInteger(count);
  // Starts already taken by a value (a missing value, A02 or null, takes none): per grid interval, and off the grid.
  const taken = new Uint8Array(onGrid ? count : 0);
  let takenOff: Set<number> | null = null;
  let maxWh = 0;
  for (const iv of series.intervals) {
    const ms = iv.start.getTime();
    if (!Number.isFinite(ms) || ms % step !== 0) throw new InvalidSettlementInput(`${what} ${series.gsrn}: interval start ${String(iv.start)} is not aligned to ${series.resolution}`);
    const inGrid = onGrid && ms >= fromMs && ms < toMs;
    const i = inGrid ? (ms - fromMs) / step : -1;
    if (inGrid ? taken[i] === 1 : takenOff?.has(ms) === true) throw new InvalidSettlementInput(`${what} ${series.gsrn}: two values for ${iv.start.toISOString()}`);
    const q = iv.quantityKwh;
    const st = q === null ? INTERVAL_MISSING : iv.quality === undefined || iv.quality === null ? INTERVAL_MEASURED : intervalStateOf(iv.quality, true);
    if (st === INTERVAL_MISSING) continue;
    const plain = typeof q === 'string' ? plainMilliKwh(q) : -1;
    const value = plain >= 0 && plain <= MAX_INTERVAL_WH ? plain : exactMilliKwh(iv, what, series.gsrn);
    if (!inGrid) {
      (takenOff ??= new Set()).add(ms);
      if (onGrid || ms < fromMs || ms >= toMs) continue;
      // A grid that does not start on a whole interval (never for local midnights): as before, by index.
      const k = (ms - fromMs) / step;
      wh[k] = value;
      state[k] = st;
      if (Number.isInteger(k) && value > maxWh) maxWh = value;
      continue;
    }
    taken[i] = 1;
    wh[i] = value;
    state[i] = st;
    if (value > maxWh) maxWh = value;
  }
  return { gsrn: series.gsrn, resolution: series.resolution, startMs: fromMs, wh, state, maxWh };
}

/** The largest Wh value of the series (0 when empty), for the kernel's exactness bound. */
export function maxIntervalWh(q: MeteredQuantities): number {
  if (q.maxWh !== undefined) return q.maxWh;
  const wh = q.wh;
  let max = 0;
  for (let i = 0; i < wh.length; i++) if (wh[i]! > max) max = wh[i]!;
  return max;
}
