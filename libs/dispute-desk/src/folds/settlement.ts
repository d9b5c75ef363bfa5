import type { JsonObject, JsonValue, RecordedEvent } from '@dh/event-store';
import {
  dataOf,
  type InvoiceIssued,
  type InvoiceLineJson,
  type MeteredDataReceived,
  meteredPointsOf,
  type PaymentOverdue,
  type PaymentReceived,
  type PaymentUnmatched,
  type SettlementCorrectionIssued,
  type SettlementHaltedForMeteringPoint,
} from '@dh/settlement-application';
import { toJson, type Fold } from './fold';

/** Lines keyed by their line key (kind, plus month for subscriptions), so a diff names the line that moved. */
function linesByKey(lines: readonly InvoiceLineJson[]): JsonObject {
  return Object.fromEntries(lines.map((l) => [l.key, { description: l.description, quantityKwh: l.quantityKwh, unitPrice: l.unitPrice, amountExclVat: l.amountExclVat, vat: l.vat, estimated: l.estimated }]));
}

/**
 * An invoice as issued, every correction note issued on it, the invoice as last corrected (what the
 * customer owes for the period now), halts of recomputations and the overdue report.
 */
export const invoiceFold: Fold = (events: readonly RecordedEvent[]) => {
  let state: JsonObject = { status: 'none' };
  const notes: JsonValue[] = [];
  const halts: JsonValue[] = [];
  for (const e of events) {
    switch (e.type) {
      case 'InvoiceIssued': {
        const d = dataOf<InvoiceIssued>(e.data);
        state = {
          status: 'issued',
          invoiceId: d.invoiceId,
          customerId: d.customerId,
          gsrn: d.gsrn,
          period: d.periodLabel,
          runId: d.runId,
          paymentModel: d.paymentModel,
          pricesAsOf: d.asOf,
          issuedAt: e.recordedAt.toISOString(),
          issued: { totals: toJson(d.totals), lines: linesByKey(d.lines) },
          current: { totals: toJson(d.totals), lines: linesByKey(d.lines) },
          aconto: toJson(d.aconto),
          estimated: d.estimated,
          overdue: null,
        };
        break;
      }
      case 'SettlementCorrectionIssued': {
        const d = dataOf<SettlementCorrectionIssued>(e.data);
        notes.push({ noteId: d.noteId, noteType: d.noteType, cause: d.cause, totals: toJson(d.totals), issuedAt: e.recordedAt.toISOString(), causationId: e.metadata.causationId });
        state = { ...state, current: { totals: toJson(d.correctedInvoice.totals), lines: linesByKey(d.correctedInvoice.lines) } };
        break;
      }
      case 'SettlementHaltedForMeteringPoint': {
        const d = dataOf<SettlementHaltedForMeteringPoint>(e.data);
        halts.push({ reason: d.reason, detail: d.detail, at: e.recordedAt.toISOString() });
        break;
      }
      case 'PaymentOverdue': {
        const d = dataOf<PaymentOverdue>(e.data);
        state = { ...state, overdue: { amountDue: d.amountDue, dueDate: d.dueDate, daysOverdue: d.daysOverdue } };
        break;
      }
      default:
        break;
    }
  }
  return { ...state, notes, halts };
};

/**
 * A settlement run's stream (`settlement-run-<period>`: parameters, scheduled and completed counts) or one of
 * its batches (`settlement-run-<period>-batch-<n>`: the work items and the batch's counts). Runs from before
 * batching listed every item and its outcome on the run stream; those are shown per metering point.
 */
export const settlementRunFold: Fold = (events) => {
  let state: JsonObject = {};
  const items: Record<string, JsonValue> = {};
  for (const e of events) {
    const d = e.data;
    switch (e.type) {
      case 'SettlementRunStarted':
        state = { ...state, runId: d.runId ?? null, period: d.periodLabel ?? null, asOf: d.asOf ?? null, completed: false };
        if (Array.isArray(d.items)) for (const g of d.items) items[String(g)] = { outcome: 'scheduled' };
        break;
      case 'SettlementRunScheduled':
        state = { ...state, scheduled: { items: d.items ?? null, batches: d.batches ?? null } };
        break;
      case 'SettlementWorkItemScheduled':
        state = { ...state, runId: d.runId ?? null, period: d.periodLabel ?? null, batch: d.batch ?? null };
        items[String(d.gsrn)] = { outcome: 'scheduled' };
        break;
      case 'SettlementItemInvoiced':
        items[String(d.gsrn)] = { outcome: 'invoiced', invoiceId: d.invoiceId ?? null };
        break;
      case 'SettlementHaltedForMeteringPoint':
        items[String(d.gsrn)] = { outcome: 'halted', reason: d.reason ?? null };
        break;
      case 'SettlementBatchCompleted':
        state = { ...state, batchCompleted: { items: d.items ?? null, invoiced: d.invoiced ?? null, halted: d.halted ?? null } };
        break;
      case 'SettlementCompleted':
        state = { ...state, completed: true, ...(typeof d.items === 'number' ? { counts: { items: d.items, invoiced: d.invoiced ?? null, halted: d.halted ?? null } } : {}) };
        break;
      default:
        break;
    }
  }
  return toJson({ ...state, items });
};

/** A payment from the payment service: unmatched until its reference (or staff) names an invoice. */
export const paymentFold: Fold = (events) => {
  let state: JsonObject = { status: 'none' };
  for (const e of events) {
    if (e.type === 'PaymentUnmatched') {
      const d = dataOf<PaymentUnmatched>(e.data);
      state = { status: 'unmatched', paymentId: d.paymentId, reference: d.reference, amount: d.amount, paidAt: d.paidAt, method: d.method, reason: d.reason };
    } else if (e.type === 'PaymentReceived') {
      const d = dataOf<PaymentReceived>(e.data);
      state = { ...state, status: 'matched', paymentId: d.paymentId, amount: d.amount, paidAt: d.paidAt, method: d.method, invoiceId: d.invoiceId, customerId: d.customerId, matchedAt: e.recordedAt.toISOString() };
    }
  }
  return state;
};

/** Metered data of one metering point: per local day the version in force, where it came from and its qualities. */
export const meteredDataFold: Fold = (events) => {
  const days: Record<string, JsonValue> = {};
  for (const e of events) {
    if (e.type !== 'MeteredDataReceived') continue;
    const d = dataOf<MeteredDataReceived>(e.data);
    const qualities: Record<string, number> = {};
    // v2 packs the points as integer Wh, v1 (stored before) lists them: meteredPointsOf reads both.
    const points = meteredPointsOf(d);
    for (const p of points) qualities[p.quality] = (qualities[p.quality] ?? 0) + 1;
    days[d.day] = { version: d.version, documentId: d.documentId, receivedAt: d.receivedAt, resolution: d.resolution, positions: points.length, qualities };
  }
  return { days };
};
