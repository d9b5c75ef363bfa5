import type { DomainEvent, JsonObject } from '@dh/event-store';
import type { BillingPeriod, SettlementHalted } from '@dh/settlement-domain';
import {
  toJsonObject,
  type SettlementBatchCompleted,
  type SettlementCompleted,
  type SettlementHaltListed,
  type SettlementHaltResolved,
  type SettlementHaltedForMeteringPoint,
  type SettlementRunScheduled,
  type RunScope,
  type SettlementRunStarted,
  type SettlementWorkItemScheduled,
} from './events';
import { nameBasedUuid, runStreamId } from './ids';
import { periodLabel } from './period';

/**
 * A settlement run, in pieces whose size never grows with the number of metering points:
 * - a period has runs 1, 2, …: a later run settles what is not yet invoiced (issue 9); run n's stream is
 *   `runStreamId(period, n)` (`settlement-run-<period>` for the first, `settlement-run-<period>-<n>` after);
 * - the run stream holds `SettlementRunStarted` (parameters), `SettlementRunScheduled`
 *   (counts) and `SettlementCompleted` (counts): three events whatever the run's size;
 * - work items are scheduled in batches of at most `batchSize`, each batch its own stream
 *   `<run stream>-batch-<n>` (its items, then `SettlementBatchCompleted`);
 * - each item's outcome is its invoice's stream, or a halt on its own stream `settlement-item-<runId>-<gsrn>`;
 * - progress and completion are counters (settlement.runs, settlement.run_batches), never a fold of the run.
 * Event ids are name-based, so any step repeated after a crash appends nothing twice.
 */

export const DEFAULT_RUN_BATCH_SIZE = 500;

export function runBatchStreamId(period: BillingPeriod, batch: number, seq = 1): string {
  return `${runStreamId(period, seq)}-batch-${batch}`;
}

export function runItemStreamId(runId: string, gsrn: string): string {
  return `settlement-item-${runId}-${gsrn}`;
}

export interface RunEvent extends DomainEvent {
  eventId: string;
}

export function haltDetail(halt: SettlementHalted): JsonObject {
  const { outcome: _outcome, reason: _reason, gsrn: _gsrn, ...rest } = halt;
  return toJsonObject(rest);
}

export function runStartedEvent(runId: string, period: BillingPeriod, asOf: Date, seq = 1, scope: RunScope = 'all'): RunEvent {
  const data: SettlementRunStarted = { runId, period, periodLabel: periodLabel(period), asOf: asOf.toISOString(), seq, scope };
  return { eventId: nameBasedUuid('run-started', runId), type: 'SettlementRunStarted', data: toJsonObject(data) };
}

/** The work items of one batch (GSRNs sorted, at most one batch size). */
export function workItemBatch(runId: string, period: BillingPeriod, asOf: Date, batch: number, gsrns: readonly string[], seq = 1): RunEvent[] {
  const label = periodLabel(period);
  return gsrns.map((gsrn) => {
    const item: SettlementWorkItemScheduled = { runId, period, periodLabel: label, gsrn, asOf: asOf.toISOString(), batch, batchItems: gsrns.length, seq };
    return { eventId: nameBasedUuid('work-item', `${runId}/${gsrn}`), type: 'SettlementWorkItemScheduled', data: toJsonObject(item) };
  });
}

export function runScheduledEvent(runId: string, period: BillingPeriod, items: number, batches: number): RunEvent {
  const data: SettlementRunScheduled = { runId, periodLabel: periodLabel(period), items, batches };
  return { eventId: nameBasedUuid('run-scheduled', runId), type: 'SettlementRunScheduled', data: toJsonObject(data) };
}

export function itemHaltedEvent(runId: string, period: BillingPeriod, batch: number, halt: SettlementHalted, since?: Date): RunEvent {
  const data: SettlementHaltedForMeteringPoint = {
    runId,
    batch,
    gsrn: halt.gsrn,
    periodLabel: periodLabel(period),
    reason: halt.reason,
    detail: haltDetail(halt),
    ...(since !== undefined ? { since: since.toISOString() } : {}),
  };
  return { eventId: nameBasedUuid('item-halted', `${runId}/${halt.gsrn}`), type: 'SettlementHaltedForMeteringPoint', data: toJsonObject(data) };
}

/** A halt from before the list of halted items, listed by the catch-up (once per halted item: the id derives from it). */
export function haltListedEvent(data: SettlementHaltListed): RunEvent {
  return { eventId: nameBasedUuid('halt-listed', `${data.runId}/${data.gsrn}`), type: 'SettlementHaltListed', data: toJsonObject(data) };
}

export function haltResolvedEvent(runId: string, period: BillingPeriod, gsrn: string, haltedRunId: string, invoiceIds: readonly string[]): RunEvent {
  const data: SettlementHaltResolved = { runId, gsrn, periodLabel: periodLabel(period), haltedRunId, invoiceIds: [...invoiceIds] };
  return { eventId: nameBasedUuid('halt-resolved', `${runId}/${gsrn}`), type: 'SettlementHaltResolved', data: toJsonObject(data) };
}

export function batchCompletedEvent(runId: string, period: BillingPeriod, batch: number, counts: { items: number; invoiced: number; halted: number }): RunEvent {
  const data: SettlementBatchCompleted = { runId, periodLabel: periodLabel(period), batch, ...counts };
  return { eventId: nameBasedUuid('batch-completed', `${runId}/${batch}`), type: 'SettlementBatchCompleted', data: toJsonObject(data) };
}

export function runCompletedEvent(runId: string, period: BillingPeriod, counts: { items: number; invoiced: number; halted: number }): RunEvent {
  const data: SettlementCompleted = { runId, period, periodLabel: periodLabel(period), ...counts };
  return { eventId: nameBasedUuid('run-completed', runId), type: 'SettlementCompleted', data: toJsonObject(data) };
}
