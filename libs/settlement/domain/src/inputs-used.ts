import { RESOLUTION_MS, localDayEnd, localDayStart, type LocalDate } from '@dh/dk-time';
import { formatScaled, PRICE_SCALE, QUANTITY_SCALE } from '@dh/money';
import { chargeRowOn, knownAt, MissingPriceError, type Charge, type ChargePriceRow, type SpotPrice, type SpotPriceSeries } from '@dh/rates-domain';
import type { FeeDue } from './fees';
import type { LineKind } from './invoice';
import { haltOf, prepareSettlement, type PreparedSettlement } from './prepare';
import type { SettlementHalted } from './settlement-halted';
import type { SettlementInput } from './settlement-input';

/** A price-list row that priced some of the supplied days, with the version and publication it came from. */
export interface ChargeRowUse {
  readonly validFrom: LocalDate;
  readonly validTo: LocalDate | null;
  readonly version: number;
  readonly publishedAt: string;
  readonly resolution: string;
  /** DKK per kWh (per month for P1M), every decimal kept. */
  readonly prices: readonly string[];
  readonly firstDay: LocalDate;
  readonly lastDay: LocalDate;
  readonly days: number;
}

export interface ChargeUse {
  readonly chargeId: string;
  readonly description: string;
  readonly owner: string;
  readonly rows: readonly ChargeRowUse[];
  /** Supplied days on which no row was known at `asOf` (the settlement would have halted). */
  readonly missingDays: readonly LocalDate[];
}

/** The day-ahead prices of one delivery day as the settlement saw them: which versions, published when. */
export interface SpotDayUse {
  readonly day: LocalDate;
  readonly resolution: 'PT15M' | 'PT1H';
  readonly intervals: number;
  readonly versions: readonly number[];
  readonly latestPublishedAt: string | null;
  readonly missing: number;
}

/** Which price sources each invoice line draws on (line kind → charge roles), and the spot price where it applies. */
export const LINE_PRICE_SOURCES: Readonly<Record<LineKind, { readonly charges: readonly ChargeRole[]; readonly spot: boolean }>> = {
  energy: { charges: ['product-margin'], spot: true },
  'grid-tariff': { charges: ['grid-tariff'], spot: false },
  'system-tariff': { charges: ['system-tariff'], spot: false },
  'transmission-tariff': { charges: ['transmission-tariff'], spot: false },
  'electricity-tax': { charges: ['electricity-tax'], spot: false },
  'electricity-tax-reduced': { charges: ['electricity-tax-reduced'], spot: false },
  production: { charges: [], spot: false },
  'export-energy': { charges: [], spot: true },
  'export-fee': { charges: ['export-fee'], spot: false },
  'grid-subscription': { charges: ['grid-subscription'], spot: false },
  'system-subscription': { charges: ['system-subscription'], spot: false },
  'product-subscription': { charges: ['product-subscription'], spot: false },
  // A fee's price is its own charge's (the line's chargeId), not one of the roles.
  fee: { charges: [], spot: false },
};

export type ChargeRole =
  | 'product-margin'
  | 'product-subscription'
  | 'export-fee'
  | 'grid-tariff'
  | 'grid-subscription'
  | 'system-tariff'
  | 'transmission-tariff'
  | 'system-subscription'
  | 'electricity-tax'
  | 'electricity-tax-reduced';

/** A fee (D02) the invoice charges: its day, pieces, VAT and the price-list row that priced it. */
export interface FeeUse {
  readonly chargeId: string;
  readonly description: string;
  readonly date: LocalDate;
  /** Pieces, the links of the charge on that day added up. */
  readonly pieces: string;
  readonly vatExempt: boolean;
  /** The row (version, publication) in force on the day as known at asOf; null when none (the settlement would have halted). */
  readonly row: Omit<ChargeRowUse, 'firstDay' | 'lastDay' | 'days'> | null;
}

export interface InputsUsed {
  readonly asOf: string;
  readonly gridArea: string;
  readonly priceArea: string;
  readonly suppliedDays: readonly LocalDate[];
  readonly charges: Partial<Readonly<Record<ChargeRole, ChargeUse>>>;
  readonly spot: readonly SpotDayUse[];
  /** Electric heating (elvarme): the year's prorated threshold and the net import before the period, kWh. */
  readonly electricHeating: { readonly annualThresholdKwh: string; readonly thresholdKwh: string; readonly yearToDateKwh: string } | null;
  /** The production metering point netted hourly against consumption, or null. */
  readonly productionGsrn: string | null;
  /** The fees (D02) dated on a supplied day, by day and charge; absent when there are none. */
  readonly fees?: readonly FeeUse[];
}

function feeUse(fee: FeeDue, asOf: Date): FeeUse {
  let row: ChargePriceRow | null;
  try {
    row = chargeRowOn(fee.charge, fee.date, asOf);
  } catch (error) {
    if (!(error instanceof MissingPriceError)) throw error;
    row = null;
  }
  return {
    chargeId: fee.charge.chargeId,
    description: fee.charge.description,
    date: fee.date,
    pieces: fee.pieces.toString(),
    vatExempt: fee.vatExempt,
    row:
      row === null
        ? null
        : { validFrom: row.validFrom, validTo: row.validTo, version: row.version, publishedAt: row.publishedAt.toISOString(), resolution: row.resolution, prices: row.prices.map(nanoDkk) },
  };
}

const nanoDkk = (units: bigint): string => formatScaled(units, PRICE_SCALE);

function chargeUse(charge: Charge, days: readonly LocalDate[], asOf: Date): ChargeUse {
  const rows: { row: ChargePriceRow; first: LocalDate; last: LocalDate; days: number }[] = [];
  const missingDays: LocalDate[] = [];
  for (const day of days) {
    let row: ChargePriceRow;
    try {
      row = chargeRowOn(charge, day, asOf);
    } catch (error) {
      if (!(error instanceof MissingPriceError)) throw error;
      missingDays.push(day);
      continue;
    }
    const current = rows[rows.length - 1];
    if (current !== undefined && current.row === row) {
      current.last = day;
      current.days++;
    } else rows.push({ row, first: day, last: day, days: 1 });
  }
  return {
    chargeId: charge.chargeId,
    description: charge.description,
    owner: charge.owner,
    rows: rows.map(({ row, first, last, days: n }) => ({
      validFrom: row.validFrom,
      validTo: row.validTo,
      version: row.version,
      publishedAt: row.publishedAt.toISOString(),
      resolution: row.resolution,
      prices: row.prices.map(nanoDkk),
      firstDay: first,
      lastDay: last,
      days: n,
    })),
    missingDays,
  };
}

function latestKnown(versions: readonly SpotPrice[] | undefined, asOf: Date): SpotPrice | undefined {
  if (versions === undefined) return undefined;
  for (let i = versions.length - 1; i >= 0; i--) if (knownAt(versions[i]!, asOf)) return versions[i];
  return undefined;
}

/** Quarter prices where the day has them, else hourly prices (as `spotPriceAt` picks them). */
function spotDayUse(series: SpotPriceSeries, day: LocalDate, asOf: Date): SpotDayUse {
  const from = localDayStart(day).getTime();
  const to = localDayEnd(day).getTime();
  const hasQuarters = latestKnown(series.quarters.get(from), asOf) !== undefined;
  const resolution = hasQuarters ? 'PT15M' : 'PT1H';
  const index = hasQuarters ? series.quarters : series.hours;
  const versions = new Set<number>();
  let latest: Date | null = null;
  let intervals = 0;
  let missing = 0;
  for (let ms = from; ms < to; ms += RESOLUTION_MS[resolution]) {
    const p = latestKnown(index.get(ms), asOf);
    if (p === undefined) {
      missing++;
      continue;
    }
    intervals++;
    versions.add(p.version);
    if (latest === null || p.publishedAt.getTime() > latest.getTime()) latest = p.publishedAt;
  }
  return { day, resolution, intervals, versions: [...versions].sort((a, b) => a - b), latestPublishedAt: latest?.toISOString() ?? null, missing };
}

function roles(p: PreparedSettlement): [ChargeRole, Charge][] {
  const r = p.rates;
  const out: [ChargeRole, Charge][] = [
    ['product-margin', p.product.margin],
    ['product-subscription', p.product.subscription],
    ['grid-tariff', r.gridTariff],
    ['grid-subscription', r.gridSubscription],
    ['system-tariff', r.systemTariff],
    ['transmission-tariff', r.transmissionTariff],
    ['system-subscription', r.systemSubscription],
    ['electricity-tax', r.electricityTax],
  ];
  if (p.electricHeating !== null) out.push(['electricity-tax-reduced', r.reducedElectricityTax]);
  if (p.exportFee !== null) out.push(['export-fee', p.exportFee]);
  return out;
}

/**
 * The price data a settlement of `input` draws on, as known at its `asOf`: for every charge the rows
 * (version, publication, validity) that priced the supplied days, the spot price versions per day, the
 * electric-heating threshold and the production point. The same lookups as `settleMeteringPoint`, so an
 * invoice can be explained line by line. Throws what `prepareSettlement` throws for an input that halts.
 */
export function inputsUsed(input: SettlementInput): InputsUsed {
  const p = prepareSettlement(input);
  const charges: Partial<Record<ChargeRole, ChargeUse>> = {};
  for (const [role, charge] of roles(p)) charges[role] = chargeUse(charge, p.days, p.asOf);
  const eh = p.electricHeating;
  return {
    asOf: p.asOf.toISOString(),
    gridArea: p.rates.gridArea,
    priceArea: p.rates.priceArea,
    suppliedDays: p.days,
    charges,
    spot: p.days.map((day) => spotDayUse(p.rates.spot, day, p.asOf)),
    electricHeating:
      eh === null
        ? null
        : { annualThresholdKwh: p.rates.electricHeatingThresholdKwh, thresholdKwh: formatScaled(eh.thresholdMilliKwh, QUANTITY_SCALE), yearToDateKwh: formatScaled(eh.yearToDateMilliKwh, QUANTITY_SCALE) },
    productionGsrn: input.meteringPoint.productionGsrn ?? null,
    ...(p.fees.length > 0 ? { fees: p.fees.map((f) => feeUse(f, p.asOf)) } : {}),
  };
}

/**
 * `inputsUsed`, with what `prepareSettlement` stops on (configuration, invalid input) as the typed halt a
 * settlement of `input` would give. Only the preparation's stops: a price or metered interval missing is found by
 * the settlement itself (here a row or version `null`, a day without it).
 */
export function inputsUsedOrHalted(input: SettlementInput): { outcome: 'used'; used: InputsUsed } | SettlementHalted {
  try {
    return { outcome: 'used', used: inputsUsed(input) };
  } catch (e) {
    const halt = haltOf(input.meteringPoint.gsrn, e);
    if (halt === null) throw e;
    return halt;
  }
}
