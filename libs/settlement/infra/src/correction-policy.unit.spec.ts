import type { EventEnvelope } from '@dh/messaging';
import { DEFAULT_CORRECTION_POLICY, feeVatPayerChangeRange, publicationJobOf, type FeeVatPayers } from './correction-jobs';

const envelope = (type: string, data: Record<string, unknown>): EventEnvelope => ({
  eventId: 'e',
  type,
  streamId: 's',
  streamRevision: '0',
  globalPosition: '1',
  occurredAt: '2026-11-20T08:00:00Z',
  recordedAt: '2026-11-20T08:00:00Z',
  data: data as EventEnvelope['data'],
  metadata: { correlationId: 'c', causationId: null, actor: 'a', schemaVersion: 1, context: 'rates' },
});

const product = envelope('ProductDefined', { productId: 'green', name: 'Green spot', marginDkkPerKwh: '0.0395', monthlySubscriptionDkk: '19.00', validFrom: '2026-10-01', version: 2 });
const spot = envelope('SpotPricesPublished', { priceArea: 'DK1', deliveryDate: '2026-10-10', resolution: 'PT15M', version: 2, publishedAt: '2026-11-20T08:00:00Z', prices: [] });

/** The supplier's correction policy: market inputs always correct issued invoices; our own product prices by choice. */
describe('correction policy', () => {
  it('by default a product redefinition is a correction job over the invoices of that product from its date', () => {
    expect(DEFAULT_CORRECTION_POLICY).toEqual({ productPrices: 'automatic' });
    expect(publicationJobOf(product)).toEqual({ cause: 'price', selector: { kind: 'product', productId: 'green', from: '2026-10-01' } });
  });

  it('under review a product redefinition corrects nothing by itself (staff dry-run and apply); market prices are still corrected at once', () => {
    const review = { productPrices: 'review' } as const;
    expect(publicationJobOf(product, undefined, review)).toBeNull();
    expect(publicationJobOf(spot, undefined, review)).toEqual({ cause: 'price', selector: { kind: 'price-area-day', priceArea: 'DK1', day: '2026-10-10' } });
    const tax = envelope('ElectricityTaxRateSet', { validFrom: '2026-01-01', validTo: '2028-01-01', normalDkkPerKwh: '0.008', reducedDkkPerKwh: '0.008' });
    expect(publicationJobOf(tax, undefined, review)).toEqual({ cause: 'price', selector: { kind: 'validity', ranges: [{ from: '2026-01-01', to: '2028-01-01' }], chargeId: null } });
  });

  it("a fee's master data (its VATPayer) is a job over the invoices carrying that fee, under either policy; other charges' master data is none", () => {
    const information = (chargeType: string) =>
      envelope('ChargeInformationRecorded', { chargeId: `5790000610976:${chargeType}:GEB-02`, owner: '5790000610976', chargeType, code: 'GEB-02', vatPayer: 'D01', from: '2025-12-31T23:00:00.000Z', to: null });
    const job = { cause: 'price', selector: { kind: 'fee', chargeId: '5790000610976:D02:GEB-02', from: '2025-12-31T23:00:00.000Z', to: null } };
    expect(publicationJobOf(information('D02'))).toEqual(job);
    expect(publicationJobOf(information('D02'), undefined, { productPrices: 'review' })).toEqual(job);
    expect(publicationJobOf(information('D03'))).toBeNull();
  });
});

/** A D18 of a fee records a job only when the VATPayer the invoices read (the row in force, latest start) changed. */
describe("a fee's master data: whether its VATPayer changed", () => {
  const at = (iso: string): number => Date.parse(iso);
  const jan: FeeVatPayers = [{ validFrom: at('2025-12-31T23:00:00Z'), validTo: null, vatPayer: 'D02' }];
  const vatPayersDiffer = (before: FeeVatPayers, after: FeeVatPayers): boolean => feeVatPayerChangeRange(before, after) !== null;

  it('the same rows (a D18 resent, or one changing only its name or description) change nothing', () => {
    expect(vatPayersDiffer(jan, [...jan])).toBe(false);
    expect(vatPayersDiffer([], [])).toBe(false);
  });

  it("another VATPayer, a first row, or a row's end moved changes it", () => {
    expect(vatPayersDiffer(jan, [{ ...jan[0]!, vatPayer: 'D01' }])).toBe(true);
    expect(vatPayersDiffer([], jan)).toBe(true);
    expect(vatPayersDiffer(jan, [{ ...jan[0]!, validTo: at('2026-09-30T22:00:00Z') }])).toBe(true);
  });

  it('a new row from a later date with the VATPayer already in force changes nothing; with another one, it does', () => {
    const october = (vatPayer: string | null) => ({ validFrom: at('2026-09-30T22:00:00Z'), validTo: null, vatPayer });
    expect(vatPayersDiffer(jan, [...jan, october('D02')])).toBe(false);
    expect(vatPayersDiffer(jan, [...jan, october('D01')])).toBe(true);
    expect(vatPayersDiffer(jan, [...jan, october(null)])).toBe(true);
  });

  it('D01, no VATPayer and no row in force are all "with VAT" to an invoice: a change between them changes nothing', () => {
    const withVat: FeeVatPayers = [{ ...jan[0]!, vatPayer: 'D01' }];
    expect(vatPayersDiffer(withVat, [{ ...jan[0]!, vatPayer: null }])).toBe(false);
    expect(vatPayersDiffer([], withVat)).toBe(false);
    expect(vatPayersDiffer(withVat, [{ ...jan[0]!, vatPayer: 'D01', validTo: at('2026-09-30T22:00:00Z') }])).toBe(false);
  });

  it("the instants it changed: a row's end moved changes the VATPayer after the new (or old) end, outside the D18's own validity", () => {
    const oct10 = at('2026-10-09T22:00:00Z');
    const oct15 = at('2026-10-14T22:00:00Z');
    const nov = at('2026-10-31T23:00:00Z');
    const row = (validFrom: number, validTo: number | null, vatPayer: string) => ({ validFrom, validTo, vatPayer });
    expect(feeVatPayerChangeRange(jan, [...jan])).toBeNull();
    // A new row from the 10th with VAT (January's has none): from the 10th on.
    expect(feeVatPayerChangeRange(jan, [...jan, row(oct10, null, 'D01')])).toEqual({ from: oct10, to: null });
    // That row shortened to [10th, 15th): the 15th on is back under January's row, though the D18 says [10th, 15th).
    expect(feeVatPayerChangeRange([...jan, row(oct10, null, 'D01')], [...jan, row(oct10, oct15, 'D01')])).toEqual({ from: oct15, to: null });
    // Lengthened from the 15th to November: [15th, November).
    expect(feeVatPayerChangeRange([...jan, row(oct10, oct15, 'D01')], [...jan, row(oct10, nov, 'D01')])).toEqual({ from: oct15, to: nov });
    // January's row ends on the 15th (no row after it): the 15th on.
    expect(feeVatPayerChangeRange(jan, [{ ...jan[0]!, validTo: oct15 }])).toEqual({ from: oct15, to: null });
    // Two segments changed: the range holds both and what lies between.
    expect(feeVatPayerChangeRange([row(jan[0]!.validFrom, null, 'D02')], [row(jan[0]!.validFrom, oct10, 'D01'), row(oct10, oct15, 'D02'), row(oct15, nov, 'D01'), row(nov, null, 'D02')])).toEqual({
      from: jan[0]!.validFrom,
      to: nov,
    });
  });
});
