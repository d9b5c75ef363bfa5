import { MEAN_AMOUNT_SCALE, MEAN_PRICE_SCALE, toOre } from '@dh/money';
import { formatUnitPrice, type LineDraft, type LineKind } from '../invoice';

/** Unit prices repeat across invoices (a tariff, the tax): their text is made once per price. */
const UNIT_PRICE_TEXT = new Map<100n | 25n, Map<number, string>>([
  [100n, new Map()],
  [25n, new Map()],
]);

function unitPriceText(first: number, factor: 100n | 25n): string {
  const cache = UNIT_PRICE_TEXT.get(factor)!;
  let text = cache.get(first);
  if (text === undefined) {
    if (cache.size >= 4096) cache.clear();
    text = formatUnitPrice(BigInt(first) * factor, MEAN_PRICE_SCALE);
    cache.set(first, text);
  }
  return text;
}

/**
 * One kWh line of the kernel. Amounts are exact integers in two parts, because an interval is priced
 * either at a published price (scale 9) or at the mean of four quarter prices, kept as their sum:
 * `a` Σ Wh × nano-DKK/kWh (scale 12) and `b` Σ Wh × (sum of four) (scale 12, four times the amount).
 * The line amount at scale 14 is 100·a + 25·b, rounded once to øre. The kernel adds exact integer
 * products in doubles only inside a block whose bound it checked below 2^53, then flushes the
 * block into these BigInts (`flush`), so no double ever holds an inexact value.
 */
export class FastLine {
  /** Open block of the `a` part (double holding an exact integer). */
  a = 0;
  /** Open block of the `b` part. */
  b = 0;
  private sumA = 0n;
  private sumB = 0n;
  /** Σ Wh (exact: below 2^53). */
  quantity = 0;
  /** First price added (scale of `priceFactor`); NaN while untouched. */
  first = Number.NaN;
  varies = false;
  estimated = false;

  constructor(
    readonly kind: LineKind,
    readonly description: string,
    readonly chargeId: string | null,
    /** Multiplier bringing a tracked price to scale 11: 100 for scale-9 prices, 25 for sums of four. */
    readonly priceFactor: 100n | 25n,
    /** -1n for lines where we pay the customer (net export bought at spot). */
    readonly sign: 1n | -1n = 1n,
  ) {}

  get touched(): boolean {
    return this.first === this.first;
  }

  /** Records the price of one more interval (for `unitPrice`: one price for the whole line, else null). */
  track(price: number): void {
    if (price !== this.first) {
      if (this.first !== this.first) this.first = price;
      else this.varies = true;
    }
  }

  flush(): void {
    if (this.a !== 0) {
      this.sumA += BigInt(this.a);
      this.a = 0;
    }
    if (this.b !== 0) {
      this.sumB += BigInt(this.b);
      this.b = 0;
    }
  }

  /** Adds an exact amount to the `a` part (scale 12), e.g. Σ Wh × a price constant over the period. */
  addExact(units: bigint): void {
    this.sumA += units;
  }

  draft(): LineDraft {
    this.flush();
    const unit = !this.touched || this.varies ? null : unitPriceText(this.first, this.priceFactor);
    return {
      kind: this.kind,
      description: this.description,
      chargeId: this.chargeId,
      month: null,
      quantityMilliKwh: BigInt(this.quantity),
      daysSupplied: null,
      daysInMonth: null,
      unitPrice: unit,
      amountExclVat: toOre(this.sign * (this.sumA * 100n + this.sumB * 25n), MEAN_AMOUNT_SCALE),
      estimated: this.estimated,
    };
  }
}
