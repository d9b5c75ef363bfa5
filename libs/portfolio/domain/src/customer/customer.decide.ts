import type { CustomerCommand } from './customer.commands';
import type { CustomerEvent } from './customer.events';
import type { CustomerState } from './customer.state';
import { evolveCustomer, initialCustomerState } from './customer.state';
import { DomainRuleViolation } from '../errors';

type Existing = Extract<CustomerState, { status: 'created' }>;

function requireCustomer(state: CustomerState, customerId: string, command: CustomerCommand['type']): Existing {
  if (state.status === 'none') throw new DomainRuleViolation('unknown-customer', `Customer ${customerId} does not exist; ${command} needs it`);
  return state;
}

export function decideCustomer(command: CustomerCommand, state: CustomerState): CustomerEvent[] {
  switch (command.type) {
    case 'CreateCustomer':
      if (state.status !== 'none') {
        throw new DomainRuleViolation('customer-exists', `Customer ${command.data.customerId} already exists`);
      }
      return [{ type: 'CustomerCreated', data: { ...command.data } }];

    case 'OnboardForcedSwitchCustomer': {
      const { customerId, customerType, personalData, gsrn, processId, effectiveDate } = command.data;
      const received: CustomerEvent = { type: 'CustomerReceivedByForcedSwitch', data: { customerId, gsrn, processId, effectiveDate } };
      if (state.status === 'none') return [{ type: 'CustomerCreated', data: { customerId, customerType, personalData } }, received];
      if (state.forcedSwitchProcessIds.includes(processId)) return [];
      return [received];
    }

    case 'ActivateCustomer': {
      const customer = requireCustomer(state, command.data.customerId, command.type);
      const { gsrn, effectiveDate } = command.data;
      if (customer.supplies.some((s) => s.gsrn === gsrn && s.effectiveDate === effectiveDate)) return [];
      const running = customer.supplies.find((s) => s.gsrn === gsrn && s.endDate === null);
      if (running) {
        throw new DomainRuleViolation('already-active', `Customer ${customer.customerId} is already supplied on ${gsrn} from ${running.effectiveDate}; offboard that supply first`);
      }
      return [{ type: 'CustomerActivated', data: { ...command.data } }];
    }

    case 'OffboardCustomer': {
      const customer = requireCustomer(state, command.data.customerId, command.type);
      const { gsrn, endDate, reason } = command.data;
      const running = customer.supplies.find((s) => s.gsrn === gsrn && s.endDate === null);
      if (!running) {
        if (customer.supplies.some((s) => s.gsrn === gsrn && s.endDate === endDate && s.reason === reason)) return [];
        throw new DomainRuleViolation('not-active', `Customer ${customer.customerId} is not supplied on ${gsrn}; nothing to offboard`);
      }
      // An incorrect switch is void from its start; any other end leaves at least one supplied day.
      const valid = reason === 'incorrect-switch' ? endDate === running.effectiveDate : endDate > running.effectiveDate;
      if (!valid) {
        throw new DomainRuleViolation(
          'invalid-end-date',
          `Customer ${customer.customerId} on ${gsrn}: supply from ${running.effectiveDate} cannot end on ${endDate} for ${reason}` +
            (reason === 'incorrect-switch' ? '; an incorrect switch ends on its effective date' : '; the end date must be after the effective date'),
        );
      }
      return [{ type: 'CustomerOffboarded', data: { ...command.data } }];
    }

    case 'ChangeCustomerPersonalData': {
      requireCustomer(state, command.data.customerId, command.type);
      const { customerId, personalData, changed, source, changedAt } = command.data;
      if (changed.length === 0) return [];
      return [
        { type: 'CustomerPersonalDataChanged', data: { customerId, personalData, changed: [...changed], source } },
        { type: 'CustomerUpdated', data: { customerId, changed: [...changed], source, changedAt } },
      ];
    }
    case 'CompleteCustomerIdentity': {
      const customer = requireCustomer(state, command.data.customerId, command.type);
      if (customer.forcedSwitchProcessIds.length === 0) {
        throw new DomainRuleViolation('not-a-placeholder', `Customer ${customer.customerId} was not received by forced switch; change its contact details instead`);
      }
      if (customer.identityCompleted) {
        throw new DomainRuleViolation('identity-already-completed', `Customer ${customer.customerId} has been completed already; change its contact details instead`);
      }
      const { customerId, customerType, personalData, source, changed, changedAt } = command.data;
      return [
        { type: 'CustomerIdentityCompleted', data: { customerId, customerType, personalData, source } },
        { type: 'CustomerUpdated', data: { customerId, changed: [...changed], source, changedAt } },
      ];
    }
    default: {
      const unknownCommand: never = command;
      return unknownCommand;
    }
  }
}

export const customerDecider = {
  decide: decideCustomer,
  evolve: evolveCustomer,
  initialState: initialCustomerState(),
};

export const customerStreamId = (customerId: string): string => `customer-${customerId}`;
