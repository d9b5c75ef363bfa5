import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { DataHubClient } from './client';
import { bufferedBody, nodeHttpFetch } from './node-http';

type Route = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A local HTTP server answering by path; records each request's method, headers and body. */
async function serve(routes: Record<string, Route>): Promise<{ url: string; seen: { method: string; path: string; headers: IncomingMessage['headers']; body: string }[]; close(): Promise<void> }> {
  const seen: { method: string; path: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      seen.push({ method: req.method ?? '', path, headers: req.headers, body });
      const route = routes[path];
      if (!route) {
        res.writeHead(404).end('no route');
        return;
      }
      route(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const BIG = `<?xml version="1.0"?><doc>${'<Point><position>1</position><quantity>0.123</quantity></Point>'.repeat(20_000)}æøå</doc>`;

describe('nodeHttpFetch', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    server = await serve({
      '/big': (_req, res) => res.writeHead(200, { 'Content-Type': 'application/xml; charset=utf-8', MessageId: 'm-1' }).end(BIG),
      '/gzip': (_req, res) => res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Type': 'text/plain' }).end(gzipSync(Buffer.from('packed æøå'))),
      '/empty': (_req, res) => res.writeHead(204).end(),
      '/echo': (req, res, body) => res.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify({ method: req.method, body, type: req.headers['content-type'] })),
      '/moved': (_req, res) => res.writeHead(307, { Location: '/echo' }).end(),
      '/slow': () => undefined,
    });
  });
  afterAll(() => server.close());

  it('answers a large body whole, its bytes kept for the reader, the same as fetch gives', async () => {
    const response = await nodeHttpFetch(`${server.url}/big`);
    expect(response.status).toBe(200);
    expect(response.headers.get('MessageId')).toBe('m-1');
    const bytes = bufferedBody(response);
    expect(bytes?.equals(Buffer.from(BIG, 'utf8'))).toBe(true);
    expect(await response.text()).toBe(BIG);
    const viaFetch = await fetch(`${server.url}/big`);
    expect(Buffer.from(await viaFetch.arrayBuffer()).equals(bytes!)).toBe(true);
  });

  it('asks for compression and undoes it', async () => {
    const response = await nodeHttpFetch(`${server.url}/gzip`);
    expect(server.seen.at(-1)?.headers['accept-encoding']).toContain('gzip');
    expect(response.headers.get('Content-Encoding')).toBeNull();
    expect(await response.text()).toBe('packed æøå');
  });

  it('sends method, headers and a string body; 204 has no body', async () => {
    const response = await nodeHttpFetch(`${server.url}/echo`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=æ' });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ method: 'POST', body: 'a=1&b=æ', type: 'application/x-www-form-urlencoded' });
    const empty = await nodeHttpFetch(`${server.url}/empty`, { method: 'DELETE' });
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe('');
  });

  it('follows a redirect as fetch does (through fetch)', async () => {
    const response = await nodeHttpFetch(`${server.url}/moved`, { method: 'POST', body: 'x=1' });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ method: 'POST', body: 'x=1' });
  });

  it('rejects with the signal reason on a timeout and with a TypeError when nothing listens', async () => {
    const timedOut: unknown = await nodeHttpFetch(`${server.url}/slow`, { signal: AbortSignal.timeout(50) }).catch((e: unknown) => e);
    expect(timedOut).toMatchObject({ name: 'TimeoutError' });
    const closed = await serve({});
    const url = closed.url;
    await closed.close();
    const refused: unknown = await nodeHttpFetch(`${url}/big`).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TypeError);
  });

  it('is the DataHub client default: a peek does not go through the global fetch and reads the same message', async () => {
    const dh = await serve({
      '/oauth2/v2.0/token': (_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ access_token: 't', expires_in: 3600 })),
      '/v1.0/cim/measuredata': (_req, res) => res.writeHead(200, { 'Content-Type': 'application/xml', MessageId: 'msg-7' }).end(BIG),
      '/v1.0/cim/dequeue/msg-7': (_req, res) => res.writeHead(200).end(),
    });
    const globalFetch = jest.spyOn(globalThis, 'fetch');
    try {
      const client = new DataHubClient({ baseUrl: dh.url, clientId: 'c', clientSecret: 's', scope: 'x' });
      const message = await client.peek('measuredata');
      expect(message).toMatchObject({ messageId: 'msg-7', body: BIG, contentType: 'application/xml' });
      expect(message?.bytes?.equals(Buffer.from(BIG, 'utf8'))).toBe(true);
      await client.dequeue('msg-7');
      expect(globalFetch).not.toHaveBeenCalled();
      expect(dh.seen.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /oauth2/v2.0/token', 'GET /v1.0/cim/measuredata', 'DELETE /v1.0/cim/dequeue/msg-7']);
      expect(dh.seen[1]?.headers['authorization']).toBe('Bearer t');
    } finally {
      globalFetch.mockRestore();
      await dh.close();
    }
  });
});
