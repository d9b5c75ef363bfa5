import type { LocalDate } from '@dh/dk-time';
import type { CustomerEvent, CustomerType, OffboardingReason } from './customer.events';

export interface CustomerSupply {
  gsrn: string;
  effectiveDate: LocalDate;
  /** Exclusive; null while we supply. */
  endDate: LocalDate | null;
  reason: OffboardingReason | null;
}

export type CustomerState =
  | { status: 'none' }
  | {
      status: 'created';
      customerId: string;
      customerType: CustomerType;
      supplies: CustomerSupply[];
      forcedSwitchProcessIds: string[];
      /** A forced-switch customer whose name and CPR/CVR were given (CustomerIdentityCompleted). */
      identityCompleted: boolean;
    };

export type CustomerLifecycle = 'none' | 'prospect' | 'active' | 'offboarded';

export const initialCustomerState = (): CustomerState => ({ status: 'none' });

/** prospect: never supplied; active: at least one supply running; offboarded: every supply ended. */
export function customerLifecycle(state: CustomerState): CustomerLifecycle {
  if (state.status === 'none') return 'none';
  if (state.supplies.length === 0) return 'prospect';
  return state.supplies.some((s) => s.endDate === null) ? 'active' : 'offboarded';
}

export function evolveCustomer(state: CustomerState, event: CustomerEvent): CustomerState {
  switch (event.type) {
    case 'CustomerCreated':
      return { status: 'created', customerId: event.data.customerId, customerType: event.data.customerType, supplies: [], forcedSwitchProcessIds: [], identityCompleted: false };
    case 'CustomerReceivedByForcedSwitch':
      if (state.status === 'none') return state;
      return { ...state, forcedSwitchProcessIds: [...state.forcedSwitchProcessIds, event.data.processId] };
    case 'CustomerActivated':
      if (state.status === 'none') return state;
      return { ...state, supplies: [...state.supplies, { gsrn: event.data.gsrn, effectiveDate: event.data.effectiveDate, endDate: null, reason: null }] };
    case 'CustomerOffboarded':
      if (state.status === 'none') return state;
      return {
        ...state,
        supplies: state.supplies.map((s) => (s.gsrn === event.data.gsrn && s.endDate === null ? { ...s, endDate: event.data.endDate, reason: event.data.reason } : s)),
      };
    case 'CustomerPersonalDataChanged':
    case 'CustomerUpdated':
      return state;
    case 'CustomerIdentityCompleted':
      if (state.status === 'none') return state;
      return { ...state, customerType: event.data.customerType, identityCompleted: true };
    default: {
      const unknownEvent: never = event;
      return unknownEvent;
    }
  }
}
