import type { CustomerCommand } from './customer.commands';
import type { CustomerEvent } from './customer.events';
import type { CustomerState } from './customer.state';
import { evolveCustomer, initialCustomerState } from './customer.state';
import { DomainRuleViolation } from '../errors';

export function decideCustomer(command: CustomerCommand, state: CustomerState): CustomerEvent[] {
  switch (command.type) {
    case 'CreateCustomer':
      if (state.status !== 'none') {
        throw new DomainRuleViolation('customer-exists', `Customer ${command.data.customerId} already exists`);
      }
      return [{ type: 'CustomerCreated', data: { ...command.data } }];
    default: {
      const unknownCommand: never = command.type;
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
