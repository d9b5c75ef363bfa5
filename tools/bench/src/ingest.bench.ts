import { Pool } from 'pg';
import { parseCimXml } from '@dh/cim';
import { DataHubClient, type DataHubInbox, type PeekedMessage } from '@dh/datahub-client';
import { DataHubInboxWorker, QuarantineStore } from '@dh/datahub-integration';
import { startDataHubSimulator, type RunningDataHubSimulator } from '@dh/datahub-sim';
import { addDays, localDayStart, type LocalDate } from '@dh/dk-time';
import { createPostgresEventStore, type PostgresEventStore } from '@dh/event-store';
import { gsrnCheckDigit } from '@dh/market-ids';
import { AmqpConnection, createRelay, type EventRelay, type RunningConsumer } from '@dh/messaging';
import { CONSUMPTION_VALUES_TABLE, consumptionProjection, startProjections } from '@dh/read-models';
import { benchLogger, createBenchDatabase, createBenchVhost, type Cleanup } from './infra';
import { delay, fmt, log, median, msSince, now, result, waitUntil, type BenchResult } from './measure';

/**
 * Ingest end to end (issue 3). The DataHub simulator (in this process, over HTTP) holds one RSM-012
 * (`NotifyValidatedMeasureData`, one series of 96 PT15M values) per metering point and day for
 * METERING_POINTS × DAYS; the production path takes it from there, wired as the services wire it but in
 * this one process: `DataHubInboxWorker` (peek → `parseCimXml` → append to the PostgreSQL event store
 * → dequeue) → relay (publisher confirms) → RabbitMQ `domain.events` → the `consumption` projection's
 * queue (`startProjections`: single active consumer, inbox transaction) → `read_models.consumption_*`.
 * Timed from the first peek to the consumer having applied the last document, then checked against
 * `consumption_values` (every value there). Baseline: `parseCimXml` alone over the very same message
 * bodies, in the same run.
 */

const METERING_POINTS = Number(process.env.BENCH_INGEST_METERING_POINTS ?? 20);
const DAYS = Number(process.env.BENCH_INGEST_DAYS ?? 10);
const VALUES_PER_DAY = 96;
const PARSE_ROUNDS = 5;
const TIMEOUT_MS = 300_000;
const OUR_GLN = '5799999933318';
const DATAHUB_GLN = '5790001330552';
const CLIENT = { clientId: 'bench-supplier', clientSecret: 's3cret-bench-supplier' };
/** Local midnight of 2026-04-01: a month without a DST change; April 1 is the warm-up day. */
const FIRST_DAY: LocalDate = '2026-04-01';

function gsrnOf(i: number): string {
  const body = `57131318049${String(i).padStart(6, '0')}`;
  return `${body}${gsrnCheckDigit(body)}`;
}

function scenario(meteringPoints: number): Record<string, unknown> {
  return {
    seed: 'bench-ingest',
    start: localDayStart(FIRST_DAY).toISOString(),
    datahubGln: DATAHUB_GLN,
    tokenLifetimeSeconds: 3600,
    leadTimeDays: 1,
    clients: [{ ...CLIENT, gln: OUR_GLN }],
    meteringPoints: Array.from({ length: meteringPoints }, (_, i) => ({
      gsrn: gsrnOf(i),
      gridArea: '804',
      priceArea: 'DK1',
      type: 'E17',
      settlementMethod: 'D01',
      resolution: 'PT15M',
      profile: { annualKwh: 3000 + 100 * i, shape: 'household' },
      supply: { supplierGln: OUR_GLN, from: '2026-01-01' },
    })),
    rejections: [],
    forcedSwitches: [],
    charges: [],
  };
}

/** The worker's view of DataHub, recording when it first peeked and every body it was given. */
class RecordingInbox implements DataHubInbox {
  firstPeekAt: bigint | null = null;
  readonly bodies: string[] = [];
  recording = false;

  constructor(private readonly inner: DataHubInbox) {}

  async peek(category: string): Promise<PeekedMessage | null> {
    if (this.recording && this.firstPeekAt === null) this.firstPeekAt = now();
    const message = await this.inner.peek(category);
    if (message && this.recording) this.bodies.push(message.body);
    return message;
  }

  dequeue(messageId: string): Promise<void> {
    return this.inner.dequeue(messageId);
  }
}

function parseAll(bodies: readonly string[]): number {
  let values = 0;
  for (const body of bodies) {
    const doc = parseCimXml(body);
    if (doc.kind !== 'NotifyValidatedMeasureData') throw new Error(`parseCimXml returned ${doc.kind}`);
    for (const series of doc.series) values += series.period.points.length;
  }
  return values;
}

export async function runIngestBench(cleanup: Cleanup): Promise<BenchResult[]> {
  const db = await createBenchDatabase('ingest');
  cleanup.add(`drop database ${db.name}`, () => db.drop());
  const vhost = await createBenchVhost('ingest');
  cleanup.add(`delete vhost ${vhost.name}`, () => vhost.drop());

  const pool = new Pool({ connectionString: db.url, max: 8 });
  pool.on('error', () => undefined);
  let store: PostgresEventStore | null = null;
  let sim: RunningDataHubSimulator | null = null;
  let connection: AmqpConnection | null = null;
  let relay: EventRelay | null = null;
  let consumers: RunningConsumer[] = [];
  try {
    store = await createPostgresEventStore({ pool, schema: 'event_store' });
    const quarantine = new QuarantineStore(pool);
    await quarantine.migrate();
    sim = await startDataHubSimulator({ port: 0, scenario: scenario(METERING_POINTS) });
    const inbox = new RecordingInbox(new DataHubClient({ baseUrl: sim.url, ...CLIENT, scope: 'datahub3' }));
    const worker = new DataHubInboxWorker({
      client: inbox,
      categories: ['measuredata'],
      eventStore: store,
      quarantine,
      idleDelayMs: 50,
      onError: (error, stage) => benchLogger.warn(`inbox ${stage}: ${error instanceof Error ? error.message : String(error)}`),
    });
    connection = new AmqpConnection({ url: vhost.url, connectionName: 'bench-ingest', initialMaxAttempts: 3, logger: benchLogger });
    await connection.connect();
    consumers = await startProjections({ pool, eventStore: store, connection, projections: [consumptionProjection], logger: benchLogger });
    const consumer = consumers[0];
    relay = createRelay({ eventStore: store, connection, pool, name: 'bench-ingest', logger: benchLogger });
    await relay.start();

    const applied = (): number => consumer.stats().applied;
    const drain = async (documents: number, what: string): Promise<{ ms: number; inboxMs: number; relayMs: number; end: bigint }> => {
      const target = applied() + documents;
      const relayTarget = (relay?.stats().published ?? 0) + documents;
      const start = now();
      const polled = await worker.pollOnce();
      const inboxMs = msSince(start);
      if (polled.stored !== documents || polled.quarantined > 0 || polled.errors > 0) {
        throw new Error(`${what}: the inbox stored ${polled.stored} of ${documents} documents (quarantined ${polled.quarantined}, errors ${polled.errors})`);
      }
      let relayMs = Number.NaN;
      await waitUntil(
        () => {
          if (Number.isNaN(relayMs) && (relay?.stats().published ?? 0) >= relayTarget) relayMs = msSince(start);
          return applied() >= target || consumer.stats().halted !== null;
        },
        TIMEOUT_MS,
        () => `${what}: the consumption projection to apply ${documents} documents (applied ${applied() - (target - documents)})`,
        5,
      );
      const halted = consumer.stats().halted;
      if (halted) throw new Error(`consumption projection halted: ${halted}`);
      const end = now();
      return { ms: Number(end - start) / 1e6, inboxMs, relayMs: Number.isNaN(relayMs) ? Number(end - start) / 1e6 : relayMs, end };
    };

    // Warm-up: the first day of every metering point (connections, token, JIT, projection paths).
    sim.control.advanceTo(localDayStart(addDays(FIRST_DAY, 1)));
    await drain(METERING_POINTS, 'warm-up');

    // The measured run: DAYS more days, all waiting in DataHub's queue before the first peek.
    sim.control.advanceTo(localDayStart(addDays(FIRST_DAY, 1 + DAYS)));
    const documents = METERING_POINTS * DAYS;
    const values = documents * VALUES_PER_DAY;
    inbox.recording = true;
    const started = now();
    const run = await drain(documents, 'measured run');
    const e2eMs = Number(run.end - (inbox.firstPeekAt ?? started)) / 1e6;
    inbox.recording = false;

    const { rows } = await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${CONSUMPTION_VALUES_TABLE}`);
    const stored = Number(rows[0]?.n ?? 0);
    const expected = METERING_POINTS * (DAYS + 1) * VALUES_PER_DAY;
    if (stored !== expected) throw new Error(`consumption_values holds ${stored} values, expected ${expected}`);
    if (inbox.bodies.length !== documents) throw new Error(`recorded ${inbox.bodies.length} message bodies, expected ${documents}`);
    const e2e = (values / e2eMs) * 1000;
    log(
      `  ${METERING_POINTS} metering points × ${DAYS} days × ${VALUES_PER_DAY} = ${values.toLocaleString('en-US')} values in ${documents} documents: ` +
        `first peek → last value in the read model ${fmt(e2eMs, 'ms')} = ${fmt(e2e, 'values/s')}`,
    );
    log(
      `  where the time goes: inbox (peek, parse, append, dequeue) done after ${fmt(run.inboxMs, 'ms')} (${fmt((values / run.inboxMs) * 1000, 'values/s')}), ` +
        `relay confirmed all after ${fmt(run.relayMs, 'ms')}, projection applied all after ${fmt(run.ms, 'ms')} (${fmt((documents / run.ms) * 1000, 'documents/s')})`,
    );

    // Baseline: the same bodies through parseCimXml alone (after the pipeline is idle).
    await relay.stop();
    relay = null;
    const bodyBytes = inbox.bodies.reduce((sum, b) => sum + b.length, 0);
    if (parseAll(inbox.bodies) !== values) throw new Error('parseCimXml baseline: value count differs');
    const parse: number[] = [];
    for (let round = 0; round < PARSE_ROUNDS; round++) {
      await delay(20);
      const start = now();
      const parsed = parseAll(inbox.bodies);
      parse.push((parsed / msSince(start)) * 1000);
    }
    log(`  baseline parseCimXml of the same ${documents} bodies (${(bodyBytes / 1e6).toFixed(1)} MB): ${parse.map((p) => fmt(p, 'values/s')).join(' / ')}`);
    return [result(`ingest e2e ${METERING_POINTS}×${DAYS}d PT15M (${values / 1000}k values)`, e2e, median(parse), 'values/s', true, 'parseCimXml of the same bodies')];
  } finally {
    await relay?.stop().catch(() => undefined);
    for (const c of consumers) await c.stop().catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await sim?.stop().catch(() => undefined);
    await store?.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}
