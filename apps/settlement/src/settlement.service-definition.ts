import { Module } from '@nestjs/common';
import { runEventRelay, type ServiceDefinition } from '@dh/platform';
import { startSettlementRuntime } from '@dh/settlement-infra';

@Module({})
class SettlementModule {}

/**
 * Settlement: metered data, settlement runs, invoices, aconto and corrections. Commands
 * (`RecordMeteredData`, `StartSettlementRun`, `RecordAcontoPayment`) arrive over RabbitMQ; the
 * inputs consumer keeps settlement's copies and issues corrections; `SETTLEMENT_WORKERS` competing
 * workers (default 2) settle the `settlement.work` queue. Runs a standby relay like every writing service.
 */
export const settlementService: ServiceDefinition = {
  name: 'settlement',
  defaultPort: 3004,
  module: () => ({ module: SettlementModule }),
  async start(infrastructure) {
    const workers = Number(process.env.SETTLEMENT_WORKERS ?? '2');
    const runtime = await startSettlementRuntime(infrastructure, { workers: Number.isInteger(workers) && workers >= 0 ? workers : 2 });
    const stopRelay = await runEventRelay(infrastructure);
    return async () => {
      await runtime.stop();
      await stopRelay();
    };
  },
};
