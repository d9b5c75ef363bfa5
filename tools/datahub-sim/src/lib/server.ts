import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CimParseError, parseCimJson, parseCimXml, writeCimJson, writeCimXml, type CimDocument, type CimDocumentKind } from '@dh/cim';
import { parseScenario, type Scenario } from './scenario';
import { resolveCategory, Simulation, type ActiveFaults, type FaultSettings, type MessageCategory, type QueuedMessage, type SimulatorStats } from './simulation';
import { TokenService } from './tokens';

export interface DataHubSimulatorOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Scenario JSON (see README) or a parsed {@link Scenario}; validated with `parseScenario`. */
  readonly scenario: unknown;
  /** Wall clock to follow; the simulator never goes back in time. Default: a virtual clock from `scenario.start`. */
  readonly clock?: () => Date;
}

export interface SimulatorControl {
  readonly scenario: Scenario;
  now(): Date;
  /** Moves the simulator's clock forward and delivers everything due up to that instant. */
  advanceTo(instant: Date | string): void;
  /** Merges fault settings (see {@link FaultSettings}). */
  setFaults(faults: FaultSettings): void;
  clearFaults(): void;
  faults(): Readonly<ActiveFaults>;
  stats(): Readonly<SimulatorStats>;
  queueDepths(): Record<string, Record<MessageCategory, number>>;
  supplierAt(gsrn: string, instant: Date | string): string | undefined;
  /** BRS-027 correction settlement (D32) of a month: RSM-014/019 again, as DataHub holds the data now. */
  correctionSettlement(month: string, settlementVersion: 'D01' | 'D02' | 'D03'): void;
}

export interface RunningDataHubSimulator {
  readonly url: string;
  readonly control: SimulatorControl;
  stop(): Promise<void>;
}

type Format = 'xml' | 'json';

const MAX_BODY_BYTES = 50 * 1024 * 1024;

/** Request endpoints (`POST /v1.0/cim/{documenttype}`) and the document kind each accepts. */
export const REQUEST_ENDPOINTS: Readonly<Record<string, CimDocumentKind>> = {
  requestchangeofsupplier: 'RequestChangeOfSupplier',
  requestcancelchangeofsupplier: 'RequestCancelChangeOfSupplier',
  requestreallocatechangeofsupplier: 'RequestReallocateChangeOfSupplier',
  requestendofsupply: 'RequestEndOfSupply',
  requestaggregatedmeasuredata: 'RequestAggregatedMeasureData',
  requestwholesalesettlement: 'RequestWholesaleSettlement',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function formatOf(header: string | undefined): Format | undefined {
  const value = (header ?? '').toLowerCase();
  if (value.includes('application/json')) return 'json';
  if (value.includes('application/xml') || value.includes('text/xml')) return 'xml';
  return undefined;
}

function contentTypeOf(format: Format): string {
  return format === 'json' ? 'application/json; charset=utf-8' : 'application/xml; charset=utf-8';
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'PayloadTooLarge', 'Request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...(body.length > 0 ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}), ...headers });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(value), { 'Content-Type': 'application/json; charset=utf-8', ...headers });
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** DataHub's B2B error body, in the request's format. */
function sendB2bError(res: ServerResponse, format: Format, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  if (format === 'json') sendJson(res, status, { Error: { Code: code, Message: message } }, headers);
  else send(res, status, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error>`, { 'Content-Type': contentTypeOf('xml'), ...headers });
}

/** A message as delivered: CIM XML or JSON; a malformed one is cut in half (unclosed elements / unterminated JSON). */
export function renderMessage(message: QueuedMessage, format: Format): string {
  const body = format === 'json' ? writeCimJson(message.document) : writeCimXml(message.document);
  return message.malformed ? body.slice(0, Math.floor(body.length / 2)) : body;
}

function optionalCount(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new HttpError(400, 'InvalidFaults', `${name} must be a non-negative integer`);
  return value;
}

/** Validates a `POST /sim/faults` body. */
export function parseFaultSettings(input: unknown): FaultSettings {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new HttpError(400, 'InvalidFaults', 'faults must be a JSON object');
  const o = input as Record<string, unknown>;
  const known = ['expiredToken', 'tooManyRequests', 'retryAfterSeconds', 'unavailable', 'duplicateDelivery', 'malformedMessage'];
  const unknown = Object.keys(o).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new HttpError(400, 'InvalidFaults', `unknown fault ${unknown.join(', ')}`);
  let malformedMessage: FaultSettings['malformedMessage'];
  const m = o['malformedMessage'];
  if (m !== undefined) {
    if (typeof m !== 'object' || m === null) throw new HttpError(400, 'InvalidFaults', 'malformedMessage must be an object');
    const mm = m as Record<string, unknown>;
    const category = mm['category'];
    const recipientGln = mm['recipientGln'];
    if (typeof category !== 'string') throw new HttpError(400, 'InvalidFaults', 'malformedMessage.category must be a string');
    if (recipientGln !== undefined && typeof recipientGln !== 'string') throw new HttpError(400, 'InvalidFaults', 'malformedMessage.recipientGln must be a string');
    const count = optionalCount(mm['count'], 'malformedMessage.count');
    malformedMessage = { category, ...(recipientGln !== undefined ? { recipientGln } : {}), ...(count !== undefined ? { count } : {}) };
  }
  const entries: [string, number | undefined][] = ['expiredToken', 'tooManyRequests', 'retryAfterSeconds', 'unavailable', 'duplicateDelivery'].map((k) => [k, optionalCount(o[k], k)]);
  return { ...Object.fromEntries(entries.filter(([, v]) => v !== undefined)), ...(malformedMessage ? { malformedMessage } : {}) };
}

/** Starts DataHub 3's B2B API over HTTP for one scenario. */
export async function startDataHubSimulator(options: DataHubSimulatorOptions): Promise<RunningDataHubSimulator> {
  const scenario = parseScenario(options.scenario);
  // A message's body is rendered once, when it is queued (XML, the format DataHub and our client use; JSON on the first
  // peek that asks for it), and kept with the message until it is dequeued: DataHub has a message ready in its queue,
  // so rendering it is not part of a peek's time. The bodies are the same as rendering on every peek. They are kept as
  // their UTF-8 bytes, so a peek does not measure and encode a ~1.2 MB string again.
  const bodies = new WeakMap<QueuedMessage, Partial<Record<Format, Buffer>>>();
  const bodyOf = (message: QueuedMessage, format: Format): Buffer => {
    let rendered = bodies.get(message);
    if (!rendered) bodies.set(message, (rendered = {}));
    return (rendered[format] ??= Buffer.from(renderMessage(message, format), 'utf8'));
  };
  const sim = new Simulation(scenario, options.clock, (message) => {
    bodyOf(message, 'xml');
  });
  const tokens = new TokenService(scenario);

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'invalid_request', error_description: 'POST only' });
    if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      return sendJson(res, 400, { error: 'invalid_request', error_description: 'Content-Type must be application/x-www-form-urlencoded' });
    }
    const form = new URLSearchParams((await readBody(req)).toString('utf8'));
    if (form.get('grant_type') !== 'client_credentials') return sendJson(res, 400, { error: 'unsupported_grant_type', error_description: 'grant_type must be client_credentials' });
    const client = tokens.authenticate(form.get('client_id') ?? '', form.get('client_secret') ?? '');
    if (!client) return sendJson(res, 401, { error: 'invalid_client', error_description: 'Unknown client or wrong secret' }, { 'WWW-Authenticate': 'Basic' });
    const scope = form.get('scope') ?? '';
    if (scenario.scope !== undefined && scope !== scenario.scope) return sendJson(res, 400, { error: 'invalid_scope', error_description: `scope must be ${scenario.scope}` });
    const issued = await tokens.issue(client, scope, sim.now());
    sim.stats.tokensIssued++;
    sendJson(res, 200, issued, { 'Cache-Control': 'no-store' });
  }

  async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const readJson = async (): Promise<unknown> => {
      const text = (await readBody(req)).toString('utf8');
      try {
        return text ? JSON.parse(text) : {};
      } catch {
        throw new HttpError(400, 'InvalidJson', 'body must be JSON');
      }
    };
    if (path === '/sim/clock' && req.method === 'GET') return sendJson(res, 200, { now: sim.now().toISOString() });
    if (path === '/sim/clock' && req.method === 'POST') {
      const body = await readJson();
      const to = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['to'] : undefined;
      if (typeof to !== 'string' || Number.isNaN(Date.parse(to))) throw new HttpError(400, 'InvalidClock', 'body must be {"to": "<ISO instant>"}');
      try {
        sim.advanceTo(new Date(to));
      } catch (error) {
        throw new HttpError(400, 'InvalidClock', error instanceof Error ? error.message : String(error));
      }
      return sendJson(res, 200, { now: sim.now().toISOString() });
    }
    if (path === '/sim/faults' && req.method === 'GET') return sendJson(res, 200, sim.faults);
    if (path === '/sim/faults' && req.method === 'POST') {
      try {
        sim.setFaults(parseFaultSettings(await readJson()));
      } catch (error) {
        if (error instanceof HttpError) throw error;
        throw new HttpError(400, 'InvalidFaults', error instanceof Error ? error.message : String(error));
      }
      return sendJson(res, 200, sim.faults);
    }
    if (path === '/sim/faults' && req.method === 'DELETE') {
      sim.clearFaults();
      return sendJson(res, 200, sim.faults);
    }
    if (path === '/sim/correction-settlement' && req.method === 'POST') {
      const body = await readJson();
      const b = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
      const month = typeof b['month'] === 'string' ? b['month'] : '';
      const version = b['settlementVersion'];
      if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month) || (version !== 'D01' && version !== 'D02' && version !== 'D03')) {
        throw new HttpError(400, 'InvalidCorrectionSettlement', 'body must be {"month": "YYYY-MM", "settlementVersion": "D01"|"D02"|"D03"}');
      }
      sim.correctionSettlement(Number(month.slice(0, 4)), Number(month.slice(5)), version);
      return sendJson(res, 202, { month, settlementVersion: version });
    }
    if (path === '/sim/state' && req.method === 'GET') return sendJson(res, 200, { now: sim.now().toISOString(), queues: sim.queueDepths(), faults: sim.faults, stats: sim.stats });
    throw new HttpError(404, 'NotFound', `No control endpoint ${req.method ?? ''} ${path}`);
  }

  async function b2b(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    sim.stats.b2bRequests++;
    const errorFormat: Format = formatOf(req.headers['content-type']) ?? formatOf(req.headers['accept']) ?? 'json';
    if (sim.faults.tooManyRequests > 0) {
      sim.faults.tooManyRequests--;
      sim.stats.throttled++;
      return sendB2bError(res, errorFormat, 429, 'TooManyRequests', 'Rate limit exceeded', { 'Retry-After': String(sim.faults.retryAfterSeconds) });
    }
    if (sim.faults.unavailable > 0) {
      sim.faults.unavailable--;
      sim.stats.unavailable++;
      return sendB2bError(res, errorFormat, 503, 'ServiceUnavailable', 'DataHub is temporarily unavailable');
    }
    const authorization = req.headers['authorization'] ?? '';
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
    const unauthorized = (description: string): void => {
      sim.stats.unauthorized++;
      sendJson(res, 401, { error: 'invalid_token', error_description: description }, { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${description}"` });
    };
    if (!bearer) return unauthorized('missing bearer token');
    const check = await tokens.verify(bearer, sim.now());
    if (!check.ok) return unauthorized(check.description);
    if (sim.faults.expiredToken > 0) {
      sim.faults.expiredToken--;
      return unauthorized('token expired');
    }
    const actor = check.actor;

    const dequeue = /^\/v1\.0\/cim\/dequeue\/([^/]+)$/i.exec(path);
    if (dequeue) {
      if (req.method !== 'DELETE') throw new HttpError(405, 'MethodNotAllowed', 'DELETE only');
      sim.stats.dequeues++;
      const id = decodeURIComponent(dequeue[1] ?? '');
      if (!sim.dequeue(actor.gln, id)) return sendB2bError(res, errorFormat, 404, 'UnknownMessageId', `No message ${id} in the actor's queues`);
      return send(res, 200, '');
    }
    const segment = /^\/v1\.0\/cim\/(?:peek\/)?([^/]+)$/i.exec(path)?.[1]?.toLowerCase();
    if (segment === undefined) throw new HttpError(404, 'NotFound', `No endpoint ${path}`);
    if (req.method === 'GET') {
      const category = resolveCategory(segment);
      if (!category) return sendB2bError(res, errorFormat, 404, 'UnknownCategory', `Unknown message category ${segment}`);
      const format = formatOf(req.headers['content-type']) ?? formatOf(req.headers['accept']);
      if (!format) return sendB2bError(res, 'json', 415, 'UnsupportedMediaType', 'Content-Type application/xml or application/json is required');
      sim.stats.peeks++;
      const message = sim.peek(actor.gln, category);
      if (!message) return send(res, 204, '');
      return send(res, 200, bodyOf(message, format), { 'Content-Type': contentTypeOf(format), MessageId: message.messageId });
    }
    if (req.method === 'POST') {
      const kind = REQUEST_ENDPOINTS[segment];
      if (!kind) return sendB2bError(res, errorFormat, 404, 'UnknownDocumentType', `No request endpoint ${segment}`);
      const format = formatOf(req.headers['content-type']);
      if (!format) return sendB2bError(res, 'json', 415, 'UnsupportedMediaType', 'Content-Type application/xml or application/json is required');
      const body = await readBody(req);
      let doc: CimDocument;
      try {
        doc = format === 'json' ? parseCimJson(body) : parseCimXml(body);
      } catch (error) {
        if (error instanceof CimParseError) return sendB2bError(res, format, 400, error.code, error.message);
        throw error;
      }
      if (doc.kind !== kind) return sendB2bError(res, format, 400, 'DocumentTypeMismatch', `${segment} expects ${kind}, got ${doc.kind}`);
      const outcome = sim.handleRequest(doc, actor.gln);
      if (outcome.status === 400) return sendB2bError(res, format, 400, outcome.code, outcome.message);
      return send(res, 202, '', { CorrelationId: randomUUID() });
    }
    throw new HttpError(405, 'MethodNotAllowed', `${req.method ?? ''} not allowed on ${path}`);
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const work = /^(?:\/[^/]+)?\/oauth2\/v2\.0\/token$/.test(path)
      ? token(req, res)
      : path.startsWith('/sim/')
        ? control(req, res, path)
        : path.toLowerCase().startsWith('/v1.0/cim/')
          ? b2b(req, res, path)
          : Promise.reject(new HttpError(404, 'NotFound', `No endpoint ${path}`));
    work.catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) sendJson(res, error.status, { Error: { Code: error.code, Message: error.message } });
      else sendJson(res, 500, { Error: { Code: 'InternalError', Message: error instanceof Error ? error.message : String(error) } });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  const controlApi: SimulatorControl = {
    scenario,
    now: () => sim.now(),
    advanceTo: (instant) => sim.advanceTo(typeof instant === 'string' ? new Date(instant) : instant),
    setFaults: (faults) => sim.setFaults(faults),
    clearFaults: () => sim.clearFaults(),
    faults: () => ({ ...sim.faults }),
    stats: () => ({ ...sim.stats }),
    queueDepths: () => sim.queueDepths(),
    supplierAt: (gsrn, instant) => sim.supplierAt(gsrn, typeof instant === 'string' ? new Date(instant) : instant),
    correctionSettlement: (month, settlementVersion) => {
      const m = /^(\d{4})-(\d{2})$/.exec(month);
      if (!m) throw new RangeError(`correctionSettlement: month must be YYYY-MM, got ${month}`);
      sim.correctionSettlement(Number(m[1]), Number(m[2]), settlementVersion);
    },
  };

  return {
    url: `http://${host}:${address.port}`,
    control: controlApi,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
