import type { SettlementCopies, SupplyRecord } from '@dh/settlement-application';
import { chargeSetKey } from './settle';

const OCTOBER = { kind: 'month', year: 2026, month: 10 } as const;
const ONE = '571313174000000915';
const TWO = '571313174000000922';

const supply = (gsrn: string, productId: string, startDate: string, endDate: string | null): SupplyRecord => ({
  gsrn,
  customerId: `customer-${gsrn}`,
  startDate,
  endDate,
  productId,
  electricHeating: false,
  gridArea: '791',
  productionGsrn: null,
  billingFrequency: 'monthly',
  paymentModel: 'actual',
  reversed: false,
});
const copies = (supplies: SupplyRecord[]): SettlementCopies => ({ supplies, products: [], taxRates: [], gridAreas: [], charges: [], spotPrices: [], consumption: [], production: [] });
const key = (gsrn: string, supplies: SupplyRecord[]) => chargeSetKey(gsrn, OCTOBER, copies(supplies), `customer-${gsrn}`);

/** A run's worker settles the points of one key on the prices resolved for the first of them (RunPriceCache). */
describe('chargeSetKey (the set of charges a run prices once)', () => {
  it('points on the same product in the same grid area share a key, whatever their supplied days', () => {
    expect(key(ONE, [supply(ONE, 'fixed', '2026-01-01', null)])).toBe(key(TWO, [supply(TWO, 'fixed', '2026-10-16', null)]));
  });

  it("a customer's supplies on different products in the period do not share the key of the latest product alone", () => {
    const single = key(ONE, [supply(ONE, 'fixed', '2026-01-01', null)]);
    const two = key(TWO, [supply(TWO, 'spot', '2026-01-01', '2026-10-16'), supply(TWO, 'fixed', '2026-10-16', null)]);
    expect(two).not.toBeNull();
    expect(two).not.toBe(single);
    // Nor that of the same products on other days (each product's days are priced by it).
    expect(two).not.toBe(key(TWO, [supply(TWO, 'spot', '2026-01-01', '2026-10-20'), supply(TWO, 'fixed', '2026-10-20', null)]));
  });

  it('no supply in the period: no key', () => {
    expect(key(ONE, [supply(ONE, 'fixed', '2026-11-01', null)])).toBeNull();
  });
});
