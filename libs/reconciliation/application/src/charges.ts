import { toScaled } from '@dh/money';
import type { ChargeInformation, ChargeLinkInPeriod, ChargePriceAt, ChargeType } from '@dh/rates-domain';
import type { ChargeLinkPeriod, ChargePriceInformationPeriod, ChargePricePoint, ChargeResolution } from '@dh/reconciliation-domain';

/** A linked charge with its master data and prices in the period (the shape of `DataHubChargeCopy.chargesIn`). */
export interface ChargeInPeriod {
  readonly chargeId: string;
  readonly owner: string;
  readonly chargeType: ChargeType;
  readonly code: string;
  readonly information: readonly ChargeInformation[];
  readonly prices: readonly ChargePriceAt[];
}

/**
 * Rates' view of DataHub's charges (the links and price lists DataHub sent us, RSM-031/034) as the inputs of
 * DataHub's calculation. A PT15M tariff resolution (accepted by DataHub's charges domain, never settled by its
 * wholesale engine: datahub-formats.md §6–7) is left out, as DataHub's engine leaves it out.
 */
export function calculationCharges(charges: ReadonlyMap<string, ChargeInPeriod>): { information: ChargePriceInformationPeriod[]; prices: ChargePricePoint[] } {
  const information: ChargePriceInformationPeriod[] = [];
  const prices: ChargePricePoint[] = [];
  for (const c of charges.values()) {
    const charge = { owner: c.owner, type: c.chargeType, code: c.code };
    for (const i of c.information) {
      if (i.resolution === 'PT15M') continue;
      information.push({ charge, resolution: i.resolution as ChargeResolution, isTax: i.taxIndicator, from: Date.parse(i.from), to: i.to === null ? null : Date.parse(i.to) });
    }
    for (const p of c.prices) prices.push({ charge, price: toScaled(p.price, 6), time: Date.parse(p.time) });
  }
  return { information, prices };
}

/** A metering point's links as DataHub's charge link periods (the factor as DataHub's integer quantity). */
export function calculationLinks(gsrn: string, links: readonly ChargeLinkInPeriod[]): ChargeLinkPeriod[] {
  return links.map((l) => ({
    charge: { owner: l.owner, type: l.chargeType, code: l.code },
    meteringPointId: gsrn,
    quantity: Number(l.factor),
    from: Date.parse(l.from),
    to: Date.parse(l.to),
  }));
}
