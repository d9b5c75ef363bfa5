import type { PeriodCalendar } from './calendar';
import { chargeKeyId, type ChargeKey, type ChargePriceInformationPeriod, type ChargePricePoint } from './model';

/** A charge's slots (hours or days) in the calculation period: whether it exists there, its price (null: missing) and tax flag. */
export interface ChargeSlots {
  readonly exists: Uint8Array;
  readonly price: (bigint | null)[];
  readonly tax: Uint8Array;
}

/**
 * What prices one charge in the calculation period, by DataHub's rules:
 * - tariffs: the master-data period is exploded per hour (PT1H) or local day (P1D); the price is the
 *   price point at exactly that time, or missing (`tariffs.py`: left join on charge_time);
 * - subscriptions and fees: exploded per local day; the price is the last price point known on or before
 *   the day within the same master-data period (`subscriptions_and_fees.py`: `last(ignorenulls)` over the
 *   window of charge key and `from_date`).
 * Price points are read from the calculation period only (`charges_reader.py`).
 */
export interface ChargeSchedule {
  readonly charge: ChargeKey;
  readonly hourly: ChargeSlots;
  readonly daily: ChargeSlots;
}

const slots = (n: number): { exists: Uint8Array; price: (bigint | null)[]; tax: Uint8Array } => ({ exists: new Uint8Array(n), price: new Array<bigint | null>(n).fill(null), tax: new Uint8Array(n) });

export function buildChargeSchedules(calendar: PeriodCalendar, information: readonly ChargePriceInformationPeriod[], prices: readonly ChargePricePoint[]): Map<string, ChargeSchedule> {
  const pricesByCharge = new Map<string, Map<number, bigint>>();
  for (const p of prices) {
    if (p.time < calendar.period.start || p.time >= calendar.period.end) continue;
    const id = chargeKeyId(p.charge);
    let m = pricesByCharge.get(id);
    if (m === undefined) pricesByCharge.set(id, (m = new Map()));
    m.set(p.time, p.price);
  }
  const schedules = new Map<string, ChargeSchedule>();
  for (const info of information) {
    const id = chargeKeyId(info.charge);
    let s = schedules.get(id);
    if (s === undefined) schedules.set(id, (s = { charge: info.charge, hourly: slots(calendar.hours), daily: slots(calendar.days) }));
    const span = calendar.clamp(info.from, info.to);
    if (span === null) continue;
    const points = pricesByCharge.get(id) ?? new Map<number, bigint>();
    if (info.charge.type === 'D03' && info.resolution === 'PT1H') {
      for (let h = calendar.hourIndexAtOrAfter(span.from); h < calendar.hours && calendar.hourStart(h) < span.to; h++) {
        s.hourly.exists[h] = 1;
        s.hourly.tax[h] = info.isTax ? 1 : 0;
        s.hourly.price[h] = points.get(calendar.hourStart(h)) ?? null;
      }
    } else if (info.charge.type === 'D03' && info.resolution === 'P1D') {
      for (let d = calendar.dayIndexAtOrAfter(span.from); d < calendar.days && calendar.dayStarts[d]! < span.to; d++) {
        s.daily.exists[d] = 1;
        s.daily.tax[d] = info.isTax ? 1 : 0;
        s.daily.price[d] = points.get(calendar.dayStarts[d]!) ?? null;
      }
    } else if (info.charge.type !== 'D03') {
      let last: bigint | null = null;
      for (let d = calendar.dayIndexAtOrAfter(span.from); d < calendar.days && calendar.dayStarts[d]! < span.to; d++) {
        last = points.get(calendar.dayStarts[d]!) ?? last;
        s.daily.exists[d] = 1;
        s.daily.tax[d] = info.isTax ? 1 : 0;
        s.daily.price[d] = last;
      }
    }
  }
  return schedules;
}
