import type { Pool, PoolClient } from 'pg';
import { DataHubRequestError, type DataHubClient } from '@dh/datahub-client';
import { deterministicEventId, type EventStore, type JsonObject } from '@dh/event-store';
import { catchUpCutoffFromEnv, startConsumer, type AmqpConnection, type CatchUpCutoff, type EventEnvelope, type MessagingLogger, type RunningConsumer } from '@dh/messaging';
import { DATAHUB_CONTEXT } from './inbound-events';
import { buildOutboundDocument, type CustomerIdentity, type MarketParties, type OutboundRequest } from './outbound-requests';

export const OUTBOUND_QUEUE = 'datahub.outbound-requests';
export const OUTBOUND_BINDINGS = [
  'portfolio.change-of-supplier-requested',
  'portfolio.move-in-requested',
  'portfolio.move-out-requested',
  'portfolio.end-of-supply-requested',
  'portfolio.incorrect-switch-requested',
  'portfolio.process-cancelled',
];

export interface OutboundWorkerOptions {
  pool: Pool;
  eventStore: EventStore;
  connection: AmqpConnection;
  client: Pick<DataHubClient, 'send'>;
  parties: MarketParties;
  /** Asks the portfolio for the customer's name and CPR/CVR (decrypted there, never stored here). */
  identityOf: (processId: string) => Promise<CustomerIdentity>;
  clock?: () => Date;
  logger?: MessagingLogger;
  maxAttempts?: number;
  /** How long a taken request is left to its sender before another may take it (a crash mid-send), s. Default 600 (DataHub's retries take up to about 5 min). */
  leaseSeconds?: number;
  /** Requests (of different processes) sent at once. Default 8. */
  concurrency?: number;
  /** Fallback poll for due retries, ms. Default 2000. */
  pollMs?: number;
  /** For tests: the patterns an earlier release bound (default `OUTBOUND_BINDINGS`). */
  bindings?: readonly string[];
  /**
   * How far back a catch-up on a binding new to the queue goes (this consumer acts outside: old events are not sent
   * out). Default from the environment, `catchUpCutoffFromEnv` (a day before the binding first appears).
   */
  catchUpCutoff?: CatchUpCutoff;
}

/** Resolves transaction ids in DataHub's answers to our process ids, from the requests we sent. */
export function outboundProcessResolver(pool: Pool): (transactionIds: string[]) => Promise<ReadonlyMap<string, string>> {
  return async (transactionIds) => {
    if (transactionIds.length === 0) return new Map();
    const { rows } = await pool.query<{ process_id: string; document_id: string }>(
      `SELECT process_id, document_id FROM datahub.outbound_requests WHERE process_id = ANY($1) OR document_id = ANY($1)`,
      [transactionIds],
    );
    const map = new Map<string, string>();
    for (const row of rows) {
      map.set(row.process_id, row.process_id);
      map.set(row.document_id, row.process_id);
    }
    return map;
  };
}

export const datahubRequestStreamId = (processId: string): string => `datahub-request-${processId}`;

export async function migrateOutboundRequests(pool: Pool): Promise<void> {
  // One statement list, one transaction: the advisory lock keeps services starting together from racing on the DDL.
  await pool.query(`
    SELECT pg_advisory_xact_lock(hashtext('datahub.outbound_requests'));
    CREATE SCHEMA IF NOT EXISTS datahub;
    CREATE TABLE IF NOT EXISTS datahub.outbound_requests (
      process_id text NOT NULL,
      action text NOT NULL,
      document_id text NOT NULL,
      gsrn text NOT NULL,
      business_reason text NOT NULL,
      sent_at timestamptz NOT NULL,
      outcome text NOT NULL,
      PRIMARY KEY (process_id, action)
    );
    -- The outbox: the consumer records the intent (outcome 'pending') in its inbox transaction; the sender acts
    -- after commit and records 'sent', 'refused' or 'skipped' (a cancellation of a request DataHub refused).
    ALTER TABLE datahub.outbound_requests
      ADD COLUMN IF NOT EXISTS seq bigserial,
      ADD COLUMN IF NOT EXISTS request jsonb,
      ADD COLUMN IF NOT EXISTS attempts int NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz NOT NULL DEFAULT now(),
      ADD COLUMN IF NOT EXISTS last_error text,
      ADD COLUMN IF NOT EXISTS recorded_at timestamptz NOT NULL DEFAULT now(),
      ADD COLUMN IF NOT EXISTS correlation_id text,
      ADD COLUMN IF NOT EXISTS causation_id text,
      ALTER COLUMN business_reason DROP NOT NULL,
      ALTER COLUMN sent_at DROP NOT NULL;
    CREATE INDEX IF NOT EXISTS outbound_requests_pending ON datahub.outbound_requests (seq) WHERE outcome = 'pending';`);
}

/** An event the outbound worker can never turn into a request (its data lacks what the request needs). */
export class MalformedOutboundEventError extends Error {
  override readonly name = 'MalformedOutboundEventError';
}

const str = (data: JsonObject, key: string): string => {
  const value = data[key];
  if (typeof value !== 'string' || value === '') throw new MalformedOutboundEventError(`event data.${key} must be a non-empty string`);
  return value;
};

async function requestOf(envelope: EventEnvelope, tx: PoolClient): Promise<OutboundRequest | null> {
  const d = envelope.data;
  switch (envelope.type) {
    case 'ChangeOfSupplierRequested':
      return { action: 'change-of-supplier', processId: str(d, 'processId'), gsrn: str(d, 'gsrn'), effectiveDate: str(d, 'effectiveDate') };
    case 'MoveInRequested':
      return { action: 'move-in', processId: str(d, 'processId'), gsrn: str(d, 'gsrn'), effectiveDate: str(d, 'effectiveDate') };
    case 'MoveOutRequested':
      return { action: 'move-out', processId: str(d, 'processId'), gsrn: str(d, 'gsrn'), effectiveDate: str(d, 'effectiveDate') };
    case 'EndOfSupplyRequested':
      return { action: 'end-of-supply', processId: str(d, 'processId'), gsrn: str(d, 'gsrn'), effectiveDate: str(d, 'effectiveDate') };
    case 'IncorrectSwitchRequested':
      return { action: 'incorrect-switch', processId: str(d, 'processId'), gsrn: str(d, 'gsrn'), effectiveDate: str(d, 'effectiveDate'), reversedProcessId: str(d, 'reversedProcessId') };
    case 'ProcessCancelled': {
      if (d.notifyDataHub !== true) return null;
      const processId = str(d, 'processId');
      // The request to cancel may still be in the outbox; the sender sends the cancellation after it, and only
      // if DataHub took it (its business reason is known then).
      const { rows } = await tx.query<{ gsrn: string }>(
        `SELECT gsrn FROM datahub.outbound_requests WHERE process_id = $1 AND action <> 'cancel' AND outcome IN ('pending', 'sent') ORDER BY seq LIMIT 1`,
        [processId],
      );
      if (!rows[0]) return null;
      return { action: 'cancel', processId, gsrn: rows[0].gsrn, originalBusinessReason: '' };
    }
    default:
      return null;
  }
}

export interface OutboundWorker extends RunningConsumer {
  /** Sends the requests that are due now (also run by a timer and after each recorded intent); returns how many were taken. */
  sendDue(): Promise<number>;
}

interface DueRow {
  process_id: string;
  action: string;
  document_id: string;
  request: OutboundRequest;
  attempts: number;
  correlation_id: string | null;
  causation_id: string | null;
}

/**
 * Sends the BRS requests the portfolio decides on, without a remote call inside a database transaction. The
 * consumer (strict order, one transaction per event) only records the intent in `datahub.outbound_requests`
 * (the outbox, outcome 'pending', with the deterministic document id); after commit the sender takes due rows
 * under a lease, asks the portfolio for the customer's identity (RPC, never stored here), sends to DataHub (with
 * the client's own retries), and records the outcome (`DataHubRequestSent` / `…Refused` on the request's stream,
 * then the row). Once per process and action; a cancellation is sent only after its request (rows of one process
 * go in recording order), and skipped when DataHub refused the request. A crash after DataHub accepted the
 * request sends it again when the lease ends, and DataHub's refusal of the repeated document id counts as "sent".
 * A failing look-up or an unreachable DataHub is retried with back-off for that process only: other processes go on.
 */
export async function startOutboundWorker(options: OutboundWorkerOptions): Promise<OutboundWorker> {
  await migrateOutboundRequests(options.pool);
  const clock = options.clock ?? (() => new Date());
  const logger = options.logger;
  const leaseSeconds = options.leaseSeconds ?? 600;
  const counters = { sent: 0, refused: 0, skipped: 0, failed_attempts: 0 };
  let stopping = false;
  let sending: Promise<number> | null = null;
  let again = false;
  /** An intent was recorded in the transaction being committed. */
  let wake = false;

  const kick = (): void => {
    if (stopping) return;
    if (sending) again = true;
    else void sendDue().catch((error: unknown) => logger?.warn(`Outbound sender: ${error instanceof Error ? error.message : String(error)}`));
  };

  const record = async (row: DueRow, request: OutboundRequest, outcome: 'sent' | 'refused', businessReason: string, now: Date, refusal: JsonObject | null) => {
    const streamId = datahubRequestStreamId(request.processId);
    const type = outcome === 'sent' ? 'DataHubRequestSent' : 'DataHubRequestRefused';
    // The row shows what was sent by the time the event does; it stays pending until the event is stored.
    await options.pool.query(`UPDATE datahub.outbound_requests SET business_reason = $3 WHERE process_id = $1 AND action = $2`, [row.process_id, row.action, businessReason]);
    // Idempotent: the event id derives from the document id, so a repeated recording after a crash writes nothing.
    await options.eventStore.appendToStream(
      streamId,
      [
        {
          eventId: deterministicEventId(row.document_id, streamId, 0),
          type,
          data: { processId: request.processId, action: request.action, documentId: row.document_id, transactionId: request.processId, gsrn: request.gsrn, sentAt: now.toISOString(), ...(refusal ? { refusal } : {}) },
          metadata: { correlationId: row.correlation_id ?? request.processId, causationId: row.causation_id, actor: 'datahub-integration', schemaVersion: 1, context: DATAHUB_CONTEXT },
          occurredAt: now,
        },
      ],
      { expectedRevision: 'any' },
    );
    await options.pool.query(`UPDATE datahub.outbound_requests SET outcome = $3, business_reason = $4, sent_at = $5, last_error = NULL WHERE process_id = $1 AND action = $2`, [
      row.process_id,
      row.action,
      outcome,
      businessReason,
      now,
    ]);
    counters[outcome]++;
  };

  const sendOne = async (row: DueRow): Promise<void> => {
    let request = row.request;
    try {
      if (request.action === 'cancel') {
        const original = await options.pool.query<{ business_reason: string | null; outcome: string }>(
          `SELECT business_reason, outcome FROM datahub.outbound_requests WHERE process_id = $1 AND action <> 'cancel' ORDER BY seq LIMIT 1`,
          [row.process_id],
        );
        const first = original.rows[0];
        if (!first || first.outcome !== 'sent' || !first.business_reason) {
          // DataHub refused (or never had) the request: nothing to cancel there.
          await options.pool.query(`UPDATE datahub.outbound_requests SET outcome = 'skipped', last_error = NULL WHERE process_id = $1 AND action = $2`, [row.process_id, row.action]);
          counters.skipped++;
          return;
        }
        request = { ...request, originalBusinessReason: first.business_reason };
      }
      const identity = request.action === 'change-of-supplier' || request.action === 'move-in' ? await options.identityOf(request.processId) : null;
      const now = clock();
      const document = buildOutboundDocument(request, row.document_id, options.parties, now, identity);
      let outcome: 'sent' | 'refused' = 'sent';
      let refusal: JsonObject | null = null;
      try {
        await options.client.send(document);
      } catch (error) {
        if (!(error instanceof DataHubRequestError)) throw error;
        if (error.code !== 'DuplicateMessageId') {
          outcome = 'refused';
          refusal = { status: error.status, code: error.code ?? null, message: error.message };
        }
      }
      await record(row, request, outcome, document.header.processType, now, refusal);
    } catch (error) {
      // The identity look-up, DataHub or the database failed: this process waits and is tried again; others go on.
      const reason = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
      const backoffSeconds = Math.min(600, 2 ** Math.min(row.attempts, 10));
      counters.failed_attempts++;
      logger?.warn(`Outbound request ${row.action} of process ${row.process_id} failed (attempt ${row.attempts}), again in ${backoffSeconds} s: ${reason}`);
      await options.pool
        .query(`UPDATE datahub.outbound_requests SET last_error = $3, next_attempt_at = now() + make_interval(secs => $4) WHERE process_id = $1 AND action = $2 AND outcome = 'pending'`, [
          row.process_id,
          row.action,
          reason,
          backoffSeconds,
        ])
        .catch(() => undefined);
    }
  };

  const sendDue = (): Promise<number> => {
    sending ??= (async () => {
      let total = 0;
      for (;;) {
        if (stopping) return total;
        again = false;
        // At most one row per process: a row waits while an earlier one of its process is still pending.
        const due = await options.pool.query<DueRow>(
          `UPDATE datahub.outbound_requests o SET next_attempt_at = now() + make_interval(secs => $2), attempts = o.attempts + 1
            WHERE (o.process_id, o.action) IN (
              SELECT p.process_id, p.action FROM datahub.outbound_requests p
               WHERE p.outcome = 'pending' AND p.next_attempt_at <= now()
                 AND NOT EXISTS (SELECT 1 FROM datahub.outbound_requests q WHERE q.process_id = p.process_id AND q.outcome = 'pending' AND q.seq < p.seq)
               ORDER BY p.seq LIMIT $1 FOR UPDATE SKIP LOCKED)
            RETURNING o.process_id, o.action, o.document_id, o.request, o.attempts, o.correlation_id, o.causation_id`,
          [options.concurrency ?? 8, leaseSeconds],
        );
        await Promise.all(due.rows.map(sendOne));
        total += due.rows.length;
        if (due.rows.length === 0 && !again) return total;
      }
    })().finally(() => (sending = null));
    return sending;
  };

  // Started once the sender exists: catching up on a new binding records intents (and wakes it) before this returns.
  const consumer = await startConsumer({
    connection: options.connection,
    pool: options.pool,
    queue: OUTBOUND_QUEUE,
    bindings: options.bindings ?? OUTBOUND_BINDINGS,
    onFailure: 'halt',
    // Order matters between the requests of one process; an event no request can be made of is parked in the DLQ
    // (with the reason, for an operator) instead of holding every later process back. Its cancellation, if any,
    // then finds no request and sends nothing.
    isPoison: (error) => error instanceof MalformedOutboundEventError,
    prefetch: 1,
    maxAttempts: options.maxAttempts ?? 1000,
    backoff: { initialDelayMs: 500, factor: 2, maxDelayMs: 30_000 },
    logger,
    // Catch-up: a binding new to this queue (a fresh deployment, a pattern added by a release) replays the store's
    // events of it through the same inbox and outbox; (process, action) is the outbox's key, so a request recorded
    // before is not recorded (or sent) again.
    eventStore: options.eventStore,
    catchUpCutoff: options.catchUpCutoff ?? catchUpCutoffFromEnv(process.env, OUTBOUND_QUEUE),
    handler: async (envelope, tx) => {
      const request = await requestOf(envelope, tx);
      if (!request) return;
      const documentId = deterministicEventId(request.processId, `datahub-${request.action}`, 0);
      const inserted = await tx.query(
        `INSERT INTO datahub.outbound_requests (process_id, action, document_id, gsrn, request, outcome, correlation_id, causation_id)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) ON CONFLICT DO NOTHING`,
        [request.processId, request.action, documentId, request.gsrn, JSON.stringify(request), envelope.metadata.correlationId, envelope.eventId],
      );
      if (inserted.rowCount) wake = true;
    },
    // The sender acts on committed rows only.
    afterCommit: () => {
      if (!wake) return;
      wake = false;
      kick();
    },
  });

  const startedAt = new Date();
  const monitored = {
    status: () => ({ name: 'datahub.outbound-sender', kind: 'consumer' as const, state: stopping ? ('stopped' as const) : ('running' as const), reason: null, since: startedAt }),
    counts: () => ({ ...counters }),
  };
  const unregister = options.connection.workers.register(monitored);
  const timer = setInterval(kick, options.pollMs ?? 2000);
  timer.unref();
  kick();

  return {
    get topology() {
      return consumer.topology;
    },
    stats: () => consumer.stats(),
    status: () => consumer.status(),
    sendDue,
    async stop() {
      stopping = true;
      clearInterval(timer);
      unregister();
      await consumer.stop();
      await sending?.catch(() => undefined);
    },
  };
}
