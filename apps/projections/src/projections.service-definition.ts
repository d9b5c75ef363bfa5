import { Module } from '@nestjs/common';
import { allProjections, startProjections } from '@dh/read-models';
import type { ServiceDefinition } from '@dh/platform';
import { startWebhookDispatcher, webhookDispatcherSettingsFromEnv } from '@dh/webhooks';
import { registerSettlementRunMetrics } from './settlement-run-metrics';

@Module({})
class ProjectionsModule {}

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
    // Webhooks: enqueues public events per subscription and delivers them (signed, retried); see libs/webhooks.
    registerSettlementRunMetrics(infrastructure.pool, infrastructure.metrics.registry);
    const webhooks = await startWebhookDispatcher({ pool: infrastructure.pool, connection: infrastructure.amqp, masterKey: infrastructure.config.piiMasterKey, previousMasterKeys: infrastructure.config.piiPreviousMasterKeys, exchange: infrastructure.config.exchange, eventStore: infrastructure.eventStore, ...webhookDispatcherSettingsFromEnv() });
    return async () => {
      await webhooks.stop();
      for (const consumer of consumers) await consumer.stop();
    };
  },
};
