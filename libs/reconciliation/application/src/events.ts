import type { EventMetadata } from '@dh/event-store';

/** `metadata.context` of reconciliation events (internal routing key `reconciliation.<kebab-type>`). */
export const RECONCILIATION_CONTEXT = 'reconciliation';

/** Public: `reconciliation.completed` (docs/events/reconciliation.completed.v1.schema.json). */
export const RECONCILIATION_COMPLETED = 'ReconciliationCompleted';
/** Public: `reconciliation.discrepancy_found` (docs/events/reconciliation.discrepancy_found.v1.schema.json). */
export const DISCREPANCY_FOUND = 'DiscrepancyFound';
export const FINDING_EXPLAINED = 'FindingExplained';
export const FINDING_RESOLVED = 'FindingResolved';
export const FINDING_REOPENED = 'FindingReopened';
/** The intent to ask DataHub (RSM-016/017); datahub-integration sends it after this is stored. */
export const DATAHUB_RESULTS_REQUESTED = 'DataHubResultsRequested';

/** One stream per grid area and month: its runs. */
export const reconciliationStreamId = (gridArea: string, period: string): string => `reconciliation-${gridArea}-${period}`;
/** One stream per finding: its audit trail (found, explained, resolved, reopened; who, when, why). */
export const findingStreamId = (findingId: string): string => `reconciliation-finding-${findingId}`;
export const resultsRequestStreamId = (requestId: string): string => `reconciliation-request-${requestId}`;

/**
 * `ReconciliationCompleted` data: one run over a grid area and month. Amounts are DKK strings with DataHub's
 * 6 decimals (a wholesale result's precision), energy in kWh with 3.
 */
export interface ReconciliationCompleted {
  runId: string;
  gridArea: string;
  period: string;
  energySupplierGln: string;
  /** The DataHub results compared with (`D05 v3`, `D32/D01 v7`), null when DataHub has sent none. */
  datahubEnergyResult: string | null;
  datahubWholesaleResult: string | null;
  meteringPoints: number;
  wholesale: { datahubAmount: string; ourAmount: string; difference: string; differingSlots: number };
  energy: { datahubKwh: string; ourKwh: string; difference: string; differingSlots: number };
  invoices: { invoicedAmount: string; roundingDifference: string; chargesBeyondRounding: number };
  findings: { open: number; explained: number; resolved: number; new: number };
  completedAt: string;
}

/** `DataHubResultsRequested`: RSM-016 (energy) or RSM-017 (wholesale) for a grid area and month. */
export interface DataHubResultsRequested {
  requestId: string;
  kind: 'energy' | 'wholesale';
  gridArea: string;
  period: string;
  /** Period start and end (UTC instants of Copenhagen midnights). */
  start: string;
  end: string;
  /** D04 balance fixing, D05 wholesale fixing, D32 correction settlement. */
  businessReason: string;
  settlementVersion: string | null;
  energySupplierGln: string;
  requestedBy: string;
}

export function reconciliationMetadata(actor: string, correlationId: string, causationId: string | null = null): EventMetadata {
  return { correlationId, causationId, actor, schemaVersion: 1, context: RECONCILIATION_CONTEXT };
}
