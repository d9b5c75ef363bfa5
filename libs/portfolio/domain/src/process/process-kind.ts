/** One DataHub business process (BRS) case, seen from the supplier. */
export type ProcessKind = 'change-of-supplier' | 'move-in' | 'move-out' | 'end-of-supply' | 'incorrect-switch' | 'forced-switch';

export type ProcessStatus = 'created' | 'requested' | 'pending' | 'active' | 'completed' | 'rejected' | 'cancelled' | 'reversed';

/**
 * A process's status in the words of the CRM contract (`pending / accepted / rejected`, and the confirmed
 * cancellation), cis-platform-and-integrations.md §3: `pending` until DataHub answers, `accepted` once it
 * has (waiting for, at, or past the effective date), `rejected`, `cancelled` (withdrawn by us, or reversed
 * afterwards by BRS-003). Our finer `ProcessStatus` stays beside it.
 */
export type ProcessOutcome = 'pending' | 'accepted' | 'rejected' | 'cancelled';
export const PROCESS_OUTCOMES: readonly ProcessOutcome[] = ['pending', 'accepted', 'rejected', 'cancelled'];

const OUTCOME_OF: Readonly<Record<ProcessStatus, ProcessOutcome>> = Object.freeze({
  created: 'pending',
  requested: 'pending',
  pending: 'accepted',
  active: 'accepted',
  completed: 'accepted',
  rejected: 'rejected',
  cancelled: 'cancelled',
  reversed: 'cancelled',
});

export function processOutcomeOf(status: ProcessStatus): ProcessOutcome {
  return OUTCOME_OF[status];
}

/** A status read back from storage (a read model's text column); anything else is a bug, not input. */
export function asProcessStatus(status: string): ProcessStatus {
  const known = PROCESS_STATUSES.find((s) => s === status);
  if (known === undefined) throw new Error(`unknown process status "${status}"`);
  return known;
}

export const PROCESS_KINDS: readonly ProcessKind[] = ['change-of-supplier', 'move-in', 'move-out', 'end-of-supply', 'incorrect-switch', 'forced-switch'];
export const PROCESS_STATUSES: readonly ProcessStatus[] = ['created', 'requested', 'pending', 'active', 'completed', 'rejected', 'cancelled', 'reversed'];

/**
 * BRS number and the business reason (CIM `process.processType`) of each kind.
 * E03/E65/E20/E66 as in `libs/cim`; D07 for BRS-003 is an assumption there; D31 is the BRS-044
 * code seen on its RSM-004/RSM-022 messages (market-facts.md §4).
 */
export const PROCESS_KIND_INFO: Readonly<Record<ProcessKind, { brs: string; businessReason: string; startsSupply: boolean }>> = Object.freeze({
  'change-of-supplier': { brs: 'BRS-001', businessReason: 'E03', startsSupply: true },
  'move-in': { brs: 'BRS-009', businessReason: 'E65', startsSupply: true },
  'forced-switch': { brs: 'BRS-044', businessReason: 'D31', startsSupply: true },
  'move-out': { brs: 'BRS-010', businessReason: 'E66', startsSupply: false },
  'end-of-supply': { brs: 'BRS-002', businessReason: 'E20', startsSupply: false },
  'incorrect-switch': { brs: 'BRS-003', businessReason: 'D07', startsSupply: false },
});

/** Kinds we may withdraw before the effective date (RSM-002 in BRS-001; inside BRS-002/009/010). */
export const CANCELLABLE_KINDS: readonly ProcessKind[] = ['change-of-supplier', 'move-in', 'move-out', 'end-of-supply'];
/** Kinds whose supply can later be declared an incorrect switch (BRS-003). */
export const REVERSIBLE_KINDS: readonly ProcessKind[] = ['change-of-supplier', 'move-in', 'forced-switch'];
/** Kinds that end (or void) a supply and finish in `completed`. */
export const COMPLETING_KINDS: readonly ProcessKind[] = ['move-out', 'end-of-supply', 'incorrect-switch'];
