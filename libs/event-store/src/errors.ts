export class WrongExpectedRevisionError extends Error {
  override readonly name = 'WrongExpectedRevisionError';
  constructor(
    readonly streamId: string,
    readonly expected: string,
    readonly actual: bigint | 'no_stream',
  ) {
    super(`Stream ${streamId}: expected revision ${expected}, but the stream is at ${actual === 'no_stream' ? 'no stream' : actual.toString()}`);
  }
}

/** The event ids are stored already, but not at the revisions this append would give them. */
export class DuplicateEventIdError extends Error {
  override readonly name = 'DuplicateEventIdError';
  constructor(
    readonly streamId: string,
    readonly eventIds: string[],
  ) {
    super(`Stream ${streamId}: event id(s) ${eventIds.join(', ')} are already stored at other positions`);
  }
}
