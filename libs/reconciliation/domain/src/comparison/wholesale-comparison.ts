import { chargeKeyId, type AmountPerCharge, type ChargeTypeCode, type WholesaleResults } from '../wholesale/model';
import type { DataHubWholesaleSeries } from './datahub-results';

/** A charge group's quantity difference per slot (DataHub − ours), where it is not zero. */
export interface QuantityResidual {
  readonly chargeId: string;
  readonly meteringPointType: string;
  readonly settlementMethod: string | null;
  readonly resolution: 'PT1H' | 'P1D';
  /** Slot start → milli-kWh (tariffs) or milli-pieces (subscriptions, fees). */
  readonly quantities: ReadonlyMap<number, bigint>;
}

export interface SlotDifference {
  readonly chargeId: string;
  readonly meteringPointType: string;
  readonly settlementMethod: string | null;
  readonly resolution: 'PT1H' | 'P1D';
  readonly time: number;
  readonly datahub: { readonly quantity: bigint; readonly price: bigint | null; readonly amount: bigint };
  readonly ours: { readonly quantity: bigint; readonly price: bigint | null; readonly amount: bigint };
  readonly differs: readonly ('quantity' | 'price' | 'amount')[];
}

export interface ChargeComparison {
  readonly chargeId: string;
  readonly owner: string;
  readonly chargeType: ChargeTypeCode;
  readonly code: string;
  /** DataHub's monthly sum (RSM-019 P1M) and ours; micro-DKK. */
  readonly datahubAmount: bigint;
  readonly ourAmount: bigint;
  /** Sum over the charge's slots as DataHub's series list them (a check of DataHub's own month sum). */
  readonly datahubSlotAmount: bigint;
  readonly differingSlots: number;
}

export interface WholesaleComparison {
  readonly charges: readonly ChargeComparison[];
  /** Totals per charge owner (DataHub's, taxes added into each other owner's) and the supplier's total. */
  readonly totals: readonly { readonly chargeOwner: string | null; readonly datahubAmount: bigint | null; readonly ourAmount: bigint | null }[];
  readonly differences: readonly SlotDifference[];
  readonly residuals: readonly QuantityResidual[];
  /** Charges and times where DataHub's price is not ours. */
  readonly priceDifferences: readonly { readonly chargeId: string; readonly times: readonly number[] }[];
}

interface Slot {
  quantity: bigint;
  price: bigint | null;
  amount: bigint;
}

const groupKey = (chargeId: string, type: string, method: string | null, resolution: string) => `${chargeId}|${type}|${method ?? ''}|${resolution}`;

/**
 * Compares DataHub's wholesale result (RSM-019 series of one grid area and supplier) with ours, slot by slot
 * (charge, metering point type, settlement method, hour or day), month sum by month sum and total by total. A
 * slot one side does not list counts as quantity 0 and amount 0 (DataHub writes 0 where it has no amount).
 */
export function compareWholesale(datahub: readonly DataHubWholesaleSeries[], ours: WholesaleResults): WholesaleComparison {
  const theirs = new Map<string, Map<number, Slot>>();
  const monthly = new Map<string, bigint>();
  const totals = new Map<string | null, bigint>();
  const keys = new Map<string, { chargeId: string; type: string; method: string | null; resolution: 'PT1H' | 'P1D' }>();
  const charges = new Map<string, { owner: string; chargeType: ChargeTypeCode; code: string }>();
  for (const s of datahub) {
    if (s.resolution === 'P1M') {
      const amount = s.points[0]?.amount ?? 0n;
      if (s.chargeCode !== null && s.chargeOwner !== null && s.chargeType !== null) {
        const id = chargeKeyId({ owner: s.chargeOwner, type: s.chargeType, code: s.chargeCode });
        monthly.set(id, amount);
        charges.set(id, { owner: s.chargeOwner, chargeType: s.chargeType, code: s.chargeCode });
      } else {
        totals.set(s.chargeOwner, amount);
      }
      continue;
    }
    if (s.chargeCode === null || s.chargeOwner === null || s.chargeType === null || s.meteringPointType === null) continue;
    const id = chargeKeyId({ owner: s.chargeOwner, type: s.chargeType, code: s.chargeCode });
    charges.set(id, { owner: s.chargeOwner, chargeType: s.chargeType, code: s.chargeCode });
    const key = groupKey(id, s.meteringPointType, s.settlementMethod, s.resolution);
    keys.set(key, { chargeId: id, type: s.meteringPointType, method: s.settlementMethod, resolution: s.resolution });
    const slots = theirs.get(key) ?? new Map<number, Slot>();
    theirs.set(key, slots);
    for (const p of s.points) slots.set(p.time, { quantity: p.quantity ?? 0n, price: p.price, amount: p.amount });
  }
  const mine = new Map<string, Map<number, Slot>>();
  const ourMonthly = new Map<string, bigint>();
  const rows: AmountPerCharge[] = [...ours.hourlyTariffs, ...ours.dailyTariffs, ...ours.subscriptions, ...ours.fees];
  for (const r of rows) {
    const id = chargeKeyId(r.charge);
    charges.set(id, { owner: r.charge.owner, chargeType: r.charge.type, code: r.charge.code });
    const key = groupKey(id, r.meteringPointType, r.settlementMethod, r.resolution);
    keys.set(key, { chargeId: id, type: r.meteringPointType, method: r.settlementMethod, resolution: r.resolution });
    const slots = mine.get(key) ?? new Map<number, Slot>();
    mine.set(key, slots);
    slots.set(r.time, { quantity: r.quantity, price: r.price, amount: r.amount ?? 0n });
    ourMonthly.set(id, (ourMonthly.get(id) ?? 0n) + (r.amount ?? 0n));
  }

  const differences: SlotDifference[] = [];
  const residuals: QuantityResidual[] = [];
  const prices = new Map<string, number[]>();
  const differingSlots = new Map<string, number>();
  const slotSums = new Map<string, bigint>();
  const zero: Slot = { quantity: 0n, price: null, amount: 0n };
  for (const [key, k] of keys) {
    const a = theirs.get(key) ?? new Map<number, Slot>();
    const b = mine.get(key) ?? new Map<number, Slot>();
    const residual = new Map<number, bigint>();
    for (const time of [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => x - y)) {
      const d = a.get(time) ?? zero;
      const o = b.get(time) ?? zero;
      slotSums.set(k.chargeId, (slotSums.get(k.chargeId) ?? 0n) + d.amount);
      const differs: ('quantity' | 'price' | 'amount')[] = [];
      if (d.quantity !== o.quantity) differs.push('quantity');
      if (d.price !== null && o.price !== null && d.price !== o.price) differs.push('price');
      if (d.amount !== o.amount) differs.push('amount');
      if (differs.length === 0) continue;
      differingSlots.set(k.chargeId, (differingSlots.get(k.chargeId) ?? 0) + 1);
      differences.push({ chargeId: k.chargeId, meteringPointType: k.type, settlementMethod: k.method, resolution: k.resolution, time, datahub: d, ours: o, differs });
      if (d.quantity !== o.quantity) residual.set(time, d.quantity - o.quantity);
      if (differs.includes('price')) prices.set(k.chargeId, [...(prices.get(k.chargeId) ?? []), time]);
    }
    if (residual.size > 0) residuals.push({ chargeId: k.chargeId, meteringPointType: k.type, settlementMethod: k.method, resolution: k.resolution, quantities: residual });
  }
  const ourTotals = new Map<string | null, bigint | null>([...ours.totalsPerChargeOwner, ...ours.totalsPerEnergySupplier].map((t) => [t.chargeOwner, t.amount]));
  return {
    charges: [...charges.entries()]
      .sort(([x], [y]) => x.localeCompare(y))
      .map(([chargeId, c]) => ({
        chargeId,
        ...c,
        datahubAmount: monthly.get(chargeId) ?? 0n,
        ourAmount: ourMonthly.get(chargeId) ?? 0n,
        datahubSlotAmount: slotSums.get(chargeId) ?? 0n,
        differingSlots: differingSlots.get(chargeId) ?? 0,
      })),
    totals: [...new Set([...totals.keys(), ...ourTotals.keys()])].map((owner) => ({ chargeOwner: owner, datahubAmount: totals.get(owner) ?? null, ourAmount: ourTotals.get(owner) ?? null })),
    differences,
    residuals,
    priceDifferences: [...prices.entries()].map(([chargeId, times]) => ({ chargeId, times })),
  };
}
