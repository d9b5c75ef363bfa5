import type { CommandClient } from '@dh/messaging';
import type { Infrastructure } from '@dh/platform';
import { invoiceIdOf, type InvoiceIssued, type SettlementCorrectionIssued } from '@dh/settlement-application';
import type { InvoiceRecomputation } from '@dh/settlement-infra';
import { eventually } from '@dh/testing';
import {
  gsrn,
  meteredPayload,
  OCTOBER_2026,
  seedFlatSpotPrices,
  seedRadiusGridArea,
  seedTaxAndSpotProduct,
  settlementTestHelpers,
  startSettlementTestService,
  startSpotSupply,
  type SettlementTestService,
} from './testing/settlement-test-support';

const MP = gsrn(71);
const INVOICE = invoiceIdOf(MP, OCTOBER_2026, `customer-${MP}`);

/** Issue 9: a product change of a customer supply from a date corrects the invoices already issued for the days after it. */
describe('settlement: a product change from a date (portfolio ProductChanged)', () => {
  let service: SettlementTestService;
  let infra: Infrastructure;
  let commands: CommandClient;
  const helpers = settlementTestHelpers(() => infra, () => commands);
  const { append, send, count, all } = helpers;
  const stream = () => infra.eventStore.readStream(`invoice-${INVOICE}`);

  beforeAll(async () => {
    service = await startSettlementTestService('settlement_product_change');
    ({ infra, commands } = service);
    await seedRadiusGridArea(helpers);
    await seedTaxAndSpotProduct(helpers, { normal: '0.008', reduced: '0.008' });
    await append('product-fixed', 'rates', 'ProductDefined', { productId: 'fixed', name: 'Fast', marginDkkPerKwh: '0.10', monthlySubscriptionDkk: '49.00', validFrom: '2026-01-01' });
    await seedFlatSpotPrices(helpers, '2026-10-01', '2026-11-01');
    await startSpotSupply(helpers, MP, `customer-${MP}`);
    await send('RecordMeteredData', meteredPayload(MP, 'oct', '2026-10-01', '2026-11-01', () => '1.000'));
    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data`)).toBe(31);
      expect(await count(`SELECT count(*) AS n FROM settlement.products`)).toBe(2);
      expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices`)).toBe(745);
    }, 30_000, 100);
    await send('StartSettlementRun', { period: OCTOBER_2026 });
    await eventually(async () => expect((await stream()).map((e) => e.type)).toEqual(['InvoiceIssued']), 30_000, 100);
  }, 180_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  it('the invoice was issued on the spot product: margin 0.05 on 745 kWh, subscription 39.00', async () => {
    const issued = (await stream())[0]!.data as unknown as InvoiceIssued;
    expect(issued.lines.filter((l) => l.kind === 'energy' || l.kind === 'product-subscription').map((l) => [l.kind, l.chargeId, l.amountExclVat])).toEqual([
      ['energy', 'product:spot:margin', '782.25'],
      ['product-subscription', 'product:spot:subscription', '39.00'],
    ]);
  });

  it('the product changed to fixed from 16 October: a note for the days from then (margin +0.05 on 385 kWh, subscription prorated)', async () => {
    await append(`metering-point-${MP}`, 'portfolio', 'ProductChanged', { gsrn: MP, customerId: `customer-${MP}`, productId: 'fixed', from: '2026-10-16', at: '2026-11-10T10:00:00.000Z' });
    const note = await eventually(async () => {
      const n = (await stream()).filter((e) => e.type === 'SettlementCorrectionIssued');
      if (n.length !== 1) throw new Error(`${n.length} notes`);
      return n[0]!.data as unknown as SettlementCorrectionIssued;
    }, 20_000, 100);
    // The note is appended by the event store's own connection while the inputs consumer's transaction that copied the
    // change is still committing: the copy is visible a moment later.
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM settlement.product_changes`)).toBe(1), 5_000, 50);
    // Energy: 16–31 October = 385 hours (25 October has 25) × 1 kWh × (0.10 − 0.05) = 19.25.
    // Subscription: 39.00 × 15/31 + 49.00 × 16/31 = 1369/31 = 44.16 (rounded once) instead of 39.00: +5.16.
    expect(note).toMatchObject({ cause: 'supply-changed', noteType: 'debit' });
    expect(note.lines.map((l) => [l.kind, l.amountExclVat])).toEqual([
      ['energy', '19.25'],
      ['product-subscription', '5.16'],
    ]);
    expect(note.correctedInvoice.lines.find((l) => l.kind === 'energy')!.chargeId).toBe('product:spot+fixed:margin');
    // Once: nothing more is issued.
    await new Promise((r) => setTimeout(r, 500));
    expect((await stream()).filter((e) => e.type === 'SettlementCorrectionIssued')).toHaveLength(1);
    expect(await all('SettlementCorrectionIssued')).toHaveLength(1);
  });

  it('a recomputation names the product in force per supplied day (spot until the 15th, fixed from the 16th): nothing left to correct', async () => {
    const dry = await send<InvoiceRecomputation>('RecomputeInvoice', { invoiceId: INVOICE });
    expect(dry.wouldIssue.noteType).toBe('none');
    if (dry.recomputed.outcome !== 'settled') throw new Error('expected settled');
    expect(dry.recomputed.inputs.supply.products).toEqual([
      { productId: 'spot', firstDay: '2026-10-01', lastDay: '2026-10-15', days: 15 },
      { productId: 'fixed', firstDay: '2026-10-16', lastDay: '2026-10-31', days: 16 },
    ]);
  });
});
