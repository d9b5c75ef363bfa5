import type { QualityCode } from '@dh/cim';
import { RESOLUTION_MS, addDays, compareLocalDates, fromEpochDay, localDayStart, toEpochDay, type LocalDate } from '@dh/dk-time';
import { formatScaled, parsePriceNanoDkkPerKwh, parseQuantityMilliKwh, QUANTITY_SCALE } from '@dh/money';
import {
  MissingPriceError,
  PriceDataConflictError,
  chargeRowOn,
  createCharge,
  createPriceBook,
  createSpotPriceSeries,
  isPriceArea,
  type Charge,
  type ChargePriceRow,
  type ChargeResolution,
  type ChargeType,
  type NationalCharges,
  type PriceArea,
  type SpotPrice,
} from '@dh/rates-domain';
import type { BillingPeriod, LinkedFee, MeteredInterval, MeteredSeries, MeteringPoint, SettlementHalted, SettlementInput, SupplyPeriod, VatMode } from '@dh/settlement-domain';
import { billingFrequencyOf, periodDates } from './period';
import type { MeteredPoint, PackedMeteredPoints } from './events';

/** Energinet's GLN and the national charges every metering point pays (market-facts.md §1). */
export const ENERGINET_GLN = '5790000432752';

export interface SettlementRatesConfig {
  readonly national: NationalCharges;
  readonly electricHeatingThresholdKwh: string;
  /** How VAT is computed on invoices (`SETTLEMENT_VAT_MODE`); absent = `per-line`. */
  readonly vatMode?: VatMode;
}

/** Electricity tax arrives as `ElectricityTaxRateSet`; settlement turns it into these two charges. */
export const DEFAULT_RATES_CONFIG: SettlementRatesConfig = {
  national: {
    systemTariffChargeId: `${ENERGINET_GLN}:D03:41000`,
    transmissionTariffChargeId: `${ENERGINET_GLN}:D03:40000`,
    systemSubscriptionChargeId: `${ENERGINET_GLN}:D01:41004`,
    electricityTaxChargeId: 'tax:electricity:normal',
    reducedElectricityTaxChargeId: 'tax:electricity:reduced',
  },
  electricHeatingThresholdKwh: '4000',
};

export interface SupplyRecord {
  gsrn: string;
  customerId: string;
  startDate: LocalDate;
  /** First day no longer supplied (the effective date of `SupplyEnded`), null while open. */
  endDate: LocalDate | null;
  productId: string;
  electricHeating: boolean;
  gridArea: string;
  productionGsrn: string | null;
  billingFrequency: 'monthly' | 'quarterly';
  paymentModel: 'aconto' | 'actual';
  reversed: boolean;
}

export interface ProductRecord {
  productId: string;
  name: string;
  marginDkkPerKwh: string;
  monthlySubscriptionDkk: string;
  exportFeeDkkPerKwh: string | null;
  validFrom: LocalDate;
  publishedAt: Date;
  expectedAllInPricePerKwh?: string | null;
  acontoQuarterShares?: string[] | null;
}

export interface TaxRateRecord {
  validFrom: LocalDate;
  validTo: LocalDate | null;
  normalDkkPerKwh: string;
  reducedDkkPerKwh: string;
  publishedAt: Date;
  version: number;
}

export interface GridAreaRecord {
  gridArea: string;
  priceArea: string;
  gridCompanyGln: string;
  gridTariffChargeId: string;
  gridSubscriptionChargeId: string;
}

export interface ChargeRowRecord {
  validFrom: LocalDate;
  validTo: LocalDate | null;
  resolution: ChargeResolution;
  prices: string[];
  version: number;
  publishedAt: Date;
}

export interface ChargeRecord {
  chargeId: string;
  owner: string;
  chargeType: ChargeType;
  code: string;
  description: string;
  rows: ChargeRowRecord[];
}

export interface SpotPriceRecord {
  priceArea: string;
  start: Date;
  resolution: 'PT15M' | 'PT1H';
  dkkPerKwh: string;
  version: number;
  publishedAt: Date;
}

export interface MeteredDayRecord {
  gsrn: string;
  day: LocalDate;
  version: number;
  resolution: 'PT15M' | 'PT1H';
  start: Date;
  points: MeteredPoint[];
  /** The same points as stored packed (integer Wh, quality runs), when they were: the run's kernel reads these (issue 8). */
  packed?: PackedMeteredPoints;
  /** Where the version came from (RSM-012 document) and when DataHub's document was received; for explanations. */
  documentId?: string;
  receivedAt?: Date;
}

/** A later change of the electric-heating registration (portfolio `ElectricHeatingSet`). */
export interface ElectricHeatingChangeRecord {
  gsrn: string;
  from: LocalDate;
  electricHeating: boolean;
}

/** Another product for the customer supply standing on `from`, from that day (portfolio `ProductChanged`). */
export interface ProductChangeRecord {
  gsrn: string;
  from: LocalDate;
  productId: string;
}

/** The product a customer supply is priced with on consecutive supplied days. */
export interface ProductDays {
  productId: string;
  firstDay: LocalDate;
  lastDay: LocalDate;
  days: number;
}

/** The production point linked to a consumption point from a date (portfolio `ProductionMeteringPointLinked`). */
export interface ProductionLinkRecord {
  gsrn: string;
  from: LocalDate;
  productionGsrn: string;
}

/**
 * A charge DataHub links to the metering point (RSM-031 NotifyBillingMasterData, rates'
 * `ChargeLinksRecorded`), as local dates: `from` inclusive, `to` exclusive (null open-ended).
 */
export interface ChargeLinkRecord {
  gsrn: string;
  chargeId: string;
  owner: string;
  chargeType: ChargeType;
  code: string;
  /** Pieces of a subscription or fee (tariffs are priced per kWh metered). */
  factor: string;
  from: LocalDate;
  to: LocalDate | null;
}

/**
 * A fee (D02) DataHub links to the metering point, dated inside the period: `date` is the link's own start
 * (DataHub's effectiveDate as a local date), not clipped to the period, so a fee linked before the period is
 * never charged again in it.
 */
export interface FeeLinkRecord {
  gsrn: string;
  chargeId: string;
  owner: string;
  code: string;
  /** Pieces (DataHub's link quantity). */
  factor: string;
  date: LocalDate;
  /** The fee's `VATPayer` on its date (RSM-034 master data): D02 = no VAT. Absent or null = VAT payable. */
  vatPayer?: 'D01' | 'D02' | null;
}

/** Settlement's own copies, as loaded for one metering point and one period. */
export interface SettlementCopies {
  supplies: SupplyRecord[];
  /** Absent = none. */
  electricHeatingChanges?: ElectricHeatingChangeRecord[];
  /** Absent = none. */
  productionLinks?: ProductionLinkRecord[];
  /** Product changes of the metering point's supplies from a date. Absent = none. */
  productChanges?: ProductChangeRecord[];
  /**
   * DataHub's charge links of the metering point overlapping the period. Absent or none of a role
   * (grid tariff, grid subscription) = that role falls back to the grid area's mapping.
   */
  chargeLinks?: ChargeLinkRecord[];
  /** The fees (D02) DataHub links to the metering point dated inside the period. Absent = none. */
  feeLinks?: FeeLinkRecord[];
  products: ProductRecord[];
  taxRates: TaxRateRecord[];
  gridAreas: GridAreaRecord[];
  charges: ChargeRecord[];
  spotPrices: SpotPriceRecord[];
  /** The current (highest) version of each day, consumption GSRN. */
  consumption: MeteredDayRecord[];
  /** Current versions of the days of every production GSRN that may be in force (filtered by GSRN here). */
  production: MeteredDayRecord[];
  /**
   * Current versions of the consumption GSRN's days of the calendar year before the period (for the
   * electric-heating year to date; loaded only when electric heating may be in force). Absent = none.
   */
  consumptionBeforePeriod?: MeteredDayRecord[];
  /** The same days of every production GSRN that may be in force (netted per hour). Absent = none. */
  productionBeforePeriod?: MeteredDayRecord[];
}

export type BuiltInput =
  | {
      ok: true;
      input: SettlementInput;
      customerId: string;
      paymentModel: 'aconto' | 'actual';
      gridArea: string;
      priceArea: PriceArea;
      productionGsrn: string | null;
      /** The product in force on the supplied days (the supply's, then its changes from a date). */
      products: ProductDays[];
    }
  | { ok: false; halt: SettlementHalted };

const QUALITIES: ReadonlySet<string> = new Set(['A01', 'A02', 'A03', 'A04', 'A05', 'A06']);

function overlaps(s: SupplyRecord, from: LocalDate, toExclusive: LocalDate): boolean {
  return compareLocalDates(s.startDate, toExclusive) < 0 && (s.endDate === null || compareLocalDates(s.endDate, from) > 0);
}

/** Supplies (not reversed) that overlap the period with the period's billing frequency. */
export function suppliesInPeriod(supplies: readonly SupplyRecord[], period: BillingPeriod): SupplyRecord[] {
  const { from, toExclusive } = periodDates(period);
  return supplies.filter((s) => !s.reversed && s.billingFrequency === billingFrequencyOf(period) && overlaps(s, from, toExclusive));
}

function seriesOf(gsrn: string, days: readonly MeteredDayRecord[]): MeteredSeries | string {
  const sorted = [...days].sort((a, b) => compareLocalDates(a.day, b.day));
  const resolutions = new Set(sorted.map((d) => d.resolution));
  if (resolutions.size > 1) return `metered data for ${gsrn} mixes resolutions ${[...resolutions].join(', ')} within the period`;
  const resolution = sorted[0]?.resolution ?? 'PT15M';
  const step = RESOLUTION_MS[resolution];
  const intervals: MeteredInterval[] = [];
  for (const d of sorted) {
    for (const p of [...d.points].sort((a, b) => a.position - b.position)) {
      const start = new Date(d.start.getTime() + (p.position - 1) * step);
      const quality = QUALITIES.has(p.quality) && p.quality !== 'A04' ? (p.quality as QualityCode) : undefined;
      intervals.push(quality === undefined ? { start, quantityKwh: p.quantityKwh } : { start, quantityKwh: p.quantityKwh, quality });
    }
  }
  return { gsrn, resolution, intervals };
}

export function productCharges(records: readonly ProductRecord[]): { margin: Charge; subscription: Charge; exportFee?: Charge; name: string } {
  const sorted = [...records].sort((a, b) => compareLocalDates(a.validFrom, b.validFrom) || a.publishedAt.getTime() - b.publishedAt.getTime());
  const rows = (price: (r: ProductRecord) => string | null, resolution: ChargeResolution): ChargePriceRow[] =>
    sorted.flatMap((r, i) => {
      const p = price(r);
      if (p === null) return [];
      const next = sorted.slice(i + 1).find((n) => n.validFrom !== r.validFrom);
      return [{ validFrom: r.validFrom, validTo: next?.validFrom ?? null, resolution, prices: [parsePriceNanoDkkPerKwh(p)], publishedAt: r.publishedAt, version: i + 1 }];
    });
  const id = sorted[0]!.productId;
  const name = sorted[sorted.length - 1]!.name;
  const margin = createCharge({ chargeId: `product:${id}:margin`, owner: 'product', chargeType: 'D03', code: 'margin', description: `${name}: tillæg`, rows: rows((r) => r.marginDkkPerKwh, 'P1D') });
  const subscription = createCharge({
    chargeId: `product:${id}:subscription`,
    owner: 'product',
    chargeType: 'D01',
    code: 'subscription',
    description: `${name}: abonnement`,
    rows: rows((r) => r.monthlySubscriptionDkk, 'P1M'),
  });
  const feeRows = rows((r) => r.exportFeeDkkPerKwh, 'P1D');
  if (feeRows.length === 0) return { margin, subscription, name };
  const exportFee = createCharge({ chargeId: `product:${id}:export-fee`, owner: 'product', chargeType: 'D03', code: 'export-fee', description: `${name}: gebyr for køb af overskudsproduktion`, rows: feeRows });
  return { margin, subscription, exportFee, name };
}

/**
 * The product in force on each supplied day: the supply's own product from its start, then the latest
 * `ProductChanged` dated inside that supply on or before the day.
 */
export function productDaysOf(supplies: readonly SupplyRecord[], changes: readonly ProductChangeRecord[], days: readonly LocalDate[]): ProductDays[] {
  return productDaysOn(spansOf(supplies), numberedChanges(changes, (c) => c.productId), days, days.map(toEpochDay));
}

/** {@link productDaysOf} on supply spans and changes by GSRN as day numbers; `numbers[i]` is the day number of `days[i]`. */
function productDaysOn(spans: readonly SupplySpan[], changes: ReadonlyMap<string, readonly NumberedChange<string>[]>, days: readonly LocalDate[], numbers: readonly number[]): ProductDays[] {
  const out: ProductDays[] = [];
  let lastNumber = Number.NaN;
  for (let i = 0; i < days.length; i++) {
    const z = numbers[i]!;
    const span = spanOn(spans, z);
    if (span === undefined) continue;
    const s = span.supply;
    const productId = inForceOnDay(span.start, s.productId, changes.get(s.gsrn) ?? [], z);
    const last = out[out.length - 1];
    if (last !== undefined && last.productId === productId && z === lastNumber + 1) {
      last.lastDay = days[i]!;
      last.days++;
    } else out.push({ productId, firstDay: days[i]!, lastDay: days[i]!, days: 1 });
    lastNumber = z;
  }
  return out;
}

type ProductPricing = ReturnType<typeof productCharges>;

/**
 * One product for a period whose supplied days have different products (a change from a date): per supplied
 * day the row (as known at `asOf`) of the product in force that day, for the margin, the subscription (monthly
 * price, prorated per day by the engine) and the export fee (only when every product has one). Its ids are
 * the products' ids joined by `+`. A product without a price on a day throws `MissingPriceError`.
 */
function productOnDays(byProduct: ReadonlyMap<string, ProductPricing>, productDays: readonly ProductDays[], asOf: Date): ProductPricing {
  const ids = [...new Set(productDays.map((p) => p.productId))];
  const dayList = productDays.flatMap((p) => {
    const out: { day: LocalDate; productId: string }[] = [];
    for (let d = p.firstDay; compareLocalDates(d, p.lastDay) <= 0; d = addDays(d, 1)) out.push({ day: d, productId: p.productId });
    return out;
  });
  const compose = (part: 'margin' | 'subscription' | 'exportFee', code: string, chargeType: ChargeType, resolution: ChargeResolution, description: string): Charge =>
    createCharge({
      chargeId: `product:${ids.join('+')}:${code}`,
      owner: 'product',
      chargeType,
      code,
      description,
      rows: dayList.map(({ day, productId }) => {
        const charge = byProduct.get(productId)![part];
        if (charge === undefined) throw new MissingPriceError({ chargeId: `product:${productId}:${code}` }, { start: localDayStart(day), end: localDayStart(addDays(day, 1)) });
        const row = chargeRowOn(charge, day, asOf);
        return { validFrom: day, validTo: addDays(day, 1), resolution, prices: row.prices, publishedAt: row.publishedAt, version: row.version };
      }),
    });
  const names = ids.map((id) => byProduct.get(id)!.name).join(' / ');
  const margin = compose('margin', 'margin', 'D03', 'P1D', `${names}: tillæg`);
  const subscription = compose('subscription', 'subscription', 'D01', 'P1M', `${names}: abonnement`);
  const name = byProduct.get(productDays[productDays.length - 1]!.productId)!.name;
  if (ids.some((id) => byProduct.get(id)!.exportFee === undefined)) return { margin, subscription, name };
  return { margin, subscription, exportFee: compose('exportFee', 'export-fee', 'D03', 'P1D', `${names}: gebyr for køb af overskudsproduktion`), name };
}

export function taxCharges(config: SettlementRatesConfig, records: readonly TaxRateRecord[]): Charge[] {
  const rows = (price: (r: TaxRateRecord) => string): ChargePriceRow[] =>
    records.map((r) => ({ validFrom: r.validFrom, validTo: r.validTo, resolution: 'P1D', prices: [parsePriceNanoDkkPerKwh(price(r))], publishedAt: r.publishedAt, version: r.version }));
  return [
    createCharge({ chargeId: config.national.electricityTaxChargeId, owner: ENERGINET_GLN, chargeType: 'D03', code: 'EA-001', description: 'Elafgift', rows: rows((r) => r.normalDkkPerKwh) }),
    createCharge({
      chargeId: config.national.reducedElectricityTaxChargeId,
      owner: ENERGINET_GLN,
      chargeType: 'D03',
      code: 'EA-001-R',
      description: 'Reduceret elafgift',
      rows: rows((r) => r.reducedDkkPerKwh),
    }),
  ];
}

/**
 * The value of a supply's setting on `day`: the supply's own value from its start, then the latest
 * change dated inside the supply on or before the day (a change on the start day wins over the
 * start). Changes dated before the supply started belong to an earlier supply and do not carry over.
 */
function inForceOn<T>(supply: SupplyRecord, initial: T, changes: readonly { from: LocalDate; value: T }[], day: LocalDate): T {
  let value = initial;
  let at: LocalDate | null = null;
  for (const c of changes) {
    if (compareLocalDates(c.from, supply.startDate) < 0 || compareLocalDates(c.from, day) > 0) continue;
    if (at === null || compareLocalDates(c.from, at) >= 0) {
      value = c.value;
      at = c.from;
    }
  }
  return value;
}

/**
 * A supply's days as day numbers (`toEpochDay`): `start` inclusive, `end` exclusive (Infinity while open). Supplied
 * days, products and electric heating are decided per day of the period for every point of a run: on numbers, each
 * date read once, not compared as strings day by day (issue 8).
 */
interface SupplySpan {
  readonly supply: SupplyRecord;
  readonly start: number;
  readonly end: number;
}

const spansOf = (supplies: readonly SupplyRecord[]): SupplySpan[] =>
  supplies.map((supply) => ({ supply, start: toEpochDay(supply.startDate), end: supply.endDate === null ? Number.POSITIVE_INFINITY : toEpochDay(supply.endDate) }));

/** The first supply (in the given order) covering day `z`. */
function spanOn(spans: readonly SupplySpan[], z: number): SupplySpan | undefined {
  for (const span of spans) if (span.start <= z && z < span.end) return span;
  return undefined;
}

interface NumberedChange<T> {
  readonly from: number;
  readonly value: T;
}

/** A setting's changes by GSRN, dated by day number, each GSRN's in the given order. */
function numberedChanges<C extends { gsrn: string; from: LocalDate }, T>(changes: readonly C[], value: (c: C) => T): Map<string, NumberedChange<T>[]> {
  const out = new Map<string, NumberedChange<T>[]>();
  for (const c of changes) {
    const change = { from: toEpochDay(c.from), value: value(c) };
    const list = out.get(c.gsrn);
    if (list === undefined) out.set(c.gsrn, [change]);
    else list.push(change);
  }
  return out;
}

/** {@link inForceOn} on day numbers: the supply starting on day `start`, on day `z`. */
function inForceOnDay<T>(start: number, initial: T, changes: readonly NumberedChange<T>[], z: number): T {
  let value = initial;
  let at = Number.NEGATIVE_INFINITY;
  for (const c of changes) {
    if (c.from < start || c.from > z) continue;
    if (c.from >= at) {
      value = c.value;
      at = c.from;
    }
  }
  return value;
}

/** The local days of the period the supplies cover, in order, with their day numbers. */
function suppliedDaysOn(spans: readonly SupplySpan[], period: BillingPeriod): { days: LocalDate[]; numbers: number[] } {
  const { from, toExclusive } = periodDates(period);
  const days: LocalDate[] = [];
  const numbers: number[] = [];
  const end = toEpochDay(toExclusive);
  for (let z = toEpochDay(from); z < end; z++) {
    if (spanOn(spans, z) === undefined) continue;
    days.push(fromEpochDay(z));
    numbers.push(z);
  }
  return { days, numbers };
}

/**
 * Electric heating for a billing period (the engine takes one flag per period): true only when the
 * registration is in force on **every** supplied day of the period. A registration from the middle of
 * a period takes effect with the next period, and so does a deregistration: the reduced rate is never
 * given for a day that was not registered (our choice; README "Electric heating in force").
 */
export function electricHeatingInForce(supplies: readonly SupplyRecord[], changes: readonly ElectricHeatingChangeRecord[], period: BillingPeriod): boolean {
  return electricHeatingOn(spansOf(supplies), changes, period);
}

function electricHeatingOn(spans: readonly SupplySpan[], changes: readonly ElectricHeatingChangeRecord[], period: BillingPeriod): boolean {
  const { from, toExclusive } = periodDates(period);
  const own = numberedChanges(changes, (c) => c.electricHeating);
  let supplied = 0;
  const end = toEpochDay(toExclusive);
  for (let z = toEpochDay(from); z < end; z++) {
    const span = spanOn(spans, z);
    if (span === undefined) continue;
    supplied++;
    if (!inForceOnDay(span.start, span.supply.electricHeating, own.get(span.supply.gsrn) ?? [], z)) return false;
  }
  return supplied > 0;
}

/**
 * The production GSRN for a billing period: the link in force on the first day of the period that
 * the latest supply in it covers (`SupplyStarted.productionGsrn`, then `ProductionMeteringPointLinked`
 * changes dated inside that supply). A link from the middle of a period takes effect with the next one.
 */
export function productionGsrnInForce(latest: SupplyRecord, links: readonly ProductionLinkRecord[], period: BillingPeriod): string | null {
  const { from } = periodDates(period);
  const first = compareLocalDates(latest.startDate, from) > 0 ? latest.startDate : from;
  const own = links.filter((l) => l.gsrn === latest.gsrn).map((l) => ({ from: l.from, value: l.productionGsrn as string | null }));
  return inForceOn(latest, latest.productionGsrn, own, first);
}

/**
 * Net import of metered days, Wh: per UTC hour (= local clock hour in Denmark), consumption minus
 * production, never below zero (hourly netting, as the engine settles it). Without production it is
 * the sum of consumption. Null quantities count as zero (a gap halted the period it belonged to).
 */
export function netImportMilliKwh(consumption: readonly MeteredDayRecord[], production: readonly MeteredDayRecord[]): bigint {
  const HOUR = RESOLUTION_MS.PT1H;
  const byHour = (days: readonly MeteredDayRecord[]): Map<number, bigint> => {
    const hours = new Map<number, bigint>();
    for (const d of days) {
      const step = RESOLUTION_MS[d.resolution];
      for (const p of d.points) {
        if (p.quantityKwh === null) continue;
        const hour = Math.floor((d.start.getTime() + (p.position - 1) * step) / HOUR);
        hours.set(hour, (hours.get(hour) ?? 0n) + parseQuantityMilliKwh(p.quantityKwh));
      }
    }
    return hours;
  };
  const produced = byHour(production);
  let total = 0n;
  for (const [hour, consumed] of byHour(consumption)) {
    const net = consumed - (produced.get(hour) ?? 0n);
    if (net > 0n) total += net;
  }
  return total;
}

/**
 * The electric-heating year to date, Wh: net import of the calendar year before the period counted
 * on **our supply days only** (the supply periods the threshold is prorated over), so a previous
 * occupant's, an earlier supply's or a reversed supply's consumption on the same meter never uses up
 * the threshold. Production is netted per hour against the same days.
 */
export function yearToDateMilliKwh(supplyPeriods: readonly SupplyPeriod[], period: BillingPeriod, consumption: readonly MeteredDayRecord[], production: readonly MeteredDayRecord[]): bigint {
  const { from } = periodDates(period);
  const yearStart = `${from.slice(0, 4)}-01-01`;
  const supplied = (d: MeteredDayRecord): boolean =>
    compareLocalDates(d.day, yearStart) >= 0 &&
    compareLocalDates(d.day, from) < 0 &&
    supplyPeriods.some((s) => compareLocalDates(s.start, d.day) <= 0 && (s.endExclusive === null || compareLocalDates(d.day, s.endExclusive) < 0));
  return netImportMilliKwh(consumption.filter(supplied), production.filter(supplied));
}

const EPOCH = new Date(0);

/** The grid company's charges DataHub links to the metering point: tariffs (D03) and subscriptions (D01) not owned by Energinet. */
function gridCompanyLinks(links: readonly ChargeLinkRecord[], gsrn: string, chargeType: 'D01' | 'D03'): ChargeLinkRecord[] {
  return links.filter((l) => l.gsrn === gsrn && l.chargeType === chargeType && l.owner !== ENERGINET_GLN);
}

/**
 * One charge for a role (grid tariff or grid subscription) from the charges DataHub links to the
 * metering point: on each supplied day, the sum of the prices (as known at `asOf`) of the charges
 * linked that day — a subscription × the link's factor (pieces) — and zero on a supplied day no
 * charge of the role is linked. One row per day, so a link that ends or starts mid-month prices
 * exactly its own days. Its id is the linked charge's id (ids joined by `+` in the order their links
 * start when several are linked in the period). A linked charge without a price on a supplied day throws `MissingPriceError`.
 */
export function linkedCharge(chargeType: 'D01' | 'D03', links: readonly ChargeLinkRecord[], charges: ReadonlyMap<string, Charge>, days: readonly LocalDate[], asOf: Date): Charge {
  const ids = [...new Set([...links].sort((a, b) => compareLocalDates(a.from, b.from) || a.chargeId.localeCompare(b.chargeId)).map((l) => l.chargeId))];
  const rows: ChargePriceRow[] = [];
  for (const day of days) {
    const onDay = links.filter((l) => compareLocalDates(l.from, day) <= 0 && (l.to === null || compareLocalDates(day, l.to) < 0));
    const hourly = chargeType === 'D03' && onDay.some((l) => charges.get(l.chargeId)?.rows.some((r) => r.resolution === 'PT1H'));
    const prices = Array.from({ length: hourly ? 24 : 1 }, () => 0n);
    let publishedAt = EPOCH;
    for (const l of onDay) {
      const charge = charges.get(l.chargeId);
      if (charge === undefined) throw new MissingPriceError({ chargeId: l.chargeId }, { start: localDayStart(day), end: localDayStart(addDays(day, 1)) });
      const row = chargeRowOn(charge, day, asOf);
      if (row.publishedAt > publishedAt) publishedAt = row.publishedAt;
      if (chargeType === 'D01') {
        if (!/^\d+$/.test(l.factor)) throw new InvalidLinkFactor(`link of ${l.chargeId} from ${l.from} has factor ${l.factor}, not a whole number of pieces`);
        prices[0]! += row.prices[0]! * BigInt(l.factor);
      } else {
        for (let h = 0; h < prices.length; h++) prices[h]! += row.resolution === 'PT1H' ? row.prices[h]! : row.prices[0]!;
      }
    }
    rows.push({ validFrom: day, validTo: addDays(day, 1), resolution: chargeType === 'D01' ? 'P1M' : hourly ? 'PT1H' : 'P1D', prices, publishedAt, version: 1 });
  }
  const first = charges.get(ids[0]!);
  return createCharge({
    chargeId: ids.join('+'),
    owner: links[0]!.owner,
    chargeType,
    code: ids.length === 1 ? links[0]!.code : ids.map((id) => id.split(':').slice(2).join(':')).join('+'),
    description: ids.length === 1 ? (first?.description ?? ids[0]!) : ids.map((id) => charges.get(id)?.description ?? id).join(' + '),
    rows,
  });
}

class InvalidLinkFactor extends Error {}

/**
 * The fees (D02) linked to the metering point whose date is one of `days` (the supplied days of the customer
 * supply being settled), with their price lists. A fee whose charge has no price list halts on a missing price.
 */
export function linkedFees(links: readonly FeeLinkRecord[], gsrn: string, charges: ReadonlyMap<string, Charge>, days: readonly LocalDate[]): LinkedFee[] {
  const supplied = new Set(days);
  return links
    .filter((l) => l.gsrn === gsrn && supplied.has(l.date))
    .map((l) => {
      const charge = charges.get(l.chargeId);
      if (charge === undefined) throw new MissingPriceError({ chargeId: l.chargeId }, { start: localDayStart(l.date), end: localDayStart(addDays(l.date, 1)) });
      return { charge, date: l.date, factor: l.factor, ...(l.vatPayer === 'D02' ? { vatExempt: true } : {}) };
    });
}

function configurationHalt(gsrn: string, problem: string): { ok: false; halt: SettlementHalted } {
  return { ok: false, halt: { outcome: 'halted', reason: 'missing-configuration', gsrn, problem } };
}

/**
 * The customers supplied on a metering point in a period (their supplies, not reversed, with the
 * period's billing frequency), in the order their first supply in it starts. Each gets its own
 * invoice: its own days, product, electric-heating flag and subscriptions (a move between two of our
 * customers in the middle of the month gives two invoices).
 */
export function customerSuppliesInPeriod(supplies: readonly SupplyRecord[], gsrn: string, period: BillingPeriod): string[] {
  const own = suppliesInPeriod(supplies.filter((s) => s.gsrn === gsrn), period).sort((a, b) => compareLocalDates(a.startDate, b.startDate));
  return [...new Set(own.map((s) => s.customerId))];
}

/** What every customer supply's input is built from before its prices: its supplies, days, product days and metered series. */
interface PointHead {
  supplies: SupplyRecord[];
  latest: SupplyRecord;
  priceArea: PriceArea;
  days: LocalDate[];
  productDays: ProductDays[];
  productIds: string[];
  /** Null when not asked for (the caller lays packed days on its grid itself). */
  consumption: MeteredSeries | null;
  productionGsrn: string | null;
  electricHeating: boolean;
  production: MeteredSeries | undefined;
}

/** The checks and parts of {@link buildSettlementInput} that come before the prices, in its order. */
function pointHead(gsrn: string, period: BillingPeriod, copies: SettlementCopies, customerId: string | null, withConsumption: boolean): { ok: true; head: PointHead } | { ok: false; halt: SettlementHalted } {
  const all = suppliesInPeriod(copies.supplies.filter((s) => s.gsrn === gsrn), period);
  if (all.length === 0) return configurationHalt(gsrn, `no supply of ${gsrn} in the period`);
  const customers = customerSuppliesInPeriod(copies.supplies, gsrn, period);
  if (customerId === null && customers.length > 1) {
    return configurationHalt(gsrn, `${customers.length} customers are supplied on ${gsrn} in the period (${customers.join(', ')}): each customer supply is settled on its own`);
  }
  const supplies = customerId === null ? all : all.filter((s) => s.customerId === customerId);
  if (supplies.length === 0) return configurationHalt(gsrn, `no supply of ${gsrn} to customer ${customerId} in the period`);
  const latest = [...supplies].sort((a, b) => compareLocalDates(b.startDate, a.startDate))[0]!;
  const gridArea = copies.gridAreas.find((g) => g.gridArea === latest.gridArea);
  if (gridArea === undefined) return configurationHalt(gsrn, `grid area ${latest.gridArea} is not mapped`);
  if (!isPriceArea(gridArea.priceArea)) return configurationHalt(gsrn, `grid area ${latest.gridArea} maps to unknown price area ${gridArea.priceArea}`);
  const priceArea = gridArea.priceArea;
  // The product of each supplied day: the supply's, then its changes from a date (ProductChanged).
  const spans = spansOf(supplies);
  const { days, numbers } = suppliedDaysOn(spans, period);
  const productDays = productDaysOn(spans, numberedChanges(copies.productChanges ?? [], (c) => c.productId), days, numbers);
  const productIds = [...new Set(productDays.map((p) => p.productId))];
  if (productIds.length === 0) productIds.push(latest.productId);
  for (const id of productIds) if (!copies.products.some((p) => p.productId === id)) return configurationHalt(gsrn, `product ${id} is not defined`);
  const consumption = withConsumption ? seriesOf(gsrn, copies.consumption) : null;
  if (typeof consumption === 'string') return { ok: false, halt: { outcome: 'halted', reason: 'invalid-input', gsrn, problem: consumption } };
  const productionGsrn = productionGsrnInForce(latest, copies.productionLinks ?? [], period);
  const electricHeating = electricHeatingOn(spans, copies.electricHeatingChanges ?? [], period);
  const production =
    productionGsrn === null
      ? undefined
      : seriesOf(
          productionGsrn,
          copies.production.filter((d) => d.gsrn === productionGsrn),
        );
  if (typeof production === 'string') return { ok: false, halt: { outcome: 'halted', reason: 'invalid-input', gsrn, problem: production } };
  return { ok: true, head: { supplies, latest, priceArea, days, productDays, productIds, consumption, productionGsrn, electricHeating, production } };
}

/** A charge copy as the rates domain prices it. */
function chargeOfRecord(c: ChargeRecord): Charge {
  return createCharge({
    chargeId: c.chargeId,
    owner: c.owner,
    chargeType: c.chargeType,
    code: c.code,
    description: c.description,
    rows: c.rows.map((r) => ({ validFrom: r.validFrom, validTo: r.validTo, resolution: r.resolution, prices: r.prices.map(parsePriceNanoDkkPerKwh), publishedAt: r.publishedAt, version: r.version })),
  });
}

/** The supply periods of a customer supply in start order, and its electric-heating year to date (Wh; 0 without electric heating). */
function supplyPeriodsAndYearToDate(head: PointHead, period: BillingPeriod, copies: SettlementCopies): { supplyPeriods: SupplyPeriod[]; yearToDate: bigint } {
  const supplyPeriods = [...head.supplies].sort((a, b) => compareLocalDates(a.startDate, b.startDate)).map((s): SupplyPeriod => ({ start: s.startDate, endExclusive: s.endDate }));
  const yearToDate = head.electricHeating ? yearToDateMilliKwh(supplyPeriods, period, copies.consumptionBeforePeriod ?? [], copies.productionBeforePeriod ?? []) : 0n;
  return { supplyPeriods, yearToDate };
}

/** A halt for the price errors building an input can meet (null: not one of them). */
function priceErrorHalt(gsrn: string, error: unknown): { ok: false; halt: SettlementHalted } | null {
  if (error instanceof PriceDataConflictError) return configurationHalt(gsrn, error.message);
  if (error instanceof MissingPriceError) return { ok: false, halt: { outcome: 'halted', reason: 'missing-price', gsrn, priceArea: null, chargeId: error.chargeId ?? null, interval: error.interval } };
  if (error instanceof InvalidLinkFactor) return { ok: false, halt: { outcome: 'halted', reason: 'invalid-input', gsrn, problem: error.message } };
  return null;
}

/**
 * Builds the pure settlement input of one customer supply (`customerId`: that customer's supplies of
 * the metering point in the period) from settlement's copies. Without `customerId`, the metering
 * point's only customer in the period; with several, a `missing-configuration` halt (never one
 * invoice for two customers).
 * A gap or conflict in the copies becomes a `missing-configuration` halt (never a partial invoice).
 */
export function buildSettlementInput(
  gsrn: string,
  period: BillingPeriod,
  asOf: Date,
  copies: SettlementCopies,
  config: SettlementRatesConfig = DEFAULT_RATES_CONFIG,
  customerId: string | null = null,
): BuiltInput {
  const built = pointHead(gsrn, period, copies, customerId, true);
  if (!built.ok) return built;
  const { head } = built;
  const { latest, priceArea, days, productDays, productIds, productionGsrn, electricHeating, production } = head;
  const consumption = head.consumption!;
  try {
    // As of `asOf`: a redefinition published later must not cut the validity of the row it follows (its prices are
    // not known yet, so the earlier row still runs on); without any definition known yet, the kernel halts as before.
    const productRecords = (id: string) => {
      const all = copies.products.filter((p) => p.productId === id);
      const known = all.filter((p) => p.publishedAt.getTime() <= asOf.getTime());
      return known.length > 0 ? known : all;
    };
    const byProduct = new Map(productIds.map((id) => [id, productCharges(productRecords(id))] as const));
    const product = productIds.length === 1 ? byProduct.get(productIds[0]!)! : productOnDays(byProduct, productDays, asOf);
    const spot: SpotPrice[] = copies.spotPrices
      .filter((p) => p.priceArea === priceArea)
      .map((p) => ({ priceArea, start: p.start, resolution: p.resolution, nanoDkkPerKwh: parsePriceNanoDkkPerKwh(p.dkkPerKwh), publishedAt: p.publishedAt, version: p.version }));
    const charges = copies.charges.map(chargeOfRecord);
    // The grid company's tariff and subscription from DataHub's charge links; a role without links falls back to the grid area's mapping.
    const byId = new Map(charges.map((c) => [c.chargeId, c]));
    const linked = (['D03', 'D01'] as const).map((type) => {
      const links = gridCompanyLinks(copies.chargeLinks ?? [], gsrn, type);
      return links.length === 0 ? null : linkedCharge(type, links, byId, days, asOf);
    });
    const [linkedTariff, linkedSubscription] = linked;
    // Fees (D02) dated on a day this customer supply is supplied: priced by the domain on their day.
    const fees = linkedFees(copies.feeLinks ?? [], gsrn, byId, days);
    const ownCharges = linked.filter((c): c is Charge => c !== null);
    const prices = createPriceBook({
      spot: [createSpotPriceSeries(priceArea, spot)],
      charges: [...charges.filter((c) => !ownCharges.some((o) => o.chargeId === c.chargeId)), ...ownCharges, ...taxCharges(config, copies.taxRates)],
      configuration: {
        gridAreas: copies.gridAreas
          .filter((g): g is GridAreaRecord & { priceArea: PriceArea } => isPriceArea(g.priceArea))
          .map((g) => ({
            gridArea: g.gridArea,
            priceArea: g.priceArea,
            gridCompanyGln: g.gridCompanyGln,
            gridTariffChargeId: g.gridArea === latest.gridArea && linkedTariff ? linkedTariff.chargeId : g.gridTariffChargeId,
            gridSubscriptionChargeId: g.gridArea === latest.gridArea && linkedSubscription ? linkedSubscription.chargeId : g.gridSubscriptionChargeId,
          })),
        national: config.national,
        electricHeatingThresholdKwh: config.electricHeatingThresholdKwh,
      },
    });
    const { supplyPeriods, yearToDate } = supplyPeriodsAndYearToDate(head, period, copies);
    const input: SettlementInput = {
      meteringPoint: { gsrn, gridArea: latest.gridArea, priceArea, electricHeating, ...(productionGsrn !== null ? { productionGsrn } : {}) },
      supplyPeriods,
      billingPeriod: period,
      consumption,
      ...(production !== undefined ? { production } : {}),
      prices,
      product: { name: product.name, margin: product.margin, subscription: product.subscription, ...(product.exportFee ? { exportFee: product.exportFee } : {}) },
      yearToDateConsumptionKwh: formatScaled(yearToDate, QUANTITY_SCALE),
      asOf,
      ...(config.vatMode !== undefined ? { vatMode: config.vatMode } : {}),
      ...(fees.length > 0 ? { fees } : {}),
    };
    return { ok: true, input, customerId: latest.customerId, paymentModel: latest.paymentModel, gridArea: latest.gridArea, priceArea, productionGsrn, products: productDays };
  } catch (error) {
    const halt = priceErrorHalt(gsrn, error);
    if (halt !== null) return halt;
    throw error;
  }
}

/** A customer supply's own part of its settlement on prices resolved for the period (see {@link buildPointInput}). */
export interface PointInput {
  readonly meteringPoint: MeteringPoint;
  readonly supplyPeriods: readonly SupplyPeriod[];
  /** Null when built without it (`withConsumption` false: the caller lays the packed days on its grid). */
  readonly consumption: MeteredSeries | null;
  readonly production?: MeteredSeries;
  /** Net import of the calendar year before the period (electric heating), Wh. */
  readonly yearToDateMilliKwh: bigint;
  readonly vatMode?: VatMode;
  readonly fees?: readonly LinkedFee[];
}

export type BuiltPoint =
  | ({ ok: true; point: PointInput } & Pick<Extract<BuiltInput, { ok: true }>, 'customerId' | 'paymentModel' | 'gridArea' | 'priceArea' | 'productionGsrn' | 'products'>)
  | { ok: false; halt: SettlementHalted };

/**
 * {@link buildSettlementInput} without the prices (issue 8): what a run's worker settles a customer supply with on
 * prices it resolved once for the period and the supply's set of charges (grid area, products, charge links):
 * the metering point, supply periods, metered series (consumption only when `withConsumption`), the
 * electric-heating year to date and the fees (D02) on supplied days, with the same checks in the same order. No
 * product, spot, tariff or tax charge is built, so a price problem of the set of charges is not seen here: call it
 * only for a supply whose set of charges built its prices without one. Its halts are those of
 * {@link buildSettlementInput} for the same copies.
 */
export function buildPointInput(
  gsrn: string,
  period: BillingPeriod,
  copies: SettlementCopies,
  config: SettlementRatesConfig = DEFAULT_RATES_CONFIG,
  customerId: string | null = null,
  withConsumption = true,
): BuiltPoint {
  const built = pointHead(gsrn, period, copies, customerId, withConsumption);
  if (!built.ok) return built;
  const { head } = built;
  const { latest, priceArea, productionGsrn, electricHeating, production } = head;
  try {
    // Only the fees' own charges are built (the set's charges are in the resolved prices).
    const feeLinks = (copies.feeLinks ?? []).filter((l) => l.gsrn === gsrn);
    const feeIds = new Set(feeLinks.map((l) => l.chargeId));
    const byId = new Map(copies.charges.filter((c) => feeIds.has(c.chargeId)).map((c) => [c.chargeId, chargeOfRecord(c)] as const));
    const fees = feeLinks.length === 0 ? [] : linkedFees(feeLinks, gsrn, byId, head.days);
    const { supplyPeriods, yearToDate } = supplyPeriodsAndYearToDate(head, period, copies);
    const point: PointInput = {
      meteringPoint: { gsrn, gridArea: latest.gridArea, priceArea, electricHeating, ...(productionGsrn !== null ? { productionGsrn } : {}) },
      supplyPeriods,
      consumption: head.consumption,
      ...(production !== undefined ? { production } : {}),
      yearToDateMilliKwh: yearToDate,
      ...(config.vatMode !== undefined ? { vatMode: config.vatMode } : {}),
      ...(fees.length > 0 ? { fees } : {}),
    };
    return { ok: true, point, customerId: latest.customerId, paymentModel: latest.paymentModel, gridArea: latest.gridArea, priceArea, productionGsrn, products: head.productDays };
  } catch (error) {
    const halt = priceErrorHalt(gsrn, error);
    if (halt !== null) return halt;
    throw error;
  }
}
