import { randomUUID } from 'node:crypto';
import { deterministicEventId, handleCommand, type EventMetadata, type EventStore } from '@dh/event-store';
import { nameSearchTerms } from './customer-maintenance';
import { customerDecider, customerStreamId, DomainRuleViolation, type CustomerCommand, type CustomerType } from '@dh/portfolio-domain';

/** Seals personal data per data subject; implemented by the platform's PiiVault. */
export interface PersonalDataProtector {
  encrypt(subjectId: string, value: Record<string, string | null>): Promise<string>;
  /**
   * Makes the subject findable by its CPR/CVR (a keyed hash kept in the vault, never in an event,
   * deleted when the subject is erased).
   */
  registerIdentity(subjectId: string, identity: string): Promise<void>;
  /** Replaces the subject's keyed-hash search terms of one kind (`name`), deleted on erasure. */
  registerSearchTerms(subjectId: string, kind: string, terms: readonly string[]): Promise<void>;
}

export interface CreateCustomerRequest {
  customerId?: string;
  name: string;
  email: string;
  phone?: string | null;
  street?: string | null;
  postcode?: string | null;
  city?: string | null;
  customerType: CustomerType;
  cpr?: string | null;
  cvr?: string | null;
}

export interface CommandContext {
  correlationId: string;
  causationId: string | null;
  actor: string;
  idempotencyKey?: string;
  now: Date;
}

export const PORTFOLIO_CONTEXT = 'portfolio';

export function portfolioMetadata(context: CommandContext): EventMetadata {
  return { correlationId: context.correlationId, causationId: context.causationId, actor: context.actor, schemaVersion: 1, context: PORTFOLIO_CONTEXT };
}

/** Decides a command on the customer's stream, with the request's metadata, time and idempotency key. */
export function decideOnCustomer(store: EventStore, customerId: string, command: CustomerCommand, context: CommandContext) {
  return handleCommand({
    store,
    streamId: customerStreamId(customerId),
    decider: customerDecider,
    command,
    metadata: portfolioMetadata(context),
    now: context.now,
    idempotencyKey: context.idempotencyKey,
  });
}

/** CPR is stored without its dash, so "010190-1234" and "0101901234" are one person. */
function identityOf(request: CreateCustomerRequest): string {
  const id = request.customerType === 'private' ? request.cpr : request.cvr;
  if (!id) throw new DomainRuleViolation('invalid-request', `A ${request.customerType} customer needs ${request.customerType === 'private' ? 'a CPR' : 'a CVR'} number`);
  return `${request.customerType === 'private' ? 'cpr' : 'cvr'}:${id.replace(/-/g, '')}`;
}

export async function createCustomer(
  deps: { store: EventStore; protector: PersonalDataProtector },
  request: CreateCustomerRequest,
  context: CommandContext,
): Promise<{ customerId: string; alreadyHandled: boolean }> {
  // A retried request with the same idempotency key must name the same customer, or it would create a second one.
  const customerId =
    request.customerId ?? (context.idempotencyKey !== undefined ? deterministicEventId(context.idempotencyKey, 'customer', 0) : randomUUID());
  const identity = identityOf(request);
  const personalData = await deps.protector.encrypt(customerId, {
    name: request.name,
    email: request.email,
    phone: request.phone ?? null,
    // The address only when given: records written before addresses existed have none either.
    ...(request.street || request.postcode || request.city ? { street: request.street ?? null, postcode: request.postcode ?? null, city: request.city ?? null } : {}),
    cpr: request.customerType === 'private' ? (request.cpr ?? null) : null,
    cvr: request.customerType === 'business' ? (request.cvr ?? null) : null,
  });
  await deps.protector.registerIdentity(customerId, identity);
  await deps.protector.registerSearchTerms(customerId, 'name', nameSearchTerms(request.name));
  const result = await decideOnCustomer(deps.store, customerId, { type: 'CreateCustomer', data: { customerId, customerType: request.customerType, personalData } }, context);
  return { customerId, alreadyHandled: result.alreadyHandled };
}
