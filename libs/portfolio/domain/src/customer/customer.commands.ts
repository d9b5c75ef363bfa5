import type { LocalDate } from '@dh/dk-time';
import type { CustomerType, OffboardingReason } from './customer.events';

export interface CreateCustomer {
  type: 'CreateCustomer';
  data: {
    customerId: string;
    customerType: CustomerType;
    personalData: string;
  };
}

/**
 * Onboards a customer from DataHub's BRS-044 master data (RSM-028 carries no CPR: the application
 * seals what it received and indexes the CVR, or a DataHub reference until a CPR is known).
 */
export interface OnboardForcedSwitchCustomer {
  type: 'OnboardForcedSwitchCustomer';
  data: {
    customerId: string;
    customerType: CustomerType;
    personalData: string;
    gsrn: string;
    processId: string;
    effectiveDate: LocalDate;
  };
}

export interface ActivateCustomer {
  type: 'ActivateCustomer';
  data: { customerId: string; gsrn: string; effectiveDate: LocalDate };
}

export interface OffboardCustomer {
  type: 'OffboardCustomer';
  data: { customerId: string; gsrn: string; endDate: LocalDate; reason: OffboardingReason };
}

export type CustomerCommand = CreateCustomer | OnboardForcedSwitchCustomer | ActivateCustomer | OffboardCustomer;
