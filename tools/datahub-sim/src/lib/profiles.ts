import { localDayIntervals, localHourOf, type LocalDate } from '@dh/dk-time';
import { mulberry32, seedOf } from './determinism';
import type { ProfileShape, ScenarioMeteringPoint } from './scenario';

/** Relative weight of a local hour (0..23) per profile shape; each shape's 24 weights average to 1. */
const HOURLY_WEIGHTS: Readonly<Record<ProfileShape, readonly number[]>> = {
  flat: Array.from({ length: 24 }, () => 1),
  // Night low, morning bump, evening peak.
  household: normalise([0.5, 0.4, 0.35, 0.35, 0.4, 0.55, 0.9, 1.2, 1.1, 0.95, 0.9, 0.95, 1.0, 0.95, 0.9, 1.0, 1.25, 1.7, 1.9, 1.7, 1.45, 1.2, 0.9, 0.7]),
  // Production between 06 and 20 local time, bell-shaped.
  solar: normalise(Array.from({ length: 24 }, (_, h) => (h >= 6 && h < 20 ? Math.sin(((h - 6 + 0.5) / 14) * Math.PI) : 0))),
};

function normalise(weights: number[]): number[] {
  const mean = weights.reduce((a, b) => a + b, 0) / weights.length;
  return weights.map((w) => w / mean);
}

/**
 * The metering point's quantities for one local day, in thousandths of a kWh, one per interval of its resolution
 * (92/96/100 quarters or 23/24/25 hours). Deterministic in (seed, GSRN, date).
 */
export function dayQuantities(seed: string, mp: ScenarioMeteringPoint, date: LocalDate): number[] {
  const random = mulberry32(seedOf(seed, 'quantities', mp.gsrn, date));
  const starts = localDayIntervals(date, mp.resolution);
  const perInterval = mp.profile.annualKwh / (365 * (mp.resolution === 'PT15M' ? 96 : 24));
  const weights = HOURLY_WEIGHTS[mp.profile.shape];
  return starts.map((start) => {
    const weight = weights[localHourOf(start)] ?? 1;
    const noise = 0.7 + 0.6 * random();
    return Math.round(perInterval * weight * noise * 1000);
  });
}
