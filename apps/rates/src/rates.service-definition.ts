import { Logger, Module } from '@nestjs/common';
import { CommandServer } from '@dh/messaging';
import { runEventRelay, type ServiceDefinition } from '@dh/platform';
import { EdsClient, RATES_SERVICE, ratesCommandHandlers } from '@dh/rates-application';
import { startDataHubChargeIntake } from '@dh/rates-infra';
import { startEdsSchedule } from './eds-schedule';

@Module({})
class RatesModule {}

export interface RatesSettings {
  /** Energi Data Service base URL (`EDS_URL`); without it the ingest commands are refused. */
  edsUrl: string | null;
  /** `EDS_POLL_INTERVAL_MS`: poll interval; 0 (default) = no schedule. */
  pollIntervalMs: number;
}

export function ratesSettings(env: NodeJS.ProcessEnv): RatesSettings {
  const url = env['EDS_URL'];
  const raw = env['EDS_POLL_INTERVAL_MS'];
  const pollIntervalMs = raw === undefined || raw === '' ? 0 : Number(raw);
  if (!Number.isSafeInteger(pollIntervalMs) || pollIntervalMs < 0) throw new Error(`EDS_POLL_INTERVAL_MS must be a non-negative integer, got "${raw ?? ''}"`);
  if (pollIntervalMs > 0 && (url === undefined || url === '')) throw new Error('EDS_POLL_INTERVAL_MS needs EDS_URL');
  return { edsUrl: url === undefined || url === '' ? null : url, pollIntervalMs };
}

/**
 * Rates: spot prices, tariffs, taxes and products. Handles the rates commands on `commands.rates`,
 * records DataHub's charge links and price lists (RSM-031/034), optionally polls Energi Data Service,
 * and runs a standby relay instance like every writing service.
 */
export function createRatesService(env: NodeJS.ProcessEnv = process.env): ServiceDefinition {
  return {
    name: 'rates',
    defaultPort: 3003,
    module: () => ({ module: RatesModule }),
    async start(infrastructure) {
      const settings = ratesSettings(env);
      const eds = settings.edsUrl === null ? null : new EdsClient({ baseUrl: settings.edsUrl });
      if (eds !== null) infrastructure.healthChecks.push({ name: 'energi-data-service', probe: () => eds.ping() });
      const server = new CommandServer({ connection: infrastructure.amqp });
      await server.handle(RATES_SERVICE, ratesCommandHandlers({ store: infrastructure.eventStore, eds, clock: () => infrastructure.clock.now() }));
      const chargeIntake = await startDataHubChargeIntake(infrastructure);
      const stopSchedule =
        eds !== null && settings.pollIntervalMs > 0
          ? startEdsSchedule({ store: infrastructure.eventStore, eds, intervalMs: settings.pollIntervalMs, logger: new Logger('rates-eds-schedule'), clock: () => infrastructure.clock.now() })
          : async () => undefined;
      const stopRelay = await runEventRelay(infrastructure);
      return async () => {
        await stopSchedule();
        await server.close();
        await chargeIntake.stop();
        await stopRelay();
      };
    },
  };
}

export const ratesService: ServiceDefinition = createRatesService();
