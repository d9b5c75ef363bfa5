import { createHash } from 'node:crypto';
import { deterministicEventId, WrongExpectedRevisionError, type EventStore } from '@dh/event-store';
import type { InboxMessage, StoreOutcome } from '@dh/datahub-client';
import { answeredTransactionIds, DATAHUB_CONTEXT, inboundDocumentStreamId, toInboundEvents } from './inbound-events';

/** Finds the process a transaction id we sent belongs to (the process id itself, or a cancellation's document id). */
export type ProcessResolver = (transactionIds: string[]) => Promise<ReadonlyMap<string, string>>;

/** Keeps a message that could not be stored as it is (the quarantine), with the reason. */
export type KeepAside = (message: InboxMessage, reason: string) => Promise<void>;

const bodyHash = (body: string): string => createHash('sha256').update(body, 'utf8').digest('hex');

/**
 * The `store` step of the inbox loop: appends the document's events before DataHub's message is
 * dequeued. Event ids derive from the document id, so a redelivered document (a crash between store
 * and dequeue, or DataHub sending it twice) is recognised and written once. The body's SHA-256 is
 * recorded with the events: a document whose id was stored before with a *different* body is not a
 * redelivery, and is kept aside (`keepAside`, the quarantine) with a reason naming the conflict
 * instead of being dropped as a duplicate.
 */
export function createInboundStore(store: EventStore, resolveProcesses: ProcessResolver = async () => new Map(), clock: () => Date = () => new Date(), keepAside?: KeepAside) {
  return async (message: InboxMessage): Promise<StoreOutcome> => {
    const documentId = message.document.header.mRID;
    const streamId = inboundDocumentStreamId(documentId);
    const existing = await store.readStream(streamId, { maxCount: 1 });
    if (existing.length > 0) {
      const storedHash = existing[0]!.metadata.bodySha256;
      if (keepAside && typeof storedHash === 'string' && storedHash !== bodyHash(message.body)) {
        await keepAside(message, `document ${documentId} was stored before from message ${String(existing[0]!.metadata.causationId)} with different content; kept here for a person to decide`);
      }
      return 'duplicate';
    }
    const receivedAt = clock();
    const processIds = await resolveProcesses(answeredTransactionIds(message.document));
    const events = toInboundEvents(message.document, { messageId: message.messageId, category: message.category, receivedAt }, processIds);
    try {
      await store.appendToStream(
        streamId,
        events.map((event, index) => ({
          eventId: deterministicEventId(documentId, streamId, index),
          type: event.type,
          data: event.data,
          metadata: { correlationId: documentId, causationId: message.messageId, actor: 'datahub', schemaVersion: 1, context: DATAHUB_CONTEXT, bodySha256: bodyHash(message.body) },
          occurredAt: receivedAt,
        })),
        { expectedRevision: 'no_stream' },
      );
      return 'stored';
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError) return 'duplicate';
      throw error;
    }
  };
}
