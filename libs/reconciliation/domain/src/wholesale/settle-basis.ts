import { EnergyCalculation } from './energy-calculation';
import { isParentType, type CalculationPeriod, type ChargeLinkPeriod, type ChargePriceInformationPeriod, type ChargePricePoint, type MeteredSeries, type MeteringPointPeriod, type WholesaleResults } from './model';
import { WholesaleCalculation } from './wholesale-calculation';

/** Everything DataHub's wholesale calculation reads for a period and grid areas (its "basis data"). */
export interface WholesaleBasis {
  readonly period: CalculationPeriod;
  readonly gridAreas: readonly string[];
  /** From this instant energy is settled in quarters (DataHub's `QUARTERLY_RESOLUTION_TRANSITION_DATETIME`). */
  readonly quarterlyTransition: number;
  readonly meteringPointPeriods: readonly MeteringPointPeriod[];
  /** Per metering point, dense over the period at its resolution. */
  readonly series: ReadonlyMap<string, MeteredSeries>;
  readonly chargeLinks: readonly ChargeLinkPeriod[];
  readonly chargeInformation: readonly ChargePriceInformationPeriod[];
  readonly chargePrices: readonly ChargePricePoint[];
  /** The grid area's positive (E17) and negative (E18) grid-loss metering points. */
  readonly gridLossMeteringPoints: readonly string[];
}

/**
 * Child metering points (D01–D19) settle under their parent's energy supplier, for the part of their period
 * inside the parent's (`add_parent_data_to_child_metering_point_periods`).
 */
export function withParentSuppliers(periods: readonly MeteringPointPeriod[]): MeteringPointPeriod[] {
  const parents = periods.filter((p) => isParentType(p.type));
  const out: MeteringPointPeriod[] = [...parents];
  for (const child of periods.filter((p) => !isParentType(p.type))) {
    for (const parent of parents) {
      if (parent.meteringPointId !== child.parentMeteringPointId) continue;
      const from = Math.max(child.from, parent.from);
      const to = Math.min(child.to ?? Number.POSITIVE_INFINITY, parent.to ?? Number.POSITIVE_INFINITY);
      if (from < to) out.push({ ...child, energySupplier: parent.energySupplier, from, to: Number.isFinite(to) ? to : null });
    }
  }
  return out;
}

/**
 * DataHub's wholesale fixing over a whole basis: energy first (grid loss needs every metering point of
 * the grid area), then the grid-loss points get the calculated grid loss as their series, then every
 * metering point except exchange is settled with its charge links (`calculation_core._execute_wholesale`).
 */
export function settleWholesaleBasis(basis: WholesaleBasis): { energy: EnergyCalculation; wholesale: WholesaleResults } {
  const inCalculation = basis.meteringPointPeriods.filter(
    (p) =>
      (basis.gridAreas.includes(p.gridArea) || (p.fromGridArea !== null && basis.gridAreas.includes(p.fromGridArea)) || (p.toGridArea !== null && basis.gridAreas.includes(p.toGridArea))) &&
      p.from < basis.period.end &&
      (p.to === null || p.to > basis.period.start),
  );
  const periods = withParentSuppliers(inCalculation);
  const gridLoss = new Set(basis.gridLossMeteringPoints);
  const energy = new EnergyCalculation(basis.period, basis.gridAreas, basis.quarterlyTransition);
  for (const p of periods) if (isParentType(p.type) && !gridLoss.has(p.meteringPointId)) energy.addMeteringPoint(p, basis.series.get(p.meteringPointId) ?? null);

  const links = new Map<string, ChargeLinkPeriod[]>();
  for (const l of basis.chargeLinks) links.set(l.meteringPointId, [...(links.get(l.meteringPointId) ?? []), l]);
  const wholesale = new WholesaleCalculation({ period: basis.period, chargeInformation: basis.chargeInformation, chargePrices: basis.chargePrices });
  for (const p of periods) {
    const series = gridLoss.has(p.meteringPointId) && basis.gridAreas.includes(p.gridArea) ? energy.gridLossSeries(p) : (basis.series.get(p.meteringPointId) ?? null);
    wholesale.addMeteringPoint(p, series, links.get(p.meteringPointId) ?? []);
  }
  return { energy, wholesale: wholesale.results() };
}
