import type { EventTrace, StreamDiff, StreamEvents, StreamState } from '@dh/dispute-desk';
import type { InputChange, InvoiceExplanation } from '@dh/settlement-application';
import { json, short, table } from './format';
import { callGateway, query, type DeskSession } from './gateway-client';

async function recomputeOne(s: DeskSession, a: CommandArgs, raw: boolean, dry: Recomputation): Promise<string[]> {
  const id = encodeURIComponent(dry.invoiceId);
  const w = dry.wouldIssue;
  const lines = [
    `invoice ${dry.invoiceId}  ${dry.gsrn}  ${dry.period}: recomputed with prices as of ${dry.asOf} on revision ${dry.basedOnRevision}`,
    ...(dry.recomputed.outcome === 'settled' ? [] : [`  halted: ${dry.recomputed.reason ?? ''}`]),
    `would issue: ${w.noteType}${w.totals ? ` ${w.totals.exclVat} + VAT ${w.totals.vat} = ${w.totals.inclVat}` : ''}`,
    ...table(['line', 'kWh', 'excl. VAT', 'VAT'], w.lines.map((l) => [l.key, l.quantityKwh ?? '', l.amountExclVat, l.vat])),
    ...(w.lines.length === 0 ? [] : [`caused by (invoice as last corrected → recomputed${dry.basis.reproduced ? '' : `; the corrected invoice was not reproduced on ${dry.basis.differingLines.join(', ')}, causes may be incomplete`}):`]),
    ...w.lines.flatMap((l) => [`  ${l.key}:`, ...(l.causes.length === 0 ? ['    no changed input found'] : l.causes.map((c) => `    ${describeChange(c)}`))]),
  ];
  if (a.options['apply'] !== true) return raw ? json(dry) : lines;
  const applied = await callGateway<{ outcome: string; noteId?: string; alreadyApplied?: boolean }>(s, 'POST', `/api/staff/invoices/${id}/recomputation/apply`, { as_of: dry.asOf, based_on_revision: dry.basedOnRevision });
  if (raw) return json({ dryRun: dry, applied });
  return [...lines, applied.outcome === 'issued' ? `applied: note ${applied.noteId}${applied.alreadyApplied ? ' (already applied)' : ''}` : `applied: ${applied.outcome}, nothing issued`];
}

/** A customer's or a period's invoices, page by page; with --apply each dry run that would issue a note is applied. */
async function recomputeMany(s: DeskSession, a: CommandArgs, raw: boolean): Promise<string[]> {
  const out: string[] = [];
  let after: string | undefined;
  do {
    const page = await callGateway<{ recomputations: Recomputation[]; next: string | null }>(
      s,
      'GET',
      `/api/staff/recomputations${query({ customer_id: opt(a, 'customer'), period: opt(a, 'period'), as_of: opt(a, 'as-of'), after, limit: 100 })}`,
    );
    for (const dry of page.recomputations) {
      if (a.options['apply'] === true && dry.wouldIssue.noteType === 'none') {
        out.push(`invoice ${dry.invoiceId}: nothing to issue`);
        continue;
      }
      out.push(...(await recomputeOne(s, a, raw, dry)), ...(raw ? [] : ['']));
    }
    after = page.next ?? undefined;
  } while (after !== undefined);
  return out;
}

const v = (x: { version: number } | null): string => (x === null ? 'none' : `v${x.version}`);

/** One changed input of a dry run's line, old → new. */
export function describeChange(c: InputChange): string {
  switch (c.input) {
    case 'metered-data':
      return `metered data ${c.series} ${c.gsrn} ${c.day}: ${v(c.old)} → ${v(c.new)}${c.new?.documentId ? ` (${c.new.documentId})` : ''}`;
    case 'spot-price': {
      const sv = (x: { versions: number[] } | null) => (x === null || x.versions.length === 0 ? 'none' : `v${x.versions.join('/')}`);
      return `spot price ${c.priceArea} ${c.day}: ${sv(c.old)} → ${sv(c.new)}${c.new?.latestPublishedAt ? ` (published ${c.new.latestPublishedAt})` : ''}`;
    }
    case 'charge-price':
    case 'tax-rate':
    case 'product-price': {
      const pv = (x: { chargeId: string; version: number; publishedAt: string; prices: string[] } | null) =>
        x === null ? 'none' : `${x.chargeId} v${x.version} published ${x.publishedAt} (${x.prices.length === 1 ? x.prices[0] : `${x.prices.length} prices`})`;
      return `${c.input} ${c.role} ${c.firstDay}–${c.lastDay} (${c.days} days): ${pv(c.old)} → ${pv(c.new)}`;
    }
    case 'supply':
      return `supply: ${c.old.productId}, ${c.old.suppliedDays} days → ${c.new.productId}, ${c.new.suppliedDays} days`;
    case 'electric-heating':
      return `electric heating: ${c.old === null ? 'none' : `threshold ${c.old.thresholdKwh} kWh, year to date ${c.old.yearToDateKwh}`} → ${c.new === null ? 'none' : `threshold ${c.new.thresholdKwh} kWh, year to date ${c.new.yearToDateKwh}`}`;
    case 'production-link':
      return `production point: ${c.old ?? 'none'} → ${c.new ?? 'none'}`;
    case 'fee': {
      const fv = (x: { pieces: string; vatExempt: boolean; row: { version: number; prices: readonly string[] } | null } | null) =>
        x === null ? 'none' : `${x.pieces} × ${x.row === null ? 'no price' : `v${x.row.version} ${x.row.prices[0]}`}${x.vatExempt ? ' (no VAT)' : ''}`;
      return `fee ${c.chargeId} ${c.date}: ${fv(c.old)} → ${fv(c.new)}`;
    }
  }
}

/** The gateway's recomputation dry run (settlement's `InvoiceRecomputation`). */
interface Recomputation {
  invoiceId: string;
  gsrn: string;
  period: string;
  asOf: string;
  basedOnRevision: number;
  recomputed: { outcome: string; reason?: string };
  basis: { reproduced: boolean; differingLines: string[] };
  wouldIssue: {
    noteType: string;
    lines: { key: string; quantityKwh: string | null; amountExclVat: string; vat: string; causes: InputChange[] }[];
    totals: { exclVat: string; vat: string; inclVat: string } | null;
  };
}

export interface CommandArgs {
  positionals: string[];
  options: Record<string, string | boolean | undefined>;
}

const opt = (a: CommandArgs, name: string): string | undefined => (typeof a.options[name] === 'string' ? (a.options[name] as string) : undefined);

function required(a: CommandArgs, index: number, what: string): string {
  const v = a.positionals[index];
  if (v === undefined) throw new Error(`missing ${what}`);
  return encodeURIComponent(v);
}

const eventRows = (events: StreamEvents['events']) =>
  table(
    ['rev', 'recorded at', 'occurred at', 'type', 'actor', 'correlation', 'caused by', 'event id'],
    events.map((e) => [e.revision, e.recorded_at, e.occurred_at, e.type, e.actor, short(e.correlation_id), short(e.causation_id), e.event_id]),
  );

export const disputeCommands: Record<string, (s: DeskSession, a: CommandArgs, raw: boolean) => Promise<string[]>> = {
  async kinds(s, _a, raw) {
    const r = await callGateway<{ kinds: { kind: string; prefix: string; description: string }[] }>(s, 'GET', '/api/staff/stream-kinds');
    return raw ? json(r) : table(['kind', 'stream id', 'what'], r.kinds.map((k) => [k.kind, `${k.prefix}<id>`, k.description]));
  },

  async events(s, a, raw) {
    const r = await callGateway<StreamEvents>(s, 'GET', `/api/staff/streams/${required(a, 0, 'stream id')}/events${query({ as_of: opt(a, 'as-of'), from_revision: opt(a, 'from-revision'), limit: opt(a, 'limit') })}`);
    if (raw) return json(r);
    const out = [`${r.stream_id} (${r.kind})${r.as_of ? `, as known at ${r.as_of}` : ''}`, ...eventRows(r.events)];
    if (r.next_revision !== null) out.push(`… more from revision ${r.next_revision} (--from-revision ${r.next_revision})`);
    return out;
  },

  async state(s, a, raw) {
    const r = await callGateway<StreamState>(s, 'GET', `/api/staff/streams/${required(a, 0, 'stream id')}/state${query({ as_of: opt(a, 'as-of') })}`);
    if (raw) return json(r);
    return [`${r.stream_id} (${r.kind}) as known at ${r.as_of ?? 'now'}: revision ${r.revision ?? 'none'}, ${r.events_folded} events, last recorded ${r.last_recorded_at ?? '-'}`, ...json(r.state)];
  },

  async diff(s, a, raw) {
    const from = opt(a, 'from');
    if (from === undefined) throw new Error('diff needs --from <instant>');
    const r = await callGateway<StreamDiff>(s, 'GET', `/api/staff/streams/${required(a, 0, 'stream id')}/diff${query({ from, to: opt(a, 'to') })}`);
    if (raw) return json(r);
    return [
      `${r.stream_id}: revision ${r.from.revision ?? 'none'} (${r.from.as_of}) → ${r.to.revision ?? 'none'} (${r.to.as_of})`,
      'changes:',
      ...(r.changes.length === 0 ? ['  (none)'] : r.changes.map((c) => `  ${c.change.padEnd(7)} ${c.path}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`)),
      'events that made them:',
      ...eventRows(r.events),
    ];
  },

  async trace(s, a, raw) {
    const r = await callGateway<EventTrace>(s, 'GET', `/api/staff/events/${required(a, 0, 'event id')}`);
    if (raw) return json(r);
    const one = (e: EventTrace['event']) => `${e.recorded_at}  ${e.stream_id}@${e.revision}  ${e.type}  (${e.actor}) ${e.event_id}`;
    return [
      one(r.event),
      'caused by (nearest first):',
      ...(r.causes.length === 0 ? ['  (a command from outside: no earlier event)'] : r.causes.map((e) => `  ${one(e)}`)),
      'caused:',
      ...(r.caused.length === 0 ? ['  (nothing)'] : r.caused.map((e) => `  ${one(e)}`)),
      `same correlation (${r.event.correlation_id}): ${r.correlated.length} events`,
    ];
  },

  async explain(s, a, raw) {
    const x = await callGateway<InvoiceExplanation>(s, 'GET', `/api/staff/invoices/${required(a, 0, 'invoice id')}/explanation`);
    if (raw) return json(x);
    const i = x.invoice;
    const amount = (f: { amountExclVat: string } | null) => f?.amountExclVat ?? '-';
    const qty = (f: { quantityKwh: string | null } | null) => f?.quantityKwh ?? '';
    const out = [
      `invoice ${i.invoiceId}  ${i.gsrn}  ${i.period} (${i.periodStart}..${i.periodEnd})  customer ${i.customerId}`,
      `issued ${i.issuedAt}, prices as of ${i.pricesAsOf}; recomputed as issued: ${x.asIssued.outcome === 'settled' ? (x.asIssued.reproduced ? 'reproduced' : `differs on ${x.asIssued.differingLines.join(', ')}`) : `halted (${x.asIssued.outcome})`}`,
      '',
      ...table(
        ['line', 'kWh issued', 'issued', 'kWh now', 'corrected', 'now', 'pending', 'inputs'],
        x.lines.map((l) => [l.key, qty(l.issued), amount(l.issued), qty(l.now), amount(l.corrected), amount(l.now), l.pendingExclVat, [...l.sources.metered, ...(l.sources.spot ? ['spot'] : []), ...l.sources.charges, ...l.sources.rules].join(' ')]),
      ),
      '',
      'notes (issued + notes = corrected):',
      ...(x.notes.length === 0 ? ['  (none)'] : x.notes.map((n) => `  ${n.issuedAt}  ${n.noteType.padEnd(6)} ${n.cause.padEnd(15)} ${n.totals.inclVat.padStart(10)} incl. VAT  note ${n.noteId}  caused by event ${n.causationId ?? '-'}`)),
      `bridge: issued ${x.bridge.issuedInclVat} + notes ${x.bridge.notesInclVat} = corrected ${x.bridge.correctedInclVat} (${x.bridge.issuedPlusNotesIsCorrected ? 'balances' : 'DOES NOT BALANCE'}); now ${x.bridge.nowInclVat ?? 'halted'}, pending ${x.bridge.pendingInclVat ?? '-'} incl. VAT`,
    ];
    if (x.now.outcome === 'settled') {
      const m = x.now.inputs.metered.map((s2) => `${s2.series} ${s2.gsrn}: ${s2.totalKwh} kWh, versions ${JSON.stringify(s2.versions)}, qualities ${JSON.stringify(s2.qualities)}`);
      const spotVersions = [...new Set(x.now.inputs.spot.flatMap((d) => d.versions))].sort((p, q) => p - q);
      out.push('', `inputs now (as of ${x.now.asOf}):`, ...m.map((l) => `  metered ${l}`), `  spot ${x.now.inputs.priceArea}: versions ${spotVersions.join(', ')} over ${x.now.inputs.spot.length} days`);
      for (const [role, c] of Object.entries(x.now.inputs.charges)) {
        if (c === undefined) continue;
        out.push(`  ${role.padEnd(22)} ${c.chargeId}: ${c.rows.map((r) => `v${r.version} ${r.validFrom}..${r.validTo ?? ''} ${r.prices.length === 1 ? r.prices[0] : `${r.prices.length} hourly prices`} (${r.days} days)`).join('; ')}`);
      }
      if (x.now.inputs.electricHeating) out.push(`  electric heating: threshold ${x.now.inputs.electricHeating.thresholdKwh} kWh this year, ${x.now.inputs.electricHeating.yearToDateKwh} kWh before the period`);
      if (x.now.inputs.productionGsrn) out.push(`  production ${x.now.inputs.productionGsrn}: hourly netting`);
    } else out.push('', `now: halted — ${x.now.reason} ${JSON.stringify(x.now.detail)}`);
    return out;
  },

  async recompute(s, a, raw) {
    if (a.positionals[0] === undefined && (opt(a, 'customer') !== undefined || opt(a, 'period') !== undefined)) return recomputeMany(s, a, raw);
    const id = required(a, 0, 'invoice id');
    const dry = await callGateway<Recomputation>(s, 'GET', `/api/staff/invoices/${id}/recomputation${query({ as_of: opt(a, 'as-of') })}`);
    return recomputeOne(s, a, raw, dry);
  },


  async audit(s, a, raw) {
    const r = await callGateway<{ entries: { at: string; actor_id: string; action: string; subject_type: string; subject_id: string | null; reason: string | null; outcome: string }[] }>(
      s,
      'GET',
      `/api/staff/audit${query({ actor_id: opt(a, 'actor'), action: opt(a, 'action'), subject_type: opt(a, 'subject-type'), subject_id: opt(a, 'subject-id'), outcome: opt(a, 'outcome'), from: opt(a, 'from'), to: opt(a, 'to'), limit: opt(a, 'limit') })}`,
    );
    return raw ? json(r) : table(['at', 'actor', 'action', 'subject', 'outcome', 'reason'], r.entries.map((e) => [e.at, e.actor_id, e.action, `${e.subject_type}:${e.subject_id ?? '*'}`, e.outcome, e.reason]));
  },
};
