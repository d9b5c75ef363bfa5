const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The debtor's customer number at the creditor (kundenr, 15 digits in every Betalingsservice
 * record): derived from our customer id (the UUID as a number, modulo 10^15), so CRM, the invoice
 * and the 0601 delivery show the same number without a registry. Two customers may (very rarely)
 * share one: agreements are unique per customer number, and registering a second customer on a
 * number already taken is refused.
 */
export function betalingsserviceCustomerNumber(customerId: string): string {
  if (!UUID.test(customerId)) throw new RangeError(`customer id ${customerId} is not a UUID`);
  return (BigInt(`0x${customerId.replace(/-/g, '')}`) % 10n ** 15n).toString().padStart(15, '0');
}

export const CUSTOMER_NUMBER = /^\d{1,15}$/;
export const AGREEMENT_NUMBER = /^\d{1,9}$/;
