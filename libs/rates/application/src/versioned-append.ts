import { createHash } from 'node:crypto';
import { deterministicEventId, WrongExpectedRevisionError, type EventStore, type JsonObject, type JsonValue, type RecordedEvent } from '@dh/event-store';
import { ratesMetadata, type RatesCommandContext } from './events';

/** JSON with object keys sorted: stored event data (PostgreSQL jsonb) does not keep key order. */
export function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k]!)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface AppendIfChangedResult {
  appended: boolean;
  /** The event in force after the call (null: the stream has none). */
  data: JsonObject | null;
}

/**
 * Reads the stream, lets `next` decide from the latest event of `type` (null: none) whether a new one is
 * due, and appends it at the expected revision; on a concurrent append, decides again. The event id is
 * derived from the stream and the content, so the same decision appended twice is stored once.
 */
export async function appendIfChanged(
  store: EventStore,
  streamId: string,
  type: string,
  next: (latest: JsonObject | null, stream: readonly RecordedEvent[]) => JsonObject | null,
  context: RatesCommandContext,
): Promise<AppendIfChangedResult> {
  for (let attempt = 1; ; attempt++) {
    const stored = await store.readStream(streamId);
    const latest = [...stored].reverse().find((e) => e.type === type)?.data ?? null;
    const data = next(latest, stored);
    if (data === null) return { appended: false, data: latest };
    const hash = createHash('sha256').update(canonicalJson(data)).digest('hex');
    const last = stored[stored.length - 1];
    try {
      await store.appendToStream(
        streamId,
        [{ eventId: deterministicEventId(`${type}:${hash}`, streamId, stored.length), type, data, metadata: ratesMetadata(context), occurredAt: context.now }],
        { expectedRevision: last === undefined ? 'no_stream' : last.streamRevision },
      );
      return { appended: true, data };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError) || attempt >= 5) throw error;
    }
  }
}
