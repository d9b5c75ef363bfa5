import type { EventStore } from './event-store.port';

/**
 * The one change an append-only log allows: removing fields of recorded events that must not outlive a
 * GDPR erasure (art. 17), such as the keyed CPR index `CustomerCreated` schema version 1 carried. Only
 * named fields of events of one type in one stream are removed; nothing else about the events changes
 * (ids, positions, revisions, other fields), so readers and rebuilds see the same history without them.
 * Optional: KurrentDB cannot change a written event, so its adapter does not implement it; callers check
 * with {@link eventRedactionOf}.
 */
export interface EventRedaction {
  /** Removes `fields` from the data of every `eventType` event of `streamId`; answers how many events changed. */
  removeEventDataFields(streamId: string, eventType: string, fields: readonly string[]): Promise<number>;
}

export function eventRedactionOf(store: EventStore): EventRedaction | null {
  const candidate = store as EventStore & Partial<EventRedaction>;
  return typeof candidate.removeEventDataFields === 'function' ? (candidate as EventStore & EventRedaction) : null;
}

/** Field names are JSON keys of event data: plain identifiers only. */
export function assertRedactableFields(fields: readonly string[]): void {
  if (fields.length === 0 || fields.some((f) => !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(f))) throw new Error(`redaction fields must be identifiers, got ${JSON.stringify(fields)}`);
}
