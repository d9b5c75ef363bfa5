import type { CustomerEvent, CustomerType } from './customer.events';

export type CustomerState =
  | { status: 'none' }
  | { status: 'created'; customerId: string; customerType: CustomerType };

export const initialCustomerState = (): CustomerState => ({ status: 'none' });

export function evolveCustomer(_state: CustomerState, event: CustomerEvent): CustomerState {
  switch (event.type) {
    case 'CustomerCreated':
      return { status: 'created', customerId: event.data.customerId, customerType: event.data.customerType };
    default: {
      const unknownEvent: never = event.type;
      return unknownEvent;
    }
  }
}
