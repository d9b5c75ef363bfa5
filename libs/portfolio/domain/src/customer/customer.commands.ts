import type { CustomerType } from './customer.events';

export interface CreateCustomer {
  type: 'CreateCustomer';
  data: {
    customerId: string;
    customerType: CustomerType;
    personalData: string;
    identityIndex: string;
  };
}

export type CustomerCommand = CreateCustomer;
