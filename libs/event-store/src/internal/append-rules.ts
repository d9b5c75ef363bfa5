import { DuplicateEventIdError } from '../errors';
import type { AppendResult, ExpectedRevision, NewEvent, StreamAppend } from '../event-store.port';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Rejects batches every adapter would reject, before any I/O. */
export function assertAppendable(streamId: string, events: NewEvent[]): void {
  if (streamId.length === 0) throw new Error('appendToStream: stream id must not be empty');
  if (events.length === 0) throw new Error(`appendToStream(${streamId}): at least one event is required`);
  const seen = new Set<string>();
  for (const event of events) {
    if (!UUID.test(event.eventId)) throw new Error(`appendToStream(${streamId}): event id ${event.eventId} is not a UUID`);
    const id = event.eventId.toLowerCase();
    if (seen.has(id)) throw new Error(`appendToStream(${streamId}): event id ${event.eventId} appears twice in the batch`);
    seen.add(id);
    if (Number.isNaN(event.occurredAt.getTime())) throw new Error(`appendToStream(${streamId}): occurredAt of ${event.eventId} is invalid`);
  }
}

/** Rejects multi-stream batches every adapter would reject, before any I/O. */
export function assertBatchAppendable(appends: StreamAppend[]): void {
  if (appends.length === 0) throw new Error('appendToStreams: at least one stream is required');
  const streams = new Set<string>();
  const ids = new Set<string>();
  for (const a of appends) {
    assertAppendable(a.streamId, a.events);
    if (streams.has(a.streamId)) throw new Error(`appendToStreams: stream ${a.streamId} appears twice in the batch`);
    streams.add(a.streamId);
    for (const e of a.events) {
      const id = e.eventId.toLowerCase();
      if (ids.has(id)) throw new Error(`appendToStreams: event id ${e.eventId} appears twice in the batch`);
      ids.add(id);
    }
  }
}

export function formatExpected(expected: ExpectedRevision): string {
  return typeof expected === 'bigint' ? expected.toString() : expected;
}

/** Where an event id of the batch is stored already, if anywhere. */
export interface StoredEventLocation {
  streamId: string;
  streamRevision: bigint;
  globalPosition: bigint;
}

/**
 * Decides whether an append whose event ids are (partly) stored already is a retry.
 * `undefined`: none stored, append normally. An AppendResult: every id is stored, in order, in this
 * stream at the revisions this append would have given them; return it and write nothing.
 * Anything else is a different write reusing ids: DuplicateEventIdError.
 */
export function resolveStoredIds(
  streamId: string,
  expected: ExpectedRevision,
  eventIds: string[],
  stored: (StoredEventLocation | undefined)[],
): AppendResult | undefined {
  const found = stored.filter((s): s is StoredEventLocation => s !== undefined);
  if (found.length === 0) return undefined;
  const duplicate = () =>
    new DuplicateEventIdError(
      streamId,
      eventIds.filter((_, i) => stored[i] !== undefined),
    );
  if (found.length !== eventIds.length) throw duplicate();
  const first = found[0].streamRevision;
  const consecutive = found.every((s, i) => s.streamId === streamId && s.streamRevision === first + BigInt(i));
  if (!consecutive) throw duplicate();
  const expectedFirst = expected === 'no_stream' ? 0n : typeof expected === 'bigint' ? expected + 1n : first;
  if (first !== expectedFirst) throw duplicate();
  const last = found[found.length - 1];
  return { nextExpectedRevision: last.streamRevision, globalPosition: last.globalPosition };
}
