import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { trace } from '@opentelemetry/api';
import { createPostgresEventStore, type EventStore } from '@dh/event-store';
import { AmqpConnection, CommandClient, CommandServer, createRelay, currentCorrelationId, runTraced, silentMessagingLogger, startConsumer, type EventRelay, type RunningConsumer } from '@dh/messaging';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { carryTraceContext, registerTracing } from './tracing';

interface Seen {
  where: string;
  traceId: string | undefined;
  correlationId: string | undefined;
}

function here(where: string): Seen {
  return { where, traceId: trace.getActiveSpan()?.spanContext().traceId, correlationId: currentCorrelationId() };
}

/**
 * The W3C trace context and the correlation id of an incoming request travel with a command over
 * RabbitMQ to its handler, into the metadata of the events it appends, onto the relay's messages and
 * into every consumer's handler.
 */
describe('trace context from the request through commands and events to every handler', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: Pool;
  let amqp: AmqpConnection;
  let store: EventStore;
  let relay: EventRelay;
  let consumer: RunningConsumer;
  let commands: CommandServer;
  let client: CommandClient;
  const seen: Seen[] = [];

  beforeAll(async () => {
    registerTracing('trace-test', {});
    db = await createTestDatabase('trace');
    vhost = await createTestVhost('trace');
    pool = new Pool({ connectionString: db.url, max: 5 });
    store = carryTraceContext(await createPostgresEventStore({ pool, pollIntervalMs: 50 }));
    amqp = new AmqpConnection({ url: vhost.url, logger: silentMessagingLogger });
    await amqp.connect();
    consumer = await startConsumer({
      connection: amqp,
      pool,
      queue: 'trace.read-model',
      bindings: ['portfolio.#'],
      logger: silentMessagingLogger,
      handler: async () => {
        seen.push(here('consumer'));
      },
    });
    relay = createRelay({ eventStore: store, connection: amqp, pool, logger: silentMessagingLogger });
    await relay.start();
    commands = new CommandServer({ connection: amqp, logger: silentMessagingLogger });
    await commands.handle('portfolio', {
      CreateCustomer: async () => {
        seen.push(here('command handler'));
        await store.appendToStream(
          `customer-${randomUUID()}`,
          [{ eventId: randomUUID(), type: 'CustomerCreated', data: {}, metadata: { correlationId: currentCorrelationId() ?? '?', causationId: null, actor: 'api', schemaVersion: 1, context: 'portfolio' }, occurredAt: new Date() }],
          { expectedRevision: 'no_stream' },
        );
        return { ok: true };
      },
    });
    client = new CommandClient({ connection: amqp, logger: silentMessagingLogger });
    await client.start();
  });

  afterAll(async () => {
    await client?.close();
    await commands?.close();
    await relay?.stop();
    await consumer?.stop();
    await store?.close();
    await amqp?.close();
    await pool?.end();
    await vhost?.drop();
    await db?.drop();
  });

  it('continues the caller’s trace in the command handler and in the consumer of the events it appended', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    await runTraced({ name: 'HTTP POST /api/customers', kind: 'server', carrier: { traceparent: `00-${traceId}-b7ad6b7169203331-01` }, correlationId: 'corr-trace-1' }, async () => {
      seen.push(here('gateway'));
      await client.send('portfolio', 'CreateCustomer', {}, { correlationId: currentCorrelationId() });
    });
    await eventually(() => expect(seen.map((s) => s.where)).toEqual(['gateway', 'command handler', 'consumer']), 15_000);
    for (const s of seen) expect(s).toMatchObject({ traceId, correlationId: 'corr-trace-1' });

    const { rows } = await pool.query<{ metadata: Record<string, unknown> }>('SELECT metadata FROM event_store.events');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.metadata.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });

  it('starts a new trace where the caller sent none', async () => {
    seen.length = 0;
    await client.send('portfolio', 'CreateCustomer', {}, { correlationId: 'corr-trace-2' });
    await eventually(() => expect(seen.map((s) => s.where)).toEqual(['command handler', 'consumer']), 15_000);
    expect(seen[0]!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(seen[1]!.traceId).toBe(seen[0]!.traceId);
    expect(seen.map((s) => s.correlationId)).toEqual(['corr-trace-2', 'corr-trace-2']);
  });
});
