import type { EventStore, RecordedEvent } from '@dh/event-store';
import { DomainRuleViolation, type CustomerType, type CustomerUpdateField, type PersonalDataChangeSource } from '@dh/portfolio-domain';
import { decideOnCustomer, type CommandContext, type PersonalDataProtector } from './create-customer';
import type { PersonalDataReader } from './customer-identity';
import { loadCustomer } from './streams';

/** The contact details a customer record keeps, each sealed with the rest (never in clear in an event). */
export const CONTACT_FIELDS = ['name', 'email', 'phone', 'street', 'postcode', 'city'] as const;
export type ContactField = (typeof CONTACT_FIELDS)[number];
export type ContactDetails = Partial<Record<ContactField, string | null>>;

/** The GDPR erasure record (apps/portfolio/src/gdpr): after it, nothing personal may be written again. */
const erasureStreamId = (customerId: string): string => `customer-erasure-${customerId}`;

/**
 * The customer's current sealed personal data: that of the last event that carries it (a change, a
 * completion) or of the creation. Null when the stream has none.
 */
export function currentPersonalData(events: readonly RecordedEvent[]): string | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const sealed = events[i]!.data['personalData'];
    if (typeof sealed === 'string') return sealed;
  }
  return null;
}

/** Searchable name words: lower case, accents kept apart from their letters and dropped (Søren → søren, José → jose). */
export function nameSearchTerms(name: string | null | undefined): string[] {
  if (!name) return [];
  const words = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0);
  return [...new Set(words)];
}

type Maintenance = { store: EventStore; protector: PersonalDataProtector & PersonalDataReader };

async function openCurrent(deps: Maintenance, customerId: string) {
  const { state, events } = await loadCustomer(deps.store, customerId);
  if (state.status === 'none') throw new DomainRuleViolation('unknown-customer', `No customer with id ${customerId}`);
  const erased = await deps.store.readStream(erasureStreamId(customerId), { maxCount: 1 });
  if (erased.length > 0) throw new DomainRuleViolation('personal-data-erased', `The personal data of customer ${customerId} was erased (GDPR); it cannot be changed`);
  const sealed = currentPersonalData(events);
  if (sealed === null) throw new DomainRuleViolation('unknown-customer', `Customer ${customerId} has no personal data record`);
  return { state, personal: await deps.protector.decrypt(customerId, sealed) };
}

const CONTROL = /[\u0000-\u001f\u007f]/;

function checkDetails(details: ContactDetails): void {
  for (const [field, value] of Object.entries(details)) {
    if (!(CONTACT_FIELDS as readonly string[]).includes(field)) throw new DomainRuleViolation('invalid-request', `${field} is not a contact detail (${CONTACT_FIELDS.join(', ')})`);
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || value.trim() === '' || value.length > 200 || CONTROL.test(value)) {
      throw new DomainRuleViolation('invalid-request', `${field} must be 1-200 characters without control characters`);
    }
  }
  if (details.name === null) throw new DomainRuleViolation('invalid-request', 'name cannot be removed');
}

/**
 * CRM, the portal (the customer's own profile) or staff change contact details. Fields not named keep
 * their value, `null` removes one (not the name). The whole record is sealed again; nothing is
 * recorded when nothing differs. Refused after a GDPR erasure.
 */
export async function changeContactDetails(
  deps: Maintenance,
  request: { customerId: string; details: ContactDetails; source: PersonalDataChangeSource },
  context: CommandContext,
): Promise<{ customerId: string; changed: CustomerUpdateField[] }> {
  checkDetails(request.details);
  const { personal } = await openCurrent(deps, request.customerId);
  const next: Record<string, string | null> = { ...personal };
  const changed: CustomerUpdateField[] = [];
  for (const field of CONTACT_FIELDS) {
    const value = request.details[field];
    if (value === undefined) continue;
    const trimmed = value === null ? null : value.trim();
    if ((personal[field] ?? null) === trimmed) continue;
    next[field] = trimmed;
    changed.push(field);
  }
  if (changed.length === 0) return { customerId: request.customerId, changed };
  const personalData = await deps.protector.encrypt(request.customerId, next);
  await decideOnCustomer(deps.store, request.customerId, { type: 'ChangeCustomerPersonalData', data: { customerId: request.customerId, personalData, changed, source: request.source, changedAt: context.now.toISOString() } }, context);
  if (changed.includes('name')) await deps.protector.registerSearchTerms(request.customerId, 'name', nameSearchTerms(next.name));
  return { customerId: request.customerId, changed };
}

export interface CompleteIdentityRequest {
  customerId: string;
  customerType: CustomerType;
  name: string;
  cpr?: string | null;
  cvr?: string | null;
  details?: Omit<ContactDetails, 'name'>;
  source: PersonalDataChangeSource;
}

const CPR = /^\d{6}-?\d{4}$/;
const CVR = /^\d{8}$/;

/**
 * Completes a customer received by forced switch (BRS-044), whose record DataHub gave us without a
 * CPR: the name and the CPR (private) or CVR (business), optionally contact details. The customer
 * becomes findable by CPR/CVR and name. Refused for a customer whose identity is known.
 */
export async function completeCustomerIdentity(deps: Maintenance, request: CompleteIdentityRequest, context: CommandContext): Promise<{ customerId: string; customerType: CustomerType }> {
  const { customerType } = request;
  if (customerType !== 'private' && customerType !== 'business') throw new DomainRuleViolation('invalid-request', 'customerType must be private or business');
  if (typeof request.name !== 'string') throw new DomainRuleViolation('invalid-request', 'name is required');
  const id = customerType === 'private' ? request.cpr : request.cvr;
  if (customerType === 'private' && (!id || !CPR.test(id))) throw new DomainRuleViolation('invalid-request', 'a private customer needs a CPR number (DDMMYY-SSSS)');
  if (customerType === 'business' && (!id || !CVR.test(id))) throw new DomainRuleViolation('invalid-request', 'a business customer needs a CVR number (8 digits)');
  checkDetails({ ...(request.details ?? {}), name: request.name });
  const { state, personal } = await openCurrent(deps, request.customerId);
  if (personal['cpr'] || personal['cvr']) throw new DomainRuleViolation('not-a-placeholder', `Customer ${request.customerId} has a CPR/CVR already; change its contact details instead`);
  const identity = id!.replace(/-/g, '');
  const next: Record<string, string | null> = { ...personal, name: request.name.trim(), cpr: customerType === 'private' ? identity : null, cvr: customerType === 'business' ? identity : null };
  for (const [field, value] of Object.entries(request.details ?? {})) if (value !== undefined) next[field] = value === null ? null : value.trim();
  const changed: CustomerUpdateField[] = state.status === 'created' && state.customerType !== customerType ? ['customerType'] : [];
  for (const field of ['name', 'cpr', 'cvr', ...CONTACT_FIELDS.filter((f) => f !== 'name')] as const) if ((personal[field] ?? null) !== (next[field] ?? null)) changed.push(field);
  const personalData = await deps.protector.encrypt(request.customerId, next);
  await decideOnCustomer(deps.store, request.customerId, { type: 'CompleteCustomerIdentity', data: { customerId: request.customerId, customerType, personalData, source: request.source, changed, changedAt: context.now.toISOString() } }, context);
  await deps.protector.registerIdentity(request.customerId, `${customerType === 'private' ? 'cpr' : 'cvr'}:${identity}`);
  await deps.protector.registerSearchTerms(request.customerId, 'name', nameSearchTerms(next.name));
  return { customerId: request.customerId, customerType };
}
