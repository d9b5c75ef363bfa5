import type { ChargeComparison } from './wholesale-comparison';

/** Our invoices' lines of one charge in a grid area and month: amounts excl. VAT, each rounded to øre. */
export interface InvoicedCharge {
  readonly chargeId: string;
  readonly lines: number;
  /** øre. */
  readonly amountOre: bigint;
}

export interface InvoiceComparison {
  readonly chargeId: string;
  readonly lines: number;
  /** micro-DKK, all three. */
  readonly invoiced: bigint;
  readonly datahub: bigint;
  readonly ours: bigint;
  /** invoiced − ours. */
  readonly roundingDifference: bigint;
  /** What per-line rounding can explain: half an øre per line, plus a subscription's daily price rounding (≤ 31 × 0.0000005). */
  readonly tolerance: bigint;
  readonly withinRounding: boolean;
}

/**
 * Our customer invoices round each line to øre (domain.md "Rules we settled"); DataHub rounds the amount on the
 * summed quantity to 6 decimals. So invoices are compared with our own DataHub-rule amount, and the difference that
 * per-line rounding explains is shown apart from a real difference (beyond the tolerance). Charges DataHub does
 * not settle with us are left out.
 */
export function compareInvoices(invoiced: readonly InvoicedCharge[], charges: readonly ChargeComparison[]): InvoiceComparison[] {
  const byId = new Map(charges.map((c) => [c.chargeId, c]));
  // Only charges DataHub settles with us (in its result or by the links it sent): our product's margin and
  // subscription, or a tax settled outside DataHub's wholesale result, have nothing to be compared with.
  return invoiced.filter((i) => byId.has(i.chargeId)).map((i) => {
    const c = byId.get(i.chargeId);
    const amount = i.amountOre * 10_000n;
    const ours = c?.ourAmount ?? 0n;
    const tolerance = BigInt(i.lines) * (5_000n + 16n);
    const difference = amount - ours;
    return {
      chargeId: i.chargeId,
      lines: i.lines,
      invoiced: amount,
      datahub: c?.datahubAmount ?? 0n,
      ours,
      roundingDifference: difference,
      tolerance,
      withinRounding: (difference < 0n ? -difference : difference) <= tolerance,
    };
  });
}
