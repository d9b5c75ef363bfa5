import type { LocalDate } from '@dh/dk-time';
import { chargeRowOn, rowPriceAt, spotPriceAt, toMeanScale, type Charge, type ChargePriceRow } from '@dh/rates-domain';
import { invoiceOf, type Invoice, type LineDraft, type LineKind } from './invoice';
import { KwhLine, QuantityLine, SubscriptionLine } from './line-accumulators';
import { settlementIntervals } from './metered';
import { runSettlement, type PreparedSettlement, type SettlementResult } from './prepare';
import { MissingConfiguration } from './settlement-halted';
import type { SettlementInput } from './settlement-input';

/**
 * Settles one metering point for one billing period (fast path: exact scaled BigInt per interval).
 * Returns the invoice, or a typed halt when metered data or a price is missing: never a partial invoice.
 */
export function settleMeteringPoint(input: SettlementInput): SettlementResult {
  return runSettlement(input, settleFast);
}

function subscriptionRow(charge: Charge, day: LocalDate, asOf: Date): ChargePriceRow {
  const row = chargeRowOn(charge, day, asOf);
  if (row.resolution !== 'P1M') throw new MissingConfiguration(`charge ${charge.chargeId} is used as a subscription but its price on ${day} is ${row.resolution}, not P1M`);
  return row;
}

export const SUBSCRIPTION_KINDS: readonly LineKind[] = ['grid-subscription', 'system-subscription', 'product-subscription'];

export function subscriptionCharges(p: PreparedSettlement): readonly [LineKind, Charge][] {
  return [
    ['grid-subscription', p.rates.gridSubscription],
    ['system-subscription', p.rates.systemSubscription],
    ['product-subscription', p.product.subscription],
  ];
}

function settleFast(p: PreparedSettlement): Invoice {
  const r = p.rates;
  const asOf = p.asOf;
  const energy = new KwhLine('energy', `${p.product.name}: spot price + margin`, p.product.margin.chargeId);
  const gridTariff = new KwhLine('grid-tariff', r.gridTariff.description, r.gridTariff.chargeId);
  const systemTariff = new KwhLine('system-tariff', r.systemTariff.description, r.systemTariff.chargeId);
  const transmissionTariff = new KwhLine('transmission-tariff', r.transmissionTariff.description, r.transmissionTariff.chargeId);
  const tax = new KwhLine('electricity-tax', r.electricityTax.description, r.electricityTax.chargeId);
  const reducedTax = new KwhLine('electricity-tax-reduced', r.reducedElectricityTax.description, r.reducedElectricityTax.chargeId);
  const production = new QuantityLine('production', 'Own production (hourly netting)');
  const exportEnergy = new KwhLine('export-energy', 'Net export bought at the spot price', null, -1n);
  const exportFee = new KwhLine('export-fee', p.exportFee?.description ?? '', p.exportFee?.chargeId ?? null);
  const subscriptions = new Map<string, SubscriptionLine>();
  const eh = p.electricHeating;
  let cumulative = eh?.yearToDateMilliKwh ?? 0n;

  for (const day of p.days) {
    const month = p.billing.months.find((m) => m.label === day.slice(0, 7))!;
    for (const [kind, charge] of subscriptionCharges(p)) {
      const key = `${kind}:${month.label}`;
      let line = subscriptions.get(key);
      if (line === undefined) subscriptions.set(key, (line = new SubscriptionLine(kind, charge.description, charge.chargeId, month.label, month.days)));
      line.addDay(subscriptionRow(charge, day, asOf).prices[0]!);
    }
    const margin = chargeRowOn(p.product.margin, day, asOf);
    const grid = chargeRowOn(r.gridTariff, day, asOf);
    const system = chargeRowOn(r.systemTariff, day, asOf);
    const transmission = chargeRowOn(r.transmissionTariff, day, asOf);
    const taxRow = chargeRowOn(r.electricityTax, day, asOf);
    const feeRow = p.exportFee === null ? null : chargeRowOn(p.exportFee, day, asOf);
    let reducedRow: ChargePriceRow | undefined;

    for (const iv of settlementIntervals(day, p.consumption, p.production)) {
      const at = iv.start;
      const spot = toMeanScale(spotPriceAt(r.spot, at, { resolution: iv.resolution, asOf }));
      let consumed = 0n;
      for (const v of iv.consumption) consumed += v.milliKwh;
      let imported = consumed;
      if (iv.production !== null) {
        // Hourly netting (domain.md "Special cases"): per hour, consumption − production.
        let produced = 0n;
        for (const v of iv.production) produced += v.milliKwh;
        production.add(produced, iv.estimated);
        imported = consumed > produced ? consumed - produced : 0n;
        const exported = produced > consumed ? produced - consumed : 0n;
        if (exported > 0n) {
          exportEnergy.add(exported, spot, iv.estimated);
          exportFee.add(exported, rowPriceAt(feeRow!, at) * 100n, iv.estimated);
        }
        if (imported === 0n) continue;
      }
      energy.add(imported, spot + rowPriceAt(margin, at) * 100n, iv.estimated);
      gridTariff.add(imported, rowPriceAt(grid, at) * 100n, iv.estimated);
      systemTariff.add(imported, rowPriceAt(system, at) * 100n, iv.estimated);
      transmissionTariff.add(imported, rowPriceAt(transmission, at) * 100n, iv.estimated);
      let normal = imported;
      if (eh !== null) {
        // Electric heating: the interval crossing the yearly threshold is split at it.
        const room = eh.thresholdMilliKwh - cumulative;
        normal = room <= 0n ? 0n : room < imported ? room : imported;
        cumulative += imported;
      }
      const reduced = imported - normal;
      if (normal > 0n || reduced === 0n) tax.add(normal, rowPriceAt(taxRow, at) * 100n, iv.estimated);
      if (reduced > 0n) {
        reducedRow ??= chargeRowOn(r.reducedElectricityTax, day, asOf);
        reducedTax.add(reduced, rowPriceAt(reducedRow, at) * 100n, iv.estimated);
      }
    }
  }

  const drafts: LineDraft[] = [];
  if (p.days.length > 0) {
    drafts.push(energy.draft(), gridTariff.draft(), systemTariff.draft(), transmissionTariff.draft(), tax.draft());
    if (reducedTax.touched) drafts.push(reducedTax.draft());
    if (p.production !== null) drafts.push(production.draft());
    if (exportEnergy.touched) drafts.push(exportEnergy.draft(), exportFee.draft());
  }
  for (const m of p.billing.months) for (const [kind] of subscriptionCharges(p)) {
    const line = subscriptions.get(`${kind}:${m.label}`);
    if (line !== undefined) drafts.push(line.draft());
  }
  return invoiceOf(p.gsrn, p.billing.from, p.billing.toExclusive, asOf, drafts);
}
