import { compareLocalDates, type LocalDate } from '@dh/dk-time';
import type { JsonObject } from '@dh/event-store';
import { formatScaled, Money, parseQuantityMilliKwh, QUANTITY_SCALE } from '@dh/money';
import { inputsUsed, inputsUsedOrHalted, LINE_PRICE_SOURCES, settleMeteringPoint, type BillingPeriod, type InputsUsed, type LineKind } from '@dh/settlement-domain';
import type { CorrectionLineJson, InvoiceIssued, InvoiceLineJson, SettlementCorrectionIssued, TotalsJson } from './events';
import { lineToJson, totalsToJson } from './invoice-codec';
import { haltDetail } from './run';
import { buildSettlementInput, DEFAULT_RATES_CONFIG, type BuiltInput, type MeteredDayRecord, type ProductDays, type SettlementCopies, type SettlementRatesConfig, type SupplyRecord } from './settlement-input';

/** One day of metered data as a settlement used it: the version, its RSM-012 document and the qualities of its positions. */
export interface MeteredDayUse {
  day: LocalDate;
  version: number;
  documentId: string | null;
  receivedAt: string | null;
  resolution: string;
  positions: number;
  qualities: Record<string, number>;
}

export interface MeteredUse {
  gsrn: string;
  series: 'consumption' | 'production';
  /** Σ of every supplied day's quantities (kWh, exact); for consumption without production it is the energy line's quantity. */
  totalKwh: string;
  /** version → number of days. */
  versions: Record<string, number>;
  qualities: Record<string, number>;
  days: MeteredDayUse[];
}

/** Everything a computation of an invoice drew on: prices (versions, rows) and metered data (versions, qualities). */
export interface ComputationInputs extends InputsUsed {
  /** `products`: the product in force on the supplied days (the supply's, then its changes from a date). */
  supply: { productId: string; billingFrequency: string; paymentModel: string; periods: { start: LocalDate; end: LocalDate | null }[]; products: ProductDays[] };
  metered: MeteredUse[];
}

export type InvoiceComputation =
  | { outcome: 'settled'; asOf: string; lines: InvoiceLineJson[]; totals: TotalsJson; estimated: boolean; inputs: ComputationInputs }
  | { outcome: 'halted'; asOf: string; reason: string; detail: JsonObject };

function meteredUse(series: MeteredUse['series'], gsrn: string, records: readonly MeteredDayRecord[], days: ReadonlySet<LocalDate>): MeteredUse {
  const used = records.filter((r) => r.gsrn === gsrn && days.has(r.day)).sort((a, b) => compareLocalDates(a.day, b.day));
  const versions: Record<string, number> = {};
  const qualities: Record<string, number> = {};
  let total = 0n;
  const out = used.map((r): MeteredDayUse => {
    versions[String(r.version)] = (versions[String(r.version)] ?? 0) + 1;
    const q: Record<string, number> = {};
    for (const p of r.points) {
      q[p.quality] = (q[p.quality] ?? 0) + 1;
      qualities[p.quality] = (qualities[p.quality] ?? 0) + 1;
      if (p.quantityKwh !== null) total += parseQuantityMilliKwh(p.quantityKwh);
    }
    return { day: r.day, version: r.version, documentId: r.documentId ?? null, receivedAt: r.receivedAt?.toISOString() ?? null, resolution: r.resolution, positions: r.points.length, qualities: q };
  });
  return { gsrn, series, totalKwh: formatScaled(total, QUANTITY_SCALE), versions, qualities, days: out };
}

function supplyOf(supplies: readonly SupplyRecord[], products: ProductDays[]): ComputationInputs['supply'] {
  const latest = [...supplies].sort((a, b) => compareLocalDates(b.startDate, a.startDate))[0]!;
  return {
    productId: latest.productId,
    billingFrequency: latest.billingFrequency,
    paymentModel: latest.paymentModel,
    periods: [...supplies].sort((a, b) => compareLocalDates(a.startDate, b.startDate)).map((s) => ({ start: s.startDate, end: s.endDate })),
    products,
  };
}

/**
 * Settles one metering point and period from the given copies, as `settleFromCopies` does, and
 * records what it drew on. A dry run: nothing is issued. The reusable query behind "the invoice as it
 * would be computed today" and behind explaining an issued one.
 */
export function computeInvoice(
  gsrn: string,
  period: BillingPeriod,
  asOf: Date,
  copies: SettlementCopies,
  config: SettlementRatesConfig = DEFAULT_RATES_CONFIG,
  customerId: string | null = null,
): InvoiceComputation {
  const built = buildSettlementInput(gsrn, period, asOf, copies, config, customerId);
  if (!built.ok) return { outcome: 'halted', asOf: asOf.toISOString(), reason: built.halt.reason, detail: haltDetail(built.halt) };
  const result = settleMeteringPoint(built.input);
  if (result.outcome === 'halted') return { outcome: 'halted', asOf: asOf.toISOString(), reason: result.reason, detail: haltDetail(result) };
  return {
    outcome: 'settled',
    asOf: asOf.toISOString(),
    lines: result.invoice.lines.map(lineToJson),
    totals: totalsToJson(result.invoice.totals),
    estimated: result.invoice.estimated,
    inputs: inputsOf(gsrn, copies, built, inputsUsed(built.input)),
  };
}

/**
 * `computeInvoice`'s `inputs`: the price data `used` (`inputsUsed` of `built.input`), the supply and the metered data
 * of the supplied days. `sameMetered`: the metered uses of a computation on the same metered days of the same copies,
 * taken as they are when it supplied the same days from the same series (they are the same function of those).
 */
function inputsOf(gsrn: string, copies: SettlementCopies, built: Extract<BuiltInput, { ok: true }>, used: InputsUsed, sameMetered?: ComputationInputs): ComputationInputs {
  const seriesGsrns = built.productionGsrn === null ? [gsrn] : [gsrn, built.productionGsrn];
  const reusable =
    sameMetered !== undefined &&
    sameMetered.metered.length === seriesGsrns.length &&
    sameMetered.metered.every((m, i) => m.gsrn === seriesGsrns[i]) &&
    sameMetered.suppliedDays.length === used.suppliedDays.length &&
    sameMetered.suppliedDays.every((d, i) => d === used.suppliedDays[i]);
  let metered: MeteredUse[];
  if (reusable) metered = sameMetered.metered;
  else {
    const days = new Set(used.suppliedDays);
    metered = [meteredUse('consumption', gsrn, copies.consumption, days)];
    if (built.productionGsrn !== null) metered.push(meteredUse('production', built.productionGsrn, copies.production, days));
  }
  return { ...used, supply: supplyOf(copies.supplies.filter((s) => s.gsrn === gsrn && !s.reversed && s.customerId === built.customerId), built.products), metered };
}

/**
 * What a computation on `copies` draws on (`computeInvoice`'s `inputs`) without settling: for an input built already
 * (`buildSettlementInput`), e.g. the one a correction settled, or to compare two computations' inputs (a note's
 * causes). Halted when the input's preparation stops (configuration, invalid input); a price or metered interval
 * missing, which only the settlement finds, is a row or version missing in the inputs instead. `sameMetered`: the
 * inputs of another computation on the same copies (same metered days), whose metered uses are taken when it
 * supplied the same days (computed once for both sides of a note's causes).
 */
export function computationInputsOf(
  gsrn: string,
  copies: SettlementCopies,
  built: BuiltInput,
  options: { sameMetered?: ComputationInputs } = {},
): { outcome: 'used'; inputs: ComputationInputs } | { outcome: 'halted' } {
  if (!built.ok) return { outcome: 'halted' };
  const used = inputsUsedOrHalted(built.input);
  if (used.outcome === 'halted') return { outcome: 'halted' };
  return { outcome: 'used', inputs: inputsOf(gsrn, copies, built, used.used, options.sameMetered) };
}

// ------------------------------------------------------------------------------------------ explanation

export interface LineFigures {
  quantityKwh: string | null;
  unitPrice: string | null;
  daysSupplied: number | null;
  daysInMonth: number | null;
  amountExclVat: string;
  vat: string;
  amountInclVat: string;
  estimated: boolean;
}

export interface ExplainedLine {
  key: string;
  kind: string;
  description: string;
  issued: LineFigures | null;
  /** As last corrected: issued plus every correction note's line. */
  corrected: LineFigures | null;
  now: LineFigures | null;
  /** What a correction issued now would add to this line (now − corrected), excl. VAT. */
  pendingExclVat: string;
  /** Where the quantity and the prices come from; details under `inputs` of the computation. */
  sources: { metered: ('consumption' | 'production')[]; spot: boolean; charges: string[]; rules: string[] };
  /** How the amount is formed, in words. */
  formula: string;
}

export interface NoteSummary {
  noteId: string;
  noteType: string;
  cause: string;
  /** The event that triggered the correction (a new metered data version, a new price version). */
  causationId: string | null;
  issuedAt: string;
  totals: TotalsJson;
  lines: CorrectionLineJson[];
}

export interface InvoiceExplanation {
  invoice: { invoiceId: string; gsrn: string; customerId: string; period: string; periodStart: string; periodEnd: string; paymentModel: string; runId: string; issuedAt: string; pricesAsOf: string };
  issued: { lines: InvoiceLineJson[]; totals: TotalsJson };
  notes: NoteSummary[];
  corrected: { lines: InvoiceLineJson[]; totals: TotalsJson };
  /** Recomputed from what was known when the invoice was issued; `reproduced` says whether it gives the issued lines. */
  asIssued: InvoiceComputation & { reproduced: boolean; differingLines: string[] };
  now: InvoiceComputation;
  lines: ExplainedLine[];
  bridge: { issuedInclVat: string; notesInclVat: string; correctedInclVat: string; issuedPlusNotesIsCorrected: boolean; nowInclVat: string | null; pendingInclVat: string | null };
}

function figures(l: InvoiceLineJson | undefined): LineFigures | null {
  if (l === undefined) return null;
  return { quantityKwh: l.quantityKwh, unitPrice: l.unitPrice, daysSupplied: l.daysSupplied, daysInMonth: l.daysInMonth, amountExclVat: l.amountExclVat, vat: l.vat, amountInclVat: l.amountInclVat, estimated: l.estimated };
}

function formulaOf(kind: LineKind, line: InvoiceLineJson, inputs: ComputationInputs | null): string {
  const once = 'rounded once to øre (half away from zero); VAT 25 % of the rounded amount';
  if (kind === 'production') return 'gross production of the linked production metering point, for information (amount 0)';
  if (kind === 'fee') {
    const fee = inputs?.fees?.find((f) => line.key === `fee:${f.chargeId}@${f.date}`);
    const vat = fee?.vatExempt === true ? 'no VAT (the fee\'s VATPayer is D02)' : 'VAT 25 % of the rounded amount';
    return `${line.unitPrice ?? 'the fee\'s price'} DKK per piece on ${fee?.date ?? 'the fee\'s day'} × ${fee?.pieces ?? 'the pieces'} piece(s) DataHub links (a one-off fee, D02), rounded once to øre (half away from zero); ${vat}`;
  }
  if (line.month !== null) {
    return `${line.unitPrice ?? 'the monthly price in force each day'} DKK/month × ${line.daysSupplied ?? '?'} days supplied ÷ ${line.daysInMonth ?? '?'} days in ${line.month}, ${once}`;
  }
  const price =
    kind === 'energy' ? 'spot price + product margin' : kind === 'export-energy' ? 'spot price (bought from the customer, negative)' : kind === 'export-fee' ? 'our fee per exported kWh' : 'the charge';
  const quantity =
    inputs?.productionGsrn !== null && inputs?.productionGsrn !== undefined
      ? `hourly net ${kind.startsWith('export') ? 'export' : 'import'} (consumption − production per hour)`
      : 'metered consumption of the supplied days';
  const split =
    kind === 'electricity-tax' && inputs?.electricHeating
      ? `; electric heating: only up to the prorated threshold of ${inputs.electricHeating.thresholdKwh} kWh (${inputs.electricHeating.yearToDateKwh} kWh before the period)`
      : kind === 'electricity-tax-reduced' && inputs?.electricHeating
        ? `; electric heating: the consumption above the prorated threshold of ${inputs.electricHeating.thresholdKwh} kWh`
        : '';
  const product = line.unitPrice !== null ? `${line.quantityKwh ?? '?'} kWh × ${line.unitPrice} DKK/kWh (one price for every interval)` : `Σ over the intervals of quantity × ${price} in force for the interval`;
  return `${product}; quantity = ${quantity}${split}; ${once}`;
}

function rulesOf(kind: LineKind, inputs: ComputationInputs | null): string[] {
  const rules: string[] = [];
  if (inputs?.productionGsrn) rules.push('hourly-netting');
  if ((kind === 'electricity-tax' || kind === 'electricity-tax-reduced') && inputs?.electricHeating) rules.push('electric-heating-threshold');
  if (kind.endsWith('subscription')) rules.push('proration-by-days-supplied');
  return rules;
}

const totalOf = (totals: TotalsJson | undefined): Money => (totals === undefined ? Money.ZERO : Money.parse(totals.inclVat));

function differing(a: readonly InvoiceLineJson[], b: readonly InvoiceLineJson[]): string[] {
  const keys = new Set([...a.map((l) => l.key), ...b.map((l) => l.key)]);
  const same = (x: InvoiceLineJson | undefined, y: InvoiceLineJson | undefined) =>
    x !== undefined && y !== undefined && x.quantityKwh === y.quantityKwh && x.amountExclVat === y.amountExclVat && x.vat === y.vat;
  return [...keys].filter((k) => !same(a.find((l) => l.key === k), b.find((l) => l.key === k))).sort();
}

/**
 * An issued invoice explained: the lines as issued, the correction notes and the invoice as last corrected
 * (issued + notes), a recomputation from what was known at issue, and the invoice as it would be computed
 * now, line by line with the inputs each line draws on. Pure: the caller reads the stream and the copies.
 */
export function explainInvoice(input: {
  issued: InvoiceIssued;
  issuedAt: Date;
  notes: { note: SettlementCorrectionIssued; issuedAt: Date; causationId: string | null }[];
  asIssued: InvoiceComputation;
  now: InvoiceComputation;
}): InvoiceExplanation {
  const { issued } = input;
  const last = input.notes[input.notes.length - 1]?.note.correctedInvoice;
  const corrected = last === undefined ? { lines: issued.lines, totals: issued.totals } : { lines: last.lines, totals: last.totals };
  const nowLines = input.now.outcome === 'settled' ? input.now.lines : [];
  const nowInputs = input.now.outcome === 'settled' ? input.now.inputs : input.asIssued.outcome === 'settled' ? input.asIssued.inputs : null;
  const keys: string[] = [];
  for (const l of [...issued.lines, ...corrected.lines, ...nowLines]) if (!keys.includes(l.key)) keys.push(l.key);
  const lines = keys.map((key): ExplainedLine => {
    const i = issued.lines.find((l) => l.key === key);
    const c = corrected.lines.find((l) => l.key === key);
    const n = nowLines.find((l) => l.key === key);
    const present = (n ?? c ?? i)!; // the line as computed now, else as corrected, else as issued
    const kind = present.kind as LineKind;
    const sources = LINE_PRICE_SOURCES[kind];
    const metered: ('consumption' | 'production')[] = kind.endsWith('subscription') || kind === 'fee' ? [] : kind === 'production' || kind.startsWith('export') ? ['consumption', 'production'] : ['consumption'];
    if (metered.length === 1 && nowInputs?.productionGsrn) metered.push('production');
    const pending = input.now.outcome === 'settled' ? (n === undefined ? Money.ZERO : Money.parse(n.amountExclVat)).sub(c === undefined ? Money.ZERO : Money.parse(c.amountExclVat)) : Money.ZERO;
    return {
      key,
      kind,
      description: present.description,
      issued: figures(i),
      corrected: figures(c),
      now: figures(n),
      pendingExclVat: pending.format(),
      sources: { metered, spot: sources?.spot ?? false, charges: [...(sources?.charges ?? [])], rules: rulesOf(kind, nowInputs) },
      formula: formulaOf(kind, present, nowInputs),
    };
  });
  const notesTotal = Money.sum(input.notes.map((n) => totalOf(n.note.totals)));
  const nowTotal = input.now.outcome === 'settled' ? totalOf(input.now.totals) : null;
  const diffs = input.asIssued.outcome === 'settled' ? differing(input.asIssued.lines, issued.lines) : issued.lines.map((l) => l.key);
  return {
    invoice: {
      invoiceId: issued.invoiceId,
      gsrn: issued.gsrn,
      customerId: issued.customerId,
      period: issued.periodLabel,
      periodStart: issued.periodStart,
      periodEnd: issued.periodEnd,
      paymentModel: issued.paymentModel,
      runId: issued.runId,
      issuedAt: input.issuedAt.toISOString(),
      pricesAsOf: issued.asOf,
    },
    issued: { lines: issued.lines, totals: issued.totals },
    notes: input.notes.map(({ note, issuedAt, causationId }) => ({ noteId: note.noteId, noteType: note.noteType, cause: note.cause, causationId, issuedAt: issuedAt.toISOString(), totals: note.totals, lines: note.lines })),
    corrected,
    asIssued: { ...input.asIssued, reproduced: diffs.length === 0, differingLines: diffs },
    now: input.now,
    lines,
    bridge: {
      issuedInclVat: issued.totals.inclVat,
      notesInclVat: notesTotal.format(),
      correctedInclVat: corrected.totals.inclVat,
      issuedPlusNotesIsCorrected: totalOf(issued.totals).add(notesTotal).equals(totalOf(corrected.totals)),
      nowInclVat: nowTotal?.format() ?? null,
      pendingInclVat: nowTotal === null ? null : nowTotal.sub(totalOf(corrected.totals)).format(),
    },
  };
}
