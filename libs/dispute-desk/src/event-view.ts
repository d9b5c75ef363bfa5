import type { JsonObject, JsonValue, RecordedEvent } from '@dh/event-store';

/** One event as support sees it: when it happened and when we recorded it, and what caused it. */
export interface EventView {
  event_id: string;
  type: string;
  stream_id: string;
  revision: number;
  global_position: string;
  occurred_at: string;
  recorded_at: string;
  correlation_id: string;
  causation_id: string | null;
  actor: string;
  context: string;
  schema_version: number;
  data: JsonObject;
}

/**
 * Fields that hold sealed personal data or keyed indexes of it. Their ciphertext tells support nothing
 * and is personal data in law (it can be opened with the subject's key), so views replace it.
 */
const SEALED_FIELDS: Readonly<Record<string, string>> = {
  personalData: '[sealed personal data]',
  identityIndex: '[keyed identity index]',
  nameIndex: '[keyed name index]',
};

export function redactSealed(data: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(data)) out[key] = SEALED_FIELDS[key] !== undefined && value !== null ? SEALED_FIELDS[key]! : (value as JsonValue);
  return out;
}

export function toEventView(event: RecordedEvent): EventView {
  const m = event.metadata;
  return {
    event_id: event.eventId,
    type: event.type,
    stream_id: event.streamId,
    revision: Number(event.streamRevision),
    global_position: event.globalPosition.toString(),
    occurred_at: event.occurredAt.toISOString(),
    recorded_at: event.recordedAt.toISOString(),
    correlation_id: m.correlationId,
    causation_id: m.causationId,
    actor: m.actor,
    context: m.context,
    schema_version: m.schemaVersion,
    data: redactSealed(event.data),
  };
}
