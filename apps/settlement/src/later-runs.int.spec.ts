import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import type { CommandClient } from '@dh/messaging';
import type { Infrastructure } from '@dh/platform';
import { invoiceIdOf, type InvoiceIssued, type SettlementCompleted } from '@dh/settlement-application';
import { migrateSettlement } from '@dh/settlement-infra';
import { createTestDatabase, eventually } from '@dh/testing';
import { gsrn, meteredPayload, seedFlatSpotPrices, seedRadiusGridArea, seedTaxAndSpotProduct, settlementTestHelpers, startSpotSupply, startSettlementTestService, type SettlementTestService } from './testing/settlement-test-support';

/**
 * Issue 9, "every supply billed completely": a period has runs 1, 2, …; a later run settles exactly the
 * customer supplies of the period not yet invoiced (a point halted for a missing hour, a supply registered
 * after the run), and never invoices anything twice.
 */
const MP1 = gsrn(61); // complete: invoiced by run 1
const MP2 = gsrn(62); // 15 October missing: halts in run 1, invoiced by run 2 once the day arrives
const MP3 = gsrn(63); // late move-in: its supply is registered after run 1
const MP4 = gsrn(64); // A until the 14th (final invoice at the move-out, before run 1), B from the 15th registered after run 1 (run 2: B only)
const A = 'customer-a-64';
const B = 'customer-b-64';
const PERIOD = { kind: 'month', year: 2026, month: 10 } as const;

interface StartReply {
  runId: string;
  seq: number;
  items: number;
  alreadyStarted: boolean;
  completed: boolean;
}

describe('settlement: later runs of a period settle what is not yet invoiced, never twice', () => {
  let service: SettlementTestService;
  let infra: Infrastructure;
  let commands: CommandClient;
  const helpers = settlementTestHelpers(() => infra, () => commands);
  const { append, send, count, all } = helpers;
  const supply = (g: string, customerId: string, startDate: string) => startSpotSupply(helpers, g, customerId, { from: startDate, at: '2026-09-01T10:00:00.000Z' });
  const completedOf = async (runId: string): Promise<SettlementCompleted> =>
    eventually(async () => {
      const c = (await all('SettlementCompleted')).map((e) => e.data as unknown as SettlementCompleted).find((d) => d.runId === runId);
      if (c === undefined) throw new Error(`run ${runId} not completed yet`);
      return c;
    }, 30_000, 100);
  const invoicesOf = async (g: string, customerId: string) => (await infra.eventStore.readStream(`invoice-${invoiceIdOf(g, PERIOD, customerId)}`)).filter((e) => e.type === 'InvoiceIssued');

  beforeAll(async () => {
    service = await startSettlementTestService('settlement_later_runs', { projectReadModel: true });
    ({ infra, commands } = service);
    await seedRadiusGridArea(helpers);
    await seedTaxAndSpotProduct(helpers, { normal: '0.01', reduced: '0.01' });
    await seedFlatSpotPrices(helpers, '2026-10-01', '2026-11-01');
    await supply(MP1, 'customer-1', '2026-01-01');
    await supply(MP2, 'customer-2', '2026-01-01');
    await supply(MP4, A, '2026-01-01');
    await append(`metering-point-${MP4}`, 'portfolio', 'SupplyEnded', { gsrn: MP4, endDate: '2026-10-15', reason: 'move-out', at: '2026-10-01T10:00:00.000Z' });
    await send('RecordMeteredData', meteredPayload(MP1, 'mp1', '2026-10-01', '2026-11-01', () => '1.000'));
    await send('RecordMeteredData', meteredPayload(MP4, 'mp4', '2026-10-01', '2026-11-01', () => '1.000'));
    // MP2: every day but 15 October.
    await send('RecordMeteredData', meteredPayload(MP2, 'mp2a', '2026-10-01', '2026-10-15', () => '1.000'));
    await send('RecordMeteredData', meteredPayload(MP2, 'mp2b', '2026-10-16', '2026-11-01', () => '1.000'));
    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data`)).toBe(92);
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies WHERE end_date = '2026-10-15'`)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices`)).toBe(745);
      expect(await count(`SELECT count(*) AS n FROM settlement.charge_rows`)).toBe(5);
    }, 30_000, 100);
  }, 180_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  let run1: StartReply;
  let run2: StartReply;

  it('run 1: two points (A on MP4 has its final invoice from the move-out already), the one with a missing day halts and gets no invoice', async () => {
    // A moved out on the 15th and October's data was there: A's final invoice is issued before any run (final-invoice.ts).
    expect((await invoicesOf(MP4, A)).map((e) => (e.data as unknown as InvoiceIssued).final)).toEqual([{ supplyEndDate: '2026-10-15', reason: 'move-out' }]);
    run1 = await send<StartReply>('StartSettlementRun', { period: '2026-10' });
    expect(run1).toMatchObject({ seq: 1, items: 2, alreadyStarted: false });
    expect(await completedOf(run1.runId)).toMatchObject({ items: 2, invoiced: 1, halted: 1 });
    expect(await invoicesOf(MP2, 'customer-2')).toHaveLength(0);
    expect(await all('InvoiceIssued')).toHaveLength(2);
  });

  it('run 2 takes only what is not yet invoiced: the halted point once its day arrived, a late move-in, a late customer on an invoiced point', async () => {
    // The missing day, a supply registered after run 1, and B's move-in on MP4 from the 15th.
    await send('RecordMeteredData', meteredPayload(MP2, 'mp2-15', '2026-10-15', '2026-10-16', () => '1.000'));
    await supply(MP3, 'customer-3', '2026-10-20');
    await send('RecordMeteredData', meteredPayload(MP3, 'mp3', '2026-10-20', '2026-11-01', () => '2.000'));
    await supply(MP4, B, '2026-10-15');
    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data WHERE gsrn = '${MP2}' AND day = '2026-10-15'`)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data WHERE gsrn = '${MP3}'`)).toBe(12);
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies`)).toBe(5);
    }, 30_000, 100);

    run2 = await send<StartReply>('StartSettlementRun', { period: PERIOD });
    expect(run2).toMatchObject({ seq: 2, items: 3, alreadyStarted: false });
    expect(run2.runId).not.toBe(run1.runId);
    expect(await completedOf(run2.runId)).toMatchObject({ items: 3, invoiced: 3, halted: 0 });
    const outcomes = await infra.pool.query(`SELECT gsrn, outcome, invoice_ids FROM settlement.run_items WHERE run_id = $1 ORDER BY gsrn`, [run2.runId]);
    expect(outcomes.rows).toEqual([
      { gsrn: MP2, outcome: 'invoiced', invoice_ids: [invoiceIdOf(MP2, PERIOD, 'customer-2')] },
      { gsrn: MP3, outcome: 'invoiced', invoice_ids: [invoiceIdOf(MP3, PERIOD, 'customer-3')] },
      // A was invoiced at the move-out and is not settled again; B is invoiced now.
      { gsrn: MP4, outcome: 'invoiced', invoice_ids: [invoiceIdOf(MP4, PERIOD, A), invoiceIdOf(MP4, PERIOD, B)] },
    ]);
    // Exactly one invoice per customer supply: A's final invoice, 1 from run 1, 3 from run 2.
    expect(await all('InvoiceIssued')).toHaveLength(5);
    for (const [g, c] of [[MP1, 'customer-1'], [MP2, 'customer-2'], [MP3, 'customer-3'], [MP4, A], [MP4, B]] as const) expect(await invoicesOf(g, c)).toHaveLength(1);
    const [mp2] = await invoicesOf(MP2, 'customer-2');
    expect((mp2!.data as unknown as InvoiceIssued).runId).toBe(run2.runId);
    expect((mp2!.data as unknown as InvoiceIssued).lines.find((l) => l.kind === 'energy')?.quantityKwh).toBe('745.000');
    const [mp3] = await invoicesOf(MP3, 'customer-3');
    // 20–31 October: 289 hours (25 October has 25) × 2.000 kWh.
    expect((mp3!.data as unknown as InvoiceIssued)).toMatchObject({ periodStart: '2026-10-01', periodEnd: '2026-10-31' });
    expect((mp3!.data as unknown as InvoiceIssued).lines.find((l) => l.kind === 'energy')?.quantityKwh).toBe('578.000');
    // Each run keeps its own short stream; run 1's is untouched.
    expect((await infra.eventStore.readStream('settlement-run-2026-10')).map((e) => e.type)).toEqual(['SettlementRunStarted', 'SettlementRunScheduled', 'SettlementCompleted']);
    expect((await infra.eventStore.readStream('settlement-run-2026-10-2')).map((e) => e.type)).toEqual(['SettlementRunStarted', 'SettlementRunScheduled', 'SettlementCompleted']);
    expect((await infra.eventStore.readStream('settlement-run-2026-10-2-batch-0')).map((e) => e.type)).toEqual([
      'SettlementWorkItemScheduled',
      'SettlementWorkItemScheduled',
      'SettlementWorkItemScheduled',
      'SettlementBatchCompleted',
    ]);
    // Both runs in the read model, each with its own counts.
    await eventually(async () => {
      const rows = await infra.pool.query(`SELECT run_id, period, status, items_total, items_invoiced, items_halted FROM read_models.settlement_runs ORDER BY started_at`);
      expect(rows.rows).toEqual([
        { run_id: run1.runId, period: '2026-10', status: 'completed', items_total: 2, items_invoiced: 1, items_halted: 1 },
        { run_id: run2.runId, period: '2026-10', status: 'completed', items_total: 3, items_invoiced: 3, items_halted: 0 },
      ]);
    }, 20_000, 100);
  });

  it('a start when nothing is left answers the last run and appends nothing', async () => {
    const before = (await infra.eventStore.readAll()).length;
    const again = await send<StartReply>('StartSettlementRun', { period: PERIOD, runId: randomUUID() });
    expect(again).toEqual({ runId: run2.runId, period: PERIOD, seq: 2, items: 3, alreadyStarted: true, completed: true });
    await new Promise((r) => setTimeout(r, 500));
    expect((await infra.eventStore.readAll()).length).toBe(before);
    expect(await count(`SELECT count(*) AS n FROM settlement.runs`)).toBe(2);
  });

  it('an item whose invoice is issued already issues nothing and is counted once; two racing starts make one run', async () => {
    // An invoice issued before settlement.invoices indexed it: the period looks not invoiced for MP1.
    await infra.pool.query(`DELETE FROM settlement.invoices WHERE gsrn = $1`, [MP1]);
    const [x, y] = await Promise.all([send<StartReply>('StartSettlementRun', { period: PERIOD }), send<StartReply>('StartSettlementRun', { period: PERIOD })]);
    expect(x.runId).toBe(y.runId);
    expect([x.alreadyStarted, y.alreadyStarted].sort()).toEqual([false, true]);
    expect(x).toMatchObject({ seq: 3, items: 1 });
    expect(await completedOf(x.runId)).toMatchObject({ items: 1, invoiced: 1, halted: 0 });
    expect(await invoicesOf(MP1, 'customer-1')).toHaveLength(1);
    expect(await all('InvoiceIssued')).toHaveLength(5);
    // The index is whole again, so a further start has nothing left.
    expect(await count(`SELECT count(*) AS n FROM settlement.invoices WHERE gsrn = '${MP1}'`)).toBe(1);
    expect(await send<StartReply>('StartSettlementRun', { period: PERIOD })).toMatchObject({ runId: x.runId, alreadyStarted: true, completed: true });
  });
});

describe('settlement runs: migration of a deployment from before later runs', () => {
  it('turns the one run per period into run 1 (seq), drops the unique period, twice without harm', async () => {
    const db = await createTestDatabase('settlement_runs_migration');
    const pool = new Pool({ connectionString: db.url });
    try {
      await pool.query(`CREATE SCHEMA settlement;
        CREATE TABLE settlement.runs (
          run_id text PRIMARY KEY, period_label text NOT NULL UNIQUE, period jsonb NOT NULL, as_of timestamptz NOT NULL,
          cursor_gsrn text, batches_total int NOT NULL DEFAULT 0, items_total int NOT NULL DEFAULT 0, scheduled boolean NOT NULL DEFAULT false,
          batches_done int NOT NULL DEFAULT 0, invoiced int NOT NULL DEFAULT 0, halted int NOT NULL DEFAULT 0, completed boolean NOT NULL DEFAULT false);
        INSERT INTO settlement.runs (run_id, period_label, period, as_of, scheduled, completed) VALUES ('old', '2026-09', '{"kind":"month","year":2026,"month":9}', now(), true, true);`);
      await migrateSettlement(pool);
      await migrateSettlement(pool);
      expect((await pool.query(`SELECT run_id, seq, scope FROM settlement.runs`)).rows).toEqual([{ run_id: 'old', seq: 1, scope: 'all' }]);
      await pool.query(`INSERT INTO settlement.runs (run_id, period_label, seq, period, as_of) VALUES ('later', '2026-09', 2, '{"kind":"month","year":2026,"month":9}', now())`);
      await expect(pool.query(`INSERT INTO settlement.runs (run_id, period_label, seq, period, as_of) VALUES ('twin', '2026-09', 2, '{"kind":"month","year":2026,"month":9}', now())`)).rejects.toThrow(/runs_period_seq/);
    } finally {
      await pool.end();
      await db.drop();
    }
  }, 60_000);
});
