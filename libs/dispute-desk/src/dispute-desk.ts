import { eventLookupOf, type EventStore, type JsonValue, type RecordedEvent } from '@dh/event-store';
import { DisputeDeskError } from './errors';
import { toEventView, type EventView } from './event-view';
import { diffStates, type StateChange } from './state-diff';
import { streamKindOf } from './stream-kinds';

export const MAX_PAGE = 1000;
const MAX_CHAIN = 25;
const MAX_RELATED = 100;
const STREAM_ID = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,199}$/;

export interface StreamEvents {
  stream_id: string;
  kind: string;
  as_of: string | null;
  events: EventView[];
  /** Revision to ask for next (`from_revision`), null at the end. */
  next_revision: number | null;
}

export interface StreamState {
  stream_id: string;
  kind: string;
  description: string;
  /** Events recorded at or before this instant are folded; null = everything known now. */
  as_of: string | null;
  /** Revision of the last folded event, null before the stream's first event. */
  revision: number | null;
  events_folded: number;
  last_recorded_at: string | null;
  state: JsonValue;
}

export interface StreamDiff {
  stream_id: string;
  kind: string;
  from: { as_of: string; revision: number | null };
  to: { as_of: string; revision: number | null };
  /** Events recorded after `from` and at or before `to`: the reasons for the changes. */
  events: EventView[];
  changes: StateChange[];
}

export interface EventTrace {
  event: EventView;
  /** The causation chain upwards, nearest cause first, up to 25. */
  causes: EventView[];
  /** Events this one caused directly, up to 100. */
  caused: EventView[];
  /** Events of the same correlation (one request or trigger), in append order, up to 100. */
  correlated: EventView[];
}

function assertStreamId(streamId: string): void {
  if (!STREAM_ID.test(streamId)) throw new DisputeDeskError('invalid-request', `"${streamId.slice(0, 60)}" is not a stream id (category-id, letters, digits, : . _ -)`);
}

const at = (events: readonly RecordedEvent[], instant: Date): RecordedEvent[] => events.filter((e) => e.recordedAt.getTime() <= instant.getTime());

/**
 * Reads any stream for support: its events with recorded time and causation, its state as of any
 * moment (events recorded by then, folded by the stream's own rules) and the difference between two
 * moments. Streams are short by design (one customer, one invoice, one day of prices), so a fold reads
 * the stream once.
 */
export class DisputeDesk {
  constructor(private readonly store: EventStore) {}

  private async readKnown(streamId: string, asOf?: Date): Promise<RecordedEvent[]> {
    assertStreamId(streamId);
    const all = await this.store.readStream(streamId, asOf === undefined ? {} : { asOf });
    if (all.length === 0 && (asOf === undefined || (await this.store.readStream(streamId, { maxCount: 1 })).length === 0)) {
      throw new DisputeDeskError('stream-not-found', `No stream ${streamId}`);
    }
    return all;
  }

  async events(streamId: string, options: { asOf?: Date; fromRevision?: number; limit?: number } = {}): Promise<StreamEvents> {
    assertStreamId(streamId);
    const limit = Math.min(Math.max(options.limit ?? 200, 1), MAX_PAGE);
    const events = await this.store.readStream(streamId, {
      ...(options.asOf ? { asOf: options.asOf } : {}),
      ...(options.fromRevision !== undefined ? { fromRevision: BigInt(options.fromRevision) } : {}),
      maxCount: limit + 1,
    });
    if (events.length === 0 && (options.fromRevision ?? 0) === 0) await this.readKnown(streamId);
    const page = events.slice(0, limit);
    return {
      stream_id: streamId,
      kind: streamKindOf(streamId).kind,
      as_of: options.asOf?.toISOString() ?? null,
      events: page.map(toEventView),
      next_revision: events.length > limit ? Number(events[limit]!.streamRevision) : null,
    };
  }

  async stateAt(streamId: string, asOf?: Date): Promise<StreamState> {
    const events = await this.readKnown(streamId, asOf);
    return this.fold(streamId, events, asOf);
  }

  async diff(streamId: string, from: Date, to: Date): Promise<StreamDiff> {
    if (from.getTime() > to.getTime()) throw new DisputeDeskError('invalid-request', `from (${from.toISOString()}) must not be after to (${to.toISOString()})`);
    const upTo = await this.readKnown(streamId, to);
    const before = this.fold(streamId, at(upTo, from), from);
    const after = this.fold(streamId, upTo, to);
    return {
      stream_id: streamId,
      kind: streamKindOf(streamId).kind,
      from: { as_of: from.toISOString(), revision: before.revision },
      to: { as_of: to.toISOString(), revision: after.revision },
      events: upTo.filter((e) => e.recordedAt.getTime() > from.getTime()).map(toEventView),
      changes: diffStates(before.state, after.state),
    };
  }

  async trace(eventId: string): Promise<EventTrace> {
    const lookup = eventLookupOf(this.store);
    if (lookup === null) throw new DisputeDeskError('not-supported', 'This event store cannot look events up by id (KurrentDB): follow causation from the stream views');
    const event = await lookup.readEvent(eventId);
    if (event === null) throw new DisputeDeskError('event-not-found', `No event ${eventId}`);
    const causes: RecordedEvent[] = [];
    const seen = new Set([event.eventId]);
    for (let cause = event.metadata.causationId; cause && causes.length < MAX_CHAIN && !seen.has(cause); ) {
      const found = await lookup.readEvent(cause);
      if (found === null) break;
      causes.push(found);
      seen.add(found.eventId);
      cause = found.metadata.causationId;
    }
    const [caused, correlated] = await Promise.all([lookup.readCausedBy(event.eventId, MAX_RELATED), lookup.readCorrelated(event.metadata.correlationId, MAX_RELATED)]);
    return { event: toEventView(event), causes: causes.map(toEventView), caused: caused.map(toEventView), correlated: correlated.map(toEventView) };
  }

  private fold(streamId: string, events: readonly RecordedEvent[], asOf: Date | undefined): StreamState {
    const kind = streamKindOf(streamId);
    const last = events[events.length - 1];
    return {
      stream_id: streamId,
      kind: kind.kind,
      description: kind.description,
      as_of: asOf?.toISOString() ?? null,
      revision: last === undefined ? null : Number(last.streamRevision),
      events_folded: events.length,
      last_recorded_at: last?.recordedAt.toISOString() ?? null,
      state: kind.fold(events),
    };
  }
}
