export type CustomerType = 'private' | 'business';

/**
 * Personal data never appears in clear in an event: `personalData` is sealed per customer by the
 * application layer (see PiiVault), `identityIndex` is a keyed hash of the CPR or CVR for lookups.
 */
export interface CustomerCreated {
  type: 'CustomerCreated';
  data: {
    customerId: string;
    customerType: CustomerType;
    personalData: string;
    identityIndex: string;
  };
}

export type CustomerEvent = CustomerCreated;
