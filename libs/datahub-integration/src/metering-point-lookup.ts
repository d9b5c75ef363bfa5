import { addDays, localDateOf } from '@dh/dk-time';
import { EloverblikNotFoundError, type EloverblikClient } from '@dh/eloverblik-client';
import type { JsonObject } from '@dh/event-store';

/** DK1 (west) or DK2 (east) from the grid area when Eloverblik does not say; the mapping is configuration. */
export type PriceAreaOfGridArea = (gridArea: string) => 'DK1' | 'DK2' | undefined;

export class MeteringPointNotFoundError extends Error {
  override readonly name = 'MeteringPointNotFoundError';
  constructor(readonly gsrn: string) {
    super(`Eloverblik knows no metering point ${gsrn} (or the customer has not given consent)`);
  }
}

/**
 * What onboarding needs before we supply a metering point: its master data, 12 months of monthly
 * history and the expected annual consumption (for the first aconto amount), from Eloverblik.
 * The consumer's name and address are not returned: CRM has them, and they are personal data.
 */
export async function lookupMeteringPoint(client: EloverblikClient, gsrn: string, now: Date, priceAreaOf: PriceAreaOfGridArea): Promise<JsonObject> {
  let details;
  try {
    details = await client.getMeteringPointDetails(gsrn);
  } catch (error) {
    if (error instanceof EloverblikNotFoundError) throw new MeteringPointNotFoundError(gsrn);
    throw error;
  }
  const today = localDateOf(now);
  const [history, estimate] = await Promise.all([
    client.getConsumptionHistory(gsrn, { from: addDays(today, -365), to: today, aggregation: 'Month' }),
    client.estimateAnnualConsumption(gsrn, today).catch(() => null),
  ]);
  const gridArea = details.gridArea ?? null;
  return {
    gsrn,
    type: details.type ?? null,
    settlementMethod: details.settlementMethod ?? null,
    gridArea,
    priceArea: details.priceArea ?? (gridArea ? (priceAreaOf(gridArea) ?? null) : null),
    gridOperator: { gln: details.gridOperator.gln ?? null, name: details.gridOperator.name ?? null },
    currentSupplier: details.balanceSupplier ? { gln: details.balanceSupplier.gln, name: details.balanceSupplier.name ?? null } : null,
    physicalStatus: details.physicalStatus ?? null,
    // Own solar: onboarding registers the consumption point with it, and settlement nets the two.
    linkedProductionGsrn: details.linkedProductionGsrn ?? null,
    history: {
      from: history.from,
      to: history.to,
      totalKwh: history.totalKwh,
      months: history.points.map((p) => ({ start: p.start.toISOString(), end: p.end.toISOString(), kwh: p.kwh })),
    },
    expectedAnnualConsumption: estimate ? { kwh: estimate.kwh, basis: estimate.basis } : details.estimatedAnnualVolumeKwh ? { kwh: details.estimatedAnnualVolumeKwh, basis: 'estimated-annual-volume' } : null,
  };
}

/** Grid areas west of the Great Belt are DK1; this default covers the common ones and is overridable by configuration. */
export function defaultPriceAreaOf(overrides: Record<string, 'DK1' | 'DK2'> = {}): PriceAreaOfGridArea {
  const dk2 = new Set(['131', '132', '141', '142', '151', '152', '153', '154', '155', '156', '157', '158', '159', '740', '757', '791', '853', '854', '860', '911']);
  return (gridArea) => overrides[gridArea] ?? (dk2.has(gridArea) ? 'DK2' : /^\d{3}$/.test(gridArea) ? 'DK1' : undefined);
}
