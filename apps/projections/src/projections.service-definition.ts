import { Logger, Module } from '@nestjs/common';
import { allProjections, startHourPartFiller, startProjections } from '@dh/read-models';
import type { ServiceDefinition } from '@dh/platform';
import { startWebhookDispatcher, webhookDispatcherSettingsFromEnv } from '@dh/webhooks';
import { registerHourPartMetrics } from './hour-part-metrics';
import { registerSettlementRunMetrics } from './settlement-run-metrics';

@Module({})
class ProjectionsModule {}

const hourPartsLogger = new Logger('hour-parts');

/** Builds the gateway's read models from the event bus. A halted projection makes the process unready (its state is in readiness). */
export const projectionsService: ServiceDefinition = {
  name: 'projections',
  defaultPort: 3006,
  module: () => ({ module: ProjectionsModule }),
  async start(infrastructure) {
    const consumers = await startProjections({
      pool: infrastructure.pool,
      eventStore: infrastructure.eventStore,
      connection: infrastructure.amqp,
      projections: allProjections,
      exchange: infrastructure.config.exchange,
    });
    // The hour view's deflate parts, made behind the consumption projection (and after a rebuild) for the gateway's gzip answers.
    const hourParts = startHourPartFiller({ pool: infrastructure.pool, onError: (error) => hourPartsLogger.warn(`hour parts: ${error instanceof Error ? error.message : String(error)}`) });
    // Webhooks: enqueues public events per subscription and delivers them (signed, retried); see libs/webhooks.
    registerSettlementRunMetrics(infrastructure.pool, infrastructure.metrics.registry);
    registerHourPartMetrics(() => hourParts.stats(), infrastructure.metrics.registry);
    const webhooks = await startWebhookDispatcher({ pool: infrastructure.pool, connection: infrastructure.amqp, masterKey: infrastructure.config.piiMasterKey, previousMasterKeys: infrastructure.config.piiPreviousMasterKeys, exchange: infrastructure.config.exchange, eventStore: infrastructure.eventStore, ...webhookDispatcherSettingsFromEnv() });
    return async () => {
      await webhooks.stop();
      await hourParts.stop();
      for (const consumer of consumers) await consumer.stop();
    };
  },
};
