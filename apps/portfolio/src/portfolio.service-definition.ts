import { Logger, Module } from '@nestjs/common';
import type { MessagingLogger } from '@dh/messaging';
import { maskPersonalData, runEventRelay, type ServiceDefinition } from '@dh/platform';
import { effectiveDateCheckIntervalMs, parseGridAreaPriceAreas, startPortfolioRuntime } from './portfolio-runtime';

@Module({})
class PortfolioModule {}

function nestLogger(): MessagingLogger {
  const logger = new Logger('portfolio');
  return {
    log: (message: string) => logger.log(maskPersonalData(message)),
    warn: (message: string) => logger.warn(maskPersonalData(message)),
    error: (message: string, trace?: string) => logger.error(maskPersonalData(trace ? `${message}\n${trace}` : message)),
  };
}

/**
 * Portfolio: customers, metering points, supply periods and DataHub processes. Commands arrive over
 * RabbitMQ from the gateway and datahub-integration; the process manager consumes DataHub's answers,
 * master data and notifications from `portfolio.process-manager`.
 */
export const portfolioService: ServiceDefinition = {
  name: 'portfolio',
  defaultPort: 3001,
  module: () => ({ module: PortfolioModule }),
  async start(infrastructure) {
    const runtime = await startPortfolioRuntime({
      store: infrastructure.eventStore,
      pool: infrastructure.pool,
      amqp: infrastructure.amqp,
      vault: infrastructure.vault,
      clock: () => infrastructure.clock.now(),
      exchange: infrastructure.config.exchange,
      defaultProductId: process.env.DEFAULT_PRODUCT_ID || 'standard',
      priceAreaOf: parseGridAreaPriceAreas(process.env.GRID_AREA_PRICE_AREAS),
      logger: nestLogger(),
      // Follows infrastructure.clock: a process whose master data came early is confirmed on its date.
      effectiveDateCheckIntervalMs: effectiveDateCheckIntervalMs(process.env.EFFECTIVE_DATE_CHECK_SECONDS),
    });
    infrastructure.healthChecks.push({
      name: 'process-manager',
      probe: async () => {
        const stats = runtime.consumer.stats();
        if (stats.halted) throw new Error(stats.halted);
      },
    });
    const stopRelay = await runEventRelay(infrastructure);
    return async () => {
      await runtime.stop();
      await stopRelay();
    };
  },
};
