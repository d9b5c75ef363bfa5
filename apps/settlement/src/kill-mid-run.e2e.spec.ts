import { CommandClient } from '@dh/messaging';
import { loadConfig, openInfrastructure, startServiceProcess, type Infrastructure, type ServiceProcess } from '@dh/platform';
import { invoiceIdOf } from '@dh/settlement-application';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { gsrn, meteredPayload, OCTOBER_2026, seedFlatSpotPrices, seedRadiusGridArea, seedTaxAndSpotProduct, settlementTestHelpers } from './testing/settlement-test-support';

const METERING_POINTS = 60;

/**
 * Part of the fault-injection family (docs/reliability.md): the settlement process is killed with SIGKILL while a
 * month's run is being worked off (some items invoiced, others not yet, its two workers in the middle of items),
 * and started again. Every metering point gets exactly one invoice: a work item whose transaction died with the
 * process is delivered again and applied once (inbox and invoice in one transaction); none is lost.
 */
describe('fault injection: settlement killed in the middle of a run', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let infra: Infrastructure;
  let commands: CommandClient;
  let service: ServiceProcess;
  let env: Record<string, string>;
  const helpers = settlementTestHelpers(() => infra, () => commands);
  const { append, send, count } = helpers;
  const points = Array.from({ length: METERING_POINTS }, (_, i) => gsrn(100 + i));
  const customerOf = (i: number) => `kill-customer-${i}`;

  beforeAll(async () => {
    db = await createTestDatabase('settlement_kill');
    vhost = await createTestVhost('settlement_kill');
    env = { DATABASE_URL: db.url, AMQP_URL: vhost.url, COMMAND_TIMEOUT_MS: '20000', LOG_FORMAT: 'json', SETTLEMENT_WORKERS: '2' };
    service = await startServiceProcess('settlement', env, 90_000);
    infra = await openInfrastructure(loadConfig('settlement-kill-test', 0, { DATABASE_URL: db.url, AMQP_URL: vhost.url }));
    commands = new CommandClient({ connection: infra.amqp, defaultTimeoutMs: 20_000 });
    await commands.start();

    await seedRadiusGridArea(helpers);
    await seedTaxAndSpotProduct(helpers, { normal: '0.01', reduced: '0.01' });
    await seedFlatSpotPrices(helpers, '2026-10-01', '2026-11-01');
    for (const [i, g] of points.entries()) {
      await append(`supply-${g}`, 'portfolio', 'SupplyStarted', { gsrn: g, customerId: customerOf(i), startDate: '2026-01-01', productId: 'spot', electricHeating: false, gridArea: '791', billingFrequency: 'monthly', paymentModel: 'actual' });
      await send('RecordMeteredData', meteredPayload(g, `doc-kill-${i}`, '2026-10-01', '2026-11-01', () => '1.000'));
    }
    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data`)).toBe(31 * METERING_POINTS);
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies`)).toBe(METERING_POINTS);
      expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices`)).toBe(745);
      expect(await count(`SELECT count(*) AS n FROM settlement.charge_rows`)).toBe(5);
    }, 60_000, 200);
  }, 300_000);

  afterAll(async () => {
    await commands?.close();
    await service?.stop();
    await infra?.close();
    await vhost?.drop();
    await db?.drop();
  }, 60_000);

  it('issues every invoice exactly once after a kill -9 mid-run and a restart', async () => {
    // A run's items are counted in settlement.run_items, not in events; an item's invoice is its InvoiceIssued.
    const invoiced = () => count(`SELECT count(*) AS n FROM event_store.events WHERE type = 'InvoiceIssued'`);
    const started = await send<{ runId: string; items: number }>('StartSettlementRun', { period: OCTOBER_2026 });
    expect(started.items).toBe(METERING_POINTS);

    // Kill once a sixth of the items are done and the rest are not.
    const doneAtKill = await eventually(async () => {
      const n = await invoiced();
      expect(n).toBeGreaterThanOrEqual(METERING_POINTS / 6);
      return n;
    }, 60_000, 20);
    service.child.kill('SIGKILL');
    await new Promise<void>((resolve) => (service.child.exitCode !== null || service.child.signalCode !== null ? resolve() : service.child.once('exit', () => resolve())));
    const afterKill = await invoiced();
    expect(afterKill).toBeLessThan(METERING_POINTS);

    service = await startServiceProcess('settlement', env, 90_000);
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM event_store.events WHERE type = 'SettlementCompleted'`)).toBe(1), 120_000, 200);

    // Exactly one invoice per metering point, each the one its id says; every item invoiced once.
    const issued = await infra.pool.query<{ gsrn: string; invoice_id: string; n: string }>(
      `SELECT data->>'gsrn' AS gsrn, data->>'invoiceId' AS invoice_id, count(*)::text AS n FROM event_store.events WHERE type = 'InvoiceIssued' GROUP BY 1, 2 ORDER BY 1`,
    );
    expect(issued.rows).toHaveLength(METERING_POINTS);
    expect(issued.rows.every((r) => r.n === '1')).toBe(true);
    expect(await count(`SELECT count(*) AS n FROM settlement.run_items`)).toBe(METERING_POINTS);
    expect(new Map(issued.rows.map((r) => [r.gsrn, r.invoice_id]))).toEqual(new Map(points.map((g, i) => [g, invoiceIdOf(g, OCTOBER_2026, customerOf(i))])));
    expect(await invoiced()).toBe(METERING_POINTS);
    expect(await count(`SELECT count(*) AS n FROM event_store.events WHERE type = 'SettlementHaltedForMeteringPoint'`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM (SELECT consumer, event_id FROM settlement.inbox GROUP BY 1, 2 HAVING count(*) > 1) d`)).toBe(0);
    process.stdout.write(`settlement killed with ${doneAtKill}–${afterKill} of ${METERING_POINTS} items invoiced\n`);
  }, 300_000);
});
