import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startDataHubSimulator, type RunningDataHubSimulator } from '@dh/datahub-sim';
import { CommandClient } from '@dh/messaging';
import { loadConfig, openInfrastructure, type Infrastructure } from '@dh/platform';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { startDataHub } from './datahub-integration.service-definition';

const scenario = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../tools/datahub-sim/scenarios/example.json'), 'utf8')) as Record<string, unknown>;
const OUR_GLN = '5799999933318';
/** The simulated day: months away from the wall clock whenever these tests run. */
const SIMULATED_NOW = '2026-04-02T23:30:00Z';

/**
 * datahub-integration on a simulator's clock (`CLOCK_URL`), as in the demo and the simulator stacks: what it
 * stamps on what it receives from DataHub and on what it sends there is business time, the simulated instant,
 * not the wall clock.
 */
describe('datahub-integration on a business clock (CLOCK_URL)', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let sim: RunningDataHubSimulator;
  let infrastructure: Infrastructure;
  let stop: () => Promise<void>;
  let commands: CommandClient;

  /** Within the simulated minute after the jump (the service's clock runs on at wall speed between readings). */
  const onSimulatedClock = (instant: string | Date) => {
    const ms = new Date(instant).getTime();
    expect(ms).toBeGreaterThanOrEqual(Date.parse(SIMULATED_NOW));
    expect(ms).toBeLessThan(Date.parse(SIMULATED_NOW) + 60_000);
  };
  const events = async (type: string) =>
    (await infrastructure.pool.query<{ data: Record<string, unknown>; occurred_at: Date }>('SELECT data, occurred_at FROM event_store.events WHERE type = $1 ORDER BY global_position', [type])).rows;

  beforeAll(async () => {
    db = await createTestDatabase('datahub_business_clock');
    vhost = await createTestVhost('datahub_business_clock');
    sim = await startDataHubSimulator({ port: 0, scenario });
    sim.control.advanceTo(SIMULATED_NOW);
    infrastructure = await openInfrastructure(loadConfig('datahub-integration', 0, { DATABASE_URL: db.url, AMQP_URL: vhost.url, CLOCK_URL: `${sim.url}/sim/clock` }));
    stop = await startDataHub(infrastructure, {
      DATAHUB_URL: sim.url,
      DATAHUB_CLIENT_ID: 'our-supplier',
      DATAHUB_CLIENT_SECRET: 's3cret-our-supplier',
      SUPPLIER_GLN: OUR_GLN,
      DATAHUB_POLL: 'manual',
    });
    commands = new CommandClient({ connection: infrastructure.amqp, defaultTimeoutMs: 20_000 });
    await commands.start();
  }, 60_000);

  afterAll(async () => {
    await commands?.close();
    await stop?.();
    await infrastructure?.close();
    await sim?.stop();
    await vhost?.drop();
    await db?.drop();
  }, 60_000);

  it('stamps the DataHub messages it receives (receivedAt, occurredAt) with the simulated instant', async () => {
    expect(await commands.send('datahub-integration', 'PollDataHub', {})).toMatchObject({ quarantined: 0, errors: 0 });
    const received = [...(await events('DataHubNotificationReceived')), ...(await events('MeteringPointMasterDataReceived')), ...(await events('ValidatedMeasureDataReceived'))];
    expect(received.length).toBeGreaterThan(0);
    for (const event of received) {
      onSimulatedClock(event.data.receivedAt as string);
      onSimulatedClock(event.occurred_at);
    }
  });

  it('stamps the requests it sends to DataHub (sentAt, occurredAt) with the simulated instant', async () => {
    const processId = randomUUID();
    await infrastructure.eventStore.appendToStream(
      `process-${processId}`,
      [
        {
          eventId: randomUUID(),
          type: 'EndOfSupplyRequested',
          data: { processId, gsrn: '571313180400000018', customerId: randomUUID(), effectiveDate: '2026-04-30', businessReason: 'E20', endReason: 'non-payment', at: SIMULATED_NOW },
          metadata: { correlationId: processId, causationId: null, actor: 'test', schemaVersion: 1, context: 'portfolio' },
          occurredAt: new Date(SIMULATED_NOW),
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    const [recorded] = await eventually(async () => {
      const outcomes = [...(await events('DataHubRequestSent')), ...(await events('DataHubRequestRefused'))].filter((e) => e.data.processId === processId);
      expect(outcomes).toHaveLength(1);
      return outcomes;
    }, 20_000);
    onSimulatedClock(recorded!.data.sentAt as string);
    onSimulatedClock(recorded!.occurred_at);
  });
});
