import { deterministicEventId, type EventRedaction, type EventStore, type JsonObject, type JsonValue } from '@dh/event-store';
import { CommandError, type CommandContext as BusContext, type CommandHandler } from '@dh/messaging';
import { formatLocalDate, localDateOf, parseLocalDate } from '@dh/dk-time';
import { customerStreamId } from '@dh/portfolio-domain';
import { PORTFOLIO_CONTEXT } from '@dh/portfolio-application';

/** Bogføringsloven § 12: bookkeeping material is kept for 5 years from the end of the financial year it concerns. */
export const BOOKKEEPING_RETENTION_YEARS = 5;

export const CUSTOMER_PERSONAL_DATA_ERASED = 'CustomerPersonalDataErased';

/**
 * Recorded once per customer, on its own stream `customer-erasure-<customerId>` (context `portfolio`,
 * routing key `portfolio.customer-personal-data-erased`): the customer decider's event union is
 * closed, so the erasure does not go into the customer stream itself.
 */
export interface CustomerPersonalDataErased {
  type: typeof CUSTOMER_PERSONAL_DATA_ERASED;
  data: { customerId: string; erasedAt: string; retainBookkeepingUntil: string };
}

export const customerErasureStreamId = (customerId: string): string => `customer-erasure-${customerId}`;

/** The last day bookkeeping records about the customer must be kept: 31 December, 5 years after the (Copenhagen) year of erasure. */
export function retainBookkeepingUntil(erasedAt: Date): string {
  const { year } = parseLocalDate(localDateOf(erasedAt));
  return formatLocalDate(year + BOOKKEEPING_RETENTION_YEARS, 12, 31);
}

export interface EraseDeps {
  store: EventStore;
  /** Destroys the subject's data key (PiiVault.erase): crypto-shredding. */
  vault: { erase(subjectId: string): Promise<void> };
  /**
   * Removes what an erasure must not leave in recorded events: the keyed CPR/CVR index `identityIndex` that
   * `CustomerCreated` schema version 1 carried (version 2 keeps it in the vault, deleted with the key). Null
   * for a store that cannot change a written event (KurrentDB): no deployment on one wrote version 1.
   */
  redaction: EventRedaction | null;
  clock: () => Date;
}

/** Fields of recorded events that lead back to the person: removed from them on erasure. */
export const ERASED_EVENT_FIELDS: readonly { type: string; fields: readonly string[] }[] = [{ type: 'CustomerCreated', fields: ['identityIndex'] }];

export interface EraseResult extends JsonObject {
  customerId: string;
  erasedAt: string;
  retainBookkeepingUntil: string;
  alreadyErased: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * GDPR art. 17 by pseudonymisation: the customer's personal-data key is destroyed, so events and
 * read models keep only ciphertext nobody can open; invoices, amounts and metering point ids stay
 * for their retention period. Idempotent: a second erasure answers the first one's dates.
 */
export async function erasePersonalData(deps: EraseDeps, customerId: string, context: { correlationId: string; causationId: string | null; actor: string }): Promise<EraseResult> {
  if (!UUID.test(customerId)) throw new CommandError('validation', 'customerId must be a UUID');
  const customerEvents = await deps.store.readStream(customerStreamId(customerId), { maxCount: 1 });
  if (customerEvents.length === 0) throw new CommandError('unknown-customer', `No customer with id ${customerId}`);
  const previous = await deps.store.readStream(customerErasureStreamId(customerId), { maxCount: 1 });
  // Destroy the key first: if the append below fails, a retry finds the key gone and completes the record.
  await deps.vault.erase(customerId);
  // Then every way back to the CPR kept in the customer's own events (idempotent: a retry, or an erasure
  // recorded before this step existed, redacts what is left).
  for (const { type, fields } of ERASED_EVENT_FIELDS) await deps.redaction?.removeEventDataFields(customerStreamId(customerId), type, fields);
  if (previous.length > 0) {
    const data = previous[0].data as CustomerPersonalDataErased['data'];
    return { customerId, erasedAt: data.erasedAt, retainBookkeepingUntil: data.retainBookkeepingUntil, alreadyErased: true };
  }
  const now = deps.clock();
  const event: CustomerPersonalDataErased = {
    type: CUSTOMER_PERSONAL_DATA_ERASED,
    data: { customerId, erasedAt: now.toISOString(), retainBookkeepingUntil: retainBookkeepingUntil(now) },
  };
  try {
    await deps.store.appendToStream(
      customerErasureStreamId(customerId),
      [
        {
          eventId: deterministicEventId(`erase:${customerId}`, customerErasureStreamId(customerId), 0),
          type: event.type,
          data: event.data,
          metadata: { correlationId: context.correlationId, causationId: context.causationId, actor: context.actor, schemaVersion: 1, context: PORTFOLIO_CONTEXT },
          occurredAt: now,
        },
      ],
      { expectedRevision: 'no_stream' },
    );
  } catch (error) {
    // A concurrent erasure won the race: answer with what it recorded.
    const winner = await deps.store.readStream(customerErasureStreamId(customerId), { maxCount: 1 });
    if (winner.length === 0) throw error;
    const data = winner[0].data as CustomerPersonalDataErased['data'];
    return { customerId, erasedAt: data.erasedAt, retainBookkeepingUntil: data.retainBookkeepingUntil, alreadyErased: true };
  }
  return { ...event.data, alreadyErased: false };
}

/** `EraseCustomerPersonalData { customerId }` on `commands.portfolio`. */
export function eraseCustomerPersonalDataHandler(deps: EraseDeps): CommandHandler {
  return async (payload: JsonValue, context: BusContext) => {
    const customerId = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? payload.customerId : undefined;
    if (typeof customerId !== 'string') throw new CommandError('validation', 'customerId is required');
    return erasePersonalData(deps, customerId, { correlationId: context.correlationId, causationId: context.causationId, actor: context.actor ?? 'unknown' });
  };
}
