import { Module } from '@nestjs/common';
import { runEventRelay, type ServiceDefinition } from '@dh/platform';

@Module({})
class DatahubIntegrationModule {}

/** DatahubIntegration: DataHub 3 B2B, Eloverblik and payment files. Runs a standby relay instance like every writing service. */
export const datahubIntegrationService: ServiceDefinition = {
  name: 'datahub-integration',
  defaultPort: 3002,
  module: () => ({ module: DatahubIntegrationModule }),
  start: (infrastructure) => runEventRelay(infrastructure),
};
