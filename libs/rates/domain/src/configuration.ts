import type { Charge } from './charges/charge';
import { PriceDataConflictError } from './errors';
import type { PriceArea } from './price-area';
import type { SpotPriceSeries } from './spot/spot-prices';

/** What a grid area means for pricing: its price area and its grid company's charges. Configuration data. */
export interface GridAreaRates {
  /** DataHub metering grid area code, e.g. "131". */
  readonly gridArea: string;
  readonly priceArea: PriceArea;
  readonly gridCompanyGln: string;
  readonly gridTariffChargeId: string;
  readonly gridSubscriptionChargeId: string;
}

/** Charges every metering point pays, by id (market-facts.md §1: Energinet codes 40000, 41000, 41004, EA-001). */
export interface NationalCharges {
  readonly systemTariffChargeId: string;
  readonly transmissionTariffChargeId: string;
  readonly systemSubscriptionChargeId: string;
  readonly electricityTaxChargeId: string;
  /** The reduced elafgift for electric heating: not in DatahubPricelist, so configured as its own charge. */
  readonly reducedElectricityTaxChargeId: string;
}

export interface RatesConfiguration {
  readonly gridAreas: readonly GridAreaRates[];
  readonly national: NationalCharges;
  /** Yearly consumption above which an electric-heating home pays the reduced tax, kWh (4000, elafgiftsloven). */
  readonly electricHeatingThresholdKwh: string;
}

/** All price data of a settlement run: spot series, charges and their configuration. */
export interface PriceBook {
  readonly spot: ReadonlyMap<PriceArea, SpotPriceSeries>;
  readonly charges: ReadonlyMap<string, Charge>;
  readonly configuration: RatesConfiguration;
  readonly gridAreas: ReadonlyMap<string, GridAreaRates>;
}

export function createPriceBook(input: {
  readonly spot: readonly SpotPriceSeries[];
  readonly charges: readonly Charge[];
  readonly configuration: RatesConfiguration;
}): PriceBook {
  const spot = new Map<PriceArea, SpotPriceSeries>();
  for (const s of input.spot) {
    if (spot.has(s.priceArea)) throw new PriceDataConflictError(`Two spot series for ${s.priceArea}`);
    spot.set(s.priceArea, s);
  }
  const charges = new Map<string, Charge>();
  for (const c of input.charges) {
    if (charges.has(c.chargeId)) throw new PriceDataConflictError(`Charge ${c.chargeId} given twice`);
    charges.set(c.chargeId, c);
  }
  const gridAreas = new Map<string, GridAreaRates>();
  for (const g of input.configuration.gridAreas) {
    if (gridAreas.has(g.gridArea)) throw new PriceDataConflictError(`Grid area ${g.gridArea} configured twice`);
    gridAreas.set(g.gridArea, g);
  }
  return { spot, charges, configuration: input.configuration, gridAreas };
}

/** The price area of a grid area, from configuration. */
export function priceAreaOf(book: PriceBook, gridArea: string): PriceArea | undefined {
  return book.gridAreas.get(gridArea)?.priceArea;
}

/** Everything that prices one metering point in a grid area, resolved from the price book. */
export interface MeteringPointRates {
  readonly gridArea: string;
  readonly priceArea: PriceArea;
  readonly spot: SpotPriceSeries;
  readonly gridTariff: Charge;
  readonly gridSubscription: Charge;
  readonly systemTariff: Charge;
  readonly transmissionTariff: Charge;
  readonly systemSubscription: Charge;
  readonly electricityTax: Charge;
  readonly reducedElectricityTax: Charge;
  readonly electricHeatingThresholdKwh: string;
}

export type RatesResolution =
  | { readonly ok: true; readonly rates: MeteringPointRates }
  | { readonly ok: false; readonly problem: 'unknown-grid-area' | 'no-spot-series' | 'unknown-charge'; readonly detail: string };

/** Resolves the grid area's price area and charges; a configuration gap is a typed problem, not an exception. */
export function ratesForGridArea(book: PriceBook, gridArea: string): RatesResolution {
  const area = book.gridAreas.get(gridArea);
  if (area === undefined) return { ok: false, problem: 'unknown-grid-area', detail: `grid area ${gridArea} is not configured` };
  const spot = book.spot.get(area.priceArea);
  if (spot === undefined) return { ok: false, problem: 'no-spot-series', detail: `no spot prices for ${area.priceArea}` };
  const n = book.configuration.national;
  const ids = {
    gridTariff: area.gridTariffChargeId,
    gridSubscription: area.gridSubscriptionChargeId,
    systemTariff: n.systemTariffChargeId,
    transmissionTariff: n.transmissionTariffChargeId,
    systemSubscription: n.systemSubscriptionChargeId,
    electricityTax: n.electricityTaxChargeId,
    reducedElectricityTax: n.reducedElectricityTaxChargeId,
  };
  const found: Partial<Record<keyof typeof ids, Charge>> = {};
  for (const [role, id] of Object.entries(ids) as [keyof typeof ids, string][]) {
    const c = book.charges.get(id);
    if (c === undefined) return { ok: false, problem: 'unknown-charge', detail: `charge ${id} (${role}) is not in the price book` };
    found[role] = c;
  }
  return {
    ok: true,
    rates: {
      gridArea,
      priceArea: area.priceArea,
      spot,
      gridTariff: found.gridTariff!,
      gridSubscription: found.gridSubscription!,
      systemTariff: found.systemTariff!,
      transmissionTariff: found.transmissionTariff!,
      systemSubscription: found.systemSubscription!,
      electricityTax: found.electricityTax!,
      reducedElectricityTax: found.reducedElectricityTax!,
      electricHeatingThresholdKwh: book.configuration.electricHeatingThresholdKwh,
    },
  };
}
