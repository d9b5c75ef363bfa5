import { roundHalfAwayFromZero } from '@dh/money';
import type { MonthlyAmountPerCharge, TotalMonthlyAmount } from './model';

/**
 * total quantity (milli, 3 decimals) × price (micro-DKK, 6 decimals), cast to Decimal(18,6): Spark rounds
 * decimal casts HALF_UP, i.e. half away from zero (opengeh-wholesale
 * `test_tariff_calculators.py::…rounds_total_amount_correctly`: 0.000001 × 0.500 → 0.000001, × 0.499 → 0).
 */
export const amountOf = (quantityMilli: bigint, priceMicro: bigint): bigint => roundHalfAwayFromZero(quantityMilli * priceMicro, 9, 6);

/** SQL `sum`: nulls are skipped, all null (or none) gives null. */
export function sumAmounts(amounts: readonly (bigint | null)[]): bigint | null {
  let total: bigint | null = null;
  for (const a of amounts) if (a !== null) total = (total ?? 0n) + a;
  return total;
}

/**
 * Total per (grid area, charge owner, energy supplier) of the non-tax charges, with the supplier's tax
 * charges added into every other owner's total; a tax owner's own total is its non-tax charges only
 * (`total_monthly_amount_calculator.calculate_per_co_es`). Owners with only tax charges get no row.
 */
export function totalsPerChargeOwner(monthly: readonly MonthlyAmountPerCharge[]): TotalMonthlyAmount[] {
  const sums = (tax: boolean) => {
    const out = new Map<string, { gridArea: string; energySupplier: string; owner: string; time: number; amounts: (bigint | null)[] }>();
    for (const m of monthly) {
      if (m.isTax !== tax) continue;
      const key = `${m.gridArea}|${m.charge.owner}|${m.energySupplier}`;
      const e = out.get(key);
      if (e === undefined) out.set(key, { gridArea: m.gridArea, energySupplier: m.energySupplier, owner: m.charge.owner, time: m.time, amounts: [m.amount] });
      else e.amounts.push(m.amount);
    }
    return [...out.values()].map((e) => ({ ...e, amount: sumAmounts(e.amounts) }));
  };
  const taxes = sums(true);
  const totals: TotalMonthlyAmount[] = [];
  for (const nonTax of sums(false)) {
    const matching = taxes.filter((t) => t.gridArea === nonTax.gridArea && t.energySupplier === nonTax.energySupplier);
    // A left join: one row per tax owner of the supplier in the grid area, or one row without.
    for (const tax of matching.length > 0 ? matching : [null]) {
      const taxAmount = tax === null ? null : tax.amount;
      const amount = tax !== null && tax.owner === nonTax.owner ? nonTax.amount : taxAmount === null && nonTax.amount === null ? null : (taxAmount ?? 0n) + (nonTax.amount ?? 0n);
      totals.push({ gridArea: nonTax.gridArea, energySupplier: nonTax.energySupplier, chargeOwner: nonTax.owner, time: nonTax.time, amount });
    }
  }
  return totals;
}

/** Total per (grid area, energy supplier) of every monthly amount, taxes included (`calculate_per_es`). */
export function totalsPerEnergySupplier(monthly: readonly MonthlyAmountPerCharge[]): TotalMonthlyAmount[] {
  const out = new Map<string, { gridArea: string; energySupplier: string; time: number; amounts: (bigint | null)[] }>();
  for (const m of monthly) {
    const key = `${m.gridArea}|${m.energySupplier}|${m.time}`;
    const e = out.get(key);
    if (e === undefined) out.set(key, { gridArea: m.gridArea, energySupplier: m.energySupplier, time: m.time, amounts: [m.amount] });
    else e.amounts.push(m.amount);
  }
  return [...out.values()].map((e) => ({ gridArea: e.gridArea, energySupplier: e.energySupplier, chargeOwner: null, time: e.time, amount: sumAmounts(e.amounts) }));
}
