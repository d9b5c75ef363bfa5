import { Pool } from 'pg';
import type { CommandClient } from '@dh/messaging';
import type { Infrastructure } from '@dh/platform';
import { invoiceIdOf, type SettlementCompleted } from '@dh/settlement-application';
import { DEFAULT_RUN_SCHEDULE, runSchedulePass, scheduledRunId, type SchedulerDeps, type SlotOutcome } from '@dh/settlement-infra';
import { eventually } from '@dh/testing';
import { gsrn, meteredPayload, seedFlatSpotPrices, seedRadiusGridArea, seedTaxAndSpotProduct, settlementTestHelpers, startSettlementTestService, type SettlementTestService } from './testing/settlement-test-support';

/** A monthly supply with October's data and prices, and a quarterly one, both from 1 October 2026. */
const MONTHLY = gsrn(61);
const QUARTERLY = gsrn(62);
/** A move-in on 20 October reported after October's first run. */
const LATE = gsrn(63);
const OCTOBER = { kind: 'month', year: 2026, month: 10 } as const;
// October closes on Saturday 31 October; 5 business days later (Friday 6 November) the data deadline has passed at midnight.
const OCTOBER_DUE = '2026-11-06T23:00:00.000Z';
// Q4 2026 closes on Thursday 31 December; New Year's Day and a weekend, then 4–8 January: due Saturday 9 January 00:00 CET.
const Q4_DUE = '2027-01-08T23:00:00.000Z';

describe('settlement runs on the business clock: started when due, never before, once whatever the schedulers', () => {
  let service: SettlementTestService;
  let infra: Infrastructure;
  let commands: CommandClient;
  let now = new Date('2026-11-01T12:00:00.000Z');
  // Inputs occur on the test's business clock: prices and products known before the runs' asOf.
  const helpers = settlementTestHelpers(() => infra, () => commands, { now: () => now });
  const { append, send, count, all } = helpers;
  const scheduler = (pool: Pool = infra.pool): SchedulerDeps => ({ store: infra.eventStore, pool, now: () => now, settings: DEFAULT_RUN_SCHEDULE });
  const runsOf = async (label: string) => (await infra.pool.query<{ run_id: string }>(`SELECT run_id FROM settlement.runs WHERE period_label = $1 ORDER BY as_of`, [label])).rows.map((r) => r.run_id);
  const of = (outcomes: SlotOutcome[] | null, label: string) => (outcomes ?? []).filter((o) => o.period === label);

  beforeAll(async () => {
    service = await startSettlementTestService('settlement_schedule');
    ({ infra, commands } = service);
    await seedRadiusGridArea(helpers);
    await seedTaxAndSpotProduct(helpers, { normal: '0.90', reduced: '0.01' });
    await seedFlatSpotPrices(helpers, '2026-10-01', '2026-11-01');
    const supply = (g: string, customerId: string, billingFrequency: string) =>
      append(`supply-${g}`, 'portfolio', 'SupplyStarted', { gsrn: g, customerId, startDate: '2026-10-01', productId: 'spot', electricHeating: false, gridArea: '791', billingFrequency, paymentModel: 'actual' });
    await supply(MONTHLY, 'customer-m', 'monthly');
    await supply(QUARTERLY, 'customer-q', 'quarterly');
    await send('RecordMeteredData', meteredPayload(MONTHLY, 'oct-m', '2026-10-01', '2026-11-01', () => '1.000'));
    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies`)).toBe(2);
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data`)).toBe(31);
      expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices`)).toBe(745);
      expect(await count(`SELECT count(*) AS n FROM settlement.charge_rows`)).toBe(5);
    }, 30_000, 100);
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  it('a millisecond before October’s data deadline has passed, nothing starts (September and Q3 had no supply: nothing to settle)', async () => {
    now = new Date(new Date(OCTOBER_DUE).getTime() - 1);
    const outcomes = await runSchedulePass(scheduler());
    expect(of(outcomes, '2026-10')).toEqual([]);
    expect(of(outcomes, '2026-09').map((o) => o.outcome)).toEqual(['nothing-to-settle']);
    expect(of(outcomes, '2026-Q3').map((o) => o.outcome)).toEqual(['nothing-to-settle']);
    expect(await count(`SELECT count(*) AS n FROM settlement.runs`)).toBe(0);
  });

  it('at the deadline October’s run starts (the monthly supply only), with the slot’s run id, and completes', async () => {
    now = new Date(OCTOBER_DUE);
    const outcomes = await runSchedulePass(scheduler());
    const runId = scheduledRunId(OCTOBER, '2026-11-07');
    expect(of(outcomes, '2026-10')).toEqual([{ period: '2026-10', slot: 0, day: '2026-11-07', outcome: 'started', runId, items: 1, alreadyStarted: false }]);
    expect(await runsOf('2026-10')).toEqual([runId]);
    expect(await runsOf('2026-Q4')).toEqual([]);
    const completed = await eventually(async () => {
      const found = (await all('SettlementCompleted')).map((e) => e.data as unknown as SettlementCompleted).filter((c) => c.runId === runId);
      if (found.length !== 1) throw new Error('not completed yet');
      return found[0]!;
    }, 30_000, 100);
    expect(completed).toMatchObject({ items: 1, invoiced: 1, halted: 0 });
    // SettlementCompleted is appended inside the worker's transaction: its invoice index row is there once that commits.
    await eventually(async () => expect((await infra.pool.query(`SELECT invoice_id FROM settlement.invoices`)).rows).toEqual([{ invoice_id: invoiceIdOf(MONTHLY, OCTOBER, 'customer-m') }]), 30_000, 100);
  });

  it('a second pass (a restart) starts nothing again; the next day every supply is invoiced: no later run', async () => {
    expect(of(await runSchedulePass(scheduler()), '2026-10')).toEqual([]);
    now = new Date('2026-11-07T23:00:00.000Z');
    expect(of(await runSchedulePass(scheduler()), '2026-10')).toEqual([{ period: '2026-10', slot: 1, day: '2026-11-08', outcome: 'nothing-to-settle' }]);
    expect(await runsOf('2026-10')).toHaveLength(1);
    expect((await all('SettlementRunStarted')).filter((e) => e.data.periodLabel === '2026-10')).toHaveLength(1);
  });

  it('a late move-in reported after the first run is settled by the next scheduled run (run 2 of October: only that supply)', async () => {
    now = new Date('2026-11-08T10:00:00.000Z');
    await append(`supply-${LATE}`, 'portfolio', 'SupplyStarted', { gsrn: LATE, customerId: 'customer-late', startDate: '2026-10-20', productId: 'spot', electricHeating: false, gridArea: '791', billingFrequency: 'monthly', paymentModel: 'actual' });
    await send('RecordMeteredData', meteredPayload(LATE, 'oct-late', '2026-10-20', '2026-11-01', () => '1.000'));
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM settlement.metered_data WHERE gsrn = '${LATE}'`)).toBe(12), 30_000, 100);
    now = new Date('2026-11-08T23:00:00.000Z');
    const runId = scheduledRunId(OCTOBER, '2026-11-09');
    expect(of(await runSchedulePass(scheduler()), '2026-10')).toEqual([{ period: '2026-10', slot: 2, day: '2026-11-09', outcome: 'started', runId, items: 1, alreadyStarted: false }]);
    const completed = await eventually(async () => {
      const found = (await all('SettlementCompleted')).map((e) => e.data as unknown as SettlementCompleted).filter((c) => c.runId === runId);
      if (found.length !== 1) throw new Error('not completed yet');
      return found[0]!;
    }, 30_000, 100);
    expect(completed).toMatchObject({ items: 1, invoiced: 1, halted: 0 });
    expect(await runsOf('2026-10')).toEqual([scheduledRunId(OCTOBER, '2026-11-07'), runId]);
    const [late] = (await infra.eventStore.readStream(`invoice-${invoiceIdOf(LATE, OCTOBER, 'customer-late')}`)).filter((e) => e.type === 'InvoiceIssued');
    expect(late?.data).toMatchObject({ runId, customerId: 'customer-late', periodLabel: '2026-10' });
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM settlement.invoices WHERE period_label = '2026-10'`)).toBe(2), 30_000, 100);
    // The day after: everything is invoiced again.
    now = new Date('2026-11-09T23:00:00.000Z');
    expect(of(await runSchedulePass(scheduler()), '2026-10').map((o) => o.outcome)).toEqual(['nothing-to-settle']);
  });

  it('the quarter starts only after its own deadline; two schedulers in two processes at once start each due period once', async () => {
    now = new Date(new Date(Q4_DUE).getTime() - 1);
    const before = await runSchedulePass(scheduler());
    expect(of(before, '2026-Q4')).toEqual([]);
    expect(await runsOf('2026-Q4')).toEqual([]);
    // November (due 8 December) has started meanwhile (the monthly supply goes on); let it finish before the race.
    expect(of(before, '2026-11').map((o) => o.outcome)).toEqual(['started']);
    await eventually(async () => expect((await all('SettlementCompleted')).filter((e) => e.data.periodLabel === '2026-11')).toHaveLength(1), 30_000, 100);

    now = new Date(Q4_DUE);
    const other = new Pool({ connectionString: service.db.url, max: 4 });
    try {
      const [a, b] = await Promise.all([runSchedulePass(scheduler()), runSchedulePass(scheduler(other))]);
      const started = [...of(a, '2026-Q4'), ...of(b, '2026-Q4'), ...of(a, '2026-12'), ...of(b, '2026-12')].filter((o) => o.outcome === 'started');
      expect(started.map((o) => o.period).sort()).toEqual(['2026-12', '2026-Q4']);
      // And again, each from its process: both periods are decided.
      for (const pool of [infra.pool, other]) {
        const again = await runSchedulePass(scheduler(pool));
        expect([...of(again, '2026-Q4'), ...of(again, '2026-12')]).toEqual([]);
      }
    } finally {
      await other.end();
    }
    expect(await runsOf('2026-Q4')).toEqual([scheduledRunId({ kind: 'quarter', year: 2026, quarter: 4 }, '2027-01-09')]);
    expect(await runsOf('2026-12')).toHaveLength(1);
    expect(await runsOf('2026-10')).toHaveLength(2);
    for (const label of ['2026-Q4', '2026-12']) expect((await all('SettlementRunStarted')).filter((e) => e.data.periodLabel === label)).toHaveLength(1);
  });

  it('a scheduler that stopped between recording its intent and starting the run starts the same run id: nothing twice', async () => {
    await eventually(async () => expect((await all('SettlementCompleted')).filter((e) => e.data.periodLabel === '2026-Q4')).toHaveLength(1), 30_000, 100);
    await infra.pool.query(`UPDATE settlement.run_schedule SET outcome = 'starting' WHERE period_label = '2026-Q4'`);
    const outcomes = await runSchedulePass(scheduler());
    expect(of(outcomes, '2026-Q4')).toEqual([expect.objectContaining({ outcome: 'started', runId: scheduledRunId({ kind: 'quarter', year: 2026, quarter: 4 }, '2027-01-09'), alreadyStarted: true })]);
    expect(await runsOf('2026-Q4')).toHaveLength(1);
    expect((await all('SettlementRunStarted')).filter((e) => e.data.periodLabel === '2026-Q4')).toHaveLength(1);
  });
});
