import type { LocalDate } from '@dh/dk-time';

export type CustomerType = 'private' | 'business';

/**
 * Personal data never appears in clear in an event: `personalData` is sealed per customer by the
 * application layer (see PiiVault). Schema version 2: version 1 also carried `identityIndex`, a keyed
 * hash of the CPR or CVR. An immutable event outlives an erasure, and the CPR space is small enough to
 * search through such a hash, so the index now lives only in the vault, where erasure deletes it
 * (the upcaster drops it from version 1 events as they are read).
 */
export interface CustomerCreated {
  type: 'CustomerCreated';
  data: {
    customerId: string;
    customerType: CustomerType;
    personalData: string;
  };
}

/** BRS-044: DataHub gave us this customer's metering point unasked (e.g. another supplier's bankruptcy). */
export interface CustomerReceivedByForcedSwitch {
  type: 'CustomerReceivedByForcedSwitch';
  data: { customerId: string; gsrn: string; processId: string; effectiveDate: LocalDate };
}

/** PUBLIC (`customer.activated`): our supply of `gsrn` to the customer has become effective. */
export interface CustomerActivated {
  type: 'CustomerActivated';
  data: CustomerActivatedData;
}
export type CustomerActivatedData = { customerId: string; gsrn: string; effectiveDate: LocalDate };

export type OffboardingReason = 'switched-away' | 'move-out' | 'end-of-supply' | 'incorrect-switch';

/**
 * PUBLIC (`customer.offboarded`): our supply of `gsrn` ended. `endDate` is exclusive (the first day
 * not supplied); for 'incorrect-switch' it equals the effective date: the supply is void.
 */
export interface CustomerOffboarded {
  type: 'CustomerOffboarded';
  data: CustomerOffboardedData;
}
export type CustomerOffboardedData = { customerId: string; gsrn: string; endDate: LocalDate; reason: OffboardingReason };

/** Where a change of a customer's personal data came from. */
export type PersonalDataChangeSource = 'crm' | 'portal' | 'staff';

/**
 * The customer's contact details changed (name, address, e-mail, phone). `personalData` is the whole
 * record sealed again (the latest such event, or the creation, is the current one); `changed` names
 * the fields that differ from the previous record, never their values.
 */
export interface CustomerPersonalDataChanged {
  type: 'CustomerPersonalDataChanged';
  data: { customerId: string; personalData: string; changed: string[]; source: PersonalDataChangeSource };
}

/**
 * A customer received by forced switch (BRS-044: DataHub's RSM-028 carries no CPR) was completed with
 * a name and CPR (private) or CVR (business). Recorded at most once per customer.
 */
export interface CustomerIdentityCompleted {
  type: 'CustomerIdentityCompleted';
  data: { customerId: string; customerType: CustomerType; personalData: string; source: PersonalDataChangeSource };
}

/** The fields of a customer record a `CustomerUpdated` may name (names only: never their values). */
export const CUSTOMER_UPDATE_FIELDS = ['customerType', 'name', 'cpr', 'cvr', 'email', 'phone', 'street', 'postcode', 'city'] as const;
export type CustomerUpdateField = (typeof CUSTOMER_UPDATE_FIELDS)[number];

/**
 * PUBLIC (`customer.updated`): the customer's record changed (contact details from CRM, the portal or
 * staff, or a forced-switch placeholder completed with its identity). Recorded beside
 * `CustomerPersonalDataChanged` / `CustomerIdentityCompleted`, once per change. It names the changed
 * fields and when; never a value, not even sealed: subscribers read the record from the API.
 */
export interface CustomerUpdated {
  type: 'CustomerUpdated';
  data: CustomerUpdatedData;
}
export type CustomerUpdatedData = { customerId: string; changed: CustomerUpdateField[]; source: PersonalDataChangeSource; changedAt: string };

export type CustomerEvent =
  | CustomerCreated
  | CustomerReceivedByForcedSwitch
  | CustomerActivated
  | CustomerOffboarded
  | CustomerPersonalDataChanged
  | CustomerIdentityCompleted
  | CustomerUpdated;
