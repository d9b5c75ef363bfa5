import { addDays, localDateOf, localDayStart, tariffPriceIndex } from '@dh/dk-time';
import type { ScenarioCharge } from './scenario';

/**
 * The simulator's own wholesale settlement (BRS-027) and energy aggregation (BRS-023), written from DataHub's
 * published rules (shared/docs/research/datahub-formats.md §6–7) independently of the system under test, so that
 * reconciliation compares two implementations. Quantities are integer thousandths of a kWh (plain numbers, exact
 * below 2^53); prices decimal strings; amounts 6-decimal strings.
 */
export interface EngineMeteringPoint {
  readonly gsrn: string;
  readonly type: 'E17' | 'E18';
  readonly settlementMethod?: 'D01' | 'E02';
  readonly resolution: 'PT15M' | 'PT1H';
  /** The part of the period DataHub counts the point as the supplier's (ms, end exclusive). */
  readonly from: number;
  readonly to: number;
  /** Interval start (ms) → thousandths, for every interval in [from, to). */
  readonly values: ReadonlyMap<number, number>;
  readonly links: readonly { readonly charge: ScenarioCharge; readonly factor: number; readonly from: number; readonly to: number }[];
}

export interface EnergySeriesResult {
  readonly type: 'E17' | 'E18';
  readonly settlementMethod?: 'D01' | 'E02';
  readonly resolution: 'PT15M' | 'PT1H';
  /** One value per interval of the period, thousandths. */
  readonly quantities: readonly number[];
}

export interface ChargeSlotResult {
  readonly time: number;
  readonly quantity: number;
  readonly price: string | null;
  readonly amount: string | null;
}

export interface ChargeSeriesResult {
  readonly charge: ScenarioCharge;
  readonly type: 'E17' | 'E18';
  readonly settlementMethod?: 'D01' | 'E02';
  readonly resolution: 'PT1H' | 'P1D';
  /** Every slot of the period (hours or local days); quantity 0 and no amount where nothing was settled. */
  readonly slots: readonly ChargeSlotResult[];
}

export interface WholesaleEngineResult {
  readonly series: readonly ChargeSeriesResult[];
  readonly monthly: readonly { readonly charge: ScenarioCharge; readonly amount: string }[];
  readonly totalsPerOwner: readonly { readonly owner: string; readonly amount: string }[];
  readonly total: string;
}

const HOUR = 3_600_000;
const QUARTER = 900_000;

/** Micro-DKK of a decimal string, exactly (at most 6 decimals in DataHub's prices). */
function micro(value: string): bigint {
  const [whole = '0', frac = ''] = value.replace('-', '').split('.');
  if (frac.length > 6) throw new RangeError(`${value} has more than 6 decimals`);
  const units = BigInt(whole) * 1_000_000n + BigInt(frac.padEnd(6, '0'));
  return value.startsWith('-') ? -units : units;
}

function sixDecimals(units: bigint): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(7, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -6)}.${digits.slice(-6)}`;
}

/** n / d rounded half up (away from zero), integers. */
function divHalfUp(n: bigint, d: bigint): bigint {
  const negative = n < 0n !== d < 0n;
  const a = n < 0n ? -n : n;
  const b = d < 0n ? -d : d;
  const q = a / b + ((a % b) * 2n >= b ? 1n : 0n);
  return negative ? -q : q;
}

/** thousandths × micro-DKK → micro-DKK, half up (DataHub casts to Decimal(18,6)). */
const amountMicro = (thousandths: number, priceMicro: bigint): bigint => divHalfUp(BigInt(thousandths) * priceMicro, 1000n);

function localDays(from: number, to: number): number[] {
  const out: number[] = [];
  for (let date = localDateOf(new Date(from)); localDayStart(date).getTime() < to; date = addDays(date, 1)) out.push(localDayStart(date).getTime());
  return out;
}

function tariffPrice(charge: ScenarioCharge, time: number): string {
  return charge.hourlyPrices ? charge.hourlyPrices[tariffPriceIndex(new Date(time)) - 1]! : charge.price;
}

/**
 * Energy per metering point type and settlement method. After the quarterly transition, results are in
 * quarters: an hourly value counts a quarter in each quarter, and the four quarters of an hour are rounded so
 * that they add up to the hour (DataHub's carry-over rounding); before it, quarters are summed to hours.
 */
export function settleEnergy(period: { start: number; end: number }, points: readonly EngineMeteringPoint[], quarterlyTransition: number): EnergySeriesResult[] {
  const quarters = period.end > quarterlyTransition;
  const step = quarters ? QUARTER : HOUR;
  const slots = (period.end - period.start) / step;
  const groups = new Map<string, { type: 'E17' | 'E18'; settlementMethod?: 'D01' | 'E02'; sums: number[] }>();
  for (const mp of points) {
    const key = `${mp.type}|${mp.settlementMethod ?? ''}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { type: mp.type, ...(mp.settlementMethod ? { settlementMethod: mp.settlementMethod } : {}), sums: new Array<number>(slots).fill(0) }));
    for (const [time, value] of mp.values) {
      if (quarters) {
        // Quarter-thousandths, so that an hour's value divides into four exactly.
        if (mp.resolution === 'PT15M') g.sums[(time - period.start) / QUARTER]! += 4 * value;
        else for (let k = 0; k < 4; k++) g.sums[(time - period.start) / QUARTER + k]! += value;
      } else {
        g.sums[Math.floor((time - period.start) / HOUR)]! += value;
      }
    }
  }
  return [...groups.values()].map((g) => ({
    type: g.type,
    ...(g.settlementMethod ? { settlementMethod: g.settlementMethod } : {}),
    resolution: quarters ? 'PT15M' : 'PT1H',
    quantities: quarters ? g.sums.map((v, i) => carryRounded(v, i % 4)) : g.sums,
  }));
}

/** Rounds the k-th quarter (0..3) of an hour from quarter-thousandths, carrying each earlier quarter's rounding. */
function carryRounded(value: number, k: number): number {
  const round = (x: bigint) => divHalfUp(x, 4n) * 4n;
  const v = BigInt(value);
  let carried = v;
  for (let i = 0; i < k; i++) carried = v + carried - round(carried);
  return Number(round(carried) / 4n);
}

/**
 * Amounts per charge, metering point type and settlement method: quantities of all metering points summed
 * before multiplying by the price; hourly tariffs per UTC hour, daily tariffs, subscriptions and fees per
 * Copenhagen day; a subscription's daily price is its monthly price over the days of the period, rounded to
 * 6 decimals; month sums per charge; totals per charge owner with tax charges added into every other owner's.
 */
export function settleWholesale(period: { start: number; end: number }, points: readonly EngineMeteringPoint[]): WholesaleEngineResult {
  const days = localDays(period.start, period.end);
  const hours = (period.end - period.start) / HOUR;
  const dayIndex = (t: number) => days.filter((d) => d <= t).length - 1;
  const groups = new Map<string, { charge: ScenarioCharge; type: 'E17' | 'E18'; settlementMethod?: 'D01' | 'E02'; quantity: number[]; settled: boolean[] }>();
  for (const mp of points) {
    const hourly = new Array<number>(hours).fill(0);
    const daily = new Array<number>(days.length).fill(0);
    for (const [time, value] of mp.values) {
      hourly[Math.floor((time - period.start) / HOUR)]! += value;
      daily[dayIndex(time)]! += value;
    }
    for (const link of mp.links) {
      const c = link.charge;
      const isHourly = c.type === 'D03' && c.resolution === 'PT1H';
      const key = `${c.ownerGln}|${c.type}|${c.code}|${mp.type}|${mp.settlementMethod ?? ''}`;
      let g = groups.get(key);
      const size = isHourly ? hours : days.length;
      if (!g) groups.set(key, (g = { charge: c, type: mp.type, ...(mp.settlementMethod ? { settlementMethod: mp.settlementMethod } : {}), quantity: new Array<number>(size).fill(0), settled: new Array<boolean>(size).fill(false) }));
      const from = Math.max(link.from, mp.from);
      const to = Math.min(link.to, mp.to);
      if (isHourly) {
        for (let h = 0; h < hours; h++) {
          const t = period.start + h * HOUR;
          if (t < from || t >= to) continue;
          g.quantity[h]! += hourly[h]!;
          g.settled[h] = true;
        }
      } else {
        days.forEach((d, i) => {
          if (d < from || d >= to) return;
          g!.quantity[i]! += c.type === 'D03' ? daily[i]! : link.factor * 1000;
          g!.settled[i] = true;
        });
      }
    }
  }
  const series: ChargeSeriesResult[] = [];
  const monthly = new Map<string, { charge: ScenarioCharge; amount: bigint }>();
  for (const g of groups.values()) {
    const isHourly = g.charge.type === 'D03' && g.charge.resolution === 'PT1H';
    const slots = g.quantity.map((quantity, i): ChargeSlotResult => {
      const time = isHourly ? period.start + i * HOUR : days[i]!;
      const listed = g.charge.type === 'D03' ? tariffPrice(g.charge, time) : g.charge.price;
      const price = g.charge.type === 'D01' ? divHalfUp(micro(listed), BigInt(days.length)) : micro(listed);
      if (!g.settled[i]) return { time, quantity: 0, price: null, amount: null };
      const amount = amountMicro(quantity, price);
      const key = `${g.charge.ownerGln}|${g.charge.type}|${g.charge.code}`;
      const m = monthly.get(key) ?? { charge: g.charge, amount: 0n };
      m.amount += amount;
      monthly.set(key, m);
      return { time, quantity, price: sixDecimals(price), amount: sixDecimals(amount) };
    });
    series.push({ charge: g.charge, type: g.type, ...(g.settlementMethod ? { settlementMethod: g.settlementMethod } : {}), resolution: isHourly ? 'PT1H' : 'P1D', slots });
  }
  const taxes = [...monthly.values()].filter((m) => m.charge.tax).reduce((sum, m) => sum + m.amount, 0n);
  const owners = new Map<string, bigint>();
  for (const m of monthly.values()) if (!m.charge.tax) owners.set(m.charge.ownerGln, (owners.get(m.charge.ownerGln) ?? 0n) + m.amount);
  const taxOwners = new Set([...monthly.values()].filter((m) => m.charge.tax).map((m) => m.charge.ownerGln));
  return {
    series,
    monthly: [...monthly.values()].map((m) => ({ charge: m.charge, amount: sixDecimals(m.amount) })),
    totalsPerOwner: [...owners].map(([owner, amount]) => ({ owner, amount: sixDecimals(taxOwners.has(owner) ? amount : amount + taxes) })),
    total: sixDecimals([...monthly.values()].reduce((sum, m) => sum + m.amount, 0n)),
  };
}
