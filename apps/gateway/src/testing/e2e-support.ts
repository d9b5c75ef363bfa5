import { connect, type ConsumeMessage } from 'amqplib';
import { Pool } from 'pg';
import { ApiKeyStore, migrateAuth } from '@dh/auth';
import { apiKeyHeader, createTestApiKey, testAuthIssuersEnv } from '@dh/auth/testing';
import { startDataHubSimulator, type RunningDataHubSimulator } from '@dh/datahub-sim';
import { dataHubScenario, eloverblikScenario, simulatorEnv } from '@dh/demo-world';
import { startEloverblikSimulator, type RunningEloverblikSimulator } from '@dh/eloverblik-sim';
import { AmqpConnection, CommandClient, silentMessagingLogger } from '@dh/messaging';
import { startServiceProcess, type ServiceProcess } from '@dh/platform';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';

/**
 * Puts a product in the catalogue the way a back office does (a command to the rates service) and
 * waits until the gateway's read model has it: CRM may only sell products in the catalogue.
 */
export async function defineProduct(amqpUrl: string, pool: Pool, productId = 'standard'): Promise<void> {
  const amqp = new AmqpConnection({ url: amqpUrl, logger: silentMessagingLogger });
  await amqp.connect();
  const commands = new CommandClient({ connection: amqp, defaultTimeoutMs: 15_000 });
  try {
    await commands.start();
    await commands.send('rates', 'DefineProduct', { productId, name: 'Standard spot', marginDkkPerKwh: '0.0495', monthlySubscriptionDkk: '29.00', validFrom: '2026-01-01' });
  } finally {
    await commands.close();
    await amqp.close();
  }
  await eventually(async () => expect((await pool.query(`SELECT 1 FROM read_models.portal_products WHERE product_id = $1`, [productId])).rowCount).toBe(1), 20_000, 200);
}

export interface BusObserver {
  /** Every message published on `domain.events` since the observer started, in arrival order. */
  messages: ConsumeMessage[];
  /** The envelopes published with this routing key. */
  withKey(routingKey: string): { data: Record<string, unknown> }[];
  close(): Promise<void>;
}

/** An external subscriber: an exclusive queue bound to every routing key on the event exchange. */
export async function observeBus(amqpUrl: string): Promise<BusObserver> {
  const connection = await connect(amqpUrl);
  const channel = await connection.createChannel();
  await channel.assertExchange('domain.events', 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, 'domain.events', '#');
  const messages: ConsumeMessage[] = [];
  await channel.consume(queue, (m) => m && messages.push(m), { noAck: true });
  return {
    messages,
    withKey: (routingKey) => messages.filter((m) => m.fields.routingKey === routingKey).map((m) => JSON.parse(m.content.toString()) as { data: Record<string, unknown> }),
    close: () => connection.close(),
  };
}

export interface MarketStack {
  db: TestDatabase;
  vhost: TestVhost;
  pool: Pool;
  dataHub: RunningDataHubSimulator;
  eloverblik: RunningEloverblikSimulator;
  bus: BusObserver;
  /** API key headers of a CRM system. */
  crm: Record<string, string>;
  gateway: ServiceProcess;
  /**
   * Moves both simulators' clocks (which every service follows) and gives the services time to see it (300 ms for
   * polls every 100 ms: a bet, not a guarantee). DataHub's documents for the dates passed are queued at the jump
   * itself, so portfolio may handle them before its clock has followed; it then confirms the process on its next
   * effective-date check, every second in this stack (`simulatorEnv`), not the default minute.
   */
  advanceTo(instant: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The CRM-facing stack against the market simulators: a private database and vhost, the DataHub
 * and Eloverblik simulators of the demo world from 2026-03-20, portfolio, projections,
 * datahub-integration, rates and gateway as processes, a CRM API key and the "standard" product.
 */
export async function startMarketStack(options: { name: string; forcedSwitchDate: string }): Promise<MarketStack> {
  const start = '2026-03-20T09:00:00Z';
  const db = await createTestDatabase(options.name);
  const vhost = await createTestVhost(options.name);
  const pool = new Pool({ connectionString: db.url });
  await migrateAuth(pool);
  const crm = apiKeyHeader((await createTestApiKey(new ApiKeyStore(pool), { consumer: 'crm' })).key);
  const dataHub = await startDataHubSimulator({ port: 0, scenario: dataHubScenario({ start, forcedSwitchDate: options.forcedSwitchDate }) });
  const eloverblik = await startEloverblikSimulator({ port: 0, scenario: eloverblikScenario({ now: start }) });
  const bus = await observeBus(vhost.url);
  const services: ServiceProcess[] = [];
  const stop = async () => {
    await Promise.all(services.map((s) => s.stop()));
    await bus.close();
    await dataHub.stop();
    await eloverblik.stop();
    await pool.end();
    await vhost.drop();
    await db.drop();
  };
  try {
    const env = {
      DATABASE_URL: db.url,
      AMQP_URL: vhost.url,
      AUTH_ISSUERS: testAuthIssuersEnv(),
      COMMAND_TIMEOUT_MS: '15000',
      ...simulatorEnv({ dataHub: dataHub.url, eloverblik: eloverblik.apiBaseUrl }),
    };
    for (const name of ['portfolio', 'projections', 'datahub-integration', 'rates', 'gateway']) services.push(await startServiceProcess(name, env));
    await defineProduct(vhost.url, pool);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    db,
    vhost,
    pool,
    dataHub,
    eloverblik,
    bus,
    crm,
    gateway: services[services.length - 1]!,
    async advanceTo(instant) {
      dataHub.control.advanceTo(instant);
      eloverblik.control.setNow(new Date(instant));
      await new Promise((resolve) => setTimeout(resolve, 300)); // services follow the simulated clock every 100 ms
    },
    stop,
  };
}
