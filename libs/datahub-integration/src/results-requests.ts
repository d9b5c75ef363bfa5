import type { Pool } from 'pg';
import type { CimHeader, RequestAggregatedMeasureData, RequestWholesaleSettlement, SettlementVersion } from '@dh/cim';
import { DataHubRequestError } from '@dh/datahub-client';
import { deterministicEventId, type EventStore, type JsonObject } from '@dh/event-store';
import { catchUpCutoffFromEnv, startConsumer, type AmqpConnection, type CatchUpCutoff, type RunningConsumer } from '@dh/messaging';
import { DATAHUB_CONTEXT } from './inbound-events';
import type { MarketParties } from './outbound-requests';

/** Reconciliation's intent to ask DataHub for results (`DataHubResultsRequested`). */
export interface ResultsRequest {
  requestId: string;
  kind: 'energy' | 'wholesale';
  gridArea: string;
  start: string;
  end: string;
  businessReason: string;
  settlementVersion: string | null;
}

export const RESULTS_REQUESTS_QUEUE = 'datahub.results-requests';
export const resultsRequestOutcomeStreamId = (requestId: string): string => `datahub-results-request-${requestId}`;

const isoSeconds = (iso: string): string => new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * RSM-016 RequestAggregatedMeasureData (E74) or RSM-017 RequestWholesaleSettlement (D21) for our results in a
 * grid area and period. The series mRID (transaction) is the request id: DataHub's answer (RSM-014/019 or the
 * reject) carries it as `originalTransactionIDReference`.
 */
export function buildResultsRequest(r: ResultsRequest, parties: MarketParties, now: Date): RequestAggregatedMeasureData | RequestWholesaleSettlement {
  const header: CimHeader = {
    mRID: deterministicEventId(r.requestId, 'datahub-results-request', 0),
    processType: r.businessReason,
    businessSectorType: '23',
    sender: { id: { codingScheme: 'A10', value: parties.supplierGln }, role: 'DDQ' },
    receiver: { id: { codingScheme: 'A10', value: parties.dataHubGln }, role: 'DDZ' },
    createdDateTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  const common = {
    mRID: r.requestId,
    ...(r.settlementVersion ? { settlementVersion: r.settlementVersion as SettlementVersion } : {}),
    start: isoSeconds(r.start),
    end: isoSeconds(r.end),
    meteringGridArea: r.gridArea,
    energySupplier: { codingScheme: 'A10' as const, value: parties.supplierGln },
  };
  return r.kind === 'energy' ? { kind: 'RequestAggregatedMeasureData', header, series: [common] } : { kind: 'RequestWholesaleSettlement', header, series: [{ ...common, chargeTypes: [] }] };
}

export async function migrateResultsRequests(pool: Pool): Promise<void> {
  await pool.query(`
    CREATE SCHEMA IF NOT EXISTS datahub;
    CREATE TABLE IF NOT EXISTS datahub.results_requests (
      request_id text PRIMARY KEY, request jsonb NOT NULL, status text NOT NULL, attempts int NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(), last_error text, created_at timestamptz NOT NULL DEFAULT now(), sent_at timestamptz);`);
}

export interface ResultsRequestSenderOptions {
  pool: Pool;
  connection: AmqpConnection;
  eventStore: EventStore;
  client: { send(document: RequestAggregatedMeasureData | RequestWholesaleSettlement): Promise<unknown> };
  parties: MarketParties;
  clock?: () => Date;
  pollMs?: number;
  /**
   * How far back a catch-up on a binding new to the queue goes (this consumer acts outside: old events are not sent
   * out). Default from the environment, `catchUpCutoffFromEnv` (a day before the binding first appears).
   */
  catchUpCutoff?: CatchUpCutoff;
}

/**
 * Sends reconciliation's RSM-016/017 requests without holding a database transaction across the call: the consumer
 * records the intent (in its inbox transaction), the sender takes pending rows under a lease, calls DataHub, then
 * records the outcome (`DataHubResultsRequestSent` / `…Refused` on `datahub-results-request-<id>`). A transport failure
 * is retried with back-off; DataHub refusing a repeated document id means it was sent before a crash.
 */
export async function startResultsRequestSender(options: ResultsRequestSenderOptions): Promise<{ consumer: RunningConsumer; sendDue(): Promise<number>; stop(): Promise<void> }> {
  await migrateResultsRequests(options.pool);
  const clock = options.clock ?? (() => new Date());
  const record = async (request: ResultsRequest, type: 'DataHubResultsRequestSent' | 'DataHubResultsRequestRefused', extra: JsonObject) => {
    const streamId = resultsRequestOutcomeStreamId(request.requestId);
    const eventId = deterministicEventId(request.requestId, streamId, 0);
    if ((await options.eventStore.readStream(streamId)).length > 0) return;
    await options.eventStore.appendToStream(
      streamId,
      [{ eventId, type, data: { requestId: request.requestId, kind: request.kind, gridArea: request.gridArea, ...extra }, metadata: { correlationId: request.requestId, causationId: null, actor: 'datahub-integration', schemaVersion: 1, context: DATAHUB_CONTEXT }, occurredAt: clock() }],
      { expectedRevision: 'no_stream' },
    );
  };

  let sending: Promise<number> | null = null;
  const sendDue = (): Promise<number> => {
    sending ??= (async () => {
      const due = await options.pool.query<{ request_id: string; request: ResultsRequest; attempts: number }>(
        `UPDATE datahub.results_requests SET status = 'sending', next_attempt_at = now() + interval '60 seconds', attempts = attempts + 1
          WHERE request_id IN (SELECT request_id FROM datahub.results_requests WHERE status IN ('pending', 'sending') AND next_attempt_at <= now() ORDER BY created_at LIMIT 20 FOR UPDATE SKIP LOCKED)
          RETURNING request_id, request, attempts`,
      );
      for (const row of due.rows) {
        const request = row.request;
        try {
          await options.client.send(buildResultsRequest(request, options.parties, clock()));
          await record(request, 'DataHubResultsRequestSent', { sentAt: clock().toISOString() });
          await options.pool.query(`UPDATE datahub.results_requests SET status = 'sent', sent_at = now() WHERE request_id = $1`, [row.request_id]);
        } catch (error) {
          if (error instanceof DataHubRequestError && error.code === 'DuplicateMessageId') {
            await record(request, 'DataHubResultsRequestSent', { sentAt: clock().toISOString() });
            await options.pool.query(`UPDATE datahub.results_requests SET status = 'sent', sent_at = now() WHERE request_id = $1`, [row.request_id]);
          } else if (error instanceof DataHubRequestError && error.status >= 400 && error.status < 500) {
            await record(request, 'DataHubResultsRequestRefused', { refusal: { status: error.status, code: error.code ?? null, message: error.message } });
            await options.pool.query(`UPDATE datahub.results_requests SET status = 'refused', last_error = $2 WHERE request_id = $1`, [row.request_id, error.message]);
          } else {
            const backoffSeconds = Math.min(600, 2 ** Math.min(row.attempts, 9));
            await options.pool.query(`UPDATE datahub.results_requests SET status = 'pending', last_error = $2, next_attempt_at = now() + ($3 || ' seconds')::interval WHERE request_id = $1`, [
              row.request_id,
              error instanceof Error ? error.message : String(error),
              String(backoffSeconds),
            ]);
          }
        }
      }
      return due.rows.length;
    })().finally(() => (sending = null));
    return sending;
  };
  // Started once the sender exists: catching up records intents (and wakes it) before this returns.
  const consumer = await startConsumer({
    connection: options.connection,
    pool: options.pool,
    queue: RESULTS_REQUESTS_QUEUE,
    bindings: ['reconciliation.data-hub-results-requested'],
    // A binding new to the queue (a fresh deployment) replays the store's requests through the same inbox and
    // outbox; request_id is the outbox's key, so a request recorded before is not sent again.
    eventStore: options.eventStore,
    catchUpCutoff: options.catchUpCutoff ?? catchUpCutoffFromEnv(process.env, RESULTS_REQUESTS_QUEUE),
    handler: async (envelope, tx) => {
      const d = envelope.data;
      const request: ResultsRequest = {
        requestId: String(d['requestId']),
        kind: d['kind'] === 'energy' ? 'energy' : 'wholesale',
        gridArea: String(d['gridArea']),
        start: String(d['start']),
        end: String(d['end']),
        businessReason: String(d['businessReason']),
        settlementVersion: typeof d['settlementVersion'] === 'string' ? d['settlementVersion'] : null,
      };
      await tx.query(`INSERT INTO datahub.results_requests (request_id, request, status) VALUES ($1, $2, 'pending') ON CONFLICT DO NOTHING`, [request.requestId, JSON.stringify(request)]);
    },
    // The sender acts on committed rows only.
    afterCommit: () => void sendDue().catch(() => undefined),
  });

  const timer = setInterval(() => void sendDue().catch(() => undefined), options.pollMs ?? 2000);
  return {
    consumer,
    sendDue,
    async stop() {
      clearInterval(timer);
      await sending?.catch(() => undefined);
      await consumer.stop();
    },
  };
}
