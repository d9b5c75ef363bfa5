import * as http from 'node:http';
import * as https from 'node:https';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';

/**
 * The bytes of a response made by {@link nodeHttpFetch}, as they arrived (decompressed): the client reads a peeked
 * body from here instead of copying it out of the `Response` again.
 */
const bufferedBodies = new WeakMap<Response, Buffer>();

/** The body of a response of {@link nodeHttpFetch} (not consumed, so `text()` and `arrayBuffer()` still work), else undefined. */
export function bufferedBody(response: Response): Buffer | undefined {
  return bufferedBodies.get(response);
}

/** Statuses whose response has no body (`Response` refuses one). */
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

function decompressed(bytes: Buffer, encoding: string | undefined): Promise<Buffer> {
  const coding = (encoding ?? '').trim().toLowerCase();
  if (coding === '' || coding === 'identity') return Promise.resolve(bytes);
  const run = coding === 'gzip' || coding === 'x-gzip' ? gunzip : coding === 'deflate' ? inflate : coding === 'br' ? brotliDecompress : null;
  if (run === null) return Promise.reject(new TypeError(`fetch failed: unsupported Content-Encoding ${coding}`));
  return new Promise((resolve, reject) => run(bytes, (error, out) => (error ? reject(new TypeError('fetch failed: the body does not decompress', { cause: error })) : resolve(out))));
}

/**
 * The part of `fetch` the DataHub client uses (a string or URL, method, headers, a string body, a signal), over
 * `node:http`/`node:https` with keep-alive agents, the whole body read into one buffer before it resolves. Node's
 * `fetch` (undici) hands a body through web streams chunk by chunk: for a ~1.2 MB peeked document that was 2.9–5.7 ms
 * of CPU and 6–13 ms of wall time per peek against a simulator on the same machine, this 1.6–2.6 and 3.6–7.9 ms
 * (2026-12-06; the inbox peeks one document at a time, so this is on its serial path). Like `fetch`: asks for and
 * undoes gzip, deflate and brotli; a network failure or an undecodable body rejects with a `TypeError`, an abort with
 * the signal's reason. Anything else (a `Request`, another body type, a redirect answer) goes to the global `fetch`,
 * which follows redirects.
 */
export const nodeHttpFetch: typeof fetch = (input, init = {}) => {
  const url = typeof input === 'string' ? new URL(input) : input instanceof URL ? input : null;
  const body = init.body;
  if (url === null || (body !== undefined && body !== null && typeof body !== 'string') || !(url.protocol in agents)) return fetch(input, init);
  const signal = init.signal ?? undefined;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const headers: Record<string, string> = { accept: '*/*', 'accept-encoding': 'gzip, deflate, br' };
  new Headers(init.headers).forEach((value, name) => (headers[name] = value));
  if (typeof body === 'string') headers['content-length'] = String(Buffer.byteLength(body));
  const module = url.protocol === 'https:' ? https : http;
  return new Promise<Response>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    };
    const onAbort = (): void => {
      request.destroy();
      fail(signal?.reason);
    };
    const request = module.request(url, { method: init.method ?? 'GET', headers, agent: agents[url.protocol as keyof typeof agents] }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('error', (error) => fail(new TypeError('fetch failed', { cause: error })));
      answer.on('end', () => {
        if (settled) return;
        const status = answer.statusCode ?? 0;
        if (REDIRECT_STATUS.has(status) && answer.headers.location !== undefined && init.redirect !== 'manual') {
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          resolve(fetch(input, init));
          return;
        }
        decompressed(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), answer.headers['content-encoding']).then((bytes) => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          const responseHeaders = new Headers();
          for (let i = 0; i < answer.rawHeaders.length; i += 2) responseHeaders.append(answer.rawHeaders[i]!, answer.rawHeaders[i + 1]!);
          // The body is decompressed here: the headers must not say it still is (a reader would undo it twice).
          responseHeaders.delete('content-encoding');
          responseHeaders.delete('content-length');
          const response = new Response(NULL_BODY_STATUS.has(status) ? null : bytes, { status, statusText: answer.statusMessage ?? '', headers: responseHeaders });
          bufferedBodies.set(response, bytes);
          resolve(response);
        }, fail);
      });
    });
    request.on('error', (error) => fail(new TypeError('fetch failed', { cause: error })));
    signal?.addEventListener('abort', onAbort, { once: true });
    request.end(body ?? undefined);
  });
};
