import type { LocalDate } from '@dh/dk-time';
import { DomainRuleViolation } from '../errors';

interface AnyDecider<C, S, E> {
  decide(command: C, state: S): E[];
  evolve(state: S, event: E): S;
  initialState: S;
}

/** given(events).when(command) → the decided events; `.state` is the folded state. */
export function specFor<C, S, E>(decider: AnyDecider<C, S, E>) {
  return (events: E[]) => {
    const state = events.reduce(decider.evolve, decider.initialState);
    return { state, when: (command: C): E[] => decider.decide(command, state) };
  };
}

/** Noon in Copenhagen (10:00 or 11:00 UTC), so the Danish local date is `date`. */
export const onDay = (date: LocalDate): Date => new Date(`${date}T10:00:00Z`);
export const at = (date: LocalDate): string => onDay(date).toISOString();

/** The DomainRuleViolation a command is refused with; fails the test if it is accepted. */
export function refusal(act: () => unknown): DomainRuleViolation {
  try {
    act();
  } catch (error) {
    if (error instanceof DomainRuleViolation) return error;
    throw error;
  }
  throw new Error('expected the command to be refused, but it was accepted');
}

/** A valid Danish GSRN (GS1 check digit 2) and a second one (check digit 9). */
export const GSRN = '571313174115550012';
export const OTHER_GSRN = '571313174115550029';
