import { randomUUID } from 'node:crypto';
import { DataHubClient } from '@dh/datahub-client';
import { DataHubInboxWorker, QuarantineStore, startResultsRequestSender } from '@dh/datahub-integration';
import { BASIC_LINKS, ENERGINET_GLN, GRID_OWNER_GLN, TEST_CHARGES, startDataHubSimulator, type RunningDataHubSimulator } from '@dh/datahub-sim';
import type { JsonObject } from '@dh/event-store';
import { CommandClient } from '@dh/messaging';
import { loadConfig, openInfrastructure, runEventRelay, type Infrastructure } from '@dh/platform';
import { startDataHubChargeIntake } from '@dh/rates-infra';
import { runOnce, startReconciliationRuntime, type ReconciliationRuntime } from '@dh/reconciliation-infra';
import { startSettlementRuntime } from '@dh/settlement-infra';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';

const US = '5799999933318';
const OTHER = '5791111111116';
const DATAHUB = '5790001330552';
const N1 = GRID_OWNER_GLN;
const ENERGINET = ENERGINET_GLN;
const A = '571313180400000018'; // 804, flex PT15M; a link DataHub never sent us; a late corrected day
const B = '571313180400000025'; // 804, non-profiled PT1H
const GHOST = '571313180400000032'; // 804: DataHub bills it to us from the 10th; we never supplied it
const C = '571313180400000049'; // 131: nothing planted, the two implementations must agree exactly
const BASIC = BASIC_LINKS;

function scenario(): Record<string, unknown> {
  const mp = (gsrn: string, gridArea: string, extra: Record<string, unknown>) => ({ gsrn, gridArea, priceArea: 'DK1', type: 'E17', profile: { annualKwh: 4000 }, supply: { supplierGln: OTHER, from: '2026-01-01' }, ...extra });
  return {
    seed: 'reconciliation-int',
    start: '2026-09-30T06:00:00Z',
    datahubGln: DATAHUB,
    sendChargeData: true,
    clients: [
      { clientId: 'ours', clientSecret: 's3cret', gln: US },
      { clientId: 'other', clientSecret: 's3cret', gln: OTHER },
    ],
    meteringPoints: [
      mp(A, '804', { charges: [...BASIC, { code: 'GEBYR', ownerGln: N1, type: 'D02', factor: 2, from: '2026-10-15', to: '2026-10-16' }, { code: 'CE', ownerGln: N1, type: 'D03', from: '2026-10-20', notified: false }] }),
      mp(B, '804', { settlementMethod: 'E02', resolution: 'PT1H', profile: { annualKwh: 2500, shape: 'flat' }, charges: BASIC }),
      mp(GHOST, '804', { charges: BASIC }),
      mp(C, '131', { charges: BASIC }),
    ],
    forcedSwitches: [A, B, C].map((gsrn) => ({ gsrn, supplierGln: US, effectiveDate: '2026-10-01' })),
    charges: TEST_CHARGES,
    planted: {
      unsuppliedBilled: [{ gsrn: GHOST, supplierGln: US, from: '2026-10-10' }],
      unsentCorrections: [{ gsrn: A, date: '2026-10-12', factor: '1.5', sendAt: '2026-11-03T12:00:00Z' }],
    },
  };
}

type Finding = JsonObject & { kind: string; state: string; meteringPoints: string[]; charges: string[]; findingId: string };
type Report = { summary: JsonObject; report: JsonObject & { energy: JsonObject[]; charges: JsonObject[] }; datahubResults: JsonObject[]; findings: Finding[] };

describe('reconciliation against the DataHub simulator (two implementations of DataHub’s rules)', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let infra: Infrastructure;
  let sim: RunningDataHubSimulator;
  let reconciliation: ReconciliationRuntime;
  let inbox: DataHubInboxWorker;
  let commands: CommandClient;
  const stops: (() => Promise<unknown>)[] = [];

  const report = async (gridArea: string): Promise<Report> => (await commands.send('reconciliation', 'GetReconciliationReport', { gridArea, period: '2026-10' }, { actor: 'test' })) as unknown as Report;
  const reportCount = async () => Number((await infra.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM reconciliation.reports`)).rows[0]!.n);
  const supply = async (gsrn: string, gridArea: string, settlementMethod: string) => {
    const append = (type: string, data: JsonObject) =>
      infra.eventStore.appendToStream(`metering-point-${gsrn}`, [{ eventId: randomUUID(), type, data, metadata: { correlationId: randomUUID(), causationId: null, actor: 'test', schemaVersion: 1, context: 'portfolio' }, occurredAt: new Date() }], { expectedRevision: 'any' });
    await append('MeteringPointRegistered', { gsrn, type: 'E17', settlementMethod, gridArea, priceArea: 'DK1', linkedProductionGsrn: null, source: 'eloverblik', at: '2026-09-30T06:00:00Z' });
    await append('SupplyStarted', { gsrn, processId: randomUUID(), customerId: randomUUID(), startDate: '2026-10-01', at: '2026-09-30T06:00:00Z' });
  };
  const count = async (sql: string) => Number((await infra.pool.query<{ n: string }>(sql)).rows[0]!.n);
  /**
   * Advances DataHub's clock, drains our queues into events, waits until settlement holds the metered data and
   * reconciliation DataHub's results (in production results come days after the data), then runs what is due.
   */
  const advance = async (to: string, expected: { meteredDays: number; results: number; reports: number }) => {
    sim.control.advanceTo(to);
    await inbox.pollOnce();
    await eventually(async () => {
      expect(await count(`SELECT count(*)::text AS n FROM settlement.metered_data`)).toBeGreaterThanOrEqual(expected.meteredDays);
      expect(await count(`SELECT count(*)::text AS n FROM reconciliation.datahub_results`)).toBeGreaterThanOrEqual(expected.results);
    }, 60_000);
    await eventually(async () => {
      await reconciliation.runDue();
      expect(await reportCount()).toBeGreaterThanOrEqual(expected.reports);
    }, 60_000);
  };

  beforeAll(async () => {
    db = await createTestDatabase('reconciliation');
    vhost = await createTestVhost('reconciliation');
    infra = await openInfrastructure(loadConfig('reconciliation', 0, { DATABASE_URL: db.url, AMQP_URL: vhost.url }));
    sim = await startDataHubSimulator({ port: 0, scenario: scenario() });
    const client = new DataHubClient({ baseUrl: sim.url, clientId: 'ours', clientSecret: 's3cret', scope: 'x', retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 50, maxRetryAfterMs: 500 } });
    const quarantine = new QuarantineStore(infra.pool);
    await quarantine.migrate();
    inbox = new DataHubInboxWorker({ client, categories: ['masterdata', 'measuredata', 'aggregations'], eventStore: infra.eventStore, quarantine });
    const settlement = await startSettlementRuntime(infra, { workers: 0 });
    const intake = await startDataHubChargeIntake(infra);
    reconciliation = await startReconciliationRuntime(infra, { supplierGln: US, quarterlyTransition: Date.parse('2023-05-21T22:00:00Z'), delayMs: 300, pollMs: 60_000, batchSize: 2 });
    const sender = await startResultsRequestSender({ pool: infra.pool, connection: infra.amqp, eventStore: infra.eventStore, client, parties: { supplierGln: US, dataHubGln: DATAHUB } });
    const stopRelay = await runEventRelay(infra);
    commands = new CommandClient({ connection: infra.amqp, defaultTimeoutMs: 20_000 });
    await commands.start();
    stops.push(() => commands.close(), stopRelay, () => sender.stop(), () => reconciliation.stop(), () => intake.stop(), () => settlement.stop(), () => sim.stop());
    for (const [gsrn, area, method] of [[A, '804', 'D01'], [B, '804', 'E02'], [C, '131', 'D01']] as const) await supply(gsrn, area, method);
    sim.control.advanceTo('2026-10-01T00:00:00Z');
    await inbox.pollOnce();
    // October: A, B, C 31 days and the planted metering point from the 10th. Result series: 804 energy 2 (flex,
    // non-profiled) and wholesale 15 (per charge and group 5 + 3, month sums 5, grid company's total, supplier's
    // total); 131 energy 1 and wholesale 8.
    await advance('2026-11-01T01:00:00Z', { meteredDays: 3 * 31 + 22, results: 2 + 15 + 1 + 8, reports: 2 });
  }, 240_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await infra?.close();
    await vhost?.drop();
    await db?.drop();
  });

  it('finds no difference at all where nothing was planted: energy, every charge slot and the totals agree', async () => {
    const r = await report('131');
    expect(String(r.summary['datahubWholesaleResult'])).toMatch(/^D05 v\d+$/);
    expect(r.summary).toMatchObject({ gridArea: '131', period: '2026-10', meteringPoints: 1, wholesale: { difference: '0.000000', differingSlots: 0 }, energy: { difference: '0.000', differingSlots: 0 } });
    expect(r.findings).toEqual([]);
    expect(r.report.charges.map((c) => [c['chargeId'], c['difference']])).toEqual([
      [`${ENERGINET}:D03:EA-001`, '0.000000'],
      [`${N1}:D01:ABON`, '0.000000'],
      [`${N1}:D03:CD`, '0.000000'],
    ]);
  });

  it('names the metering point DataHub bills to us and the link DataHub never sent, and keeps the late version open', async () => {
    const r = await report('804');
    const byKind = (kind: string) => r.findings.filter((f) => f.kind === kind);
    expect(byKind('metering-point-not-supplied-by-us')).toEqual([expect.objectContaining({ meteringPoints: [GHOST], state: 'explained' })]);
    expect(byKind('charge-link-unknown-to-us')).toEqual([expect.objectContaining({ meteringPoints: [A], charges: [`${N1}:D03:CE`], state: 'explained' })]);
    const unexplained = byKind('unexplained');
    expect(unexplained.length).toBeGreaterThan(0);
    expect(unexplained.every((f) => f.state === 'open' && String(f['from']).startsWith('2026-10-1'))).toBe(true);
    // Non-profiled energy (B alone) agrees exactly.
    expect(r.report.energy.find((e) => e['settlementMethod'] === 'E02')).toMatchObject({ difference: '0.000', differingSlots: 0 });
  });

  it('resolves the open difference when DataHub’s corrected day arrives, naming it in the audit trail', async () => {
    await advance('2026-11-03T12:30:00Z', { meteredDays: 3 * 31 + 22 + 1, results: 26, reports: 3 });
    const r = await eventually(async () => {
      await reconciliation.runDue();
      const latest = await report('804');
      expect(latest.findings.filter((f) => f.kind === 'unexplained').map((f) => f.state)).toEqual(latest.findings.filter((f) => f.kind === 'unexplained').map(() => 'resolved'));
      return latest;
    }, 60_000);
    const resolved = r.findings.find((f) => f.kind === 'unexplained')!;
    const finding = (await commands.send('reconciliation', 'GetFinding', { findingId: resolved.findingId }, { actor: 'test' })) as unknown as { auditTrail: { type: string; by: string; note: string | null }[] };
    expect(finding.auditTrail.map((e) => e.type)).toEqual(['DiscrepancyFound', 'FindingResolved']);
    expect(finding.auditTrail[1]).toMatchObject({ by: 'reconciliation' });
  });

  it('asks DataHub with RSM-017 and RSM-016 and re-runs on the answer; a period not ended is rejected', async () => {
    const before = await reportCount();
    const asked = (await commands.send('reconciliation', 'RequestDataHubResults', { kind: 'wholesale', gridArea: '804', period: '2026-10' }, { actor: 'staff:anna' })) as unknown as { requestId: string };
    await commands.send('reconciliation', 'RequestDataHubResults', { kind: 'energy', gridArea: '804', period: '2026-10' }, { actor: 'staff:anna' });
    const refused = (await commands.send('reconciliation', 'RequestDataHubResults', { kind: 'wholesale', gridArea: '804', period: '2026-12' }, { actor: 'staff:anna' })) as unknown as { requestId: string };
    const requests = async () => ((await commands.send('reconciliation', 'ListDataHubRequests', { gridArea: '804', period: '2026-10' }, { actor: 'test' })) as unknown as { requests: { requestId: string; status: string }[] }).requests;
    await eventually(async () => {
      await inbox.pollOnce();
      await reconciliation.runDue();
      expect((await requests()).map((q) => q.status)).toEqual(['answered', 'answered']);
      expect(await reportCount()).toBeGreaterThan(before);
    }, 60_000);
    expect((await requests())[0]!.requestId).toBe(asked.requestId);
    // DataHub's reject is a message of its own, which may come after the two answers.
    await eventually(async () => {
      await inbox.pollOnce();
      const rejected = ((await commands.send('reconciliation', 'ListDataHubRequests', { gridArea: '804', period: '2026-12' }, { actor: 'test' })) as unknown as { requests: { requestId: string; status: string; detail: JsonObject }[] }).requests;
      expect(rejected).toEqual([expect.objectContaining({ requestId: refused.requestId, status: 'rejected' })]);
    }, 60_000);
  });

  it('lets a correction settlement supersede the wholesale fixing, keeping the history', async () => {
    const before = await reportCount();
    sim.control.correctionSettlement('2026-10', 'D01');
    const results = await count(`SELECT count(*)::text AS n FROM reconciliation.datahub_results`);
    await advance('2026-11-03T13:00:00Z', { meteredDays: 3 * 31 + 22 + 1, results: results + 17, reports: before + 1 });
    const r = await eventually(async () => {
      await reconciliation.runDue();
      const latest = await report('804');
      expect(latest.summary['datahubWholesaleResult']).toMatch(/^D32\/D01 v\d+$/);
      return latest;
    }, 60_000);
    const labels = r.datahubResults.filter((x) => x['kind'] === 'wholesale').map((x) => `${x['businessReason']}${x['settlementVersion'] ? `/${x['settlementVersion']}` : ''}`);
    expect(labels).toEqual(expect.arrayContaining(['D05', 'D32/D01']));
    // DataHub's correction settles the corrected day it has sent us by now: the ghost and the unknown link remain.
    expect(r.findings.filter((f) => f.state !== 'resolved').map((f) => f.kind).sort()).toEqual(['charge-link-unknown-to-us', 'metering-point-not-supplied-by-us']);
  });

  it('keeps staff’s explanation and state changes with who and why', async () => {
    const r = await report('804');
    const ghost = r.findings.find((f) => f.kind === 'metering-point-not-supplied-by-us')!;
    await commands.send('reconciliation', 'ChangeFindingState', { findingId: ghost.findingId, action: 'resolve', note: 'BRS-003 raised: never our customer' }, { actor: 'staff:anna' });
    await expect(commands.send('reconciliation', 'ChangeFindingState', { findingId: ghost.findingId, action: 'resolve', note: 'again' }, { actor: 'staff:anna' })).rejects.toMatchObject({ type: 'illegal-transition' });
    const finding = (await commands.send('reconciliation', 'GetFinding', { findingId: ghost.findingId }, { actor: 'test' })) as unknown as { state: string; auditTrail: { type: string; by: string; note: string | null }[] };
    expect(finding.state).toBe('resolved');
    expect(finding.auditTrail.at(-1)).toMatchObject({ type: 'FindingResolved', by: 'staff:anna', note: 'BRS-003 raised: never our customer' });
  });

  it('shows the report stored last as the latest, even when its run read an earlier business time', async () => {
    const previous = await report('131');
    // A business clock that reads earlier than the last run's (a simulator's clock, a replica's clock behind).
    const earlier = new Date(Date.parse(String(previous.summary['completedAt'])) - 60_000);
    const run = await runOnce({ pool: infra.pool, store: infra.eventStore, now: () => earlier }, { supplierGln: US, quarterlyTransition: Date.parse('2023-05-21T22:00:00Z'), batchSize: 2 }, '131', '2026-10');
    const latest = await report('131');
    expect(latest.summary).toMatchObject({ runId: run.completed.runId, completedAt: earlier.toISOString() });
  });
});
