import { divRoundHalfAwayFromZero } from '@dh/money';
import { MS_HOUR, MS_QUARTER, PeriodCalendar } from './calendar';
import { buildChargeSchedules, type ChargeSchedule, type ChargeSlots } from './charge-schedule';
import { amountOf, sumAmounts, totalsPerChargeOwner, totalsPerEnergySupplier } from './monthly';
import {
  Q_MISSING,
  chargeKeyId,
  type AmountPerCharge,
  type CalculationPeriod,
  type ChargeKey,
  type ChargeLinkPeriod,
  type ChargePriceInformationPeriod,
  type ChargePricePoint,
  type MeteredSeries,
  type MeteringPointPeriod,
  type MeteringPointTypeCode,
  type MonthlyAmountPerCharge,
  type SettlementMethodCode,
  type WholesaleResults,
} from './model';

type Kind = 'hourly-tariff' | 'daily-tariff' | 'subscription' | 'fee';

/** Quantities of one (charge, grid area, energy supplier, metering point type, settlement method) per slot. */
interface Group {
  readonly kind: Kind;
  readonly charge: ChargeKey;
  readonly gridArea: string;
  readonly energySupplier: string;
  readonly meteringPointType: MeteringPointTypeCode;
  readonly settlementMethod: SettlementMethodCode | null;
  /** Integer milli-kWh (tariffs) or pieces (subscriptions, fees); sums of integers, exact below 2^53. */
  readonly quantity: Float64Array;
  readonly qualities: Uint8Array;
  readonly present: Uint8Array;
}

export interface WholesaleCalculationOptions {
  readonly period: CalculationPeriod;
  readonly chargeInformation: readonly ChargePriceInformationPeriod[];
  readonly chargePrices: readonly ChargePricePoint[];
}

/**
 * DataHub's wholesale calculation (BRS-027), fed one metering point period at a time so that a grid area of
 * 100,000 metering points is never held in memory: each metering point's series is summed to hours and
 * local days, and added to the quantities of its charges' groups. `results()` then multiplies each group's
 * total quantity by the price (DataHub: quantities summed over metering points before multiplying, amount
 * Decimal(18,6) rounded half up; `calculate_total_quantity_and_amount.py`).
 */
export class WholesaleCalculation {
  private readonly calendar: PeriodCalendar;
  private readonly schedules: Map<string, ChargeSchedule>;
  private readonly groups = new Map<string, Group>();
  private readonly hourQuantity: Float64Array;
  private readonly hourQualities: Uint8Array;
  private readonly hourPresent: Uint8Array;
  private readonly dayQuantity: Float64Array;
  private readonly dayQualities: Uint8Array;
  private readonly dayPresent: Uint8Array;

  constructor(options: WholesaleCalculationOptions) {
    this.calendar = new PeriodCalendar(options.period);
    this.schedules = buildChargeSchedules(this.calendar, options.chargeInformation, options.chargePrices);
    this.hourQuantity = new Float64Array(this.calendar.hours);
    this.hourQualities = new Uint8Array(this.calendar.hours);
    this.hourPresent = new Uint8Array(this.calendar.hours);
    this.dayQuantity = new Float64Array(this.calendar.days);
    this.dayQualities = new Uint8Array(this.calendar.days);
    this.dayPresent = new Uint8Array(this.calendar.days);
  }

  get period(): CalculationPeriod {
    return this.calendar.period;
  }

  /**
   * Adds one metering point period (energy supplier resolved; exchange points are not settled) with its
   * series (null: no values, all padded as missing) and its charge links.
   */
  addMeteringPoint(mp: MeteringPointPeriod, series: MeteredSeries | null, links: readonly ChargeLinkPeriod[]): void {
    if (mp.type === 'E20' || mp.energySupplier === null) return;
    const span = this.calendar.clamp(mp.from, mp.to);
    if (span === null || links.length === 0) return;
    const tariffLinks = links.filter((l) => l.charge.type === 'D03');
    if (tariffLinks.length > 0) this.sumSeries(span, series, series?.resolution ?? mp.resolution);
    for (const link of links) {
      const overlap = this.calendar.clamp(Math.max(link.from, span.from), Math.min(link.to ?? span.to, span.to));
      const schedule = this.schedules.get(chargeKeyId(link.charge));
      if (overlap === null || schedule === undefined) continue;
      if (link.charge.type === 'D03') {
        this.addHours(this.group('hourly-tariff', mp, link.charge, this.calendar.hours), schedule.hourly, overlap);
        this.addDays(this.group('daily-tariff', mp, link.charge, this.calendar.days), schedule.daily, overlap, null);
      } else {
        this.addDays(this.group(link.charge.type === 'D01' ? 'subscription' : 'fee', mp, link.charge, this.calendar.days), schedule.daily, overlap, link.quantity);
      }
    }
  }

  /**
   * Sums a metering point's values per hour and per local day inside its period, padding what DataHub has no
   * value for as 0 "missing" (`metering_point_time_series.py`); sums are cast to Decimal(18,3), exact here
   * because values are integer milli-kWh.
   */
  private sumSeries(span: { from: number; to: number }, series: MeteredSeries | null, resolution: 'PT15M' | 'PT1H'): void {
    this.hourQuantity.fill(0);
    this.hourQualities.fill(0);
    this.hourPresent.fill(0);
    this.dayQuantity.fill(0);
    this.dayQualities.fill(0);
    this.dayPresent.fill(0);
    const step = resolution === 'PT15M' ? MS_QUARTER : MS_HOUR;
    const start = this.calendar.period.start;
    const first = Math.ceil((span.from - start) / step);
    const end = Math.ceil((span.to - start) / step);
    const perHour = MS_HOUR / step;
    for (let i = first; i < end; i++) {
      const h = Math.floor(i / perHour);
      const quality = series === null ? 0 : (series.qualities[i] ?? 0);
      const q = quality === 0 ? 0 : series!.quantities[i]!;
      const bits = quality === 0 ? Q_MISSING : quality;
      this.hourQuantity[h] += q;
      this.hourQualities[h] |= bits;
      this.hourPresent[h] = 1;
      const d = this.calendar.dayOfHour[h]!;
      this.dayQuantity[d] += q;
      this.dayQualities[d] |= bits;
      this.dayPresent[d] = 1;
    }
  }

  private group(kind: Kind, mp: MeteringPointPeriod, charge: ChargeKey, size: number): Group {
    const key = `${kind}|${chargeKeyId(charge)}|${mp.gridArea}|${mp.energySupplier}|${mp.type}|${mp.settlementMethod ?? ''}`;
    let g = this.groups.get(key);
    if (g === undefined) {
      g = {
        kind,
        charge,
        gridArea: mp.gridArea,
        energySupplier: mp.energySupplier!,
        meteringPointType: mp.type,
        settlementMethod: mp.settlementMethod,
        quantity: new Float64Array(size),
        qualities: new Uint8Array(size),
        present: new Uint8Array(size),
      };
      this.groups.set(key, g);
    }
    return g;
  }

  /** Hourly tariff: every hour of the link where the charge exists and the metering point has a (padded) value. */
  private addHours(group: Group, slots: ChargeSlots, overlap: { from: number; to: number }): void {
    const from = this.calendar.hourIndexAtOrAfter(overlap.from);
    const to = this.calendar.hourIndexAtOrAfter(overlap.to);
    for (let h = from; h < to; h++) {
      if (slots.exists[h] === 0 || this.hourPresent[h] === 0) continue;
      group.quantity[h] += this.hourQuantity[h]!;
      group.qualities[h] |= this.hourQualities[h]!;
      group.present[h] = 1;
    }
  }

  /**
   * Daily tariff (pieces null): every local day starting inside the link with a value; subscription or fee
   * (pieces = the link's quantity): every local day starting inside the link.
   */
  private addDays(group: Group, slots: ChargeSlots, overlap: { from: number; to: number }, pieces: number | null): void {
    const from = this.calendar.dayIndexAtOrAfter(overlap.from);
    const to = this.calendar.dayIndexAtOrAfter(overlap.to);
    for (let d = from; d < to; d++) {
      if (slots.exists[d] === 0) continue;
      if (pieces === null) {
        if (this.dayPresent[d] === 0) continue;
        group.quantity[d] += this.dayQuantity[d]!;
        group.qualities[d] |= this.dayQualities[d]!;
      } else {
        group.quantity[d] += pieces;
      }
      group.present[d] = 1;
    }
  }

  results(): WholesaleResults {
    const rows: Record<Kind, AmountPerCharge[]> = { 'hourly-tariff': [], 'daily-tariff': [], subscription: [], fee: [] };
    // Subscriptions: daily price = monthly price ÷ days of the period in local time, rounded to 6 decimals
    // (`subscription_calculators.py`; days from `datetime_utils.get_number_of_days_in_period`).
    const days = BigInt(this.calendar.days);
    for (const g of this.groups.values()) {
      const schedule = this.schedules.get(chargeKeyId(g.charge))!;
      const slots = g.kind === 'hourly-tariff' ? schedule.hourly : schedule.daily;
      for (let i = 0; i < g.present.length; i++) {
        if (g.present[i] === 0) continue;
        const listed = slots.price[i] ?? null;
        const price = g.kind === 'subscription' && listed !== null ? divRoundHalfAwayFromZero(listed, days) : listed;
        const isPieces = g.kind === 'subscription' || g.kind === 'fee';
        const quantity = BigInt(g.quantity[i]!) * (isPieces ? 1000n : 1n);
        rows[g.kind].push({
          gridArea: g.gridArea,
          energySupplier: g.energySupplier,
          charge: g.charge,
          isTax: slots.tax[i] === 1,
          resolution: g.kind === 'hourly-tariff' ? 'PT1H' : 'P1D',
          time: g.kind === 'hourly-tariff' ? this.calendar.hourStart(i) : this.calendar.dayStarts[i]!,
          meteringPointType: g.meteringPointType,
          settlementMethod: g.settlementMethod,
          quantity,
          qualities: isPieces ? null : g.qualities[i]!,
          price,
          amount: price === null ? null : amountOf(quantity, price),
        });
      }
    }
    const monthly = (list: AmountPerCharge[]) => sumWithinMonth(list, this.calendar.period.start);
    const monthlyTariffsFromHourly = monthly(rows['hourly-tariff']);
    const monthlyTariffsFromDaily = monthly(rows['daily-tariff']);
    const monthlySubscriptions = monthly(rows.subscription);
    const monthlyFees = monthly(rows.fee);
    const all = [...monthlyFees, ...monthlySubscriptions, ...monthlyTariffsFromHourly, ...monthlyTariffsFromDaily];
    return {
      hourlyTariffs: rows['hourly-tariff'],
      dailyTariffs: rows['daily-tariff'],
      subscriptions: rows.subscription,
      fees: rows.fee,
      monthlyTariffsFromHourly,
      monthlyTariffsFromDaily,
      monthlySubscriptions,
      monthlyFees,
      totalsPerChargeOwner: totalsPerChargeOwner(all),
      totalsPerEnergySupplier: totalsPerEnergySupplier(all),
    };
  }
}

/** Σ amounts per (energy supplier, grid area, charge) over all metering point types, hours and days (`sum_within_month.py`). */
export function sumWithinMonth(rows: readonly AmountPerCharge[], periodStart: number): MonthlyAmountPerCharge[] {
  const byKey = new Map<string, { row: AmountPerCharge; amounts: (bigint | null)[] }>();
  for (const row of rows) {
    const key = `${row.energySupplier}|${row.gridArea}|${chargeKeyId(row.charge)}`;
    const entry = byKey.get(key);
    if (entry === undefined) byKey.set(key, { row, amounts: [row.amount] });
    else entry.amounts.push(row.amount);
  }
  return [...byKey.values()].map(({ row, amounts }) => ({
    gridArea: row.gridArea,
    energySupplier: row.energySupplier,
    charge: row.charge,
    isTax: row.isTax,
    time: periodStart,
    amount: sumAmounts(amounts),
  }));
}
