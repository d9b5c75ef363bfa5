import type { DomainEvent, JsonObject } from '@dh/event-store';
import type { BillingPeriod, SettlementHalted } from '@dh/settlement-domain';
import { dataOf, toJsonObject, type SettlementCompleted, type SettlementHaltedForMeteringPoint, type SettlementItemInvoiced, type SettlementRunStarted, type SettlementWorkItemScheduled } from './events';
import { periodLabel } from './period';

export interface RunState {
  runId: string | null;
  period: BillingPeriod | null;
  items: string[];
  /** GSRN → its invoices (one per customer supply). */
  invoiced: Map<string, string[]>;
  halted: Map<string, string>;
  completed: boolean;
}

export type RunCommand =
  | { kind: 'start'; runId: string; period: BillingPeriod; asOf: Date; gsrns: string[] }
  | { kind: 'invoiced'; gsrn: string; invoiceIds: string[] }
  | { kind: 'halted'; gsrn: string; halt: SettlementHalted };

export const initialRunState: RunState = { runId: null, period: null, items: [], invoiced: new Map(), halted: new Map(), completed: false };

export function haltDetail(halt: SettlementHalted): JsonObject {
  const { outcome: _outcome, reason: _reason, gsrn: _gsrn, ...rest } = halt;
  return toJsonObject(rest);
}

function completion(state: RunState): DomainEvent[] {
  if (state.completed || state.runId === null || state.period === null) return [];
  if (state.invoiced.size + state.halted.size < state.items.length) return [];
  const data: SettlementCompleted = {
    runId: state.runId,
    period: state.period,
    periodLabel: periodLabel(state.period),
    invoices: state.items.filter((g) => state.invoiced.has(g)).flatMap((gsrn) => state.invoiced.get(gsrn)!.map((invoiceId) => ({ invoiceId, gsrn }))),
    halted: state.items.filter((g) => state.halted.has(g)).map((gsrn) => ({ gsrn, reason: state.halted.get(gsrn)! })),
  };
  return [{ type: 'SettlementCompleted', data: toJsonObject(data) }];
}

export function evolveRun(state: RunState, event: DomainEvent): RunState {
  switch (event.type) {
    case 'SettlementRunStarted': {
      const d = dataOf<SettlementRunStarted>(event.data);
      return { ...state, runId: d.runId, period: d.period, items: d.items };
    }
    case 'SettlementItemInvoiced': {
      const d = dataOf<SettlementItemInvoiced>(event.data);
      return { ...state, invoiced: new Map(state.invoiced).set(d.gsrn, d.invoiceIds ?? [d.invoiceId]) };
    }
    case 'SettlementHaltedForMeteringPoint': {
      const d = dataOf<SettlementHaltedForMeteringPoint>(event.data);
      return { ...state, halted: new Map(state.halted).set(d.gsrn, d.reason) };
    }
    case 'SettlementCompleted':
      return { ...state, completed: true };
    default:
      return state;
  }
}

/**
 * The run of one period (stream `settlement-run-<period>`). Starting a period that has a run
 * decides nothing (so a completed period is never settled twice); each metering point's outcome is
 * recorded once; the last outcome completes the run.
 */
export function decideRun(command: RunCommand, state: RunState): DomainEvent[] {
  switch (command.kind) {
    case 'start': {
      if (state.runId !== null) return [];
      const label = periodLabel(command.period);
      const started: SettlementRunStarted = { runId: command.runId, period: command.period, periodLabel: label, asOf: command.asOf.toISOString(), items: command.gsrns };
      const items = command.gsrns.map((gsrn): DomainEvent => {
        const item: SettlementWorkItemScheduled = { runId: command.runId, period: command.period, periodLabel: label, gsrn, asOf: command.asOf.toISOString() };
        return { type: 'SettlementWorkItemScheduled', data: toJsonObject(item) };
      });
      const events: DomainEvent[] = [{ type: 'SettlementRunStarted', data: toJsonObject(started) }, ...items];
      return [...events, ...completion(events.reduce(evolveRun, state))];
    }
    case 'invoiced':
    case 'halted': {
      if (state.runId === null || state.period === null || !state.items.includes(command.gsrn)) return [];
      if (state.invoiced.has(command.gsrn) || state.halted.has(command.gsrn)) return [];
      let event: DomainEvent;
      if (command.kind === 'invoiced') {
        const d: SettlementItemInvoiced = { runId: state.runId, gsrn: command.gsrn, invoiceId: command.invoiceIds[0]!, invoiceIds: command.invoiceIds };
        event = { type: 'SettlementItemInvoiced', data: toJsonObject(d) };
      } else {
        const d: SettlementHaltedForMeteringPoint = { runId: state.runId, gsrn: command.gsrn, periodLabel: periodLabel(state.period), reason: command.halt.reason, detail: haltDetail(command.halt) };
        event = { type: 'SettlementHaltedForMeteringPoint', data: toJsonObject(d) };
      }
      return [event, ...completion(evolveRun(state, event))];
    }
  }
}

export const runDecider = { decide: decideRun, evolve: evolveRun, initialState: initialRunState };
