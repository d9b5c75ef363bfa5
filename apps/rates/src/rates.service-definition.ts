import { Logger, Module } from '@nestjs/common';
import { CommandServer } from '@dh/messaging';
import { runEventRelay, type ServiceDefinition } from '@dh/platform';
import { EdsClient, RATES_SERVICE, ratesCommandHandlers } from '@dh/rates-application';
import { startDataHubChargeIntake } from '@dh/rates-infra';
import { DEFAULT_EDS_SCHEDULE, startEdsSchedule, type EdsScheduleSettings } from './eds-schedule';

@Module({})
class RatesModule {}

/** The public Energi Data Service API (market-facts.md §2): the default feed in production. */
export const ENERGI_DATA_SERVICE_URL = 'https://api.energidataservice.dk';

export interface RatesSettings {
  /** Energi Data Service base URL (`EDS_URL`; in production the public API by default); without it the ingest commands are refused. */
  edsUrl: string | null;
  /** The daily poll after the day-ahead auction (`EDS_SCHEDULE=daily`, the default with an EDS), or null (`off`). */
  schedule: EdsScheduleSettings | null;
}

export function ratesSettings(env: NodeJS.ProcessEnv): RatesSettings {
  const given = env['EDS_URL'];
  const edsUrl = given !== undefined && given !== '' ? given : env['NODE_ENV'] === 'production' ? ENERGI_DATA_SERVICE_URL : null;
  if (env['EDS_POLL_INTERVAL_MS'] !== undefined) throw new Error('EDS_POLL_INTERVAL_MS is replaced by the daily schedule: EDS_SCHEDULE=daily|off, EDS_POLL_AT=HH:MM, EDS_RETRY_MINUTES');
  const mode = env['EDS_SCHEDULE'] ?? 'daily';
  if (mode !== 'daily' && mode !== 'off') throw new Error(`EDS_SCHEDULE must be "daily" or "off", got "${mode}"`);
  if (mode === 'off' || edsUrl === null) {
    if (env['EDS_SCHEDULE'] === 'daily' && edsUrl === null) throw new Error('EDS_SCHEDULE=daily needs EDS_URL');
    return { edsUrl, schedule: null };
  }
  const at = env['EDS_POLL_AT'] ?? '13:15';
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(at);
  if (m === null) throw new Error(`EDS_POLL_AT must be a local time HH:MM, got "${at}"`);
  const retry = env['EDS_RETRY_MINUTES'] ?? '15';
  if (!/^\d+$/.test(retry) || Number(retry) < 1 || Number(retry) > 24 * 60) throw new Error(`EDS_RETRY_MINUTES must be 1 to 1440, got "${retry}"`);
  return { edsUrl, schedule: { ...DEFAULT_EDS_SCHEDULE, pollAt: { hour: Number(m[1]), minute: Number(m[2]) }, retryMs: Number(retry) * 60_000 } };
}

/**
 * Rates: spot prices, tariffs, taxes and products. Handles the rates commands on `commands.rates`,
 * records DataHub's charge links and price lists (RSM-031/034, `startDataHubChargeIntake`), polls Energi
 * Data Service daily after the day-ahead auction (on the business clock), and runs a standby relay
 * instance like every writing service.
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
        eds !== null && settings.schedule !== null
          ? startEdsSchedule({ store: infrastructure.eventStore, eds, settings: settings.schedule, logger: new Logger('rates-eds-schedule'), clock: () => infrastructure.clock.now() })
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
