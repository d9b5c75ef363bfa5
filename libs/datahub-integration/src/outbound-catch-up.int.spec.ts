import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Pool } from 'pg';
import type { CimDocument } from '@dh/cim';
import { DataHubClient } from '@dh/datahub-client';
import { startDataHubSimulator, type RunningDataHubSimulator } from '@dh/datahub-sim';
import { createPostgresEventStore, type JsonObject, type PostgresEventStore } from '@dh/event-store';
import { AmqpConnection, createRelay, listSkippedByCutoff, replaySkippedByCutoff, silentMessagingLogger, type EventRelay } from '@dh/messaging';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { OUTBOUND_BINDINGS, OUTBOUND_QUEUE, startOutboundWorker, type OutboundWorker, type OutboundWorkerOptions } from './outbound-worker';

jest.setTimeout(60_000);

const scenario = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../tools/datahub-sim/scenarios/example.json'), 'utf8')) as Record<string, unknown>;
const GSRN = '571313180400000018';

/**
 * Catch-up for a consumer that acts outside the database: the DataHub outbound requests. Events published before
 * the queue had a binding for them went nowhere; the worker catches up from the event store through the same inbox
 * and outbox as live events, and the sender sends after commit. Each request reaches the outbox and DataHub once.
 */
describe('outbound BRS requests: catch-up from the event store', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: Pool;
  let store: PostgresEventStore;
  let connection: AmqpConnection;
  let relay: EventRelay;
  let sim: RunningDataHubSimulator;
  let client: DataHubClient;
  /** Document ids (header mRID) DataHub was sent, in order. */
  const sentDocuments: string[] = [];
  let worker: OutboundWorker | null = null;
  let dates = 0;

  const appendPortfolioEvent = (processId: string, type: string, data: JsonObject) =>
    store.appendToStream(
      `process-${processId}`,
      [{ eventId: randomUUID(), type, data, metadata: { correlationId: processId, causationId: null, actor: 'test', schemaVersion: 1, context: 'portfolio' }, occurredAt: new Date() }],
      { expectedRevision: 'any' },
    );
  const requestSwitch = (processId: string) => {
    dates++;
    const effectiveDate = `2026-05-${String(dates).padStart(2, '0')}`;
    return appendPortfolioEvent(processId, 'ChangeOfSupplierRequested', { processId, gsrn: GSRN, customerId: randomUUID(), effectiveDate, businessReason: 'E03', at: new Date().toISOString() });
  };
  const outbox = async (processIds: string[]) =>
    (
      await pool.query<{ process_id: string; action: string; outcome: string }>(
        'SELECT process_id, action, outcome FROM datahub.outbound_requests WHERE process_id = ANY($1) ORDER BY process_id, seq',
        [processIds],
      )
    ).rows;
  const sentEvents = async (processIds: string[]) =>
    (await pool.query<{ data: JsonObject }>(`SELECT data FROM event_store.events WHERE type = 'DataHubRequestSent' AND data->>'processId' = ANY($1)`, [processIds])).rows.map((r) => r.data);

  /** Until the relay has published everything in the store so far. */
  const relayPassed = async () => {
    const last = (await store.readAll()).at(-1)!.checkpoint;
    await eventually(async () => {
      const { rows } = await pool.query<{ checkpoint: string }>(`SELECT checkpoint FROM messaging.relay_checkpoints WHERE name = 'domain-events'`);
      expect(rows[0]?.checkpoint).toBe(last);
    });
  };

  async function start(options: Partial<OutboundWorkerOptions> = {}): Promise<OutboundWorker> {
    worker = await startOutboundWorker({
      pool,
      eventStore: store,
      connection,
      client: {
        async send(document: CimDocument) {
          const result = await client.send(document);
          sentDocuments.push(document.header.mRID);
          return result;
        },
      },
      parties: { supplierGln: '5799999933318', dataHubGln: '5790001330552' },
      identityOf: async () => ({ customerName: 'Anna Hansen', cpr: '0101901234', cvr: null }),
      maxAttempts: 5,
      pollMs: 200,
      logger: silentMessagingLogger,
      ...options,
    });
    return worker;
  }

  beforeAll(async () => {
    db = await createTestDatabase('outbound_catch_up');
    vhost = await createTestVhost('outbound_catch_up');
    pool = new Pool({ connectionString: db.url, max: 10 });
    store = await createPostgresEventStore({ pool, pollIntervalMs: 50 });
    connection = new AmqpConnection({ url: vhost.url, logger: silentMessagingLogger });
    await connection.connect();
    sim = await startDataHubSimulator({ port: 0, scenario });
    client = new DataHubClient({ baseUrl: sim.url, clientId: 'our-supplier', clientSecret: 's3cret-our-supplier', scope: 'datahub3' });
    relay = createRelay({ eventStore: store, connection, pool, name: 'domain-events', logger: silentMessagingLogger, restartDelayMs: 100, lockRetryMs: 100 });
    await relay.start();
  });

  afterEach(async () => {
    await worker?.stop();
    worker = null;
  });

  afterAll(async () => {
    await relay?.stop();
    await connection?.close();
    await sim?.stop();
    await store?.close();
    await pool?.end();
    await vhost?.drop();
    await db?.drop();
  });

  it('fresh deployment: requests appended and published before the worker ever started reach its outbox and DataHub once each, live ones after them', async () => {
    const early = [randomUUID(), randomUUID(), randomUUID()];
    for (const processId of early) await requestSwitch(processId);
    // Published while no queue was bound to portfolio.change-of-supplier-requested: gone from the bus.
    await relayPassed();
    expect(relay.stats().published).toBe(3);

    const w = await start();
    // Caught up before start returned: the intents are committed.
    expect((await outbox(early)).map((r) => r.action)).toEqual(['change-of-supplier', 'change-of-supplier', 'change-of-supplier']);
    expect(w.stats().caughtUp).toBe(3);
    const live = randomUUID();
    await requestSwitch(live);

    const all = [...early, live];
    await eventually(async () => expect((await outbox(all)).map((r) => r.outcome)).toEqual(['sent', 'sent', 'sent', 'sent']), 30_000);
    await eventually(async () => expect(await sentEvents(all)).toHaveLength(4));
    await w.sendDue();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rows = await outbox(all);
    expect(rows).toHaveLength(4);
    const documents = (await pool.query<{ document_id: string }>('SELECT document_id FROM datahub.outbound_requests WHERE process_id = ANY($1)', [all])).rows.map((r) => r.document_id);
    for (const id of documents) expect(sentDocuments.filter((d) => d === id)).toHaveLength(1);
    expect(await sentEvents(all)).toHaveLength(4);
    const declared = await pool.query<{ pattern: string }>('SELECT pattern FROM messaging.consumer_bindings WHERE queue = $1 ORDER BY pattern', [OUTBOUND_QUEUE]);
    expect(declared.rows.map((r) => r.pattern)).toEqual([...OUTBOUND_BINDINGS].sort());
  });

  it('a new binding on the existing queue: cancellations published before the release bound them are caught up and sent once, after their requests; the requests are not sent again', async () => {
    // The earlier release of this queue did not bind portfolio.process-cancelled.
    const without = OUTBOUND_BINDINGS.filter((pattern) => pattern !== 'portfolio.process-cancelled');
    await pool.query('DELETE FROM messaging.consumer_bindings WHERE queue = $1 AND pattern = $2', [OUTBOUND_QUEUE, 'portfolio.process-cancelled']);
    const unbind = await connection.waitForConnection();
    const channel = await unbind.createChannel();
    await channel.unbindQueue(OUTBOUND_QUEUE, 'domain.events', 'portfolio.process-cancelled');
    await channel.close();

    const first = await start({ bindings: without });
    const cancelled = [randomUUID(), randomUUID()];
    const kept = randomUUID();
    for (const processId of [...cancelled, kept]) await requestSwitch(processId);
    await eventually(async () => expect((await outbox([...cancelled, kept])).map((r) => r.outcome)).toEqual(['sent', 'sent', 'sent']), 30_000);
    for (const processId of cancelled) await appendPortfolioEvent(processId, 'ProcessCancelled', { processId, reason: 'customer-withdrew', notifyDataHub: true, at: new Date().toISOString() });
    await relayPassed();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Routed nowhere: the queue had no binding for them.
    expect((await outbox(cancelled)).filter((r) => r.action === 'cancel')).toEqual([]);
    expect(first.stats().caughtUp).toBe(0);
    await first.stop();
    worker = null;

    const second = await start();
    expect(second.stats().caughtUp).toBe(2);
    await eventually(async () => {
      const rows = await outbox([...cancelled, kept]);
      expect(rows.filter((r) => r.action === 'cancel').map((r) => r.outcome)).toEqual(['sent', 'sent']);
    }, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rows = await outbox([...cancelled, kept]);
    expect(rows.map((r) => `${r.action}:${r.outcome}`).sort()).toEqual(['cancel:sent', 'cancel:sent', 'change-of-supplier:sent', 'change-of-supplier:sent', 'change-of-supplier:sent']);
    const documents = (await pool.query<{ document_id: string }>('SELECT document_id FROM datahub.outbound_requests WHERE process_id = ANY($1)', [[...cancelled, kept]])).rows.map((r) => r.document_id);
    expect(documents).toHaveLength(5);
    for (const id of documents) expect(sentDocuments.filter((d) => d === id)).toHaveLength(1);
    for (const processId of cancelled) {
      const actions = (await sentEvents([processId])).map((e) => e.action);
      expect(actions).toEqual(['change-of-supplier', 'cancel']);
    }
    // Nothing came through the queue: the cancellations were only in the store.
    expect(second.stats().applied).toBe(0);
  });

  it('a new binding with the default cut-off (a day before the binding appears): a cancellation recorded two years ago is not sent but recorded as skipped, a recent one is sent exactly once; a deliberate replay sends the old one once', async () => {
    const without = OUTBOUND_BINDINGS.filter((pattern) => pattern !== 'portfolio.process-cancelled');
    await pool.query('DELETE FROM messaging.consumer_bindings WHERE queue = $1 AND pattern = $2', [OUTBOUND_QUEUE, 'portfolio.process-cancelled']);
    await pool.query('DELETE FROM messaging.catch_up_cutoffs WHERE queue = $1', [OUTBOUND_QUEUE]);
    const unbind = await connection.waitForConnection();
    const channel = await unbind.createChannel();
    await channel.unbindQueue(OUTBOUND_QUEUE, 'domain.events', 'portfolio.process-cancelled');
    await channel.close();

    const first = await start({ bindings: without });
    const old = randomUUID();
    const recent = randomUUID();
    for (const processId of [old, recent]) await requestSwitch(processId);
    await eventually(async () => expect((await outbox([old, recent])).map((r) => r.outcome)).toEqual(['sent', 'sent']), 30_000);
    for (const processId of [old, recent]) await appendPortfolioEvent(processId, 'ProcessCancelled', { processId, reason: 'customer-withdrew', notifyDataHub: true, at: new Date().toISOString() });
    await relayPassed();
    // The old one as if recorded two years before the release that binds the pattern.
    await pool.query(`UPDATE event_store.events SET recorded_at = now() - interval '2 years' WHERE type = 'ProcessCancelled' AND data->>'processId' = $1`, [old]);
    await first.stop();
    worker = null;

    const second = await start();
    expect(second.stats().caughtUp).toBe(1);
    expect(second.stats().skippedByCutoff).toBe(1);
    await eventually(async () => expect((await outbox([recent])).map((r) => `${r.action}:${r.outcome}`)).toEqual(['change-of-supplier:sent', 'cancel:sent']), 30_000);
    await second.sendDue();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await outbox([old])).map((r) => r.action)).toEqual(['change-of-supplier']);
    expect((await sentEvents([old])).map((e) => e.action)).toEqual(['change-of-supplier']);
    expect((await sentEvents([recent])).map((e) => e.action).sort()).toEqual(['cancel', 'change-of-supplier']);
    const recentCancel = (await pool.query<{ document_id: string }>(`SELECT document_id FROM datahub.outbound_requests WHERE process_id = $1 AND action = 'cancel'`, [recent])).rows[0]!.document_id;
    expect(sentDocuments.filter((d) => d === recentCancel)).toHaveLength(1);
    // Recorded, with its count and when, for an operator.
    const skipped = await listSkippedByCutoff(pool, OUTBOUND_QUEUE);
    expect(skipped.map((s) => ({ pattern: s.pattern, skipped: s.skipped, replayed: s.replayed }))).toEqual([{ pattern: 'portfolio.process-cancelled', skipped: 1, replayed: null }]);
    expect(skipped[0]!.oldest!.getTime()).toBeLessThan(Date.now() - 700 * 24 * 3_600_000);
    expect(Math.abs(skipped[0]!.cutoff.getTime() - (Date.now() - 24 * 3_600_000))).toBeLessThan(60_000);

    // An operator decides the old cancellation must go out after all: it is sent once, a second replay puts nothing in.
    expect(await replaySkippedByCutoff({ pool, eventStore: store, connection, queue: OUTBOUND_QUEUE, by: 'operator@test' })).toBe(1);
    await eventually(async () => expect((await sentEvents([old])).map((e) => e.action).sort()).toEqual(['cancel', 'change-of-supplier']), 30_000);
    expect(await replaySkippedByCutoff({ pool, eventStore: store, connection, queue: OUTBOUND_QUEUE, by: 'operator@test' })).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await sentEvents([old, recent])).map((e) => e.action).sort()).toEqual(['cancel', 'cancel', 'change-of-supplier', 'change-of-supplier']);
    expect((await listSkippedByCutoff(pool, OUTBOUND_QUEUE))[0]).toMatchObject({ skipped: 1, replayed: 1, replayedBy: 'operator@test' });
  });
});
