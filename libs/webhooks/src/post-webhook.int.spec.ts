import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DELIVERY_ERRORS, postWebhook } from './post-webhook';
import type { HostResolver } from './target-policy';

/**
 * Sending checks the address it connects to, not only the one seen at registration: a receiver name
 * that now resolves to loopback (DNS rebinding) never gets a request. The "internal service" here is a
 * server on 127.0.0.1, standing for anything in the private network.
 */
describe(postWebhook.name, () => {
  let server: Server;
  let port: number;
  let hits = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      req.resume();
      res.statusCode = 202;
      res.end('internal secret 10.0.0.7');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => (hits = 0));

  const production = { allowLoopback: false, allowedNetworks: [] };
  const rebound: HostResolver = async () => [{ address: '127.0.0.1', family: 4 }];
  const send = (url: string, policy = production, resolver: HostResolver = rebound) => postWebhook(url, { headers: { 'Content-Type': 'application/json' }, body: '{}', timeoutMs: 2000, policy, resolver });

  it('refuses a public name that now resolves to an internal address, and never connects', async () => {
    const outcome = await send(`http://erp.example.com:${port}/hooks`);
    expect(outcome).toEqual({ error: DELIVERY_ERRORS.refused, internal: expect.any(String) });
    expect(hits).toBe(0);
  });

  it('refuses IPv4-mapped IPv6 answers the same way', async () => {
    const outcome = await send(`http://erp.example.com:${port}/hooks`, production, async () => [{ address: '::ffff:127.0.0.1', family: 6 }]);
    expect(outcome).toMatchObject({ error: DELIVERY_ERRORS.refused });
    expect(hits).toBe(0);
  });

  it('connects to exactly the address it checked (the name is resolved once)', async () => {
    let resolutions = 0;
    const counting: HostResolver = async () => {
      resolutions++;
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const outcome = await send(`http://erp.example.com:${port}/hooks`, { allowLoopback: true, allowedNetworks: [] }, counting);
    expect(outcome).toEqual({ statusCode: 202 });
    expect(hits).toBe(1);
    expect(resolutions).toBe(1);
  });

  it('tells the subscriber a generic word for a connection error, keeping the cause for our log', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const outcome = await send(`http://127.0.0.1:${closedPort}/hooks`, { allowLoopback: true, allowedNetworks: [] });
    expect(outcome).toEqual({ error: DELIVERY_ERRORS.connection, internal: expect.stringContaining('ECONNREFUSED') });
  });
});
