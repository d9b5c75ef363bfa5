import { deterministicEventId, handleCommand, type Decider, type DomainEvent, type EventStore, type JsonObject } from '@dh/event-store';
import { formatScaled } from '@dh/money';
import { decideFinding, evolveFinding, initialFinding, type Finding, type FindingCommand, type FindingEvent, type FindingState } from '@dh/reconciliation-domain';
import { RECONCILIATION_COMPLETED, findingStreamId, reconciliationMetadata, reconciliationStreamId, type ReconciliationCompleted } from './events';
import type { ReconciliationInputs } from './ports';
import { reconcile, type ReconcileOptions, type ReconciliationOutcome } from './reconcile';

/** The finding decider over stored events (their data is plain JSON). */
export const findingDecider: Decider<FindingCommand, Finding, DomainEvent> = {
  initialState: initialFinding,
  evolve: (state, event) => evolveFinding(state, event as unknown as FindingEvent),
  decide: (command, state) => decideFinding(command, state).map((e) => ({ type: e.type, data: JSON.parse(JSON.stringify(e.data)) as JsonObject })),
};

/** The findings reconciliation already has for a grid area and month, with their states (its read model). */
export type KnownFindings = (gridArea: string, period: string) => Promise<{ findingId: string; state: FindingState }[]>;

export interface RunResult {
  readonly outcome: ReconciliationOutcome;
  readonly completed: ReconciliationCompleted;
  /** Every finding touched by the run: its id and state after it. */
  readonly findings: { findingId: string; state: FindingState; changed: boolean }[];
}

const sum = (values: bigint[]) => values.reduce((a, b) => a + b, 0n);

/**
 * One reconciliation run: compare, then record each finding on its own stream (found, or resolved when a run no
 * longer sees it) and `ReconciliationCompleted` on the grid area's month stream. Event ids derive from the run,
 * so a retried run records nothing twice.
 */
export async function runReconciliation(deps: { store: EventStore; inputs: ReconciliationInputs; knownFindings: KnownFindings; now: () => Date }, options: ReconcileOptions): Promise<RunResult> {
  const outcome = await reconcile(deps.inputs, options);
  const metadata = reconciliationMetadata('reconciliation', options.runId);
  const touched: RunResult['findings'] = [];
  const apply = async (findingId: string, command: FindingCommand) => {
    const r = await handleCommand({ store: deps.store, streamId: findingStreamId(findingId), decider: findingDecider, command, metadata, now: deps.now(), idempotencyKey: `${options.runId}:${command.type}` });
    touched.push({ findingId, state: r.state.state ?? 'open', changed: r.events.length > 0 });
  };
  const seen = new Set<string>();
  for (const o of outcome.observations) {
    seen.add(o.facts.findingId);
    await apply(o.facts.findingId, { type: 'Observe', facts: o.facts, explainedBySystem: o.explainedBySystem, runId: options.runId });
  }
  for (const known of await deps.knownFindings(options.gridArea, options.period)) {
    if (seen.has(known.findingId) || known.state === 'resolved') continue;
    await apply(known.findingId, { type: 'Disappear', runId: options.runId, note: `Run ${options.runId} against ${outcome.datahubWholesaleResult ?? outcome.datahubEnergyResult ?? 'no DataHub result'} no longer finds this difference` });
  }
  const count = (state: FindingState) => touched.filter((t) => t.state === state).length;
  const w = outcome.wholesale;
  const datahubAmount = sum(w?.charges.map((c) => c.datahubAmount) ?? []);
  const ourAmount = sum(w?.charges.map((c) => c.ourAmount) ?? []);
  const datahubKwh = sum(outcome.energy.map((e) => e.datahubTotal));
  const ourKwh = sum(outcome.energy.map((e) => e.ourTotal));
  const completed: ReconciliationCompleted = {
    runId: options.runId,
    gridArea: options.gridArea,
    period: options.period,
    energySupplierGln: options.supplierGln,
    datahubEnergyResult: outcome.datahubEnergyResult,
    datahubWholesaleResult: outcome.datahubWholesaleResult,
    meteringPoints: outcome.meteringPoints,
    wholesale: { datahubAmount: formatScaled(datahubAmount, 6), ourAmount: formatScaled(ourAmount, 6), difference: formatScaled(datahubAmount - ourAmount, 6), differingSlots: w?.differences.length ?? 0 },
    energy: { datahubKwh: formatScaled(datahubKwh, 3), ourKwh: formatScaled(ourKwh, 3), difference: formatScaled(datahubKwh - ourKwh, 3), differingSlots: outcome.energy.reduce((n, e) => n + e.differingSlots, 0) },
    invoices: {
      invoicedAmount: formatScaled(sum(outcome.invoices.map((i) => i.invoiced)), 6),
      roundingDifference: formatScaled(sum(outcome.invoices.filter((i) => i.withinRounding).map((i) => i.roundingDifference)), 6),
      chargesBeyondRounding: outcome.invoices.filter((i) => !i.withinRounding).length,
    },
    findings: { open: count('open'), explained: count('explained'), resolved: count('resolved'), new: touched.filter((t) => t.changed && outcome.observations.some((o) => o.facts.findingId === t.findingId)).length },
    completedAt: deps.now().toISOString(),
  };
  const streamId = reconciliationStreamId(options.gridArea, options.period);
  const eventId = deterministicEventId(options.runId, streamId, 0);
  if (!(await deps.store.readStream(streamId)).some((e) => e.eventId === eventId)) {
    await deps.store.appendToStream(streamId, [{ eventId, type: RECONCILIATION_COMPLETED, data: completed as unknown as JsonObject, metadata, occurredAt: deps.now() }], { expectedRevision: 'any' });
  }
  return { outcome, completed, findings: touched };
}

/** Staff change a finding's state, with a note; who and when are in the event (the audit trail). */
export async function changeFindingState(store: EventStore, findingId: string, command: Extract<FindingCommand, { type: 'Explain' | 'Resolve' | 'Reopen' }>, correlationId: string, now: Date): Promise<{ state: FindingState }> {
  const r = await handleCommand({ store, streamId: findingStreamId(findingId), decider: findingDecider, command, metadata: reconciliationMetadata(command.by, correlationId), now });
  return { state: r.state.state ?? 'open' };
}
