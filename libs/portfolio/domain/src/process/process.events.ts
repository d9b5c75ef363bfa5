import type { LocalDate } from '@dh/dk-time';
import type { SupplyTerms } from '../metering-point/metering-point.events';
import type { ProcessKind, ProcessStatus } from './process-kind';

/** What we ask DataHub for; `effectiveDate` is the skæringsdato (the change applies from 00:00 local). */
type RequestData = {
  processId: string;
  gsrn: string;
  customerId: string;
  effectiveDate: LocalDate;
  businessReason: string;
  /** ISO-8601 instant of the decision. */
  at: string;
  /** Product and billing chosen for a supply that starts (BRS-001/009/044); absent when the request did not carry them. */
  supplyTerms?: SupplyTerms;
};

export interface ChangeOfSupplierRequested {
  type: 'ChangeOfSupplierRequested';
  data: RequestData;
}
export interface MoveInRequested {
  type: 'MoveInRequested';
  data: RequestData;
}
export interface MoveOutRequested {
  type: 'MoveOutRequested';
  data: RequestData;
}
export interface EndOfSupplyRequested {
  type: 'EndOfSupplyRequested';
  data: RequestData & { endReason: EndOfSupplyReason };
}
/** BRS-003: `effectiveDate` is the effective date of the switch being undone (`reversedProcessId`). */
export interface IncorrectSwitchRequested {
  type: 'IncorrectSwitchRequested';
  data: RequestData & { reversedProcessId: string };
}
/** BRS-044: DataHub moved the metering point to us unasked; it is accepted by definition. */
export interface ForcedSwitchReceived {
  type: 'ForcedSwitchReceived';
  data: RequestData & { dataHubMessageId: string };
}

export type EndOfSupplyReason = 'non-payment' | 'contract-ended' | 'other';
export type CancellationReason = 'customer-withdrew' | 'customer-paid' | 'requested-in-error';

export interface ProcessRequestSent {
  type: 'ProcessRequestSent';
  data: { processId: string; messageId: string; at: string };
}
export interface ProcessAccepted {
  type: 'ProcessAccepted';
  data: { processId: string; dataHubMessageId: string; at: string };
}
export interface ProcessRejected {
  type: 'ProcessRejected';
  data: { processId: string; dataHubMessageId: string; reasonCode: string; reasonText: string; at: string };
}
/** `notifyDataHub` is false when the request was never sent, so no RSM-002 is needed. */
export interface ProcessCancelled {
  type: 'ProcessCancelled';
  data: { processId: string; reason: CancellationReason; notifyDataHub: boolean; at: string };
}
/** A supply we asked for (or received) has started: effective date reached, master data received. */
export interface SupplyEffective {
  type: 'SupplyEffective';
  data: { processId: string; kind: ProcessKind; gsrn: string; customerId: string; effectiveDate: LocalDate; at: string };
}
/** An ending (or, for BRS-003, voiding) process has taken effect. */
export interface SupplyEndEffective {
  type: 'SupplyEndEffective';
  data: { processId: string; kind: ProcessKind; gsrn: string; customerId: string; effectiveDate: LocalDate; at: string };
}
export interface ProcessCompleted {
  type: 'ProcessCompleted';
  data: { processId: string; at: string };
}
/** This switch was undone by BRS-003: the supply is void from its start. */
export interface ProcessReversed {
  type: 'ProcessReversed';
  data: { processId: string; incorrectSwitchProcessId: string; at: string };
}

/** PUBLIC (`process.status_changed`): emitted beside every specific event that moves the process. */
export interface ProcessStatusChanged {
  type: 'ProcessStatusChanged';
  data: ProcessStatusChangedData;
}
export type ProcessStatusChangedData = {
  processId: string;
  kind: ProcessKind;
  /** null when the process comes into existence. */
  from: ProcessStatus | null;
  to: ProcessStatus;
  /** Rejection code and text, cancellation reason, or the BRS-003 case that reversed it. */
  reason?: string;
  at: string;
};

export type ProcessStartedEvent =
  | ChangeOfSupplierRequested
  | MoveInRequested
  | MoveOutRequested
  | EndOfSupplyRequested
  | IncorrectSwitchRequested
  | ForcedSwitchReceived;

export type ProcessEvent =
  | ProcessStartedEvent
  | ProcessRequestSent
  | ProcessAccepted
  | ProcessRejected
  | ProcessCancelled
  | SupplyEffective
  | SupplyEndEffective
  | ProcessCompleted
  | ProcessReversed
  | ProcessStatusChanged;
