import { Module } from '@nestjs/common';
import { allProjections, startProjections } from '@dh/read-models';
import type { ServiceDefinition } from '@dh/platform';
import { startWebhookDispatcher, webhookDispatcherSettingsFromEnv } from '@dh/webhooks';

@Module({})
class ProjectionsModule {}

/** Builds the gateway's read models from the event bus. A halted projection makes the process unready. */
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
    const webhooks = await startWebhookDispatcher({ pool: infrastructure.pool, connection: infrastructure.amqp, masterKey: infrastructure.config.piiMasterKey, exchange: infrastructure.config.exchange, ...webhookDispatcherSettingsFromEnv() });
    infrastructure.healthChecks.push({
      name: 'projections',
      probe: async () => {
        const halted = consumers.map((c) => c.stats().halted).filter((h): h is string => h !== null);
        if (halted.length > 0) throw new Error(halted.join('; '));
      },
    });
    return async () => {
      await webhooks.stop();
      for (const consumer of consumers) await consumer.stop();
    };
  },
};
