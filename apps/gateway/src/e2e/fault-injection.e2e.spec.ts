import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as path from 'node:path';
import { Pool } from 'pg';
import { ApiKeyStore, migrateAuth } from '@dh/auth';
import { apiKeyHeader, createTestApiKey, testAuthIssuersEnv } from '@dh/auth/testing';
import { startDataHubSimulator, type RunningDataHubSimulator } from '@dh/datahub-sim';
import { createPostgresEventStore } from '@dh/event-store';
import { CommandClient, silentMessagingLogger } from '@dh/messaging';
import { loadConfig, openInfrastructure, REPO_ROOT, startServiceProcess, survivingConnectionLoss, type Infrastructure, type ServiceProcess } from '@dh/platform';
import { customersProjection, projectionChecksum, rebuildProjections, settlementProjection } from '@dh/read-models';
import { invoiceIdOf } from '@dh/settlement-application';
import { gsrn, meteredPayload, OCTOBER_2026, seedFlatSpotPrices, seedRadiusGridArea, seedTaxAndSpotProduct, settlementTestHelpers, startSpotSupply } from '@dh/settlement-infra/testing';
import { eventually, mulberry32, startPrivatePostgres, startPrivateRabbitMq, type PrivatePostgres, type PrivateRabbitMq } from '@dh/testing';

/** Advisory-lock namespace of the relay (`libs/messaging/src/relay.ts`): its holder is the active relay. */
const RELAY_LOCK_NAMESPACE = 0x64687231;
const CLIENTS = 3;
const CLIENT_TIMEOUT_MS = 12_000;
const SERVICES = ['portfolio', 'projections', 'gateway', 'datahub-integration', 'rates', 'settlement', 'reconciliation'] as const;
/** Metering points of the settlement run that is worked off while settlement is killed. */
const METERING_POINTS = 60;
const SUPPLIER_GLN = '5799999933318';
const scenario = JSON.parse(readFileSync(path.resolve(REPO_ROOT, 'tools/datahub-sim/scenarios/example.json'), 'utf8')) as Record<string, unknown>;

interface Attempt {
  status: number | 'timeout' | 'network';
  problemType?: string;
  retryAfter?: string | null;
  ms: number;
}

interface LogicalCreate {
  key: string;
  attempts: Attempt[];
  id?: string;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Every random choice of the suite comes from this seed: printed at the start, in the test's name and in the report;
 * `FAULT_SEED=<n>` replays the same choices (the order of the kills, each kill's moment, the pauses between faults).
 * Timing on a loaded machine still differs from run to run, so a replay reproduces the plan, not every interleaving.
 */
const SEED = ((): number => {
  const given = process.env.FAULT_SEED;
  if (given === undefined || given === '') return randomInt(0, 2 ** 32 - 1);
  const n = Number(given);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new Error(`FAULT_SEED must be an integer in [0, 2^32), got "${given}"`);
  return n;
})();
/** The fault plan's stream, drawn in a fixed order by the test's sequential code only. */
const random = mulberry32(SEED);
/** The clients' pauses: their own stream (three clients interleave on the event loop, which no seed fixes). */
const clientRandom = mulberry32(SEED ^ 0x5bd1e995);
const between = (next: () => number, min: number, max: number) => min + Math.floor(next() * (max - min));
const jitter = (min: number, max: number) => between(random, min, max);

/** Where in datahub-integration's peek → store → dequeue loop it is killed. */
type DataHubMoment =
  /** DataHub's answer to the peek of the message is on its way (held): nothing of it stored. */
  | 'peek'
  /** The peek answered; killed after a random delay while the service parses and stores (its dequeue, if sent by then, held). */
  | 'store'
  /** Stored, its dequeue sent and held: DataHub not told. */
  | 'dequeue'
  /** DataHub dequeued it, its answer held: the service never learnt. */
  | 'dequeued';
const DATAHUB_MOMENTS: readonly DataHubMoment[] = ['peek', 'store', 'dequeue', 'dequeued'];

const PROCESS_KILLS = ['relay-holder', 'projections', 'portfolio', 'settlement', 'datahub-integration'] as const;

/** The whole plan, drawn from the seed before anything runs. */
function drawPlan() {
  const order: (typeof PROCESS_KILLS)[number][] = [...PROCESS_KILLS];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return {
    /** The order of the five process kills (the broker and database restarts follow them). */
    order,
    /**
     * Settlement: killed this long after the run's items are scheduled, or at once when two thirds are invoiced, so the
     * run is never over at the kill. The two workers commit up to 20 items per transaction, so the invoice count moves
     * in steps of up to 40 (a count to wait for would nearly always mean the first step): a delay lands anywhere in
     * the batches in hand; on a quiet machine the first 40 take 1-2 s, on a loaded one several.
     */
    settlement: { delayMs: jitter(0, 2500) },
    /** DataHub: which of the delivered messages (a fraction of them), at which moment of the loop, and the delay of the 'store' moment. */
    datahub: { messageFraction: random(), moment: DATAHUB_MOMENTS[Math.floor(random() * DATAHUB_MOMENTS.length)]!, delayMs: jitter(0, 400) },
  };
}

/**
 * The fault-injection suite: all seven services on a PostgreSQL cluster and a RabbitMQ node of the
 * test's own (other ports; the machine's own servers are never touched) while clients stream customer
 * creations through the gateway, each with an Idempotency-Key and retried on 503 (after Retry-After),
 * 504 and 409-in-progress. Faults, in a random order and at random moments (a seeded plan: FAULT_SEED):
 * kill -9 of the relay holder, of projections, of the command handler (portfolio), of settlement and of
 * datahub-integration, each restarted; then a stop and start of the RabbitMQ node, a stop and start and a
 * crash restart of the PostgreSQL cluster, and a kill -9 of the RabbitMQ node. Settlement is killed at a
 * random moment while a month's run over 60 metering points is worked off (items in hand), and
 * datahub-integration at a random point of its peek → store → dequeue loop for a random message (a proxy in
 * front of the DataHub simulator holds the peek's answer, the dequeue or the dequeue's answer). Then: every
 * request answered in time (none hung), every refusal a 503 problem+json with Retry-After (or a 504 for a
 * command whose service was down), every logical creation exactly one customer, events written = events
 * projected (0 lost, 0 doubled), every invoice of the run exactly once, every DataHub message stored once
 * and dequeued, and the read models' checksums (customers, settlement) equal to a clean rebuild's.
 */
describe('fault injection: kill -9, broker and database restarts under a stream of commands', () => {
  let pg: PrivatePostgres;
  let rabbit: PrivateRabbitMq;
  let pool: Pool;
  let env: Record<string, string>;
  let crm: Record<string, string>;
  const services = new Map<string, ServiceProcess>();
  const creates: LogicalCreate[] = [];
  const faults: { fault: string; at: number; recoveredMs: number }[] = [];
  let streaming = true;
  let started = 0;
  // The settlement run: its metering points, their customers, the invoices at the kill.
  let infra: Infrastructure;
  let commands: CommandClient;
  const points = Array.from({ length: METERING_POINTS }, (_, i) => gsrn(200 + i));
  const customers = points.map(() => randomUUID());
  const plan = drawPlan();
  const settlementKill = { delayMs: 0, killedBy: '', doneAtKill: 0, afterKill: 0, openTransactionsAtKill: 0 };
  // DataHub: the simulator behind a proxy that holds one peek's answer, one dequeue or one dequeue's answer at the planned moment.
  let sim: RunningDataHubSimulator;
  let proxy: Server;
  /** Armed for the DataHub kill: counts the messages peeked (200) and dequeued since, and says when the moment is reached. */
  let trap: { message: number; moment: DataHubMoment; delayMs: number; peeks: number; dequeues: number; reached: () => void; sprung: boolean } | null = null;
  let killedAt: string | null = null;
  let holdDequeueOf: string | null = null;
  const heldSockets: Socket[] = [];
  let delivered = 0;
  const datahubKill = { message: 0, storedAtKill: 0 };

  /** The planned moment of the DataHub kill is reached: the kill waits for this. */
  function spring(messageId: string, socket: Socket | null, afterMs = 0): void {
    if (!trap || trap.sprung) return;
    trap.sprung = true;
    killedAt = messageId;
    if (socket) heldSockets.push(socket);
    const reached = trap.reached;
    if (afterMs > 0) setTimeout(reached, afterMs);
    else reached();
  }

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const dequeue = req.method === 'DELETE' && req.url?.startsWith('/v1.0/cim/dequeue/');
    const peek = req.method === 'GET' && req.url?.toLowerCase().startsWith('/v1.0/cim/');
    if (dequeue) {
      const messageId = decodeURIComponent(req.url!.slice('/v1.0/cim/dequeue/'.length));
      // 'store': the kill is on its delay; if the dequeue comes first it is held, so the kill stays before it.
      if (messageId === holdDequeueOf) {
        heldSockets.push(req.socket);
        return;
      }
      if (trap && !trap.sprung && ++trap.dequeues === trap.message && trap.moment === 'dequeue') {
        // Stored, not yet dequeued: the request is held (DataHub never hears of it) until the process is killed.
        heldSockets.push(req.socket);
        spring(messageId, null);
        return;
      }
    }
    const holdAnswer = (() => {
      if (!trap || trap.sprung) return null;
      if (dequeue && trap.moment === 'dequeued' && trap.dequeues === trap.message) return 'dequeued' as const;
      return peek ? ('peek' as const) : null;
    })();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers[name] = value;
    const answer = await fetch(`${sim.url}${req.url}`, { method: req.method, headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) });
    const body = Buffer.from(await answer.arrayBuffer());
    if (holdAnswer === 'dequeued') {
      // DataHub dequeued it; the service never hears so before it dies.
      spring(decodeURIComponent(req.url!.slice('/v1.0/cim/dequeue/'.length)), req.socket);
      return;
    }
    const peekedId = answer.status === 200 ? answer.headers.get('messageid') : null;
    if (holdAnswer === 'peek' && peekedId && trap && !trap.sprung && ++trap.peeks === trap.message) {
      if (trap.moment === 'peek') {
        spring(peekedId, req.socket);
        return;
      }
      // 'store': answered now, killed after the planned delay while the service parses and stores it.
      if (trap.moment === 'store') {
        holdDequeueOf = peekedId;
        spring(peekedId, null, trap.delayMs);
      }
    }
    const out: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      if (name !== 'content-length' && name !== 'transfer-encoding' && name !== 'connection') out[name] = value;
    });
    res.writeHead(answer.status, out);
    res.end(body);
  }
  const queuedAtDataHub = (): number => Object.values(sim.control.queueDepths()[SUPPLIER_GLN] ?? {}).reduce((a, b) => a + b, 0);

  async function start(name: string): Promise<void> {
    services.set(name, await startServiceProcess(name, env, 90_000));
  }

  async function kill(name: string): Promise<void> {
    const victim = services.get(name)!;
    victim.child.kill('SIGKILL');
    await new Promise<void>((resolve) => (victim.child.exitCode !== null || victim.child.signalCode !== null ? resolve() : victim.child.once('exit', () => resolve())));
    expect(victim.child.signalCode).toBe('SIGKILL');
  }

  async function killAndRestart(name: string): Promise<void> {
    await kill(name);
    await pause(jitter(200, 1500));
    await start(name);
  }

  const count = async (sql: string) => Number((await pool.query<{ n: string }>(sql)).rows[0]!.n);
  const invoiced = () => count(`SELECT count(*) AS n FROM event_store.events WHERE type = 'InvoiceIssued'`);

  /**
   * Starts the month's run and kills settlement at a random moment while its items are worked off: the planned delay
   * after the items are scheduled, or at once when two thirds are invoiced, whichever comes first (the last third is
   * then in hand). The run must not be over at the kill.
   */
  async function killSettlementMidRun(): Promise<void> {
    const run = (await commands.send('settlement', 'StartSettlementRun', { period: OCTOBER_2026 }, { actor: 'test', timeoutMs: 20_000 })) as { items: number };
    expect(run.items).toBe(METERING_POINTS);
    const scheduled = Date.now();
    const guard = (METERING_POINTS * 2) / 3;
    for (;;) {
      settlementKill.doneAtKill = await invoiced();
      const waited = Date.now() - scheduled;
      if (settlementKill.doneAtKill >= guard || waited >= plan.settlement.delayMs) {
        settlementKill.killedBy = settlementKill.doneAtKill >= guard ? 'two-thirds-invoiced' : 'delay';
        break;
      }
      await pause(Math.min(20, plan.settlement.delayMs - waited));
    }
    settlementKill.delayMs = Date.now() - scheduled;
    // Evidence of items in hand: the settlement process's database sessions inside a transaction at the kill.
    settlementKill.openTransactionsAtKill = await count(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE 'settlement%' AND xact_start IS NOT NULL`);
    await kill('settlement');
    settlementKill.afterKill = await invoiced();
    expect(settlementKill.afterKill).toBeLessThan(METERING_POINTS);
    await pause(jitter(200, 1500));
    await start('settlement');
  }

  const storedDocuments = () => count(`SELECT count(DISTINCT stream_id) AS n FROM event_store.events WHERE stream_id LIKE 'datahub-document-%'`);

  /**
   * Lets DataHub deliver a forced switch's messages and kills datahub-integration at the planned moment of its
   * peek → store → dequeue loop for the planned message; then checks what that moment means: stored or not, and
   * whether DataHub still has it.
   */
  async function killDataHubIntegrationInItsLoop(): Promise<void> {
    const storedBefore = await storedDocuments();
    let reached!: () => void;
    const moment = new Promise<void>((resolve) => (reached = resolve));
    // Armed and the clock moved in the same tick: the proxy sees no message of this delivery before the trap.
    sim.control.advanceTo(new Date('2026-04-06T23:30:00Z'));
    delivered = queuedAtDataHub();
    expect(delivered).toBeGreaterThanOrEqual(4);
    const message = 1 + Math.floor(plan.datahub.messageFraction * delivered);
    trap = { message, moment: plan.datahub.moment, delayMs: plan.datahub.delayMs, peeks: 0, dequeues: 0, reached, sprung: false };
    await Promise.race([moment, pause(60_000).then(() => Promise.reject(new Error(`DataHub kill: moment ${plan.datahub.moment} of message ${message} not reached in 60 s`)))]);
    await kill('datahub-integration');
    for (const socket of heldSockets.splice(0)) socket.destroy();
    // What the moment means for the message it died on.
    const stored = (await storedDocuments()) - storedBefore;
    const expected: Record<DataHubMoment, number[]> = { peek: [message - 1], store: [message - 1, message], dequeue: [message], dequeued: [message] };
    expect({ moment: plan.datahub.moment, message, stored: expected[plan.datahub.moment].includes(stored) }).toEqual({ moment: plan.datahub.moment, message, stored: true });
    expect(queuedAtDataHub()).toBe(delivered - (plan.datahub.moment === 'dequeued' ? message : message - 1));
    datahubKill.message = message;
    datahubKill.storedAtKill = stored;
    trap = null;
    holdDequeueOf = null;
    await pause(jitter(200, 1500));
    await start('datahub-integration');
  }

  async function relayHolder(): Promise<string> {
    const { rows } = await pool.query<{ application_name: string }>(
      `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1`,
      [RELAY_LOCK_NAMESPACE],
    );
    return rows[0]?.application_name ?? 'portfolio';
  }

  async function allReady(): Promise<void> {
    for (const [name, service] of services) {
      await eventually(async () => {
        if (service.child.exitCode !== null) throw new Error(`${name} exited\n${service.output().slice(-3000)}`);
        const res = await fetch(`${service.url}/health/ready`, { signal: AbortSignal.timeout(5000) });
        // The readiness body names what is not ready (a dependency, a halted consumer), shown if it stays so.
        expect({ name, status: res.status, body: res.status === 200 ? '' : (await res.text()).slice(0, 2000) }).toEqual({ name, status: 200, body: '' });
      }, 90_000, 250);
    }
  }

  async function inject(fault: string, action: () => Promise<void>): Promise<void> {
    const at = Date.now();
    await action();
    await allReady();
    faults.push({ fault, at: at - started, recoveredMs: Date.now() - at });
    await pause(jitter(1000, 3000));
  }

  /** One logical creation: retried with the same Idempotency-Key until it succeeds. */
  async function createCustomer(n: number): Promise<void> {
    const logical: LogicalCreate = { key: `fault-create-${n}`, attempts: [] };
    creates.push(logical);
    for (let attempt = 0; attempt < 40; attempt++) {
      const t0 = Date.now();
      try {
        const res = await fetch(`${services.get('gateway')!.url}/api/customers`, {
          method: 'POST',
          headers: { ...crm, 'content-type': 'application/json', 'idempotency-key': logical.key },
          body: JSON.stringify({ customer_name: `Fault Customer ${n}`, email: `fault${n}@example.dk`, customer_type: 'business', cvr: '13585628' }),
          signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
        });
        const body = (await res.json().catch(() => ({}))) as { id?: string; type?: string };
        logical.attempts.push({ status: res.status, problemType: body.type, retryAfter: res.headers.get('retry-after'), ms: Date.now() - t0 });
        if (res.status === 201) {
          logical.id = body.id;
          return;
        }
        const retryAfter = Number(res.headers.get('retry-after') ?? '1');
        await pause(Math.min(5, Number.isFinite(retryAfter) ? retryAfter : 1) * 1000);
      } catch (error) {
        const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
        logical.attempts.push({ status: timedOut ? 'timeout' : 'network', ms: Date.now() - t0 });
        await pause(1000);
      }
    }
  }

  async function client(first: number): Promise<void> {
    for (let n = first; streaming; n += CLIENTS) {
      await createCustomer(n);
      await pause(between(clientRandom, 50, 250));
    }
  }

  beforeAll(async () => {
    process.stdout.write(`fault-injection: seed ${SEED} (replay with FAULT_SEED=${SEED}), plan ${JSON.stringify(plan)}\n`);
    pg = await startPrivatePostgres();
    rabbit = await startPrivateRabbitMq();
    const databaseUrl = await pg.createDatabase('dh');
    pool = survivingConnectionLoss(new Pool({ connectionString: databaseUrl, max: 3 }), silentMessagingLogger);
    await migrateAuth(pool);
    crm = apiKeyHeader((await createTestApiKey(new ApiKeyStore(pool), { consumer: 'crm' })).key);
    sim = await startDataHubSimulator({ port: 0, scenario });
    proxy = createServer((req, res) => {
      forward(req, res).catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    env = {
      DATABASE_URL: databaseUrl,
      AMQP_URL: rabbit.url,
      COMMAND_TIMEOUT_MS: '5000',
      AUTH_ISSUERS: testAuthIssuersEnv(),
      RATE_LIMITS: 'off',
      LOG_FORMAT: 'json',
      SETTLEMENT_WORKERS: '2',
      // Up to 5 items per worker transaction (the service's default is 100): the 60 points' invoices commit 5 at a
      // time per worker, so the kill at two thirds finds the run unfinished with items in hand. With 20 per
      // transaction the 60 points were three transactions: the third could commit between the guard's count of 40
      // and the kill, and the run was finished when it was killed (seed 2632233096).
      SETTLEMENT_WORK_BATCH_SIZE: '5',
      // Runs are started by the test only (the scheduler and the halt retry are on by default in the service).
      SETTLEMENT_SCHEDULE_INTERVAL_MS: '0',
      SETTLEMENT_HALT_RETRY_INTERVAL_MS: '0',
      DATAHUB_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      DATAHUB_CLIENT_ID: 'our-supplier',
      DATAHUB_CLIENT_SECRET: 's3cret-our-supplier',
      SUPPLIER_GLN,
      DATAHUB_IDLE_MS: '200',
    };
    for (const name of SERVICES) await start(name);

    // A month of prices and metered data for the settlement run of the settlement kill.
    infra = await openInfrastructure(loadConfig('fault-injection-test', 0, { DATABASE_URL: databaseUrl, AMQP_URL: rabbit.url }));
    commands = new CommandClient({ connection: infra.amqp, defaultTimeoutMs: 20_000 });
    await commands.start();
    const helpers = settlementTestHelpers(() => infra, () => commands);
    await seedRadiusGridArea(helpers);
    await seedTaxAndSpotProduct(helpers, { normal: '0.01', reduced: '0.01' });
    await seedFlatSpotPrices(helpers, '2026-10-01', '2026-11-01');
    for (const [i, g] of points.entries()) {
      await startSpotSupply(helpers, g, customers[i]!);
      await helpers.send('RecordMeteredData', meteredPayload(g, `doc-fault-${i}`, '2026-10-01', '2026-11-01', () => '1.000'));
    }
    await eventually(async () => {
      expect(await count(`SELECT count(*) AS n FROM settlement.metered_data`)).toBe(31 * METERING_POINTS);
      expect(await count(`SELECT count(*) AS n FROM settlement.supplies`)).toBe(METERING_POINTS);
      expect(await count(`SELECT count(*) AS n FROM settlement.spot_prices`)).toBe(745);
    }, 120_000, 250);
  }, 420_000);

  afterAll(async () => {
    streaming = false;
    await commands?.close();
    await Promise.all([...services.values()].map((s) => s.stop()));
    await infra?.close();
    await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
    await sim?.stop();
    await pool?.end();
    await rabbit?.destroy();
    await pg?.destroy();
  }, 120_000);

  it(`loses nothing, doubles nothing, and answers every client in time with a success or a 503 (seed ${SEED})`, async () => {
    started = Date.now();
    const clients = Array.from({ length: CLIENTS }, (_, i) => client(i));
    await pause(2000);
    for (const victim of plan.order) {
      if (victim === 'relay-holder') {
        const holder = await relayHolder();
        await inject(`kill -9 the relay holder (${holder})`, () => killAndRestart(holder));
      } else if (victim === 'settlement') {
        await inject('kill -9 settlement mid-run (items in hand)', () => killSettlementMidRun());
      } else if (victim === 'datahub-integration') {
        await inject(`kill -9 datahub-integration in its loop (${plan.datahub.moment})`, () => killDataHubIntegrationInItsLoop());
      } else {
        await inject(`kill -9 ${victim}${victim === 'portfolio' ? ' (command handler) mid-stream' : ''}`, () => killAndRestart(victim));
      }
    }
    await inject('stop and start the RabbitMQ node', async () => {
      await rabbit.stop();
      await pause(jitter(1000, 3000));
      await rabbit.start();
    });
    await inject('stop and start the PostgreSQL cluster', async () => {
      await pg.stop('fast');
      await pause(jitter(1000, 3000));
      await pg.start();
    });
    await inject('crash restart of the PostgreSQL cluster (immediate stop)', () => pg.restart('immediate'));
    await inject('kill -9 the RabbitMQ node', async () => {
      await rabbit.kill();
      await pause(jitter(500, 1500));
      await rabbit.start();
    });
    streaming = false;
    await Promise.all(clients);
    const streamedMs = Date.now() - started;

    // Every logical creation ended in exactly one customer; every refusal on the way was a 503 with Retry-After, a 504 or a 409 in progress.
    const attempts = creates.flatMap((c) => c.attempts);
    const unfinished = creates.filter((c) => !c.id).map((c) => `${c.key}: ${JSON.stringify(c.attempts)}`);
    expect(unfinished).toEqual([]);
    const hung = attempts.filter((a) => a.status === 'timeout' || a.ms > CLIENT_TIMEOUT_MS);
    const unexpected = attempts.filter(
      (a) =>
        !(a.status === 201 || (a.status === 503 && a.retryAfter !== null && a.problemType !== undefined) || (a.status === 504 && a.problemType?.endsWith('upstream-timeout')) || (a.status === 409 && a.problemType?.endsWith('idempotency-key-in-progress'))),
    );
    expect(hung).toEqual([]);
    expect(unexpected).toEqual([]);
    const ids = creates.map((c) => c.id!);
    expect(new Set(ids).size).toBe(creates.length);

    // Events written = events projected, 0 lost, 0 doubled. Customers come from the clients and, through the
    // forced switch DataHub delivered, from portfolio's onboarding: each CustomerCreated is one row.
    const customersWritten = () => count(`SELECT count(*) AS n FROM event_store.events WHERE type = 'CustomerCreated'`);
    await eventually(async () => expect(await count('SELECT count(*) AS n FROM read_models.customers')).toBe(await customersWritten()), 90_000, 500);
    const written = Number(
      (await pool.query<{ n: string }>(`SELECT count(*) AS n FROM event_store.events WHERE type = 'CustomerCreated' AND data->>'customerId' = ANY($1::text[])`, [ids])).rows[0]!.n,
    );
    expect(written).toBe(creates.length);
    const projected = await pool.query<{ customer_id: string }>('SELECT customer_id::text FROM read_models.customers');
    expect(projected.rowCount).toBe(await customersWritten());
    const projectedIds = new Set(projected.rows.map((r) => r.customer_id));
    expect(ids.filter((id) => !projectedIds.has(id))).toEqual([]);
    const inboxDoubles = await count(`SELECT count(*) AS n FROM (SELECT consumer, event_id FROM messaging.inbox GROUP BY 1, 2 HAVING count(*) > 1) d`);
    expect(inboxDoubles).toBe(0);

    // The run settlement was killed in completed: one invoice per metering point, the one its id says, each once.
    await eventually(async () => expect(await count(`SELECT count(*) AS n FROM event_store.events WHERE type = 'SettlementCompleted'`)).toBe(1), 120_000, 250);
    const issued = await pool.query<{ gsrn: string; invoice_id: string; n: string }>(
      `SELECT data->>'gsrn' AS gsrn, data->>'invoiceId' AS invoice_id, count(*)::text AS n FROM event_store.events WHERE type = 'InvoiceIssued' GROUP BY 1, 2 ORDER BY 1`,
    );
    expect(issued.rows).toHaveLength(METERING_POINTS);
    expect(issued.rows.filter((r) => r.n !== '1')).toEqual([]);
    expect(new Map(issued.rows.map((r) => [r.gsrn, r.invoice_id]))).toEqual(new Map(points.map((g, i) => [g, invoiceIdOf(g, OCTOBER_2026, customers[i]!)])));
    expect(await invoiced()).toBe(METERING_POINTS);
    expect(await count(`SELECT count(*) AS n FROM settlement.run_items`)).toBe(METERING_POINTS);
    expect(await count(`SELECT count(*) AS n FROM event_store.events WHERE type = 'SettlementHaltedForMeteringPoint'`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM (SELECT consumer, event_id FROM settlement.inbox GROUP BY 1, 2 HAVING count(*) > 1) d`)).toBe(0);

    // DataHub: every delivered message stored once (one document stream each, the one it died on among them) and dequeued, nothing quarantined.
    await eventually(() => expect(queuedAtDataHub()).toBe(0), 60_000, 250);
    await eventually(async () => expect(await count(`SELECT count(DISTINCT stream_id) AS n FROM event_store.events WHERE stream_id LIKE 'datahub-document-%'`)).toBe(delivered), 30_000, 250);
    const causations = await pool.query<{ message_id: string; documents: string }>(
      `SELECT metadata->>'causationId' AS message_id, count(DISTINCT stream_id)::text AS documents FROM event_store.events WHERE stream_id LIKE 'datahub-document-%' GROUP BY 1`,
    );
    expect(causations.rows.filter((r) => r.documents !== '1')).toEqual([]);
    expect(causations.rows.map((r) => r.message_id)).toContain(killedAt);
    expect(await count(`SELECT count(*) AS n FROM datahub.quarantine`)).toBe(0);
    expect(sim.control.stats()).toMatchObject({ dequeues: delivered });

    // The live read models equal a clean rebuild from the event store.
    for (const service of services.values()) await service.stop();
    const checked = [customersProjection, settlementProjection];
    const checksums = async () => {
      const client = await pool.connect();
      try {
        const out: Record<string, string> = {};
        for (const projection of checked) out[projection.name] = await projectionChecksum(projection, client);
        return out;
      } finally {
        client.release();
      }
    };
    const live = await checksums();
    const store = await createPostgresEventStore({ pool });
    await rebuildProjections(pool, store, checked);
    await store.close();
    const rebuilt = await checksums();
    expect(rebuilt).toEqual(live);

    const byStatus = new Map<string, number>();
    for (const a of attempts) byStatus.set(String(a.status), (byStatus.get(String(a.status)) ?? 0) + 1);
    const report = {
      streamedSeconds: Math.round(streamedMs / 1000),
      logicalCreates: creates.length,
      requests: attempts.length,
      answers: Object.fromEntries(byStatus),
      retriedCreates: creates.filter((c) => c.attempts.length > 1).length,
      slowestAnswerMs: Math.max(...attempts.map((a) => a.ms)),
      eventsWritten: written,
      eventsProjected: ids.filter((id) => projectedIds.has(id)).length,
      lost: ids.filter((id) => !projectedIds.has(id)).length,
      doubled: written - creates.length,
      customersFromDataHub: (projected.rowCount ?? 0) - creates.length,
      checksumsEqualRebuild: JSON.stringify(rebuilt) === JSON.stringify(live),
      seed: SEED,
      plan,
      settlement: {
        meteringPoints: METERING_POINTS,
        killedAfterMs: settlementKill.delayMs,
        killedBy: settlementKill.killedBy,
        invoicedAtKill: settlementKill.doneAtKill,
        invoicedAfterKill: settlementKill.afterKill,
        openTransactionsAtKill: settlementKill.openTransactionsAtKill,
        invoices: issued.rowCount,
      },
      datahub: { messagesDelivered: delivered, moment: plan.datahub.moment, message: datahubKill.message, storedAtKill: datahubKill.storedAtKill, killedOn: killedAt },
      faults,
    };
    // The figures of docs/reliability.md come from this file.
    writeFileSync(path.join(REPO_ROOT, 'dist', 'fault-injection-report.json'), JSON.stringify(report, null, 2));
  }, 900_000);
});
