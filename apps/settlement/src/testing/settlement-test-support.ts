import { CommandClient, type RunningConsumer } from '@dh/messaging';
import { loadConfig, openInfrastructure, runEventRelay, type Clock, type Infrastructure } from '@dh/platform';
import { settlementProjection, startProjections } from '@dh/read-models';
import { startSettlementRuntime, type SettlementRuntime, type SettlementRuntimeOptions } from '@dh/settlement-infra';
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from '@dh/testing';

/** The seed helpers live beside the settlement infrastructure, so other apps' tests (the fault-injection suite) use them too. */
export * from '@dh/settlement-infra/testing';

export interface SettlementTestService {
  db: TestDatabase;
  vhost: TestVhost;
  infra: Infrastructure;
  runtime: SettlementRuntime;
  commands: CommandClient;
  stop(): Promise<void>;
}

/**
 * The settlement service's runtime (inputs, two competing workers, commands) on a private database
 * and vhost, with the relay and, when asked, the settlement read model projected.
 */
export async function startSettlementTestService(name: string, options: { projectReadModel?: boolean; runtime?: SettlementRuntimeOptions; clock?: Clock } = {}): Promise<SettlementTestService> {
  const db = await createTestDatabase(name);
  const vhost = await createTestVhost(name);
  const infra = await openInfrastructure(loadConfig('settlement', 0, { DATABASE_URL: db.url, AMQP_URL: vhost.url }));
  // Business time (as CLOCK_URL gives a service a simulator's): the wall clock unless the test brings its own.
  if (options.clock) infra.clock = options.clock;
  // Corrections of publications looked for every 100 ms (the service's default is 500 ms).
  const runtime = await startSettlementRuntime(infra, { workers: 2, ...options.runtime, corrections: { intervalMs: 100, ...options.runtime?.corrections } });
  const stopRelay = await runEventRelay(infra);
  const projections: RunningConsumer[] = options.projectReadModel
    ? await startProjections({ pool: infra.pool, eventStore: infra.eventStore, connection: infra.amqp, projections: [settlementProjection] })
    : [];
  const commands = new CommandClient({ connection: infra.amqp, defaultTimeoutMs: 20_000 });
  await commands.start();
  return {
    db,
    vhost,
    infra,
    runtime,
    commands,
    async stop() {
      await commands.close();
      for (const p of projections) await p.stop();
      await runtime.stop();
      await stopRelay();
      await infra.close();
      await vhost.drop();
      await db.drop();
    },
  };
}

