import type { PoolClient } from 'pg';
import { localDateOf, localDayStart } from '@dh/dk-time';
import { DuplicateEventIdError, WrongExpectedRevisionError, type EventStore, type RecordedEvent, type StreamAppend } from '@dh/event-store';
import type { EventEnvelope } from '@dh/messaging';
import { Money, parseQuantityMilliKwh } from '@dh/money';
import {
  acontoSettlement,
  creditInFull,
  diffInvoices,
  meteredQuantitiesOf,
  packedQuantitiesOf,
  resolvePeriodPrices,
  settleMeteringPoint,
  settleMeteringPointOnPrices,
  type BillingPeriod,
  type Invoice,
  type MeteredQuantities,
  type PackedMeteredDay,
  type PeriodPrices,
  type SettlementHalted,
  type SettlementInput,
  type SettlementResult,
} from '@dh/settlement-domain';
import {
  DEFAULT_RATES_CONFIG,
  buildPointInput,
  buildSettlementInput,
  customerSuppliesInPeriod,
  dataOf,
  suppliesInPeriod,
  haltDetail,
  invoiceFromJson,
  invoiceIdOf,
  invoiceStreamId,
  lineToJson,
  nameBasedUuid,
  noteIdOf,
  noteLinesToJson,
  parsePeriodLabel,
  periodDates,
  periodLabel,
  periodLastDay,
  settlementMetadata,
  toJsonObject,
  totalsToJson,
  type InvoiceIssued,
  type SettlementCorrectionIssued,
  type SettlementHaltedForMeteringPoint,
  type BuiltInput,
  type PointInput,
  type SettlementCopies,
  type SettlementRatesConfig,
  type SettlementWorkItemScheduled,
} from '@dh/settlement-application';
import { afterAcontoSettlement } from './aconto';
import { loadCopies, loadCopiesOf, loadSharedPriceCopies, type SharedPriceCopies } from './copies';
import { acontoPaidFor } from './aconto-paid';
import { noteCausation, type SourceEventLookups } from './correction-causation';
import { lockForWorkItems, pricesNewerThan } from './input-locks';
import { recordItemOutcomes, type CountedOutcome, type ItemOutcome } from './run';

export interface SettleDeps {
  store: EventStore;
  config?: SettlementRatesConfig;
  /** The worker's run prices (see `RunPriceCache`); without it every item resolves its own prices. */
  runPrices?: RunPriceCache;
  /** The business clock: when a work item's outcome is recorded (a run's progress), what a correction knows; the wall clock without it. */
  now?: () => Date;
}

type Db = Pick<PoolClient, 'query'>;

export type Settled = { outcome: 'settled'; invoice: Invoice; customerId: string; paymentModel: 'aconto' | 'actual'; gridArea: string; priceArea: string; productionGsrn: string | null };

function settleBuilt(deps: SettleDeps, copies: SettlementCopies, gsrn: string, period: BillingPeriod, asOf: Date, customerId: string | null): Settled | SettlementHalted {
  return settleBuiltWithInput(deps, copies, gsrn, period, asOf, customerId).result;
}

/** `settleBuilt`, with the input it built and settled (a correction names the inputs that changed its note's lines from it). */
function settleBuiltWithInput(deps: SettleDeps, copies: SettlementCopies, gsrn: string, period: BillingPeriod, asOf: Date, customerId: string | null): { result: Settled | SettlementHalted; built: BuiltInput } {
  const built = buildSettlementInput(gsrn, period, asOf, copies, deps.config ?? DEFAULT_RATES_CONFIG, customerId);
  if (!built.ok) return { result: built.halt, built };
  const result = settleMeteringPoint(built.input);
  if (result.outcome === 'halted') return { result, built };
  return {
    result: { outcome: 'settled', invoice: result.invoice, customerId: built.customerId, paymentModel: built.paymentModel, gridArea: built.gridArea, priceArea: built.priceArea, productionGsrn: built.productionGsrn },
    built,
  };
}

/** Settles one customer supply (the customer's days of the metering point in the period) from settlement's copies as they stand in `db`. */
export async function settleFromCopies(deps: SettleDeps, db: Db, gsrn: string, period: BillingPeriod, asOf: Date, customerId: string): Promise<Settled | SettlementHalted> {
  return settleBuilt(deps, await loadCopies(db, gsrn, period), gsrn, period, asOf, customerId);
}

/**
 * Settles every customer supply of a metering point in a period: one result per customer, in the order their
 * supplies start. Customers in `invoiced` (their invoice of the period is issued already: a later run) are
 * answered `invoiced` without settling them again.
 */
export async function settleCustomerSupplies(
  deps: SettleDeps,
  db: Db,
  gsrn: string,
  period: BillingPeriod,
  asOf: Date,
  runId?: string,
  invoiced: ReadonlySet<string> = new Set(),
): Promise<CustomerResult[]> {
  // A run's worker: the period's price copies and resolved prices from its cache (see RunPriceCache).
  const cache = runId === undefined ? undefined : deps.runPrices;
  const shared = cache === undefined || runId === undefined ? undefined : await cache.sharedCopies(runId, () => loadSharedPriceCopies(db, period));
  const copies = await loadCopies(db, gsrn, period, shared === undefined ? {} : { shared });
  return settleCustomersOn(deps, cache, copies, gsrn, period, asOf, invoiced);
}

type CustomerResult = { customerId: string | null; result: Settled | SettlementHalted | 'invoiced' };

/** `settleCustomerSupplies` on copies loaded already (on the run's prices when `cache` is given). */
function settleCustomersOn(
  deps: SettleDeps,
  cache: RunPriceCache | undefined,
  copies: SettlementCopies,
  gsrn: string,
  period: BillingPeriod,
  asOf: Date,
  invoiced: ReadonlySet<string>,
): CustomerResult[] {
  const settle = (customerId: string | null): Settled | SettlementHalted => (cache === undefined ? settleBuilt(deps, copies, gsrn, period, asOf, customerId) : settleOnRunPrices(deps, cache, copies, gsrn, period, asOf, customerId));
  const customers = customerSuppliesInPeriod(copies.supplies, gsrn, period);
  // No supply left (reversed since the run started): one halt, as before.
  if (customers.length === 0) return [{ customerId: null, result: settle(null) }];
  return customers.map((customerId) => ({ customerId, result: invoiced.has(customerId) ? 'invoiced' : settle(customerId) }));
}

/**
 * A worker's prices of the run it is settling: the price copies of the period loaded once, and the
 * period's prices resolved once per set of charges (`resolvePeriodPrices`: typed arrays of spot and
 * tariffs per quarter/hour, versions as known at the run's asOf) and shared by every metering point that
 * has them. A set of charges = grid area (price area, grid tariff and subscription) + product, plus the
 * point's DataHub charge links and supplied days when it has links. Entries of one run at a time.
 */
export class RunPriceCache {
  private runId: string | null = null;
  private shared: Promise<SharedPriceCopies> | null = null;
  private readonly prices = new Map<string, PeriodPrices>();
  /** Items settled on cached prices, items that resolved them. */
  hits = 0;
  misses = 0;

  constructor(private readonly maxEntries = 256) {}

  sharedCopies(runId: string, load: () => Promise<SharedPriceCopies>): Promise<SharedPriceCopies> {
    if (runId !== this.runId) {
      this.runId = runId;
      this.shared = null;
      this.prices.clear();
    }
    if (this.shared === null) {
      const loading = load();
      this.shared = loading;
      loading.catch(() => {
        if (this.shared === loading) this.shared = null;
      });
    }
    return this.shared;
  }

  get(key: string): PeriodPrices | undefined {
    return this.prices.get(key);
  }

  set(key: string, prices: PeriodPrices): void {
    if (this.prices.size >= this.maxEntries) this.prices.clear();
    this.prices.set(key, prices);
  }
}

/**
 * The set of charges of a point: grid area and product of its latest supply, its DataHub charge links, and its
 * supplied span (each supply's dates and product) when it has links, product changes or supplies on different
 * products (a customer's supplies in the period priced per supplied day must not share the prices of a point on the
 * latest product alone). Exported for its unit test.
 */
export function chargeSetKey(gsrn: string, period: BillingPeriod, copies: SettlementCopies, customerId: string | null): string | null {
  const supplies = suppliesInPeriod(copies.supplies.filter((x) => x.gsrn === gsrn && (customerId === null || x.customerId === customerId)), period);
  if (supplies.length === 0) return null;
  const latest = [...supplies].sort((a, b) => (a.startDate < b.startDate ? 1 : a.startDate > b.startDate ? -1 : 0))[0]!;
  // Fees (D02) are the point's own lines, not prices of the period: they do not split the set.
  const links = (copies.chargeLinks ?? []).filter((l) => l.gsrn === gsrn && l.chargeType !== 'D02').map((l) => [l.chargeId, l.owner, l.chargeType, l.factor, l.from, l.to]);
  // Product changes from a date price the days by product: the point's supplied span and changes join the key.
  const changes = (copies.productChanges ?? []).filter((c) => c.gsrn === gsrn).map((c) => [c.from, c.productId]);
  const oneProduct = supplies.every((x) => x.productId === latest.productId);
  const span = links.length === 0 && changes.length === 0 && oneProduct ? null : supplies.map((x) => [x.startDate, x.endDate, x.productId]).sort();
  return JSON.stringify([latest.gridArea, latest.productId, links.sort(), span, changes]);
}

/**
 * The consumption of a point laid straight from its packed days (integer Wh, issue 8) on the grid of `prices`;
 * null when a day is not packed (stored before issue 8) or anything is unusual (`packedQuantitiesOf`): the
 * decimal path then reads it.
 */
function packedConsumption(copies: SettlementCopies, gsrn: string, prices: PeriodPrices): MeteredQuantities | null {
  const days: PackedMeteredDay[] = [];
  for (const d of copies.consumption) {
    const packed = d.packed;
    if (packed === undefined || d.gsrn !== gsrn) return null;
    days.push({ startMs: d.start.getTime(), resolution: d.resolution, firstPosition: packed.firstPosition, wh: packed.wh, qualities: packed.qualities });
  }
  return packedQuantitiesOf(gsrn, days, prices.startMs, prices.endMs);
}

/**
 * The kernel on prices resolved for the whole period; null when the point cannot be laid on them (the reference
 * path decides). `consumption`: the point's consumption on the prices' grid already (packed days), else the
 * input's series is laid on it.
 */
function onPrices(prices: PeriodPrices, input: SettlementInput, consumption?: MeteredQuantities): SettlementResult | null {
  try {
    return settleMeteringPointOnPrices(prices, {
      meteringPoint: input.meteringPoint,
      supplyPeriods: input.supplyPeriods,
      consumption: consumption ?? meteredQuantitiesOf(input.consumption, 'consumption', prices.startMs, prices.endMs),
      ...(input.production !== undefined ? { production: meteredQuantitiesOf(input.production, 'production', prices.startMs, prices.endMs) } : {}),
      yearToDateMilliKwh: parseQuantityMilliKwh(input.yearToDateConsumptionKwh),
      ...(input.vatMode !== undefined ? { vatMode: input.vatMode } : {}),
      ...(input.fees !== undefined ? { fees: input.fees } : {}),
    });
  } catch {
    return null;
  }
}

/** `onPrices` for a point built without prices (`buildPointInput`); `consumption` already on the prices' grid, else its series is laid on it. */
function onPointPrices(prices: PeriodPrices, point: PointInput, consumption: MeteredQuantities | null): SettlementResult | null {
  try {
    const laid = consumption ?? (point.consumption === null ? null : meteredQuantitiesOf(point.consumption, 'consumption', prices.startMs, prices.endMs));
    if (laid === null) return null;
    return settleMeteringPointOnPrices(prices, {
      meteringPoint: point.meteringPoint,
      supplyPeriods: point.supplyPeriods,
      consumption: laid,
      ...(point.production !== undefined ? { production: meteredQuantitiesOf(point.production, 'production', prices.startMs, prices.endMs) } : {}),
      yearToDateMilliKwh: point.yearToDateMilliKwh,
      ...(point.vatMode !== undefined ? { vatMode: point.vatMode } : {}),
      ...(point.fees !== undefined ? { fees: point.fees } : {}),
    });
  } catch {
    return null;
  }
}

function settledOf(result: SettlementResult, built: Pick<Extract<BuiltInput, { ok: true }>, 'customerId' | 'paymentModel' | 'gridArea' | 'priceArea' | 'productionGsrn'>): Settled | SettlementHalted {
  if (result.outcome === 'halted') return result;
  return { outcome: 'settled', invoice: result.invoice, customerId: built.customerId, paymentModel: built.paymentModel, gridArea: built.gridArea, priceArea: built.priceArea, productionGsrn: built.productionGsrn };
}

/**
 * One customer supply of a run's work item: the same computation as `settleBuilt`, on the worker's run
 * prices. A point whose set of charges has resolved prices is built without the price copies (no price
 * parsing per point) and settled by the kernel on the cached typed arrays; the first point of a set
 * resolves them. Anything the kernel cannot lay on those prices goes the reference way, so halts stay typed.
 */
function settleOnRunPrices(deps: SettleDeps, cache: RunPriceCache, copies: SettlementCopies, gsrn: string, period: BillingPeriod, asOf: Date, customerId: string | null): Settled | SettlementHalted {
  const config = deps.config ?? DEFAULT_RATES_CONFIG;
  const key = chargeSetKey(gsrn, period, copies, customerId);
  const cached = key === null ? undefined : cache.get(key);
  if (cached !== undefined) {
    // Packed days go to the kernel as they are (no decimal strings, no Date per value), and the point's own part
    // of the input is built without the prices (buildPointInput: no product, spot, tariff or tax charge per point).
    const consumption = packedConsumption(copies, gsrn, cached);
    const point = buildPointInput(gsrn, period, copies, config, customerId, consumption === null);
    const result = point.ok ? onPointPrices(cached, point.point, consumption) : null;
    if (point.ok && result !== null) {
      cache.hits++;
      return settledOf(result, point);
    }
  }
  const built = buildSettlementInput(gsrn, period, asOf, copies, config, customerId);
  if (!built.ok) return built.halt;
  if (key !== null && cached === undefined) {
    let prices: PeriodPrices | null = null;
    try {
      prices = resolvePeriodPrices(built.input.prices, built.input.meteringPoint.gridArea, built.input.product, period, asOf);
    } catch {
      prices = null;
    }
    const result = prices === null ? null : onPrices(prices, built.input);
    if (prices !== null && result !== null) {
      cache.set(key, prices);
      cache.misses++;
      return settledOf(result, built);
    }
  }
  return settledOf(settleMeteringPoint(built.input), built);
}

/** The id of an invoice's `InvoiceIssued`: one per invoice, whoever issues it (a run's worker or the final invoice at supply end). */
export const invoiceIssuedEventId = (invoiceId: string): string => nameBasedUuid('invoice-issued', invoiceId);

/**
 * The `InvoiceIssued` of one customer supply as settled (not appended yet): lines and totals of the settlement,
 * and for an aconto customer the payments counted against it (`acontoPaidFor`, which marks them counted: call it
 * only when the invoice is really going to be issued, in the transaction that issues it).
 */
export async function invoiceIssuedOf(
  tx: Db,
  a: { invoiceId: string; runId: string; gsrn: string; period: BillingPeriod; result: Settled; final?: InvoiceIssued['final'] },
): Promise<InvoiceIssued> {
  const { invoiceId, gsrn, period, result } = a;
  const paid = result.paymentModel === 'aconto' ? await acontoPaidFor(tx, gsrn, period, invoiceId, result.customerId) : Money.ZERO;
  const aconto = acontoSettlement({ invoiceTotalInclVat: result.invoice.totals.inclVat, acontoPaid: paid });
  return {
    invoiceId,
    runId: a.runId,
    customerId: result.customerId,
    gsrn,
    period,
    periodLabel: periodLabel(period),
    periodStart: periodDates(period).from,
    periodEnd: periodLastDay(period),
    paymentModel: result.paymentModel,
    lines: result.invoice.lines.map(lineToJson),
    totals: totalsToJson(result.invoice.totals),
    aconto: { paid: aconto.aconto_paid.format(), difference: aconto.aconto_difference.format(), netAmountDue: aconto.net_amount_due.format() },
    estimated: result.invoice.estimated,
    asOf: result.invoice.asOf.toISOString(),
    ...(a.final !== undefined ? { final: a.final } : {}),
  };
}

/** The invoice in settlement's index (`settlement.invoices`: what corrections and later runs look for); once. */
export async function indexInvoice(tx: Db, invoiceId: string, gsrn: string, period: BillingPeriod, result: Settled): Promise<void> {
  await indexInvoices(tx, [{ invoiceId, gsrn, period, result }]);
}

interface IndexRow {
  invoiceId: string;
  gsrn: string;
  period: BillingPeriod;
  result: Settled;
}

/** `indexInvoice` for many invoices in one statement. */
async function indexInvoices(tx: Db, rows: readonly IndexRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO settlement.invoices (invoice_id, gsrn, production_gsrn, customer_id, period_label, period_from, period_to, price_area, grid_area)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) ON CONFLICT (invoice_id) DO NOTHING`,
    [
      rows.map((r) => r.invoiceId),
      rows.map((r) => r.gsrn),
      rows.map((r) => r.result.productionGsrn),
      rows.map((r) => r.result.customerId),
      rows.map((r) => periodLabel(r.period)),
      rows.map((r) => periodDates(r.period).from),
      rows.map((r) => periodDates(r.period).toExclusive),
      rows.map((r) => r.result.priceArea),
      rows.map((r) => r.result.gridArea),
    ],
  );
}

/** The event a correction answers: its id names the note (once per event and invoice), its correlation carries on. */
export type CorrectionTrigger = Pick<EventEnvelope, 'eventId' | 'recordedAt'> & { metadata: Pick<EventEnvelope['metadata'], 'correlationId'> };

const metaOf = (envelope: CorrectionTrigger) => settlementMetadata({ correlationId: envelope.metadata.correlationId, causationId: envelope.eventId, actor: 'settlement-worker' });

/** An issued invoice whose prices may have changed after the run's asOf: checked once the invoices are appended. */
interface PriceCheck {
  invoiceId: string;
  priceArea: string;
  asOf: Date;
  period: BillingPeriod;
  envelope: EventEnvelope;
}

/** A work item settled, its invoices ready to append and its outcome ready to count. */
interface SettledItem {
  counted: CountedOutcome | null;
  invoices: PreparedInvoice[];
  priceChecks: PriceCheck[];
}

/**
 * An invoice ready to append. `checked`: its stream was read (its expected revision is what the stream holds);
 * otherwise it is appended as the stream's first event (`no_stream`): a stream whose only trace of this invoice
 * is its own `InvoiceIssued` at revision 0 (a redelivery after the append) answers that append as stored, and
 * anything else fails the batch's append, which is then done again with every stream read (`appendInvoices`).
 */
interface PreparedInvoice {
  append: StreamAppend;
  checked: boolean;
}

interface WorkItem {
  envelope: EventEnvelope;
  item: SettlementWorkItemScheduled;
}

/**
 * Work items of one run whose metering points differ (see `handleWorkItems`): their locks in one statement, the
 * invoices already in settlement's index and the points' copies in one query per table, then each item is
 * settled: each customer supply of its metering point in the period gets its invoice (stream `invoice-<invoiceId>`,
 * id stable per GSRN, period and customer, issued at most once) or the halt; the invoices' index rows are written
 * in one statement. Nothing is appended or counted yet.
 */
async function settleWorkItemsOfRun(deps: SettleDeps, work: readonly WorkItem[], tx: PoolClient): Promise<SettledItem[]> {
  const { runId, period } = work[0]!.item;
  const gsrns = work.map((w) => w.item.gsrn);
  // Inputs about these metering points, and prices, wait for this transaction's commit (or it for theirs): input-locks.ts.
  await lockForWorkItems(tx, gsrns);
  // A later run of the period: the customers invoiced already (by an earlier run) are not settled again.
  const invoicedRows = await tx.query<{ gsrn: string; customer_id: string }>(
    `SELECT gsrn, customer_id FROM settlement.invoices WHERE gsrn = ANY($1::text[]) AND period_from = $2 AND period_label = $3`,
    [gsrns, periodDates(period).from, periodLabel(period)],
  );
  const invoicedOf = new Map<string, Set<string>>();
  for (const r of invoicedRows.rows) (invoicedOf.get(r.gsrn) ?? invoicedOf.set(r.gsrn, new Set()).get(r.gsrn)!).add(r.customer_id);
  // A run's worker: the period's price copies and resolved prices from its cache (see RunPriceCache), the points' own copies in one query per table.
  const cache = deps.runPrices;
  const copiesOf =
    cache === undefined ? null : await loadCopiesOf(tx, gsrns, period, await cache.sharedCopies(runId, () => loadSharedPriceCopies(tx, period)));
  const settled: SettledItem[] = [];
  const indexRows: IndexRow[] = [];
  for (const { envelope, item } of work) {
    const metadata = metaOf(envelope);
    const now = new Date(envelope.occurredAt);
    const asOf = new Date(item.asOf);
    const invoiced = invoicedOf.get(item.gsrn) ?? new Set<string>();
    const results =
      copiesOf === null ? await settleCustomerSupplies(deps, tx, item.gsrn, period, asOf, runId, invoiced) : settleCustomersOn(deps, cache, copiesOf.get(item.gsrn)!, item.gsrn, period, asOf, invoiced);
    const invoices: PreparedInvoice[] = [];
    const priceChecks: PriceCheck[] = [];
    // One invoice per customer supply: two of our customers on the GSRN in the period get one each.
    const invoiceIds: string[] = [];
    let halt: SettlementHalted | null = null;
    for (const { customerId, result } of results) {
      if (result === 'invoiced') {
        invoiceIds.push(invoiceIdOf(item.gsrn, period, customerId!));
        continue;
      }
      if (result.outcome !== 'settled') {
        halt ??= result;
        continue;
      }
      const invoiceId = invoiceIdOf(item.gsrn, period, result.customerId);
      invoiceIds.push(invoiceId);
      const streamId = invoiceStreamId(invoiceId);
      const event = (data: InvoiceIssued) => [{ eventId: invoiceIssuedEventId(invoiceId), type: 'InvoiceIssued', data: toJsonObject(data), metadata, occurredAt: now }];
      // Issued at most once: the id is name-based (GSRN, period and customer) and the invoice is appended with the
      // stream's expected revision (a concurrent issue fails the append, and its redelivery finds the invoice).
      if (result.paymentModel === 'aconto') {
        // Aconto payments are counted against the invoice only when it is really issued: its stream is read first.
        const stream = await deps.store.readStream(streamId);
        if (!stream.some((e) => e.type === 'InvoiceIssued')) {
          const data = await invoiceIssuedOf(tx, { invoiceId, runId, gsrn: item.gsrn, period, result });
          invoices.push({ append: { streamId, events: event(data), expectedRevision: stream.length === 0 ? 'no_stream' : stream[stream.length - 1]!.streamRevision }, checked: true });
        }
        await afterAcontoSettlement(deps, tx, { gsrn: item.gsrn, period, asOf, metadata, now });
      } else {
        invoices.push({ append: { streamId, events: event(await invoiceIssuedOf(tx, { invoiceId, runId, gsrn: item.gsrn, period, result })), expectedRevision: 'no_stream' }, checked: false });
      }
      indexRows.push({ invoiceId, gsrn: item.gsrn, period, result });
      priceChecks.push({ invoiceId, priceArea: result.priceArea, asOf, period, envelope });
    }
    // The item is halted when any of its customer supplies is (the others' invoices stand: each is complete for its customer).
    const outcome: ItemOutcome = halt !== null ? { kind: 'halted', halt } : { kind: 'invoiced', invoiceIds };
    // Work items of runs started before batched runs carry no batch: settled, but not counted.
    settled.push({ counted: typeof item.batch === 'number' ? { item, outcome, metadata, now } : null, invoices, priceChecks });
  }
  await indexInvoices(tx, indexRows);
  return settled;
}

/**
 * The invoices of a batch in one append (`appendToStreams`: one statement, all or nothing). When it fails on an
 * unread stream (see `PreparedInvoice`), every unread stream is read and the append is done again as the
 * invoices were before issue 8: an invoice already issued is left out, the others appended at the stream's revision.
 */
async function appendInvoices(store: EventStore, invoices: readonly PreparedInvoice[]): Promise<void> {
  if (invoices.length === 0) return;
  try {
    await store.appendToStreams(invoices.map((i) => i.append));
    return;
  } catch (error) {
    if (!(error instanceof WrongExpectedRevisionError || error instanceof DuplicateEventIdError) || invoices.every((i) => i.checked)) throw error;
  }
  const again: StreamAppend[] = [];
  for (const i of invoices) {
    if (i.checked) {
      again.push(i.append);
      continue;
    }
    const stream = await store.readStream(i.append.streamId);
    if (stream.some((e) => e.type === 'InvoiceIssued')) continue;
    again.push({ ...i.append, expectedRevision: stream.length === 0 ? 'no_stream' : stream[stream.length - 1]!.streamRevision });
  }
  if (again.length > 0) await store.appendToStreams(again);
}

/**
 * Work items of a run, in the work queue's inbox transaction (one item, or the consumer's batch of them), issue 8:
 * the items of one run are settled together (`settleWorkItemsOfRun`: reads batched over the items), in rounds in
 * which each metering point of a period comes once (a point twice in a batch sees the first one's invoice); their
 * invoices are appended together (`appendInvoices`: one statement; ids derive from the invoice, so a redelivered
 * batch appends nothing twice), prices published after the run's asOf are corrected on them (issue 9's check,
 * after the append, once per run prices instant, price area and period), then their outcomes are counted together
 * (`recordItemOutcomes`), so the batch counters are locked only at the end of the transaction.
 */
export async function handleWorkItems(deps: SettleDeps, envelopes: readonly EventEnvelope[], tx: PoolClient): Promise<void> {
  const work: WorkItem[] = envelopes.filter((e) => e.type === 'SettlementWorkItemScheduled').map((envelope) => ({ envelope, item: dataOf<SettlementWorkItemScheduled>(envelope.data) }));
  const settled: SettledItem[] = [];
  let pending = work;
  while (pending.length > 0) {
    // One round: the first item of each (run, metering point, period); the rest wait for the next round.
    const seen = new Set<string>();
    const round: WorkItem[] = [];
    const later: WorkItem[] = [];
    for (const w of pending) {
      const key = `${w.item.gsrn}/${periodLabel(w.item.period)}`;
      if (seen.has(key)) later.push(w);
      else {
        seen.add(key);
        round.push(w);
      }
    }
    const byRun = new Map<string, WorkItem[]>();
    for (const w of round) (byRun.get(w.item.runId) ?? byRun.set(w.item.runId, []).get(w.item.runId)!).push(w);
    for (const items of byRun.values()) settled.push(...(await settleWorkItemsOfRun(deps, items, tx)));
    pending = later;
  }
  await appendInvoices(
    deps.store,
    settled.flatMap((s) => s.invoices),
  );
  // A price published after the run's asOf and copied before an item took its locks was corrected by nobody:
  // the inputs consumer found no invoice then. Correct it now that the invoice is stored (the note id derives from the item: once).
  const newer = new Map<string, boolean>();
  for (const c of settled.flatMap((s) => s.priceChecks)) {
    const { from, toExclusive } = periodDates(c.period);
    const key = `${c.asOf.toISOString()}/${c.priceArea}/${periodLabel(c.period)}`;
    let isNewer = newer.get(key);
    if (isNewer === undefined) {
      isNewer = await pricesNewerThan(tx, c.asOf, c.priceArea, from, toExclusive, localDayStart(from), localDayStart(toExclusive));
      newer.set(key, isNewer);
    }
    if (isNewer) await correctInvoice(deps, tx, c.invoiceId, c.envelope, 'price');
  }
  await recordItemOutcomes(
    deps.store,
    tx,
    settled.flatMap((s) => (s.counted === null ? [] : [s.counted])),
    deps.now?.() ?? new Date(),
  );
}

/** One work item (see `handleWorkItems`). */
export function handleWorkItem(deps: SettleDeps, envelope: EventEnvelope, tx: PoolClient): Promise<void> {
  return handleWorkItems(deps, [envelope], tx);
}

// ------------------------------------------------------------------------------------ corrections

export type CorrectionCause = SettlementCorrectionIssued['cause'];

interface InvoiceIndexRow {
  invoice_id: string;
  gsrn: string;
  period_label: string;
  period_from: string;
  period_to: string;
}

function currentInvoice(stream: RecordedEvent[]): { issued: InvoiceIssued; current: Invoice; lastAt: Date } | null {
  const issuedEvent = stream.find((e) => e.type === 'InvoiceIssued');
  if (issuedEvent === undefined) return null;
  const issued = dataOf<InvoiceIssued>(issuedEvent.data);
  const periodToExclusive = periodDates(issued.period).toExclusive;
  let current = invoiceFromJson({ gsrn: issued.gsrn, periodStart: issued.periodStart, periodToExclusive, asOf: issued.asOf, lines: issued.lines, totals: issued.totals });
  for (const e of stream) {
    if (e.type !== 'SettlementCorrectionIssued') continue;
    const c = dataOf<SettlementCorrectionIssued>(e.data).correctedInvoice;
    current = invoiceFromJson({ gsrn: issued.gsrn, periodStart: issued.periodStart, periodToExclusive, asOf: c.asOf, lines: c.lines, totals: c.totals });
  }
  return { issued, current, lastAt: stream[stream.length - 1]!.occurredAt };
}

/**
 * Recomputes an issued invoice from the copies as they stand now and issues the difference
 * (`diffInvoices` against the invoice as last corrected) as `SettlementCorrectionIssued` on the
 * invoice's stream; `supply-reversed` credits it in full. Nothing is issued when nothing changed.
 * The note id derives from the triggering event, so a redelivery never issues a second note.
 * `lookups`: a correction job's cache of the price rows' source events (the note's causation).
 */
export async function correctInvoice(
  deps: SettleDeps,
  tx: Db,
  invoiceId: string,
  trigger: CorrectionTrigger,
  cause: CorrectionCause,
  lookups?: SourceEventLookups,
): Promise<'issued' | 'unchanged' | 'halted'> {
  const streamId = invoiceStreamId(invoiceId);
  const stream = await deps.store.readStream(streamId);
  const found = currentInvoice(stream);
  if (found === null) return 'unchanged';
  const { issued, current } = found;
  // As known now: on the business clock, on which rates publishes (a simulator's may run ahead of the wall clock), and
  // never before the wall clock or the instant the trigger was recorded at (the event store's wall-clock recorded_at).
  const asOf = new Date(Math.max(Date.now(), deps.now?.().getTime() ?? 0, new Date(trigger.recordedAt).getTime()));
  const period = parsePeriodLabel(issued.periodLabel);
  let recomputed: Invoice;
  let computed: { copies: SettlementCopies; built: BuiltInput } | null = null;
  if (cause === 'supply-reversed') {
    recomputed = { ...current, lines: [], totals: { exclVat: Money.ZERO, vat: Money.ZERO, inclVat: Money.ZERO }, estimated: false, asOf };
  } else {
    const copies = await loadCopies(tx, issued.gsrn, period);
    const { result, built } = settleBuiltWithInput(deps, copies, issued.gsrn, period, asOf, issued.customerId);
    computed = { copies, built };
    if (result.outcome === 'halted') {
      const halt: SettlementHaltedForMeteringPoint = { runId: null, gsrn: issued.gsrn, periodLabel: issued.periodLabel, reason: result.reason, detail: haltDetail(result) };
      await deps.store.appendToStream(
        streamId,
        [{ eventId: nameBasedUuid('correction-halt', `${trigger.eventId}/${invoiceId}`), type: 'SettlementHaltedForMeteringPoint', data: toJsonObject(halt), metadata: metaOf(trigger), occurredAt: asOf }],
        { expectedRevision: 'any' },
      );
      return 'halted';
    }
    recomputed = result.invoice;
  }
  const note = cause === 'supply-reversed' ? creditInFull(current) : diffInvoices(current, recomputed);
  if (note.noteType === 'none') return 'unchanged';
  const noteId = noteIdOf(trigger.eventId, invoiceId);
  const lines = noteLinesToJson(note);
  // Every input event that changed the note's lines (two publications' jobs overlapping: whichever recomputes first
  // issues both changes); a reversal is its trigger's alone.
  const causation =
    computed === null
      ? { causationId: trigger.eventId, causationIds: [trigger.eventId] }
      : await noteCausation(deps, tx, { triggerEventId: trigger.eventId, gsrn: issued.gsrn, period, customerId: issued.customerId, ...computed, current, lastAt: found.lastAt, lines }, lookups);
  const data: SettlementCorrectionIssued = {
    noteId,
    invoiceId,
    customerId: issued.customerId,
    gsrn: issued.gsrn,
    periodLabel: issued.periodLabel,
    noteType: note.noteType,
    cause,
    lines,
    totals: totalsToJson(note.totals),
    correctedInvoice: { lines: recomputed.lines.map(lineToJson), totals: totalsToJson(recomputed.totals), asOf: recomputed.asOf.toISOString() },
  };
  const metadata = { ...settlementMetadata({ correlationId: trigger.metadata.correlationId, causationId: causation.causationId, actor: 'settlement-worker' }), causationIds: causation.causationIds };
  await deps.store.appendToStream(streamId, [{ eventId: noteId, type: 'SettlementCorrectionIssued', data: toJsonObject(data), metadata, occurredAt: asOf }], {
    expectedRevision: stream[stream.length - 1]!.streamRevision,
  });
  return 'issued';
}

/**
 * Which issued invoices an input event about one metering point can change, and why: its metered data,
 * supplies, master data and charge links (a handful of invoices, corrected in the inputs consumer's
 * transaction). A change of a metering point's charge links touches its invoices in the changed links'
 * periods. Publications that concern many invoices (spot, charge and tax prices, products) are corrected
 * in bounded transactions instead (`correction-jobs.ts`).
 */
export async function affectedInvoices(tx: Db, envelope: EventEnvelope): Promise<{ invoiceIds: string[]; cause: CorrectionCause } | null> {
  const d = envelope.data as Record<string, unknown>;
  const ids = async (sql: string, params: unknown[]): Promise<string[]> => (await tx.query<InvoiceIndexRow>(sql, params)).rows.map((r) => r.invoice_id);
  switch (envelope.type) {
    case 'MeteredDataReceived': {
      if (typeof d.version !== 'number' || d.version < 2) return null;
      return {
        cause: 'metered-data',
        invoiceIds: await ids(`SELECT invoice_id FROM settlement.invoices WHERE (gsrn = $1 OR production_gsrn = $1) AND period_from <= $2 AND period_to > $2 ORDER BY invoice_id`, [d.gsrn, d.day]),
      };
    }
    case 'ChargeLinksRecorded': {
      // The metering point's invoices whose period overlaps a link in the message (a new, moved or stopped link).
      const links = (d.links as { from: string; to: string | null }[]) ?? [];
      const found = new Set<string>();
      for (const l of links) {
        const from = localDateOf(new Date(l.from));
        const to = l.to === null ? null : localDateOf(new Date(l.to));
        for (const id of await ids(`SELECT invoice_id FROM settlement.invoices WHERE gsrn = $1 AND period_to > $2 AND ($3::text IS NULL OR period_from < $3) ORDER BY invoice_id`, [d.gsrn, from, to])) found.add(id);
      }
      return found.size === 0 ? null : { cause: 'price', invoiceIds: [...found].sort() };
    }
    case 'SupplyEnded':
      // An end reported or moved after invoicing: the metering point's invoices from the end on.
      return { cause: 'supply-changed', invoiceIds: await ids(`SELECT invoice_id FROM settlement.invoices WHERE gsrn = $1 AND period_to > $2 ORDER BY invoice_id`, [d.gsrn, d.endDate]) };
    case 'ProductChanged':
      // Another product for the customer supply from a date: that customer's invoices of the metering point from then.
      return {
        cause: 'supply-changed',
        invoiceIds: await ids(`SELECT invoice_id FROM settlement.invoices WHERE gsrn = $1 AND period_to > $2 AND ($3::text IS NULL OR customer_id = $3) ORDER BY invoice_id`, [d.gsrn, d.from, d.customerId ?? null]),
      };
    case 'ElectricHeatingSet':
    case 'ProductionMeteringPointLinked':
      return { cause: 'master-data', invoiceIds: await ids(`SELECT invoice_id FROM settlement.invoices WHERE gsrn = $1 AND period_to > $2 ORDER BY invoice_id`, [d.gsrn, d.from]) };
    case 'SupplyReversed':
      // Only the reversed supply's customer's invoices (another customer on the GSRN keeps theirs).
      return {
        cause: 'supply-reversed',
        invoiceIds: await ids(
          `SELECT invoice_id FROM settlement.invoices WHERE gsrn = $1 AND period_to > $2
             AND customer_id IN (SELECT customer_id FROM settlement.supplies WHERE gsrn = $1 AND start_date = $2) ORDER BY invoice_id`,
          [d.gsrn, d.startDate],
        ),
      };
    default:
      return null;
  }
}
