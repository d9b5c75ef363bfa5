import type { PoolClient } from 'pg';
import type { CommandClient } from '@dh/messaging';
import type { Infrastructure } from '@dh/platform';
import { invoiceIdOf, type InvoiceIssued, type SettlementCompleted } from '@dh/settlement-application';
import { runSchedulePass, runStalledSince, startSettlementRun, type RunDeps, type StartRunReply } from '@dh/settlement-infra';
import { eventually } from '@dh/testing';
import { gsrn, meteredPayload, seedFlatSpotPrices, seedRadiusGridArea, seedTaxAndSpotProduct, startSpotSupply, settlementTestHelpers, startSettlementTestService, type SettlementTestService } from './testing/settlement-test-support';

const MPA = gsrn(81); // its item of run 1 is held (no progress): run 1 stalls
const MPB = gsrn(82);
const MPC = gsrn(83);
const CUSTOMER = { [MPA]: 'customer-a-81', [MPB]: 'customer-b-82', [MPC]: 'customer-c-83' } as Record<string, string>;
const PERIOD = { kind: 'month', year: 2026, month: 10 } as const;
const STALLED_AFTER_MS = 30 * 60_000;
const minutes = (n: number) => n * 60_000;

/**
 * Issue 9: a run that never completes does not block the later runs of its period. Run 1's item of MPA is held in
 * its transaction (an uncommitted row of its invoice index), so run 1 makes no progress after MPB and MPC. While the
 * stall is younger than the setting, a start answers run 1; after it (on the business clock), a start creates run 2
 * with the point not invoiced; the scheduler likewise starts instead of waiting. The held worker of run 1 is then let
 * go (its transaction ends without committing, as a worker that died), run 2 issues MPA's invoice, and run 1's item,
 * redelivered, finishes late: it finds the invoice and counts it. Exactly one invoice per customer supply.
 */
describe('settlement: a stalled run does not block later runs of its period, and nothing is invoiced twice', () => {
  let service: SettlementTestService;
  let infra: Infrastructure;
  let commands: CommandClient;
  let blocker: PoolClient | undefined;
  const helpers = settlementTestHelpers(() => infra, () => commands);
  const { send, count, all } = helpers;
  const deps = (): RunDeps => ({ store: infra.eventStore, pool: infra.pool, stalledAfterMs: STALLED_AFTER_MS });
  const start = (now: Date, runId?: string): Promise<StartRunReply> =>
    startSettlementRun(deps(), { period: '2026-10', ...(runId ? { runId } : {}) }, { correlationId: 'stalled-run-test', causationId: null, actor: 'test', now });
  const lockWaits = async (sql: string): Promise<number> => count(`SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database() AND ${sql}`);
  const runs = async () =>
    (await infra.pool.query<{ seq: number; items_total: number; invoiced: number; halted: number; completed: boolean }>(`SELECT seq, items_total, invoiced, halted, completed FROM settlement.runs ORDER BY seq`)).rows;
  const issuedFor = async (g: string) => (await infra.eventStore.readStream(`invoice-${invoiceIdOf(g, PERIOD, CUSTOMER[g]!)}`)).filter((e) => e.type === 'InvoiceIssued');
  let t0: Date;
  let run1: StartRunReply;
  let run2: StartRunReply;

  beforeAll(async () => {
    // One item per worker transaction, so the held item holds back only itself.
    service = await startSettlementTestService('settlement_stalled_run', { runtime: { workers: 2, workBatchSize: 1 } });
    ({ infra, commands } = service);
    await seedRadiusGridArea(helpers);
    await seedTaxAndSpotProduct(helpers, { normal: '0.008', reduced: '0.008' });
    await seedFlatSpotPrices(helpers, '2026-10-01', '2026-11-01');
    for (const g of [MPA, MPB, MPC]) {
      await startSpotSupply(helpers, g, CUSTOMER[g]!);
      await send('RecordMeteredData', meteredPayload(g, `oct-${g}`, '2026-10-01', '2026-11-01', () => '1.000'));
    }
    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data`)).toBe(93);
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies`)).toBe(3);
      expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices`)).toBe(745);
      expect(await count(`SELECT count(*) AS n FROM settlement.charge_rows`)).toBe(5);
      expect(await count(`SELECT count(*) AS n FROM settlement.products`)).toBe(1);
    }, 30_000, 100);
  }, 180_000);

  afterAll(async () => {
    await blocker?.query('ROLLBACK').catch(() => undefined);
    blocker?.release();
    await service?.stop();
  }, 60_000);

  it('run 1 stalls: MPB and MPC are invoiced, MPA’s item is held in its transaction', async () => {
    blocker = await infra.pool.connect();
    await blocker.query('BEGIN');
    await blocker.query(
      `INSERT INTO settlement.invoices (invoice_id, gsrn, production_gsrn, customer_id, period_label, period_from, period_to, price_area, grid_area) VALUES ($1,$2,NULL,$3,'2026-10','2026-10-01','2026-11-01','DK2','791')`,
      [invoiceIdOf(MPA, PERIOD, CUSTOMER[MPA]!), MPA, CUSTOMER[MPA]],
    );
    t0 = new Date();
    run1 = await start(t0);
    expect(run1).toMatchObject({ seq: 1, items: 3, alreadyStarted: false });
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM settlement.run_items WHERE outcome = 'invoiced'`)).toBe(2), 30_000, 100);
    await eventually(async () => expect(await lockWaits(`query LIKE '%INSERT INTO settlement.invoices%'`)).toBe(1), 30_000, 100);
    expect((await runs())[0]).toMatchObject({ seq: 1, completed: false });
  });

  it('while its last progress is younger than the setting, a start answers run 1', async () => {
    const now = new Date(t0.getTime() + minutes(10));
    expect(await runStalledSince(infra.pool, run1.runId, now, STALLED_AFTER_MS)).toBeNull();
    expect(await start(now)).toMatchObject({ runId: run1.runId, seq: 1, alreadyStarted: true, completed: false });
    expect(await runs()).toHaveLength(1);
  });

  it('after the setting on the business clock without progress, a start creates run 2 with only MPA', async () => {
    const now = new Date(t0.getTime() + STALLED_AFTER_MS + minutes(1));
    const since = await runStalledSince(infra.pool, run1.runId, now, STALLED_AFTER_MS);
    expect(since).not.toBeNull();
    expect(since!.getTime()).toBeGreaterThanOrEqual(t0.getTime());
    run2 = await start(now);
    expect(run2).toMatchObject({ seq: 2, items: 1, alreadyStarted: false });
    // A second start while run 2 runs answers run 2 (its progress is fresh).
    expect(await start(new Date(now.getTime() + minutes(1)))).toMatchObject({ runId: run2.runId, seq: 2, alreadyStarted: true });
    expect((await runs()).map((r) => [r.seq, r.items_total])).toEqual([
      [1, 3],
      [2, 1],
    ]);
  });

  it('run 1’s held worker dies, run 2 issues MPA’s invoice, run 1’s item finishes late: one invoice per customer supply', async () => {
    // Run 2's item waits on MPA's lock that run 1's held item has; end that transaction as a dying worker's ends.
    await eventually(async () => expect(await lockWaits(`query LIKE '%pg_advisory_xact_lock%'`)).toBe(1), 30_000, 100);
    const held = await infra.pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database() AND query LIKE '%INSERT INTO settlement.invoices%'`);
    expect(held.rows).toHaveLength(1);
    await infra.pool.query(`SELECT pg_terminate_backend($1)`, [held.rows[0]!.pid]);
    await blocker!.query('ROLLBACK');
    blocker!.release();
    blocker = undefined;

    await eventually(async () => expect((await runs()).map((r) => [r.seq, r.items_total, r.invoiced, r.halted, r.completed])).toEqual([
      [1, 3, 3, 0, true],
      [2, 1, 1, 0, true],
    ]), 60_000, 200);
    for (const g of [MPA, MPB, MPC]) expect(await issuedFor(g)).toHaveLength(1);
    expect(await all('InvoiceIssued')).toHaveLength(3);
    expect(await count(`SELECT count(*) AS n FROM settlement.invoices WHERE period_label = '2026-10'`)).toBe(3);
    // Both runs count MPA's one invoice: run 1's late item found it issued.
    const items = (await infra.pool.query<{ seq: number; outcome: string; invoice_ids: string[] }>(
      `SELECT r.seq, i.outcome, i.invoice_ids FROM settlement.run_items i JOIN settlement.runs r ON r.run_id = i.run_id WHERE i.gsrn = $1 ORDER BY r.seq`,
      [MPA],
    )).rows;
    expect(items).toEqual([
      { seq: 1, outcome: 'invoiced', invoice_ids: [invoiceIdOf(MPA, PERIOD, CUSTOMER[MPA]!)] },
      { seq: 2, outcome: 'invoiced', invoice_ids: [invoiceIdOf(MPA, PERIOD, CUSTOMER[MPA]!)] },
    ]);
    const completed = (await all('SettlementCompleted')).map((e) => e.data as unknown as SettlementCompleted);
    expect(completed.map((c) => [c.items, c.invoiced, c.halted]).sort()).toEqual([
      [1, 1, 0],
      [3, 3, 0],
    ]);
    // Run 2 issued it (run 1's worker was gone by then), on October's 745 kWh.
    const mpa = (await issuedFor(MPA))[0]!.data as unknown as InvoiceIssued;
    expect(mpa.runId).toBe(run2.runId);
    expect(mpa.lines.find((l) => l.kind === 'energy')).toMatchObject({ quantityKwh: '745.000' });
    // Nothing left: a later start answers run 2.
    expect(await start(new Date(t0.getTime() + minutes(120)))).toMatchObject({ seq: 2, alreadyStarted: true, completed: true });
  });

  it('the scheduler: a stalled latest run no longer makes a due slot wait', async () => {
    // A run 3 that never gets a batch scheduled nor an item done (its row only), started at t0 + 3 h.
    const stuck = new Date(t0.getTime() + minutes(180));
    await infra.pool.query(`INSERT INTO settlement.runs (run_id, period_label, seq, scope, period, as_of, scheduled) VALUES ($1, '2026-10', 3, 'all', $2, $3, true)`, [
      'cccccccc-0000-4000-8000-000000000003',
      JSON.stringify(PERIOD),
      stuck,
    ]);
    // Lookback from the test's clock back to October's first run (due 7 November 2026).
    const lookbackDays = Math.ceil((stuck.getTime() - Date.parse('2026-11-06T23:00:00Z')) / 86_400_000) + 1;
    const scheduler = (now: Date) => ({ ...deps(), now: () => now, settings: { dataDeadlineBusinessDays: 5, laterRunDays: 10, lookbackDays } });
    const october = async (now: Date) => ((await runSchedulePass(scheduler(now))) ?? []).filter((o) => o.period === '2026-10');
    expect(await october(new Date(stuck.getTime() + minutes(5)))).toEqual([expect.objectContaining({ outcome: 'waiting', runId: 'cccccccc-0000-4000-8000-000000000003' })]);
    // Stalled: the slot is decided instead of waiting (here nothing is left to settle: every supply is invoiced).
    expect(await october(new Date(stuck.getTime() + STALLED_AFTER_MS + minutes(1)))).toEqual([expect.objectContaining({ outcome: 'nothing-to-settle' })]);
  });
});
