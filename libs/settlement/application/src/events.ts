import { unpackPoints } from '@dh/cim';
import type { JsonObject } from '@dh/event-store';
import type { BillingPeriod } from '@dh/settlement-domain';

/** `metadata.context` of every event settlement writes: routing keys `settlement.<kebab-type>`. */
export const SETTLEMENT_CONTEXT = 'settlement';

// ---------------------------------------------------------------------------------------------
// Inputs from other contexts (contracts; adapt names in `mapInputEvent` if a producer differs).
// ---------------------------------------------------------------------------------------------

export interface SpotPricesPublished {
  priceArea: string;
  deliveryDate: string;
  resolution: 'PT15M' | 'PT1H';
  source: string;
  version: number;
  publishedAt: string;
  prices: { start: string; dkkPerMwh: string; dkkPerKwh: string }[];
}

export interface ChargePricesPublished {
  chargeId: string;
  owner: string;
  gln: string;
  chargeType: 'D01' | 'D02' | 'D03';
  code: string;
  description: string;
  version: number;
  publishedAt: string;
  rows: { validFrom: string; validTo: string | null; resolution: 'PT1H' | 'P1D' | 'P1M'; prices: string[] }[];
}

export interface ProductDefined {
  productId: string;
  name: string;
  marginDkkPerKwh: string;
  monthlySubscriptionDkk: string;
  exportFeeDkkPerKwh?: string | null;
  validFrom: string;
  /** Aconto fallback when the reference month's prices are incomplete (DKK/kWh excl. VAT, all-in). */
  expectedAllInPricePerKwh?: string | null;
  /** Aconto split of the year over Q1..Q4 (four decimals summing to 1); default 0.25 each. */
  acontoQuarterShares?: string[] | null;
}

export interface ElectricityTaxRateSet {
  validFrom: string;
  validTo: string | null;
  normalDkkPerKwh: string;
  reducedDkkPerKwh: string;
}

export interface GridAreaMapped {
  gridArea: string;
  priceArea: string;
  gridCompanyGln: string;
  gridTariffChargeId: string;
  gridSubscriptionChargeId: string;
}

export interface SupplyStarted {
  gsrn: string;
  customerId: string;
  startDate: string;
  productId: string;
  electricHeating: boolean;
  gridArea: string;
  productionGsrn?: string | null;
  billingFrequency: 'monthly' | 'quarterly';
  paymentModel: 'aconto' | 'actual';
}

export interface SupplyEnded {
  gsrn: string;
  endDate: string;
}

export interface SupplyReversed {
  gsrn: string;
  startDate: string;
}

/** Portfolio: the electric-heating registration changed from `from` (inside a standing supply). */
export interface ElectricHeatingSet {
  gsrn: string;
  electricHeating: boolean;
  from: string;
}

/** Portfolio: the customer supply standing on `from` changes to product `productId` from that day. */
export interface ProductChanged {
  gsrn: string;
  customerId: string;
  productId: string;
  from: string;
}

/** Portfolio: the production (E18) metering point beside a consumption point, from `from`. */
export interface ProductionMeteringPointLinked {
  gsrn: string;
  productionGsrn: string;
  from: string;
}

// ---------------------------------------------------------------------------------------------
// Settlement's own events.
// ---------------------------------------------------------------------------------------------

export interface MeteredPoint {
  position: number;
  quantityKwh: string | null;
  quality: string;
}

/** The points of a day packed (`@dh/cim` `PackedPoints`): integer Wh per position from `firstPosition`, qualities as runs. */
export interface PackedMeteredPoints {
  firstPosition: number;
  wh: (number | null)[];
  qualities: [string, number][];
}

/**
 * One series for one local day, stream `metered-data-<gsrn>`; `version` counts per (gsrn, day).
 * Schema version 2 (issue 8, `metadata.schemaVersion` 2): the points packed (`firstPosition`, `wh`, `qualities`)
 * when they are exact in Wh and consecutive, else `points`; version 1 (stored before) always has `points`.
 * Read the points with {@link meteredPointsOf}, which takes both.
 */
export interface MeteredDataReceived extends Partial<PackedMeteredPoints> {
  gsrn: string;
  day: string;
  version: number;
  documentId: string;
  receivedAt: string;
  resolution: 'PT15M' | 'PT1H';
  /** Start of the day's first position (UTC ISO); positions restart at 1 each day. */
  start: string;
  end: string;
  points?: MeteredPoint[];
}

/** `metadata.schemaVersion` of the `MeteredDataReceived` settlement writes. */
export const METERED_DATA_RECEIVED_SCHEMA_VERSION = 2;

/** The points of a metered day, from `points` (v1, and v2 when not packable) or packed (v2); quantities as kWh decimal strings. */
export function meteredPointsOf(d: { points?: MeteredPoint[] | null; firstPosition?: number | null; wh?: (number | null)[] | null; qualities?: [string, number][] | null }): MeteredPoint[] {
  if (Array.isArray(d.points)) return d.points;
  if (typeof d.firstPosition !== 'number' || !Array.isArray(d.wh) || !Array.isArray(d.qualities)) return [];
  return unpackPoints({ firstPosition: d.firstPosition, wh: d.wh, qualities: d.qualities }).map((p) => ({ position: p.position, quantityKwh: p.quantity, quality: p.quality ?? 'A04' }));
}

/**
 * First event of a run's stream `settlement-run-<period>`: the run's parameters only. Runs started before
 * the batched orchestration listed every GSRN in `items` (string[]); read models accept both.
 */
export interface SettlementRunStarted {
  runId: string;
  period: BillingPeriod;
  periodLabel: string;
  asOf: string;
  /** The run's number in its period (1 = the first run; absent on runs before later runs existed). */
  seq?: number;
  /** `all`: every customer supply of the period not yet invoiced; `retry`: only halted items whose missing input arrived. */
  scope?: RunScope;
}

export type RunScope = 'all' | 'retry';

/** One work item, on its batch's stream `settlement-run-<period>-batch-<n>` (at most one batch size of items). */
export interface SettlementWorkItemScheduled {
  runId: string;
  period: BillingPeriod;
  periodLabel: string;
  gsrn: string;
  asOf: string;
  /** The batch (0-based) and how many items it holds: the batch's counter knows when it is done. */
  batch: number;
  batchItems: number;
  /** The run's number in its period (absent = 1): names its batch stream. */
  seq?: number;
}

/** Every work item of the run is scheduled (run stream): how many, in how many batches. */
export interface SettlementRunScheduled {
  runId: string;
  periodLabel: string;
  items: number;
  batches: number;
}

/** Every item of one batch has an outcome (on the batch's stream): the batch's counts, for progress. */
export interface SettlementBatchCompleted {
  runId: string;
  periodLabel: string;
  batch: number;
  items: number;
  invoiced: number;
  halted: number;
}

/** JSON form of an invoice line: amounts as 2-decimal DKK strings. */
export interface InvoiceLineJson {
  key: string;
  kind: string;
  description: string;
  chargeId: string | null;
  month: string | null;
  quantityKwh: string | null;
  daysSupplied: number | null;
  daysInMonth: number | null;
  unitPrice: string | null;
  amountExclVat: string;
  vat: string;
  amountInclVat: string;
  estimated: boolean;
  /** Present (true) only on a line without VAT (a fee with VATPayer D02). */
  vatExempt?: true;
}

export interface TotalsJson {
  exclVat: string;
  vat: string;
  inclVat: string;
}

export interface AcontoJson {
  paid: string;
  difference: string;
  netAmountDue: string;
}

export interface InvoiceIssued {
  invoiceId: string;
  runId: string;
  customerId: string;
  gsrn: string;
  period: BillingPeriod;
  periodLabel: string;
  periodStart: string;
  /** Last day of the period, inclusive. */
  periodEnd: string;
  paymentModel: 'aconto' | 'actual';
  lines: InvoiceLineJson[];
  totals: TotalsJson;
  aconto: AcontoJson;
  estimated: boolean;
  asOf: string;
  /**
   * Present on a final invoice (issued when the customer supply ended, before the period's run; issue 9): the
   * supply's end date (the first day no longer supplied) and why it ended. `runId` is then the final invoice's own
   * id, not a run's. The period's run counts the invoice as already issued and issues nothing for it.
   */
  final?: { supplyEndDate: string; reason: string | null };
}

/** Runs before batching only: one per invoiced item on the run stream (read models still count it). */
export interface SettlementItemInvoiced {
  runId: string;
  gsrn: string;
  /** The first invoice of the item (runs before one invoice per customer supply had only this one). */
  invoiceId: string;
  /** Every invoice of the item: one per customer supplied on the GSRN in the period. */
  invoiceIds?: string[];
}

export interface SettlementHaltedForMeteringPoint {
  runId: string | null;
  /** The run's batch (absent on corrections and on runs before batching): counted by `SettlementBatchCompleted`, not one by one. */
  batch?: number;
  gsrn: string;
  periodLabel: string;
  reason: string;
  /** The rest of the halt: seriesGsrn/interval, priceArea/chargeId/interval, or problem. */
  detail: JsonObject;
  /** When the metering point first halted in the period, not invoiced since (run items from issue 9 on): listed until `SettlementHaltResolved`. */
  since?: string;
}

/**
 * A halt recorded before the list of halted items existed (its `SettlementHaltedForMeteringPoint` has no `since`)
 * and not invoiced since, listed now by the settlement service's one-time catch-up (halted-items.ts
 * `listEarlierHalts`): on the halted item's stream `settlement-item-<runId>-<gsrn>`. The read model lists it as a
 * halt of `haltedAt`, until `SettlementHaltResolved`.
 */
export interface SettlementHaltListed {
  runId: string;
  gsrn: string;
  periodLabel: string;
  reason: string;
  detail: JsonObject;
  /** When the point first halted in the period, not invoiced since. */
  since: string;
  /** When its last halt was recorded (the halted item's event). */
  haltedAt: string;
}

/**
 * A metering point halted in a period is settled since (every customer supply of it invoiced), by a later run or
 * an automatic retry: on the settling item's stream `settlement-item-<runId>-<gsrn>`. It leaves the list of halted items.
 */
export interface SettlementHaltResolved {
  runId: string;
  gsrn: string;
  periodLabel: string;
  /** The run whose item halted last. */
  haltedRunId: string;
  invoiceIds: string[];
}

/**
 * Public `settlement.completed` v2 (docs/events/settlement.completed.v2.schema.json): counts, not lists, so
 * the event's size does not grow with the run. The invoices are read at GET /api/settlement/runs/{runId}
 * and the invoice endpoints; the halts at the run's halts.
 */
export interface SettlementCompleted {
  runId: string;
  period: BillingPeriod;
  periodLabel: string;
  items: number;
  invoiced: number;
  halted: number;
}

/** Schema version of `SettlementCompleted` (v1 listed every invoice and halt). */
export const SETTLEMENT_COMPLETED_SCHEMA_VERSION = 2;

export interface CorrectionLineJson {
  key: string;
  kind: string;
  month: string | null;
  description: string;
  chargeId: string | null;
  quantityKwh: string | null;
  daysSupplied: number | null;
  amountExclVat: string;
  vat: string;
  amountInclVat: string;
}

export interface SettlementCorrectionIssued {
  noteId: string;
  invoiceId: string;
  customerId: string;
  gsrn: string;
  periodLabel: string;
  noteType: 'credit' | 'debit';
  /**
   * What changed: a metered data version, a price (spot, charge, tax, product, a charge link), the
   * supply reversed, the supply's end (`supply-changed`: an end reported or moved after invoicing), or
   * the metering point's master data from a date (`master-data`: electric heating, production link), or a
   * recomputation staff asked for and applied (`recompute`).
   */
  cause: 'metered-data' | 'price' | 'supply-reversed' | 'supply-changed' | 'master-data' | 'recompute';
  lines: CorrectionLineJson[];
  totals: TotalsJson;
  /** The invoice as it stands after this note (the base of the next correction). */
  correctedInvoice: { lines: InvoiceLineJson[]; totals: TotalsJson; asOf: string };
}

/**
 * ERP booked a credit or debit note (`POST /api/settlement/credit-notes/{id}/acknowledge`), on the note's
 * invoice stream: the note leaves the "pending export" list. `erpReference` is ERP's own document id.
 */
export interface NoteExportAcknowledged {
  noteId: string;
  invoiceId: string;
  erpReference: string | null;
  acknowledgedAt: string;
}

export interface AcontoPaymentRecorded {
  paymentId: string;
  customerId: string;
  gsrn: string;
  amount: string;
  paidAt: string;
}

/** Expected annual consumption of a metering point (basis of its aconto), stream `aconto-<gsrn>`. */
export interface ExpectedConsumptionSet {
  gsrn: string;
  customerId: string | null;
  expectedAnnualKwh: string;
  /** `eloverblik`: measured history (12 months or scaled); `estimate`: DataHub's estimated annual volume or a manual estimate. */
  source: 'eloverblik' | 'estimate';
  /** Eloverblik's basis (`measured-12-months`, `scaled-to-365-days`, `estimated-annual-volume`) or null. */
  basis: string | null;
  setAt: string;
}

export interface AcontoBasisJson {
  expectedAnnualKwh: string;
  /** All-in DKK/kWh excl. VAT (6 decimals when computed from prices). */
  pricePerKwh: string;
  /** `prices`: mean of the reference month's prices; `product`: the product's `expectedAllInPricePerKwh`. */
  priceSource: 'prices' | 'product';
  /** The last complete month before the estimate (`YYYY-MM`). */
  referenceMonth: string;
  /** Σ monthly subscriptions excl. VAT (grid, Energinet system, product) in force on the reference month's first day. */
  monthlySubscriptions: string;
  quarterShare: string;
  daysSupplied: number;
  daysInQuarter: number;
}

/** An aconto (advance) invoice for one quarter, stream `aconto-invoice-<acontoInvoiceId>`; id stable per GSRN + quarter. */
export interface AcontoInvoiceIssued {
  acontoInvoiceId: string;
  customerId: string;
  gsrn: string;
  /** `YYYY-Qn` */
  quarter: string;
  periodStart: string;
  /** Last day of the quarter, inclusive. */
  periodEnd: string;
  amountInclVat: string;
  amountExclVat: string;
  vat: string;
  dueDate: string;
  /** `supply-started`: the first estimate; `settlement`: recalculated after the invoice of `settledPeriod`. */
  trigger: 'supply-started' | 'settlement';
  settledPeriod: string | null;
  basis: AcontoBasisJson;
}

/** Data of a stored event as the type the writer gave it (the event store holds JSON objects). */
export function dataOf<T>(data: JsonObject): T {
  return data as unknown as T;
}

/**
 * The value as JSON has it (`JSON.parse(JSON.stringify(value))`): keys whose value is undefined (or a function or
 * symbol) left out, such array elements null, non-finite numbers null, -0 as 0, `toJSON` applied. Plain objects,
 * arrays and primitives are copied directly (no text in between: a run's worker does this per invoice); anything else
 * (a `Date`, an object with `toJSON`, a class instance, a bigint) goes through JSON itself, with its key.
 */
export function toJsonObject<T extends object>(value: T): JsonObject {
  return jsonCopy(value, '', 0) as JsonObject;
}

const OBJECT_PROTOTYPE = Object.prototype;

/** One value of {@link toJsonObject}; undefined = left out (JSON.stringify's undefined). */
function jsonCopy(value: unknown, key: string, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? (value === 0 ? 0 : value) : null;
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'object': {
      if (value === null) return null;
      // Deep nesting (or a cycle, which JSON refuses) goes to JSON itself.
      if (depth < 200) {
        if (Array.isArray(value)) {
          const out: unknown[] = new Array(value.length);
          for (let i = 0; i < value.length; i++) {
            const v: unknown = value[i];
            // Numbers, strings and null in place (a day's Wh: no key string and no call per value); the rest as above.
            if (typeof v === 'number') out[i] = Number.isFinite(v) ? (v === 0 ? 0 : v) : null;
            else if (v === null || typeof v === 'string' || typeof v === 'boolean') out[i] = v;
            else out[i] = jsonCopy(v, String(i), depth + 1) ?? null;
          }
          return out;
        }
        const proto: unknown = Object.getPrototypeOf(value);
        if ((proto === OBJECT_PROTOTYPE || proto === null) && !('toJSON' in value)) {
          const out: Record<string, unknown> = {};
          for (const k of Object.keys(value)) {
            const v = jsonCopy((value as Record<string, unknown>)[k], k, depth + 1);
            if (v === undefined) continue;
            if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
            else out[k] = v;
          }
          return out;
        }
      }
      break;
    }
    default:
      break;
  }
  // As JSON does it, with the key its toJSON is called with.
  const text = JSON.stringify({ [key]: value });
  return (JSON.parse(text) as Record<string, unknown>)[key];
}
