import { compareLocalDates, type LocalDate } from '@dh/dk-time';
import { feeLineKey, LINE_PRICE_SOURCES, type ChargeRole, type ChargeUse, type FeeUse, type LineKind } from '@dh/settlement-domain';
import type { CorrectionLineJson } from './events';
import type { ComputationInputs, MeteredUse } from './invoice-explanation';

/** A metered day's version as a computation used it (RSM-012 document and receipt). */
export interface MeteredVersion {
  version: number;
  documentId: string | null;
  receivedAt: string | null;
}

/** A delivery day's spot prices as a computation used them. */
export interface SpotVersion {
  resolution: string;
  versions: number[];
  latestPublishedAt: string | null;
}

/** The price-list row of a charge (a tax rate, a product price) that priced a day. */
export interface PriceVersion {
  chargeId: string;
  version: number;
  publishedAt: string;
  validFrom: LocalDate;
  validTo: LocalDate | null;
  prices: string[];
}

export interface SupplyFacts {
  productId: string;
  /** The product in force on consecutive supplied days (a change from a date splits them). */
  products: { productId: string; firstDay: LocalDate; lastDay: LocalDate; days: number }[];
  suppliedDays: number;
  firstDay: LocalDate | null;
  lastDay: LocalDate | null;
}

/**
 * One input that differs between the invoice as last corrected and its recomputation, named with its old and
 * new version: a metered day, a day's spot prices, a charge/tax/product price row over consecutive days, the
 * supply (days supplied, product), the electric-heating threshold or the production point.
 */
export type InputChange =
  | { input: 'metered-data'; series: 'consumption' | 'production'; gsrn: string; day: LocalDate; old: MeteredVersion | null; new: MeteredVersion | null }
  | { input: 'spot-price'; priceArea: string; day: LocalDate; old: SpotVersion | null; new: SpotVersion | null }
  | { input: 'charge-price' | 'tax-rate' | 'product-price'; role: ChargeRole; firstDay: LocalDate; lastDay: LocalDate; days: number; old: PriceVersion | null; new: PriceVersion | null }
  | { input: 'supply'; old: SupplyFacts; new: SupplyFacts }
  | { input: 'electric-heating'; old: ComputationInputs['electricHeating']; new: ComputationInputs['electricHeating'] }
  | { input: 'production-link'; old: string | null; new: string | null }
  | { input: 'fee'; chargeId: string; date: LocalDate; old: FeeUse | null; new: FeeUse | null };

/** A line of a dry run's note with the inputs that changed under it. */
export type CorrectionLineWithCauses = CorrectionLineJson & { causes: InputChange[] };

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

const priceKey = (p: PriceVersion | null) => (p === null ? null : [p.version, p.publishedAt, p.prices]);

const inputOfRole = (role: ChargeRole): 'charge-price' | 'tax-rate' | 'product-price' =>
  role === 'electricity-tax' || role === 'electricity-tax-reduced' ? 'tax-rate' : role.startsWith('product-') || role === 'export-fee' ? 'product-price' : 'charge-price';

/** The row that priced each supplied day of a charge use. */
function priceByDay(use: ChargeUse | undefined, days: readonly LocalDate[]): Map<LocalDate, PriceVersion> {
  const out = new Map<LocalDate, PriceVersion>();
  if (use === undefined) return out;
  for (const r of use.rows) {
    for (const day of days) {
      if (compareLocalDates(day, r.firstDay) < 0 || compareLocalDates(day, r.lastDay) > 0) continue;
      out.set(day, { chargeId: use.chargeId, version: r.version, publishedAt: r.publishedAt, validFrom: r.validFrom, validTo: r.validTo, prices: [...r.prices] });
    }
  }
  return out;
}

function meteredByDay(uses: readonly MeteredUse[], series: MeteredUse['series']): { gsrn: string | null; days: Map<LocalDate, MeteredVersion> } {
  const use = uses.find((m) => m.series === series);
  return { gsrn: use?.gsrn ?? null, days: new Map((use?.days ?? []).map((d) => [d.day, { version: d.version, documentId: d.documentId, receivedAt: d.receivedAt }])) };
}

function supplyFacts(inputs: ComputationInputs): SupplyFacts {
  return { productId: inputs.supply.productId, products: inputs.supply.products, suppliedDays: inputs.suppliedDays.length, firstDay: inputs.suppliedDays[0] ?? null, lastDay: inputs.suppliedDays.at(-1) ?? null };
}

/**
 * Which inputs changed under one line of a correction note: the inputs of the invoice as last corrected
 * (`before`) against those of its recomputation (`after`), restricted to what the line draws on (its kind's
 * charge roles and spot price, metered data for kWh lines, the electric-heating threshold for the tax lines)
 * and, for a monthly line, to its month. Metered data and prices are compared on the days supplied in both; a
 * change of the supplied days or the product is the `supply` change.
 */
export function causesOfLine(line: { kind: string; month: string | null; key?: string }, before: ComputationInputs, after: ComputationInputs): InputChange[] {
  const kind = line.kind as LineKind;
  const sources = LINE_PRICE_SOURCES[kind] ?? { charges: [], spot: false };
  const inMonth = (day: LocalDate) => line.month === null || day.startsWith(line.month);
  const afterDays = new Set(after.suppliedDays);
  const both = before.suppliedDays.filter((d) => afterDays.has(d) && inMonth(d));
  const changes: InputChange[] = [];

  const oldSupply = supplyFacts(before);
  const newSupply = supplyFacts(after);
  if (!same(before.suppliedDays.filter(inMonth), after.suppliedDays.filter(inMonth)) || !same(oldSupply.products, newSupply.products)) changes.push({ input: 'supply', old: oldSupply, new: newSupply });

  // A fee (D02): its link (day, pieces), VAT and price row as DataHub sent them, before and after; no metered data.
  if (kind === 'fee') {
    const fee = (inputs: ComputationInputs) => (inputs.fees ?? []).find((f) => feeLineKey(f.chargeId, f.date) === line.key) ?? null;
    const o = fee(before);
    const n = fee(after);
    const sample = n ?? o;
    if (sample !== null && !same(o, n)) changes.push({ input: 'fee', chargeId: sample.chargeId, date: sample.date, old: o, new: n });
    return changes;
  }
  const metered = !kind.endsWith('subscription');
  if (metered) {
    for (const series of ['consumption', 'production'] as const) {
      const a = meteredByDay(before.metered, series);
      const b = meteredByDay(after.metered, series);
      if (a.gsrn !== b.gsrn) continue; // a production point linked or unlinked: the production-link change below
      const gsrn = a.gsrn ?? b.gsrn;
      if (gsrn === null) continue;
      // Days supplied in both (a day gained or lost is the supply change).
      for (const day of both) {
        const o = a.days.get(day) ?? null;
        const n = b.days.get(day) ?? null;
        if (!same(o, n)) changes.push({ input: 'metered-data', series, gsrn, day, old: o, new: n });
      }
    }
    if (before.productionGsrn !== after.productionGsrn) changes.push({ input: 'production-link', old: before.productionGsrn, new: after.productionGsrn });
  }

  if (sources.spot) {
    const a = new Map(before.spot.map((s) => [s.day, s]));
    const b = new Map(after.spot.map((s) => [s.day, s]));
    for (const day of both) {
      const o = a.get(day);
      const n = b.get(day);
      const ov = o === undefined ? null : { resolution: o.resolution, versions: [...o.versions], latestPublishedAt: o.latestPublishedAt };
      const nv = n === undefined ? null : { resolution: n.resolution, versions: [...n.versions], latestPublishedAt: n.latestPublishedAt };
      if (!same(ov, nv)) changes.push({ input: 'spot-price', priceArea: after.priceArea, day, old: ov, new: nv });
    }
  }

  for (const role of sources.charges) {
    // A role used on one side only (the reduced tax with electric heating, the export fee with production) is that change, named below.
    if (before.charges[role] === undefined || after.charges[role] === undefined) continue;
    const a = priceByDay(before.charges[role], both);
    const b = priceByDay(after.charges[role], both);
    let open: Extract<InputChange, { role: ChargeRole }> | null = null;
    for (const day of both) {
      const o = a.get(day) ?? null;
      const n = b.get(day) ?? null;
      // The same price version (prices, version, publication) under another row or charge id prices the day alike.
      if (same(priceKey(o), priceKey(n))) {
        open = null;
        continue;
      }
      // Consecutive supplied days with the same old and new rows are one change.
      if (open !== null && same(priceKey(open.old), priceKey(o)) && same(priceKey(open.new), priceKey(n))) {
        open.lastDay = day;
        open.days++;
        continue;
      }
      open = { input: inputOfRole(role), role, firstDay: day, lastDay: day, days: 1, old: o, new: n };
      changes.push(open);
    }
  }

  if ((kind === 'electricity-tax' || kind === 'electricity-tax-reduced') && !same(before.electricHeating, after.electricHeating)) {
    changes.push({ input: 'electric-heating', old: before.electricHeating, new: after.electricHeating });
  }
  return changes;
}

/** Each line of a note with the inputs that changed under it (`causesOfLine`). */
export function withCauses(lines: readonly CorrectionLineJson[], before: ComputationInputs, after: ComputationInputs): CorrectionLineWithCauses[] {
  return lines.map((l) => ({ ...l, causes: causesOfLine(l, before, after) }));
}
