import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { betalingsserviceCustomerNumber, type Creditor } from '@dh/betalingsservice';
import { createPostgresEventStore, type PostgresEventStore } from '@dh/event-store';
import { AmqpConnection, createRelay, DEFAULT_EVENT_EXCHANGE, silentMessagingLogger, type EventRelay } from '@dh/messaging';
import { startPbsSimulator, type RunningPbsSimulator } from '@dh/pbs-sim';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { BetalingsserviceSftp, COLLECTIONS_QUEUE, startBetalingsserviceWorker, type BetalingsserviceWorker } from '@dh/datahub-integration';

jest.setTimeout(60_000);

const creditor: Creditor = { dataSupplierNumber: '12345678', pbsNumber: '03985644', debtorGroup: '00001', registrationNumber: '1234', accountNumber: '1234567', dataSupplierIdentification: 'EL', headline: 'Elregning' };

/**
 * Catch-up for the Betalingsservice collections consumer (its effect, the 0601 delivery over SFTP, is outside the
 * database): collection requests settlement published before the collections queue existed are kept once each from
 * the event store, and go out in the next delivery with the live ones.
 */
describe('Betalingsservice collections: catch-up from the event store on a fresh deployment', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: Pool;
  let store: PostgresEventStore;
  let connection: AmqpConnection;
  let relay: EventRelay;
  let sim: RunningPbsSimulator;
  let worker: BetalingsserviceWorker | null = null;

  const requestCollection = async (): Promise<string> => {
    const invoiceId = randomUUID();
    const customerId = randomUUID();
    await store.appendToStream(
      `claim-${invoiceId}`,
      [
        {
          eventId: randomUUID(),
          type: 'BetalingsserviceCollectionRequested',
          data: { invoiceId, invoiceKind: 'invoice', customerId, customerNumber: betalingsserviceCustomerNumber(customerId), agreementNumber: '900001', amount: '125.50', dueDate: '2026-12-01', deliveryDeadline: '2026-11-23' },
          metadata: { correlationId: invoiceId, causationId: null, actor: 'test', schemaVersion: 1, context: 'payments' },
          occurredAt: new Date('2026-11-02T08:00:00Z'),
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    return invoiceId;
  };
  const collections = async () => (await pool.query<{ invoice_id: string; status: string }>('SELECT invoice_id::text, status FROM betalingsservice.collections ORDER BY invoice_id')).rows;

  beforeAll(async () => {
    db = await createTestDatabase('bs_catch_up');
    vhost = await createTestVhost('bs_catch_up');
    pool = new Pool({ connectionString: db.url, max: 10 });
    store = await createPostgresEventStore({ pool, pollIntervalMs: 50 });
    connection = new AmqpConnection({ url: vhost.url, logger: silentMessagingLogger });
    await connection.connect();
    relay = createRelay({ eventStore: store, connection, pool, name: 'bs-catch-up', logger: silentMessagingLogger, restartDelayMs: 100, lockRetryMs: 100 });
    await relay.start();
    sim = await startPbsSimulator();
  });

  afterAll(async () => {
    await worker?.stop();
    await relay?.stop();
    await sim?.stop();
    await connection?.close();
    await store?.close();
    await pool?.end();
    await vhost?.drop();
    await db?.drop();
  });

  it('requests published before the worker ever started are kept once each and delivered with the live ones in one 0601', async () => {
    const before = [await requestCollection(), await requestCollection(), await requestCollection()];
    const last = (await store.readAll()).at(-1)!.checkpoint;
    await eventually(async () => {
      const { rows } = await pool.query<{ checkpoint: string }>(`SELECT checkpoint FROM messaging.relay_checkpoints WHERE name = 'bs-catch-up'`);
      expect(rows[0]?.checkpoint).toBe(last);
    });

    worker = await startBetalingsserviceWorker({
      pool,
      connection,
      exchange: DEFAULT_EVENT_EXCHANGE,
      eventStore: store,
      sftp: new BetalingsserviceSftp({ host: sim.host, port: sim.port, username: sim.username, password: sim.password }),
      creditor,
      clock: () => new Date('2026-11-02T09:00:00Z'),
      send: async () => null,
    });
    // Caught up before start returned.
    expect((await collections()).map((c) => c.invoice_id)).toEqual([...before].sort());
    expect(worker.collections.stats().caughtUp).toBe(3);
    const live = await requestCollection();
    await eventually(async () => expect(await collections()).toHaveLength(4));

    const delivery = await worker.deliver();
    expect(delivery).toMatchObject({ records: 4, amount: '502.00' });
    expect(await worker.deliver()).toBeNull();
    expect((await collections()).map((c) => [c.invoice_id, c.status])).toEqual([...before, live].sort().map((id) => [id, 'delivered']));
    const inbox = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM betalingsservice.inbox WHERE consumer = $1', [COLLECTIONS_QUEUE]);
    expect(inbox.rows[0].n).toBe(4);
  });
});
