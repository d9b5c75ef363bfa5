import { Socket } from 'node:net';
import type { ChannelModel, ConsumeMessage } from 'amqplib';
import { createTestVhost, eventually, type TestVhost } from '@dh/testing';
import { AmqpConnection } from './amqp-connection';
import { silentMessagingLogger } from './logger';
import { killConnection } from './testing/jest-support';

jest.setTimeout(30_000);

describe(AmqpConnection.name, () => {
  let vhost: TestVhost;
  let sut: AmqpConnection;

  beforeEach(async () => {
    vhost = await createTestVhost('amqp_connection');
    sut = new AmqpConnection({ url: vhost.url, connectionName: 'reattach', logger: silentMessagingLogger, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    await sut.connect();
  });

  afterEach(async () => {
    await sut.close();
    await vhost.drop();
  });

  it('retries a listener that fails to re-attach after a reconnect, with backoff, until it succeeds', async () => {
    const runs: string[] = [];
    await sut.attach(async (model) => {
      runs.push('run');
      // The first two runs after the reconnect fail, as when a channel or queue is not there yet.
      if (runs.length === 2 || runs.length === 3) throw new Error('queue not declared yet');
      await (await model.createChannel()).close();
    });
    expect(runs).toHaveLength(1);
    await killConnection(vhost.name, 'reattach');
    await eventually(() => expect(runs).toHaveLength(4));
    expect(sut.connectCount).toBe(2);
  });

  it('sets TCP_NODELAY on its socket by default, and leaves Nagle on when told noDelay: false', async () => {
    const setNoDelay = jest.spyOn(Socket.prototype, 'setNoDelay');
    try {
      const byDefault = new AmqpConnection({ url: vhost.url, logger: silentMessagingLogger });
      await byDefault.connect();
      await byDefault.close();
      expect(setNoDelay.mock.calls).toEqual([[true]]);
      setNoDelay.mockClear();
      const nagle = new AmqpConnection({ url: vhost.url, logger: silentMessagingLogger, noDelay: false });
      await nagle.connect();
      await nagle.close();
      expect(setNoDelay.mock.calls).toEqual([[false]]);
    } finally {
      setNoDelay.mockRestore();
    }
  });

  /** Counts the writes the connection's socket hands the kernel (`_write` of one chunk, `_writev` of several). */
  function countSocketWrites(model: ChannelModel): { writes: number } {
    const socket = (model.connection as { stream?: unknown }).stream;
    if (!(socket instanceof Socket)) throw new Error('amqplib keeps no socket in connection.stream');
    const count = { writes: 0 };
    const write = socket._write.bind(socket);
    const writev = socket._writev?.bind(socket);
    socket._write = (...args: Parameters<Socket['_write']>) => {
      count.writes++;
      write(...args);
    };
    if (writev) {
      socket._writev = (...args: Parameters<NonNullable<Socket['_writev']>>) => {
        count.writes++;
        writev(...args);
      };
    }
    return count;
  }

  /** Publishes `n` numbered messages in one turn on a confirm channel; returns the socket writes, the confirms and what the queue got. */
  async function publishInOneTurn(connection: AmqpConnection, n: number, bodyBytes: number): Promise<{ writes: number; confirmed: number[]; received: number[] }> {
    const model = await connection.waitForConnection();
    const channel = await connection.createConfirmChannel();
    const queue = `one-write-${n}-${bodyBytes}`;
    await channel.assertQueue(queue, { durable: false });
    const count = countSocketWrites(model);
    const confirmed: number[] = [];
    const padding = 'x'.repeat(bodyBytes);
    for (let i = 0; i < n; i++) {
      channel.sendToQueue(queue, Buffer.from(JSON.stringify({ i, padding })), { headers: { seq: i } }, (error: unknown) => {
        if (!error) confirmed.push(i);
      });
    }
    await channel.waitForConfirms();
    const writes = count.writes;
    const received: number[] = [];
    await channel.consume(queue, (message: ConsumeMessage | null) => message && received.push((JSON.parse(message.content.toString()) as { i: number }).i), { noAck: true });
    await eventually(() => expect(received).toHaveLength(n));
    await channel.close();
    return { writes, confirmed, received };
  }

  it("writes a turn's publishes to the socket at once, keeping their order and confirms, and one write per frame when told oneWritePerTurn: false", async () => {
    const inOrder = (n: number) => Array.from({ length: n }, (_, i) => i);
    const batched = await publishInOneTurn(sut, 100, 100);
    expect(batched.received).toEqual(inOrder(100));
    expect(batched.confirmed).toEqual(inOrder(100));
    // 100 publishes of ~170 bytes of frames: one write, plus at most a confirm-select or a heartbeat.
    expect(batched.writes).toBeLessThanOrEqual(3);

    const separate = new AmqpConnection({ url: vhost.url, logger: silentMessagingLogger, oneWritePerTurn: false });
    await separate.connect();
    try {
      const one = await publishInOneTurn(separate, 100, 100);
      expect(one.received).toEqual(inOrder(100));
      expect(one.writes).toBeGreaterThanOrEqual(100);
    } finally {
      await separate.close();
    }
  });

  it("keeps amqplib's back-pressure: 3,000 publishes of 1 kB in one turn leave in writes of many, all confirmed, in order", async () => {
    const { writes, confirmed, received } = await publishInOneTurn(sut, 3000, 1000);
    const inOrder = Array.from({ length: 3000 }, (_, i) => i);
    expect(received).toEqual(inOrder);
    expect(confirmed).toEqual(inOrder);
    // ~3.1 MB: the socket's 16 kB high-water mark makes amqplib wait for `drain` between writes of ~15 messages.
    expect(writes).toBeLessThan(600);
  });
});
