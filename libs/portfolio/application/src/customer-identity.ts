import type { EventStore } from '@dh/event-store';
import { DomainRuleViolation } from '@dh/portfolio-domain';
import { currentPersonalData } from './customer-maintenance';
import { loadCustomer, loadProcess } from './streams';

/** Opens personal data sealed per data subject; implemented by the platform's PiiVault. */
export interface PersonalDataReader {
  decrypt(subjectId: string, sealed: string): Promise<Record<string, string | null>>;
}

export interface CustomerIdentityForDataHub {
  customerName: string | null;
  cpr: string | null;
  cvr: string | null;
}

/**
 * The customer's name and CPR/CVR for the RSM-001 of a switch or move-in: events carry them only
 * sealed, so datahub-integration asks for them when it builds the request and keeps nothing.
 * Nothing personal is logged or put in error messages here.
 */
export async function getCustomerIdentityForDataHub(deps: { store: EventStore; reader: PersonalDataReader }, processId: string): Promise<CustomerIdentityForDataHub> {
  const process = await loadProcess(deps.store, processId);
  if (process.state.status === 'none') throw new DomainRuleViolation('unknown-process', `Process ${processId} does not exist`);
  const customerId = process.state.customerId;
  const { events } = await loadCustomer(deps.store, customerId);
  // The latest record: contact changes and a forced-switch completion seal it again.
  const sealed = currentPersonalData(events);
  if (sealed === null) throw new DomainRuleViolation('unknown-customer', `Customer ${customerId} of process ${processId} does not exist`);
  const personal = await deps.reader.decrypt(customerId, sealed);
  return { customerName: personal.name ?? null, cpr: personal.cpr ?? null, cvr: personal.cvr ?? null };
}
