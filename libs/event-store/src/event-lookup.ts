import type { EventStore, RecordedEvent } from './event-store.port';

/**
 * Support queries across streams, for the dispute desk: one event by id, the events it caused
 * (`metadata.causationId`) and the events of one correlation (`metadata.correlationId`). Optional:
 * an adapter that cannot answer them (KurrentDB keeps no index of event ids) does not implement it,
 * and callers check with {@link eventLookupOf}.
 */
export interface EventLookup {
  readEvent(eventId: string): Promise<RecordedEvent | null>;
  /** Events whose `metadata.causationId` is `eventId`, in append order; at most `maxCount`. */
  readCausedBy(eventId: string, maxCount: number): Promise<RecordedEvent[]>;
  /** Events sharing `metadata.correlationId`, in append order; at most `maxCount`. */
  readCorrelated(correlationId: string, maxCount: number): Promise<RecordedEvent[]>;
}

export function eventLookupOf(store: EventStore): EventLookup | null {
  const candidate = store as EventStore & Partial<EventLookup>;
  return typeof candidate.readEvent === 'function' && typeof candidate.readCausedBy === 'function' && typeof candidate.readCorrelated === 'function'
    ? (candidate as EventStore & EventLookup)
    : null;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
