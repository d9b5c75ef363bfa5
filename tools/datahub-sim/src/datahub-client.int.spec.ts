import { parseCimXml, type CimDocument, type MarketResponse, type NotifyWholesaleServices } from '@dh/cim';
import { DataHubAuthError, DataHubClient, DataHubRequestError, DataHubUnavailableError, runInboxLoop, type DataHubClientOptions, type DataHubInbox, type InboxMessage, type KeptMessage, type RawInboxMessage, type ReceivedMessages, type StoreOutcome } from '@dh/datahub-client';
import { startDataHubSimulator, type RunningDataHubSimulator } from './index';
import { changeOfSupplier, MP_A, MP_FORCED, OUR_CLIENT, OUR_GLN, testScenario } from './testing/support';

const CATEGORIES = ['masterdata', 'measuredata', 'aggregations'] as const;

/** A store that is idempotent on the document mRID, as the event-sourced caller's is. */
class DedupingStore {
  readonly calls: string[] = [];
  readonly documents = new Map<string, CimDocument>();
  readonly store = async (message: InboxMessage): Promise<StoreOutcome> => {
    this.calls.push(message.document.header.mRID);
    if (this.documents.has(message.document.header.mRID)) return 'duplicate';
    this.documents.set(message.document.header.mRID, message.document);
    return 'stored';
  };
}

/** Kept messages in memory, as `ReceivedMessageStore` keeps them in PostgreSQL; records the most waiting at once. */
class MemoryReceived implements ReceivedMessages {
  readonly rows = new Map<string, RawInboxMessage>();
  private next = 1;
  mostWaiting = 0;
  readonly keep = async (message: RawInboxMessage): Promise<string> => {
    for (const [id, m] of this.rows) if (m.messageId === message.messageId && m.body === message.body) return id;
    const id = String(this.next++);
    this.rows.set(id, message);
    this.mostWaiting = Math.max(this.mostWaiting, this.rows.size);
    return id;
  };
  readonly pending = async (): Promise<KeptMessage[]> => [...this.rows].map(([id, message]) => ({ id, message }));
  readonly done = async (id: string): Promise<void> => {
    this.rows.delete(id);
  };
}

describe('DataHubClient and runInboxLoop against the simulator over HTTP', () => {
  let sim: RunningDataHubSimulator;
  let sleeps: number[];

  beforeEach(async () => {
    sim = await startDataHubSimulator({ port: 0, scenario: testScenario({ forcedSwitchDate: '2026-03-29' }) });
    sleeps = [];
  });

  afterEach(async () => {
    await sim.stop();
  });

  function client(overrides: Partial<DataHubClientOptions> = {}): DataHubClient {
    return new DataHubClient({
      baseUrl: sim.url,
      clientId: OUR_CLIENT.clientId,
      clientSecret: OUR_CLIENT.clientSecret,
      scope: 'sim/.default',
      // Record the back-off instead of waiting it out; one test below waits for real.
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      ...overrides,
    });
  }

  function loop(c: DataHubInbox, store: (m: InboxMessage) => Promise<StoreOutcome>, quarantine: (m: RawInboxMessage, reason: string) => Promise<void> = async () => undefined) {
    return runInboxLoop({ client: c, categories: CATEGORIES, store, quarantine, signal: new AbortController().signal, stopWhenIdle: true, errorDelayMs: 0 });
  }

  describe('tokens', () => {
    it('caches the token and refreshes it before it expires, without a 401', async () => {
      let now = Date.parse('2026-03-20T09:00:00Z');
      const c = client({ now: () => now });
      await c.peek('masterdata');
      await c.peek('masterdata');
      expect(sim.control.stats().tokensIssued).toBe(1);
      now += 54 * 60_000;
      await c.peek('masterdata');
      expect(sim.control.stats().tokensIssued).toBe(1);
      now += 2 * 60_000; // 56 minutes: inside the 5-minute refresh window of a 60-minute token
      sim.control.advanceTo('2026-03-20T09:56:00Z');
      await c.peek('masterdata');
      expect(sim.control.stats().tokensIssued).toBe(2);
      expect(sim.control.stats().unauthorized).toBe(0);
    });

    it('refreshes once after a 401 (token expired at DataHub) and gives up with DataHubAuthError if it persists', async () => {
      const c = client();
      await c.peek('masterdata');
      sim.control.advanceTo('2026-03-20T11:00:00Z'); // DataHub's clock: the cached token has expired
      expect(await c.peek('masterdata')).toBeNull();
      expect(sim.control.stats()).toMatchObject({ tokensIssued: 2, unauthorized: 1 });

      sim.control.setFaults({ expiredToken: 1 });
      expect(await c.peek('masterdata')).toBeNull();
      expect(sim.control.stats()).toMatchObject({ tokensIssued: 3, unauthorized: 2 });

      sim.control.setFaults({ expiredToken: 2 });
      await expect(c.peek('masterdata')).rejects.toMatchObject({ name: 'DataHubAuthError', status: 401 });
    });

    it('an unknown client is a DataHubAuthError (invalid_client)', async () => {
      const c = client({ clientSecret: 'wrong' });
      const error: unknown = await c.peek('masterdata').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataHubAuthError);
      expect(error).toMatchObject({ status: 401, code: 'invalid_client' });
    });
  });

  describe('back-off', () => {
    it('survives a burst of 429 (waiting at least Retry-After) and 503 (jittered back-off)', async () => {
      sim.control.setFaults({ tooManyRequests: 3, retryAfterSeconds: 2, unavailable: 2 });
      const c = client({ retry: { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 1_000 } });
      expect(await c.peek('masterdata')).toBeNull();
      expect(sim.control.stats()).toMatchObject({ throttled: 3, unavailable: 2 });
      expect(sleeps).toHaveLength(5);
      for (const ms of sleeps.slice(0, 3)) expect(ms).toBeGreaterThanOrEqual(2_000);
      // 503 at attempts 4 and 5: equal jitter of min(1000, 100 × 2^(n−1)) → [400, 800] and [500, 1000].
      expect(sleeps[3]).toBeGreaterThanOrEqual(400);
      expect(sleeps[3]).toBeLessThanOrEqual(800);
      expect(sleeps[4]).toBeGreaterThanOrEqual(500);
      expect(sleeps[4]).toBeLessThanOrEqual(1_000);
    });

    it('waits Retry-After for real with the default sleep', async () => {
      sim.control.setFaults({ tooManyRequests: 1, retryAfterSeconds: 1 });
      const c = new DataHubClient({ baseUrl: sim.url, clientId: OUR_CLIENT.clientId, clientSecret: OUR_CLIENT.clientSecret, scope: 's' });
      const started = Date.now();
      expect(await c.peek('masterdata')).toBeNull();
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    });

    it('gives up after the bounded attempts with DataHubUnavailableError carrying the attempts', async () => {
      sim.control.setFaults({ unavailable: 10 });
      const c = client({ retry: { maxAttempts: 3 } });
      const error: unknown = await c.peek('masterdata').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataHubUnavailableError);
      expect(error).toMatchObject({ attempts: 3, lastStatus: 503 });
      expect(sim.control.stats().unavailable).toBe(3);
    });

    it('a network failure (nothing listening) is retried and ends as DataHubUnavailableError', async () => {
      const c = client({ tokenUrl: `${sim.url}/oauth2/v2.0/token`, baseUrl: 'http://127.0.0.1:1', retry: { maxAttempts: 2 } });
      await expect(c.peek('masterdata')).rejects.toMatchObject({ name: 'DataHubUnavailableError', attempts: 2, lastStatus: undefined });
    });
  });

  describe('send', () => {
    it('POSTs RSM-001 as XML or JSON to its endpoint; the answer arrives by peek; DataHub refusals are DataHubRequestError', async () => {
      const c = client();
      await expect(c.send(changeOfSupplier(MP_A, '2026-03-31T22:00:00Z', 'x1'))).resolves.toMatchObject({ status: 202 });
      await expect(c.send(changeOfSupplier(MP_A, '2026-04-30T22:00:00Z', 'j1'), { format: 'json' })).resolves.toMatchObject({ status: 202 });
      const first = await c.peek('masterdata');
      expect((parseCimXml(first?.body ?? '') as MarketResponse).records[0]?.originalTransactionIDReference).toBe('tx-x1');

      const error: unknown = await c.send(changeOfSupplier(MP_A, '2026-03-31T22:00:00Z', 'x1')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataHubRequestError);
      expect(error).toMatchObject({ status: 400, code: 'DuplicateMessageId' });
      const inbound = { kind: 'NotifyWholesaleServices' } as NotifyWholesaleServices;
      await expect(c.send(inbound)).rejects.toThrow(TypeError);
      await expect(c.dequeue('no-such-message')).rejects.toMatchObject({ name: 'DataHubRequestError', status: 404 });
    });
  });

  describe('runInboxLoop', () => {
    it('absorbs a duplicate delivery: store sees the same mRID twice and keeps one', async () => {
      const c = client();
      sim.control.setFaults({ duplicateDelivery: 1 });
      await c.send(changeOfSupplier(MP_A, '2026-03-31T22:00:00Z', 'dup'));
      const store = new DedupingStore();
      const result = await loop(c, store.store);
      expect(store.calls).toHaveLength(2);
      expect(store.calls[0]).toBe(store.calls[1]);
      expect(store.documents.size).toBe(1);
      expect(result).toEqual({ stored: 1, duplicates: 1, quarantined: 0, errors: 0 });
      expect(sim.control.queueDepths()[OUR_GLN]).toEqual({ measuredata: 0, aggregations: 0, masterdata: 0 });
    });

    it('quarantines a malformed message with its raw body and reason, then dequeues it', async () => {
      const c = client();
      sim.control.setFaults({ malformedMessage: { category: 'measuredata' } });
      const peeked = await c.peek('measuredata');
      const quarantined: { message: RawInboxMessage; reason: string }[] = [];
      const store = new DedupingStore();
      const result = await loop(c, store.store, async (message, reason) => {
        quarantined.push({ message, reason });
      });
      expect(result).toEqual({ stored: 0, duplicates: 0, quarantined: 1, errors: 0 });
      expect(store.calls).toHaveLength(0);
      expect(quarantined).toHaveLength(1);
      expect(quarantined[0]?.message).toMatchObject({ category: 'measuredata', messageId: peeked?.messageId, body: peeked?.body });
      expect(quarantined[0]?.message.body.length).toBeGreaterThan(100);
      expect(quarantined[0]?.reason).toMatch(/^MALFORMED_XML/);
      expect(await c.peek('measuredata')).toBeNull();
    });

    it('a message is dequeued only after it is quarantined: a failing quarantine keeps it in the queue', async () => {
      const c = client();
      sim.control.setFaults({ malformedMessage: { category: 'masterdata' } });
      let failures = 1;
      const reasons: string[] = [];
      const errors: string[] = [];
      const result = await runInboxLoop({
        client: c,
        categories: ['masterdata'],
        store: async () => 'stored',
        quarantine: async (_m, reason) => {
          if (failures-- > 0) throw new Error('quarantine table unavailable');
          reasons.push(reason);
        },
        signal: new AbortController().signal,
        stopWhenIdle: true,
        errorDelayMs: 0,
        onError: (_e, ctx) => errors.push(ctx.stage),
      });
      expect(errors).toEqual(['quarantine']);
      expect(reasons).toHaveLength(1);
      expect(result).toMatchObject({ quarantined: 1, errors: 1 });
      expect(await c.peek('masterdata')).toBeNull();
    });

    it('a crash between store and dequeue re-delivers the message, and store absorbs it as a duplicate', async () => {
      const c = client();
      await c.send(changeOfSupplier(MP_A, '2026-03-31T22:00:00Z', 'crash'));
      let failDequeue = true;
      const flaky: DataHubInbox = {
        peek: (category) => c.peek(category),
        dequeue: async (id) => {
          if (failDequeue) {
            failDequeue = false;
            throw new Error('connection reset before dequeue');
          }
          return c.dequeue(id);
        },
      };
      const store = new DedupingStore();
      const stages: string[] = [];
      const result = await runInboxLoop({ client: flaky, categories: CATEGORIES, store: store.store, quarantine: async () => undefined, signal: new AbortController().signal, stopWhenIdle: true, errorDelayMs: 0, onError: (_e, ctx) => stages.push(ctx.stage) });
      expect(stages).toEqual(['dequeue']);
      expect(store.calls).toHaveLength(2);
      expect(store.documents.size).toBe(1);
      expect(result).toEqual({ stored: 1, duplicates: 1, quarantined: 0, errors: 1 });
      expect(await c.peek('masterdata')).toBeNull();
    });

    it('consumes every message of a simulated effective date exactly once, through 429/503 bursts and a duplicate', async () => {
      const c = client();
      await c.send(changeOfSupplier(MP_A, '2026-03-28T23:00:00Z', 'eff'));
      sim.control.advanceTo('2026-03-28T23:00:00Z'); // the effective date starts: RSM-004/RSM-022 are enqueued
      sim.control.setFaults({ duplicateDelivery: 1 }); // the day's first RSM-012 (ours, MP_A) arrives twice
      sim.control.advanceTo('2026-03-29T22:00:00Z');
      sim.control.setFaults({ tooManyRequests: 2, retryAfterSeconds: 1, unavailable: 2 });
      const store = new DedupingStore();
      const controller = new AbortController();
      const result = await runInboxLoop({ client: c, categories: CATEGORIES, store: store.store, quarantine: async () => undefined, signal: controller.signal, stopWhenIdle: true, errorDelayMs: 0 });

      const docs = [...store.documents.values()];
      // confirm; RSM-004 + RSM-022 for our switch and for the forced switch; one RSM-012 per metering point for 29 March.
      expect(docs.map((d) => d.kind).sort()).toEqual(
        ['AccountingPointCharacteristics', 'AccountingPointCharacteristics', 'GenericNotification', 'GenericNotification', 'MarketResponse', 'NotifyValidatedMeasureData', 'NotifyValidatedMeasureData'].sort(),
      );
      const series = docs.flatMap((d) => (d.kind === 'NotifyValidatedMeasureData' ? d.series : []));
      expect(series.map((s) => [s.meteringPointId, s.period.points.length]).sort()).toEqual([
        [MP_A, 92],
        [MP_FORCED, 92],
      ]);
      expect(result).toEqual({ stored: 7, duplicates: 1, quarantined: 0, errors: 0 });
      expect(store.calls).toHaveLength(8);
      expect(sim.control.stats()).toMatchObject({ throttled: 2, unavailable: 2 });
      expect(sim.control.queueDepths()[OUR_GLN]).toEqual({ measuredata: 0, aggregations: 0, masterdata: 0 });
    });

    it('stops when the signal aborts while idle', async () => {
      const c = client();
      const controller = new AbortController();
      const running = runInboxLoop({ client: c, categories: ['masterdata'], store: async () => 'stored', quarantine: async () => undefined, signal: controller.signal, idleDelayMs: 60_000 });
      setTimeout(() => controller.abort(), 50);
      await expect(running).resolves.toEqual({ stored: 0, duplicates: 0, quarantined: 0, errors: 0 });
    });
  });
  describe('runInboxLoop, record first (received)', () => {
    /** The effective date of a switch: 7 documents, the first RSM-012 delivered twice. */
    async function effectiveDate(c: DataHubClient): Promise<void> {
      await c.send(changeOfSupplier(MP_A, '2026-03-28T23:00:00Z', 'eff'));
      sim.control.advanceTo('2026-03-28T23:00:00Z');
      sim.control.setFaults({ duplicateDelivery: 1 });
      sim.control.advanceTo('2026-03-29T22:00:00Z');
    }

    it('keeps, dequeues and stores behind every message once, in order, at most maxAhead kept and waiting', async () => {
      const c = client();
      await effectiveDate(c);
      const received = new MemoryReceived();
      const order: string[] = [];
      const kept: string[] = [];
      const store = new DedupingStore();
      const slowStore = async (message: InboxMessage): Promise<StoreOutcome> => {
        order.push(message.messageId);
        await new Promise((resolve) => setTimeout(resolve, 20));
        return store.store(message);
      };
      const keeping: ReceivedMessages = { ...received, keep: async (m) => (kept.push(m.messageId), received.keep(m)) };
      const result = await runInboxLoop({ client: c, categories: CATEGORIES, store: slowStore, quarantine: async () => undefined, signal: new AbortController().signal, stopWhenIdle: true, errorDelayMs: 0, received: keeping, maxAhead: 2 });
      expect(result).toEqual({ stored: 7, duplicates: 1, quarantined: 0, errors: 0 });
      expect(order).toEqual(kept);
      expect(received.mostWaiting).toBeLessThanOrEqual(2);
      expect(received.rows.size).toBe(0);
      expect(sim.control.queueDepths()[OUR_GLN]).toEqual({ measuredata: 0, aggregations: 0, masterdata: 0 });
    });

    it('a crash after the dequeue loses nothing: the kept copy is processed first when the loop starts again', async () => {
      const c = client();
      await c.send(changeOfSupplier(MP_A, '2026-03-31T22:00:00Z', 'kept'));
      await c.send(changeOfSupplier(MP_A, '2026-04-30T22:00:00Z', 'later'));
      // The previous loop kept the first answer and dequeued it, then died before storing it.
      const received = new MemoryReceived();
      const first = await c.peek('masterdata');
      if (!first) throw new Error('no message');
      await received.keep({ category: 'masterdata', ...first });
      await c.dequeue(first.messageId);
      const store = new DedupingStore();
      const result = await runInboxLoop({ client: c, categories: CATEGORIES, store: store.store, quarantine: async () => undefined, signal: new AbortController().signal, stopWhenIdle: true, errorDelayMs: 0, received });
      expect(result).toEqual({ stored: 2, duplicates: 0, quarantined: 0, errors: 0 });
      const answered = [...store.documents.values()].map((d) => (d.kind === 'MarketResponse' ? d.records[0]?.originalTransactionIDReference : d.kind));
      expect(answered).toEqual(['tx-kept', 'tx-later']);
      expect(received.rows.size).toBe(0);
    });

    it('a failing store is retried on the same message, the later ones behind it; a failed dequeue is kept under the same id', async () => {
      const c = client();
      await effectiveDate(c);
      let failStores = 2;
      let failDequeue = true;
      const flaky: DataHubInbox = {
        peek: (category) => c.peek(category),
        dequeue: async (id) => {
          if (failDequeue) {
            failDequeue = false;
            throw new Error('connection reset before dequeue');
          }
          return c.dequeue(id);
        },
      };
      const store = new DedupingStore();
      const order: string[] = [];
      const stages: string[] = [];
      const received = new MemoryReceived();
      const result = await runInboxLoop({
        client: flaky,
        categories: CATEGORIES,
        store: async (m) => {
          if (failStores-- > 0) throw new Error('event store unavailable');
          order.push(m.messageId);
          return store.store(m);
        },
        quarantine: async () => undefined,
        signal: new AbortController().signal,
        stopWhenIdle: true,
        errorDelayMs: 0,
        onError: (_e, ctx) => stages.push(ctx.stage),
        received,
      });
      expect(stages.sort()).toEqual(['dequeue', 'store', 'store']);
      // Every document stored once; the message whose dequeue failed was kept once (same id) and processed once,
      // or, when it was already processed before it was peeked again, found a duplicate.
      expect(store.documents.size).toBe(7);
      expect(result.stored).toBe(7);
      expect(result.duplicates === 1 || result.duplicates === 2).toBe(true);
      expect(result.errors).toBe(3);
      expect(order).toHaveLength(7 + result.duplicates);
      expect(received.rows.size).toBe(0);
    });
  });
});
