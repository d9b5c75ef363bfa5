import { customerDecider, customerStreamId } from './customer.decide';
import type { CustomerCommand } from './customer.commands';
import type { CustomerEvent, CustomerUpdateField, OffboardingReason } from './customer.events';
import { customerLifecycle } from './customer.state';
import { DomainRuleViolation } from '../errors';
import { refusal } from '../testing/decider-spec';

const given = (events: CustomerEvent[]) => ({
  when: (command: CustomerCommand) => customerDecider.decide(command, events.reduce(customerDecider.evolve, customerDecider.initialState)),
});

const create: CustomerCommand = {
  type: 'CreateCustomer',
  data: { customerId: 'c-1', customerType: 'private', personalData: 'v1.sealed' },
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

describe('customer lifecycle', () => {
  const GSRN = '571313174115550012';
  const created: CustomerEvent = { type: 'CustomerCreated', data: create.data };
  const activate = (effectiveDate: string, gsrn = GSRN): CustomerCommand => ({ type: 'ActivateCustomer', data: { customerId: 'c-1', gsrn, effectiveDate } });
  const activated = (effectiveDate: string, gsrn = GSRN): CustomerEvent => ({ type: 'CustomerActivated', data: { customerId: 'c-1', gsrn, effectiveDate } });
  const offboard = (endDate: string, reason: OffboardingReason): CustomerCommand => ({ type: 'OffboardCustomer', data: { customerId: 'c-1', gsrn: GSRN, endDate, reason } });
  const offboarded = (endDate: string, reason: OffboardingReason): CustomerEvent => ({ type: 'CustomerOffboarded', data: { customerId: 'c-1', gsrn: GSRN, endDate, reason } });
  const stateAfter = (events: CustomerEvent[]) => events.reduce(customerDecider.evolve, customerDecider.initialState);

  it('keeps the stream id shape', () => {
    expect(customerStreamId('c-1')).toBe('customer-c-1');
  });

  it('activates the customer when a supply becomes effective', () => {
    expect(given([created]).when(activate('2026-05-01'))).toEqual([activated('2026-05-01')]);
    expect(customerLifecycle(stateAfter([created]))).toBe('prospect');
    expect(customerLifecycle(stateAfter([created, activated('2026-05-01')]))).toBe('active');
  });

  it('activates once per supply, and refuses a second running supply on the same metering point', () => {
    expect(given([created, activated('2026-05-01')]).when(activate('2026-05-01'))).toEqual([]);
    expect(refusal(() => given([created, activated('2026-05-01')]).when(activate('2026-06-01'))).code).toBe('already-active');
    expect(given([created, activated('2026-05-01')]).when(activate('2026-06-01', '571313174115550029'))).toHaveLength(1);
  });

  it('needs an existing customer to activate', () => {
    expect(refusal(() => given([]).when(activate('2026-05-01'))).code).toBe('unknown-customer');
  });

  it.each<[OffboardingReason, string]>([
    ['switched-away', '2026-09-01'],
    ['move-out', '2026-09-01'],
    ['end-of-supply', '2026-09-01'],
    ['incorrect-switch', '2026-05-01'],
  ])('offboards the customer (%s, end %s)', (reason, endDate) => {
    const history = [created, activated('2026-05-01')];
    expect(given(history).when(offboard(endDate, reason))).toEqual([offboarded(endDate, reason)]);
    expect(customerLifecycle(stateAfter([...history, offboarded(endDate, reason)]))).toBe('offboarded');
    expect(given([...history, offboarded(endDate, reason)]).when(offboard(endDate, reason))).toEqual([]);
  });

  it('refuses an end date that does not fit the reason', () => {
    const history = [created, activated('2026-05-01')];
    expect(refusal(() => given(history).when(offboard('2026-05-01', 'move-out'))).message).toContain('the end date must be after the effective date');
    expect(refusal(() => given(history).when(offboard('2026-06-01', 'incorrect-switch'))).message).toContain('an incorrect switch ends on its effective date');
  });

  it('refuses to offboard a customer we do not supply on that metering point', () => {
    expect(refusal(() => given([created]).when(offboard('2026-09-01', 'move-out'))).code).toBe('not-active');
  });

  describe('BRS-044 forced switch', () => {
    const onboard: CustomerCommand = {
      type: 'OnboardForcedSwitchCustomer',
      data: { customerId: 'c-1', customerType: 'private', personalData: 'v1.sealed-from-rsm028', gsrn: GSRN, processId: 'p-44', effectiveDate: '2026-03-01' },
    };
    const received: CustomerEvent = { type: 'CustomerReceivedByForcedSwitch', data: { customerId: 'c-1', gsrn: GSRN, processId: 'p-44', effectiveDate: '2026-03-01' } };

    it("creates the customer from DataHub's master data without a request of ours", () => {
      expect(given([]).when(onboard)).toEqual([
        { type: 'CustomerCreated', data: { customerId: 'c-1', customerType: 'private', personalData: 'v1.sealed-from-rsm028' } },
        received,
      ]);
    });

    it('adds the metering point to a customer we already know, once', () => {
      expect(given([created]).when(onboard)).toEqual([received]);
      expect(given([created, received]).when(onboard)).toEqual([]);
    });
  });

  describe('personal data maintenance', () => {
    const at = '2026-11-02T09:00:00.000Z';
    const change = (changed: CustomerUpdateField[]): CustomerCommand => ({ type: 'ChangeCustomerPersonalData', data: { customerId: 'c-1', personalData: 'v1.sealed-2', changed, source: 'crm', changedAt: at } });
    const complete: CustomerCommand = { type: 'CompleteCustomerIdentity', data: { customerId: 'c-1', customerType: 'business', personalData: 'v1.sealed-3', source: 'staff', changed: ['customerType', 'name', 'cvr'], changedAt: at } };
    const completedEvent: CustomerEvent = { type: 'CustomerIdentityCompleted', data: { customerId: 'c-1', customerType: 'business', personalData: 'v1.sealed-3', source: 'staff' } };
    const received: CustomerEvent = { type: 'CustomerReceivedByForcedSwitch', data: { customerId: 'c-1', gsrn: GSRN, processId: 'p-44', effectiveDate: '2026-03-01' } };

    it('records changed contact details with the names of the changed fields, and one public CustomerUpdated without the sealed record', () => {
      expect(given([created]).when(change(['email', 'phone']))).toEqual([
        { type: 'CustomerPersonalDataChanged', data: { customerId: 'c-1', personalData: 'v1.sealed-2', changed: ['email', 'phone'], source: 'crm' } },
        { type: 'CustomerUpdated', data: { customerId: 'c-1', changed: ['email', 'phone'], source: 'crm', changedAt: at } },
      ]);
    });

    it('records nothing when nothing changed, and refuses an unknown customer', () => {
      expect(given([created]).when(change([]))).toEqual([]);
      expect(refusal(() => given([]).when(change(['email']))).code).toBe('unknown-customer');
    });

    it('completes a forced-switch placeholder once, with its type, and publishes which fields it filled', () => {
      expect(given([created, received]).when(complete)).toEqual([
        completedEvent,
        { type: 'CustomerUpdated', data: { customerId: 'c-1', changed: ['customerType', 'name', 'cvr'], source: 'staff', changedAt: at } },
      ]);
      const completed = completedEvent;
      const state = stateAfter([created, received, completed]);
      expect(state.status === 'created' && state.customerType).toBe('business');
      expect(refusal(() => given([created, received, completed]).when(complete)).code).toBe('identity-already-completed');
    });

    it('refuses to complete a customer that was not received by forced switch', () => {
      expect(refusal(() => given([created]).when(complete)).code).toBe('not-a-placeholder');
    });
  });

  it('never puts a clear CPR or name in an event', () => {
    const cprLike = /\b\d{6}-?\d{4}\b/;
    const commands: CustomerCommand[] = [create, activate('2026-05-01'), offboard('2026-09-01', 'move-out')];
    const events = commands.reduce<CustomerEvent[]>((history, command) => [...history, ...given(history).when(command)], []);
    expect(events.map((e) => e.type)).toEqual(['CustomerCreated', 'CustomerActivated', 'CustomerOffboarded']);
    for (const event of events) {
      expect(JSON.stringify(event.data)).not.toMatch(cprLike);
      expect(Object.keys(event.data)).not.toEqual(expect.arrayContaining(['cpr']));
      expect(Object.keys(event.data)).not.toEqual(expect.arrayContaining(['name']));
    }
  });
});
