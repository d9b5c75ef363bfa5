import type { FindingKind } from '../comparison/attribution';

export type FindingState = 'open' | 'explained' | 'resolved';

/** What a reconciliation run found: a difference, the metering points and charges that explain it, and how much. */
export interface FindingFacts {
  readonly findingId: string;
  readonly gridArea: string;
  /** `YYYY-MM`. */
  readonly period: string;
  readonly kind: FindingKind;
  readonly meteringPoints: readonly string[];
  readonly charges: readonly string[];
  /** DataHub − ours, kWh (3 decimals) over the energy and tariff slots it concerns; null when not about quantities. */
  readonly quantityDifference: string | null;
  /** DataHub − ours, DKK (6 decimals, DataHub's precision); an estimate for attributed causes. */
  readonly amountDifference: string | null;
  /** First and last affected slot start (ISO UTC). */
  readonly from: string | null;
  readonly to: string | null;
  readonly explanation: string;
  /** The DataHub result compared with, e.g. `D05 v3` or `D32/D01 v7`. */
  readonly datahubResult: string;
}

export type FindingEvent =
  | { type: 'DiscrepancyFound'; data: FindingFacts & { state: 'open' | 'explained'; runId: string; by: string } }
  | { type: 'FindingExplained'; data: { findingId: string; note: string; by: string } }
  | { type: 'FindingResolved'; data: { findingId: string; note: string; by: string; runId: string | null } }
  | { type: 'FindingReopened'; data: { findingId: string; note: string; by: string } };

export interface Finding {
  readonly facts: FindingFacts | null;
  readonly state: FindingState | null;
}

export const initialFinding: Finding = { facts: null, state: null };

export function evolveFinding(finding: Finding, event: FindingEvent): Finding {
  switch (event.type) {
    case 'DiscrepancyFound': {
      const { state, runId: _runId, by: _by, ...facts } = event.data;
      return { facts, state };
    }
    case 'FindingExplained':
      return { ...finding, state: 'explained' };
    case 'FindingResolved':
      return { ...finding, state: 'resolved' };
    case 'FindingReopened':
      return { ...finding, state: 'open' };
    default: {
      const never: never = event;
      return never;
    }
  }
}

export type FindingCommand =
  | { type: 'Observe'; facts: FindingFacts; explainedBySystem: boolean; runId: string }
  | { type: 'Disappear'; runId: string; note: string }
  | { type: 'Explain'; note: string; by: string }
  | { type: 'Resolve'; note: string; by: string }
  | { type: 'Reopen'; note: string; by: string };

export class FindingTransitionError extends Error {
  override readonly name = 'FindingTransitionError';
}

const sameFacts = (a: FindingFacts, b: FindingFacts): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * A finding's life: a run observes it (open, or explained when the run's evidence accounts for the whole difference);
 * a later run with the same facts changes nothing, with other facts records them again, and a run that no longer
 * sees it resolves it. Staff explain (with a note), resolve and reopen; each step is an event with who and why.
 */
export function decideFinding(command: FindingCommand, finding: Finding): FindingEvent[] {
  const id = () => {
    if (finding.facts === null) throw new FindingTransitionError('No such finding');
    return finding.facts.findingId;
  };
  switch (command.type) {
    case 'Observe': {
      const state = command.explainedBySystem ? 'explained' : 'open';
      if (finding.facts !== null && finding.state !== 'resolved' && sameFacts(finding.facts, command.facts)) return [];
      return [{ type: 'DiscrepancyFound', data: { ...command.facts, state, runId: command.runId, by: 'reconciliation' } }];
    }
    case 'Disappear':
      if (finding.facts === null || finding.state === 'resolved') return [];
      return [{ type: 'FindingResolved', data: { findingId: id(), note: command.note, by: 'reconciliation', runId: command.runId } }];
    case 'Explain':
      if (finding.state === 'resolved') throw new FindingTransitionError(`Finding ${id()} is resolved; reopen it first`);
      if (command.note.trim() === '') throw new FindingTransitionError('An explanation needs a note');
      return [{ type: 'FindingExplained', data: { findingId: id(), note: command.note, by: command.by } }];
    case 'Resolve':
      if (finding.state === 'resolved') throw new FindingTransitionError(`Finding ${id()} is already resolved`);
      return [{ type: 'FindingResolved', data: { findingId: id(), note: command.note, by: command.by, runId: null } }];
    case 'Reopen':
      if (finding.state === 'open') throw new FindingTransitionError(`Finding ${id()} is already open`);
      return [{ type: 'FindingReopened', data: { findingId: id(), note: command.note, by: command.by } }];
    default: {
      const never: never = command;
      return never;
    }
  }
}
