import { addDays, localDateOf, localDayStart } from '@dh/dk-time';
import { EnergyCalculation, chargeGroupKey, energyGroupKey, type Candidate, type MeteredSeries, type MeteringPointPeriod, type QuantityResidual } from '@dh/reconciliation-domain';
import type { ChargeLinkInPeriod } from '@dh/rates-domain';
import type { VersionChange } from './ports';

const HOUR = 3_600_000;

/** A series summed per UTC hour and per Copenhagen day (slot start → milli-kWh), inside [from, to). */
export function slotSums(series: MeteredSeries, periodStart: number, from: number, to: number): { hourly: Map<number, bigint>; daily: Map<number, bigint> } {
  const step = series.resolution === 'PT15M' ? 900_000 : HOUR;
  const hourly = new Map<number, bigint>();
  const daily = new Map<number, bigint>();
  for (let i = Math.ceil((from - periodStart) / step); i * step + periodStart < to; i++) {
    if ((series.qualities[i] ?? 0) === 0) continue;
    const t = periodStart + i * step;
    const q = BigInt(series.quantities[i]!);
    const h = t - ((t - periodStart) % HOUR);
    hourly.set(h, (hourly.get(h) ?? 0n) + q);
    const d = localDayStart(localDateOf(new Date(t))).getTime();
    daily.set(d, (daily.get(d) ?? 0n) + q);
  }
  return { hourly, daily };
}

/** A metering point's energy by DataHub's rules on its own (quarters or hours), for a consumption group. */
export function energyVector(mp: MeteringPointPeriod, series: MeteredSeries, period: { start: number; end: number }, transition: number, gridArea: string): Map<number, bigint> {
  const calc = new EnergyCalculation(period, [gridArea], transition);
  calc.addMeteringPoint(mp, series);
  const out = new Map<number, bigint>();
  const step = calc.resolution === 'PT15M' ? 900_000 : HOUR;
  for (const r of calc.perEnergySupplier()) r.quantities.forEach((q, i) => q !== 0n && out.set(r.start + i * step, q));
  return out;
}

const negate = (m: ReadonlyMap<number, bigint>) => new Map([...m].map(([t, v]) => [t, -v]));

/**
 * A metering point DataHub counts as ours and we supply in no part of the period: DataHub sent us its metered
 * data (it sends RSM-012 to the supplier it has), but we have no supply. Its quantities would explain energy
 * and tariff residuals of consumption, and a piece a day of any subscription residual.
 */
export function notSuppliedByUs(gsrn: string, series: MeteredSeries, residuals: readonly QuantityResidual[], energy: (method: 'D01' | 'E02') => Map<number, bigint>, period: { start: number; end: number }): Candidate {
  const { hourly, daily } = slotSums(series, period.start, period.start, period.end);
  const contributions = new Map<string, ReadonlyMap<number, bigint>>([
    [energyGroupKey('E17', 'D01'), energy('D01')],
    [energyGroupKey('E17', 'E02'), energy('E02')],
  ]);
  for (const r of residuals) {
    if (r.meteringPointType !== 'E17') continue;
    const key = chargeGroupKey(r.chargeId, r.meteringPointType, r.settlementMethod, r.resolution);
    const type = r.chargeId.split(':')[1];
    if (type === 'D03') contributions.set(key, r.resolution === 'PT1H' ? hourly : daily);
    if (type === 'D01') contributions.set(key, new Map([...daily.keys()].map((d) => [d, 1000n])));
  }
  return {
    kind: 'metering-point-not-supplied-by-us',
    meteringPoints: [gsrn],
    contributions,
    explanation: `DataHub settles ${gsrn} as ours (it sends us its metered data) but we supply it in no part of the period: a supply start or end DataHub and we disagree on`,
  };
}

/** A metering point we supply without any metered data from DataHub: DataHub does not count it as ours. */
export function unknownToDataHub(gsrn: string, type: string, method: string | null, links: readonly ChargeLinkInPeriod[]): Candidate {
  const contributions = new Map<string, ReadonlyMap<number, bigint>>();
  for (const l of links) {
    if (l.chargeType === 'D03') continue;
    const days = new Map<number, bigint>();
    for (let d = localDateOf(new Date(l.from)); localDayStart(d).getTime() < Date.parse(l.to); d = addDays(d, 1)) days.set(localDayStart(d).getTime(), -BigInt(Math.round(Number(l.factor) * 1000)));
    contributions.set(chargeGroupKey(l.chargeId, type, method, 'P1D'), days);
  }
  return {
    kind: 'metering-point-unknown-to-datahub',
    meteringPoints: [gsrn],
    contributions,
    explanation: `We supply ${gsrn} but DataHub sent no metered data for it: DataHub does not count it as ours`,
  };
}

/**
 * A day of which we received a newer metered data version after DataHub's calculation: DataHub settled the
 * version before it (it corrects in a later correction settlement). Contribution = previous − latest.
 */
export function versionChange(change: VersionChange, type: string, method: string | null, links: readonly ChargeLinkInPeriod[], energy: ReadonlyMap<number, bigint>, residuals: readonly QuantityResidual[]): Candidate {
  const delta = new Map<number, bigint>();
  for (const t of new Set([...change.previous.keys(), ...change.latest.keys()])) {
    const d = (change.previous.get(t) ?? 0n) - (change.latest.get(t) ?? 0n);
    if (d !== 0n) delta.set(t, d);
  }
  const hourly = new Map<number, bigint>();
  let day = 0n;
  for (const [t, d] of delta) {
    hourly.set(t - (t % HOUR), (hourly.get(t - (t % HOUR)) ?? 0n) + d);
    day += d;
  }
  const contributions = new Map<string, ReadonlyMap<number, bigint>>([[energyGroupKey(type, method), energy]]);
  const linked = new Set(links.filter((l) => l.chargeType === 'D03').map((l) => l.chargeId));
  for (const r of residuals) {
    if (!linked.has(r.chargeId) || r.meteringPointType !== type || r.settlementMethod !== method) continue;
    contributions.set(chargeGroupKey(r.chargeId, type, method, r.resolution), r.resolution === 'PT1H' ? hourly : new Map([[localDayStart(change.day).getTime(), day]]));
  }
  return {
    kind: 'metered-data-version',
    meteringPoints: [change.gsrn],
    contributions,
    explanation: `${change.gsrn} ${change.day}: we received a newer metered data version at ${change.receivedAt}, after DataHub's calculation; DataHub settled the version before it`,
  };
}

/** A charge link one side does not know: the metering point's quantities (or minus them) are exactly the residual. */
export function linkCandidate(kind: 'charge-link-unknown-to-us' | 'charge-link-unknown-to-datahub', gsrn: string, residual: QuantityResidual, all: ReadonlyMap<number, bigint>): Candidate {
  // Only the link's span: the slots where the residual is.
  const quantities = new Map([...residual.quantities.keys()].map((t) => [t, all.get(t) ?? 0n]));
  return {
    kind,
    meteringPoints: [gsrn],
    contributions: new Map([[chargeGroupKey(residual.chargeId, residual.meteringPointType, residual.settlementMethod, residual.resolution), kind === 'charge-link-unknown-to-us' ? quantities : negate(quantities)]]),
    explanation:
      kind === 'charge-link-unknown-to-us'
        ? `DataHub settles ${gsrn} with charge ${residual.chargeId}, a link it has not sent us (RSM-031)`
        : `We link ${gsrn} to charge ${residual.chargeId}; DataHub does not settle that link`,
  };
}
