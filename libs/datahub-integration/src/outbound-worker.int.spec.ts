import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Pool } from 'pg';
import type { CimDocument } from '@dh/cim';
import { DataHubClient } from '@dh/datahub-client';
import { startDataHubSimulator, type RunningDataHubSimulator } from '@dh/datahub-sim';
import { createPostgresEventStore, type JsonObject, type PostgresEventStore } from '@dh/event-store';
import { AmqpConnection, createRelay, silentMessagingLogger, type EventRelay } from '@dh/messaging';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { DataHubInboxWorker } from './datahub-inbox';
import { migrateOutboundRequests, outboundProcessResolver, startOutboundWorker, type OutboundWorker } from './outbound-worker';
import { QuarantineStore } from './quarantine.store';

const scenario = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../tools/datahub-sim/scenarios/example.json'), 'utf8')) as Record<string, unknown>;
const GSRN = '571313180400000018';

describe('outbound BRS requests', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: Pool;
  let store: PostgresEventStore;
  let connection: AmqpConnection;
  let relay: EventRelay;
  let sim: RunningDataHubSimulator;
  let worker: OutboundWorker;
  let inbox: DataHubInboxWorker;
  let crashAfterNextSend = false;
  const identityCalls: string[] = [];
  const failIdentityOf = new Set<string>();
  /** Transactions of this database left open across a remote call (none may be). */
  const heldAcrossRemoteCalls: string[] = [];
  let observer: Pool;
  const checkNoTransactionHeld = async (call: string) => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { rows } = await observer.query<{ query: string }>(
      // A transaction left waiting on something outside the database sits idle in transaction for the whole call.
      `SELECT query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%' AND now() - state_change > interval '250 milliseconds'`,
    );
    heldAcrossRemoteCalls.push(...rows.map((r) => `${call}: ${r.query}`));
  };

  const events = async (type: string) =>
    (await pool.query<{ data: JsonObject }>('SELECT data FROM event_store.events WHERE type = $1 ORDER BY global_position', [type])).rows.map((r) => r.data);

  const appendPortfolioEvent = (processId: string, type: string, data: JsonObject) =>
    store.appendToStream(
      `process-${processId}`,
      [{ eventId: randomUUID(), type, data, metadata: { correlationId: processId, causationId: null, actor: 'test', schemaVersion: 1, context: 'portfolio' }, occurredAt: new Date() }],
      { expectedRevision: 'any' },
    );

  beforeAll(async () => {
    db = await createTestDatabase('outbound');
    vhost = await createTestVhost('outbound');
    pool = new Pool({ connectionString: db.url });
    observer = new Pool({ connectionString: db.url, max: 1 });
    store = await createPostgresEventStore({ pool, pollIntervalMs: 100 });
    connection = new AmqpConnection({ url: vhost.url, logger: silentMessagingLogger });
    await connection.connect();
    sim = await startDataHubSimulator({ port: 0, scenario });
    const client = new DataHubClient({ baseUrl: sim.url, clientId: 'our-supplier', clientSecret: 's3cret-our-supplier', scope: 'datahub3' });
    const crashingClient = {
      async send(document: CimDocument) {
        await checkNoTransactionHeld(`send ${document.kind}`);
        const result = await client.send(document);
        if (crashAfterNextSend) {
          crashAfterNextSend = false;
          throw new Error('process died after DataHub accepted the request');
        }
        return result;
      },
    };
    worker = await startOutboundWorker({
      pool,
      eventStore: store,
      connection,
      client: crashingClient,
      parties: { supplierGln: '5799999933318', dataHubGln: '5790001330552' },
      identityOf: async (processId) => {
        identityCalls.push(processId);
        await checkNoTransactionHeld('identity look-up');
        if (failIdentityOf.has(processId)) throw new Error('portfolio did not answer');
        return { customerName: 'Anna Hansen', cpr: '0101901234', cvr: null };
      },
      maxAttempts: 5,
      logger: silentMessagingLogger,
    });
    relay = createRelay({ eventStore: store, connection, pool, name: 'domain-events', logger: silentMessagingLogger });
    await relay.start();
    const quarantine = new QuarantineStore(pool);
    await quarantine.migrate();
    await migrateOutboundRequests(pool);
    inbox = new DataHubInboxWorker({ client, categories: ['masterdata'], eventStore: store, quarantine, resolveProcesses: outboundProcessResolver(pool) });
  });

  afterAll(async () => {
    await worker.stop();
    await relay.stop();
    await connection.close();
    await sim.stop();
    await store.close();
    await observer.end();
    await pool.end();
    await vhost.drop();
    await db.drop();
  });

  it('sends one RSM-001 per requested switch, even when the process dies right after DataHub accepted it', async () => {
    const processId = randomUUID();
    crashAfterNextSend = true;
    await appendPortfolioEvent(processId, 'ChangeOfSupplierRequested', { processId, gsrn: GSRN, customerId: randomUUID(), effectiveDate: '2026-03-22', businessReason: 'E03', at: new Date().toISOString() });

    const sent = await eventually(async () => {
      const found = (await events('DataHubRequestSent')).filter((e) => e.processId === processId);
      expect(found).toHaveLength(1);
      return found[0];
    }, 20_000);
    expect(sent).toMatchObject({ action: 'change-of-supplier', transactionId: processId, gsrn: GSRN });
    expect(sim.control.stats().requestsAccepted).toBe(1);
    expect(identityCalls.filter((id) => id === processId).length).toBeGreaterThanOrEqual(1);
    expect(worker.stats()).toMatchObject({ halted: null });

    await inbox.pollOnce();
    const answers = (await events('DataHubAnswerReceived')).filter((e) => e.originalTransactionId === processId);
    expect(answers).toEqual([expect.objectContaining({ accepted: true, gsrn: GSRN, processId })]);
  });

  it('cancels a sent request with RSM-002, after the request and never before it', async () => {
    const processId = randomUUID();
    await appendPortfolioEvent(processId, 'ChangeOfSupplierRequested', { processId, gsrn: GSRN, customerId: randomUUID(), effectiveDate: '2026-03-23', businessReason: 'E03', at: new Date().toISOString() });
    await appendPortfolioEvent(processId, 'ProcessCancelled', { processId, reason: 'customer-withdrew', notifyDataHub: true, at: new Date().toISOString() });
    await eventually(async () => {
      const actions = (await events('DataHubRequestSent')).filter((e) => e.processId === processId).map((e) => e.action);
      expect(actions).toEqual(['change-of-supplier', 'cancel']);
    }, 20_000);
    await inbox.pollOnce();
    const answers = (await events('DataHubAnswerReceived')).filter((e) => e.processId === processId);
    expect(answers.map((a) => [a.documentName, a.accepted])).toEqual([
      [expect.any(String), true],
      [expect.any(String), true],
    ]);
    expect(answers[1].originalTransactionId).not.toBe(processId);
  });

  it('records a request DataHub refuses outright instead of retrying it forever', async () => {
    const processId = randomUUID();
    await appendPortfolioEvent(processId, 'EndOfSupplyRequested', { processId, gsrn: '571313180400000099', customerId: randomUUID(), effectiveDate: '2026-04-30', businessReason: 'E20', endReason: 'non-payment', at: new Date().toISOString() });
    const outcome = await eventually(async () => {
      const sent = (await events('DataHubRequestSent')).filter((e) => e.processId === processId);
      const refused = (await events('DataHubRequestRefused')).filter((e) => e.processId === processId);
      expect(sent.length + refused.length).toBe(1);
      return { sent, refused };
    }, 20_000);
    // An unknown metering point is either refused on receipt (400) or answered with a rejection later.
    if (outcome.refused.length === 1) expect(outcome.refused[0].refusal).toMatchObject({ status: 400 });
    else {
      await inbox.pollOnce();
      const answers = (await events('DataHubAnswerReceived')).filter((e) => e.originalTransactionId === processId);
      expect(answers).toEqual([expect.objectContaining({ accepted: false })]);
    }
    expect(worker.stats()).toMatchObject({ halted: null });
  });

  it('holds no database transaction open while it asks the portfolio and DataHub', () => {
    expect(identityCalls.length).toBeGreaterThan(0);
    expect(heldAcrossRemoteCalls).toEqual([]);
  });

  it('keeps sending for other processes while one process\'s look-up fails, and sends that one once it answers', async () => {
    const stuck = randomUUID();
    const other = randomUUID();
    failIdentityOf.add(stuck);
    await appendPortfolioEvent(stuck, 'ChangeOfSupplierRequested', { processId: stuck, gsrn: GSRN, customerId: randomUUID(), effectiveDate: '2026-03-24', businessReason: 'E03', at: new Date().toISOString() });
    await appendPortfolioEvent(other, 'ChangeOfSupplierRequested', { processId: other, gsrn: GSRN, customerId: randomUUID(), effectiveDate: '2026-03-25', businessReason: 'E03', at: new Date().toISOString() });
    await eventually(async () => expect((await events('DataHubRequestSent')).filter((e) => e.processId === other)).toHaveLength(1), 20_000);
    const { rows } = await pool.query<{ outcome: string; last_error: string | null }>(`SELECT outcome, last_error FROM datahub.outbound_requests WHERE process_id = $1`, [stuck]);
    expect(rows).toEqual([{ outcome: 'pending', last_error: 'portfolio did not answer' }]);
    expect(worker.stats()).toMatchObject({ halted: null });

    failIdentityOf.delete(stuck);
    await pool.query(`UPDATE datahub.outbound_requests SET next_attempt_at = now() WHERE process_id = $1`, [stuck]);
    await worker.sendDue();
    await eventually(async () => expect((await events('DataHubRequestSent')).filter((e) => e.processId === stuck)).toHaveLength(1), 20_000);
  });

  it('skips the cancellation of a request DataHub refused, and sends nothing for it', async () => {
    const processId = randomUUID();
    await appendPortfolioEvent(processId, 'EndOfSupplyRequested', { processId, gsrn: '571313180400000099', customerId: randomUUID(), effectiveDate: '2026-05-31', businessReason: 'E20', endReason: 'non-payment', at: new Date().toISOString() });
    await appendPortfolioEvent(processId, 'ProcessCancelled', { processId, reason: 'customer-paid', notifyDataHub: true, at: new Date().toISOString() });
    const outcomes = await eventually(async () => {
      const { rows } = await pool.query<{ action: string; outcome: string }>(`SELECT action, outcome FROM datahub.outbound_requests WHERE process_id = $1 ORDER BY seq`, [processId]);
      expect(rows.every((r) => r.outcome !== 'pending')).toBe(true);
      expect(rows.length).toBeGreaterThan(0);
      return rows;
    }, 20_000);
    if (outcomes[0].outcome === 'refused') {
      // Recorded as intent while the request was pending, then skipped: DataHub never had the request.
      expect(outcomes).toEqual([
        { action: 'end-of-supply', outcome: 'refused' },
        { action: 'cancel', outcome: 'skipped' },
      ]);
      expect((await events('DataHubRequestSent')).filter((e) => e.processId === processId)).toEqual([]);
    } else {
      expect(outcomes.map((o) => o.outcome)).toEqual(['sent', 'sent']);
    }
  });

  it('parks an event no request can be made of in the DLQ and goes on with the processes behind it', async () => {
    const broken = randomUUID();
    const next = randomUUID();
    await appendPortfolioEvent(broken, 'ChangeOfSupplierRequested', { processId: broken, customerId: randomUUID(), effectiveDate: '2026-03-26', businessReason: 'E03', at: new Date().toISOString() });
    await appendPortfolioEvent(next, 'ChangeOfSupplierRequested', { processId: next, gsrn: GSRN, customerId: randomUUID(), effectiveDate: '2026-03-27', businessReason: 'E03', at: new Date().toISOString() });
    await eventually(async () => expect((await events('DataHubRequestSent')).filter((e) => e.processId === next)).toHaveLength(1), 20_000);
    expect(worker.stats()).toMatchObject({ halted: null, deadLettered: 1 });
    const { rows } = await pool.query(`SELECT 1 FROM datahub.outbound_requests WHERE process_id = $1`, [broken]);
    expect(rows).toEqual([]);
  });
});
