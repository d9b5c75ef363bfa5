import type { LocalDate } from '@dh/dk-time';
import type { ProcessKind, ProcessStatus } from './process-kind';
import type { ProcessEvent, ProcessStartedEvent } from './process.events';

export interface ProcessCase {
  status: ProcessStatus;
  processId: string;
  kind: ProcessKind;
  gsrn: string;
  customerId: string;
  effectiveDate: LocalDate;
  /** The event that started the case, to recognise a repeated request. */
  started: ProcessStartedEvent;
  requestMessageId: string | null;
  dataHubMessageId: string | null;
  rejection: { reasonCode: string; reasonText: string } | null;
  reversedBy: string | null;
}

export type ProcessState = { status: 'none' } | ProcessCase;

export const initialProcessState = (): ProcessState => ({ status: 'none' });

const KIND_OF_START: Readonly<Record<ProcessStartedEvent['type'], ProcessKind>> = {
  ChangeOfSupplierRequested: 'change-of-supplier',
  MoveInRequested: 'move-in',
  MoveOutRequested: 'move-out',
  EndOfSupplyRequested: 'end-of-supply',
  IncorrectSwitchRequested: 'incorrect-switch',
  ForcedSwitchReceived: 'forced-switch',
};

export function evolveProcess(state: ProcessState, event: ProcessEvent): ProcessState {
  switch (event.type) {
    case 'ChangeOfSupplierRequested':
    case 'MoveInRequested':
    case 'MoveOutRequested':
    case 'EndOfSupplyRequested':
    case 'IncorrectSwitchRequested':
    case 'ForcedSwitchReceived':
      return {
        status: 'created',
        processId: event.data.processId,
        kind: KIND_OF_START[event.type],
        gsrn: event.data.gsrn,
        customerId: event.data.customerId,
        effectiveDate: event.data.effectiveDate,
        started: event,
        requestMessageId: null,
        dataHubMessageId: event.type === 'ForcedSwitchReceived' ? event.data.dataHubMessageId : null,
        rejection: null,
        reversedBy: null,
      };
    case 'ProcessRequestSent':
      return state.status === 'none' ? state : { ...state, requestMessageId: event.data.messageId };
    case 'ProcessAccepted':
      return state.status === 'none' ? state : { ...state, dataHubMessageId: event.data.dataHubMessageId };
    case 'ProcessRejected':
      return state.status === 'none'
        ? state
        : { ...state, dataHubMessageId: event.data.dataHubMessageId, rejection: { reasonCode: event.data.reasonCode, reasonText: event.data.reasonText } };
    case 'ProcessReversed':
      return state.status === 'none' ? state : { ...state, reversedBy: event.data.incorrectSwitchProcessId };
    case 'ProcessCancelled':
    case 'SupplyEffective':
    case 'SupplyEndEffective':
    case 'ProcessCompleted':
      return state;
    // The status lives in one place: the public transition event.
    case 'ProcessStatusChanged':
      return state.status === 'none' ? state : { ...state, status: event.data.to };
    default: {
      const unknownEvent: never = event;
      return unknownEvent;
    }
  }
}
