import diff from 'microdiff';
import type { JsonValue } from '@dh/event-store';

export interface StateChange {
  /** Dotted path into the state, array indexes as numbers: `supplies.0.endDate`. */
  path: string;
  change: 'added' | 'removed' | 'changed';
  before: JsonValue | null;
  after: JsonValue | null;
}

const CHANGE = { CREATE: 'added', REMOVE: 'removed', CHANGE: 'changed' } as const;

/** What changed between two folded states, leaf by leaf. */
export function diffStates(before: JsonValue, after: JsonValue): StateChange[] {
  const wrap = (v: JsonValue): Record<string, unknown> => ({ state: v });
  return diff(wrap(before), wrap(after)).map((d) => ({
    path: d.path.slice(1).join('.') || '(state)',
    change: CHANGE[d.type],
    before: d.type === 'CREATE' ? null : (d.oldValue as JsonValue),
    after: d.type === 'REMOVE' ? null : (d.value as JsonValue),
  }));
}
