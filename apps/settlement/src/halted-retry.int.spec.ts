import { randomUUID } from 'node:crypto';
import { localDayIntervals, localDayStart } from '@dh/dk-time';
import type { JsonObject } from '@dh/event-store';
import type { CommandClient } from '@dh/messaging';
import type { Infrastructure } from '@dh/platform';
import { invoiceIdOf, type InvoiceIssued, type SettlementCompleted } from '@dh/settlement-application';
import type { SettlementRuntime } from '@dh/settlement-infra';
import { eventually } from '@dh/testing';
import {
  PUBLISHED,
  RADIUS,
  days,
  gsrn,
  meteredPayload,
  seedFlatSpotPrices,
  seedRadiusGridArea,
  seedTaxAndSpotProduct,
  settlementTestHelpers,
  startSettlementTestService,
  type SettlementTestService,
} from './testing/settlement-test-support';

/**
 * Issue 9: halted items are listed with their reason and re-tried automatically when the missing input arrives.
 * MPQ misses one quarter-hour (its RSM-012 of that day comes later), MPP is in DK1 where the spot prices of
 * 20 October come later; MP1 settles at once. Each missing input, once recorded, gets its point invoiced by a retry
 * run of the period (the runtime's retry pass), exactly once; an unrelated input retries nothing.
 */
const MP1 = gsrn(71);
const MPQ = gsrn(72);
const MPP = gsrn(73);
const PERIOD = { kind: 'month', year: 2026, month: 10 } as const;
const GAP = localDayIntervals('2026-10-10', 'PT15M')[42]!; // 10 October 10:30 local

/** A PT15M RSM-012 series of whole local days, 0.250 kWh a quarter-hour (`missing` left without a quantity). */
function quarterHourPayload(g: string, documentId: string, from: string, toExclusive: string, missing?: Date): JsonObject {
  const quarters = days(from, toExclusive).flatMap((d) => localDayIntervals(d, 'PT15M'));
  return {
    gsrn: g,
    documentId,
    receivedAt: '2026-11-02T08:00:00Z',
    resolution: 'PT15M',
    start: localDayStart(from).toISOString(),
    end: localDayStart(toExclusive).toISOString(),
    points: quarters.map((q, i) => (q.getTime() === missing?.getTime() ? { position: i + 1, quantityKwh: null, quality: 'A02' } : { position: i + 1, quantityKwh: '0.250', quality: 'A04' })),
  };
}

describe('settlement: halted items are listed and retried automatically when the missing input arrives', () => {
  let service: SettlementTestService;
  let infra: Infrastructure;
  let runtime: SettlementRuntime;
  let commands: CommandClient;
  const helpers = settlementTestHelpers(() => infra, () => commands);
  const { append, send, count, all } = helpers;
  const supply = (g: string, customerId: string, gridArea: string, priceArea: string) =>
    append(`metering-point-${g}`, 'portfolio', 'SupplyStarted', {
      gsrn: g,
      processId: randomUUID(),
      customerId,
      startDate: '2026-01-01',
      productId: 'spot',
      gridArea,
      priceArea,
      billingFrequency: 'monthly',
      paymentModel: 'actual',
      electricHeating: false,
      productionGsrn: null,
      at: '2025-12-01T10:00:00.000Z',
    });
  const dk1Spot = (day: string) =>
    append(`spot-prices-DK1-${day}`, 'rates', 'SpotPricesPublished', {
      priceArea: 'DK1',
      deliveryDate: day,
      resolution: 'PT1H',
      source: 'test',
      version: 1,
      publishedAt: PUBLISHED,
      prices: localDayIntervals(day, 'PT1H').map((h) => ({ start: h.toISOString(), dkkPerMwh: '1000', dkkPerKwh: '1.00' })),
    });
  const runs = async () =>
    (await infra.pool.query<{ seq: number; scope: string; items_total: number; invoiced: number; halted: number; completed: boolean }>(`SELECT seq, scope, items_total, invoiced, halted, completed FROM settlement.runs ORDER BY seq`)).rows;
  const invoicesOf = async (g: string, customerId: string) => (await infra.eventStore.readStream(`invoice-${invoiceIdOf(g, PERIOD, customerId)}`)).filter((e) => e.type === 'InvoiceIssued');
  const listed = async () => (await infra.pool.query(`SELECT gsrn, reason FROM read_models.settlement_halted_items WHERE resolved_at IS NULL OR halted_at > resolved_at ORDER BY gsrn`)).rows;

  beforeAll(async () => {
    service = await startSettlementTestService('settlement_halt_retry', { projectReadModel: true, runtime: { haltRetry: { intervalMs: 250 } } });
    ({ infra, runtime, commands } = service);
    await seedRadiusGridArea(helpers);
    // Grid area 131 in DK1 with the same (flat) charges.
    await append('grid-area-131', 'rates', 'GridAreaMapped', { gridArea: '131', priceArea: 'DK1', gridCompanyGln: RADIUS, gridTariffChargeId: `${RADIUS}:D03:DT_C_01`, gridSubscriptionChargeId: `${RADIUS}:D01:DA_C_F_01` });
    await seedTaxAndSpotProduct(helpers, { normal: '0.01', reduced: '0.01' });
    await seedFlatSpotPrices(helpers, '2026-10-01', '2026-11-01');
    for (const day of days('2026-10-01', '2026-11-01')) if (day !== '2026-10-20') await dk1Spot(day);
    await supply(MP1, 'customer-1', '791', 'DK2');
    await supply(MPQ, 'customer-q', '791', 'DK2');
    await supply(MPP, 'customer-p', '131', 'DK1');
    await send('RecordMeteredData', meteredPayload(MP1, 'mp1', '2026-10-01', '2026-11-01', () => '1.000'));
    await send('RecordMeteredData', quarterHourPayload(MPQ, 'mpq', '2026-10-01', '2026-11-01', GAP));
    await send('RecordMeteredData', meteredPayload(MPP, 'mpp', '2026-10-01', '2026-11-01', () => '1.000'));
    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data`)).toBe(93);
      expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices`)).toBe(745 + 745 - 24);
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies`)).toBe(3);
      expect(await count(`SELECT count(*) AS n FROM settlement.grid_areas`)).toBe(2);
      expect(await count(`SELECT count(*) AS n FROM settlement.charge_rows`)).toBe(5);
    }, 30_000, 100);
  }, 180_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  it('run 1: the point missing a quarter-hour and the point missing a day of DK1 spot prices halt, listed with their reason', async () => {
    const started = await send<{ runId: string; items: number }>('StartSettlementRun', { period: PERIOD });
    expect(started.items).toBe(3);
    await eventually(async () => expect(await runs()).toEqual([{ seq: 1, scope: 'all', items_total: 3, invoiced: 1, halted: 2, completed: true }]), 30_000, 100);
    const halted = await infra.pool.query(`SELECT gsrn, reason, run_id, series_gsrn, price_area, detail FROM settlement.halted_items ORDER BY gsrn`);
    expect(halted.rows).toEqual([
      { gsrn: MPQ, reason: 'missing-metered-data', run_id: started.runId, series_gsrn: MPQ, price_area: null, detail: { seriesGsrn: MPQ, interval: { start: GAP.toISOString(), end: new Date(GAP.getTime() + 15 * 60_000).toISOString() } } },
      { gsrn: MPP, reason: 'missing-price', run_id: started.runId, series_gsrn: null, price_area: 'DK1', detail: expect.objectContaining({ priceArea: 'DK1' }) },
    ]);
    // Listed in the read model the API serves (GET /api/settlement/halted).
    await eventually(async () => expect(await listed()).toEqual([{ gsrn: MPQ, reason: 'missing-metered-data' }, { gsrn: MPP, reason: 'missing-price' }]), 20_000, 100);
    // Nothing arrived yet: the retry pass finds nothing due and starts nothing.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await runs()).toHaveLength(1);
  });

  it('an unrelated input (more DK2 prices, MP1 data) retries nothing', async () => {
    await send('RecordMeteredData', meteredPayload(MP1, 'mp1-v2', '2026-10-05', '2026-10-06', () => '1.000'));
    await seedFlatSpotPrices(helpers, '2026-11-01', '2026-11-02');
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices`)).toBe(745 + 745 - 24 + 24), 20_000, 100);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await runs()).toHaveLength(1);
  });

  it('the missing quarter-hour arrives (RSM-012, version 2 of the day): a retry run invoices MPQ, exactly once', async () => {
    await send('RecordMeteredData', quarterHourPayload(MPQ, 'mpq-10', '2026-10-10', '2026-10-11'));
    await eventually(async () => expect(await runs()).toEqual([
      { seq: 1, scope: 'all', items_total: 3, invoiced: 1, halted: 2, completed: true },
      { seq: 2, scope: 'retry', items_total: 1, invoiced: 1, halted: 0, completed: true },
    ]), 30_000, 100);
    const issued = await invoicesOf(MPQ, 'customer-q');
    expect(issued).toHaveLength(1);
    // 2,980 quarter-hours (745 hours) × 0.250 kWh.
    expect((issued[0]!.data as unknown as InvoiceIssued).lines.find((l) => l.kind === 'energy')?.quantityKwh).toBe('745.000');
    expect((await infra.pool.query(`SELECT gsrn FROM settlement.halted_items`)).rows).toEqual([{ gsrn: MPP }]);
    expect(await all('SettlementHaltResolved')).toHaveLength(1);
    await eventually(async () => expect(await listed()).toEqual([{ gsrn: MPP, reason: 'missing-price' }]), 20_000, 100);
    expect(await all('InvoiceIssued')).toHaveLength(2);
  });

  it('the missing DK1 spot prices arrive: a retry run invoices MPP, exactly once; then nothing is halted and nothing more runs', async () => {
    await dk1Spot('2026-10-20');
    await eventually(async () => expect((await runs()).map((r) => [r.seq, r.scope, r.items_total, r.invoiced, r.halted, r.completed])).toEqual([
      [1, 'all', 3, 1, 2, true],
      [2, 'retry', 1, 1, 0, true],
      [3, 'retry', 1, 1, 0, true],
    ]), 30_000, 100);
    expect(await invoicesOf(MPP, 'customer-p')).toHaveLength(1);
    expect(await all('InvoiceIssued')).toHaveLength(3);
    expect(await count(`SELECT count(*) AS n FROM settlement.halted_items`)).toBe(0);
    await eventually(async () => expect(await listed()).toEqual([]), 20_000, 100);
    const completed = (await all('SettlementCompleted')).map((e) => e.data as unknown as SettlementCompleted);
    expect(completed.map((c) => [c.items, c.invoiced, c.halted])).toEqual([
      [3, 1, 2],
      [1, 1, 0],
      [1, 1, 0],
    ]);
    // A later start has nothing left; the retry pass has nothing due.
    expect(await send('StartSettlementRun', { period: PERIOD })).toMatchObject({ seq: 3, alreadyStarted: true, completed: true });
    const pass = await runtime.haltRetries.pass(); // null: the timer's pass held the lock just then
    expect(pass === null || pass.length === 0).toBe(true);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await runs()).toHaveLength(3);
    expect(await count(`SELECT count(*) AS n FROM settlement.halt_retry_requests`)).toBe(0);
  });
});
