export { DisputeDesk, MAX_PAGE } from './dispute-desk';
export type { EventTrace, StreamDiff, StreamEvents, StreamState } from './dispute-desk';
export { DisputeDeskError } from './errors';
export { redactSealed, toEventView } from './event-view';
export type { EventView } from './event-view';
export { diffStates } from './state-diff';
export type { StateChange } from './state-diff';
export { STREAM_KINDS, streamKindOf } from './stream-kinds';
export type { StreamKind } from './stream-kinds';
