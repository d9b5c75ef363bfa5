import { WrongExpectedRevisionError } from '@dh/event-store';
import { CommandError } from '@dh/messaging';
import { PersonalDataErasedError } from '@dh/platform';
import { DomainRuleViolation } from '@dh/portfolio-domain';

/** Turns the domain's typed refusals into typed command replies the gateway maps to HTTP. */
export async function asCommandReply<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DomainRuleViolation) throw new CommandError(error.code, error.message);
    if (error instanceof WrongExpectedRevisionError) throw new CommandError('concurrency-conflict', error.message, { streamId: error.streamId });
    if (error instanceof PersonalDataErasedError) throw new CommandError('personal-data-erased', error.message);
    throw error;
  }
}
