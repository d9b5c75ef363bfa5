import {
  evolveCustomer,
  evolveMeteringPoint,
  evolveProcess,
  initialCustomerState,
  initialMeteringPointState,
  initialProcessState,
  type CustomerEvent,
  type MeteringPointEvent,
  type ProcessEvent,
} from '@dh/portfolio-domain';
import { domainFold, toJson, type Fold } from './fold';

const CUSTOMER_EVENTS: readonly CustomerEvent['type'][] = [
  'CustomerCreated',
  'CustomerReceivedByForcedSwitch',
  'CustomerActivated',
  'CustomerOffboarded',
  'CustomerPersonalDataChanged',
  'CustomerIdentityCompleted',
  'CustomerUpdated',
];

const METERING_POINT_EVENTS: readonly MeteringPointEvent['type'][] = [
  'MeteringPointRegistered',
  'MasterDataUpdated',
  'SupplyStarted',
  'SupplyEnded',
  'SupplyReversed',
  'ElectricHeatingSet',
  'ProductChanged',
  'ProductionMeteringPointLinked',
];

const PROCESS_EVENTS: readonly ProcessEvent['type'][] = [
  'ChangeOfSupplierRequested',
  'MoveInRequested',
  'MoveOutRequested',
  'EndOfSupplyRequested',
  'IncorrectSwitchRequested',
  'ForcedSwitchReceived',
  'ProcessRequestSent',
  'ProcessAccepted',
  'ProcessRejected',
  'ProcessCancelled',
  'SupplyEffective',
  'SupplyEndEffective',
  'ProcessCompleted',
  'ProcessReversed',
  'ProcessStatusChanged',
];

const customerDomain = domainFold(initialCustomerState, evolveCustomer, CUSTOMER_EVENTS);

/**
 * The customer decider's state, plus when the sealed personal data changed (its content stays sealed:
 * the customer record endpoint shows it, audited). Events of a later version of the contract that the
 * decider does not know yet are listed, never guessed at.
 */
export const customerFold: Fold = (events) => {
  const personalDataVersions = events.filter((e) => typeof e.data['personalData'] === 'string').map((e) => ({ type: e.type, recorded_at: e.recordedAt.toISOString() }));
  return toJson({ ...(customerDomain(events) as object), personalDataVersions });
};

export const meteringPointFold: Fold = domainFold(initialMeteringPointState, evolveMeteringPoint, METERING_POINT_EVENTS);
export const processFold: Fold = domainFold(initialProcessState, evolveProcess, PROCESS_EVENTS);
