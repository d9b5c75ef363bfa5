import { deterministicEventId } from '@dh/event-store';
import { formatScaled } from '@dh/money';
import { monthPeriod, type Period } from '@dh/dk-time';
import {
  EnergyCalculation,
  WholesaleCalculation,
  attribute,
  chargeGroupKey,
  compareEnergy,
  compareInvoices,
  compareWholesale,
  energyGroupKey,
  explainsResidual,
  resultVersionLabel,
  type Candidate,
  type EnergyGroupComparison,
  type FindingFacts,
  type FindingKind,
  type InvoiceComparison,
  type MeteringPointPeriod,
  type QuantityResidual,
  type WholesaleComparison,
} from '@dh/reconciliation-domain';
import { linkCandidate, notSuppliedByUs, slotSums, unknownToDataHub, versionChange, energyVector } from './candidates';
import { calculationCharges, calculationLinks } from './charges';
import type { OurMeteringPoint, ReconciliationInputs } from './ports';

export interface ReconcileOptions {
  readonly gridArea: string;
  /** `YYYY-MM`. */
  readonly period: string;
  readonly supplierGln: string;
  /** DataHub's quarterly resolution transition (energy in quarters for periods ending after it). */
  readonly quarterlyTransition: number;
  readonly runId: string;
  /** Metering points read per batch (links and metered data). Default 1000. */
  readonly batchSize?: number;
}

export interface Observation {
  readonly facts: FindingFacts;
  readonly explainedBySystem: boolean;
}

export interface ReconciliationOutcome {
  readonly runId: string;
  readonly gridArea: string;
  readonly period: string;
  readonly datahubEnergyResult: string | null;
  readonly datahubWholesaleResult: string | null;
  readonly meteringPoints: number;
  readonly wholesale: WholesaleComparison | null;
  readonly energy: readonly EnergyGroupComparison[];
  readonly invoices: readonly InvoiceComparison[];
  readonly observations: readonly Observation[];
}

export function periodOf(month: string): Period {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (m === null) throw new RangeError(`A reconciliation period is a month YYYY-MM, got ${JSON.stringify(month)}`);
  return monthPeriod(Number(m[1]), Number(m[2]));
}

const kwh = (milli: bigint) => formatScaled(milli, 3);
const dkk = (micro: bigint) => formatScaled(micro, 6);
const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());

/**
 * Recomputes DataHub's results for a grid area and month from our own data by DataHub's rules, compares them
 * with the results DataHub sent (the current version), and explains every difference it can with metering
 * points. Our metering points are read in batches: links and metered data for `batchSize` points at a time.
 */
export async function reconcile(inputs: ReconciliationInputs, options: ReconcileOptions): Promise<ReconciliationOutcome> {
  const period = periodOf(options.period);
  const span = { start: period.start.getTime(), end: period.end.getTime() };
  const batch = options.batchSize ?? 1000;
  const [energyResult, wholesaleResult] = await Promise.all([inputs.datahubEnergy(options.gridArea, options.period), inputs.datahubWholesale(options.gridArea, options.period)]);
  const ours = await inputs.ourMeteringPoints(options.gridArea, period);
  const gsrns = ours.map((m) => m.gsrn);

  const datahubChargeIds = (wholesaleResult?.series ?? []).flatMap((s) => (s.chargeOwner && s.chargeType && s.chargeCode ? [`${s.chargeOwner}:${s.chargeType}:${s.chargeCode}`] : []));
  const chargeIds = [...new Set([...(await inputs.linkedChargeIds(gsrns, period)), ...datahubChargeIds])];
  const charges = await inputs.charges(chargeIds, period);
  const { information, prices } = calculationCharges(charges);
  const wholesale = new WholesaleCalculation({ period: span, chargeInformation: information, chargePrices: prices });
  const energy = new EnergyCalculation(span, [options.gridArea], options.quarterlyTransition);
  const periodsOf = (mp: OurMeteringPoint, resolution: 'PT15M' | 'PT1H'): MeteringPointPeriod[] =>
    mp.spans.map((s) => ({
      meteringPointId: mp.gsrn,
      type: mp.type,
      settlementMethod: mp.settlementMethod,
      gridArea: options.gridArea,
      resolution,
      fromGridArea: null,
      toGridArea: null,
      parentMeteringPointId: null,
      energySupplier: options.supplierGln,
      balanceResponsible: null,
      from: s.from,
      to: s.to,
    }));

  const withoutData: OurMeteringPoint[] = [];
  // The next batch is read while this one is computed (two batches in memory at most).
  const load = (i: number) => {
    const slice = ours.slice(i, i + batch);
    const ids = slice.map((m) => m.gsrn);
    const loading = Promise.all([inputs.links(ids, period), inputs.meteredData(ids, period)]).then(([links, series]) => ({ slice, links, series }));
    loading.catch(() => undefined); // rejected when awaited below; never an unhandled rejection meanwhile
    return loading;
  };
  let next = ours.length > 0 ? load(0) : null;
  for (let i = 0; i < ours.length; i += batch) {
    const { slice, links, series } = await next!;
    next = i + batch < ours.length ? load(i + batch) : null;
    const seriesOf = new Map(series.map((s) => [s.gsrn, s]));
    for (const mp of slice) {
      const s = seriesOf.get(mp.gsrn);
      if (s === undefined || s.days === 0) withoutData.push(mp);
      for (const p of periodsOf(mp, s?.series.resolution ?? 'PT15M')) {
        wholesale.addMeteringPoint(p, s?.series ?? null, calculationLinks(mp.gsrn, links.get(mp.gsrn) ?? []));
        energy.addMeteringPoint(p, s?.series ?? null);
      }
    }
  }
  const ourWholesale = wholesale.results();
  const wholesaleComparison = wholesaleResult === null ? null : compareWholesale(wholesaleResult.series, ourWholesale);
  const energyComparison = energyResult === null ? [] : compareEnergy(energyResult.series, energy.perEnergySupplier());
  const invoices = compareInvoices(await inputs.invoiced(options.gridArea, period), wholesaleComparison?.charges ?? []);

  // ---- explaining the differences ------------------------------------------------------------------------------
  const residualList: QuantityResidual[] = wholesaleComparison?.residuals.slice() ?? [];
  const residuals = new Map<string, ReadonlyMap<number, bigint>>();
  for (const r of residualList) residuals.set(chargeGroupKey(r.chargeId, r.meteringPointType, r.settlementMethod, r.resolution), r.quantities);
  for (const e of energyComparison) if (e.residual.size > 0) residuals.set(energyGroupKey(e.meteringPointType, e.settlementMethod), e.residual);
  const candidates: Candidate[] = [];
  if (residuals.size > 0) {
    const supplied = new Set(gsrns);
    const ghosts = (await inputs.meteringPointsWithDataNotSupplied(period)).filter((g) => !supplied.has(g));
    for (const s of await inputs.meteredData(ghosts, period)) {
      const asConsumption = (method: 'D01' | 'E02'): MeteringPointPeriod => periodsOf({ gsrn: s.gsrn, type: 'E17', settlementMethod: method, spans: [{ from: span.start, to: span.end }] }, s.series.resolution)[0]!;
      candidates.push(notSuppliedByUs(s.gsrn, s.series, residualList, (method) => energyVector(asConsumption(method), s.series, span, options.quarterlyTransition, options.gridArea), span));
    }
    const linksOfWithout = await inputs.links(withoutData.map((m) => m.gsrn), period);
    for (const mp of withoutData) candidates.push(unknownToDataHub(mp.gsrn, mp.type, mp.settlementMethod, linksOfWithout.get(mp.gsrn) ?? []));
    if (wholesaleResult !== null || energyResult !== null) {
      const after = wholesaleResult?.receivedAt ?? energyResult!.receivedAt;
      const changes = await inputs.versionChanges(gsrns, period, after);
      const byGsrn = new Map(ours.map((m) => [m.gsrn, m]));
      const changeLinks = await inputs.links([...new Set(changes.map((c) => c.gsrn))], period);
      for (const c of changes) {
        const mp = byGsrn.get(c.gsrn)!;
        const delta = new Map<number, bigint>();
        for (const t of new Set([...c.previous.keys(), ...c.latest.keys()])) delta.set(t, (c.previous.get(t) ?? 0n) - (c.latest.get(t) ?? 0n));
        candidates.push(versionChange(c, mp.type, mp.settlementMethod, changeLinks.get(c.gsrn) ?? [], delta, residualList));
      }
    }
  }
  let attribution = attribute(residuals, candidates);
  // A tariff residual no metering point-level cause explains may be a link one side does not know: find the
  // one metering point whose quantities are exactly the residual (a second pass, only when needed).
  const open = residualList.filter((r) => r.chargeId.split(':')[1] === 'D03' && attribution.unexplained.has(chargeGroupKey(r.chargeId, r.meteringPointType, r.settlementMethod, r.resolution)));
  if (open.length > 0) {
    for (let i = 0; i < ours.length; i += batch) {
      const slice = ours.slice(i, i + batch);
      const ids = slice.map((m) => m.gsrn);
      const [links, series] = await Promise.all([inputs.links(ids, period), inputs.meteredData(ids, period)]);
      const seriesOf = new Map(series.map((s) => [s.gsrn, s]));
      for (const mp of slice) {
        const s = seriesOf.get(mp.gsrn);
        if (s === undefined) continue;
        const sums = slotSums(s.series, span.start, span.start, span.end);
        for (const r of open.filter((x) => x.meteringPointType === mp.type && x.settlementMethod === mp.settlementMethod)) {
          const quantities = r.resolution === 'PT1H' ? sums.hourly : sums.daily;
          const linked = (links.get(mp.gsrn) ?? []).some((l) => l.chargeId === r.chargeId);
          if (!linked && explainsResidual(r.quantities, quantities)) candidates.push(linkCandidate('charge-link-unknown-to-us', mp.gsrn, r, quantities));
          if (linked && explainsResidual(r.quantities, quantities, -1n)) candidates.push(linkCandidate('charge-link-unknown-to-datahub', mp.gsrn, r, quantities));
        }
      }
    }
    attribution = attribute(residuals, candidates);
  }

  // ---- findings ----------------------------------------------------------------------------------------------------
  const result = resultVersionLabel(wholesaleResult?.version ?? energyResult?.version ?? { businessReason: '-', settlementVersion: null, calculationVersion: null });
  const observations: Observation[] = [];
  const facts = (kind: FindingKind, subject: string, rest: Omit<FindingFacts, 'findingId' | 'gridArea' | 'period' | 'kind' | 'datahubResult'>): FindingFacts => ({
    findingId: deterministicEventId(`${kind}|${subject}`, `reconciliation-${options.gridArea}-${options.period}`, 0),
    gridArea: options.gridArea,
    period: options.period,
    kind,
    datahubResult: result,
    ...rest,
  });
  const priceOf = priceLookup(wholesaleComparison);
  for (const a of attribution.accepted) {
    const vectors = a.groups.map((g) => [g, a.candidate.contributions.get(g)!] as const);
    const times = vectors.flatMap(([, v]) => [...v.keys()]);
    const energyGroup = vectors.find(([g]) => g.startsWith('energy|'));
    const quantity = energyGroup ? [...energyGroup[1].values()].reduce((x, y) => x + y, 0n) : null;
    const amount = vectors.filter(([g]) => g.startsWith('charge|')).reduce((sum, [g, v]) => sum + [...v].reduce((s, [t, q]) => s + (q * (priceOf(g, t) ?? 0n)) / 1000n, 0n), 0n);
    observations.push({
      facts: facts(a.candidate.kind, a.candidate.meteringPoints.join(','), {
        meteringPoints: a.candidate.meteringPoints,
        charges: [...new Set(a.groups.filter((g) => g.startsWith('charge|')).map((g) => g.split('|')[1]!))].sort(),
        quantityDifference: quantity === null ? null : kwh(quantity),
        amountDifference: dkk(amount),
        from: iso(Math.min(...times)),
        to: iso(Math.max(...times)),
        explanation: a.candidate.explanation,
      }),
      explainedBySystem: a.explained,
    });
  }
  for (const [group, residual] of attribution.unexplained) {
    const [, a, b, c] = group.split('|');
    const times = [...residual.keys()];
    const isEnergy = group.startsWith('energy|');
    const amount = isEnergy ? null : (wholesaleComparison?.differences ?? []).filter((d) => d.chargeId === a && d.meteringPointType === b && (d.settlementMethod ?? '') === c).reduce((s, d) => s + d.datahub.amount - d.ours.amount, 0n);
    observations.push({
      facts: facts('unexplained', group, {
        meteringPoints: [],
        charges: isEnergy ? [] : [a!],
        quantityDifference: kwh([...residual.values()].reduce((x, y) => x + y, 0n)),
        amountDifference: amount === null ? null : dkk(amount),
        from: iso(Math.min(...times)),
        to: iso(Math.max(...times)),
        explanation: isEnergy
          ? `DataHub's ${b}${c ? `/${c}` : ''} energy differs from our metered sums in ${residual.size} slots; no metering point we know explains it`
          : `DataHub's quantities of charge ${a} (${b}${c ? `/${c}` : ''}) differ from ours in ${residual.size} slots; no metering point we know explains it`,
      }),
      explainedBySystem: false,
    });
  }
  const priceDifferences = wholesaleComparison?.priceDifferences ?? [];
  const allLinks = priceDifferences.length > 0 ? await inputs.links(gsrns, period) : new Map<string, { chargeId: string }[]>();
  for (const p of priceDifferences) {
    const linked = [...allLinks].filter(([, ls]) => ls.some((l) => l.chargeId === p.chargeId)).map(([g]) => g);
    observations.push({
      facts: facts('price', p.chargeId, {
        meteringPoints: linked,
        charges: [p.chargeId],
        quantityDifference: null,
        amountDifference: dkk((wholesaleComparison?.differences ?? []).filter((d) => d.chargeId === p.chargeId && d.differs.includes('price')).reduce((s, d) => s + d.datahub.amount - d.ours.amount, 0n)),
        from: iso(Math.min(...p.times)),
        to: iso(Math.max(...p.times)),
        explanation: `DataHub prices charge ${p.chargeId} differently from the price list it sent us in ${p.times.length} slots`,
      }),
      explainedBySystem: false,
    });
  }
  for (const inv of invoices.filter((i) => !i.withinRounding)) {
    observations.push({
      facts: facts('invoice', inv.chargeId, {
        meteringPoints: [],
        charges: [inv.chargeId],
        quantityDifference: null,
        amountDifference: dkk(inv.roundingDifference),
        from: null,
        to: null,
        explanation: `Our invoices' lines of ${inv.chargeId} (${inv.lines}) differ from our DataHub-rule amount by more than per-line rounding explains`,
      }),
      explainedBySystem: false,
    });
  }
  return {
    runId: options.runId,
    gridArea: options.gridArea,
    period: options.period,
    datahubEnergyResult: energyResult === null ? null : resultVersionLabel(energyResult.version),
    datahubWholesaleResult: wholesaleResult === null ? null : resultVersionLabel(wholesaleResult.version),
    meteringPoints: ours.length,
    wholesale: wholesaleComparison,
    energy: energyComparison,
    invoices,
    observations,
  };
}

/** Price of a charge group's slot as DataHub or we priced it (for an estimate of an attributed amount). */
function priceLookup(comparison: WholesaleComparison | null): (group: string, time: number) => bigint | null {
  const prices = new Map<string, bigint>();
  for (const d of comparison?.differences ?? []) {
    const price = d.datahub.price ?? d.ours.price;
    if (price !== null) prices.set(`${chargeGroupKey(d.chargeId, d.meteringPointType, d.settlementMethod, d.resolution)}@${d.time}`, price);
  }
  return (group, time) => prices.get(`${group}@${time}`) ?? null;
}
