import type { JsonValue } from '@dh/event-store';
import { createTestVhost, eventually, type TestVhost } from '@dh/testing';
import { AmqpConnection } from './amqp-connection';
import { CommandClient, CommandError, CommandRejectedError, INTERNAL_ERROR, CommandServer, CommandTimeoutError, UnknownCommandError, type CommandContext } from './command-bus';
import { silentMessagingLogger } from './logger';
import { killConnection, queueInfo } from './testing/jest-support';

jest.setTimeout(30_000);

let vhost: TestVhost;
let gatewayConnection: AmqpConnection;
let serviceConnection: AmqpConnection;
let client: CommandClient;
let servers: CommandServer[] = [];
let testNo = 0;

beforeEach(async () => {
  testNo++;
  vhost = await createTestVhost('messaging_commands');
  gatewayConnection = new AmqpConnection({ url: vhost.url, connectionName: `gateway-${testNo}`, logger: silentMessagingLogger, reconnect: { initialDelayMs: 50 } });
  serviceConnection = new AmqpConnection({ url: vhost.url, connectionName: `service-${testNo}`, logger: silentMessagingLogger, reconnect: { initialDelayMs: 50 } });
  client = new CommandClient({ connection: gatewayConnection, logger: silentMessagingLogger, defaultTimeoutMs: 2_000 });
  await client.start();
});

afterEach(async () => {
  await client.close();
  for (const server of servers) await server.close();
  servers = [];
  await gatewayConnection.close();
  await serviceConnection.close();
  await vhost.drop();
});

async function serve(service: string, handlers: Record<string, (payload: JsonValue, context: CommandContext) => Promise<JsonValue | void>>): Promise<CommandServer> {
  const server = new CommandServer({ connection: serviceConnection, logger: silentMessagingLogger });
  await server.handle(service, handlers);
  servers.push(server);
  return server;
}

function isRecord(value: JsonValue): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

describe('command request/reply', () => {
  it('round-trips a command to the service queue and returns the result, with correlation and actor', async () => {
    const contexts: CommandContext[] = [];
    await serve('portfolio', {
      CreateCustomer: async (payload, context) => {
        contexts.push(context);
        return { customerId: 'customer-1', echoed: payload };
      },
    });
    const result = await client.send('portfolio', 'CreateCustomer', { name: 'Anna' }, { correlationId: 'req-123', actor: 'crm' });
    expect(result).toEqual({ customerId: 'customer-1', echoed: { name: 'Anna' } });
    expect(contexts).toHaveLength(1);
    expect(contexts[0]).toMatchObject({ service: 'portfolio', commandType: 'CreateCustomer', correlationId: 'req-123', actor: 'crm', causationId: null });
    expect(contexts[0].requestId).toMatch(/^[0-9a-f-]{36}$/);
    // Acknowledged after the reply: nothing is left on the durable command queue.
    await eventually(async () => expect((await queueInfo(vhost.name, 'commands.portfolio')).messages).toBe(0));
  });

  it('maps a handler error to a typed error on the client, keeping type and details', async () => {
    await serve('portfolio', {
      OffboardCustomer: async () => {
        throw new CommandError('CustomerNotActive', 'Customer customer-9 is not active', { customerId: 'customer-9', state: 'offboarded' });
      },
      Crash: async () => {
        throw new TypeError('cannot read x of undefined');
      },
    });
    const rejected = await client.send('portfolio', 'OffboardCustomer', { customerId: 'customer-9' }).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(CommandRejectedError);
    expect(rejected).not.toBeInstanceOf(UnknownCommandError);
    expect(rejected).toMatchObject({
      service: 'portfolio',
      commandType: 'OffboardCustomer',
      type: 'CustomerNotActive',
      message: 'Customer customer-9 is not active',
      details: { customerId: 'customer-9', state: 'offboarded' },
    });
    // Anything but a CommandError is ours, not the caller's: a generic internal error with an id for the log, never its text.
    await expect(client.send('portfolio', 'Crash', null)).rejects.toMatchObject({ type: INTERNAL_ERROR, message: 'internal error', details: { errorId: expect.any(String) } });
  });

  it('replies to an unknown command type with a typed UnknownCommandError', async () => {
    await serve('rates', { ImportSpotPrices: async () => 'ok' });
    const rejected = await client.send('rates', 'DeleteEverything', {}).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(UnknownCommandError);
    expect(rejected).toMatchObject({ type: 'UnknownCommand', details: { commandType: 'DeleteEverything' } });
  });

  it('rejects with CommandTimeoutError within the timeout when no server consumes, and the stale request expires', async () => {
    const started = Date.now();
    const rejected = await client.send('settlement', 'RunSettlement', { period: '2026-01' }, { timeoutMs: 300, correlationId: 'corr-t' }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(rejected).toBeInstanceOf(CommandTimeoutError);
    expect(rejected).toMatchObject({ service: 'settlement', commandType: 'RunSettlement', correlationId: 'corr-t', timeoutMs: 300 });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1_000);

    // The service was up once (its durable queue exists) and is down now: the request waits in the
    // queue, the caller times out, and a server that starts later must not execute it.
    let executed = 0;
    const handlers = {
      RunSettlement: async () => {
        executed++;
        return null;
      },
    };
    const first = await serve('settlement', handlers);
    await first.close();
    await expect(client.send('settlement', 'RunSettlement', { period: '2026-02' }, { timeoutMs: 300 })).rejects.toBeInstanceOf(CommandTimeoutError);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await serve('settlement', handlers);
    await expect(client.send('settlement', 'RunSettlement', { period: '2026-03' })).resolves.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(executed).toBe(1);
  });

  it('correlates concurrent requests with their own replies, even when they finish out of order', async () => {
    await serve('rates', {
      Square: async (payload) => {
        const n = isRecord(payload) && typeof payload.n === 'number' ? payload.n : 0;
        await new Promise((resolve) => setTimeout(resolve, (50 - n) * 2));
        return { n, square: n * n };
      },
    });
    const inputs = Array.from({ length: 50 }, (_, i) => i);
    const results = await Promise.all(inputs.map((n) => client.send('rates', 'Square', { n }, { correlationId: 'same-http-request' })));
    expect(results).toEqual(inputs.map((n) => ({ n, square: n * n })));
  });

  it('keeps serving after the service connection is lost (consumer re-attached)', async () => {
    await serve('portfolio', { Ping: async () => 'pong' });
    await expect(client.send('portfolio', 'Ping', null)).resolves.toBe('pong');
    await killConnection(vhost.name, `service-${testNo}`);
    await eventually(async () => expect(await client.send('portfolio', 'Ping', null, { timeoutMs: 500 })).toBe('pong'), 10_000, 100);
    expect(serviceConnection.connectCount).toBeGreaterThanOrEqual(2);
    await expect(serviceConnection.ping()).resolves.toBeUndefined();
  });
});
