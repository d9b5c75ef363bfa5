import { MEAN_AMOUNT_SCALE, MEAN_PRICE_SCALE, PRICE_SCALE, ratioToOre, toOre } from '@dh/money';
import { formatUnitPrice, type LineDraft, type LineKind } from './invoice';

/**
 * One kWh line of the fast path: Σ q × p exactly in BigInt, q in Wh (scale 3), p in DKK/kWh at
 * scale 11 (every price is brought to the scale of a mean of four quarter prices), so the sum is
 * at scale 14 and is rounded once, at the end, by @dh/money.
 */
export class KwhLine {
  private sum = 0n;
  private quantity = 0n;
  private price: bigint | null | undefined = undefined;
  private estimated = false;

  constructor(
    readonly kind: LineKind,
    readonly description: string,
    readonly chargeId: string | null,
    /** -1n for lines where we pay the customer (net export bought at spot). */
    private readonly sign: 1n | -1n = 1n,
  ) {}

  add(milliKwh: bigint, price11: bigint, estimated: boolean): void {
    this.sum += milliKwh * price11;
    this.quantity += milliKwh;
    if (this.price === undefined) this.price = price11;
    else if (this.price !== null && this.price !== price11) this.price = null;
    if (estimated) this.estimated = true;
  }

  get touched(): boolean {
    return this.price !== undefined;
  }

  draft(): LineDraft {
    return {
      kind: this.kind,
      description: this.description,
      chargeId: this.chargeId,
      month: null,
      quantityMilliKwh: this.quantity,
      daysSupplied: null,
      daysInMonth: null,
      unitPrice: this.price === undefined || this.price === null ? null : formatUnitPrice(this.price, MEAN_PRICE_SCALE),
      amountExclVat: toOre(this.sign * this.sum, MEAN_AMOUNT_SCALE),
      estimated: this.estimated,
    };
  }
}

/** Quantity-only line (production shown on the invoice, no amount). */
export class QuantityLine {
  private quantity = 0n;
  private estimated = false;

  constructor(
    readonly kind: LineKind,
    readonly description: string,
  ) {}

  add(milliKwh: bigint, estimated: boolean): void {
    this.quantity += milliKwh;
    if (estimated) this.estimated = true;
  }

  draft(): LineDraft {
    return {
      kind: this.kind,
      description: this.description,
      chargeId: null,
      month: null,
      quantityMilliKwh: this.quantity,
      daysSupplied: null,
      daysInMonth: null,
      unitPrice: null,
      amountExclVat: toOre(0n, 0),
      estimated: this.estimated,
    };
  }
}

/**
 * A monthly subscription for one month: Σ over supplied days of (monthly price in force that day),
 * ÷ days in month, rounded once. With one price all month this is monthly × days supplied ÷ days in
 * month (domain.md "Rules we settled"); a mid-month price change is weighted by its days.
 */
export class SubscriptionLine {
  private sum = 0n;
  private days = 0;
  private price: bigint | null | undefined = undefined;

  constructor(
    readonly kind: LineKind,
    readonly description: string,
    readonly chargeId: string,
    readonly month: string,
    readonly daysInMonth: number,
  ) {}

  addDay(monthlyNano: bigint): void {
    this.sum += monthlyNano;
    this.days += 1;
    if (this.price === undefined) this.price = monthlyNano;
    else if (this.price !== null && this.price !== monthlyNano) this.price = null;
  }

  draft(): LineDraft {
    return {
      kind: this.kind,
      description: this.description,
      chargeId: this.chargeId,
      month: this.month,
      quantityMilliKwh: null,
      daysSupplied: this.days,
      daysInMonth: this.daysInMonth,
      unitPrice: this.price === undefined || this.price === null ? null : formatUnitPrice(this.price, PRICE_SCALE),
      amountExclVat: ratioToOre(this.sum, PRICE_SCALE, BigInt(this.daysInMonth)),
      estimated: false,
    };
  }
}
