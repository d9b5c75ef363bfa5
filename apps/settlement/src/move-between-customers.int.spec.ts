import { randomUUID } from 'node:crypto';
import type { CommandClient } from '@dh/messaging';
import type { Infrastructure } from '@dh/platform';
import { invoiceIdOf, type InvoiceIssued, type SettlementCompleted, type SettlementCorrectionIssued } from '@dh/settlement-application';
import { eventually } from '@dh/testing';
import { gsrn, meteredPayload, seedFlatSpotPrices, seedRadiusGridArea, seedTaxAndSpotProduct, settlementTestHelpers, startSettlementTestService, type SettlementTestService } from './testing/settlement-test-support';

/** One metering point, two of our customers in October 2026: A moves out (last day the 14th), B moves in on the 15th. */
const MP = gsrn(51);
const A = 'c1a1a1a1-0000-4000-8000-000000000051';
const B = 'c2b2b2b2-0000-4000-8000-000000000051';
const PERIOD = { kind: 'month', year: 2026, month: 10 } as const;

describe('settlement: one invoice per customer supply (a move between two of our customers on the 15th), end to end', () => {
  let service: SettlementTestService;
  let infra: Infrastructure;
  let commands: CommandClient;
  const helpers = settlementTestHelpers(() => infra, () => commands);
  const { append, send, count, all } = helpers;
  const invoiceOf = async (customerId: string): Promise<InvoiceIssued> => {
    const [issued] = await infra.eventStore.readStream(`invoice-${invoiceIdOf(MP, PERIOD, customerId)}`);
    if (issued === undefined) throw new Error(`no invoice for ${customerId}`);
    return issued.data as unknown as InvoiceIssued;
  };
  const rows = (invoice: InvoiceIssued) => invoice.lines.map((l) => [l.key, l.quantityKwh, l.amountExclVat]);

  beforeAll(async () => {
    service = await startSettlementTestService('settlement_move');
    ({ infra, commands } = service);
    await seedRadiusGridArea(helpers);
    await seedTaxAndSpotProduct(helpers, { normal: '0.90', reduced: '0.01' });
    await append('product-fixed', 'rates', 'ProductDefined', { productId: 'fixed', name: 'Fast', marginDkkPerKwh: '0.10', monthlySubscriptionDkk: '29.00', validFrom: '2026-01-01' });
    await seedFlatSpotPrices(helpers, '2026-10-01', '2026-11-01');
    const started = (customerId: string, startDate: string, productId: string, electricHeating: boolean) =>
      append(`metering-point-${MP}`, 'portfolio', 'SupplyStarted', {
        gsrn: MP,
        processId: randomUUID(),
        customerId,
        startDate,
        productId,
        gridArea: '791',
        priceArea: 'DK2',
        billingFrequency: 'monthly',
        paymentModel: 'actual',
        electricHeating,
        productionGsrn: null,
        at: '2026-09-01T10:00:00.000Z',
      });
    await started(A, '2026-01-01', 'spot', false);
    // Move-out of A and move-in of B (BRS-010 / BRS-009) on 15 October.
    await append(`metering-point-${MP}`, 'portfolio', 'SupplyEnded', { gsrn: MP, endDate: '2026-10-15', reason: 'move-out', at: '2026-10-01T10:00:00.000Z' });
    await started(B, '2026-10-15', 'fixed', true);
    await send('RecordMeteredData', meteredPayload(MP, 'oct', '2026-10-01', '2026-11-01', () => '1.000'));

    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data`)).toBe(31);
      expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices`)).toBe(745);
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies WHERE end_date = '2026-10-15'`)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies`)).toBe(2);
      expect(await count(`SELECT count(*) AS n FROM settlement.products`)).toBe(2);
      expect(await count(`SELECT count(*) AS n FROM settlement.charge_rows`)).toBe(5);
      expect(await count(`SELECT count(*) AS n FROM settlement.tax_rates`)).toBe(1);
    }, 30_000, 100);

    const run = await send<{ runId: string; items: number }>('StartSettlementRun', { period: PERIOD });
    expect(run.items).toBe(1);
    await eventually(async () => expect(await all('SettlementCompleted')).toHaveLength(1), 30_000, 100);
  }, 180_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  it('the run issues two invoices for the one metering point, one per customer', async () => {
    const data = (await all('SettlementCompleted'))[0]!.data as unknown as SettlementCompleted;
    expect(data).toMatchObject({ items: 1, invoiced: 1, halted: 0 });
    const outcomes = await infra.pool.query(`SELECT gsrn, outcome, invoice_ids FROM settlement.run_items`);
    expect(outcomes.rows).toEqual([{ gsrn: MP, outcome: 'invoiced', invoice_ids: [invoiceIdOf(MP, PERIOD, A), invoiceIdOf(MP, PERIOD, B)] }]);
    expect((await all('InvoiceIssued')).map((e) => (e.data as unknown as InvoiceIssued).customerId).sort()).toEqual([A, B].sort());
  });

  it("A is billed 1–14 October on A's product (336 kWh; subscriptions for 14 of 31 days)", async () => {
    // energy 336 × 1.05 = 352.80; grid 336 × 0.30 = 100.80; system 23.52; transmission 13.44; tax 336 × 0.90 = 302.40;
    // grid 30 × 14/31 = 13.548… → 13.55; system 15 × 14/31 = 6.774… → 6.77; product 39 × 14/31 = 17.612… → 17.61.
    expect(rows(await invoiceOf(A))).toEqual([
      ['energy', '336.000', '352.80'],
      ['grid-tariff', '336.000', '100.80'],
      ['system-tariff', '336.000', '23.52'],
      ['transmission-tariff', '336.000', '13.44'],
      ['electricity-tax', '336.000', '302.40'],
      ['grid-subscription:2026-10', null, '13.55'],
      ['system-subscription:2026-10', null, '6.77'],
      ['product-subscription:2026-10', null, '17.61'],
    ]);
  });

  it("B is billed 15–31 October on B's product with B's electric heating (409 kWh: the 25th has 25 hours; subscriptions for 17 of 31 days)", async () => {
    // energy 409 × 1.10 = 449.90; grid 122.70; system 28.63; transmission 16.36; B's threshold 4,000 × 78/365 = 854.795 kWh, year to
    // date 0 (A's days are not B's): all 409 kWh at the normal rate, 409 × 0.90 = 368.10; grid 30 × 17/31 = 16.451… → 16.45;
    // system 15 × 17/31 = 8.225… → 8.23; product 29 × 17/31 = 15.903… → 15.90.
    expect(rows(await invoiceOf(B))).toEqual([
      ['energy', '409.000', '449.90'],
      ['grid-tariff', '409.000', '122.70'],
      ['system-tariff', '409.000', '28.63'],
      ['transmission-tariff', '409.000', '16.36'],
      ['electricity-tax', '409.000', '368.10'],
      ['grid-subscription:2026-10', null, '16.45'],
      ['system-subscription:2026-10', null, '8.23'],
      ['product-subscription:2026-10', null, '15.90'],
    ]);
  });

  it("a corrected day in A's part corrects A's invoice only", async () => {
    await send('RecordMeteredData', meteredPayload(MP, 'oct-10-v2', '2026-10-10', '2026-10-11', () => '2.000'));
    const note = await eventually(async () => {
      const notes = await all('SettlementCorrectionIssued');
      if (notes.length !== 1) throw new Error(`${notes.length} notes`);
      return notes[0]!.data as unknown as SettlementCorrectionIssued;
    }, 20_000, 100);
    expect(note).toMatchObject({ invoiceId: invoiceIdOf(MP, PERIOD, A), customerId: A, noteType: 'debit' });
    // +24 kWh on 10 October: energy 24 × 1.05 = 25.20.
    expect(note.lines.find((l) => l.kind === 'energy')).toMatchObject({ quantityKwh: '24.000', amountExclVat: '25.20' });
    await new Promise((r) => setTimeout(r, 500));
    expect(await all('SettlementCorrectionIssued')).toHaveLength(1);
  });

  const notes = async () => (await all('SettlementCorrectionIssued')).map((e) => e.data as unknown as SettlementCorrectionIssued);
  const nth = (n: number) =>
    eventually(async () => {
      const found = await notes();
      if (found.length !== n) throw new Error(`${found.length} notes`);
      return found[n - 1]!;
    }, 20_000, 100);
  const noteRows = (note: SettlementCorrectionIssued) => note.lines.map((l) => [l.key, l.quantityKwh, l.amountExclVat]);

  it("a new margin of B's product from 20 October corrects B's invoice only (cause price)", async () => {
    await append('product-fixed', 'rates', 'ProductDefined', { productId: 'fixed', name: 'Fast', marginDkkPerKwh: '0.20', monthlySubscriptionDkk: '29.00', validFrom: '2026-10-20' });
    const note = await nth(2);
    // 20–31 October: 12 days, 289 hours (the 25th has 25) × 0.10 more = 28.90.
    expect(note).toMatchObject({ invoiceId: invoiceIdOf(MP, PERIOD, B), cause: 'price', noteType: 'debit' });
    expect(noteRows(note)).toEqual([['energy', '0.000', '28.90']]);
  });

  it("B's move-out reported after invoicing (last day 24 October) credits B's days from the 25th and shrinks B's electric-heating threshold (cause supply-changed)", async () => {
    await append(`metering-point-${MP}`, 'portfolio', 'SupplyEnded', { gsrn: MP, endDate: '2026-10-25', reason: 'move-out', at: '2026-11-10T10:00:00.000Z' });
    const note = await nth(3);
    expect(note).toMatchObject({ invoiceId: invoiceIdOf(MP, PERIOD, B), customerId: B, cause: 'supply-changed', noteType: 'credit' });
    // 25–31 October = 169 hours fewer, all at the margin 0.20 from the 20th: energy 169 × 1.20 = 202.80;
    // grid 169 × 0.30 = 50.70; system 11.83; transmission 6.76. B now 15–24 October (240 kWh): threshold 4,000 × 10/365 =
    // 109.589 kWh, so 109.589 at 0.90 = 98.63 (was 409 × 0.90 = 368.10: −269.47) and 130.411 at 0.01 = 1.30 (new).
    // Subscriptions for 10 of 31 days: grid 9.68 (was 16.45), system 4.84 (8.23), product 29 × 10/31 = 9.35 (15.90).
    expect(noteRows(note)).toEqual([
      ['energy', '-169.000', '-202.80'],
      ['grid-tariff', '-169.000', '-50.70'],
      ['system-tariff', '-169.000', '-11.83'],
      ['transmission-tariff', '-169.000', '-6.76'],
      ['electricity-tax', '-299.411', '-269.47'],
      ['grid-subscription:2026-10', null, '-6.77'],
      ['system-subscription:2026-10', null, '-3.39'],
      ['product-subscription:2026-10', null, '-6.55'],
      // A line the issued invoice did not have comes last.
      ['electricity-tax-reduced', '130.411', '1.30'],
    ]);
    // A's invoice is untouched.
    expect((await notes()).filter((n) => n.customerId === A)).toHaveLength(1);
  });
});
