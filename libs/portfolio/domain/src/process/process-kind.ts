/** One DataHub business process (BRS) case, seen from the supplier. */
export type ProcessKind = 'change-of-supplier' | 'move-in' | 'move-out' | 'end-of-supply' | 'incorrect-switch' | 'forced-switch';

export type ProcessStatus = 'created' | 'requested' | 'pending' | 'active' | 'completed' | 'rejected' | 'cancelled' | 'reversed';

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
