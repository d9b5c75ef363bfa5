import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { backoffDelay, DEFAULT_RETRY_POLICY, parseRetryAfter, retryDelay } from './backoff';
import { bodyText, DataHubClient, decodeContent } from './client';
import { DataHubAuthError, DataHubRequestError, DataHubUnavailableError } from './errors';

type Handler = (url: string, init: RequestInit) => Response | Promise<Response>;

/** A scripted fetch: token requests get a token; API requests are answered by `api` and recorded. */
function fakeFetch(api: Handler, token: Handler = () => Response.json({ access_token: 'tok-1', token_type: 'Bearer', expires_in: 3600 })) {
  const calls: { url: string; method: string; headers: Headers }[] = [];
  const fn = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    calls.push({ url, method: init.method ?? 'GET', headers: new Headers(init.headers) });
    return url.endsWith('/oauth2/v2.0/token') ? token(url, init) : api(url, init);
  };
  return { fetch: fn as typeof fetch, calls };
}

function make(f: typeof fetch, sleeps: number[] = []): DataHubClient {
  return new DataHubClient({ baseUrl: 'https://dh.test/', clientId: 'c', clientSecret: 's', scope: 'x/.default', fetch: f, sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 });
}

describe('back-off arithmetic', () => {
  it('equal jitter stays within [step/2, step] and the step is capped', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1_000 };
    expect(backoffDelay(policy, 1, () => 0)).toBe(50);
    expect(backoffDelay(policy, 1, () => 0.999999)).toBe(100);
    expect(backoffDelay(policy, 3, () => 0)).toBe(200);
    expect(backoffDelay(policy, 10, () => 0.999999)).toBe(1_000);
    expect(retryDelay(policy, 1, 3_000, () => 0.5)).toBe(3_050);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-03-20T09:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter('Fri, 20 Mar 2026 09:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter('Fri, 20 Mar 2026 08:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('DataHubClient (scripted fetch)', () => {
  it('concurrent calls share one token request and send the format on GET', async () => {
    const { fetch, calls } = fakeFetch(() => new Response(null, { status: 204 }));
    const client = make(fetch);
    await Promise.all([client.peek('timeseries'), client.peek('aggregations'), client.peek('masterdata')]);
    expect(calls.filter((c) => c.url.endsWith('/token'))).toHaveLength(1);
    const peek = calls.find((c) => c.url === 'https://dh.test/v1.0/cim/timeseries');
    expect(peek?.headers.get('Content-Type')).toBe('application/xml');
    expect(peek?.headers.get('Authorization')).toBe('Bearer tok-1');
  });

  it('fails at once when Retry-After is beyond the cap', async () => {
    const sleeps: number[] = [];
    const { fetch } = fakeFetch(() => new Response('', { status: 429, headers: { 'Retry-After': '3600' } }));
    const error: unknown = await make(fetch, sleeps).peek('timeseries').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataHubUnavailableError);
    expect(error).toMatchObject({ attempts: 1, lastStatus: 429 });
    expect(sleeps).toEqual([]);
  });

  it('a refused token request is a DataHubAuthError with the OAuth error', async () => {
    const { fetch } = fakeFetch(
      () => new Response(null, { status: 204 }),
      () => Response.json({ error: 'invalid_scope' }, { status: 400 }),
    );
    await expect(make(fetch).peek('timeseries')).rejects.toMatchObject({ name: 'DataHubAuthError', status: 400, code: 'invalid_scope' });
  });

  it('403 is not retried with a new token', async () => {
    const { fetch, calls } = fakeFetch(() => new Response('', { status: 403 }));
    await expect(make(fetch).peek('timeseries')).rejects.toBeInstanceOf(DataHubAuthError);
    expect(calls.filter((c) => c.url.endsWith('/token'))).toHaveLength(1);
  });

  it('a 200 without MessageId and an XML error body become DataHubRequestError with the code', async () => {
    const { fetch } = fakeFetch((url) =>
      url.includes('/dequeue/') ? new Response('<Error><Code>B2B-008</Code><Message>unknown</Message></Error>', { status: 400 }) : new Response('<x/>', { status: 200 }),
    );
    const client = make(fetch);
    await expect(client.peek('timeseries')).rejects.toBeInstanceOf(DataHubRequestError);
    await expect(client.dequeue('m-1')).rejects.toMatchObject({ status: 400, code: 'B2B-008' });
  });

  it('reads a body as UTF-8 text, ASCII bodies on a shortcut that gives the same text', async () => {
    const bodies = [
      Buffer.from('<x>plain ASCII\r\n\t~</x>'),
      Buffer.from('<x>Søren Ærø · 😀</x>'),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<x/>')]),
      Buffer.from([0x3c, 0x78, 0x3e, 0xff, 0xfe, 0x80, 0x3c, 0x2f, 0x78, 0x3e]),
      Buffer.from([0x00, 0x7f, 0x41]),
      Buffer.alloc(0),
    ];
    for (const bytes of bodies) expect(bodyText(bytes)).toBe(new TextDecoder().decode(bytes));
    const { fetch } = fakeFetch(() => new Response(bodies[1], { status: 200, headers: { MessageId: 'm-1' } }));
    const peeked = await make(fetch).peek('timeseries');
    expect(peeked?.body).toBe('<x>Søren Ærø · 😀</x>');
    expect(peeked?.bytes?.equals(bodies[1]!)).toBe(true);
  });

  it('refuses an invalid retry policy', () => {
    expect(() => new DataHubClient({ baseUrl: 'x', clientId: 'c', clientSecret: 's', scope: 'x', retry: { maxAttempts: 0 } })).toThrow(RangeError);
  });
});

describe('DataHubClient over HTTP (undici request, the default without a fetch)', () => {
  const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><x>${'<p>1.000</p>'.repeat(20_000)}Søren</x>`, 'utf8');
  let server: Server;
  let baseUrl: string;
  const seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];
  let answer: (req: IncomingMessage, res: ServerResponse) => void;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        if (req.url === '/oauth2/v2.0/token') {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ access_token: `tok-${seen.length}`, token_type: 'Bearer', expires_in: 3600 }));
        } else answer(req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => (seen.length = 0));

  const client = (): DataHubClient => new DataHubClient({ baseUrl, clientId: 'c', clientSecret: 's', scope: 'x/.default', sleep: async () => undefined, random: () => 0.5 });

  it('peeks and dequeues: token, bearer, format, the body as sent, the MessageId', async () => {
    answer = (req, res) => {
      if (req.method === 'GET') res.writeHead(200, { 'Content-Type': 'application/xml', MessageId: 'm-1' }).end(body);
      else res.writeHead(200).end();
    };
    const c = client();
    const peeked = await c.peek('measuredata');
    await c.dequeue('m-1');
    expect(peeked).toMatchObject({ messageId: 'm-1', contentType: 'application/xml', body: body.toString('utf8') });
    expect(peeked?.bytes?.equals(body)).toBe(true);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /oauth2/v2.0/token', 'GET /v1.0/cim/measuredata', 'DELETE /v1.0/cim/dequeue/m-1']);
    expect(new URLSearchParams(seen[0]!.body).get('grant_type')).toBe('client_credentials');
    expect(seen[1]!.headers).toMatchObject({ authorization: 'Bearer tok-1', 'content-type': 'application/xml', accept: 'application/xml', 'accept-encoding': 'gzip, deflate, br' });
  });

  it.each([
    ['gzip', gzipSync(body)],
    ['deflate', deflateSync(body)],
    ['br', brotliCompressSync(body)],
    ['gzip, br', brotliCompressSync(gzipSync(body))],
  ])('undoes Content-Encoding %s as fetch does', async (coding, encoded) => {
    answer = (_req, res) => res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Encoding': coding, MessageId: 'm-2' }).end(encoded);
    const peeked = await client().peek('measuredata');
    expect(peeked?.bytes?.equals(body)).toBe(true);
    expect(peeked?.body).toBe(body.toString('utf8'));
  });

  it('retries a 503 (its body dropped), refreshes the token once on a 401, follows a redirect', async () => {
    let n = 0;
    answer = (req, res) => {
      n++;
      if (n === 1) res.writeHead(503, { 'Retry-After': '0' }).end('busy '.repeat(10_000));
      else if (n === 2) res.writeHead(401).end('{"error":"invalid_token"}');
      else if (req.url === '/v1.0/cim/measuredata') res.writeHead(307, { Location: '/v1.0/cim/peek/measuredata' }).end();
      else res.writeHead(200, { 'Content-Type': 'application/xml', MessageId: 'm-3' }).end('<x/>');
    };
    const peeked = await client().peek('measuredata');
    expect(peeked).toMatchObject({ messageId: 'm-3', body: '<x/>' });
    expect(seen.map((s) => `${s.method} ${s.url} ${s.headers.authorization ?? ''}`.trim())).toEqual([
      'POST /oauth2/v2.0/token',
      'GET /v1.0/cim/measuredata Bearer tok-1',
      'GET /v1.0/cim/measuredata Bearer tok-1',
      'POST /oauth2/v2.0/token',
      'GET /v1.0/cim/measuredata Bearer tok-4',
      'GET /v1.0/cim/peek/measuredata Bearer tok-4',
    ]);
  });

  it('a network failure is retried and then a DataHubUnavailableError', async () => {
    answer = (req) => req.socket.destroy();
    const error: unknown = await client().dequeue('m-4').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataHubUnavailableError);
    expect(error).toMatchObject({ attempts: DEFAULT_RETRY_POLICY.maxAttempts });
  });
});

describe('decodeContent', () => {
  const text = Buffer.from('<x>Søren 😀</x>'.repeat(100), 'utf8');
  it.each([
    [null, text],
    ['identity', text],
    ['gzip', gzipSync(text)],
    ['x-gzip', gzipSync(text)],
    ['deflate', deflateSync(text)],
    ['deflate (raw, as some servers send it)', deflateRawSync(text)],
    ['br', brotliCompressSync(text)],
    ['GZIP , br', brotliCompressSync(gzipSync(text))],
  ])('%s', async (coding, encoded) => {
    expect((await decodeContent(encoded, coding === null ? null : coding.replace(/ \(.*\)$/, ''))).equals(text)).toBe(true);
  });

  it('leaves a coding it does not know as it is', async () => {
    expect((await decodeContent(text, 'compress-unknown')).equals(text)).toBe(true);
  });
});
