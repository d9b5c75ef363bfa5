import type { JsonObject, JsonValue, RecordedEvent } from '@dh/event-store';
import {
  dataOf,
  evolveRun,
  initialRunState,
  type InvoiceIssued,
  type InvoiceLineJson,
  type MeteredDataReceived,
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

/** A settlement run: every metering point scheduled and its outcome (the "settlement items"). */
export const settlementRunFold: Fold = (events) => {
  const state = events.reduce((s, e) => evolveRun(s, { type: e.type, data: e.data }), initialRunState);
  const items: Record<string, JsonValue> = {};
  for (const gsrn of state.items) {
    const invoiceId = state.invoiced.get(gsrn);
    const halted = state.halted.get(gsrn);
    items[gsrn] = invoiceId !== undefined ? { outcome: 'invoiced', invoiceId } : halted !== undefined ? { outcome: 'halted', reason: halted } : { outcome: 'scheduled' };
  }
  return toJson({ runId: state.runId, period: state.period, completed: state.completed, items });
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
    for (const p of d.points) qualities[p.quality] = (qualities[p.quality] ?? 0) + 1;
    days[d.day] = { version: d.version, documentId: d.documentId, receivedAt: d.receivedAt, resolution: d.resolution, positions: d.points.length, qualities };
  }
  return { days };
};
