import { RESOLUTION_MS, localDayStart, type LocalDate } from '@dh/dk-time';
import { MEAN_PRICE_SCALE, Money, PRICE_SCALE, QUANTITY_SCALE, fromScaled, parseDecimal, toExactScaled, toOre, toScaled, type Decimal } from '@dh/money';
import { chargePriceAt, spotPriceAt, type Charge } from '@dh/rates-domain';
import { feeDescription, feeRow } from './fees';
import { feeLineKey, formatUnitPrice, invoiceOf, invoiceOfLines, type Invoice, type LineDraft, type LineKind, type VatMode } from './invoice';
import { InvalidSettlementInput } from './settlement-halted';
import { settlementIntervals } from './metered';
import { runSettlement, type PreparedSettlement, type SettlementResult } from './prepare';
import { subscriptionCharges } from './settle';
import type { LinkedFee, SettlementInput } from './settlement-input';

/**
 * The same rules as {@link settleMeteringPoint}, written the plain way with big.js decimals per
 * value: per-interval price lookups, the hourly mean of four quarter prices computed here, the
 * netting and the electric-heating split on decimals. Tests prove the fast path equals it to the
 * øre; it is not meant for production volumes.
 */
export function settleReference(input: SettlementInput): SettlementResult {
  return runSettlement(input, (p) => vatInModeWithDecimals(settleWithDecimals(p, input.fees ?? []), input.vatMode));
}

/**
 * VAT mode `invoice-subtotal` on decimals: 25 % of the subtotal rounded once (half away from zero),
 * each line's exact 25 % floored to øre, the øre left over to the largest remainders (the earlier
 * line on a tie).
 */
function vatInModeWithDecimals(invoice: Invoice, mode: VatMode | undefined): Invoice {
  if (mode === undefined || mode === 'per-line') return invoice;
  if (mode !== 'invoice-subtotal') throw new InvalidSettlementInput(`unknown VAT mode ${JSON.stringify(mode)} (per-line, invoice-subtotal)`);
  const rate = parseDecimal('0.25');
  const cent = parseDecimal('0.01');
  // A line without VAT (a fee with VATPayer D02) has no share and is not in the subtotal.
  const exact = invoice.lines.map((l) => (l.vatExempt === true ? ZERO : parseDecimal(l.amountExclVat.format()).times(rate)));
  const total = exact.reduce((s, x) => s.plus(x), ZERO).round(2, 1 /* Big.roundHalfUp: half away from zero */);
  const shares = exact.map((x, i) => {
    const toward = x.round(2, 0 /* Big.roundDown: toward zero */);
    const floor = x.lt(toward) ? toward.minus(cent) : toward;
    return { i, share: floor, remainder: x.minus(floor) };
  });
  let left = total.minus(shares.reduce((s, x) => s.plus(x.share), ZERO));
  for (const x of [...shares].sort((a, b) => b.remainder.cmp(a.remainder) || a.i - b.i)) {
    if (!left.gt(ZERO) || x.remainder.eq(ZERO)) break;
    x.share = x.share.plus(cent);
    left = left.minus(cent);
  }
  const lines = invoice.lines.map((l, i) => {
    const vat = Money.parse(shares[i]!.share.toFixed(2));
    return { ...l, vat, amountInclVat: l.amountExclVat.add(vat) };
  });
  return invoiceOfLines(invoice.gsrn, invoice.periodFrom, invoice.periodToExclusive, invoice.asOf, lines);
}

const ZERO = parseDecimal('0');
const nano = (units: bigint): Decimal => fromScaled(units, PRICE_SCALE);

class DecimalLine {
  sum: Decimal = ZERO;
  quantity: Decimal = ZERO;
  price: Decimal | null | undefined = undefined;
  estimated = false;

  constructor(
    readonly kind: LineKind,
    readonly description: string,
    readonly chargeId: string | null,
    readonly negate = false,
  ) {}

  add(kwh: Decimal, price: Decimal, estimated: boolean): void {
    this.sum = this.sum.plus(kwh.times(price));
    this.quantity = this.quantity.plus(kwh);
    if (this.price === undefined) this.price = price;
    else if (this.price !== null && !this.price.eq(price)) this.price = null;
    this.estimated ||= estimated;
  }

  draft(withAmount = true): LineDraft {
    const exact = toExactScaled(this.negate ? this.sum.neg() : this.sum);
    return {
      kind: this.kind,
      description: this.description,
      chargeId: this.chargeId,
      month: null,
      quantityMilliKwh: toScaled(this.quantity, QUANTITY_SCALE),
      daysSupplied: null,
      daysInMonth: null,
      unitPrice: withAmount && this.price !== undefined && this.price !== null ? formatUnitPrice(toScaled(this.price, MEAN_PRICE_SCALE), MEAN_PRICE_SCALE) : null,
      amountExclVat: toOre(withAmount ? exact.units : 0n, exact.scale),
      estimated: this.estimated,
    };
  }
}

function spotOf(p: PreparedSettlement, start: Date, hourly: boolean): Decimal {
  if (!hourly) return nano(spotPriceAt(p.rates.spot, start, { resolution: 'PT15M', asOf: p.asOf }).units);
  // PT1H interval: the arithmetic mean of its four quarter prices (an hourly price is the same price four times).
  let sum = ZERO;
  for (let i = 0; i < 4; i++) {
    const q = spotPriceAt(p.rates.spot, new Date(start.getTime() + i * RESOLUTION_MS.PT15M), { resolution: 'PT15M', asOf: p.asOf });
    sum = sum.plus(nano(q.units));
  }
  return sum.div('4');
}

/**
 * The fee lines the plain way: every linked fee whose date is a supplied day, the links of one charge and
 * day added up, each priced on its day (as known at asOf) × its pieces on decimals, ordered by day and charge.
 */
function feeDrafts(p: PreparedSettlement, fees: readonly LinkedFee[]): LineDraft[] {
  const byKey = new Map<string, { fee: LinkedFee; pieces: Decimal }>();
  for (const fee of fees) {
    if (!p.days.includes(fee.date)) continue;
    const key = feeLineKey(fee.charge.chargeId, fee.date);
    const known = byKey.get(key);
    byKey.set(key, { fee, pieces: (known?.pieces ?? ZERO).plus(parseDecimal(fee.factor)) });
  }
  const order = (a: { date: LocalDate; id: string }, b: { date: LocalDate; id: string }): number => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return [...byKey.entries()]
    .sort(([, a], [, b]) => order({ date: a.fee.date, id: a.fee.charge.chargeId }, { date: b.fee.date, id: b.fee.charge.chargeId }))
    .map(([key, { fee, pieces }]) => {
      feeRow(fee, p.asOf);
      const price = nano(chargePriceAt(fee.charge, localDayStart(fee.date), p.asOf));
      const exact = toExactScaled(price.times(pieces));
      return {
        kind: 'fee',
        key,
        description: feeDescription(fee),
        chargeId: fee.charge.chargeId,
        month: null,
        quantityMilliKwh: null,
        daysSupplied: null,
        daysInMonth: null,
        unitPrice: formatUnitPrice(toScaled(price, PRICE_SCALE), PRICE_SCALE),
        amountExclVat: toOre(exact.units, exact.scale),
        estimated: false,
        ...(fee.vatExempt === true ? { vatExempt: true as const } : {}),
      };
    });
}

function settleWithDecimals(p: PreparedSettlement, fees: readonly LinkedFee[]): Invoice {
  const r = p.rates;
  const price = (c: Charge, at: Date): Decimal => nano(chargePriceAt(c, at, p.asOf));
  const energy = new DecimalLine('energy', `${p.product.name}: spot price + margin`, p.product.margin.chargeId);
  const grid = new DecimalLine('grid-tariff', r.gridTariff.description, r.gridTariff.chargeId);
  const system = new DecimalLine('system-tariff', r.systemTariff.description, r.systemTariff.chargeId);
  const transmission = new DecimalLine('transmission-tariff', r.transmissionTariff.description, r.transmissionTariff.chargeId);
  const tax = new DecimalLine('electricity-tax', r.electricityTax.description, r.electricityTax.chargeId);
  const reducedTax = new DecimalLine('electricity-tax-reduced', r.reducedElectricityTax.description, r.reducedElectricityTax.chargeId);
  const production = new DecimalLine('production', 'Own production (hourly netting)', null);
  const exportEnergy = new DecimalLine('export-energy', 'Net export bought at the spot price', null, true);
  const exportFee = new DecimalLine('export-fee', p.exportFee?.description ?? '', p.exportFee?.chargeId ?? null);
  const threshold = p.electricHeating === null ? null : fromScaled(p.electricHeating.thresholdMilliKwh, QUANTITY_SCALE);
  let yearToDate = p.electricHeating === null ? ZERO : fromScaled(p.electricHeating.yearToDateMilliKwh, QUANTITY_SCALE);

  for (const day of p.days) {
    for (const iv of settlementIntervals(day, p.consumption, p.production)) {
      const at = iv.start;
      const spot = spotOf(p, at, iv.resolution === 'PT1H');
      const consumed = iv.consumption.reduce((s, v) => s.plus(parseDecimal(v.kwh)), ZERO);
      let imported = consumed;
      if (iv.production !== null) {
        const produced = iv.production.reduce((s, v) => s.plus(parseDecimal(v.kwh)), ZERO);
        production.add(produced, ZERO, iv.estimated);
        const net = consumed.minus(produced);
        if (net.lt(ZERO)) {
          exportEnergy.add(net.abs(), spot, iv.estimated);
          exportFee.add(net.abs(), price(p.exportFee!, at), iv.estimated);
        }
        imported = net.gt(ZERO) ? net : ZERO;
        if (imported.eq(ZERO)) continue;
      }
      energy.add(imported, spot.plus(price(p.product.margin, at)), iv.estimated);
      grid.add(imported, price(r.gridTariff, at), iv.estimated);
      system.add(imported, price(r.systemTariff, at), iv.estimated);
      transmission.add(imported, price(r.transmissionTariff, at), iv.estimated);
      let normal = imported;
      if (threshold !== null) {
        const before = yearToDate;
        yearToDate = yearToDate.plus(imported);
        if (before.gte(threshold)) normal = ZERO;
        else if (yearToDate.gt(threshold)) normal = threshold.minus(before);
      }
      const reduced = imported.minus(normal);
      if (normal.gt(ZERO) || reduced.eq(ZERO)) tax.add(normal, price(r.electricityTax, at), iv.estimated);
      if (reduced.gt(ZERO)) reducedTax.add(reduced, price(r.reducedElectricityTax, at), iv.estimated);
    }
  }

  const drafts: LineDraft[] = [];
  if (p.days.length > 0) {
    drafts.push(energy.draft(), grid.draft(), system.draft(), transmission.draft(), tax.draft());
    if (reducedTax.price !== undefined) drafts.push(reducedTax.draft());
    if (p.production !== null) drafts.push(production.draft(false));
    if (exportEnergy.price !== undefined) drafts.push(exportEnergy.draft(), exportFee.draft());
  }
  for (const m of p.billing.months) {
    const days = p.days.filter((d) => d.startsWith(m.label));
    if (days.length === 0) continue;
    for (const [kind, charge] of subscriptionCharges(p)) {
      const monthly = days.map((d) => nano(chargePriceAt(charge, localDayStart(d), p.asOf)));
      const exact = toExactScaled(monthly.reduce((s, x) => s.plus(x), ZERO).div(String(m.days)));
      const same = monthly.every((x) => x.eq(monthly[0]!));
      drafts.push({
        kind,
        description: charge.description,
        chargeId: charge.chargeId,
        month: m.label,
        quantityMilliKwh: null,
        daysSupplied: days.length,
        daysInMonth: m.days,
        unitPrice: same ? formatUnitPrice(toScaled(monthly[0]!, PRICE_SCALE), PRICE_SCALE) : null,
        amountExclVat: toOre(exact.units, exact.scale),
        estimated: false,
      });
    }
  }
  drafts.push(...feeDrafts(p, fees));
  return invoiceOf(p.gsrn, p.billing.from, p.billing.toExclusive, p.asOf, drafts);
}
