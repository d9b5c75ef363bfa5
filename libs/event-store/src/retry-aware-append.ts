import type { AppendResult, EventStore, StreamAppend } from './event-store.port';

/** One stream's result of {@link RetryAwareAppend.appendToStreamsNotingRetries}. */
export interface NotedAppendResult extends AppendResult {
  /**
   * True when this stream's events were found stored already (a retry of an append that had been stored, answered
   * with its stored result; nothing was written); false when they were written by this call.
   */
  alreadyStored: boolean;
}

/**
 * `appendToStreams` that also tells, per stream, whether the events were written now or found stored (a retry).
 * Same checks, errors, atomicity and results otherwise. Optional: an adapter whose server answers a retry without
 * saying so (KurrentDB's idempotent append) does not implement it, and callers check with
 * {@link retryAwareAppendOf}. A writer that must tell a redelivery from a first delivery (the DataHub inbox) can
 * then skip reading the stream before appending.
 */
export interface RetryAwareAppend {
  appendToStreamsNotingRetries(appends: StreamAppend[]): Promise<NotedAppendResult[]>;
}

export function retryAwareAppendOf(store: EventStore): RetryAwareAppend | null {
  const candidate = store as EventStore & Partial<RetryAwareAppend>;
  return typeof candidate.appendToStreamsNotingRetries === 'function' ? (candidate as EventStore & RetryAwareAppend) : null;
}
