import type { ProjectedEvent } from '../projection/projection';

/** A projected event for unit tests: event id `e<n>`, stream `s` at revision `n`, checkpoint `1:<n>`. */
export function projectedEvent(type: string, data: Record<string, unknown>, n: number): ProjectedEvent {
  return { eventId: `e${n}`, type, streamId: 's', streamRevision: BigInt(n), checkpoint: `1:${n}`, recordedAt: new Date(0), data };
}
