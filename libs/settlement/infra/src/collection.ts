import type { Pool, PoolClient } from 'pg';
import { DuplicateEventIdError, WrongExpectedRevisionError, type EventStore, type NewEvent } from '@dh/event-store';
import { localDateOf } from '@dh/dk-time';
import { Money } from '@dh/money';
import {
  collectionCaseIdOf,
  collectionCaseStreamId,
  dataOf,
  nameBasedUuid,
  paymentsMetadata,
  toJsonObject,
  type CollectionCaseClosed,
  type CollectionCaseHandedOver,
  type CollectionCaseOpened,
  type CollectionClaimJson,
  type CollectionHandoffRefused,
  type CollectionPaymentReceived,
  type CollectionWrittenOff,
  type CustomerOverdueClaimsSettled,
  customerClaimsStreamId,
} from '@dh/settlement-application';
import { underAdvisoryLock } from './advisory-lock';

type Db = Pick<PoolClient, 'query'>;

const HANDOFF_LOCK = 'settlement-collection-handoff';
const FEED = 'collection-agency';
const HANDOFF_BATCH = 50;
const FEED_PAGE = 200;
/** Retry a failed handoff after 1, 2, 4 … minutes, at most an hour. */
const backoffMs = (attempts: number): number => Math.min(60 * 60_000, 60_000 * 2 ** Math.max(0, attempts - 1));

export async function migrateCollection(db: Db): Promise<void> {
  await db.query(`
    CREATE TABLE IF NOT EXISTS settlement.collection_cases (
      case_id uuid PRIMARY KEY, customer_id text NOT NULL, state text NOT NULL, total numeric(18,2) NOT NULL,
      agency_reference text UNIQUE, attempts int NOT NULL DEFAULT 0, last_error text,
      next_attempt_at timestamptz NOT NULL, opened_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
    CREATE INDEX IF NOT EXISTS collection_cases_to_hand_over ON settlement.collection_cases (next_attempt_at) WHERE state = 'opened';
    CREATE TABLE IF NOT EXISTS settlement.collection_feed (name text PRIMARY KEY, after bigint NOT NULL);
    CREATE INDEX IF NOT EXISTS receivables_customer_overdue ON settlement.receivables (customer_id) WHERE overdue_at IS NOT NULL;`);
}

// ------------------------------------------------------------------------------------ record the intent

/**
 * Opens a case per customer for the claims due for collection (from the dunning pass): `CollectionCaseOpened` on the
 * case's stream (id stable per customer and claims, so a second pass opens nothing new), then the case row (state
 * `opened`, due for handoff now) and the receivables marked with the case (they leave dunning). Nothing is sent here.
 */
export async function openCollectionCases(deps: { store: EventStore; db: Db; now: Date }, claims: readonly (CollectionClaimJson & { customerId: string })[]): Promise<CollectionCaseOpened[]> {
  const byCustomer = new Map<string, CollectionClaimJson[]>();
  for (const { customerId, ...claim } of claims) byCustomer.set(customerId, [...(byCustomer.get(customerId) ?? []), claim]);
  const opened: CollectionCaseOpened[] = [];
  for (const [customerId, list] of byCustomer) {
    const ordered = [...list].sort((a, b) => (a.dueDate === b.dueDate ? a.invoiceId.localeCompare(b.invoiceId) : a.dueDate.localeCompare(b.dueDate)));
    const caseId = collectionCaseIdOf(customerId, ordered.map((c) => c.invoiceId));
    const data: CollectionCaseOpened = { caseId, customerId, claims: ordered, total: Money.sum(ordered.map((c) => Money.parse(c.amount))).format(), openedOn: localDateOf(deps.now) };
    try {
      await deps.store.appendToStream(collectionCaseStreamId(caseId), [caseEvent(caseId, 'CollectionCaseOpened', data, 'opened', deps.now)], { expectedRevision: 'no_stream' });
      opened.push(data);
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError) && !(error instanceof DuplicateEventIdError)) throw error;
    }
    // The row and the marks follow the stream (a retry after a crash between them completes them).
    await deps.db.query(
      `INSERT INTO settlement.collection_cases (case_id, customer_id, state, total, next_attempt_at, opened_at, updated_at) VALUES ($1, $2, 'opened', $3::numeric, $4, $4, $4) ON CONFLICT (case_id) DO NOTHING`,
      [caseId, customerId, data.total, deps.now],
    );
    await deps.db.query(`UPDATE settlement.receivables SET collection_case_id = $1 WHERE invoice_id = ANY($2::uuid[]) AND collection_case_id IS NULL`, [caseId, ordered.map((c) => c.invoiceId)]);
  }
  return opened;
}

function caseEvent(caseId: string, type: string, data: object, key: string, at: Date, correlationId = caseId): NewEvent {
  return {
    eventId: nameBasedUuid('collection-case-event', `${caseId}/${key}`),
    type,
    data: toJsonObject(data),
    metadata: paymentsMetadata({ correlationId, causationId: null, actor: 'settlement-collection' }),
    occurredAt: at,
  };
}

/** Appends to a case stream once (the event id is stable); a repeat is not an error. */
async function appendOnce(store: EventStore, caseId: string, event: NewEvent): Promise<boolean> {
  try {
    await store.appendToStream(collectionCaseStreamId(caseId), [event], { expectedRevision: 'any' });
    return true;
  } catch (error) {
    if (error instanceof DuplicateEventIdError) return false;
    throw error;
  }
}

// --------------------------------------------------------------------------------------- the agency's API

export interface AgencyCaseAnswer {
  caseReference: string;
}

export type AgencyFeedEvent =
  | { sequence: number; eventId: string; type: 'payment'; caseReference: string; amount: string; date: string }
  | { sequence: number; eventId: string; type: 'write-off'; caseReference: string; amount: string; date: string; reason: string }
  | { sequence: number; eventId: string; type: 'closed'; caseReference: string; date: string };

/** A refusal by the agency (4xx): the case as sent will never be taken. */
export class AgencyRefusal extends Error {
  override readonly name = 'AgencyRefusal';
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(`collection agency refused the case (${status}): ${reason}`);
  }
}

/** Client of the collection agency's HTTP API (`tools/collection-sim`'s; a real agency needs its own adapter). */
export class CollectionAgencyClient {
  constructor(private readonly options: { baseUrl: string; apiKey: string; timeoutMs?: number; fetch?: typeof fetch }) {}

  private async call(path: string, init: RequestInit = {}): Promise<Response> {
    const f = this.options.fetch ?? fetch;
    return f(`${this.options.baseUrl.replace(/\/$/, '')}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${this.options.apiKey}`, ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
  }

  async handOver(opened: CollectionCaseOpened): Promise<AgencyCaseAnswer> {
    const res = await this.call('/v1/cases', {
      method: 'POST',
      body: JSON.stringify({
        creditorCaseId: opened.caseId,
        currency: 'DKK',
        debtor: { customerId: opened.customerId },
        claims: opened.claims.map((c) => ({ invoiceId: c.invoiceId, reference: c.reference, dueDate: c.dueDate, principal: c.principal, fees: c.fees, interest: c.interest, amount: c.amount })),
        total: opened.total,
      }),
    });
    const body = (await res.json().catch(() => null)) as { caseReference?: unknown; code?: unknown; message?: unknown } | null;
    if (res.status === 200 || res.status === 201) {
      if (typeof body?.caseReference !== 'string' || body.caseReference === '') throw new Error('collection agency answered without a case reference');
      return { caseReference: body.caseReference };
    }
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429 && res.status !== 401) {
      throw new AgencyRefusal(res.status, typeof body?.message === 'string' ? body.message.slice(0, 500) : `HTTP ${res.status}`);
    }
    throw new Error(`collection agency answered HTTP ${res.status}`);
  }

  async events(after: number, limit: number): Promise<{ events: AgencyFeedEvent[]; last: number }> {
    const res = await this.call(`/v1/events?after=${after}&limit=${limit}`);
    if (res.status !== 200) throw new Error(`collection agency feed answered HTTP ${res.status}`);
    const body = (await res.json()) as { events?: unknown; last?: unknown };
    if (!Array.isArray(body.events) || typeof body.last !== 'number') throw new Error('collection agency feed: malformed answer');
    return { events: body.events as AgencyFeedEvent[], last: body.last };
  }
}

// ------------------------------------------------------------------------------------- act, record outcome

export interface CollectionDeps {
  store: EventStore;
  pool: Pool;
  agency: CollectionAgencyClient;
  now: () => Date;
  /** Records a payment the agency collected on one claim (`RecordPayment`: `payment.received` matched by invoice id). */
  recordPayment: (payment: { paymentId: string; reference: string; amount: string; paidAt: string; method: 'debt-collection' }, cause: { correlationId: string }) => Promise<unknown>;
  logger?: { warn(message: string): void };
}

export interface CollectionPassResult {
  handedOver: number;
  refused: number;
  failed: number;
  agencyEvents: number;
}

/**
 * One pass (one replica at a time): hands the opened cases over (each call after the case was recorded, outside any
 * transaction; the outcome recorded after it), then reads the agency's feed from the stored cursor and records what
 * came back. Null when another replica holds the pass.
 */
export async function runCollectionPass(deps: CollectionDeps): Promise<CollectionPassResult | null> {
  return underAdvisoryLock(deps.pool, HANDOFF_LOCK, async (client) => {
    const result: CollectionPassResult = { handedOver: 0, refused: 0, failed: 0, agencyEvents: 0 };
    await handOverOpenedCases(deps, client, result);
    await readAgencyFeed(deps, client, result);
    return result;
  });
}

async function handOverOpenedCases(deps: CollectionDeps, db: Db, result: CollectionPassResult): Promise<void> {
  const due = await db.query<{ case_id: string; attempts: number }>(
    `SELECT case_id::text, attempts FROM settlement.collection_cases WHERE state = 'opened' AND next_attempt_at <= $1 ORDER BY next_attempt_at, case_id LIMIT ${HANDOFF_BATCH}`,
    [deps.now()],
  );
  for (const row of due.rows) {
    const stream = await deps.store.readStream(collectionCaseStreamId(row.case_id));
    const openedEvent = stream.find((e) => e.type === 'CollectionCaseOpened');
    if (openedEvent === undefined) continue;
    const opened = dataOf<CollectionCaseOpened>(openedEvent.data);
    const known = stream.find((e) => e.type === 'CollectionCaseHandedOver');
    let agencyReference: string;
    if (known !== undefined) agencyReference = dataOf<CollectionCaseHandedOver>(known.data).agencyReference;
    else {
      try {
        agencyReference = (await deps.agency.handOver(opened)).caseReference;
      } catch (error) {
        const now = deps.now();
        if (error instanceof AgencyRefusal) {
          const refused: CollectionHandoffRefused = { caseId: row.case_id, status: error.status, reason: error.reason, refusedAt: now.toISOString() };
          await appendOnce(deps.store, row.case_id, caseEvent(row.case_id, 'CollectionHandoffRefused', refused, 'refused', now));
          await db.query(`UPDATE settlement.collection_cases SET state = 'refused', last_error = $2, updated_at = $3 WHERE case_id = $1`, [row.case_id, `${error.status}: ${error.reason}`, now]);
          result.refused++;
        } else {
          // Unreachable, 5xx, timeout: kept as opened, tried again later (the agency takes the same case id once).
          const message = error instanceof Error ? error.message : String(error);
          await db.query(`UPDATE settlement.collection_cases SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3, updated_at = $4 WHERE case_id = $1`, [
            row.case_id,
            message.slice(0, 300),
            new Date(now.getTime() + backoffMs(row.attempts + 1)),
            now,
          ]);
          deps.logger?.warn(`collection handoff of case ${row.case_id} failed (attempt ${row.attempts + 1}): ${message}`);
          result.failed++;
        }
        continue;
      }
      const handed: CollectionCaseHandedOver = { caseId: row.case_id, agencyReference, handedOverAt: deps.now().toISOString() };
      await appendOnce(deps.store, row.case_id, caseEvent(row.case_id, 'CollectionCaseHandedOver', handed, 'handed-over', deps.now()));
    }
    await db.query(`UPDATE settlement.collection_cases SET state = 'handed-over', agency_reference = $2, last_error = NULL, updated_at = $3 WHERE case_id = $1`, [row.case_id, agencyReference, deps.now()]);
    result.handedOver++;
  }
}

async function readAgencyFeed(deps: CollectionDeps, db: Db, result: CollectionPassResult): Promise<void> {
  const cursor = await db.query<{ after: string }>(`SELECT after::text FROM settlement.collection_feed WHERE name = $1`, [FEED]);
  let after = Number(cursor.rows[0]?.after ?? '0');
  for (;;) {
    const page = await deps.agency.events(after, FEED_PAGE);
    for (const event of page.events) {
      await applyAgencyEvent(deps, db, event);
      result.agencyEvents++;
      after = event.sequence;
      await db.query(`INSERT INTO settlement.collection_feed (name, after) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET after = EXCLUDED.after`, [FEED, after]);
    }
    if (page.events.length < FEED_PAGE) return;
  }
}

async function applyAgencyEvent(deps: CollectionDeps, db: Db, event: AgencyFeedEvent): Promise<void> {
  const found = await db.query<{ case_id: string }>(`SELECT case_id::text FROM settlement.collection_cases WHERE agency_reference = $1`, [event.caseReference]);
  const caseId = found.rows[0]?.case_id;
  if (caseId === undefined) {
    deps.logger?.warn(`collection agency event ${event.eventId} names case ${event.caseReference}, which we did not hand over: skipped`);
    return;
  }
  const now = deps.now();
  const key = `agency-${event.eventId}`;
  switch (event.type) {
    case 'payment': {
      const data: CollectionPaymentReceived = { caseId, agencyReference: event.caseReference, agencyEventId: event.eventId, amount: Money.parse(event.amount).format(), paidOn: event.date };
      await appendOnce(deps.store, caseId, caseEvent(caseId, 'CollectionPaymentReceived', data, key, now));
      await payClaims(deps, caseId, data);
      return;
    }
    case 'write-off': {
      const customer = await db.query<{ customer_id: string }>(`SELECT customer_id FROM settlement.collection_cases WHERE case_id = $1`, [caseId]);
      const data: CollectionWrittenOff = { caseId, customerId: customer.rows[0]!.customer_id, agencyReference: event.caseReference, agencyEventId: event.eventId, amount: Money.parse(event.amount).format(), writtenOffOn: event.date, reason: event.reason };
      await appendOnce(deps.store, caseId, caseEvent(caseId, 'CollectionWrittenOff', data, key, now));
      await writeOffClaims(deps, db, caseId);
      return;
    }
    case 'closed': {
      const data: CollectionCaseClosed = { caseId, agencyReference: event.caseReference, agencyEventId: event.eventId, closedOn: event.date };
      await appendOnce(deps.store, caseId, caseEvent(caseId, 'CollectionCaseClosed', data, key, now));
      await db.query(`UPDATE settlement.collection_cases SET state = 'closed', updated_at = $2 WHERE case_id = $1`, [caseId, now]);
      return;
    }
    default:
      deps.logger?.warn(`collection agency event of unknown type: ${JSON.stringify(event).slice(0, 200)}`);
  }
}

/**
 * Pays what the agency collected on the case's claims in the case's order (oldest due date first), each claim at most
 * its amount as handed over less what earlier collections paid or wrote off on it; one `RecordPayment` per claim with
 * an id stable per agency event and claim, so a replay records nothing twice. What exceeds the claims goes on the last claim.
 */
async function payClaims(deps: CollectionDeps, caseId: string, payment: CollectionPaymentReceived): Promise<void> {
  const replayed = await replayCase(deps.store, caseId, payment.agencyEventId);
  if (replayed === null) return;
  for (const [invoiceId, amount] of allocate(replayed.opened.claims, replayed.settled, Money.parse(payment.amount))) {
    await deps.recordPayment(
      { paymentId: `collection-${caseId}-${payment.agencyEventId}-${invoiceId}`, reference: invoiceId, amount: amount.format(), paidAt: `${payment.paidOn}T12:00:00Z`, method: 'debt-collection' },
      { correlationId: caseId },
    );
  }
}

/**
 * Books what the agency wrote off on the case's receivables, spread over the claims exactly as a collection is
 * (`allocate`, oldest first, after what earlier collections and write-offs took). Each receivable's `written_off` is
 * set to the total the case's write-offs put on it (replayed from the stream, so a repeat changes nothing); a claim
 * with nothing left (principal, fees, interest) is no longer overdue and leaves the overdue and dunning passes.
 */
async function writeOffClaims(deps: CollectionDeps, db: Db, caseId: string): Promise<void> {
  const replayed = await replayCase(deps.store, caseId, null);
  if (replayed === null) return;
  for (const claim of replayed.opened.claims) {
    const writtenOff = replayed.writtenOff.get(claim.invoiceId);
    if (writtenOff === undefined) continue;
    // Nothing left: the case's collections and write-offs cover the claim as handed over (its payments may not be
    // on the receivable yet: they are recorded as commands and projected by the payments consumer), or the receivable says so.
    const covered = (replayed.settled.get(claim.invoiceId) ?? Money.ZERO).compare(Money.parse(claim.amount)) >= 0;
    await db.query(
      `UPDATE settlement.receivables SET written_off = $2::numeric,
              overdue_at = CASE WHEN $3::boolean OR amount_due + notes + fees + interest - paid - $2::numeric <= 0 THEN NULL ELSE overdue_at END
       WHERE invoice_id = $1`,
      [claim.invoiceId, writtenOff.format(), covered],
    );
  }
}

/**
 * Replays the case's collections and write-offs in stream order, each allocated over the claims as `allocate` does,
 * up to (not including) the agency event `until` (null: all of them). `settled` is what they took per claim, `writtenOff`
 * the write-offs' part of it.
 */
async function replayCase(store: EventStore, caseId: string, until: string | null): Promise<{ opened: CollectionCaseOpened; settled: Map<string, Money>; writtenOff: Map<string, Money> } | null> {
  const stream = await store.readStream(collectionCaseStreamId(caseId));
  const openedEvent = stream.find((e) => e.type === 'CollectionCaseOpened');
  if (openedEvent === undefined) return null;
  const opened = dataOf<CollectionCaseOpened>(openedEvent.data);
  const settled = new Map<string, Money>();
  const writtenOff = new Map<string, Money>();
  for (const e of stream) {
    if (e.type !== 'CollectionPaymentReceived' && e.type !== 'CollectionWrittenOff') continue;
    const d = dataOf<CollectionPaymentReceived | CollectionWrittenOff>(e.data);
    if (d.agencyEventId === until) break;
    for (const [invoiceId, amount] of allocate(opened.claims, settled, Money.parse(d.amount))) {
      settled.set(invoiceId, (settled.get(invoiceId) ?? Money.ZERO).add(amount));
      if (e.type === 'CollectionWrittenOff') writtenOff.set(invoiceId, (writtenOff.get(invoiceId) ?? Money.ZERO).add(amount));
    }
  }
  return { opened, settled, writtenOff };
}

function allocate(claims: readonly CollectionClaimJson[], paidBefore: ReadonlyMap<string, Money>, amount: Money): [string, Money][] {
  const parts: [string, Money][] = [];
  let left = amount;
  claims.forEach((claim, i) => {
    if (!left.isPositive()) return;
    const open = Money.parse(claim.amount).sub(paidBefore.get(claim.invoiceId) ?? Money.ZERO);
    const last = i === claims.length - 1;
    const take = last ? left : open.isPositive() ? (left.compare(open) > 0 ? open : left) : Money.ZERO;
    if (take.isPositive()) parts.push([claim.invoiceId, take]);
    left = left.sub(take);
  });
  return parts;
}

// ------------------------------------------------------------------------- the customer has paid up

/**
 * In the payments consumer's inbox transaction, after a `payment.received` was applied: when it paid an overdue claim
 * and the customer now owes nothing overdue (principal, fees, interest), `CustomerOverdueClaimsSettled` (id stable per
 * payment) tells portfolio to withdraw a pending end of supply for non-payment.
 */
export async function announceClaimsSettled(deps: { store: EventStore; db: Db }, payment: { paymentId: string; invoiceId: string | null; paidAt: string }, cause: { correlationId: string; causationId: string }): Promise<CustomerOverdueClaimsSettled | null> {
  if (payment.invoiceId === null) return null;
  const paid = await deps.db.query<{ customer_id: string }>(`SELECT customer_id FROM settlement.receivables WHERE invoice_id = $1 AND overdue_at IS NOT NULL`, [payment.invoiceId]);
  const customerId = paid.rows[0]?.customer_id;
  if (customerId === undefined) return null;
  const open = await deps.db.query(`SELECT 1 FROM settlement.receivables WHERE customer_id = $1 AND overdue_at IS NOT NULL AND amount_due + notes + fees + interest - paid - written_off > 0 LIMIT 1`, [customerId]);
  if ((open.rowCount ?? 0) > 0) return null;
  const data: CustomerOverdueClaimsSettled = { customerId, paymentId: payment.paymentId, settledOn: localDateOf(new Date(payment.paidAt)) };
  try {
    await deps.store.appendToStream(
      customerClaimsStreamId(customerId),
      [{ eventId: nameBasedUuid('customer-overdue-claims-settled', payment.paymentId), type: 'CustomerOverdueClaimsSettled', data: toJsonObject(data), metadata: paymentsMetadata({ ...cause, actor: 'settlement-payments' }), occurredAt: new Date(payment.paidAt) }],
      { expectedRevision: 'any' },
    );
  } catch (error) {
    // A redelivery of the same payment: announced before.
    if (!(error instanceof DuplicateEventIdError)) throw error;
  }
  return data;
}
