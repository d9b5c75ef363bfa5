import { Module } from '@nestjs/common';
import { runEventRelay, type ServiceDefinition } from '@dh/platform';

@Module({})
class ReconciliationModule {}

/** Reconciliation: comparison of our settlement with DataHub's aggregations. Runs a standby relay instance like every writing service. */
export const reconciliationService: ServiceDefinition = {
  name: 'reconciliation',
  defaultPort: 3005,
  module: () => ({ module: ReconciliationModule }),
  start: (infrastructure) => runEventRelay(infrastructure),
};
