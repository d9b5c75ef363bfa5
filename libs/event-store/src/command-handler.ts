import { hash, randomUUID } from 'node:crypto';
import { WrongExpectedRevisionError } from './errors';
import type { AppendResult, EventMetadata, EventStore, JsonObject, NewEvent, RecordedEvent } from './event-store.port';

export interface DomainEvent {
  type: string;
  data: JsonObject;
}

export interface Decider<Command, State, Event extends DomainEvent> {
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState: State;
}

export interface HandleCommandOptions<Command, State, Event extends DomainEvent> {
  store: EventStore;
  streamId: string;
  decider: Decider<Command, State, Event>;
  command: Command;
  metadata: EventMetadata;
  /** The command's clock: becomes `occurredAt` of every event it produces. */
  now: Date;
  /** Extra attempts after a concurrency conflict; 3 by default. */
  maxRetries?: number;
  /**
   * Makes event ids deterministic (derived from key, stream and index), so a retried command
   * is recognised and stored once. Without it ids are random.
   */
  idempotencyKey?: string;
  /** Overrides id generation entirely. */
  newEventId?: (index: number) => string;
}

export interface HandleCommandResult<State, Event extends DomainEvent> {
  /** The events this call decided (empty when the command was handled before under the same key). */
  events: Event[];
  /** Null when nothing was appended because `decide` returned no events. */
  appendResult: AppendResult | null;
  /** State after the stream's events and the new ones. */
  state: State;
  /** True when the idempotency key's events were found in the stream and nothing was decided. */
  alreadyHandled: boolean;
  attempts: number;
}

/** A name-based (version 5 style) UUID from SHA-1, so the same key and index give the same id. */
export function deterministicEventId(idempotencyKey: string, streamId: string, index: number): string {
  // One-shot `hash` (no Hash object per id: about a third of the time of createHash/update/digest, 2026-12-06), the
  // version and variant bits set on the hex digits: the same ids as the bytes were set before.
  const hex = hash('sha1', `dh-event-store\u0000${streamId}\u0000${idempotencyKey}\u0000${index}`, 'hex');
  const variant = VARIANT_DIGIT[hex.charCodeAt(16)]!;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The hex digit of `(d & 0x3) | 0x8` for a hex digit d (by its char code): the RFC 4122 variant in the top bits of byte 8. */
const VARIANT_DIGIT: readonly string[] = (() => {
  const out: string[] = [];
  for (let d = 0; d < 16; d++) out[d.toString(16).charCodeAt(0)] = ((d & 0x3) | 0x8).toString(16);
  return out;
})();

/** Load, fold, decide, append with the expected revision; reload and decide again on a conflict. */
export async function handleCommand<Command, State, Event extends DomainEvent>(
  options: HandleCommandOptions<Command, State, Event>,
): Promise<HandleCommandResult<State, Event>> {
  const { store, streamId, decider, command, metadata, now, idempotencyKey } = options;
  const maxRetries = options.maxRetries ?? 3;
  const newEventId =
    options.newEventId ?? (idempotencyKey !== undefined ? (i: number) => deterministicEventId(idempotencyKey, streamId, i) : () => randomUUID());

  for (let attempt = 1; ; attempt++) {
    const stored = await store.readStream(streamId);
    const state = stored.reduce((s, e) => decider.evolve(s, asDomainEvent<Event>(e)), decider.initialState);

    if (idempotencyKey !== undefined) {
      const previous = findPreviousRun(stored, newEventId);
      if (previous) return { events: [], appendResult: previous, state, alreadyHandled: true, attempts: attempt };
    }

    const events = decider.decide(command, state);
    if (events.length === 0) return { events, appendResult: null, state, alreadyHandled: false, attempts: attempt };

    const batch: NewEvent[] = events.map((e, i) => ({ eventId: newEventId(i), type: e.type, data: e.data, metadata, occurredAt: now }));
    const last = stored[stored.length - 1];
    try {
      const appendResult = await store.appendToStream(streamId, batch, {
        expectedRevision: last ? last.streamRevision : 'no_stream',
      });
      return { events, appendResult, state: events.reduce((s, e) => decider.evolve(s, e), state), alreadyHandled: false, attempts: attempt };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError) || attempt > maxRetries) throw error;
    }
  }
}

// Events in a stream were written by its decider, so their stored shape is the decider's event type.
function asDomainEvent<Event extends DomainEvent>(event: RecordedEvent): Event {
  return { type: event.type, data: event.data } as Event;
}

function findPreviousRun(stored: RecordedEvent[], newEventId: (index: number) => string): AppendResult | null {
  const firstId = newEventId(0).toLowerCase();
  const start = stored.findIndex((e) => e.eventId.toLowerCase() === firstId);
  if (start < 0) return null;
  let end = start;
  while (end + 1 < stored.length && stored[end + 1].eventId.toLowerCase() === newEventId(end + 1 - start).toLowerCase()) end++;
  return { nextExpectedRevision: stored[end].streamRevision, globalPosition: stored[end].globalPosition };
}
