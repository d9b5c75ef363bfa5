import { randomUUID } from 'node:crypto';
import type { RequestChangeOfSupplier } from '@dh/cim';
import { DataHubClient } from '@dh/datahub-client';
import { DataHubInboxWorker, QuarantineStore } from '@dh/datahub-integration';
import { BASIC_LINKS, TEST_CHARGES, startDataHubSimulator, type RunningDataHubSimulator } from '@dh/datahub-sim';
import type { JsonObject } from '@dh/event-store';
import { CommandClient } from '@dh/messaging';
import { loadConfig, openInfrastructure, runEventRelay, type Infrastructure } from '@dh/platform';
import { startDataHubChargeIntake } from '@dh/rates-infra';
import { startReconciliationRuntime, type ReconciliationRuntime } from '@dh/reconciliation-infra';
import { startSettlementRuntime } from '@dh/settlement-infra';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';

const US = '5799999933318';
const OTHER = '5791111111116';
const DATAHUB = '5790001330552';
const EARLY = '571313180400000148'; // 344, ours from 1 October (forced switch): in the wholesale fixing
const LATE = '571313180400000155'; // 344, a move-in on 26 October reported on 2 November: only in the correction settlement
const MOVE_IN_DATE = '2026-10-26';
const MOVE_IN_START = '2026-10-25T23:00:00Z';

function scenario(): Record<string, unknown> {
  const mp = (gsrn: string, annualKwh: number) => ({ gsrn, gridArea: '344', priceArea: 'DK1', type: 'E17', profile: { annualKwh }, supply: { supplierGln: OTHER, from: '2026-01-01' }, charges: BASIC_LINKS });
  return {
    seed: 'correction-settlement-int',
    start: '2026-09-30T06:00:00Z',
    datahubGln: DATAHUB,
    sendChargeData: true,
    clients: [
      { clientId: 'ours', clientSecret: 's3cret', gln: US },
      { clientId: 'other', clientSecret: 's3cret', gln: OTHER },
    ],
    meteringPoints: [mp(EARLY, 4000), mp(LATE, 2700)],
    forcedSwitches: [{ gsrn: EARLY, supplierGln: US, effectiveDate: '2026-10-01' }],
    charges: TEST_CHARGES,
  };
}

/** BRS-009 move-in (RSM-001, business reason E65) as our outbound worker sends it. */
function moveIn(gsrn: string, start: string): RequestChangeOfSupplier {
  const id = randomUUID();
  return {
    kind: 'RequestChangeOfSupplier',
    header: { mRID: id, processType: 'E65', businessSectorType: '23', sender: { id: { codingScheme: 'A10', value: US }, role: 'DDQ' }, receiver: { id: { codingScheme: 'A10', value: DATAHUB }, role: 'DDZ' }, createdDateTime: new Date().toISOString() },
    records: [{ mRID: id, meteringPointId: gsrn, energySupplier: { codingScheme: 'A10', value: US }, customerId: { codingScheme: 'ARR', value: '0101801234' }, customerName: 'Test Kunde', start }],
  };
}

type Report = { summary: JsonObject; report: JsonObject & { charges: JsonObject[] }; datahubResults: JsonObject[]; findings: (JsonObject & { kind: string; state: string })[] };

describe('a correction settlement (D32) after a late move-in reaches reconciliation and supersedes the wholesale fixing (D05)', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let infra: Infrastructure;
  let sim: RunningDataHubSimulator;
  let client: DataHubClient;
  let reconciliation: ReconciliationRuntime;
  let inbox: DataHubInboxWorker;
  let quarantine: QuarantineStore;
  let commands: CommandClient;
  const stops: (() => Promise<unknown>)[] = [];

  const report = async (): Promise<Report> => (await commands.send('reconciliation', 'GetReconciliationReport', { gridArea: '344', period: '2026-10' }, { actor: 'test' })) as unknown as Report;
  const count = async (sql: string, params: unknown[] = []) => Number((await infra.pool.query<{ n: string }>(sql, params)).rows[0]!.n);
  const append = (gsrn: string, type: string, data: JsonObject) =>
    infra.eventStore.appendToStream(`metering-point-${gsrn}`, [{ eventId: randomUUID(), type, data, metadata: { correlationId: randomUUID(), causationId: null, actor: 'test', schemaVersion: 1, context: 'portfolio' }, occurredAt: new Date() }], { expectedRevision: 'any' });
  const supply = async (gsrn: string, startDate: string) => {
    await append(gsrn, 'MeteringPointRegistered', { gsrn, type: 'E17', settlementMethod: 'D01', gridArea: '344', priceArea: 'DK1', linkedProductionGsrn: null, source: 'eloverblik', at: '2026-09-30T06:00:00Z' });
    await append(gsrn, 'SupplyStarted', { gsrn, processId: randomUUID(), customerId: randomUUID(), startDate, at: '2026-09-30T06:00:00Z' });
  };

  beforeAll(async () => {
    db = await createTestDatabase('correction_settlement');
    vhost = await createTestVhost('correction-settlement');
    infra = await openInfrastructure(loadConfig('reconciliation', 0, { DATABASE_URL: db.url, AMQP_URL: vhost.url }));
    sim = await startDataHubSimulator({ port: 0, scenario: scenario() });
    client = new DataHubClient({ baseUrl: sim.url, clientId: 'ours', clientSecret: 's3cret', scope: 'x', retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 50, maxRetryAfterMs: 500 } });
    quarantine = new QuarantineStore(infra.pool);
    await quarantine.migrate();
    inbox = new DataHubInboxWorker({ client, categories: ['masterdata', 'measuredata', 'aggregations'], eventStore: infra.eventStore, quarantine });
    const settlement = await startSettlementRuntime(infra, { workers: 0 });
    const intake = await startDataHubChargeIntake(infra);
    reconciliation = await startReconciliationRuntime(infra, { supplierGln: US, quarterlyTransition: Date.parse('2023-05-21T22:00:00Z'), delayMs: 300, pollMs: 60_000, batchSize: 2 });
    const stopRelay = await runEventRelay(infra);
    commands = new CommandClient({ connection: infra.amqp, defaultTimeoutMs: 20_000 });
    await commands.start();
    stops.push(() => commands.close(), stopRelay, () => reconciliation.stop(), () => intake.stop(), () => settlement.stop(), () => sim.stop());
    await supply(EARLY, '2026-10-01');
    sim.control.advanceTo('2026-10-01T00:00:00Z');
    await inbox.pollOnce();
  }, 240_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await infra?.close();
    await vhost?.drop();
    await db?.drop();
  });

  it('compares with the wholesale fixing first, then with the correction settlement that counts the late move-in', async () => {
    // 1 November: DataHub's wholesale fixing (D05) of October, EARLY alone.
    sim.control.advanceTo('2026-11-01T01:00:00Z');
    await inbox.pollOnce();
    const fixing = await eventually(async () => {
      await reconciliation.runDue();
      const r = await report();
      expect(String(r.summary['datahubWholesaleResult'])).toMatch(/^D05 v\d+$/);
      return r;
    }, 60_000);
    expect(fixing.summary).toMatchObject({ meteringPoints: 1, wholesale: { difference: '0.000000' } });

    // 2 November: our move-in on LATE from 26 October (5th working day after), accepted; DataHub sends the missed days.
    sim.control.advanceTo('2026-11-02T08:00:00Z');
    await client.send(moveIn(LATE, MOVE_IN_START));
    await supply(LATE, MOVE_IN_DATE);
    await inbox.pollOnce();
    await eventually(async () => expect(await count(`SELECT count(*)::text AS n FROM settlement.metered_data WHERE gsrn = $1`, [LATE])).toBe(7), 60_000); // 26 October–1 November

    // DataHub's correction settlement (BRS-027 D32, D01) of October: both metering points.
    expect(await count(`SELECT count(*)::text AS n FROM reconciliation.datahub_results WHERE business_reason = 'D32'`)).toBe(0);
    // Asked for over the simulator's control endpoint, as the demo (a separate process) would.
    const asked = await fetch(`${sim.url}/sim/correction-settlement`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ month: '2026-10', settlementVersion: 'D01' }) });
    expect(asked.status).toBe(202);
    // Peeked, stored and routed like every other RSM-014/019: nothing quarantined, nothing dropped as a duplicate.
    expect(await inbox.pollOnce()).toMatchObject({ stored: 2, duplicates: 0, quarantined: 0, errors: 0 });
    expect(await count(`SELECT count(*)::text AS n FROM datahub.quarantine`)).toBe(0);
    await eventually(async () => expect(await count(`SELECT count(*)::text AS n FROM reconciliation.datahub_results WHERE business_reason = 'D32' AND grid_area = '344'`)).toBeGreaterThan(0), 60_000);
    const corrected = await eventually(async () => {
      await reconciliation.runDue();
      const r = await report();
      expect(String(r.summary['datahubWholesaleResult'])).toMatch(/^D32\/D01 v\d+$/);
      return r;
    }, 60_000);
    // The correction settlement's figures, not the fixing's: both metering points, DataHub's amount grown by LATE's days, equal to ours.
    const dh = corrected.summary['wholesale'] as JsonObject;
    expect(corrected.summary).toMatchObject({ meteringPoints: 2, wholesale: { difference: '0.000000', differingSlots: 0 }, energy: { difference: '0.000', differingSlots: 0 } });
    expect(String(corrected.summary['datahubEnergyResult'])).toMatch(/^D32\/D01 v\d+$/);
    expect(Number(dh['datahubAmount'])).toBeGreaterThan(Number((fixing.summary['wholesale'] as JsonObject)['datahubAmount']));
    expect(dh['datahubAmount']).toBe(dh['ourAmount']);
    expect(corrected.findings).toEqual([]);
    for (const c of corrected.report.charges) expect(c['difference']).toBe('0.000000');
    // The fixing stays stored beside the correction that superseded it.
    const labels = corrected.datahubResults.filter((x) => x['kind'] === 'wholesale').map((x) => `${String(x['businessReason'])}${x['settlementVersion'] ? `/${String(x['settlementVersion'])}` : ''}`);
    expect(labels).toEqual(expect.arrayContaining(['D05', 'D32/D01']));
  }, 240_000);
});
