import { Logger, Module } from '@nestjs/common';
import { DataHubClient } from '@dh/datahub-client';
import { EloverblikClient } from '@dh/eloverblik-client';
import { isValidGsrn } from '@dh/market-ids';
import { BetalingsserviceSftp, DataHubInboxWorker, defaultPriceAreaOf, parseSftpUrl, startBetalingsserviceWorker, type BetalingsserviceWorker, lookupMeteringPoint, MeteringPointNotFoundError, migrateOutboundRequests, outboundProcessResolver, QuarantineStore, ReceivedMessageStore, startOutboundWorker, startResultsRequestSender, type CustomerIdentity } from '@dh/datahub-integration';
import type { JsonValue } from '@dh/event-store';
import { CommandClient, CommandError, CommandServer, type RunningConsumer } from '@dh/messaging';
import { ConfigError, runEventRelay, type Infrastructure, type ServiceDefinition } from '@dh/platform';

@Module({})
class DataHubIntegrationModule {}

interface DataHubSettings {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  scope: string;
  categories: string[];
  continuous: boolean;
  idleDelayMs: number;
  /** `DATAHUB_INBOX_RECORD_FIRST=1`: keep each peeked message in `datahub.received_messages`, dequeue it, store it behind (issue 8; not the default: not shown faster on the shared bench machine). */
  recordFirst: boolean;
  supplierGln: string;
  dataHubGln: string;
}

/**
 * Betalingsservice: `BETALINGSSERVICE_SFTP_URL` (sftp://user:password@host:port) and the creditor's numbers
 * `BETALINGSSERVICE_DATA_SUPPLIER_NUMBER` (CVR/SE), `BETALINGSSERVICE_PBS_NUMBER`, `BETALINGSSERVICE_DEBTOR_GROUP`,
 * `BETALINGSSERVICE_ACCOUNT` (reg.no. + account, `1234-0001234567`); `BETALINGSSERVICE_INTERVAL_MS` (default 60000).
 * Without the URL there is no Betalingsservice exchange (collections wait in the table).
 */
export function betalingsserviceSettings(env: NodeJS.ProcessEnv) {
  const url = env.BETALINGSSERVICE_SFTP_URL;
  if (!url) return null;
  const digits = (name: string, n: number): string => {
    const v = env[name] ?? '';
    if (!new RegExp(`^\\d{1,${n}}$`).test(v)) throw new ConfigError(`${name} must be up to ${n} digits when BETALINGSSERVICE_SFTP_URL is set`);
    return v;
  };
  const [registrationNumber, accountNumber] = (env.BETALINGSSERVICE_ACCOUNT ?? '').split('-');
  if (!registrationNumber || !accountNumber || !/^\d{4}$/.test(registrationNumber) || !/^\d{1,10}$/.test(accountNumber)) throw new ConfigError('BETALINGSSERVICE_ACCOUNT must be reg.no.-account, e.g. 1234-0001234567');
  return {
    sftp: parseSftpUrl(url),
    creditor: {
      dataSupplierNumber: digits('BETALINGSSERVICE_DATA_SUPPLIER_NUMBER', 8),
      pbsNumber: digits('BETALINGSSERVICE_PBS_NUMBER', 8),
      debtorGroup: digits('BETALINGSSERVICE_DEBTOR_GROUP', 5),
      registrationNumber,
      accountNumber,
      dataSupplierIdentification: env.BETALINGSSERVICE_IDENTIFICATION ?? 'DH-CORE',
      headline: env.BETALINGSSERVICE_HEADLINE ?? 'Elregning',
    },
    intervalMs: Number(env.BETALINGSSERVICE_INTERVAL_MS ?? '60000'),
  };
}

/** DataHub B2B settings; the service runs without them (no market connection), e.g. in the walking skeleton. */
export function dataHubSettings(env: NodeJS.ProcessEnv): DataHubSettings | null {
  const baseUrl = env.DATAHUB_URL;
  if (!baseUrl) return null;
  const clientId = env.DATAHUB_CLIENT_ID;
  const clientSecret = env.DATAHUB_CLIENT_SECRET;
  if (!clientId || !clientSecret) throw new ConfigError('DATAHUB_URL needs DATAHUB_CLIENT_ID and DATAHUB_CLIENT_SECRET');
  const supplierGln = env.SUPPLIER_GLN;
  if (!supplierGln || !/^\d{13}$/.test(supplierGln)) throw new ConfigError('DATAHUB_URL needs SUPPLIER_GLN, our 13-digit GLN as a market participant');
  return {
    baseUrl,
    clientId,
    clientSecret,
    scope: env.DATAHUB_SCOPE ?? 'datahub3',
    categories: (env.DATAHUB_CATEGORIES ?? 'masterdata,measuredata,aggregations').split(',').map((c) => c.trim()).filter(Boolean),
    continuous: env.DATAHUB_POLL !== 'manual',
    idleDelayMs: env.DATAHUB_IDLE_MS ? Number(env.DATAHUB_IDLE_MS) : 5000,
    recordFirst: env.DATAHUB_INBOX_RECORD_FIRST === '1',
    supplierGln,
    dataHubGln: env.DATAHUB_GLN ?? '5790001330552',
  };
}

function quarantineView(message: Awaited<ReturnType<QuarantineStore['list']>>[number]): JsonValue {
  return {
    id: message.id,
    receivedAt: message.receivedAt.toISOString(),
    category: message.category,
    messageId: message.messageId,
    contentType: message.contentType,
    reason: message.reason,
    status: message.status,
    attempts: message.attempts,
    resolvedAt: message.resolvedAt?.toISOString() ?? null,
    rawBody: message.rawBody,
    // Exactly as DataHub sent it (the text above shows bytes that are not UTF-8 and NUL characters as U+FFFD).
    rawBytesBase64: message.rawBytes?.toString('base64') ?? null,
  };
}

/** Starts the service's workers and command handlers on `infrastructure` (its clock is business time for all they stamp); returns its stop. */
export async function startDataHub(infrastructure: Infrastructure, env: NodeJS.ProcessEnv): Promise<() => Promise<void>> {
  const logger = new Logger('datahub-integration');
  const settings = dataHubSettings(env);
  const quarantine = new QuarantineStore(infrastructure.pool);
  await quarantine.migrate();
  // Record first, act after (DATAHUB_INBOX_RECORD_FIRST=1): each peeked message is kept here and dequeued, then stored
  // behind the peeking. Copies kept before a switch back to store-before-dequeue are processed: record-first stays on
  // for this start.
  const received = new ReceivedMessageStore(infrastructure.pool);
  await received.migrate();
  const recordFirst = (settings?.recordFirst ?? false) || (await received.hasPending());
  await migrateOutboundRequests(infrastructure.pool);
  let worker: DataHubInboxWorker | null = null;
  let outbound: RunningConsumer | null = null;
  let resultsRequests: { stop(): Promise<void> } | null = null;
  const commands = new CommandClient({ connection: infrastructure.amqp, defaultTimeoutMs: infrastructure.config.commandTimeoutMs });
  await commands.start();
  if (settings) {
    const client = new DataHubClient({ baseUrl: settings.baseUrl, clientId: settings.clientId, clientSecret: settings.clientSecret, scope: settings.scope });
    worker = new DataHubInboxWorker({
      client,
      categories: settings.categories,
      eventStore: infrastructure.eventStore,
      quarantine,
      ...(recordFirst ? { received } : {}),
      resolveProcesses: outboundProcessResolver(infrastructure.pool),
      idleDelayMs: settings.idleDelayMs,
      clock: () => infrastructure.clock.now(),
      onError: (error, stage) => logger.warn(`DataHub inbox ${stage} failed, will retry: ${error instanceof Error ? error.message : String(error)}`),
    });
    infrastructure.healthChecks.push({ name: 'datahub', probe: async () => void (await client.accessToken()) });
    if (settings.continuous) worker.start();
    outbound = await startOutboundWorker({
      pool: infrastructure.pool,
      eventStore: infrastructure.eventStore,
      connection: infrastructure.amqp,
      client,
      parties: { supplierGln: settings.supplierGln, dataHubGln: settings.dataHubGln },
      identityOf: async (processId) => (await commands.send('portfolio', 'GetCustomerIdentityForDataHub', { processId })) as unknown as CustomerIdentity,
      clock: () => infrastructure.clock.now(),
    });
    // RSM-016/017 asked by reconciliation: recorded in the inbox transaction, sent after it.
    resultsRequests = await startResultsRequestSender({
      pool: infrastructure.pool,
      connection: infrastructure.amqp,
      eventStore: infrastructure.eventStore,
      client,
      parties: { supplierGln: settings.supplierGln, dataHubGln: settings.dataHubGln },
      clock: () => infrastructure.clock.now(),
    });
    logger.log(`DataHub B2B at ${settings.baseUrl}, categories ${settings.categories.join(', ')}, ${settings.continuous ? 'polling continuously' : 'polling on command'}${recordFirst ? ', record first' : ''}`);
  } else {
    logger.warn('DATAHUB_URL is not set: no connection to DataHub (commands that need it are refused)');
  }

  const requireWorker = (): DataHubInboxWorker => {
    if (!worker) throw new CommandError('datahub-not-configured', 'This datahub-integration instance has no DataHub connection (DATAHUB_URL is not set)');
    return worker;
  };

  const eloverblik = env.ELOVERBLIK_URL && env.ELOVERBLIK_REFRESH_TOKEN ? new EloverblikClient({ baseUrl: env.ELOVERBLIK_URL, refreshToken: env.ELOVERBLIK_REFRESH_TOKEN }) : null;
  if (!eloverblik) logger.warn('ELOVERBLIK_URL / ELOVERBLIK_REFRESH_TOKEN not set: metering point lookups are refused');
  const priceAreaOf = defaultPriceAreaOf();

  const server = new CommandServer({ connection: infrastructure.amqp });
  await server.handle('datahub-integration', {
    async PollDataHub() {
      const result = await requireWorker().pollOnce();
      return { ...result };
    },
    async LookupMeteringPoint(payload) {
      const gsrn = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? payload.gsrn : undefined;
      if (!isValidGsrn(gsrn)) throw new CommandError('validation', 'gsrn must be 18 digits with a valid GS1 check digit');
      if (!eloverblik) throw new CommandError('eloverblik-not-configured', 'This instance has no Eloverblik connection (ELOVERBLIK_URL is not set)');
      try {
        return await lookupMeteringPoint(eloverblik, gsrn, infrastructure.clock.now(), priceAreaOf);
      } catch (error) {
        if (error instanceof MeteringPointNotFoundError) throw new CommandError('metering-point-not-found', error.message, { gsrn });
        throw error;
      }
    },
    async ListQuarantine(payload) {
      const status = typeof payload === 'object' && payload !== null && !Array.isArray(payload) && typeof payload.status === 'string' ? payload.status : 'quarantined';
      if (status !== 'quarantined' && status !== 'reprocessed' && status !== 'all') throw new CommandError('validation', `status must be quarantined, reprocessed or all, got "${status}"`);
      return (await quarantine.list(status)).map(quarantineView);
    },
    async ReprocessQuarantined(payload) {
      const id = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? Number(payload.id) : Number.NaN;
      if (!Number.isInteger(id)) throw new CommandError('validation', 'id must be an integer');
      const result = await requireWorker().reprocess(id);
      if (result.outcome === 'not-found') throw new CommandError('not-found', `No quarantined message ${id}`);
      return { ...result };
    },
  });
  const bs = betalingsserviceSettings(env);
  let betalingsservice: BetalingsserviceWorker | null = null;
  if (bs) {
    betalingsservice = await startBetalingsserviceWorker({
      pool: infrastructure.pool,
      connection: infrastructure.amqp,
      exchange: infrastructure.config.exchange,
      eventStore: infrastructure.eventStore,
      sftp: new BetalingsserviceSftp(bs.sftp),
      creditor: bs.creditor,
      clock: () => infrastructure.clock.now(),
      send: (command, payload) => commands.send('settlement', command, payload),
      intervalMs: Number.isInteger(bs.intervalMs) && bs.intervalMs >= 0 ? bs.intervalMs : 60_000,
      logger,
    });
    logger.log(`Betalingsservice over SFTP at ${bs.sftp.host}:${bs.sftp.port}, PBS no. ${bs.creditor.pbsNumber}`);
  } else {
    logger.warn('BETALINGSSERVICE_SFTP_URL not set: no Betalingsservice deliveries (collections wait)');
  }
  const stopRelay = await runEventRelay(infrastructure);
  return async () => {
    await betalingsservice?.stop();
    await server.close();
    await outbound?.stop();
    await resultsRequests?.stop();
    await worker?.stop();
    await commands.close();
    await stopRelay();
  };
}

/** DataHub 3 B2B: token, peek → store events → dequeue, quarantine; Eloverblik; Betalingsservice files over SFTP. */
export const datahubIntegrationService: ServiceDefinition = {
  name: 'datahub-integration',
  defaultPort: 3002,
  module: () => ({ module: DataHubIntegrationModule }),
  start: (infrastructure) => startDataHub(infrastructure, process.env),
};
