import { Logger, Module } from '@nestjs/common';
import { runEventRelay, type ServiceDefinition } from '@dh/platform';
import { DEFAULT_RATES_CONFIG } from '@dh/settlement-application';
import { isVatMode, VAT_MODES, type VatMode } from '@dh/settlement-domain';
import { DEFAULT_RUN_SCHEDULE, DEFAULT_RUN_STALLED_AFTER_MS, DEFAULT_WORK_BATCH_SIZE, PRODUCT_PRICE_CORRECTIONS, startSettlementRuntime, type ProductPriceCorrections, type RunScheduleSettings } from '@dh/settlement-infra';

/** `SETTLEMENT_VAT_MODE`: unset or empty = `per-line`; anything else unknown refuses to start (never a silent default on money). */
export function vatModeFromEnvironment(value: string | undefined): VatMode {
  if (value === undefined || value === '') return 'per-line';
  if (!isVatMode(value)) throw new Error(`SETTLEMENT_VAT_MODE=${JSON.stringify(value)} is not one of ${VAT_MODES.join(', ')}`);
  return value;
}

/**
 * `SETTLEMENT_PRODUCT_PRICE_CORRECTIONS`: unset or empty = `automatic` (a product's new prices correct its issued invoices
 * at once); `review` leaves them for staff (recomputation dry run, then apply); anything else refuses to start.
 */
export function productPriceCorrectionsFromEnvironment(value: string | undefined): ProductPriceCorrections {
  if (value === undefined || value === '') return 'automatic';
  const known = PRODUCT_PRICE_CORRECTIONS.find((p) => p === value);
  if (known === undefined) throw new Error(`SETTLEMENT_PRODUCT_PRICE_CORRECTIONS=${JSON.stringify(value)} is not one of ${PRODUCT_PRICE_CORRECTIONS.join(', ')}`);
  return known;
}

function nonNegativeInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name}=${JSON.stringify(raw)} must be a non-negative integer`);
  return value;
}

/** The scheduler's pass every minute unless `SETTLEMENT_SCHEDULE_INTERVAL_MS` says otherwise (explicit 0 = off). */
export const DEFAULT_SCHEDULE_INTERVAL_MS = 60_000;
/** The halted-item retry pass every 30 s unless `SETTLEMENT_HALT_RETRY_INTERVAL_MS` says otherwise (explicit 0 = off). */
export const DEFAULT_HALT_RETRY_INTERVAL_MS = 30_000;

/**
 * The run scheduler's settings: `SETTLEMENT_SCHEDULE_INTERVAL_MS` (a pass every n ms; unset = every 60 s, so a
 * deployment schedules by default; an explicit 0 turns it off, as tests and tools that settle by hand on the wall
 * clock do),
 * `SETTLEMENT_DATA_DEADLINE_BUSINESS_DAYS` (default 5), `SETTLEMENT_LATER_RUN_DAYS` (default 10),
 * `SETTLEMENT_SCHEDULE_LOOKBACK_DAYS` (default 45). A value that is not a non-negative integer refuses to start.
 */
export function runScheduleFromEnvironment(env: NodeJS.ProcessEnv): { intervalMs: number; settings: RunScheduleSettings } {
  return {
    intervalMs: nonNegativeInteger(env, 'SETTLEMENT_SCHEDULE_INTERVAL_MS', DEFAULT_SCHEDULE_INTERVAL_MS),
    settings: {
      dataDeadlineBusinessDays: nonNegativeInteger(env, 'SETTLEMENT_DATA_DEADLINE_BUSINESS_DAYS', DEFAULT_RUN_SCHEDULE.dataDeadlineBusinessDays),
      laterRunDays: nonNegativeInteger(env, 'SETTLEMENT_LATER_RUN_DAYS', DEFAULT_RUN_SCHEDULE.laterRunDays),
      lookbackDays: nonNegativeInteger(env, 'SETTLEMENT_SCHEDULE_LOOKBACK_DAYS', DEFAULT_RUN_SCHEDULE.lookbackDays),
    },
  };
}

/** `SETTLEMENT_RUN_STALLED_AFTER_MS`: a run without progress this long on the business clock no longer holds back later runs of its period (default one hour; 0 = never). */
export function runStalledAfterFromEnvironment(env: NodeJS.ProcessEnv): number {
  return nonNegativeInteger(env, 'SETTLEMENT_RUN_STALLED_AFTER_MS', DEFAULT_RUN_STALLED_AFTER_MS);
}

/** `SETTLEMENT_HALT_RETRY_INTERVAL_MS`: the retry pass of halted items every n ms (unset = every 30 s; an explicit 0 turns it off). */
export function haltRetryIntervalFromEnvironment(env: NodeJS.ProcessEnv): number {
  return nonNegativeInteger(env, 'SETTLEMENT_HALT_RETRY_INTERVAL_MS', DEFAULT_HALT_RETRY_INTERVAL_MS);
}

@Module({})
class SettlementModule {}

/**
 * Settlement: metered data, settlement runs, invoices, aconto and corrections. Commands
 * (`RecordMeteredData`, `StartSettlementRun`, `RecordAcontoPayment`, `RecordPayment`, `MatchPayment`) arrive over RabbitMQ; the
 * inputs consumer keeps settlement's copies and issues corrections; `SETTLEMENT_WORKERS` competing
 * workers (default 2) settle the `settlement.work` queue; a scheduler starts the runs of closed periods on the business clock (`SETTLEMENT_SCHEDULE_*`); `SETTLEMENT_VAT_MODE` chooses how VAT is computed on invoices. Runs a standby relay like every writing service.
 */
export const settlementService: ServiceDefinition = {
  name: 'settlement',
  defaultPort: 3004,
  module: () => ({ module: SettlementModule }),
  async start(infrastructure) {
    const workers = Number(process.env.SETTLEMENT_WORKERS ?? '2');
    const termsDays = Number(process.env.PAYMENT_TERMS_DAYS ?? '14');
    const runBatchSize = Number(process.env.SETTLEMENT_RUN_BATCH_SIZE ?? '500');
    const workBatchSize = Number(process.env.SETTLEMENT_WORK_BATCH_SIZE ?? String(DEFAULT_WORK_BATCH_SIZE));
    const overdueIntervalMs = Number(process.env.PAYMENT_OVERDUE_CHECK_INTERVAL_MS ?? '60000');
    const correctionPageSize = Number(process.env.SETTLEMENT_CORRECTION_PAGE_SIZE ?? '100');
    const runtime = await startSettlementRuntime(infrastructure, {
      workers: Number.isInteger(workers) && workers >= 0 ? workers : 2,
      // VAT on invoices: `per-line` (default; 25 % of each rounded line) or `invoice-subtotal` (25 % of the subtotal, allocated back to the lines).
      config: { ...DEFAULT_RATES_CONFIG, vatMode: vatModeFromEnvironment(process.env.SETTLEMENT_VAT_MODE) },
      // Work items per batch of a run: its own stream, one counter row (SETTLEMENT_RUN_BATCH_SIZE, default 500).
      runBatchSize: Number.isInteger(runBatchSize) && runBatchSize >= 1 ? runBatchSize : 500,
      // Work items a worker settles in one transaction (SETTLEMENT_WORK_BATCH_SIZE, default 100).
      workBatchSize: Number.isInteger(workBatchSize) && workBatchSize >= 1 ? workBatchSize : DEFAULT_WORK_BATCH_SIZE,
      // Runs of closed periods on the business clock (SETTLEMENT_SCHEDULE_*; a pass every 60 s unless SETTLEMENT_SCHEDULE_INTERVAL_MS says otherwise, 0 = off).
      schedule: { ...runScheduleFromEnvironment(process.env), logger: new Logger('settlement-schedule') },
      // Corrections of a publication (spot, charge, tax, product): SETTLEMENT_CORRECTION_PAGE_SIZE invoices per transaction (default 100).
      // A product's new prices: corrected at once, or left for staff review (SETTLEMENT_PRODUCT_PRICE_CORRECTIONS=automatic|review).
      corrections: {
        pageSize: Number.isInteger(correctionPageSize) && correctionPageSize >= 1 ? correctionPageSize : 100,
        logger: new Logger('settlement-corrections'),
        policy: { productPrices: productPriceCorrectionsFromEnvironment(process.env.SETTLEMENT_PRODUCT_PRICE_CORRECTIONS) },
      },
      // Halted metering points retried when their missing input arrived (SETTLEMENT_HALT_RETRY_INTERVAL_MS; every 30 s by default, 0 = off).
      haltRetry: { intervalMs: haltRetryIntervalFromEnvironment(process.env), logger: new Logger('settlement-halt-retry') },
      // A run without progress for SETTLEMENT_RUN_STALLED_AFTER_MS (default one hour on the business clock) no longer holds back later runs of its period.
      runStalledAfterMs: runStalledAfterFromEnvironment(process.env),
      // Payments: due date = issue date + PAYMENT_TERMS_DAYS (default 14); overdue check every PAYMENT_OVERDUE_CHECK_INTERVAL_MS (default 60 s).
      payments: {
        termsDays: Number.isInteger(termsDays) && termsDays >= 0 ? termsDays : 14,
        overdueIntervalMs: Number.isInteger(overdueIntervalMs) && overdueIntervalMs >= 0 ? overdueIntervalMs : 60_000,
        logger: new Logger('settlement-payments'),
        // Debt collection: cases are handed to the agency's API (COLLECTION_AGENCY_URL, key COLLECTION_AGENCY_API_KEY); without it they are opened and wait.
        collectionAgency:
          process.env.COLLECTION_AGENCY_URL && process.env.COLLECTION_AGENCY_API_KEY ? { url: process.env.COLLECTION_AGENCY_URL, apiKey: process.env.COLLECTION_AGENCY_API_KEY } : null,
      },
    });
    const stopRelay = await runEventRelay(infrastructure);
    return async () => {
      await runtime.stop();
      await stopRelay();
    };
  },
};
