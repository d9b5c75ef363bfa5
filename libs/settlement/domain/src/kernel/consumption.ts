import { ElectricHeatingTotal, taxWithThreshold } from './electric-heating';
import type { FastLine } from './fast-line';
import type { Lines } from './lines';
import { ESTIMATED_BIT, INTERVAL_ESTIMATED, INTERVAL_MISSING, PRESENT_BIT, type MeteredQuantities } from './metered-quantities';
import type { HourlyCharge, PeriodPrices } from './period-prices';
import { checkDay, missingMetered, missingSpotInHour, missingSpotQuarter } from './stops';

/**
 * Open double blocks of the consumption lines: exact integers, flushed into the lines' BigInts
 * before any could pass 2^53 (`doubleBlockDays`).
 */
class Blocks {
  /** Σ Wh × quarter-hour spot (scale 12). */
  eA = 0;
  /** Σ Wh × sum of four (PT1H intervals; scale 12, four times the amount). */
  eB = 0;
  margin = 0;
  grid = 0;
  system = 0;
  transmission = 0;
  tax = 0;
  /** Σ Wh of the supplied intervals. */
  total = 0;
  /** OR of the states of the supplied intervals (ESTIMATED_BIT set when one of them is estimated). */
  states = 0;
  /** Unit-price tracking of the energy line (spot + margin varies almost always). */
  first = Number.NaN;
  varies = false;

  trackEnergy(price: number): void {
    if (price !== this.first) {
      if (this.first !== this.first) this.first = price;
      else this.varies = true;
    }
  }

  flushInto(lines: Lines, withTax: boolean): void {
    const e = lines.energy;
    e.a = this.eA;
    e.b = this.eB;
    e.flush();
    e.a = this.margin;
    lines.grid.a = this.grid;
    lines.system.a = this.system;
    lines.transmission.a = this.transmission;
    if (withTax) lines.tax.a = this.tax;
    lines.flush();
    this.eA = this.eB = this.margin = this.grid = this.system = this.transmission = this.tax = 0;
  }
}

/**
 * The fast day, PT15M: no branch per quarter. Quarter products go into the energy block, quarters
 * are summed per hour into `hourWh`, and the day's states are AND/OR-ed. A gap (AND loses
 * PRESENT_BIT) or a missing spot price (the sum turns NaN) is seen at the end of the day: false,
 * and the careful day then finds and throws the first stop in time order.
 */
function quarterDay(p: PeriodPrices, c: MeteredQuantities, d: number, b: Blocks, hourWh: Float64Array, st4: Uint32Array | null): boolean {
  const day = p.days[d]!;
  const wh = c.wh;
  const spot = p.spotQuarter;
  let eA = b.eA;
  let all = ALL_PRESENT4;
  let any = 0;
  let dayWh = 0;
  const h0 = day.firstHour;
  const hours = day.hours;
  if (st4 !== null) {
    // The hour's four states as one word (little-endian or not, the bits of each byte stay in place).
    for (let k = 0; k < hours; k++) {
      const s = st4[h0 + k]!;
      all &= s;
      any |= s;
    }
  } else {
    const st = c.state;
    for (let q = h0 * 4, end = (h0 + hours) * 4; q < end; q++) {
      const s = st[q]!;
      all &= s * 0x01010101;
      any |= s;
    }
  }
  for (let k = 0, q = h0 * 4; k < hours; k++, q += 4) {
    const w0 = wh[q]!;
    const w1 = wh[q + 1]!;
    const w2 = wh[q + 2]!;
    const w3 = wh[q + 3]!;
    eA += w0 * spot[q]! + w1 * spot[q + 1]! + w2 * spot[q + 2]! + w3 * spot[q + 3]!;
    const hw = w0 + w1 + w2 + w3;
    hourWh[h0 + k] = hw;
    dayWh += hw;
  }
  if ((all & ALL_PRESENT4) !== ALL_PRESENT4 || eA !== eA) return false;
  if (!b.varies) trackQuarterDay(p, d, b);
  b.eA = eA;
  b.total += dayWh;
  b.states |= (any & ANY_ESTIMATED4) !== 0 ? ESTIMATED_BIT : 0;
  return true;
}

/** PRESENT_BIT in each byte of a word of four interval states. */
const ALL_PRESENT4 = PRESENT_BIT * 0x01010101;
const ANY_ESTIMATED4 = ESTIMATED_BIT * 0x01010101;

/** Unit-price tracking of the energy line over one fast PT15M day (only until it is seen to vary). */
function trackQuarterDay(p: PeriodPrices, d: number, b: Blocks): void {
  const day = p.days[d]!;
  const spot = p.spotQuarter;
  const marginDay = p.margin.perDay[d]!;
  const marginHour = p.margin.perHour;
  for (let k = 0, h = day.firstHour; k < day.hours && !b.varies; k++, h++) {
    const m = marginDay === marginDay ? marginDay : marginHour[h]!;
    for (let q = h * 4; q < h * 4 + 4; q++) b.trackEnergy(spot[q]! + m);
  }
}

/** A Uint32Array over the states when they are word-aligned (four quarters of an hour per word), else null. */
function stateWords(c: MeteredQuantities): Uint32Array | null {
  const st = c.state;
  if (st.byteOffset % 4 !== 0 || st.length % 4 !== 0) return null;
  return new Uint32Array(st.buffer, st.byteOffset, st.length / 4);
}

/** The fast day, PT1H: each hour one interval at the hour's (mean) spot price. */
function hourDay(p: PeriodPrices, c: MeteredQuantities, d: number, b: Blocks, hourWh: Float64Array): boolean {
  const day = p.days[d]!;
  const wh = c.wh;
  const st = c.state;
  const spot4 = p.spotHour4;
  const marginDay = p.margin.perDay[d]!;
  let eB = b.eB;
  let all = PRESENT_BIT;
  let any = 0;
  let dayWh = 0;
  for (let k = 0, h = day.firstHour; k < day.hours; k++, h++) {
    const s = st[h]!;
    all &= s;
    any |= s;
    const w = wh[h]!;
    const s4 = spot4[h]!;
    eB += w * s4;
    hourWh[h] = w;
    dayWh += w;
    if (!b.varies) b.trackEnergy(s4 + 4 * (marginDay === marginDay ? marginDay : p.margin.perHour[h]!));
  }
  if ((all & PRESENT_BIT) === 0 || eB !== eB) return false;
  b.eB = eB;
  b.total += dayWh;
  b.states |= any;
  return true;
}

/** Σ Wh × price of one charge over the hours of the supplied days `days[from..to)`. */
function chargeOfDays(c: HourlyCharge, p: PeriodPrices, days: readonly number[], from: number, to: number, hourWh: Float64Array): number {
  const perHour = c.perHour;
  let sum = 0;
  for (let i = from; i < to; i++) {
    const { firstHour, hours } = p.days[days[i]!]!;
    for (let h = firstHour, end = firstHour + hours; h < end; h++) sum += hourWh[h]! * perHour[h]!;
  }
  return sum;
}

/**
 * The charges whose price changes within the period, for one double block of days: Σ hour sum ×
 * the hour's price. A charge with one price over the whole period ({@link HourlyCharge.constant}) is
 * not summed per hour: its line is Σ Wh × that price, one exact BigInt product at the end
 * ({@link addConstantCharges}).
 */
function chargesOfBlock(p: PeriodPrices, days: readonly number[], from: number, to: number, b: Blocks, hourWh: Float64Array, withTax: boolean): void {
  if (p.margin.constant === null) b.margin += chargeOfDays(p.margin, p, days, from, to, hourWh);
  if (p.gridTariff.constant === null) b.grid += chargeOfDays(p.gridTariff, p, days, from, to, hourWh);
  if (p.systemTariff.constant === null) b.system += chargeOfDays(p.systemTariff, p, days, from, to, hourWh);
  if (p.transmissionTariff.constant === null) b.transmission += chargeOfDays(p.transmissionTariff, p, days, from, to, hourWh);
  if (withTax && p.electricityTax.constant === null) b.tax += chargeOfDays(p.electricityTax, p, days, from, to, hourWh);
}

/** Σ Wh × price of the charges with one price over the whole period: one exact product each on the total. */
function addConstantCharges(p: PeriodPrices, lines: Lines, totalWh: number, withTax: boolean): void {
  const total = BigInt(totalWh);
  const add = (c: HourlyCharge, line: FastLine): void => {
    if (c.constant !== null) line.addExact(total * BigInt(c.constant));
  };
  add(p.margin, lines.energy);
  add(p.gridTariff, lines.grid);
  add(p.systemTariff, lines.system);
  add(p.transmissionTariff, lines.transmission);
  if (withTax) add(p.electricityTax, lines.tax);
}

/**
 * The unit price of a charge's line over the supplied days (every hour of each is on the line):
 * its one price, or `varies`. Walks the days' prices, not the intervals, and stops at the first change.
 */
function trackCharge(c: HourlyCharge, line: FastLine, p: PeriodPrices, days: readonly number[]): void {
  if (c.constant !== null) {
    line.track(c.constant);
    return;
  }
  for (let i = 0; i < days.length && !line.varies; i++) {
    const d = days[i]!;
    const dayPrice = c.perDay[d]!;
    if (dayPrice === dayPrice) {
      line.track(dayPrice);
      continue;
    }
    const { firstHour, hours } = p.days[d]!;
    for (let h = firstHour; h < firstHour + hours && !line.varies; h++) line.track(c.perHour[h]!);
  }
}

/**
 * The careful day: interval by interval in time order with every check where the reference makes
 * it (gap, then spot price, then the electric-heating split and its reduced rate). Used for electric
 * heating and to throw the first stop of a day the fast loop found incomplete.
 */
function carefulDay(p: PeriodPrices, c: MeteredQuantities, d: number, b: Blocks, hourWh: Float64Array, lines: Lines, eh: ElectricHeatingTotal | null): void {
  const day = p.days[d]!;
  const quarterly = c.resolution === 'PT15M';
  const wh = c.wh;
  const st = c.state;
  let dayWh = 0;
  for (let k = 0, h = day.firstHour; k < day.hours; k++, h++) {
    const margin = p.margin.perHour[h]!;
    let hw = 0;
    for (let i = quarterly ? h * 4 : h, end = quarterly ? i + 4 : i + 1; i < end; i++) {
      const s = st[i]!;
      if (s === INTERVAL_MISSING) throw missingMetered(c, i);
      const w = wh[i]!;
      if (quarterly) {
        const spot = p.spotQuarter[i]!;
        if (spot !== spot) throw missingSpotQuarter(p, i);
        b.eA += w * spot;
        if (!b.varies) b.trackEnergy(spot + margin);
      } else {
        const spot4 = p.spotHour4[h]!;
        if (spot4 !== spot4) throw missingSpotInHour(p, h);
        b.eB += w * spot4;
        if (!b.varies) b.trackEnergy(spot4 + 4 * margin);
      }
      b.states |= s;
      hw += w;
      if (eh !== null) taxWithThreshold(lines, eh, p, d, h, w, s === INTERVAL_ESTIMATED);
    }
    hourWh[h] = hw;
    dayWh += hw;
  }
  b.total += dayWh;
}

/**
 * Scratch for the hour sums of a point, by hour of the period; reused by every call (the kernel is
 * synchronous, and allocating a typed array per point costs more than a day of its loop). Only the
 * hours of supplied days are written and read.
 */
let hourScratch = new Float64Array(0);

function hourSums(hourCount: number): Float64Array {
  if (hourScratch.length < hourCount) hourScratch = new Float64Array(hourCount);
  return hourScratch;
}

/**
 * Consumption only (no production): PT15M quarters each at their quarter's spot price, or PT1H
 * hours at the hour's (mean) price; the per-kWh charges on the hour sums by local hour (a charge
 * with one price over the period: one product on the total). Electric heating splits the tax at the
 * yearly threshold.
 */
export function settleConsumption(p: PeriodPrices, c: MeteredQuantities, electricHeating: { thresholdMilliKwh: bigint; yearToDateMilliKwh: bigint } | null, days: readonly number[], lines: Lines, blockDays: number): void {
  const b = new Blocks();
  const hourWh = hourSums(p.hourCount);
  const eh = electricHeating === null ? null : new ElectricHeatingTotal(electricHeating);
  const withTax = eh === null;
  const quarterly = c.resolution === 'PT15M';
  const st4 = quarterly ? stateWords(c) : null;
  let blockStart = 0;
  for (let i = 0; i < days.length; i++) {
    const d = days[i]!;
    checkDay(p, d, false);
    if (!(eh === null && (quarterly ? quarterDay(p, c, d, b, hourWh, st4) : hourDay(p, c, d, b, hourWh)))) carefulDay(p, c, d, b, hourWh, lines, eh);
    if (i + 1 - blockStart === blockDays || i === days.length - 1) {
      chargesOfBlock(p, days, blockStart, i + 1, b, hourWh, withTax);
      b.flushInto(lines, withTax);
      blockStart = i + 1;
    }
  }
  if (days.length === 0) return;
  const estimated = (b.states & ESTIMATED_BIT) !== 0;
  const { energy, grid, system, transmission, tax } = lines;
  for (const l of withTax ? [energy, grid, system, transmission, tax] : [energy, grid, system, transmission]) {
    l.quantity = b.total;
    l.estimated = estimated;
  }
  energy.first = b.first;
  energy.varies = b.varies;
  addConstantCharges(p, lines, b.total, withTax);
  trackCharge(p.gridTariff, grid, p, days);
  trackCharge(p.systemTariff, system, p, days);
  trackCharge(p.transmissionTariff, transmission, p, days);
  if (withTax) trackCharge(p.electricityTax, tax, p, days);
}
