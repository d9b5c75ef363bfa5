/** The dispute desk's refusals, each naming what a person needs to act. */
export class DisputeDeskError extends Error {
  constructor(
    readonly code: 'stream-not-found' | 'event-not-found' | 'invalid-request' | 'not-supported',
    message: string,
  ) {
    super(message);
    this.name = 'DisputeDeskError';
  }
}
