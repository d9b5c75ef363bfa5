import type { LocalDate } from '@dh/dk-time';
import type { CustomerType, CustomerUpdateField, OffboardingReason, PersonalDataChangeSource } from './customer.events';

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

/**
 * New contact details, sealed by the application; `changed` is empty when nothing differs (no event).
 * `changedAt` (UTC ISO instant) is when the change was made, for the public `customer.updated`.
 */
export interface ChangeCustomerPersonalData {
  type: 'ChangeCustomerPersonalData';
  data: { customerId: string; personalData: string; changed: CustomerUpdateField[]; source: PersonalDataChangeSource; changedAt: string };
}

/**
 * Completes a forced-switch placeholder with the person's or company's identity (sealed); `changed`
 * names the fields that differ from the placeholder, `changedAt` when (UTC ISO instant).
 */
export interface CompleteCustomerIdentity {
  type: 'CompleteCustomerIdentity';
  data: { customerId: string; customerType: CustomerType; personalData: string; source: PersonalDataChangeSource; changed: CustomerUpdateField[]; changedAt: string };
}

export type CustomerCommand = CreateCustomer | OnboardForcedSwitchCustomer | ActivateCustomer | OffboardCustomer | ChangeCustomerPersonalData | CompleteCustomerIdentity;
