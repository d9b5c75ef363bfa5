import { randomUUID } from 'node:crypto';
import type { RunningConsumer } from '@dh/messaging';
import { loadConfig, openInfrastructure, runEventRelay, type Infrastructure } from '@dh/platform';
import { settlementProjection, startProjections } from '@dh/read-models';
import { itemHaltedEvent, runItemStreamId, type SettlementHaltListed } from '@dh/settlement-application';
import type { SettlementHalted } from '@dh/settlement-domain';
import { EARLIER_HALTS_CATCH_UP, listEarlierHalts, migrateSettlement, startSettlementRuntime, type SettlementRuntime } from '@dh/settlement-infra';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { gsrn } from './testing/settlement-test-support';

const PERIOD = { kind: 'month', year: 2026, month: 10 } as const;
const RUN1 = 'aaaaaaaa-0000-4000-8000-000000000001';
const RUN2 = 'aaaaaaaa-0000-4000-8000-000000000002';
const MPX = gsrn(91); // halted in run 1 and in run 2 (missing data): listed, since run 1's halt, as of run 2's
const MPY = gsrn(92); // halted in run 1, invoiced by run 2: resolved, not listed
const MPZ = gsrn(93); // halted in run 2 only (missing DK1 spot price): listed
const MPW = gsrn(94); // halted in run 1 and not in run 2 (its supply ended): listed from run 1
const SEPTEMBER_HALT = gsrn(95); // halted in September's run and listed already (a row of the list): left as it is
const T1 = new Date('2026-11-09T08:00:00.000Z');
const T2 = new Date('2026-11-10T08:00:00.000Z');

const missingData = (g: string): SettlementHalted => ({
  outcome: 'halted',
  reason: 'missing-metered-data',
  gsrn: g,
  seriesGsrn: g,
  interval: { start: new Date('2026-10-15T08:00:00.000Z'), end: new Date('2026-10-15T09:00:00.000Z') },
});
const missingSpot = (g: string): SettlementHalted => ({
  outcome: 'halted',
  reason: 'missing-price',
  gsrn: g,
  priceArea: 'DK1',
  chargeId: null,
  interval: { start: new Date('2026-10-20T00:00:00.000Z'), end: new Date('2026-10-20T01:00:00.000Z') },
});

/**
 * Issue 9: halts recorded before the list of halted items existed are listed too. The database holds two runs of
 * October written the old way (run rows, item rows, `SettlementHaltedForMeteringPoint` without `since` on each halted
 * item's stream, no row in `settlement.halted_items`); when the service starts, every halt still unresolved is listed
 * (settlement's list, for the retry pass, and the read model `GET /api/settlement/halted` serves), resolved ones are
 * not, and starting again (or running the catch-up again) lists nothing twice.
 */
describe('settlement: halts recorded before the halted list existed are listed when the service starts', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let infra: Infrastructure;
  let runtime: SettlementRuntime | undefined;
  let stopRelay: (() => Promise<void>) | undefined;
  let projections: RunningConsumer[] = [];
  const listed = async () =>
    (await infra.pool.query(`SELECT gsrn, run_id, reason, since FROM read_models.settlement_halted_items WHERE resolved_at IS NULL OR halted_at > resolved_at ORDER BY gsrn`)).rows;
  const rows = async () =>
    (
      await infra.pool.query(
        `SELECT gsrn, run_id, reason, series_gsrn, price_area, halted_since, last_tried_at, retry_requested_at IS NOT NULL AS due FROM settlement.halted_items ORDER BY period_label, gsrn`,
      )
    ).rows;
  const listedEvents = async () => (await infra.eventStore.readAll()).filter((e) => e.type === 'SettlementHaltListed');

  /** What a worker before the list wrote for a halted item: its item row (in the run's counters) and its halt event. */
  async function oldHalt(runId: string, batch: number, halt: SettlementHalted, at: Date): Promise<void> {
    await infra.pool.query(`INSERT INTO settlement.run_items (run_id, gsrn, batch, outcome, invoice_ids, reason) VALUES ($1, $2, $3, 'halted', NULL, $4)`, [runId, halt.gsrn, batch, halt.reason]);
    const event = itemHaltedEvent(runId, PERIOD, batch, halt);
    expect(event.data.since).toBeUndefined();
    await infra.eventStore.appendToStream(
      runItemStreamId(runId, halt.gsrn),
      [{ ...event, metadata: { correlationId: randomUUID(), causationId: null, actor: 'settlement-worker', schemaVersion: 1, context: 'settlement' }, occurredAt: at }],
      { expectedRevision: 'any' },
    );
  }

  async function startService(): Promise<void> {
    runtime = await startSettlementRuntime(infra, { workers: 0, commands: false });
    stopRelay = await runEventRelay(infra);
    projections = await startProjections({ pool: infra.pool, eventStore: infra.eventStore, connection: infra.amqp, projections: [settlementProjection] });
  }

  async function stopService(): Promise<void> {
    for (const p of projections) await p.stop();
    projections = [];
    await runtime?.stop();
    runtime = undefined;
    await stopRelay?.();
    stopRelay = undefined;
  }

  beforeAll(async () => {
    db = await createTestDatabase('settlement_earlier_halts');
    vhost = await createTestVhost('settlement_earlier_halts');
    infra = await openInfrastructure(loadConfig('settlement', 0, { DATABASE_URL: db.url, AMQP_URL: vhost.url }));
    // The schema as a deployment before the list had it (the list's table exists, empty: the old code never wrote it).
    await migrateSettlement(infra.pool);
    for (const [runId, seq, asOf] of [[RUN1, 1, T1], [RUN2, 2, T2]] as const) {
      await infra.pool.query(
        `INSERT INTO settlement.runs (run_id, period_label, seq, scope, period, as_of, batches_total, items_total, scheduled, batches_done, completed) VALUES ($1, '2026-10', $2, 'all', $3, $4, 1, 4, true, 1, true)`,
        [runId, seq, JSON.stringify(PERIOD), asOf],
      );
    }
    await oldHalt(RUN1, 0, missingData(MPX), T1);
    await oldHalt(RUN1, 0, missingData(MPY), T1);
    await oldHalt(RUN1, 0, missingData(MPW), T1);
    await oldHalt(RUN2, 0, missingData(MPX), T2);
    await oldHalt(RUN2, 0, missingSpot(MPZ), T2);
    await infra.pool.query(`INSERT INTO settlement.run_items (run_id, gsrn, batch, outcome, invoice_ids, reason) VALUES ($1, $2, 0, 'invoiced', ARRAY[$3]::uuid[], NULL)`, [RUN2, MPY, randomUUID()]);
    // A halt of the list's own time (a row already): not touched.
    await infra.pool.query(
      `INSERT INTO settlement.runs (run_id, period_label, seq, scope, period, as_of, scheduled, completed) VALUES ('aaaaaaaa-0000-4000-8000-000000000009', '2026-09', 1, 'all', '{"kind":"month","year":2026,"month":9}', $1, true, true)`,
      [T1],
    );
    await infra.pool.query(`INSERT INTO settlement.run_items (run_id, gsrn, batch, outcome, reason) VALUES ('aaaaaaaa-0000-4000-8000-000000000009', $1, 0, 'halted', 'missing-configuration')`, [SEPTEMBER_HALT]);
    await infra.pool.query(
      `INSERT INTO settlement.halted_items (gsrn, period_label, period, period_from, period_to, run_id, reason, detail, halted_since, last_tried_at)
       VALUES ($1, '2026-09', '{"kind":"month","year":2026,"month":9}', '2026-09-01', '2026-10-01', 'aaaaaaaa-0000-4000-8000-000000000009', 'missing-configuration', '{"problem":"x"}', $2, $2)`,
      [SEPTEMBER_HALT, T1],
    );
  }, 120_000);

  afterAll(async () => {
    await stopService();
    await infra?.close();
    await vhost?.drop();
    await db?.drop();
  }, 60_000);

  it('the service starts: every unresolved earlier halt is in settlement’s list, due for one retry; the resolved one is not', async () => {
    await startService();
    await eventually(async () => expect((await rows()).map((r) => r.gsrn)).toEqual([SEPTEMBER_HALT, MPX, MPZ, MPW]), 20_000, 100);
    const byGsrn = Object.fromEntries((await rows()).map((r) => [r.gsrn, r]));
    // MPX: its last halt (run 2), halted since its first (run 1).
    expect(byGsrn[MPX]).toMatchObject({ run_id: RUN2, reason: 'missing-metered-data', series_gsrn: MPX, price_area: null, due: true });
    expect(new Date(byGsrn[MPX].halted_since).toISOString()).toBe(T1.toISOString());
    expect(new Date(byGsrn[MPX].last_tried_at).toISOString()).toBe(T2.toISOString());
    expect(byGsrn[MPZ]).toMatchObject({ run_id: RUN2, reason: 'missing-price', series_gsrn: null, price_area: 'DK1', due: true });
    expect(byGsrn[MPW]).toMatchObject({ run_id: RUN1, reason: 'missing-metered-data', due: true });
    expect(byGsrn[SEPTEMBER_HALT]).toMatchObject({ run_id: 'aaaaaaaa-0000-4000-8000-000000000009', due: false });
    expect(byGsrn[MPY]).toBeUndefined();
    expect((await infra.pool.query(`SELECT name, items FROM settlement.catch_ups`)).rows).toEqual([{ name: EARLIER_HALTS_CATCH_UP, items: 3 }]);
  });

  it('the read model the API serves lists them (reason, run, since), not the resolved one', async () => {
    await eventually(async () => expect((await listed()).map((r) => [r.gsrn, r.run_id, r.reason])).toEqual([
      [MPX, RUN2, 'missing-metered-data'],
      [MPZ, RUN2, 'missing-price'],
      [MPW, RUN1, 'missing-metered-data'],
    ]), 20_000, 100);
    const events = (await listedEvents()).map((e) => [e.streamId, e.data as unknown as SettlementHaltListed] as const);
    expect(events).toHaveLength(3);
    const mpx = events.find(([, d]) => d.gsrn === MPX)!;
    expect(mpx[0]).toBe(runItemStreamId(RUN2, MPX));
    expect(mpx[1]).toMatchObject({ runId: RUN2, periodLabel: '2026-10', reason: 'missing-metered-data', detail: { seriesGsrn: MPX } });
    // Since the first halt of its streak (run 1's, on the business clock), its last halt recorded at run 2's event.
    const lastHalt = (await infra.eventStore.readStream(runItemStreamId(RUN2, MPX)))[0]!;
    expect(mpx[1].since).toBe(T1.toISOString());
    expect(mpx[1].haltedAt).toBe(lastHalt.recordedAt.toISOString());
    expect(new Date((await listed()).find((r) => r.gsrn === MPX)!.since).toISOString()).toBe(T1.toISOString());
  });

  it('idempotent: started again, or the catch-up run again (even with its mark removed), lists nothing twice', async () => {
    await stopService();
    await startService();
    expect(await listEarlierHalts({ store: infra.eventStore, pool: infra.pool }, new Date())).toBe(0);
    await infra.pool.query(`DELETE FROM settlement.catch_ups`);
    expect(await listEarlierHalts({ store: infra.eventStore, pool: infra.pool }, new Date())).toBe(0);
    expect(await rows()).toHaveLength(4);
    expect(await listedEvents()).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 500));
    expect(await listed()).toHaveLength(3);
  });
});
