import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLocalDate } from '@dh/dk-time';
import { Money } from '@dh/money';

/**
 * A debt-collection agency (inkassobureau) as a supplier meets it over HTTP: cases handed over by the creditor,
 * and a feed of what happened to them (payments collected, write-offs, closure). Danish agencies each have
 * their own API and none is a public standard; this one is ours, shaped like them (a case per debtor with its
 * claims, the agency's own case reference, an event feed read with a cursor). See the README.
 */

export interface CollectionClaim {
  invoiceId: string;
  reference: string;
  dueDate: string;
  principal: string;
  fees: string;
  interest: string;
  amount: string;
}

export interface CollectionCase {
  caseReference: string;
  creditorCaseId: string;
  customerId: string;
  claims: CollectionClaim[];
  total: string;
  receivedAt: string;
  status: 'open' | 'closed';
  collected: string;
  writtenOff: string;
}

export type AgencyEvent =
  | { sequence: number; eventId: string; type: 'payment'; caseReference: string; creditorCaseId: string; amount: string; date: string }
  | { sequence: number; eventId: string; type: 'write-off'; caseReference: string; creditorCaseId: string; amount: string; date: string; reason: string }
  | { sequence: number; eventId: string; type: 'closed'; caseReference: string; creditorCaseId: string; date: string };

export interface CollectionFaults {
  /** The next N API requests answer 503 with `Retry-After: 1`. */
  unavailable?: number;
}

export interface CollectionSimulatorControl {
  /** The agency collected `amount` from the debtor on `date` (YYYY-MM-DD): a `payment` event. */
  collect(caseReference: string, amount: string, date: string): AgencyEvent;
  /** The agency gives up `amount` (a write-off recommendation) on `date`: a `write-off` event. */
  writeOff(caseReference: string, amount: string, date: string, reason: string): AgencyEvent;
  /** Closes the case: a `closed` event. */
  close(caseReference: string, date: string): AgencyEvent;
  cases(): CollectionCase[];
  setFaults(faults: CollectionFaults): void;
  /** Requests by `METHOD path-template` and status. */
  stats(): { requests: number; byStatus: Record<string, number> };
}

export interface RunningCollectionSimulator {
  url: string;
  control: CollectionSimulatorControl;
  stop(): Promise<void>;
}

export interface CollectionSimulatorOptions {
  /** The creditor's API key (`Authorization: Bearer <key>`). */
  apiKey: string;
  port?: number;
  host?: string;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const AMOUNT = /^\d{1,12}\.\d{2}$/;
const MAX_BODY = 256 * 1024;
const MAX_CLAIMS = 100;

function str(o: Record<string, unknown>, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new HttpFailure(400, 'invalid-case', `${path}${key} must be a non-empty string`);
  return v;
}

function amount(o: Record<string, unknown>, key: string, path: string): string {
  const v = str(o, key, path);
  if (!AMOUNT.test(v)) throw new HttpFailure(400, 'invalid-case', `${path}${key} must be DKK with two decimals, not negative ("123.45")`);
  return v;
}

function parseCase(body: unknown): Omit<CollectionCase, 'caseReference' | 'receivedAt' | 'status' | 'collected' | 'writtenOff'> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpFailure(400, 'invalid-case', 'body must be a JSON object');
  const o = body as Record<string, unknown>;
  const creditorCaseId = str(o, 'creditorCaseId', '');
  if (!UUID.test(creditorCaseId)) throw new HttpFailure(400, 'invalid-case', 'creditorCaseId must be a lower-case UUID');
  if (o['currency'] !== 'DKK') throw new HttpFailure(400, 'invalid-case', 'currency must be DKK');
  const debtor = o['debtor'];
  if (typeof debtor !== 'object' || debtor === null || Array.isArray(debtor)) throw new HttpFailure(400, 'invalid-case', 'debtor must be an object');
  const customerId = str(debtor as Record<string, unknown>, 'customerId', 'debtor.');
  const list = o['claims'];
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_CLAIMS) throw new HttpFailure(400, 'invalid-case', `claims must be 1..${MAX_CLAIMS} claims`);
  const claims = list.map((c, i): CollectionClaim => {
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new HttpFailure(400, 'invalid-case', `claims[${i}] must be an object`);
    const r = c as Record<string, unknown>;
    const p = `claims[${i}].`;
    const claim = {
      invoiceId: str(r, 'invoiceId', p),
      reference: str(r, 'reference', p),
      dueDate: str(r, 'dueDate', p),
      principal: amount(r, 'principal', p),
      fees: amount(r, 'fees', p),
      interest: amount(r, 'interest', p),
      amount: amount(r, 'amount', p),
    };
    if (!isLocalDate(claim.dueDate)) throw new HttpFailure(400, 'invalid-case', `${p}dueDate must be YYYY-MM-DD`);
    const sum = Money.parse(claim.principal).add(Money.parse(claim.fees)).add(Money.parse(claim.interest));
    if (!sum.equals(Money.parse(claim.amount))) throw new HttpFailure(400, 'invalid-case', `${p}amount must be principal + fees + interest (${sum.format()})`);
    return claim;
  });
  const total = amount(o, 'total', '');
  const sum = Money.sum(claims.map((c) => Money.parse(c.amount)));
  if (!sum.equals(Money.parse(total))) throw new HttpFailure(400, 'invalid-case', `total must be the sum of the claims (${sum.format()})`);
  return { creditorCaseId, customerId, claims, total };
}

const sameCase = (a: { claims: CollectionClaim[]; total: string; customerId: string }, b: { claims: CollectionClaim[]; total: string; customerId: string }): boolean =>
  JSON.stringify([a.customerId, a.total, a.claims]) === JSON.stringify([b.customerId, b.total, b.claims]);

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpFailure(413, 'too-large', `body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpFailure(400, 'invalid-json', 'body is not JSON');
  }
}

export async function startCollectionSimulator(options: CollectionSimulatorOptions): Promise<RunningCollectionSimulator> {
  const byReference = new Map<string, CollectionCase>();
  const byCreditorId = new Map<string, CollectionCase>();
  const events: AgencyEvent[] = [];
  let faults: Required<CollectionFaults> = { unavailable: 0 };
  const stats = { requests: 0, byStatus: {} as Record<string, number> };
  const expectedKey = createHash('sha256').update(options.apiKey).digest();

  const authorized = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(header);
    return m !== null && timingSafeEqual(createHash('sha256').update(m[1]!).digest(), expectedKey);
  };

  const caseOf = (caseReference: string): CollectionCase => {
    const c = byReference.get(caseReference);
    if (!c) throw new Error(`no case ${caseReference}`);
    return c;
  };
  const nextEvent = <E extends Omit<AgencyEvent, 'sequence' | 'eventId'>>(e: E): AgencyEvent => {
    const sequence = events.length + 1;
    const event = { ...e, sequence, eventId: `agency-event-${sequence}` } as unknown as AgencyEvent;
    events.push(event);
    return event;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    if (faults.unavailable > 0) {
      faults.unavailable--;
      throw new HttpFailure(503, 'unavailable', 'agency system unavailable');
    }
    if (!authorized(req)) {
      send(res, 401, { code: 'unauthorized', message: 'Bearer API key required' }, { 'WWW-Authenticate': 'Bearer' });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/v1/cases') {
      if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) throw new HttpFailure(415, 'unsupported-media-type', 'send application/json');
      const incoming = parseCase(await readJson(req));
      const known = byCreditorId.get(incoming.creditorCaseId);
      if (known !== undefined) {
        // The creditor's case id makes a retry safe: the same case again answers the first handover.
        if (!sameCase(known, incoming)) throw new HttpFailure(409, 'case-conflict', `case ${incoming.creditorCaseId} was handed over with other claims`);
        send(res, 200, view(known));
        return;
      }
      const created: CollectionCase = {
        ...incoming,
        caseReference: `INK-${String(byReference.size + 1).padStart(6, '0')}`,
        receivedAt: new Date().toISOString(),
        status: 'open',
        collected: '0.00',
        writtenOff: '0.00',
      };
      byReference.set(created.caseReference, created);
      byCreditorId.set(created.creditorCaseId, created);
      send(res, 201, view(created));
      return;
    }
    const single = /^\/v1\/cases\/([A-Z0-9-]{1,40})$/.exec(url.pathname);
    if (req.method === 'GET' && single) {
      const c = byReference.get(single[1]!);
      if (!c) throw new HttpFailure(404, 'case-not-found', `no case ${single[1]!}`);
      send(res, 200, view(c));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/v1/events') {
      const after = Number(url.searchParams.get('after') ?? '0');
      const limit = Number(url.searchParams.get('limit') ?? '100');
      if (!Number.isSafeInteger(after) || after < 0 || !Number.isSafeInteger(limit) || limit < 1 || limit > 500) throw new HttpFailure(400, 'invalid-query', 'after ≥ 0, limit 1..500');
      const page = events.filter((e) => e.sequence > after).slice(0, limit);
      send(res, 200, { events: page, last: page.length === 0 ? after : page[page.length - 1]!.sequence });
      return;
    }
    throw new HttpFailure(404, 'not-found', `${req.method ?? ''} ${url.pathname}`);
  }

  const view = (c: CollectionCase) => ({ caseReference: c.caseReference, creditorCaseId: c.creditorCaseId, status: c.status, total: c.total, collected: c.collected, writtenOff: c.writtenOff });

  const server = createServer((req, res) => {
    stats.requests++;
    handle(req, res)
      .catch((error: unknown) => {
        if (error instanceof HttpFailure) send(res, error.status, { code: error.code, message: error.message }, error.status === 503 ? { 'Retry-After': '1' } : {});
        else send(res, 500, { code: 'internal', message: 'internal error' });
      })
      .finally(() => {
        stats.byStatus[String(res.statusCode)] = (stats.byStatus[String(res.statusCode)] ?? 0) + 1;
      });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve()));
  const address = server.address() as AddressInfo;

  const open = (caseReference: string): CollectionCase => {
    const c = caseOf(caseReference);
    if (c.status !== 'open') throw new Error(`case ${caseReference} is closed`);
    return c;
  };
  const checkedAmount = (value: string): Money => {
    if (!AMOUNT.test(value) || !Money.parse(value).isPositive()) throw new Error(`amount ${value} must be positive DKK with two decimals`);
    return Money.parse(value);
  };
  const checkedDate = (date: string): string => {
    if (!isLocalDate(date)) throw new Error(`date ${date} must be YYYY-MM-DD`);
    return date;
  };

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}`,
    control: {
      collect(caseReference, value, date) {
        const c = open(caseReference);
        c.collected = Money.parse(c.collected).add(checkedAmount(value)).format();
        return nextEvent({ type: 'payment', caseReference, creditorCaseId: c.creditorCaseId, amount: checkedAmount(value).format(), date: checkedDate(date) });
      },
      writeOff(caseReference, value, date, reason) {
        const c = open(caseReference);
        c.writtenOff = Money.parse(c.writtenOff).add(checkedAmount(value)).format();
        return nextEvent({ type: 'write-off', caseReference, creditorCaseId: c.creditorCaseId, amount: checkedAmount(value).format(), date: checkedDate(date), reason });
      },
      close(caseReference, date) {
        const c = open(caseReference);
        c.status = 'closed';
        return nextEvent({ type: 'closed', caseReference, creditorCaseId: c.creditorCaseId, date: checkedDate(date) });
      },
      cases: () => [...byReference.values()].map((c) => ({ ...c, claims: c.claims.map((x) => ({ ...x })) })),
      setFaults(next) {
        faults = { unavailable: next.unavailable ?? 0 };
      },
      stats: () => ({ requests: stats.requests, byStatus: { ...stats.byStatus } }),
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
