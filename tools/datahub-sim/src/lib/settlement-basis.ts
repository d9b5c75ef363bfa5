import type { CimDocument, Reason } from '@dh/cim';
import { addDays, localDateOf, localDayIntervals, localDayStart, type LocalDate } from '@dh/dk-time';
import { aggregatedEnergy, wholesaleSettlement, type HeaderInput } from './documents';
import { dayQuantities } from './profiles';
import type { Scenario, ScenarioCharge, ScenarioMeteringPoint } from './scenario';
import { settleEnergy, settleWholesale, type EngineMeteringPoint } from './settlement-engine';

/** What DataHub is asked to (re)calculate and send: a month's fixing, a correction settlement, or an answer to RSM-016/017. */
export interface ResultRequest {
  readonly kind: 'energy' | 'wholesale';
  readonly supplierGln: string;
  /** All grid areas of the supplier's metering points when absent. */
  readonly gridArea?: string;
  readonly start: Date;
  readonly end: Date;
  /** D04 balance fixing, D05 wholesale fixing, D32 correction settlement (with a settlement version). */
  readonly businessReason: string;
  readonly settlementVersion?: 'D01' | 'D02' | 'D03';
  readonly originalTransaction?: string;
  readonly meteringPointType?: string;
  readonly settlementMethod?: string;
  readonly chargeTypes?: readonly { readonly type: string; readonly code: string }[];
  readonly chargeOwner?: string;
}

export interface DocumentIds {
  header(processType: string, receiverGln: string): HeaderInput;
  nextId(kind: string): string;
  calculationVersion(): number;
}

/**
 * DataHub's basis for a supplier's results: the metering points it counts as the supplier's (including a
 * planted one it never announced), their quantities as DataHub holds them (including planted corrections it has
 * not sent yet), and their charge links (including planted links it never notified). The results are computed
 * by the simulator's own engine (`settlement-engine.ts`).
 */
export class SettlementBasis {
  constructor(
    private readonly scenario: Scenario,
    private readonly supplierForDay: (gsrn: string, date: LocalDate) => string | undefined,
  ) {}

  /** A metering point's quantities for a local day as DataHub holds them (thousandths). */
  quantities(mp: ScenarioMeteringPoint, date: LocalDate): number[] {
    const base = dayQuantities(this.scenario.seed, mp, date);
    const correction = this.scenario.planted.unsentCorrections.find((c) => c.gsrn === mp.gsrn && c.date === date);
    if (!correction) return base;
    const [whole = '0', frac = ''] = correction.factor.split('.');
    const factor = BigInt(whole + frac);
    const scale = 10n ** BigInt(frac.length);
    return base.map((q) => Number((BigInt(q) * factor * 2n + scale) / (2n * scale)));
  }

  /** The links DataHub settles a metering point with: its own list (notified or not) or every scenario charge for consumption. */
  linksOf(mp: ScenarioMeteringPoint): { charge: ScenarioCharge; factor: number; from: number; to: number; notified: boolean }[] {
    const find = (code: string, owner: string, type: string) => this.scenario.charges.find((c) => c.code === code && c.ownerGln === owner && c.type === type);
    if (mp.charges) {
      return mp.charges.flatMap((l) => {
        const charge = find(l.code, l.ownerGln, l.type);
        return charge ? [{ charge, factor: l.factor, from: l.from ? localDayStart(l.from).getTime() : 0, to: l.to ? localDayStart(l.to).getTime() : Number.MAX_SAFE_INTEGER, notified: l.notified }] : [];
      });
    }
    return mp.type === 'E17' ? this.scenario.charges.map((charge) => ({ charge, factor: 1, from: 0, to: Number.MAX_SAFE_INTEGER, notified: true })) : [];
  }

  points(supplierGln: string, gridArea: string, period: { start: number; end: number }): EngineMeteringPoint[] {
    const out: EngineMeteringPoint[] = [];
    for (const mp of this.scenario.meteringPoints) {
      if (mp.gridArea !== gridArea) continue;
      const values = new Map<number, number>();
      let from = Number.POSITIVE_INFINITY;
      let to = Number.NEGATIVE_INFINITY;
      for (let date = localDateOf(new Date(period.start)); localDayStart(date).getTime() < period.end; date = addDays(date, 1)) {
        if (this.supplierForDay(mp.gsrn, date) !== supplierGln) continue;
        from = Math.min(from, localDayStart(date).getTime());
        to = Math.max(to, localDayStart(addDays(date, 1)).getTime());
        const starts = localDayIntervals(date, mp.resolution);
        this.quantities(mp, date).forEach((q, i) => values.set(starts[i]!.getTime(), q));
      }
      if (values.size === 0) continue;
      out.push({
        gsrn: mp.gsrn,
        type: mp.type,
        ...(mp.settlementMethod ? { settlementMethod: mp.settlementMethod } : {}),
        resolution: mp.resolution,
        from,
        to,
        values,
        links: this.linksOf(mp).map((l) => ({ charge: l.charge, factor: l.factor, from: Math.max(l.from, from), to: Math.min(l.to, to) })).filter((l) => l.from < l.to),
      });
    }
    return out;
  }

  gridAreasOf(supplierGln: string, period: { start: number; end: number }): string[] {
    return [...new Set(this.scenario.meteringPoints.map((m) => m.gridArea))].filter((ga) => this.points(supplierGln, ga, period).length > 0).sort();
  }

  /** The result documents for a request, or the reason DataHub refuses it. */
  results(request: ResultRequest, ids: DocumentIds): CimDocument[] | Reason {
    const period = { start: request.start.getTime(), end: request.end.getTime() };
    const areas = request.gridArea ? [request.gridArea] : this.gridAreasOf(request.supplierGln, period);
    const answer = { ...(request.settlementVersion ? { settlementVersion: request.settlementVersion } : {}), ...(request.originalTransaction ? { originalTransaction: request.originalTransaction } : {}) };
    const docs: CimDocument[] = [];
    for (const gridArea of areas) {
      const points = this.points(request.supplierGln, gridArea, period);
      if (points.length === 0) continue;
      const version = ids.calculationVersion();
      if (request.kind === 'energy') {
        for (const series of settleEnergy(period, points, Date.parse(this.scenario.quarterlyTransition))) {
          if (request.meteringPointType && series.type !== request.meteringPointType) continue;
          if (request.settlementMethod && series.settlementMethod !== request.settlementMethod) continue;
          docs.push(aggregatedEnergy(ids.header(request.businessReason, request.supplierGln), ids.nextId('series'), version, series, gridArea, request.supplierGln, request, answer));
        }
      } else {
        const wanted = (c: ScenarioCharge) =>
          (!request.chargeOwner || c.ownerGln === request.chargeOwner) && (!request.chargeTypes?.length || request.chargeTypes.some((t) => t.type === c.type && t.code === c.code));
        const filtered = points.map((p) => ({ ...p, links: p.links.filter((l) => wanted(l.charge)) }));
        const result = settleWholesale(period, filtered);
        if (result.series.length === 0) continue;
        docs.push(wholesaleSettlement(ids.header(request.businessReason, request.supplierGln), () => ids.nextId('series'), version, result, gridArea, request.supplierGln, request, answer));
      }
    }
    if (docs.length === 0) return { code: this.scenario.reasonCodes.noResults, text: `No ${request.kind} results for ${request.supplierGln} in ${request.gridArea ?? 'any grid area'} ${request.start.toISOString()}–${request.end.toISOString()}` };
    return docs;
  }
}
