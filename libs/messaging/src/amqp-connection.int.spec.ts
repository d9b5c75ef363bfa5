import { Socket } from 'node:net';
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
});
