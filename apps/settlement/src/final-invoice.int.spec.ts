import { randomUUID } from 'node:crypto';
import type { CommandClient } from '@dh/messaging';
import type { Clock, Infrastructure } from '@dh/platform';
import { invoiceIdOf, nameBasedUuid, type InvoiceIssued, type SettlementCompleted } from '@dh/settlement-application';
import type { SettlementRuntime } from '@dh/settlement-infra';
import { eventually } from '@dh/testing';
import { gsrn, meteredPayload, seedFlatSpotPrices, seedRadiusGridArea, seedTaxAndSpotProduct, settlementTestHelpers, startSettlementTestService, type SettlementTestService } from './testing/settlement-test-support';

/** One metering point, two of our customers in October 2026: A moves out (last day the 14th), B moves in on the 15th. */
const MP = gsrn(71);
/** A supply ending on 20 October whose data is complete before the end is reported. */
const EARLY = gsrn(72);
/** A supply ended and then reversed (BRS-003) before its data arrived. */
const REVERSED = gsrn(73);
/** A supply ending on 10 November, before November's spot prices are known. */
const NOVEMBER = gsrn(74);
const A = 'c1a1a1a1-0000-4000-8000-000000000071';
const B = 'c2b2b2b2-0000-4000-8000-000000000071';
const OCTOBER = { kind: 'month', year: 2026, month: 10 } as const;

class FixedClock implements Clock {
  constructor(public current: Date) {}
  now(): Date {
    return new Date(this.current.getTime());
  }
  close(): void {}
}

describe('final invoice at supply end: issued once the data is there, before the run, which then issues nothing for it', () => {
  let service: SettlementTestService;
  let infra: Infrastructure;
  let runtime: SettlementRuntime;
  let commands: CommandClient;
  const clock = new FixedClock(new Date('2026-12-01T08:00:00.000Z'));
  const helpers = settlementTestHelpers(() => infra, () => commands, { now: () => clock.now() });
  const { append, send, count, all } = helpers;
  const issuedOf = async (invoiceId: string): Promise<InvoiceIssued[]> =>
    (await infra.eventStore.readStream(`invoice-${invoiceId}`)).filter((e) => e.type === 'InvoiceIssued').map((e) => e.data as unknown as InvoiceIssued);
  const stateOf = async (invoiceId: string) =>
    (await infra.pool.query<{ state: string; last_reason: string | null }>(`SELECT state, last_reason FROM settlement.final_invoices WHERE invoice_id = $1`, [invoiceId])).rows[0];
  const rows = (invoice: InvoiceIssued) => invoice.lines.map((l) => [l.key, l.quantityKwh, l.amountExclVat]);
  const started = (g: string, customerId: string, startDate: string, productId: string, electricHeating: boolean) =>
    append(`metering-point-${g}`, 'portfolio', 'SupplyStarted', {
      gsrn: g,
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
  const ended = (g: string, customerId: string, endDate: string, reason: string) =>
    append(`metering-point-${g}`, 'portfolio', 'SupplyEnded', { gsrn: g, processId: randomUUID(), customerId, endDate, reason, at: '2026-10-01T10:00:00.000Z' });

  beforeAll(async () => {
    service = await startSettlementTestService('settlement_final');
    ({ infra, runtime, commands } = service);
    infra.clock = clock;
    await seedRadiusGridArea(helpers);
    await seedTaxAndSpotProduct(helpers, { normal: '0.90', reduced: '0.01' });
    await append('product-fixed', 'rates', 'ProductDefined', { productId: 'fixed', name: 'Fast', marginDkkPerKwh: '0.10', monthlySubscriptionDkk: '29.00', validFrom: '2026-01-01' });
    await seedFlatSpotPrices(helpers, '2026-10-01', '2026-11-01');
    await started(MP, A, '2026-01-01', 'spot', false);
    await send('RecordMeteredData', meteredPayload(MP, 'oct-1-10', '2026-10-01', '2026-10-11', () => '1.000'));
    await ended(MP, A, '2026-10-15', 'move-out');
    await started(MP, B, '2026-10-15', 'fixed', true);
    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies`)).toBe(2);
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data`)).toBe(10);
      expect(await count(`SELECT count(*) AS n FROM settlement.products`)).toBe(2);
      expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices`)).toBe(745);
      expect(await count(`SELECT count(*) AS n FROM settlement.charge_rows`)).toBe(5);
      expect(await count(`SELECT count(*) AS n FROM settlement.tax_rates`)).toBe(1);
    }, 30_000, 100);
  }, 180_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  it("A's move-out with data only up to the 10th: the final invoice waits (missing metered data), nothing is issued", async () => {
    await eventually(async () => expect(await stateOf(invoiceIdOf(MP, OCTOBER, A))).toEqual({ state: 'pending', last_reason: 'missing-metered-data' }), 20_000, 100);
    expect(await all('InvoiceIssued')).toEqual([]);
  });

  it("the rest of October's data arrives: A's final invoice is issued at once, 1–14 October exactly as the run would (and B has none yet)", async () => {
    await send('RecordMeteredData', meteredPayload(MP, 'oct-11-31', '2026-10-11', '2026-11-01', () => '1.000'));
    const invoiceId = invoiceIdOf(MP, OCTOBER, A);
    const [invoice] = await eventually(async () => {
      const found = await issuedOf(invoiceId);
      if (found.length === 0) throw new Error('no final invoice yet');
      return found;
    }, 20_000, 100);
    expect(invoice).toMatchObject({ invoiceId, customerId: A, runId: nameBasedUuid('final-invoice', invoiceId), periodLabel: '2026-10', final: { supplyEndDate: '2026-10-15', reason: 'move-out' } });
    // The same lines as the run's invoice of A in move-between-customers.int.spec.ts.
    expect(rows(invoice!)).toEqual([
      ['energy', '336.000', '352.80'],
      ['grid-tariff', '336.000', '100.80'],
      ['system-tariff', '336.000', '23.52'],
      ['transmission-tariff', '336.000', '13.44'],
      ['electricity-tax', '336.000', '302.40'],
      ['grid-subscription:2026-10', null, '13.55'],
      ['system-subscription:2026-10', null, '6.77'],
      ['product-subscription:2026-10', null, '17.61'],
    ]);
    await eventually(async () => expect(await stateOf(invoiceId)).toEqual({ state: 'issued', last_reason: null }), 20_000, 100);
    expect(await issuedOf(invoiceIdOf(MP, OCTOBER, B))).toEqual([]);
  });

  it("October's run counts A's final invoice as issued and issues nothing for it; B gets their own invoice from the run", async () => {
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM settlement.metered_data WHERE gsrn = '${MP}'`)).toBe(31), 20_000, 100);
    const run = await send<{ runId: string; items: number }>('StartSettlementRun', { period: OCTOBER });
    expect(run.items).toBe(1);
    const completed = await eventually(async () => {
      const found = (await all('SettlementCompleted')).map((e) => e.data as unknown as SettlementCompleted).filter((c) => c.runId === run.runId);
      if (found.length !== 1) throw new Error('not completed yet');
      return found[0]!;
    }, 30_000, 100);
    expect(completed).toMatchObject({ items: 1, invoiced: 1, halted: 0 });
    const outcomes = await infra.pool.query(`SELECT gsrn, outcome, invoice_ids FROM settlement.run_items WHERE run_id = $1`, [run.runId]);
    expect(outcomes.rows).toEqual([{ gsrn: MP, outcome: 'invoiced', invoice_ids: [invoiceIdOf(MP, OCTOBER, A), invoiceIdOf(MP, OCTOBER, B)] }]);
    const a = await issuedOf(invoiceIdOf(MP, OCTOBER, A));
    expect(a).toHaveLength(1);
    expect(a[0]!.final).toBeDefined();
    const b = await issuedOf(invoiceIdOf(MP, OCTOBER, B));
    expect(b.map((i) => [i.customerId, i.runId, i.final])).toEqual([[B, run.runId, undefined]]);
    expect(rows(b[0]!)[0]).toEqual(['energy', '409.000', '449.90']);
  });

  it('a supply whose data is complete when its end is reported is invoiced with the end (end of supply, 1–19 October)', async () => {
    await started(EARLY, 'customer-early', '2026-01-01', 'spot', false);
    await send('RecordMeteredData', meteredPayload(EARLY, 'early-oct', '2026-10-01', '2026-10-20', () => '2.000'));
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM settlement.metered_data WHERE gsrn = '${EARLY}'`)).toBe(19), 20_000, 100);
    expect(await issuedOf(invoiceIdOf(EARLY, OCTOBER, 'customer-early'))).toEqual([]);
    await ended(EARLY, 'customer-early', '2026-10-20', 'end-of-supply');
    const [invoice] = await eventually(async () => {
      const found = await issuedOf(invoiceIdOf(EARLY, OCTOBER, 'customer-early'));
      if (found.length === 0) throw new Error('no final invoice yet');
      return found;
    }, 20_000, 100);
    // 19 days × 24 hours × 2 kWh; energy at 1.00 spot + 0.05 margin.
    expect(rows(invoice!)[0]).toEqual(['energy', '912.000', '957.60']);
    expect(invoice!.final).toEqual({ supplyEndDate: '2026-10-20', reason: 'end-of-supply' });
  });

  it('a supply reversed (an incorrect switch) before its data arrived gets no final invoice', async () => {
    await started(REVERSED, 'customer-reversed', '2026-10-05', 'spot', false);
    await ended(REVERSED, 'customer-reversed', '2026-10-25', 'switched-away');
    const invoiceId = invoiceIdOf(REVERSED, OCTOBER, 'customer-reversed');
    await eventually(async () => expect((await stateOf(invoiceId))?.state).toBe('pending'), 20_000, 100);
    await append(`metering-point-${REVERSED}`, 'portfolio', 'SupplyReversed', { gsrn: REVERSED, processId: randomUUID(), customerId: 'customer-reversed', startDate: '2026-10-05', at: '2026-10-26T10:00:00.000Z' });
    await eventually(async () => expect((await stateOf(invoiceId))?.state).toBe('superseded'), 20_000, 100);
    await send('RecordMeteredData', meteredPayload(REVERSED, 'reversed-oct', '2026-10-05', '2026-10-25', () => '1.000'));
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM settlement.metered_data WHERE gsrn = '${REVERSED}'`)).toBe(20), 20_000, 100);
    expect(await issuedOf(invoiceId)).toEqual([]);
  });

  it("a final invoice waiting for a price is issued by the periodic pass once the price is there (November's spot prices)", async () => {
    await started(NOVEMBER, 'customer-november', '2026-11-01', 'spot', false);
    await send('RecordMeteredData', meteredPayload(NOVEMBER, 'nov-1-9', '2026-11-01', '2026-11-10', () => '1.000'));
    await ended(NOVEMBER, 'customer-november', '2026-11-10', 'move-out');
    const invoiceId = invoiceIdOf(NOVEMBER, { kind: 'month', year: 2026, month: 11 }, 'customer-november');
    await eventually(async () => expect(await stateOf(invoiceId)).toEqual({ state: 'pending', last_reason: 'missing-price' }), 20_000, 100);
    await seedFlatSpotPrices(helpers, '2026-11-01', '2026-11-10');
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices WHERE start >= '2026-10-31T23:00:00Z'`)).toBe(9 * 24), 20_000, 100);
    expect(await issuedOf(invoiceId)).toEqual([]);
    const pass = await runtime.retryFinalInvoices();
    expect(pass).toMatchObject({ issued: 1 });
    const [invoice] = await issuedOf(invoiceId);
    expect(rows(invoice!)[0]).toEqual(['energy', '216.000', '226.80']);
    expect(await runtime.retryFinalInvoices()).toMatchObject({ issued: 0, halted: 0 });
  });
});
