import { localDateOf, type LocalDate } from '@dh/dk-time';
import { DomainRuleViolation } from '../errors';
import { assertReportable, DEFAULT_LEAD_TIME_RULES, type LeadTimeProcess, type LeadTimeRules } from '../lead-time/lead-time-rules';
import { CANCELLABLE_KINDS, COMPLETING_KINDS, PROCESS_KIND_INFO, REVERSIBLE_KINDS, type ProcessKind, type ProcessStatus } from './process-kind';
import type { ProcessCommand, ProcessStartCommand } from './process.commands';
import type { ProcessEvent, ProcessStartedEvent } from './process.events';
import { evolveProcess, initialProcessState, type ProcessCase, type ProcessState } from './process.state';

const START: Readonly<Record<ProcessStartCommand['type'], { kind: ProcessKind; leadTime: LeadTimeProcess | null }>> = {
  RequestChangeOfSupplier: { kind: 'change-of-supplier', leadTime: 'change of supplier' },
  RequestMoveIn: { kind: 'move-in', leadTime: 'move-in' },
  RequestMoveOut: { kind: 'move-out', leadTime: 'move-out' },
  RequestEndOfSupply: { kind: 'end-of-supply', leadTime: 'end of supply' },
  RequestIncorrectSwitch: { kind: 'incorrect-switch', leadTime: 'incorrect switch' },
  // Received from DataHub: already decided, no lead time of ours applies.
  ReceiveForcedSwitch: { kind: 'forced-switch', leadTime: null },
};

const today = (now: Date): LocalDate => localDateOf(now);

function describeCase(process: ProcessCase): string {
  return `process ${process.processId} (${process.kind}, ${PROCESS_KIND_INFO[process.kind].brs}) is ${process.status}`;
}

function illegal(process: ProcessCase, command: ProcessCommand['type'], hint = ''): DomainRuleViolation {
  return new DomainRuleViolation('illegal-transition', `${describeCase(process)}; ${command} is not allowed${hint ? `: ${hint}` : ''}`);
}

function requireCase(state: ProcessState, command: ProcessCommand): ProcessCase {
  if (state.status === 'none') {
    throw new DomainRuleViolation('unknown-process', `process ${command.data.processId} does not exist; ${command.type} needs a started process`);
  }
  return state;
}

function transition(process: ProcessCase, specific: ProcessEvent, to: ProcessStatus, now: Date, reason?: string): ProcessEvent[] {
  return [
    specific,
    {
      type: 'ProcessStatusChanged',
      data: { processId: process.processId, kind: process.kind, from: process.status, to, ...(reason !== undefined ? { reason } : {}), at: now.toISOString() },
    },
  ];
}

function start(command: ProcessStartCommand, state: ProcessState, rules: LeadTimeRules): ProcessEvent[] {
  const { kind, leadTime } = START[command.type];
  const { processId, gsrn, customerId, effectiveDate, now } = command.data;
  const at = now.toISOString();
  const { supplyTerms } = command.data;
  const base = {
    processId,
    gsrn,
    customerId,
    effectiveDate,
    businessReason: PROCESS_KIND_INFO[kind].businessReason,
    at,
    ...(supplyTerms !== undefined
      ? {
          supplyTerms: {
            productId: supplyTerms.productId,
            billingFrequency: supplyTerms.billingFrequency,
            paymentModel: supplyTerms.paymentModel,
            // Only when registered, so the requests recorded before the field existed compare equal on retry.
            ...(supplyTerms.electricHeating === true ? { electricHeating: true } : {}),
          },
        }
      : {}),
  };
  const started = startedEvent(command, base);
  if (state.status !== 'none') {
    // A repeated request (same case, same facts) is a retry, not a new case.
    if (sameRequest(state.started, started)) return [];
    throw new DomainRuleViolation('process-exists', `process ${processId} already exists as ${state.kind} for ${state.gsrn} from ${state.effectiveDate}`);
  }
  if (leadTime !== null) assertReportable(rules, leadTime, effectiveDate, today(now));
  const to: ProcessStatus = kind === 'forced-switch' ? 'pending' : 'created';
  return [started, { type: 'ProcessStatusChanged', data: { processId, kind, from: null, to, at } }];
}

function startedEvent(command: ProcessStartCommand, base: ProcessStartedEvent['data']): ProcessStartedEvent {
  switch (command.type) {
    case 'RequestChangeOfSupplier':
      return { type: 'ChangeOfSupplierRequested', data: base };
    case 'RequestMoveIn':
      return { type: 'MoveInRequested', data: base };
    case 'RequestMoveOut':
      return { type: 'MoveOutRequested', data: base };
    case 'RequestEndOfSupply':
      return { type: 'EndOfSupplyRequested', data: { ...base, endReason: command.data.endReason } };
    case 'RequestIncorrectSwitch':
      return { type: 'IncorrectSwitchRequested', data: { ...base, reversedProcessId: command.data.reversedProcessId } };
    case 'ReceiveForcedSwitch':
      return { type: 'ForcedSwitchReceived', data: { ...base, dataHubMessageId: command.data.dataHubMessageId } };
  }
}

function sameRequest(a: ProcessStartedEvent, b: ProcessStartedEvent): boolean {
  const { at: _a, ...left } = a.data;
  const { at: _b, ...right } = b.data;
  return a.type === b.type && JSON.stringify(left) === JSON.stringify(right);
}

const AFTER_ACCEPTANCE: readonly ProcessStatus[] = ['pending', 'active', 'completed', 'reversed'];

export function createProcessDecider(rules: LeadTimeRules = DEFAULT_LEAD_TIME_RULES) {
  function decideProcess(command: ProcessCommand, state: ProcessState): ProcessEvent[] {
    switch (command.type) {
      case 'RequestChangeOfSupplier':
      case 'RequestMoveIn':
      case 'RequestMoveOut':
      case 'RequestEndOfSupply':
      case 'RequestIncorrectSwitch':
      case 'ReceiveForcedSwitch':
        return start(command, state, rules);

      case 'MarkRequestSent': {
        const p = requireCase(state, command);
        if (p.status === 'created' && p.kind !== 'forced-switch') {
          const { processId, messageId, now } = command.data;
          return transition(p, { type: 'ProcessRequestSent', data: { processId, messageId, at: now.toISOString() } }, 'requested', now);
        }
        if (p.requestMessageId === command.data.messageId) return [];
        throw illegal(p, command.type);
      }

      case 'RecordDataHubAcceptance': {
        const p = requireCase(state, command);
        // DataHub redelivers; an acceptance of an accepted case changes nothing.
        if (AFTER_ACCEPTANCE.includes(p.status)) return [];
        if (p.status !== 'requested') throw illegal(p, command.type, p.status === 'created' ? 'the request was not sent yet' : '');
        const { processId, dataHubMessageId, now } = command.data;
        return transition(p, { type: 'ProcessAccepted', data: { processId, dataHubMessageId, at: now.toISOString() } }, 'pending', now);
      }

      case 'RecordDataHubRejection': {
        const p = requireCase(state, command);
        const { processId, dataHubMessageId, reasonCode, reasonText, now } = command.data;
        if (p.status === 'rejected' && p.dataHubMessageId === dataHubMessageId) return [];
        if (p.status !== 'requested') throw illegal(p, command.type);
        return transition(
          p,
          { type: 'ProcessRejected', data: { processId, dataHubMessageId, reasonCode, reasonText, at: now.toISOString() } },
          'rejected',
          now,
          `${reasonCode}: ${reasonText}`,
        );
      }

      case 'CancelProcess': {
        const p = requireCase(state, command);
        if (p.status === 'cancelled') return [];
        if (!CANCELLABLE_KINDS.includes(p.kind)) throw illegal(p, command.type, `a ${p.kind} case cannot be withdrawn by us`);
        if (p.status === 'active' || p.status === 'completed' || p.status === 'reversed') throw illegal(p, command.type, afterEffective(p));
        if (p.status !== 'created' && p.status !== 'requested' && p.status !== 'pending') throw illegal(p, command.type);
        const { processId, reason, now } = command.data;
        if (p.status !== 'created') {
          const day = today(now);
          if (day >= p.effectiveDate) throw illegal(p, command.type, `effective date ${p.effectiveDate} has been reached (today is ${day}); ${afterEffective(p)}`);
          assertReportable(rules, 'cancellation', p.effectiveDate, day);
        }
        return transition(
          p,
          { type: 'ProcessCancelled', data: { processId, reason, notifyDataHub: p.status !== 'created', at: now.toISOString() } },
          'cancelled',
          now,
          reason,
        );
      }

      case 'ConfirmEffective': {
        const p = requireCase(state, command);
        if (p.status === 'active' || p.status === 'completed' || p.status === 'reversed') return [];
        if (p.status !== 'pending') throw illegal(p, command.type);
        const { now } = command.data;
        const day = today(now);
        if (day < p.effectiveDate) throw illegal(p, command.type, `it takes effect on ${p.effectiveDate}; today is ${day}`);
        const data = { processId: p.processId, kind: p.kind, gsrn: p.gsrn, customerId: p.customerId, effectiveDate: p.effectiveDate, at: now.toISOString() };
        const specific: ProcessEvent = PROCESS_KIND_INFO[p.kind].startsSupply ? { type: 'SupplyEffective', data } : { type: 'SupplyEndEffective', data };
        return transition(p, specific, 'active', now);
      }

      case 'CompleteProcess': {
        const p = requireCase(state, command);
        if (p.status === 'completed') return [];
        if (!COMPLETING_KINDS.includes(p.kind)) throw illegal(p, command.type, `a ${p.kind} case stays active while the supply lasts`);
        if (p.status !== 'active') throw illegal(p, command.type);
        const { processId, now } = command.data;
        return transition(p, { type: 'ProcessCompleted', data: { processId, at: now.toISOString() } }, 'completed', now);
      }

      case 'ReverseSwitch': {
        const p = requireCase(state, command);
        const { processId, incorrectSwitchProcessId, now } = command.data;
        if (p.status === 'reversed' && p.reversedBy === incorrectSwitchProcessId) return [];
        if (!REVERSIBLE_KINDS.includes(p.kind)) throw illegal(p, command.type, 'only a switch (BRS-001, BRS-009, BRS-044) can be reversed');
        if (p.status === 'pending' || p.status === 'requested' || p.status === 'created') {
          throw illegal(p, command.type, `before the effective date ${p.effectiveDate} withdraw the request (RSM-002 in BRS-001) instead`);
        }
        if (p.status !== 'active') throw illegal(p, command.type);
        assertReportable(rules, 'incorrect switch', p.effectiveDate, today(now));
        return transition(p, { type: 'ProcessReversed', data: { processId, incorrectSwitchProcessId, at: now.toISOString() } }, 'reversed', now, `BRS-003 ${incorrectSwitchProcessId}`);
      }

      default: {
        const unknownCommand: never = command;
        return unknownCommand;
      }
    }
  }

  return {
    decide: decideProcess,
    evolve: evolveProcess,
    initialState: initialProcessState(),
  };
}

function afterEffective(p: ProcessCase): string {
  return PROCESS_KIND_INFO[p.kind].startsSupply
    ? 'after the effective date a switch can only be undone as an incorrect switch (BRS-003)'
    : 'after the effective date the supply has ended; start a new supply (BRS-001 or BRS-009) instead';
}

export const processDecider = createProcessDecider();

export const processStreamId = (processId: string): string => `process-${processId}`;
