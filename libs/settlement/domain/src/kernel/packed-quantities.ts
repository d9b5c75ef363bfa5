import { RESOLUTION_MS, type Resolution } from '@dh/dk-time';
import { INTERVAL_ESTIMATED, INTERVAL_MEASURED, INTERVAL_MISSING, MAX_INTERVAL_WH, type MeteredQuantities } from './metered-quantities';

/**
 * One stored metered day in packed form (issue 8: `settlement.metered_data` `wh int[]`, `first_position` and the
 * quality runs): integer Wh per consecutive position from `firstPosition` (position 1 starts at `startMs`), null
 * where the point has no quantity, and the quality codes as runs `[code or null, count]` covering `wh`.
 */
export interface PackedMeteredDay {
  readonly startMs: number;
  readonly resolution: Resolution;
  readonly firstPosition: number;
  readonly wh: readonly (number | null)[];
  readonly qualities: readonly (readonly [string | null, number])[];
}

/** The interval state of a quality code as the decimal path gives it (null = A04; unknown codes count as measured). */
function stateOfQuality(code: string | null): number {
  if (code === 'A02') return INTERVAL_MISSING;
  if (code === 'A03' || code === 'A05') return INTERVAL_ESTIMATED;
  return INTERVAL_MEASURED;
}

/**
 * Lays packed days straight on the grid of `[fromMs, toMs)` (no decimal strings, no `Date` per value): the same
 * `wh`, `state` and `maxWh` as {@link meteredQuantitiesOf} gives for the same days as points (decimal kWh with the
 * points' qualities, `A04` for none). Null for anything that path decides differently or refuses — no days, mixed
 * resolutions, a grid not on whole intervals, a start off the grid or not aligned, two values for one start, a
 * negative or too large value, runs not covering `wh` exactly: the caller then takes the decimal path, which
 * settles, halts or reports it as before (`packed-quantities.unit.spec.ts` compares the two).
 */
export function packedQuantitiesOf(gsrn: string, days: readonly PackedMeteredDay[], fromMs: number, toMs: number): MeteredQuantities | null {
  if (days.length === 0) return null;
  const resolution = days[0]!.resolution;
  if (resolution !== 'PT15M' && resolution !== 'PT1H') return null;
  const step = RESOLUTION_MS[resolution];
  const count = (toMs - fromMs) / step;
  if (!Number.isInteger(count) || count < 0 || fromMs % step !== 0) return null;
  const wh = new Int32Array(count);
  const state = new Uint8Array(count);
  const taken = new Uint8Array(count);
  let maxWh = 0;
  for (const d of days) {
    if (d.resolution !== resolution || !Number.isSafeInteger(d.firstPosition) || d.firstPosition < 1) return null;
    const first = d.startMs + (d.firstPosition - 1) * step;
    if (!Number.isFinite(first) || first % step !== 0) return null;
    const n = d.wh.length;
    const base = (first - fromMs) / step;
    if (base < 0 || base + n > count) return null;
    let i = 0;
    for (const [code, runLength] of d.qualities) {
      const st = stateOfQuality(code);
      for (let k = 0; k < runLength && i < n; k++, i++) {
        const at = base + i;
        if (taken[at] === 1) return null;
        const v = d.wh[i];
        if (v === null || v === undefined || st === INTERVAL_MISSING) continue;
        if (!Number.isInteger(v) || v < 0 || v > MAX_INTERVAL_WH) return null;
        taken[at] = 1;
        wh[at] = v;
        state[at] = st;
        if (v > maxWh) maxWh = v;
      }
    }
    if (i !== n) return null;
  }
  return { gsrn, resolution, startMs: fromMs, wh, state, maxWh };
}
