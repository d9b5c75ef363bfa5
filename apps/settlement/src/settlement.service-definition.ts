import { Module } from '@nestjs/common';
import { runEventRelay, type ServiceDefinition } from '@dh/platform';

@Module({})
class SettlementModule {}

/** Settlement: metered data, settlement runs, invoices, aconto and corrections. Runs a standby relay instance like every writing service. */
export const settlementService: ServiceDefinition = {
  name: 'settlement',
  defaultPort: 3004,
  module: () => ({ module: SettlementModule }),
  start: (infrastructure) => runEventRelay(infrastructure),
};
