import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Pool, type PoolClient } from 'pg';
import { addDays, localDayHours, localDayStart, type LocalDate } from '@dh/dk-time';
import { measureDataPointsFields, VALIDATED_MEASURE_DATA_SCHEMA_VERSION } from '@dh/datahub-integration';
import { createPostgresEventStore, type JsonObject, type NewEvent, type PostgresEventStore, type StreamAppend } from '@dh/event-store';
import { createDatabase } from '@dh/provisioning';
import { allProjections, applyGuardedBatch, migrateReadModels, PROJECTION_BATCH_SIZE, projectionChecksum, rebuildProjections, REBUILD_PAGE_SIZE, retiredTablesDropped, toProjectedEvent, type RebuildOptions } from '@dh/read-models';
import { uniqueName, type Cleanup } from './infra';
import { fmt, log, median, msSince, now, result, type BenchResult } from './measure';
import { backendCpu, backendCpuUsed } from './process-cpu';
import { rawRead } from './raw-read';
import type { ColdRoundInput, ColdRoundResult } from './rebuild-cold.process';

/**
 * Rebuilding the read models (issue 10): a log of N events shaped like the portfolio's (per metering point a customer,
 * its registration, supply start, two process status changes, one `ValidatedMeasureDataReceived` of 24 hourly values
 * per local day for `BENCH_REBUILD_DAYS` days, sent day by day for all points as DataHub does, an invoice and a payment).
 * Clean model first: every projection applied page by page through `applyGuardedBatch`, as the live consumer does (not
 * timed). Then, per round: the baseline, a raw read of the same events (`readAll` in pages of the rebuild's size, the
 * events parsed and nothing done with them), and `rebuildProjections(allProjections)` (shadow tables, bulk pages, swap);
 * after each rebuild the checksum of every projection must equal the clean model's, or the benchmark fails. Round 1 is
 * cold on both sides: the read and the rebuild each in a fresh process (`rebuild-cold.process.ts`, as a CLI runs them:
 * V8 compiles their code on the way), so neither is warmed by the other or by the clean model's pass; the later rounds
 * are warm on both sides, in this process after `WARM_UPS` reads and rebuilds not timed (default 2). (Before
 * 2026-12-07 every round ran in this process: round 1 compared a read warmed by the clean model's pass with a rebuild
 * only partly warmed by it, and round 2 was the process's second rebuild, during which V8 still compiles.)
 * The metered data is seeded as datahub-integration writes it since issue 8 (`toInboundEvents`: schema version 2, `unit`,
 * the points packed by `measureDataPointsFields`: `firstPosition`, integer Wh, quality runs);
 * `BENCH_REBUILD_MEASURE_VERSION=1` seeds the version 1 shape of a log written before (`points` as
 * `{position, quantity: kWh decimal string, quality}`, no `unit`).
 * `BENCH_REBUILD_VARIANTS=1` also times the rebuild with UNLOGGED shadow tables, with secondary indexes deferred, without the bulk loader
 * and with each page on one connection.
 */

const POINTS = Number(process.env.BENCH_REBUILD_POINTS ?? 300);
const DAYS = Number(process.env.BENCH_REBUILD_DAYS ?? 30);
const PAGE = Number(process.env.BENCH_REBUILD_PAGE ?? REBUILD_PAGE_SIZE);
const VARIANTS = process.env.BENCH_REBUILD_VARIANTS === '1';
/** `BENCH_REBUILD_PAGE_CONNECTIONS=1`: the timed rounds with each build page on one connection (default: the rebuild's, two). */
const PAGE_CONNECTIONS: RebuildOptions = process.env.BENCH_REBUILD_PAGE_CONNECTIONS === '1' ? { pageConnections: 1 } : {};
/** The shape of the seeded `ValidatedMeasureDataReceived` events: 2 (default, as written today) or 1 (before issue 8). */
const MEASURE_VERSION = process.env.BENCH_REBUILD_MEASURE_VERSION === '1' ? 1 : VALIDATED_MEASURE_DATA_SCHEMA_VERSION;
const ROUNDS = 3;
const FIRST_DAY: LocalDate = '2026-01-01';
/**
 * Read-and-rebuild pairs run in this process, not timed, before the warm rounds: V8 still compiles and recompiles the
 * loader's and the projections' code during a process's second rebuild (TurboFan: ~110 ms of compile-thread CPU,
 * `load` and `applyInRounds`), so a warm round is the third rebuild on.
 */
const WARM_UPS = Number(process.env.BENCH_REBUILD_WARM_UPS ?? 2);
/** The benchmark's pool, and each cold round process's. */
const POOL_MAX = 6;

interface Timed {
  ms: number;
  cpuMs: number;
  backendMs: number | null;
}

/** One side of the cold round in a fresh process (`rebuild-cold.process.ts`). */
async function coldRound(input: ColdRoundInput): Promise<Timed & { events: number }> {
  const child = fork(join(__dirname, 'rebuild-cold.process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const result = await new Promise<ColdRoundResult>((resolve, reject) => {
    child.once('message', (message: ColdRoundResult) => resolve(message));
    child.once('exit', (code) => reject(new Error(`the cold ${input.kind} process exited ${code} without a result`)));
    child.send(input);
  });
  await new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
  if (result.kind === 'failed') throw new Error(`the cold ${input.kind}: ${result.message}`);
  return { ms: result.ms, cpuMs: result.cpuMs, backendMs: result.backendMs, events: result.events };
}

const metadata = (context: string, schemaVersion: number) => ({ correlationId: randomUUID(), causationId: null, actor: 'bench', schemaVersion, context });
const event = (type: string, context: string, data: NewEvent['data'], schemaVersion = 1): NewEvent => ({ eventId: randomUUID(), type, data, metadata: metadata(context, schemaVersion), occurredAt: new Date() });
const kwh = (wh: number) => `${Math.floor(wh / 1000)}.${String(wh % 1000).padStart(3, '0')}`;
const gsrnOf = (i: number) => `5713131809${String(i).padStart(8, '0')}`;

/**
 * One day of hourly values of metering point `i` (day number `d`), in Wh; a spike on some days so the anomaly table is
 * not empty, an estimated hour on some. Version 2 as `toInboundEvents` writes it (the fields in its order, the points
 * from `measureDataPointsFields`), version 1 as before issue 8.
 */
function measureEvent(day: LocalDate, i: number, start: string, end: string, hours: number, d: number): NewEvent {
  const points = Array.from({ length: hours }, (_, h) => ({
    position: h + 1,
    quantity: kwh(150 + ((i * 31 + d * 17 + h * 7) % 800) + ((d + i) % 23 === 22 ? 2000 : 0)),
    quality: h === 3 && d % 9 === 0 ? 'A03' : null,
  }));
  const documentId = `doc-${day}-${i}`;
  const seriesId = `series-${day}-${i}`;
  if (MEASURE_VERSION === 1) {
    return event('ValidatedMeasureDataReceived', 'datahub', { documentId, seriesId, gsrn: gsrnOf(i), meteringPointType: 'E17', resolution: 'PT1H', start, end, points });
  }
  const data: JsonObject = {
    documentId,
    messageId: `msg-${day}-${i}`,
    category: 'measuredata',
    receivedAt: end,
    processType: 'E23',
    seriesId,
    gsrn: gsrnOf(i),
    meteringPointType: 'E17',
    unit: 'KWH',
    resolution: 'PT1H',
    start,
    end,
  };
  const packed = measureDataPointsFields('KWH', points.map((p) => (p.quality === null ? { position: p.position, quantity: p.quantity } : { position: p.position, quantity: p.quantity, quality: p.quality })));
  for (const key in packed) data[key] = packed[key]!;
  if (!('wh' in data)) throw new Error(`the bench's points of ${documentId} were not packed`);
  return event('ValidatedMeasureDataReceived', 'datahub', data, VALIDATED_MEASURE_DATA_SCHEMA_VERSION);
}

export async function seedRebuildLog(store: PostgresEventStore): Promise<number> {
  let count = 0;
  const append = async (appends: StreamAppend[]) => {
    for (let i = 0; i < appends.length; i += 200) await store.appendToStreams(appends.slice(i, i + 200));
    count += appends.reduce((n, a) => n + a.events.length, 0);
  };
  const customers = Array.from({ length: POINTS }, () => randomUUID());
  await append(
    customers.map((customerId, i) => {
      const gsrn = gsrnOf(i);
      const processId = randomUUID();
      return {
        streamId: `bench-point-${gsrn}`,
        expectedRevision: 'no_stream' as const,
        events: [
          event('CustomerCreated', 'portfolio', { customerId, customerType: i % 5 === 0 ? 'business' : 'private', personalData: `v1.sealed-${i}` }),
          event('MeteringPointRegistered', 'portfolio', { gsrn, type: 'E17', settlementMethod: 'D01', gridArea: '791', priceArea: 'DK1' }),
          event('ProcessStatusChanged', 'process', { processId, kind: 'change-of-supplier', from: null, to: 'created', at: '2025-12-01T00:00:00Z' }),
          event('ProcessStatusChanged', 'process', { processId, kind: 'change-of-supplier', from: 'created', to: 'completed', at: '2025-12-15T00:00:00Z' }),
          event('SupplyStarted', 'portfolio', { gsrn, customerId, processId, startDate: FIRST_DAY, productId: 'spot', billingFrequency: 'monthly', paymentModel: 'arrears' }),
        ],
      };
    }),
  );
  for (let d = 0; d < DAYS; d++) {
    const day = addDays(FIRST_DAY, d);
    const start = localDayStart(day).toISOString();
    const end = localDayStart(addDays(day, 1)).toISOString();
    const hours = localDayHours(day);
    await append(
      customers.map((_, i) => ({
        streamId: `bench-measure-${gsrnOf(i)}-${day}`,
        expectedRevision: 'no_stream' as const,
        events: [measureEvent(day, i, start, end, hours, d)],
      })),
    );
  }
  await append(
    customers.map((customerId, i) => {
      const invoiceId = randomUUID();
      const amount = `${100 + i}.00`;
      return {
        streamId: `bench-invoice-${invoiceId}`,
        expectedRevision: 'no_stream' as const,
        events: [
          event('InvoiceIssued', 'settlement', {
            invoiceId,
            runId: null,
            customerId,
            gsrn: gsrnOf(i),
            periodLabel: '2026-01',
            periodStart: FIRST_DAY,
            periodEnd: addDays(FIRST_DAY, DAYS),
            paymentModel: 'arrears',
            lines: [{ key: 'energy', kind: 'energy', description: 'Energy', chargeId: null, month: '2026-01', quantityKwh: '300.000', daysSupplied: null, amountExclVat: amount, vat: '0.00', amountInclVat: amount }],
            totals: { exclVat: amount, vat: '0.00', inclVat: amount },
            aconto: { paid: '0.00', difference: '0.00', netAmountDue: amount },
            estimated: false,
            asOf: '2026-02-01T00:00:00.000Z',
          }),
          event('PaymentReceived', 'payments', { paymentId: `pay-${i}`, customerId, invoiceId, amount, paidAt: '2026-02-10T00:00:00.000Z', method: 'betalingsservice' }),
        ],
      };
    }),
  );
  return count;
}

/** The live path: each page applied to each projection through its guard, as the live consumer's batches are. */
async function projectClean(pool: Pool, store: PostgresEventStore): Promise<void> {
  await migrateReadModels(pool, allProjections);
  let after: string | null = null;
  for (;;) {
    const events = await store.readAll({ after, maxCount: PROJECTION_BATCH_SIZE });
    if (events.length === 0) break;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      for (const projection of allProjections) {
        await applyGuardedBatch(
          projection,
          events.map((e) => toProjectedEvent(projection.schemas ? projection.schemas.upcast(e) : e)),
          client,
        );
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    after = events[events.length - 1].checkpoint;
  }
}

async function checksums(pool: Pool): Promise<string[]> {
  const client: PoolClient = await pool.connect();
  try {
    const out: string[] = [];
    for (const projection of allProjections) out.push(await projectionChecksum(projection, client));
    return out;
  } finally {
    client.release();
  }
}

export async function runRebuildBench(cleanup?: Cleanup): Promise<BenchResult[]> {
  const db = await createDatabase(uniqueName('rebuild'));
  cleanup?.add(`drop database ${db.name}`, () => db.drop());
  const pool = new Pool({ connectionString: db.url, max: POOL_MAX });
  const store = await createPostgresEventStore({ pool });
  try {
    const seedStart = now();
    const events = await seedRebuildLog(store);
    const shape = MEASURE_VERSION === 1 ? 'v1: points as {position, quantity, quality}' : 'v2: packed integer Wh, as datahub-integration writes it';
    log(`  N = ${events.toLocaleString('en-US')} events (${POINTS} metering points, ${DAYS} days of hourly values each; metered data ${shape}) appended in ${(msSince(seedStart) / 1000).toFixed(1)} s; load average ${loadavg()[0]!.toFixed(1)}`);
    const cleanStart = now();
    await projectClean(pool, store);
    const clean = await checksums(pool);
    const rows = clean.map((c) => c.split('|').map((t) => t.split(':').slice(0, 2).join(' ')).join(', ')).join('; ');
    log(`  clean model through the live path (batches of ${PROJECTION_BATCH_SIZE}) in ${(msSince(cleanStart) / 1000).toFixed(1)} s (not timed): ${rows}`);
    // Tables hashed by their content (arrays unnested) hold fewer rows than the counts above: what is written.
    const stored: string[] = [];
    for (const table of allProjections.flatMap((p) => p.tables).filter((t) => t.content)) {
      const { rows: counted } = await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table.name}`);
      stored.push(`${table.name} ${Number(counted[0].n).toLocaleString('en-US')}`);
    }
    if (stored.length > 0) log(`  rows stored for the tables counted by content: ${stored.join(', ')}`);

    /** A rebuild in this process: its time, this process's CPU and the backends' (the background drop included); checksums checked. */
    const timeRebuild = async (label: string, options: RebuildOptions): Promise<Timed> => {
      const backendsBefore = await backendCpu(pool);
      const start = now();
      const cpuStart = process.cpuUsage();
      const results = await rebuildProjections(pool, store, allProjections, { batchSize: PAGE, ifRunning: 'refuse', ...options });
      const ms = msSince(start);
      const used = process.cpuUsage(cpuStart);
      // The tables the swap replaced are dropped after the rebuild returns: not timed, but done before anything else is.
      await retiredTablesDropped(pool);
      // The database's backends (the pool's connections, kept between rounds), the background drop included.
      const backendMs = backendCpuUsed(backendsBefore, await backendCpu(pool));
      if (results.some((r) => r.appliedEvents !== events)) throw new Error(`${label}: a projection was rebuilt from ${results.map((r) => r.appliedEvents).join('/')} events, expected ${events}`);
      await checkClean(label);
      return { ms, cpuMs: (used.user + used.system) / 1000, backendMs };
    };
    const checkClean = async (label: string): Promise<void> => {
      const after = await checksums(pool);
      const differing = allProjections.filter((_, i) => after[i] !== clean[i]).map((p) => p.name);
      if (differing.length > 0) throw new Error(`${label}: checksum differs from the clean model for ${differing.join(', ')}`);
    };
    const timeRead = async (): Promise<number> => {
      const start = now();
      const read = await rawRead(store, PAGE);
      const ms = msSince(start);
      if (read !== events) throw new Error(`the raw read returned ${read} events, expected ${events}`);
      return ms;
    };

    // Round 1, cold: the raw read and the rebuild each in a fresh process (a CLI's run), neither warmed by the other
    // nor by the clean model's pass above. Rounds 2 on, warm: both in this process, after `WARM_UPS` of each not timed.
    const reads: number[] = [];
    const rebuilds: Timed[] = [];
    const coldInput = { databaseUrl: db.url, poolMax: POOL_MAX, pageSize: PAGE, pageConnections: PAGE_CONNECTIONS.pageConnections === 1 ? (1 as const) : null };
    const coldRead = await coldRound({ kind: 'read', ...coldInput });
    if (coldRead.events !== events) throw new Error(`the cold raw read returned ${coldRead.events} events, expected ${events}`);
    const coldRebuild = await coldRound({ kind: 'rebuild', ...coldInput });
    if (coldRebuild.events !== events) throw new Error(`the cold rebuild applied ${coldRebuild.events} events, expected ${events}`);
    await checkClean('cold rebuild');
    reads.push(coldRead.ms);
    rebuilds.push(coldRebuild);
    for (let i = 0; i < WARM_UPS; i++) {
      await timeRead();
      await timeRebuild('warm-up', PAGE_CONNECTIONS);
    }
    for (let round = 1; round < ROUNDS; round++) {
      reads.push(await timeRead());
      rebuilds.push(await timeRebuild('rebuild', PAGE_CONNECTIONS));
    }
    const seconds = (values: readonly number[]) => values.map((ms) => `${(ms / 1000).toFixed(2)} s`).join(' / ');
    const backendMs = rebuilds.map((r) => r.backendMs);
    log(`  round 1 cold (the read and the rebuild each in a fresh process, pool opened first), rounds 2-${ROUNDS} warm (in this process, after ${WARM_UPS} of each not timed)`);
    log(`  raw read (readAll, pages of ${PAGE}): ${seconds(reads)} (CPU of the reading process in round 1 ${(coldRead.cpuMs / 1000).toFixed(2)} s)`);
    log(`  rebuild of all ${allProjections.length} projections (shadow tables, bulk loader, swap): ${seconds(rebuilds.map((r) => r.ms))} (CPU of the rebuilding process ${seconds(rebuilds.map((r) => r.cpuMs))}${backendMs.every((ms) => ms !== null) ? `; of the database's backends ${seconds(backendMs.map((ms) => ms ?? 0))}` : ''})`);
    log(`  ratios per round: ${reads.map((r, i) => `${(r / rebuilds[i].ms).toFixed(3)}×`).join(' / ')}; checksum equal to the clean model after every rebuild: yes`);
    if (VARIANTS) {
      const variants: [string, RebuildOptions][] = [
        ['as above', {}],
        ['UNLOGGED shadow tables, made LOGGED before the swap', { unlogged: true }],
        ['secondary indexes after the load', { deferIndexes: true }],
        ['no bulk loader (applyBatch for consumption too)', { bulk: false }],
        ['each page on one connection', { pageConnections: 1 }],
      ];
      const read = now();
      await rawRead(store, PAGE);
      const readMs = msSince(read);
      const timed: string[] = [];
      for (const [label, options] of variants) {
        const { ms } = await timeRebuild(label, options);
        timed.push(`${label} ${(ms / 1000).toFixed(2)} s (${(readMs / ms).toFixed(3)}×)`);
      }
      log(`  variants (one round each, raw read ${(readMs / 1000).toFixed(2)} s): ${timed.join('; ')}; checksums equal`);
    }
    const readMs = median(reads);
    const rebuildMs = median(rebuilds.map((r) => r.ms));
    log(`  load average ${loadavg()[0]!.toFixed(1)}; figures: ${fmt((events / rebuildMs) * 1000, 'ev/s')} vs ${fmt((events / readMs) * 1000, 'ev/s')}`);
    return [result(`rebuild of all read models, N = ${events.toLocaleString('en-US')} events`, (events / rebuildMs) * 1000, (events / readMs) * 1000, 'ev/s', true, 'raw readAll of the same events')];
  } finally {
    await store.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    await db.drop();
  }
}
