import {
  ANY,
  ErrorType,
  NO_STREAM,
  STREAM_EXISTS,
  type AllStreamResolvedEvent,
  type AppendStreamState,
  type EventData,
  type Position,
  type ResolvedEvent,
} from '@kurrent/kurrentdb-client';
import { WrongExpectedRevisionError } from '../errors';
import type { EventMetadata, ExpectedRevision, JsonObject, JsonValue, NewEvent, RecordedEvent } from '../event-store.port';
import { formatExpected } from '../internal/append-rules';

/** Key in the stored metadata JSON that carries the domain time; KurrentDB itself only knows `created`. */
export const OCCURRED_AT_KEY = '$occurredAt';

export function toStreamState(expected: ExpectedRevision): AppendStreamState {
  switch (expected) {
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    case 'any':
      return ANY;
    default:
      return expected;
  }
}

export function formatKurrentCheckpoint(position: Position): string {
  return `${position.commit.toString()}:${position.prepare.toString()}`;
}

export function parseKurrentCheckpoint(checkpoint: string): Position {
  const match = /^(\d+):(\d+)$/.exec(checkpoint);
  if (!match) throw new Error(`Malformed KurrentDB checkpoint "${checkpoint}", expected "<commit>:<prepare>"`);
  return { commit: BigInt(match[1]), prepare: BigInt(match[2]) };
}

export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

interface WrongExpectedVersionLike {
  type: ErrorType.WRONG_EXPECTED_VERSION;
  actualState: AppendStreamState;
}

export function isWrongExpectedVersion(error: unknown): error is WrongExpectedVersionLike {
  return typeof error === 'object' && error !== null && (error as { type?: unknown }).type === ErrorType.WRONG_EXPECTED_VERSION;
}

export function isStreamNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { type?: unknown }).type === ErrorType.STREAM_NOT_FOUND;
}

/** WrongExpectedVersionError to the port's typed error; anything else unchanged. */
export function mapAppendError(error: unknown, streamId: string, expected: ExpectedRevision): unknown {
  if (!isWrongExpectedVersion(error)) return error;
  const actual = error.actualState;
  return new WrongExpectedRevisionError(streamId, formatExpected(expected), typeof actual === 'bigint' && actual >= 0n ? actual : 'no_stream');
}

/**
 * KurrentDB's multi-stream append (server 25.1+) takes record properties as string → string only, so the
 * event's metadata travels as one property holding its JSON, read back by {@link fromResolvedEvent}.
 */
export const METADATA_PROPERTY = '$dh.metadata';

/** An event for `multiStreamAppend`: metadata (with the domain time) as one JSON string property. */
export function toMultiAppendEventData(event: NewEvent): EventData {
  return {
    id: event.eventId,
    contentType: 'application/json',
    type: event.type,
    data: event.data,
    metadata: { [METADATA_PROPERTY]: JSON.stringify({ ...event.metadata, [OCCURRED_AT_KEY]: event.occurredAt.toISOString() }) },
  };
}

export function toEventData(event: NewEvent): EventData {
  return {
    id: event.eventId,
    contentType: 'application/json',
    type: event.type,
    data: event.data,
    metadata: { ...event.metadata, [OCCURRED_AT_KEY]: event.occurredAt.toISOString() },
  };
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function parseMetadata(raw: unknown): { [key: string]: JsonValue } {
  if (isJsonObject(raw)) {
    const packed = raw[METADATA_PROPERTY];
    if (typeof packed === 'string') {
      try {
        const parsed: unknown = JSON.parse(packed);
        if (isJsonObject(parsed)) return parsed;
      } catch {
        // not ours: keep the object as it is
      }
    }
    return raw;
  }
  if (raw instanceof Uint8Array) {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(raw).toString('utf8'));
      if (isJsonObject(parsed)) return parsed;
    } catch {
      // not JSON: written by another tool; keep the defaults below
    }
  }
  return {};
}

/** A stored event back to the port's shape; `null` for links to deleted events and non-JSON payloads. */
export function fromResolvedEvent(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | null {
  const event = resolved.event;
  if (!event || !event.isJson || !isJsonObject(event.data)) return null;
  if (!event.position) throw new Error('KurrentDB server did not return event positions (needs server 22.6 or later)');
  const stored = parseMetadata(event.metadata);
  const { [OCCURRED_AT_KEY]: occurredAtRaw, ...rest } = stored;
  const occurredAt = typeof occurredAtRaw === 'string' ? new Date(occurredAtRaw) : event.created;
  const metadata: EventMetadata = {
    correlationId: '',
    causationId: null,
    actor: '',
    schemaVersion: 1,
    context: '',
    ...rest,
  } as EventMetadata;
  return {
    eventId: event.id,
    type: event.type,
    streamId: event.streamId,
    streamRevision: event.revision,
    globalPosition: event.position.commit,
    checkpoint: formatKurrentCheckpoint(event.position),
    occurredAt,
    recordedAt: event.created,
    data: event.data,
    metadata,
  };
}
