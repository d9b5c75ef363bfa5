import { Module } from '@nestjs/common';
import { runEventRelay, type ServiceDefinition } from '@dh/platform';

@Module({})
class RatesModule {}

/** Rates: spot prices, tariffs, taxes and products. Runs a standby relay instance like every writing service. */
export const ratesService: ServiceDefinition = {
  name: 'rates',
  defaultPort: 3003,
  module: () => ({ module: RatesModule }),
  start: (infrastructure) => runEventRelay(infrastructure),
};
