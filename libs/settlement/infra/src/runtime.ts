import type { Pool, PoolClient } from 'pg';
import { isPackedPoints, seriesPointsOf } from '@dh/cim';
import { WrongExpectedRevisionError, type EventStore, type JsonValue } from '@dh/event-store';
import { CommandError, CommandServer, startConsumer, type AmqpConnection, type CommandContext, type EventEnvelope, type RunningConsumer } from '@dh/messaging';
import type { Infrastructure } from '@dh/platform';
import {
  SettlementCommandRejected,
  acknowledgeNoteExport,
  recordAcontoPayment,
  recordMeteredData,
  recordMeteredDataBatchKnown,
  setExpectedConsumption,
  type CommandMeta,
  type SettlementRatesConfig,
} from '@dh/settlement-application';
import { onAcontoInput } from './aconto';
import { applyToCopies, forgetMeteredStream, lookupMeteredStreams, recordMeteredBatch } from './copies';
import { resumeScheduling, startSettlementRun } from './run';
import { onFinalInvoiceInput, retryFinalInvoices, type FinalInvoiceOutcome } from './final-invoice';
import { DEFAULT_RUN_SCHEDULE, startRunScheduler, type RunScheduleSettings, type RunScheduler, type ScheduleLogger } from './schedule';
import { SETTLEMENT_SCHEMA, migrateSettlement } from './schema';
import { paymentCommandHandlers, startPayments, type PaymentsOptions, type PaymentsRuntime } from './payments';
import { RunPriceCache, affectedInvoices, correctInvoice, handleWorkItem, handleWorkItems } from './settle';
import { lockForInput } from './input-locks';
import { DEFAULT_CORRECTION_POLICY, feeJobAfterCopy, feeVatPayersBefore, publicationJobOf, recordCorrectionJob, startCorrectionWorker, type CorrectionPolicy, type CorrectionWorker, type CorrectionWorkerOptions } from './correction-jobs';
import { listEarlierHalts, requestRetries } from './halted-items';
import { startHaltRetries, type HaltRetries } from './retry';
import { applyRecomputation, explainIssuedInvoice, recomputeInvoiceDryRun, recomputeInvoicesDryRun } from './explain';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function invoiceIdOfPayload(payload: JsonValue): string {
  const id = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? payload['invoiceId'] : undefined;
  if (typeof id !== 'string' || !UUID.test(id)) throw new CommandError('validation', 'invoiceId must be a UUID');
  return id;
}

/** Plain JSON for a command reply. */
const replyJson = (value: unknown): JsonValue => JSON.parse(JSON.stringify(value)) as JsonValue;

/**
 * Work items a worker settles in one inbox transaction by default (issue 8): the transaction's fixed part (inbox
 * insert, locks, the shared reads, one append, the counters, the commit) spread over 100 items instead of 20 took
 * about a quarter of the run's CPU off (settlement, projection and PostgreSQL together; docs/benchmarks.md section 13).
 */
export const DEFAULT_WORK_BATCH_SIZE = 100;

/** Durable work queue of settlement runs, consumed by competing workers. */
export const SETTLEMENT_WORK_QUEUE = 'settlement.work';
/** Settlement's copies of rates, portfolio and its own metered data, in order. */
export const SETTLEMENT_INPUTS_QUEUE = 'settlement.inputs';

/** Metered data as DataHub delivered it (RSM-012, parsed and stored by datahub-integration). */
export const SETTLEMENT_METERED_DATA_QUEUE = 'settlement.metered-data';

export const SETTLEMENT_INPUT_BINDINGS = ['rates.#', 'portfolio.#', 'settlement.metered-data-received', 'settlement.aconto-payment-recorded', 'settlement.expected-consumption-set'];

export interface SettlementRuntimeOptions {
  /** Competing work-queue consumers in this process. Default 2. */
  workers?: number;
  /** Serve commands on `commands.settlement`. Default true. */
  commands?: boolean;
  config?: SettlementRatesConfig;
  /** Payments: receivables, payment terms and the overdue check (see payments.ts). */
  payments?: PaymentsOptions;
  /** Work items per batch of a settlement run (default 500, `DEFAULT_RUN_BATCH_SIZE`). */
  runBatchSize?: number;
  /** Work items a worker settles in one transaction (default `DEFAULT_WORK_BATCH_SIZE`, 100; 1 = one transaction per item). */
  workBatchSize?: number;
  /**
   * Runs on the business clock (schedule.ts): a scheduler pass every `intervalMs` (0 or absent = no timer;
   * `runtime.schedule.pass()` still runs one), deadlines and later runs per `settings`.
   */
  schedule?: { intervalMs: number; settings?: Partial<RunScheduleSettings>; logger?: ScheduleLogger };
  /**
   * The correction worker of publications (correction-jobs.ts): its interval and invoices per transaction, and the
   * policy (`productPrices: 'review'`: a product's new prices correct no issued invoice by themselves).
   */
  corrections?: CorrectionWorkerOptions & { policy?: CorrectionPolicy };
  /**
   * Halted items retried when their missing input arrives (retry.ts): a pass every `intervalMs` (0 or absent = no
   * timer; `runtime.haltRetries.pass()` still runs one).
   */
  haltRetry?: { intervalMs: number; logger?: ScheduleLogger };
  /** A run without progress this long on the business clock no longer holds back later runs of its period (run.ts `runStalledSince`; default one hour, 0 = never). */
  runStalledAfterMs?: number;
}

export interface SettlementRuntime {
  inputs: RunningConsumer;
  meteredData: RunningConsumer;
  workers: RunningConsumer[];
  /** The workers' run prices (hits: items settled by the kernel on prices resolved once). */
  runPrices: RunPriceCache;
  payments: PaymentsRuntime;
  /** The run scheduler (a timer only when `schedule.intervalMs` > 0). */
  schedule: RunScheduler;
  /** Corrects publications' invoices page by page (`runPending` runs the waiting jobs now). */
  corrections: CorrectionWorker;
  /** One pass over the waiting final invoices now (the scheduler's timer runs it after each run pass). */
  retryFinalInvoices(): Promise<Record<FinalInvoiceOutcome, number> | null>;
  /** The retry pass of halted items (a timer only when `haltRetry.intervalMs` > 0). */
  haltRetries: HaltRetries;
  stop(): Promise<void>;
}

async function asCommandReply<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SettlementCommandRejected) throw new CommandError(error.code, error.message);
    if (error instanceof WrongExpectedRevisionError) throw new CommandError('concurrency-conflict', error.message, { streamId: error.streamId });
    throw error;
  }
}

/**
 * Starts settlement beside HTTP: the inputs consumer (copies + corrections), the competing
 * workers of the `settlement.work` queue and the command handlers. Each consumer has its inbox in
 * schema `settlement`, in the same transaction as its effects.
 */
export interface MeteredDataConsumerOptions {
  connection: AmqpConnection;
  pool: Pool;
  store: EventStore;
  exchange: string;
  /** Business time of the recorded events (the service's clock). */
  now: () => Date;
}

/** RecordMeteredData's payload from one RSM-012 series as datahub-integration publishes it. */
export function meteredDataPayloadOf(envelope: Pick<EventEnvelope, 'data'>): JsonValue {
  const d = envelope.data;
  // The fields written out rather than spread from a common object (the same keys in the same order): per series.
  const gsrn = d.gsrn ?? null;
  const documentId = `${String(d.documentId)}:${String(d.seriesId)}`;
  const receivedAt = d.receivedAt ?? null;
  const resolution = d.resolution ?? null;
  const start = d.start ?? null;
  const end = d.end ?? null;
  // v2 carries the points packed (integer Wh): passed on packed, the Wh as they came (the command checks them and
  // splits them into days without a decimal string per value). A CIM point without a quality is as measured (A04).
  if (!Array.isArray(d.points) && isPackedPoints(d)) {
    const qualities = d.qualities.map(([code, count]): [string, number] => [code ?? 'A04', count]);
    return { gsrn, documentId, receivedAt, resolution, start, end, firstPosition: d.firstPosition, wh: d.wh, qualities };
  }
  // v1 (stored before) as objects; malformed ones are refused by the command.
  const points = seriesPointsOf(d) ?? [];
  return { gsrn, documentId, receivedAt, resolution, start, end, points: points.map((p) => ({ position: p.position, quantityKwh: p.quantity, quality: p.quality ?? 'A04' })) };
}

/** Series recorded per transaction by settlement's metered-data consumer (see `startMeteredDataConsumer`). */
export const METERED_DATA_BATCH_SIZE = 300;

/**
 * The `settlement.metered-data` consumer: each RSM-012 series DataHub delivered (`datahub.validated-measure-data-received`)
 * becomes settlement's own metered data. Started by {@link startSettlementRuntime}; exported for the ingest benchmark.
 */
export function startMeteredDataConsumer(options: MeteredDataConsumerOptions): Promise<RunningConsumer> {
  const meteredMetaOf = (envelope: EventEnvelope): CommandMeta => ({ correlationId: envelope.metadata.correlationId, causationId: envelope.eventId, actor: 'datahub', now: options.now() });

  /**
   * Records the series in the consumer's transaction: their streams appended together (day versions from settlement's
   * tables, not from reading each stream), their days and the streams' revisions in `metered_data` and
   * `metered_streams`. Throws WrongExpectedRevisionError (nothing appended) when a stream moved under its recorded
   * revision, SettlementCommandRejected when a series is refused.
   */
  const recordBatch = async (envelopes: readonly EventEnvelope[], tx: PoolClient): Promise<void> => {
    const recorded = await recordMeteredDataBatchKnown(
      options.store,
      envelopes.map((envelope) => ({ payload: meteredDataPayloadOf(envelope), meta: meteredMetaOf(envelope) })),
      (series) => lookupMeteredStreams(tx, series),
    );
    // A stream read from the event store (not known yet) brings all its days, so metered_data holds every event up to the revision recorded.
    // The days and the streams' revisions in one statement.
    await recordMeteredBatch(tx, [...[...recorded.streams.values()].flatMap((s) => s.read ?? []), ...recorded.series.flatMap((r) => r.days)], recorded.streams);
  };

  // Each RSM-012 series becomes settlement's own metered data (one event per local day, versioned).
  return startConsumer({
    connection: options.connection,
    pool: options.pool,
    queue: SETTLEMENT_METERED_DATA_QUEUE,
    bindings: ['datahub.validated-measure-data-received'],
    eventStore: options.store,
    exchange: options.exchange,
    schema: SETTLEMENT_SCHEMA,
    singleActiveConsumer: true,
    onFailure: 'halt',
    // A document whose content settlement refuses (a GSRN with a wrong check digit, a broken point) can never be
    // recorded: it is parked in the DLQ with the reason and the valid data behind it goes on.
    isPoison: (error) => error instanceof CommandError && error.type === 'validation',
    backoff: { initialDelayMs: 200, factor: 2, maxDelayMs: 5000 },
    handler: async (envelope, tx) => {
      // A series delivered alone (nothing else waiting in the queue) is recorded as a batch of one: its days in
      // settlement's copy and its stream's revision in this transaction, as for a batch. Only when its stream moved
      // under the recorded revision (another writer) does it take the path below, which reads the stream.
      try {
        await recordBatch([envelope], tx);
        return;
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error instanceof SettlementCommandRejected ? new CommandError(error.code, error.message) : error;
      }
      const payload = meteredDataPayloadOf(envelope);
      await asCommandReply(() => recordMeteredData(options.store, payload, meteredMetaOf(envelope)));
      // Recorded without the batch's bookkeeping: the next batch reads this stream again (and records its revision).
      if (typeof payload === 'object' && payload !== null && !Array.isArray(payload) && typeof payload['gsrn'] === 'string') await forgetMeteredStream(tx, payload['gsrn']);
    },
    // The series waiting in the queue (a DataHub document's many series) are recorded together: their
    // metered-data streams in one batched append, their days in settlement's copy in one multi-row insert,
    // in this transaction. A batch that fails (a conflict, a refused series) is applied series by series above.
    // Up to three DataHub documents' worth of series (100 each in the ingest benchmark): fewer transactions, lookups
    // and appends per series than batches of 100 (ingest 10–16 % faster at 1,600 metering points × 3 days, 2026-12-07,
    // docs/benchmarks.md); a batch takes what is waiting and never waits to fill, so a lone series is not held back.
    batchSize: METERED_DATA_BATCH_SIZE,
    // Three batches delivered ahead: while one batch is in its transaction the next arrives whole (with the prefetch
    // at the batch size, the broker refilled only as the previous batch was acknowledged, and batches went half full).
    prefetch: 3 * METERED_DATA_BATCH_SIZE,
    batchHandler: (items, tx) => asCommandReply(() => recordBatch(items.map(({ envelope }) => envelope), tx)),
  });
}

export async function startSettlementRuntime(infrastructure: Infrastructure, options: SettlementRuntimeOptions = {}): Promise<SettlementRuntime> {
  const { pool, eventStore: store, amqp } = infrastructure;
  const deps = { store, now: () => infrastructure.clock.now(), ...(options.config ? { config: options.config } : {}) };
  await migrateSettlement(pool);
  const exchange = infrastructure.config.exchange;

  const finalDeps = { ...deps, now: () => infrastructure.clock.now(), ...(options.schedule?.logger ? { logger: options.schedule.logger } : {}) };
  const correctionPolicy = options.corrections?.policy ?? DEFAULT_CORRECTION_POLICY;
  const inputs = await startConsumer({
    connection: amqp,
    pool,
    queue: SETTLEMENT_INPUTS_QUEUE,
    bindings: SETTLEMENT_INPUT_BINDINGS,
    eventStore: store,
    exchange,
    schema: SETTLEMENT_SCHEMA,
    singleActiveConsumer: true,
    onFailure: 'halt',
    backoff: { initialDelayMs: 200, factor: 2, maxDelayMs: 5000 },
    handler: async (envelope, tx) => {
      // A work item of a running settlement reading the same metering point (or prices) finishes first, or waits for this.
      await lockForInput(tx, envelope);
      // A fee's master data (D18): its VATPayer as stored before the copy is written, to record a job only if it changed.
      const feeBefore = await feeVatPayersBefore(tx, envelope);
      await applyToCopies(envelope, tx);
      // Halted items this input may unblock are marked due; the retry pass settles them after this commits.
      await requestRetries(tx, envelope, infrastructure.clock.now());
      await onAcontoInput(deps, envelope, tx);
      // A publication (spot, charge or tax prices, a product) can touch any number of invoices: one job row here,
      // its invoices corrected by the correction worker in bounded transactions.
      const job = publicationJobOf(envelope, deps.config, correctionPolicy);
      if (job !== null) {
        // A fee's: only if its VATPayer changed, over every instant it changed (a row's end moved: outside the D18's own validity).
        const recorded = await feeJobAfterCopy(tx, job, feeBefore);
        if (recorded !== null) await recordCorrectionJob(tx, envelope, recorded);
        return;
      }
      const affected = await affectedInvoices(tx, envelope);
      if (affected !== null) for (const invoiceId of affected.invoiceIds) await correctInvoice(deps, tx, invoiceId, envelope, affected.cause);
      // A supply that ended gets its final invoice once its data is there (after the corrections: they never see it as a change).
      await onFinalInvoiceInput(finalDeps, envelope, tx);
    },
  });

  const meteredData = await startMeteredDataConsumer({ connection: amqp, pool, store, exchange, now: () => infrastructure.clock.now() });

  // The workers of this process share their run's prices, resolved once per set of charges (settle.ts).
  const workerDeps = { ...deps, runPrices: new RunPriceCache(), now: () => infrastructure.clock.now() };
  const workBatchSize = Math.max(1, options.workBatchSize ?? DEFAULT_WORK_BATCH_SIZE);
  const workers: RunningConsumer[] = [];
  for (let i = 0; i < (options.workers ?? 2); i++) {
    workers.push(
      await startConsumer({
        connection: amqp,
        pool,
        queue: SETTLEMENT_WORK_QUEUE,
        consumerName: SETTLEMENT_WORK_QUEUE,
        bindings: ['settlement.settlement-work-item-scheduled'],
        exchange,
        schema: SETTLEMENT_SCHEMA,
        singleActiveConsumer: false,
        // Up to workBatchSize items in one inbox transaction (their invoices in one append, their counts at its end).
        // Twice that many delivered: the next batch is here while one is in its transaction (with prefetch = batch, the
        // broker sent the next items only after the ack, and those arriving split over reads made batches of 19 and 1).
        // One item per transaction keeps prefetch 1: an item held in its transaction then holds back only itself.
        prefetch: workBatchSize > 1 ? 2 * workBatchSize : 1,
        batchSize: workBatchSize,
        backoff: { initialDelayMs: 200, factor: 2, maxDelayMs: 5000 },
        handler: (envelope, tx) => handleWorkItem(workerDeps, envelope, tx),
        batchHandler: (items, tx) => handleWorkItems(workerDeps, items.map((i) => i.envelope), tx),
      }),
    );
  }

  const payments = await startPayments(infrastructure, options.payments);
  const corrections = startCorrectionWorker(deps, pool, { ...(options.payments?.logger ? { logger: options.payments.logger } : {}), ...options.corrections });

  // A run whose scheduling a crash interrupted is finished here (the run's row lock lets replicas take turns).
  const runDeps = { store, pool, ...(options.runBatchSize ? { batchSize: options.runBatchSize } : {}), ...(options.runStalledAfterMs !== undefined ? { stalledAfterMs: options.runStalledAfterMs } : {}) };
  const resumed = resumeScheduling(runDeps, infrastructure.clock.now()).catch((error: unknown) => {
    options.payments?.logger?.warn(`resuming settlement run scheduling failed: ${error instanceof Error ? error.message : String(error)}`);
  });

  // Runs of closed periods start on the business clock, one process at a time (advisory lock), after resumed scheduling.
  const schedule = startRunScheduler(
    {
      ...runDeps,
      now: () => infrastructure.clock.now(),
      settings: { ...DEFAULT_RUN_SCHEDULE, ...(options.schedule?.settings ?? {}) },
      ...(options.schedule?.logger ? { logger: options.schedule.logger } : {}),
    },
    options.schedule?.intervalMs ?? 0,
    // Waiting final invoices whose supply has ended, on the same timer.
    () => retryFinalInvoices({ ...finalDeps, pool }),
  );

  // Halts recorded before the list of halted items existed are listed once (halted-items.ts), beside the start.
  const earlierHalts = listEarlierHalts({ store, pool }, infrastructure.clock.now()).then(
    (listed) => {
      if (listed !== null && listed > 0) options.haltRetry?.logger?.log(`settlement halted items: ${listed} halts recorded before the list existed are listed now`);
    },
    (error: unknown) => options.haltRetry?.logger?.warn(`listing halts recorded before the list existed failed (tried again at the next start): ${error instanceof Error ? error.message : String(error)}`),
  );

  // Halted items whose missing input arrived: a retry run per period, one process at a time (advisory lock).
  const haltRetries = startHaltRetries(
    { ...runDeps, now: () => infrastructure.clock.now(), ...(options.haltRetry?.logger ? { logger: options.haltRetry.logger } : {}) },
    options.haltRetry?.intervalMs ?? 0,
  );

  let server: CommandServer | null = null;
  if (options.commands ?? true) {
    server = new CommandServer({ connection: amqp });
    const metaOf = (context: CommandContext): CommandMeta => ({ correlationId: context.correlationId, causationId: context.causationId, actor: context.actor ?? 'unknown', now: infrastructure.clock.now() });
    await server.handle('settlement', {
      RecordMeteredData: async (payload: JsonValue, context) => asCommandReply(() => recordMeteredData(store, payload, metaOf(context))),
      RecordAcontoPayment: async (payload: JsonValue, context) => asCommandReply(() => recordAcontoPayment(store, payload, metaOf(context))),
      SetExpectedConsumption: async (payload: JsonValue, context) => asCommandReply(() => setExpectedConsumption(store, payload, metaOf(context))),
      AcknowledgeNoteExport: async (payload: JsonValue, context) => asCommandReply(async () => ({ ...(await acknowledgeNoteExport(store, payload, metaOf(context))) })),
      ...paymentCommandHandlers(store, pool, metaOf),
      // Read-only queries for the dispute desk (and dry runs of corrections): nothing is appended.
      ExplainInvoice: async (payload: JsonValue) => {
        const invoiceId = invoiceIdOfPayload(payload);
        const now = new Date(Math.max(Date.now(), infrastructure.clock.now().getTime()));
        const explanation = await explainIssuedInvoice(deps, pool, invoiceId, now);
        if (explanation === null) throw new CommandError('not-found', `No issued invoice ${invoiceId}`);
        return replyJson(explanation);
      },
      RecomputeInvoice: async (payload: JsonValue) => {
        const invoiceId = invoiceIdOfPayload(payload);
        const raw = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? payload['asOf'] : undefined;
        const asOf = typeof raw === 'string' ? new Date(raw) : new Date(Math.max(Date.now(), infrastructure.clock.now().getTime()));
        if (Number.isNaN(asOf.getTime())) throw new CommandError('validation', 'asOf must be an ISO instant');
        const recomputation = await recomputeInvoiceDryRun(deps, pool, invoiceId, asOf);
        if (recomputation === null) throw new CommandError('not-found', `No issued invoice ${invoiceId}`);
        return replyJson(recomputation);
      },
      // Dry runs of a customer's invoices and/or a period's, a page at a time (read only).
      RecomputeInvoices: async (payload: JsonValue) => {
        const p = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? payload : {};
        const text = (k: string): string | null => (typeof p[k] === 'string' && p[k] !== '' ? (p[k] as string) : null);
        const customerId = text('customerId');
        const periodLabel = text('period');
        if (customerId === null && periodLabel === null) throw new CommandError('validation', 'name a customerId, a period or both');
        if (periodLabel !== null && !/^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$/.test(periodLabel)) throw new CommandError('validation', 'period must be a label like 2026-10 or 2026-Q4');
        const after = text('after');
        if (after !== null && !UUID.test(after)) throw new CommandError('validation', 'after must be an invoice id');
        const limit = typeof p['limit'] === 'number' && Number.isSafeInteger(p['limit']) && p['limit'] > 0 ? p['limit'] : 20;
        const asOf = text('asOf') !== null ? new Date(text('asOf')!) : new Date(Math.max(Date.now(), infrastructure.clock.now().getTime()));
        if (Number.isNaN(asOf.getTime())) throw new CommandError('validation', 'asOf must be an ISO instant');
        return replyJson(await recomputeInvoicesDryRun(deps, pool, { customerId, periodLabel, after, limit }, asOf));
      },
      // Applies a dry run of RecomputeInvoice: issues exactly its note, once (staff through the gateway, audited there).
      ApplyInvoiceRecomputation: async (payload: JsonValue, context) => {
        const invoiceId = invoiceIdOfPayload(payload);
        const p = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? payload : {};
        const asOf = typeof p['asOf'] === 'string' ? new Date(p['asOf']) : new Date(NaN);
        if (Number.isNaN(asOf.getTime())) throw new CommandError('validation', 'asOf must be the ISO instant of the dry run');
        const revision = p['basedOnRevision'];
        if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 0) throw new CommandError('validation', 'basedOnRevision must be the revision the dry run answered');
        const applied = await applyRecomputation(deps, pool, { invoiceId, asOf, basedOnRevision: revision, actor: context.actor ?? 'unknown', correlationId: context.correlationId, causationId: context.causationId });
        if (applied === null) throw new CommandError('not-found', `No issued invoice ${invoiceId}`);
        if (applied.outcome === 'stale') throw new CommandError('recomputation-stale', `invoice ${invoiceId} changed since the dry run (revision ${applied.currentRevision}, not ${revision}): dry-run again`, { currentRevision: applied.currentRevision });
        return replyJson(applied);
      },
      StartSettlementRun: async (payload: JsonValue, context) => {
        const result = await asCommandReply(() => startSettlementRun(runDeps, payload, metaOf(context)));
        return { ...result, period: { ...result.period } };
      },
    });
  }

  return {
    inputs,
    meteredData,
    workers,
    runPrices: workerDeps.runPrices,
    payments,
    schedule,
    corrections,
    retryFinalInvoices: () => retryFinalInvoices({ ...finalDeps, pool }),
    haltRetries,
    async stop() {
      await resumed;
      await earlierHalts;
      await schedule.stop();
      await haltRetries.stop();
      await corrections.stop();
      await server?.close();
      await payments.stop();
      for (const w of workers) await w.stop();
      await meteredData.stop();
      await inputs.stop();
    },
  };
}
