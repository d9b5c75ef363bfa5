import type { EnergyGroupResult } from '../wholesale/energy-calculation';
import type { DataHubEnergySeries } from './datahub-results';

const STEP = { PT15M: 900_000, PT1H: 3_600_000 } as const;

export interface EnergyGroupComparison {
  readonly meteringPointType: string;
  readonly settlementMethod: string | null;
  readonly resolution: 'PT15M' | 'PT1H';
  /** Σ over the period, milli-kWh. */
  readonly datahubTotal: bigint;
  readonly ourTotal: bigint;
  readonly differingSlots: number;
  /** Slot start → DataHub − ours, milli-kWh, where not zero. */
  readonly residual: ReadonlyMap<number, bigint>;
}

const groupOf = (kind: EnergyGroupResult['kind']): { type: string; method: string | null } =>
  kind === 'production' ? { type: 'E18', method: null } : { type: 'E17', method: kind === 'flex' ? 'D01' : 'E02' };

/**
 * Compares DataHub's energy for us (RSM-014: per metering point type and settlement method, per quarter or hour)
 * with our metered sums by the same rules (`EnergyCalculation` over our metering points), slot by slot.
 */
export function compareEnergy(datahub: readonly DataHubEnergySeries[], ours: readonly EnergyGroupResult[]): EnergyGroupComparison[] {
  const groups = new Map<string, { type: string; method: string | null; resolution: 'PT15M' | 'PT1H'; theirs: Map<number, bigint>; mine: Map<number, bigint> }>();
  const group = (type: string, method: string | null, resolution: 'PT15M' | 'PT1H') => {
    const key = `${type}|${method ?? ''}|${resolution}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { type, method, resolution, theirs: new Map(), mine: new Map() }));
    return g;
  };
  for (const s of datahub) {
    const g = group(s.meteringPointType, s.settlementMethod, s.resolution);
    s.quantities.forEach((q, i) => {
      if (q !== null) g.theirs.set(s.start + i * STEP[s.resolution], (g.theirs.get(s.start + i * STEP[s.resolution]) ?? 0n) + q);
    });
  }
  for (const r of ours) {
    const { type, method } = groupOf(r.kind);
    const g = group(type, method, r.resolution);
    r.quantities.forEach((q, i) => g.mine.set(r.start + i * STEP[r.resolution], (g.mine.get(r.start + i * STEP[r.resolution]) ?? 0n) + q));
  }
  return [...groups.values()].map((g) => {
    const residual = new Map<number, bigint>();
    let datahubTotal = 0n;
    let ourTotal = 0n;
    for (const t of new Set([...g.theirs.keys(), ...g.mine.keys()])) {
      const d = g.theirs.get(t) ?? 0n;
      const o = g.mine.get(t) ?? 0n;
      datahubTotal += d;
      ourTotal += o;
      if (d !== o) residual.set(t, d - o);
    }
    return { meteringPointType: g.type, settlementMethod: g.method, resolution: g.resolution, datahubTotal, ourTotal, differingSlots: residual.size, residual };
  });
}
