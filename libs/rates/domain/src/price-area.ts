/** Day-ahead bidding zones of Denmark: DK1 west of the Great Belt, DK2 east (market-facts.md §2). */
export type PriceArea = 'DK1' | 'DK2';

export const PRICE_AREAS: readonly PriceArea[] = ['DK1', 'DK2'];

export function isPriceArea(value: unknown): value is PriceArea {
  return value === 'DK1' || value === 'DK2';
}
