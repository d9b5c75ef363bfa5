import type { EventStore, JsonObject, RecordedEvent } from '@dh/event-store';

/** One version of a rates fact, as the event that set it: who, when (recorded and business time), what. */
export interface VersionView {
  version: number;
  recorded_at: string;
  occurred_at: string;
  actor: string;
  event_id: string;
  data: JsonObject;
}

export function versionsOf(events: readonly RecordedEvent[], type: string): VersionView[] {
  return events
    .filter((e) => e.type === type)
    .map((e, i) => ({ version: i + 1, recorded_at: e.recordedAt.toISOString(), occurred_at: e.occurredAt.toISOString(), actor: e.metadata.actor, event_id: e.eventId, data: e.data }));
}

export async function streamVersions(store: EventStore, streamId: string, type: string): Promise<VersionView[]> {
  return versionsOf(await store.readStream(streamId), type);
}

/**
 * The version in force on a day among versions that each apply from their `validFrom`: the latest recorded
 * version with the latest `validFrom` on or before the day (a later definition for the same date replaces
 * an earlier one, never the earlier record).
 */
export function inForceOn(versions: readonly VersionView[], day: string): VersionView | null {
  let best: VersionView | null = null;
  for (const v of versions) {
    const from = String(v.data['validFrom']);
    if (from > day) continue;
    if (best === null || from >= String(best.data['validFrom'])) best = v;
  }
  return best;
}
