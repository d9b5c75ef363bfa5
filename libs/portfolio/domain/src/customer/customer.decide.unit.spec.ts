import { customerDecider } from './customer.decide';
import type { CustomerCommand } from './customer.commands';
import type { CustomerEvent } from './customer.events';
import { DomainRuleViolation } from '../errors';

const given = (events: CustomerEvent[]) => ({
  when: (command: CustomerCommand) => customerDecider.decide(command, events.reduce(customerDecider.evolve, customerDecider.initialState)),
});

const create: CustomerCommand = {
  type: 'CreateCustomer',
  data: { customerId: 'c-1', customerType: 'private', personalData: 'v1.sealed', identityIndex: 'idx' },
};

describe('customer decider', () => {
  it('creates a customer that does not exist yet', () => {
    expect(given([]).when(create)).toEqual([{ type: 'CustomerCreated', data: create.data }]);
  });

  it('refuses to create the same customer twice', () => {
    const created: CustomerEvent = { type: 'CustomerCreated', data: create.data };
    expect(() => given([created]).when(create)).toThrow(DomainRuleViolation);
    expect(() => given([created]).when(create)).toThrow('Customer c-1 already exists');
  });
});
