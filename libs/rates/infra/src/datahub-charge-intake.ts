import { deterministicEventId, type EventStore } from '@dh/event-store';
import { ensureMessagingTables, startConsumer, type EventEnvelope, type RunningConsumer } from '@dh/messaging';
import type { Infrastructure } from '@dh/platform';
import { ratesMetadata, recordChargeLinks, recordPriceList, type RatesCommandContext } from '@dh/rates-application';
import { ChargeDataError } from '@dh/rates-domain';

/** Rates' own schema: the inbox of its consumers. */
export const RATES_SCHEMA = 'rates';
/** DataHub's charge links and price lists (RSM-031/034), as datahub-integration stored them. */
export const RATES_DATAHUB_CHARGES_QUEUE = 'rates.datahub-charges';
export const RATES_DATAHUB_CHARGES_BINDINGS = ['datahub.charge-links-received', 'datahub.price-list-received'];

export const CHARGE_DATA_REJECTED = 'ChargeDataRejected';
export const chargeDataRejectionsStreamId = (documentId: string): string => `charge-data-rejections-${documentId}`;

/**
 * Records one inbound charge message as rates events. Data rates cannot use (a wrong GSRN check digit,
 * an unknown charge type, a price DataHub itself would refuse) is kept as `ChargeDataRejected` on
 * `charge-data-rejections-<documentId>` with the field and the reason, never dropped silently.
 */
export async function recordDataHubChargeMessage(store: EventStore, envelope: EventEnvelope, now: Date): Promise<void> {
  const context: RatesCommandContext = { correlationId: envelope.metadata.correlationId, causationId: envelope.eventId, actor: 'datahub', now };
  try {
    if (envelope.type === 'ChargeLinksReceived') await recordChargeLinks(store, envelope.data, envelope.eventId, context);
    else if (envelope.type === 'PriceListReceived') await recordPriceList(store, envelope.data, envelope.eventId, context);
  } catch (error) {
    if (!(error instanceof ChargeDataError)) throw error;
    const documentId = typeof envelope.data['documentId'] === 'string' ? envelope.data['documentId'] : envelope.eventId;
    const streamId = chargeDataRejectionsStreamId(documentId);
    const eventId = deterministicEventId(envelope.eventId, streamId, 0);
    if ((await store.readStream(streamId)).some((e) => e.eventId === eventId)) return;
    await store.appendToStream(
      streamId,
      [
        {
          eventId,
          type: CHARGE_DATA_REJECTED,
          data: { documentId, inboundEventId: envelope.eventId, inboundType: envelope.type, recordId: envelope.data['recordId'] ?? null, field: error.field, reason: error.problem },
          metadata: ratesMetadata(context),
          occurredAt: now,
        },
      ],
      { expectedRevision: 'any' },
    );
  }
}

/** The rates service's consumer of DataHub charge data (inbox in schema `rates`). */
export async function startDataHubChargeIntake(infrastructure: Pick<Infrastructure, 'pool' | 'amqp' | 'eventStore' | 'clock' | 'config'>): Promise<RunningConsumer> {
  await ensureMessagingTables(infrastructure.pool, RATES_SCHEMA);
  return startConsumer({
    connection: infrastructure.amqp,
    pool: infrastructure.pool,
    queue: RATES_DATAHUB_CHARGES_QUEUE,
    bindings: RATES_DATAHUB_CHARGES_BINDINGS,
    eventStore: infrastructure.eventStore,
    exchange: infrastructure.config.exchange,
    schema: RATES_SCHEMA,
    // One metering point's links arrive in order; a later termination must not overtake its link.
    singleActiveConsumer: true,
    onFailure: 'halt',
    backoff: { initialDelayMs: 200, factor: 2, maxDelayMs: 5000 },
    handler: (envelope) => recordDataHubChargeMessage(infrastructure.eventStore, envelope, infrastructure.clock.now()),
  });
}
