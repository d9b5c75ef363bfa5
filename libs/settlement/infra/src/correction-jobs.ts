import type { Pool, PoolClient } from 'pg';
import type { EventEnvelope } from '@dh/messaging';
import { DEFAULT_RATES_CONFIG, nameBasedUuid, type SettlementRatesConfig } from '@dh/settlement-application';
import { isCopyable } from './copies';
import { SourceEventLookups } from './correction-causation';
import { correctInvoice, type CorrectionCause, type CorrectionTrigger, type SettleDeps } from './settle';

type Db = Pick<PoolClient, 'query'>;

/**
 * Which issued invoices a publication can change (issue 9: "a publication re-settles only the invoices that use
 * what changed"), evaluated page by page against `settlement.invoices`:
 * - `price-area-day`: a day's spot prices of one price area;
 * - `validity`: charge prices or a tax rate valid in `ranges`; `chargeId` null = every invoice in the ranges
 *   (the electricity tax, Energinet's national charges), else only the invoices of the grid areas mapped to that
 *   charge and of the metering points DataHub links it to;
 * - `product`: a product's prices from a date: the invoices of the customer supplies on that product;
 * - `fee`: a fee's (D02) master data (RSM-034 D18, its `VATPayer`) from an instant: the invoices of the metering points
 *   with a link of that fee dated (the link's own start, the fee's date) inside the invoice's period and `[from, to)`
 *   (instants, as the copy keeps them): the D18's own validity from `publicationJobOf`, the instants whose
 *   `VATPayer` it changed once the job is recorded (`feeJobAfterCopy`).
 */
export type CorrectionSelector =
  | { kind: 'price-area-day'; priceArea: string; day: string }
  | { kind: 'validity'; ranges: { from: string; to: string | null }[]; chargeId: string | null }
  | { kind: 'product'; productId: string; from: string }
  | { kind: 'fee'; chargeId: string; from: string; to: string | null };

export interface CorrectionJobSpec {
  cause: CorrectionCause;
  selector: CorrectionSelector;
}

/**
 * The supplier's choice of which publications correct issued invoices by themselves. Market inputs (spot prices, grid
 * and Energinet charges, the electricity tax, DataHub's data) always do: the customer must pay what the market
 * settled. Our own product prices are a commercial decision: `automatic` (the default) corrects every invoice of the
 * product at once, like a market price; `review` issues nothing by itself: staff find the invoices with a
 * recomputation dry run (`RecomputeInvoice(s)`, the note's lines with the product price's old and new version as
 * cause) and apply it per invoice (`ApplyInvoiceRecomputation`, once), or leave it.
 */
export type ProductPriceCorrections = 'automatic' | 'review';
export const PRODUCT_PRICE_CORRECTIONS: readonly ProductPriceCorrections[] = ['automatic', 'review'];

export interface CorrectionPolicy {
  productPrices: ProductPriceCorrections;
}

export const DEFAULT_CORRECTION_POLICY: CorrectionPolicy = Object.freeze({ productPrices: 'automatic' });

/**
 * The correction job a publication calls for, or null when the event is not a publication or the policy leaves it
 * for review (a product's prices under `review`).
 */
export function publicationJobOf(envelope: EventEnvelope, config: SettlementRatesConfig = DEFAULT_RATES_CONFIG, policy: CorrectionPolicy = DEFAULT_CORRECTION_POLICY): CorrectionJobSpec | null {
  if (!isCopyable(envelope)) return null;
  const d = envelope.data as Record<string, unknown>;
  switch (envelope.type) {
    case 'SpotPricesPublished':
      return { cause: 'price', selector: { kind: 'price-area-day', priceArea: String(d.priceArea), day: String(d.deliveryDate) } };
    case 'ChargePricesPublished':
    case 'ElectricityTaxRateSet': {
      const rows =
        envelope.type === 'ChargePricesPublished'
          ? (d.rows as { validFrom: string; validTo: string | null }[])
          : [{ validFrom: d.validFrom as string, validTo: (d.validTo as string | null | undefined) ?? null }];
      const national = Object.values(config.national) as string[];
      const chargeId = envelope.type === 'ChargePricesPublished' && !national.includes(d.chargeId as string) ? (d.chargeId as string) : null;
      return { cause: 'price', selector: { kind: 'validity', ranges: rows.map((r) => ({ from: r.validFrom, to: r.validTo ?? null })), chargeId } };
    }
    case 'ProductDefined':
      if (policy.productPrices === 'review') return null;
      return { cause: 'price', selector: { kind: 'product', productId: String(d.productId), from: String(d.validFrom) } };
    case 'ChargeInformationRecorded':
      // A fee's master data (its VATPayer: D02 = no VAT) prices the fee's VAT on the invoices that carry it: a change
      // after invoicing corrects them, with the fee as the cause like a new price version or link of it. Other charge
      // types' VATPayer prices nothing (their lines always carry VAT), so their master data is no correction cause.
      if (d.chargeType !== 'D02' || typeof d.chargeId !== 'string' || typeof d.from !== 'string') return null;
      return { cause: 'price', selector: { kind: 'fee', chargeId: d.chargeId, from: d.from, to: typeof d.to === 'string' ? d.to : null } };
    default:
      return null;
  }
}

export const correctionJobIdOf = (causeEventId: string): string => nameBasedUuid('correction-job', causeEventId);

/** A fee's master-data copy as the invoices read it: its rows' validity and `VATPayer` (see `vatExemptAt`). */
export type FeeVatPayers = { validFrom: number; validTo: number | null; vatPayer: string | null }[];

/**
 * The stored master data of the fee a D02 charge's `ChargeInformationRecorded` is about, read before it is copied
 * (null for any other event): `feeJobAfterCopy` compares it with the copy once written.
 */
export async function feeVatPayersBefore(tx: Db, envelope: EventEnvelope): Promise<FeeVatPayers | null> {
  const d = envelope.data as Record<string, unknown>;
  if (envelope.type !== 'ChargeInformationRecorded' || d.chargeType !== 'D02' || typeof d.chargeId !== 'string') return null;
  return feeVatPayersOf(tx, d.chargeId);
}

async function feeVatPayersOf(db: Db, chargeId: string): Promise<FeeVatPayers> {
  const { rows } = await db.query<{ valid_from: Date; valid_to: Date | null; vat_payer: string | null }>(
    `SELECT valid_from, valid_to, vat_payer FROM settlement.datahub_charge_information WHERE charge_id = $1 ORDER BY valid_from`,
    [chargeId],
  );
  return rows.map((r) => ({ validFrom: r.valid_from.getTime(), validTo: r.valid_to === null ? null : r.valid_to.getTime(), vatPayer: r.vat_payer }));
}

/**
 * Whether a fee linked at `at` is priced without VAT: the row in force then with the latest start (`loadPointCopies`'
 * rule) says `D02`. That is all an invoice reads of `VATPayer` (`settlement-input`: `vatExempt` only for `D02`), so
 * `D01`, none and no row in force are the same to it.
 */
function vatExemptAt(rows: FeeVatPayers, at: number): boolean {
  let found: FeeVatPayers[number] | null = null;
  for (const r of rows) if (r.validFrom <= at && (r.validTo === null || r.validTo > at) && (found === null || r.validFrom > found.validFrom)) found = r;
  return found?.vatPayer === 'D02';
}

/**
 * The job a fee's D18 records, once copied: null when it changed the `VATPayer` of no instant (a D18 resent, an older
 * one redelivered: the copy keeps the newer, or one that changes only the name, description or other fields the
 * invoices do not read); else the job with the selector's `[from, to)` set to the instants whose `VATPayer` changed
 * (`feeVatPayerChangeRange`), not the D18's own validity: a D18 that shortens or lengthens a row changes the row in
 * force after its new or old end, outside its own `[from, to)`. Any other job is returned as it is.
 */
export async function feeJobAfterCopy(tx: Db, job: CorrectionJobSpec, before: FeeVatPayers | null): Promise<CorrectionJobSpec | null> {
  if (job.selector.kind !== 'fee' || before === null) return job;
  const range = feeVatPayerChangeRange(before, await feeVatPayersOf(tx, job.selector.chargeId));
  if (range === null) return null;
  return { ...job, selector: { ...job.selector, from: new Date(range.from).toISOString(), to: range.to === null ? null : new Date(range.to).toISOString() } };
}

/**
 * The smallest `[from, to)` (`to` null = open) holding every instant whose `VATPayer`, as the invoices read it (with or
 * without VAT, {@link vatExemptAt}), differs between two states of a fee's master data, or null when none does. Between
 * consecutive row starts and ends (of either state) the row in force is constant in both states: each such segment is
 * compared once.
 */
export function feeVatPayerChangeRange(before: FeeVatPayers, after: FeeVatPayers): { from: number; to: number | null } | null {
  const instants = [...new Set([...before, ...after].flatMap((r) => (r.validTo === null ? [r.validFrom] : [r.validFrom, r.validTo])))].sort((a, b) => a - b);
  const changed = instants.map((at, i) => ({ from: at, to: instants[i + 1] ?? null })).filter((s) => vatExemptAt(before, s.from) !== vatExemptAt(after, s.from));
  const first = changed[0];
  const last = changed.at(-1);
  return first === undefined || last === undefined ? null : { from: first.from, to: last.to };
}

/**
 * Records the correction job of a publication in the inputs consumer's transaction: one row, whatever the
 * number of invoices it touches (the worker below pages them). A redelivered event records nothing twice.
 */
export async function recordCorrectionJob(tx: Db, envelope: EventEnvelope, spec: CorrectionJobSpec): Promise<void> {
  const trigger: CorrectionTrigger = { eventId: envelope.eventId, recordedAt: envelope.recordedAt, metadata: { correlationId: envelope.metadata.correlationId } };
  await tx.query(
    `INSERT INTO settlement.correction_jobs (job_id, cause_event_id, cause_type, cause, selector, trigger) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (job_id) DO NOTHING`,
    [correctionJobIdOf(envelope.eventId), envelope.eventId, envelope.type, spec.cause, JSON.stringify(spec.selector), JSON.stringify(trigger)],
  );
}

/** The next invoices of a selector after `after` (invoice id order), at most `limit`. */
export async function invoicePage(db: Db, selector: CorrectionSelector, after: string | null, limit: number): Promise<string[]> {
  const page = async (where: string, params: unknown[]): Promise<string[]> =>
    (
      await db.query<{ invoice_id: string }>(
        `SELECT i.invoice_id::text AS invoice_id FROM settlement.invoices i WHERE (${where}) AND ($1::uuid IS NULL OR i.invoice_id > $1::uuid) ORDER BY i.invoice_id LIMIT $2`,
        [after, limit, ...params],
      )
    ).rows.map((r) => r.invoice_id);
  switch (selector.kind) {
    case 'price-area-day':
      return page(`i.price_area = $3 AND i.period_from <= $4 AND i.period_to > $4`, [selector.priceArea, selector.day]);
    case 'validity':
      return page(
        `EXISTS (SELECT 1 FROM unnest($3::text[], $4::text[]) AS r(valid_from, valid_to) WHERE i.period_to > r.valid_from AND (r.valid_to IS NULL OR i.period_from < r.valid_to))
         AND ($5::text IS NULL
           OR i.grid_area IN (SELECT grid_area FROM settlement.grid_areas WHERE grid_tariff_charge_id = $5 OR grid_subscription_charge_id = $5)
           OR EXISTS (SELECT 1 FROM settlement.datahub_charge_links l WHERE l.gsrn = i.gsrn AND l.charge_id = $5))`,
        [selector.ranges.map((r) => r.from), selector.ranges.map((r) => r.to), selector.chargeId],
      );
    case 'product':
      return page(
        `i.period_to > $4 AND EXISTS (SELECT 1 FROM settlement.supplies s WHERE s.gsrn = i.gsrn AND s.customer_id = i.customer_id AND s.product_id = $3 AND NOT s.reversed)`,
        [selector.productId, selector.from],
      );
    case 'fee':
      // The fee is on an invoice when its link's own start (the fee's date, a local day) is one of the period's days.
      return page(
        `EXISTS (SELECT 1 FROM settlement.datahub_charge_links l WHERE l.gsrn = i.gsrn AND l.charge_id = $3 AND l.charge_type = 'D02'
           AND l.link_from >= $4::timestamptz AND ($5::timestamptz IS NULL OR l.link_from < $5::timestamptz)
           AND l.link_from >= (i.period_from::date::timestamp AT TIME ZONE 'Europe/Copenhagen')
           AND l.link_from < (i.period_to::date::timestamp AT TIME ZONE 'Europe/Copenhagen'))`,
        [selector.chargeId, selector.from, selector.to],
      );
  }
}

interface JobRow {
  job_id: string;
  cause: CorrectionCause;
  selector: CorrectionSelector;
  trigger: CorrectionTrigger;
  cursor_invoice: string | null;
}

export interface CorrectionPageOptions {
  /** Invoices corrected per transaction (default 100). */
  pageSize?: number;
  /** Called after each invoice of a page, inside its transaction (tests simulate a crash here). */
  afterInvoice?: (invoiceId: string, outcome: 'issued' | 'unchanged' | 'halted') => Promise<void> | void;
  /** The job's lookups kept across its pages (`runCorrectionJobs` keeps one); without it, each page its own. */
  lookups?: CorrectionJobLookups;
}

/**
 * The source lookups of the job being corrected (`SourceEventLookups`), kept from page to page while the worker stays
 * on that job and dropped when it takes another: one job's lookups at a time, never shared between jobs.
 */
export class CorrectionJobLookups {
  private current: { jobId: string; lookups: SourceEventLookups } | null = null;

  constructor(private readonly maxEntries?: number) {}

  forJob(jobId: string): SourceEventLookups {
    if (this.current?.jobId !== jobId) this.current = { jobId, lookups: new SourceEventLookups(this.maxEntries) };
    return this.current.lookups;
  }
}

export type CorrectionPageResult = { jobId: string; invoices: number; issued: number; done: boolean } | null;

export const DEFAULT_CORRECTION_PAGE_SIZE = 100;

/**
 * One bounded transaction of the correction worker: takes the oldest unfinished job (row locked, `SKIP LOCKED`
 * so replicas share the jobs), corrects the next page of its invoices after the cursor (`correctInvoice`: the
 * note id derives from the publication and the invoice, so a page redone after a crash issues nothing twice;
 * an invoice already corrected recomputes to no difference) and moves the cursor in the same transaction.
 * Null when no job is waiting. Invoices issued after the publication was copied either used it or were
 * corrected by their own work item (`pricesNewerThan`), so a cursor that has passed them misses nothing.
 */
export async function correctNextPage(deps: SettleDeps, pool: Pool, options: CorrectionPageOptions = {}): Promise<CorrectionPageResult> {
  const pageSize = Math.max(1, options.pageSize ?? DEFAULT_CORRECTION_PAGE_SIZE);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const job = (
      await client.query<JobRow>(
        `SELECT job_id::text AS job_id, cause, selector, trigger, cursor_invoice::text AS cursor_invoice FROM settlement.correction_jobs
          WHERE NOT done ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED`,
      )
    ).rows[0];
    if (job === undefined) {
      await client.query('COMMIT');
      return null;
    }
    const ids = await invoicePage(client, job.selector, job.cursor_invoice, pageSize);
    const lookups = options.lookups?.forJob(job.job_id) ?? new SourceEventLookups();
    let issued = 0;
    for (const id of ids) {
      const outcome = await correctInvoice(deps, client, id, job.trigger, job.cause, lookups);
      if (outcome === 'issued') issued++;
      await options.afterInvoice?.(id, outcome);
    }
    const done = ids.length < pageSize;
    await client.query(
      `UPDATE settlement.correction_jobs SET cursor_invoice = coalesce($2::uuid, cursor_invoice), pages = pages + 1, invoices = invoices + $3, issued = issued + $4,
         done = $5, finished_at = CASE WHEN $5 THEN now() END WHERE job_id = $1`,
      [job.job_id, ids.at(-1) ?? null, ids.length, issued, done],
    );
    await client.query('COMMIT');
    return { jobId: job.job_id, invoices: ids.length, issued, done };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Runs pages until no job is waiting (or `maxPages`); the number of pages committed. */
export async function runCorrectionJobs(deps: SettleDeps, pool: Pool, options: CorrectionPageOptions & { maxPages?: number } = {}): Promise<number> {
  const paged = { ...options, lookups: options.lookups ?? new CorrectionJobLookups() };
  let pages = 0;
  while (options.maxPages === undefined || pages < options.maxPages) {
    const page = await correctNextPage(deps, pool, paged);
    if (page === null) break;
    pages++;
  }
  return pages;
}

export interface CorrectionWorkerOptions {
  /** How often the worker looks for waiting jobs, ms (default 500; 0 = no timer: `runPending` only). */
  intervalMs?: number;
  pageSize?: number;
  logger?: { warn(message: string): void };
}

export interface CorrectionWorker {
  /** Runs every waiting job to its end now (what the timer does). */
  runPending(): Promise<number>;
  stop(): Promise<void>;
}

/** The correction worker of a settlement process: every `intervalMs`, the waiting jobs page by page. */
export function startCorrectionWorker(deps: SettleDeps, pool: Pool, options: CorrectionWorkerOptions = {}): CorrectionWorker {
  let pass: Promise<number> | null = null;
  const runPending = (): Promise<number> => {
    pass ??= runCorrectionJobs(deps, pool, options.pageSize !== undefined ? { pageSize: options.pageSize } : {}).finally(() => {
      pass = null;
    });
    return pass;
  };
  const intervalMs = options.intervalMs ?? 500;
  const timer =
    intervalMs > 0
      ? setInterval(() => {
          if (pass !== null) return;
          // A failed page (a note appended concurrently on the same invoice) is rolled back and redone on the next tick.
          runPending().catch((error: unknown) => options.logger?.warn(`settlement correction job: ${error instanceof Error ? error.message : String(error)}`));
        }, intervalMs)
      : null;
  return {
    runPending,
    async stop() {
      if (timer !== null) clearInterval(timer);
      await pass?.catch(() => undefined);
    },
  };
}
