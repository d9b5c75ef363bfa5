import type { LocalDate } from '@dh/dk-time';
import type { SupplyTerms } from '../metering-point/metering-point.events';
import type { CancellationReason, EndOfSupplyReason } from './process.events';

/**
 * Every command carries `now`, the instant it is decided at; "today" for lead times is its
 * Danish local date. The domain never reads a clock.
 */
type Request = { processId: string; gsrn: string; customerId: string; effectiveDate: LocalDate; now: Date; supplyTerms?: SupplyTerms };

export interface RequestChangeOfSupplier {
  type: 'RequestChangeOfSupplier';
  data: Request;
}
export interface RequestMoveIn {
  type: 'RequestMoveIn';
  data: Request;
}
export interface RequestMoveOut {
  type: 'RequestMoveOut';
  data: Request;
}
export interface RequestEndOfSupply {
  type: 'RequestEndOfSupply';
  data: Request & { endReason: EndOfSupplyReason };
}
/** `effectiveDate` is the effective date of the switch to undo, `reversedProcessId` its process. */
export interface RequestIncorrectSwitch {
  type: 'RequestIncorrectSwitch';
  data: Request & { reversedProcessId: string };
}
export interface ReceiveForcedSwitch {
  type: 'ReceiveForcedSwitch';
  data: Request & { dataHubMessageId: string };
}
export interface MarkRequestSent {
  type: 'MarkRequestSent';
  data: { processId: string; messageId: string; now: Date };
}
export interface RecordDataHubAcceptance {
  type: 'RecordDataHubAcceptance';
  data: { processId: string; dataHubMessageId: string; now: Date };
}
export interface RecordDataHubRejection {
  type: 'RecordDataHubRejection';
  data: { processId: string; dataHubMessageId: string; reasonCode: string; reasonText: string; now: Date };
}
export interface CancelProcess {
  type: 'CancelProcess';
  data: { processId: string; reason: CancellationReason; now: Date };
}
/** Sent when the effective date has come and DataHub's master data (RSM-022) has arrived. */
export interface ConfirmEffective {
  type: 'ConfirmEffective';
  data: { processId: string; now: Date };
}
export interface CompleteProcess {
  type: 'CompleteProcess';
  data: { processId: string; now: Date };
}
/** Marks this switch as undone by the accepted BRS-003 case `incorrectSwitchProcessId`. */
export interface ReverseSwitch {
  type: 'ReverseSwitch';
  data: { processId: string; incorrectSwitchProcessId: string; now: Date };
}

export type ProcessStartCommand =
  | RequestChangeOfSupplier
  | RequestMoveIn
  | RequestMoveOut
  | RequestEndOfSupply
  | RequestIncorrectSwitch
  | ReceiveForcedSwitch;

export type ProcessCommand =
  | ProcessStartCommand
  | MarkRequestSent
  | RecordDataHubAcceptance
  | RecordDataHubRejection
  | CancelProcess
  | ConfirmEffective
  | CompleteProcess
  | ReverseSwitch;
