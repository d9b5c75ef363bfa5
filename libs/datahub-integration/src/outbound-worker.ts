import type { Pool, PoolClient } from 'pg';
import { DataHubRequestError, type DataHubClient } from '@dh/datahub-client';
import { deterministicEventId, type EventStore, type JsonObject } from '@dh/event-store';
import { startConsumer, type AmqpConnection, type EventEnvelope, type MessagingLogger, type RunningConsumer } from '@dh/messaging';
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
  await pool.query(`
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
    );`);
}

const str = (data: JsonObject, key: string): string => {
  const value = data[key];
  if (typeof value !== 'string') throw new Error(`event data.${key} must be a string`);
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
      const { rows } = await tx.query<{ gsrn: string; business_reason: string }>(
        `SELECT gsrn, business_reason FROM datahub.outbound_requests WHERE process_id = $1 AND action <> 'cancel' AND outcome = 'sent'`,
        [processId],
      );
      if (!rows[0]) return null;
      return { action: 'cancel', processId, gsrn: rows[0].gsrn, originalBusinessReason: rows[0].business_reason };
    }
    default:
      return null;
  }
}

/**
 * Sends the BRS requests the portfolio decides on. In strict order (a cancellation never overtakes
 * its request), once per process and action, and DataHub's refusal of a repeated document id counts
 * as "already sent" after a crash between sending and recording.
 */
export async function startOutboundWorker(options: OutboundWorkerOptions): Promise<RunningConsumer> {
  await migrateOutboundRequests(options.pool);
  const clock = options.clock ?? (() => new Date());
  return startConsumer({
    connection: options.connection,
    pool: options.pool,
    queue: OUTBOUND_QUEUE,
    bindings: OUTBOUND_BINDINGS,
    onFailure: 'halt',
    prefetch: 1,
    maxAttempts: options.maxAttempts ?? 1000,
    backoff: { initialDelayMs: 500, factor: 2, maxDelayMs: 30_000 },
    logger: options.logger,
    handler: async (envelope, tx) => {
      const request = await requestOf(envelope, tx);
      if (!request) return;
      const done = await tx.query('SELECT 1 FROM datahub.outbound_requests WHERE process_id = $1 AND action = $2', [request.processId, request.action]);
      if (done.rowCount) return;

      const documentId = deterministicEventId(request.processId, `datahub-${request.action}`, 0);
      const identity = request.action === 'change-of-supplier' || request.action === 'move-in' ? await options.identityOf(request.processId) : null;
      const now = clock();
      const document = buildOutboundDocument(request, documentId, options.parties, now, identity);
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
      await tx.query(
        `INSERT INTO datahub.outbound_requests (process_id, action, document_id, gsrn, business_reason, sent_at, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [request.processId, request.action, documentId, request.gsrn, document.header.processType, now, outcome],
      );
      const streamId = datahubRequestStreamId(request.processId);
      const type = outcome === 'sent' ? 'DataHubRequestSent' : 'DataHubRequestRefused';
      await options.eventStore.appendToStream(
        streamId,
        [
          {
            eventId: deterministicEventId(documentId, streamId, 0),
            type,
            data: { processId: request.processId, action: request.action, documentId, transactionId: request.processId, gsrn: request.gsrn, sentAt: now.toISOString(), ...(refusal ? { refusal } : {}) },
            metadata: { correlationId: envelope.metadata.correlationId, causationId: envelope.eventId, actor: 'datahub-integration', schemaVersion: 1, context: DATAHUB_CONTEXT },
            occurredAt: now,
          },
        ],
        { expectedRevision: 'any' },
      );
    },
  });
}
