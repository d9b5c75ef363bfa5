import type { PoolClient } from 'pg';
import { WrongExpectedRevisionError, type RecordedEvent } from '@dh/event-store';
import { diffInvoices } from '@dh/settlement-domain';
import {
  computeInvoice,
  dataOf,
  DEFAULT_RATES_CONFIG,
  explainInvoice,
  invoiceFromJson,
  invoiceStreamId,
  nameBasedUuid,
  noteLinesToJson,
  parsePeriodLabel,
  periodDates,
  settlementMetadata,
  toJsonObject,
  withCauses,
  totalsToJson,
  type CorrectionLineJson,
  type CorrectionLineWithCauses,
  type InvoiceComputation,
  type InvoiceExplanation,
  type InvoiceIssued,
  type InvoiceLineJson,
  type SettlementCorrectionIssued,
  type TotalsJson,
} from '@dh/settlement-application';
import { loadCopies } from './copies';
import type { SettleDeps } from './settle';

type Db = Pick<PoolClient, 'query'>;

interface IssuedInvoice {
  issued: InvoiceIssued;
  issuedEvent: RecordedEvent;
  notes: { note: SettlementCorrectionIssued; issuedAt: Date; causationId: string | null }[];
  /** As last corrected. */
  corrected: { lines: InvoiceLineJson[]; totals: TotalsJson; asOf: string };
  /** The stream's last revision (an invoice stream holds a handful of events: far below 2^53). */
  revision: number;
  /** When the invoice was last issued or corrected (its last event's business time). */
  lastAt: Date;
}

async function readIssuedInvoice(deps: SettleDeps, invoiceId: string): Promise<IssuedInvoice | null> {
  const stream = await deps.store.readStream(invoiceStreamId(invoiceId));
  const issuedEvent = stream.find((e) => e.type === 'InvoiceIssued');
  if (issuedEvent === undefined) return null;
  const issued = dataOf<InvoiceIssued>(issuedEvent.data);
  const notes = stream
    .filter((e) => e.type === 'SettlementCorrectionIssued')
    .map((e) => ({ note: dataOf<SettlementCorrectionIssued>(e.data), issuedAt: e.recordedAt, causationId: e.metadata.causationId }));
  const last = notes[notes.length - 1]?.note.correctedInvoice;
  return { issued, issuedEvent, notes, corrected: last ?? { lines: issued.lines, totals: issued.totals, asOf: issued.asOf }, revision: Number(stream[stream.length - 1]!.streamRevision), lastAt: stream[stream.length - 1]!.occurredAt };
}

/**
 * An issued invoice explained from settlement's own copies (read only, nothing is issued): recomputed
 * as it was known at issue (prices as of the run's `asOf`, metered data versions received by the time
 * the invoice was issued) and as it would be computed `now`, beside the invoice as issued and as
 * corrected by its notes. Null when no invoice has that id.
 */
export async function explainIssuedInvoice(deps: SettleDeps, db: Db, invoiceId: string, now: Date): Promise<InvoiceExplanation | null> {
  const found = await readIssuedInvoice(deps, invoiceId);
  if (found === null) return null;
  const { issued, issuedEvent, notes } = found;
  const period = parsePeriodLabel(issued.periodLabel);
  const config = deps.config ?? DEFAULT_RATES_CONFIG;
  const asIssued = computeInvoice(issued.gsrn, period, new Date(issued.asOf), await loadCopies(db, issued.gsrn, period, { meteredKnownAt: issuedEvent.occurredAt }), config, issued.customerId);
  const current = computeInvoice(issued.gsrn, period, now, await loadCopies(db, issued.gsrn, period), config, issued.customerId);
  return explainInvoice({ issued, issuedAt: issuedEvent.recordedAt, notes, asIssued, now: current });
}

export interface InvoiceRecomputation {
  invoiceId: string;
  gsrn: string;
  period: string;
  /** The invoice as last corrected (issued + notes). */
  corrected: { lines: InvoiceLineJson[]; totals: TotalsJson; asOf: string };
  recomputed: InvoiceComputation;
  /**
   * The invoice as last corrected recomputed from what was known then (prices as of its `asOf`, metered data
   * versions received by its last event), whose inputs each line's `causes` are compared with; `reproduced` says
   * whether it gives the corrected lines (if not, a line's causes may be incomplete: `differingLines`).
   */
  basis: { asOf: string; meteredKnownAt: string; outcome: 'settled' | 'halted'; reproduced: boolean; differingLines: string[] };
  /**
   * The correction note a recomputation at `asOf` would issue; `none` when nothing changed or the recomputation
   * halts. Each line names the inputs that changed under it, old and new version (`causes`, `correction-causes.ts`).
   */
  wouldIssue: { noteType: 'credit' | 'debit' | 'none'; lines: CorrectionLineWithCauses[]; totals: TotalsJson | null };
  /** The prices' instant of the recomputation. */
  asOf: string;
  /** The invoice stream's revision the dry run was computed on: applying it needs the same (nothing issued in between). */
  basedOnRevision: number;
}

/**
 * Dry run of a correction: recomputes one issued invoice from the copies at `asOf` and returns the note
 * `correctInvoice` would issue, with the inputs the recomputation used. Appends nothing.
 */
export async function recomputeInvoiceDryRun(deps: SettleDeps, db: Db, invoiceId: string, asOf: Date): Promise<InvoiceRecomputation | null> {
  const found = await readIssuedInvoice(deps, invoiceId);
  if (found === null) return null;
  const { issued, corrected } = found;
  const period = parsePeriodLabel(issued.periodLabel);
  const config = deps.config ?? DEFAULT_RATES_CONFIG;
  const recomputed = computeInvoice(issued.gsrn, period, asOf, await loadCopies(db, issued.gsrn, period), config, issued.customerId);
  // The invoice as last corrected, from what was known then: what each line's causes are compared with.
  const before = computeInvoice(issued.gsrn, period, new Date(corrected.asOf), await loadCopies(db, issued.gsrn, period, { meteredKnownAt: found.lastAt }), config, issued.customerId);
  const differingLines = before.outcome === 'settled' ? differingLineKeys(before.lines, corrected.lines) : corrected.lines.map((l) => l.key);
  const basis = { asOf: corrected.asOf, meteredKnownAt: found.lastAt.toISOString(), outcome: before.outcome, reproduced: differingLines.length === 0, differingLines };
  let wouldIssue: InvoiceRecomputation['wouldIssue'] = { noteType: 'none', lines: [], totals: null };
  if (recomputed.outcome === 'settled') {
    const toExclusive = periodDates(period).toExclusive;
    const note = diffInvoices(
      invoiceFromJson({ gsrn: issued.gsrn, periodStart: issued.periodStart, periodToExclusive: toExclusive, asOf: corrected.asOf, lines: corrected.lines, totals: corrected.totals }),
      invoiceFromJson({ gsrn: issued.gsrn, periodStart: issued.periodStart, periodToExclusive: toExclusive, asOf: recomputed.asOf, lines: recomputed.lines, totals: recomputed.totals }),
    );
    const lines = noteLinesToJson(note);
    wouldIssue = {
      noteType: note.noteType,
      lines: before.outcome === 'settled' ? withCauses(lines, before.inputs, recomputed.inputs) : lines.map((l) => ({ ...l, causes: [] })),
      totals: note.noteType === 'none' ? null : totalsToJson(note.totals),
    };
  }
  return { invoiceId, gsrn: issued.gsrn, period: issued.periodLabel, corrected, recomputed, basis, wouldIssue, asOf: asOf.toISOString(), basedOnRevision: found.revision };
}

/** Keys of the lines whose quantity or amounts differ between two computations. */
function differingLineKeys(a: readonly InvoiceLineJson[], b: readonly InvoiceLineJson[]): string[] {
  const keys = new Set([...a.map((l) => l.key), ...b.map((l) => l.key)]);
  const same = (x: InvoiceLineJson | undefined, y: InvoiceLineJson | undefined) => x !== undefined && y !== undefined && x.quantityKwh === y.quantityKwh && x.amountExclVat === y.amountExclVat && x.vat === y.vat;
  return [...keys].filter((k) => !same(a.find((l) => l.key === k), b.find((l) => l.key === k))).sort();
}

export const MAX_RECOMPUTATIONS_PER_PAGE = 100;

/**
 * Dry runs of many invoices at once: a customer's invoices, a period's, or both filters; a page of at
 * most `limit` invoices in id order after `after` (a whole period is read page by page, never at once).
 * Each is applied on its own (`applyRecomputation` with its `asOf` and `basedOnRevision`).
 */
export async function recomputeInvoicesDryRun(
  deps: SettleDeps,
  db: Db,
  filter: { customerId: string | null; periodLabel: string | null; after: string | null; limit: number },
  asOf: Date,
): Promise<{ recomputations: InvoiceRecomputation[]; next: string | null }> {
  const limit = Math.min(Math.max(1, filter.limit), MAX_RECOMPUTATIONS_PER_PAGE);
  const rows = await db.query<{ invoice_id: string }>(
    `SELECT invoice_id::text AS invoice_id FROM settlement.invoices
      WHERE ($1::text IS NULL OR customer_id = $1) AND ($2::text IS NULL OR period_label = $2) AND ($3::uuid IS NULL OR invoice_id > $3::uuid)
      ORDER BY invoice_id LIMIT $4`,
    [filter.customerId, filter.periodLabel, filter.after, limit + 1],
  );
  const page = rows.rows.slice(0, limit);
  const recomputations: InvoiceRecomputation[] = [];
  for (const r of page) {
    const one = await recomputeInvoiceDryRun(deps, db, r.invoice_id, asOf);
    if (one !== null) recomputations.push(one);
  }
  return { recomputations, next: rows.rows.length > limit ? page[page.length - 1]!.invoice_id : null };
}

export type RecomputationApplied =
  | { outcome: 'issued'; noteId: string; note: SettlementCorrectionIssued; alreadyApplied: boolean }
  | { outcome: 'unchanged' }
  | { outcome: 'halted'; reason: string }
  | { outcome: 'stale'; currentRevision: number };

/** The id of the note a staff recomputation issues: one per invoice and revision, so applying the same dry run twice issues it once. */
export function recomputationNoteIdOf(invoiceId: string, basedOnRevision: number): string {
  return nameBasedUuid('recompute-note', `${invoiceId}/${basedOnRevision}`);
}

/**
 * Applies a dry run (`recomputeInvoiceDryRun` at `asOf` on revision `basedOnRevision`): issues exactly
 * the note it showed, as `SettlementCorrectionIssued` (cause `recompute`, public `settlement.correction`),
 * once. `stale` when the invoice changed since the dry run (another note was issued: dry-run again);
 * a second apply of the same dry run answers the note already issued. Null when no invoice has that id.
 */
export async function applyRecomputation(deps: SettleDeps, db: Db, request: { invoiceId: string; asOf: Date; basedOnRevision: number; actor: string; correlationId: string; causationId: string | null }): Promise<RecomputationApplied | null> {
  const { invoiceId, basedOnRevision } = request;
  const streamId = invoiceStreamId(invoiceId);
  const noteId = recomputationNoteIdOf(invoiceId, basedOnRevision);
  const stream = await deps.store.readStream(streamId);
  const done = stream.find((e) => e.eventId === noteId);
  if (done !== undefined) return { outcome: 'issued', noteId, note: dataOf<SettlementCorrectionIssued>(done.data), alreadyApplied: true };
  const dry = await recomputeInvoiceDryRun(deps, db, invoiceId, request.asOf);
  if (dry === null) return null;
  if (dry.basedOnRevision !== basedOnRevision) return { outcome: 'stale', currentRevision: dry.basedOnRevision };
  if (dry.recomputed.outcome !== 'settled') return { outcome: 'halted', reason: dry.recomputed.reason };
  if (dry.wouldIssue.noteType === 'none' || dry.wouldIssue.totals === null) return { outcome: 'unchanged' };
  const found = (await readIssuedInvoice(deps, invoiceId))!;
  const note: SettlementCorrectionIssued = {
    noteId,
    invoiceId,
    customerId: found.issued.customerId,
    gsrn: found.issued.gsrn,
    periodLabel: found.issued.periodLabel,
    noteType: dry.wouldIssue.noteType,
    cause: 'recompute',
    // The note's lines as the public event carries them (the dry run's causes stay in the dry run).
    lines: dry.wouldIssue.lines.map(({ causes: _causes, ...line }): CorrectionLineJson => line),
    totals: dry.wouldIssue.totals,
    correctedInvoice: { lines: dry.recomputed.lines, totals: dry.recomputed.totals, asOf: dry.recomputed.asOf },
  };
  const metadata = settlementMetadata({ correlationId: request.correlationId, causationId: request.causationId, actor: request.actor });
  try {
    await deps.store.appendToStream(streamId, [{ eventId: noteId, type: 'SettlementCorrectionIssued', data: toJsonObject(note), metadata, occurredAt: request.asOf }], { expectedRevision: BigInt(basedOnRevision) });
  } catch (error) {
    // Another note (or this one, concurrently) came first: answer from the stream as it is now.
    if (!(error instanceof WrongExpectedRevisionError)) throw error;
    const again = (await deps.store.readStream(streamId)).find((e) => e.eventId === noteId);
    if (again !== undefined) return { outcome: 'issued', noteId, note: dataOf<SettlementCorrectionIssued>(again.data), alreadyApplied: true };
    const last = (await deps.store.readStream(streamId)).at(-1)!;
    return { outcome: 'stale', currentRevision: Number(last.streamRevision) };
  }
  return { outcome: 'issued', noteId, note, alreadyApplied: false };
}
