import type { Pool } from 'pg';
import type { EventStore } from '@dh/event-store';
import { startConsumer, type AmqpConnection, type MessagingLogger, type RunningConsumer, type EventEnvelope, type Delivery } from '@dh/messaging';
import type { Projection, ProjectedEvent } from './projection';
import { applyGuarded, applyGuardedBatch, migrateProjectionState, PROJECTION_SCHEMA } from './projection-state';
import { rebuildProjection } from './rebuild';

export function projectionQueue(projection: Projection): string {
  return `projection.${projection.name}`;
}

function toProjected(envelope: EventEnvelope, delivery: Delivery): ProjectedEvent {
  if (delivery.checkpoint === null) throw new Error(`Event ${envelope.eventId} has no checkpoint header; projections only accept events from the relay`);
  return {
    eventId: envelope.eventId,
    type: envelope.type,
    streamId: envelope.streamId,
    streamRevision: BigInt(envelope.streamRevision),
    checkpoint: delivery.checkpoint,
    recordedAt: new Date(envelope.recordedAt),
    data: envelope.data,
  };
}

/** Creates every projection's tables (and the shared state table) under one advisory lock. */
export async function migrateReadModels(pool: Pool, projections: Projection[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', ['read-models-migration']);
    try {
      await migrateProjectionState(client);
      for (const projection of projections) await projection.migrate(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', ['read-models-migration']);
    }
  } finally {
    client.release();
  }
}

/** Events a projection applies in one transaction (with their inbox rows) when that many are waiting. */
export const PROJECTION_BATCH_SIZE = 500;

/**
 * Runs each projection on its own durable queue, in strict order (single active consumer, halt on a
 * poison event rather than skip it), applying every event inside the inbox transaction. The events
 * waiting when a projection is free (up to {@link PROJECTION_BATCH_SIZE}) go in one transaction
 * (`applyGuardedBatch`); a batch that fails is applied one event at a time, so a poison event halts
 * the projection exactly where it is.
 *
 * A projection that has never run is first built from the event store: events the relay published
 * before its queue existed were routed nowhere, and RabbitMQ is not a log to replay them from. So is one
 * whose live tables were built with another layout (`Projection.layout`, e.g. after an upgrade).
 */
export async function startProjections(options: {
  pool: Pool;
  eventStore: EventStore;
  connection: AmqpConnection;
  projections: Projection[];
  exchange?: string;
  maxAttempts?: number;
  /** Most events per transaction. Default {@link PROJECTION_BATCH_SIZE}; 1 applies each event alone. */
  batchSize?: number;
  logger?: MessagingLogger;
}): Promise<RunningConsumer[]> {
  await migrateReadModels(options.pool, options.projections);
  const consumers: RunningConsumer[] = [];
  for (const projection of options.projections) {
    const known = await options.pool.query<{ layout: string | null }>(`SELECT layout FROM ${PROJECTION_SCHEMA}.projection_state WHERE name = $1`, [projection.name]);
    // Never run, or its live tables were built with another layout of them (Projection.layout): built from the event store.
    const build = known.rows.length === 0 || known.rows[0].layout !== (projection.layout ?? null);
    consumers.push(
      await startConsumer({
        connection: options.connection,
        pool: options.pool,
        queue: projectionQueue(projection),
        bindings: projection.bindings,
        exchange: options.exchange,
        singleActiveConsumer: true,
        onFailure: 'halt',
        // Twice the batch: the broker delivers the next batch while one is in its transaction.
        prefetch: 2 * (options.batchSize ?? PROJECTION_BATCH_SIZE),
        batchSize: options.batchSize ?? PROJECTION_BATCH_SIZE,
        maxAttempts: options.maxAttempts ?? 5,
        backoff: { initialDelayMs: 200, factor: 2, maxDelayMs: 5000 },
        logger: options.logger,
        handler: async (envelope, tx, delivery) => {
          await applyGuarded(projection, toProjected(projection.schemas ? projection.schemas.upcast(envelope) : envelope, delivery), tx);
        },
        batchHandler: async (items, tx) => {
          await applyGuardedBatch(
            projection,
            items.map(({ envelope, delivery }) => toProjected(projection.schemas ? projection.schemas.upcast(envelope) : envelope, delivery)),
            tx,
          );
        },
      }),
    );
    if (build) {
      const result = await rebuildProjection(options.pool, options.eventStore, projection, {
        onRetireError: (error, tables) => options.logger?.warn(`Projection ${projection.name}: retired tables ${tables.join(', ')} not dropped (the next rebuild drops them): ${error.message}`),
        onAnalyzeError: (error, tables) => options.logger?.warn(`Projection ${projection.name}: tables ${tables.join(', ')} not analysed after the swap (left to autovacuum): ${error.message}`),
      });
      options.logger?.log(`Projection ${projection.name} built from the event store${known.rows.length > 0 ? ` (layout ${projection.layout ?? 'none'}, was ${known.rows[0].layout ?? 'none'})` : ''}: ${result.appliedEvents} events`);
    }
  }
  return consumers;
}
