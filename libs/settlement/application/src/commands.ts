import { randomUUID } from 'node:crypto';
import { RESOLUTION_MS, localDateOf, localDayStart } from '@dh/dk-time';
import { deterministicEventId, handleCommand, type DomainEvent, type EventMetadata, type EventStore, type StreamAppend } from '@dh/event-store';
import { isValidGsrn } from '@dh/market-ids';
import { Money, isDecimalString } from '@dh/money';
import type { BillingPeriod } from '@dh/settlement-domain';
import { SETTLEMENT_CONTEXT, dataOf, toJsonObject, type AcontoPaymentRecorded, type NoteExportAcknowledged, type SettlementCorrectionIssued, type ExpectedConsumptionSet, type MeteredDataReceived, type MeteredPoint } from './events';
import { acontoStreamId, invoiceStreamId, meteredDataStreamId, nameBasedUuid } from './ids';
import { toBillingPeriod } from './period';

/** A refused command: `code` becomes the problem type the gateway maps to HTTP. */
export class SettlementCommandRejected extends Error {
  override readonly name = 'SettlementCommandRejected';
  constructor(
    readonly code: 'validation' | 'concurrency-conflict' | 'not-found' | 'already-acknowledged',
    message: string,
  ) {
    super(message);
  }
}

export interface CommandMeta {
  correlationId: string;
  causationId: string | null;
  actor: string;
  now: Date;
}

export function settlementMetadata(meta: Pick<CommandMeta, 'correlationId' | 'causationId' | 'actor'>): EventMetadata {
  return { correlationId: meta.correlationId, causationId: meta.causationId, actor: meta.actor, schemaVersion: 1, context: SETTLEMENT_CONTEXT };
}

function reject(message: string): never {
  throw new SettlementCommandRejected('validation', message);
}

function isoInstant(value: unknown, field: string): Date {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(value)) reject(`${field} must be an ISO-8601 instant`);
  const d = new Date(value);
  if (!Number.isFinite(d.getTime())) reject(`${field} must be an ISO-8601 instant`);
  return d;
}

// -------------------------------------------------------------------------------- RecordMeteredData

export interface RecordMeteredDataCommand {
  gsrn: string;
  documentId: string;
  receivedAt: string;
  resolution: 'PT15M' | 'PT1H';
  start: string;
  end: string;
  points: MeteredPoint[];
}

export function parseRecordMeteredData(payload: unknown): RecordMeteredDataCommand {
  if (typeof payload !== 'object' || payload === null) reject('payload must be an object');
  const p = payload as Record<string, unknown>;
  if (!isValidGsrn(p.gsrn)) reject('gsrn is not a valid GSRN');
  if (typeof p.documentId !== 'string' || p.documentId === '') reject('documentId is required');
  isoInstant(p.receivedAt, 'receivedAt');
  if (p.resolution !== 'PT15M' && p.resolution !== 'PT1H') reject('resolution must be PT15M or PT1H');
  const start = isoInstant(p.start, 'start');
  const end = isoInstant(p.end, 'end');
  if (end.getTime() <= start.getTime()) reject('end must be after start');
  if (!Array.isArray(p.points) || p.points.length === 0) reject('points must be a non-empty array');
  const points: MeteredPoint[] = p.points.map((raw: unknown, i: number) => {
    const pt = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    if (typeof pt.position !== 'number' || !Number.isSafeInteger(pt.position) || pt.position < 1) reject(`points[${i}].position must be an integer ≥ 1`);
    if (pt.quantityKwh !== null && !(typeof pt.quantityKwh === 'string' && isDecimalString(pt.quantityKwh))) reject(`points[${i}].quantityKwh must be a decimal string or null`);
    if (typeof pt.quality !== 'string') reject(`points[${i}].quality is required`);
    return { position: pt.position, quantityKwh: pt.quantityKwh, quality: pt.quality };
  });
  return { gsrn: p.gsrn, documentId: p.documentId, receivedAt: p.receivedAt as string, resolution: p.resolution, start: p.start as string, end: p.end as string, points };
}

interface MeteredState {
  versions: Map<string, number>;
  documents: Set<string>;
}

/** Splits a series into local days; positions restart at 1 at each local midnight. */
export function meteredDays(command: RecordMeteredDataCommand): Omit<MeteredDataReceived, 'version'>[] {
  const step = RESOLUTION_MS[command.resolution];
  const seriesStart = new Date(command.start).getTime();
  const byDay = new Map<string, MeteredPoint[]>();
  for (const p of command.points) {
    const instant = new Date(seriesStart + (p.position - 1) * step);
    const day = localDateOf(instant);
    const dayStart = localDayStart(day).getTime();
    const list = byDay.get(day) ?? [];
    list.push({ position: (instant.getTime() - dayStart) / step + 1, quantityKwh: p.quantityKwh, quality: p.quality });
    byDay.set(day, list);
  }
  return [...byDay.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([day, points]) => {
      const dayStart = localDayStart(day);
      const last = Math.max(...points.map((p) => p.position));
      return {
        gsrn: command.gsrn,
        day,
        documentId: command.documentId,
        receivedAt: command.receivedAt,
        resolution: command.resolution,
        start: dayStart.toISOString(),
        end: new Date(dayStart.getTime() + last * step).toISOString(),
        points: points.sort((a, b) => a.position - b.position),
      };
    });
}

const meteredDecider = {
  initialState: { versions: new Map<string, number>(), documents: new Set<string>() } as MeteredState,
  evolve(state: MeteredState, event: DomainEvent): MeteredState {
    if (event.type !== 'MeteredDataReceived') return state;
    const d = dataOf<MeteredDataReceived>(event.data);
    return { versions: new Map(state.versions).set(d.day, Math.max(d.version, state.versions.get(d.day) ?? 0)), documents: new Set(state.documents).add(`${d.documentId}/${d.day}`) };
  },
  decide(command: RecordMeteredDataCommand, state: MeteredState): DomainEvent[] {
    return meteredDays(command)
      .filter((d) => !state.documents.has(`${d.documentId}/${d.day}`))
      .map((d) => ({ type: 'MeteredDataReceived', data: toJsonObject<MeteredDataReceived>({ ...d, version: (state.versions.get(d.day) ?? 0) + 1 }) }));
  },
};

/**
 * `RecordMeteredData` → one `MeteredDataReceived` per local day on `metered-data-<gsrn>`, each with
 * the next version of that day (a later version supersedes, the earlier stays in the stream). The
 * same document delivered again appends nothing.
 */
export async function recordMeteredData(store: EventStore, payload: unknown, meta: CommandMeta): Promise<{ days: { day: string; version: number }[]; alreadyRecorded: boolean }> {
  const command = parseRecordMeteredData(payload);
  const result = await handleCommand({
    store,
    streamId: meteredDataStreamId(command.gsrn),
    decider: meteredDecider,
    command,
    metadata: settlementMetadata(meta),
    now: meta.now,
    maxRetries: 10,
    // One append per document is atomic, so the document id recognises a re-delivery.
    idempotencyKey: `metered-data/${command.documentId}`,
  });
  const days = result.events.map((e) => {
    const d = dataOf<MeteredDataReceived>(e.data);
    return { day: d.day, version: d.version };
  });
  return { days, alreadyRecorded: days.length === 0 };
}

/** One local day recorded by {@link recordMeteredDataBatch}: the event as appended, with its id. */
export interface RecordedMeteredDay {
  eventId: string;
  data: MeteredDataReceived;
}

/**
 * `RecordMeteredData` for many series at once (a batch of RSM-012 series from DataHub): each series is decided
 * exactly as {@link recordMeteredData} decides it (same events, versions and event ids, so a series recorded
 * by either path is recognised by the other), and the series' streams are appended together with one
 * `appendToStreams` per round: one round trip and one transaction instead of one per series. Two series of
 * one metering point in a batch go in successive rounds (a stream appears once per atomic append). The
 * streams are read concurrently. A conflict (another writer on one of the streams) throws
 * WrongExpectedRevisionError and nothing of that round is stored; the caller retries series by series.
 * An invalid payload throws SettlementCommandRejected before anything is appended.
 */
export async function recordMeteredDataBatch(
  store: EventStore,
  items: readonly { payload: unknown; meta: CommandMeta }[],
): Promise<{ days: RecordedMeteredDay[]; alreadyRecorded: boolean }[]> {
  const commands = items.map((item) => parseRecordMeteredData(item.payload));
  const results: { days: RecordedMeteredDay[]; alreadyRecorded: boolean }[] = commands.map(() => ({ days: [], alreadyRecorded: true }));
  let pending = commands.map((_, i) => i);
  while (pending.length > 0) {
    const seen = new Set<string>();
    const round: number[] = [];
    const later: number[] = [];
    for (const i of pending) {
      if (seen.has(commands[i].gsrn)) {
        later.push(i);
      } else {
        seen.add(commands[i].gsrn);
        round.push(i);
      }
    }
    const streams = await Promise.all(round.map((i) => store.readStream(meteredDataStreamId(commands[i].gsrn))));
    const appends: StreamAppend[] = [];
    round.forEach((i, r) => {
      const command = commands[i];
      const streamId = meteredDataStreamId(command.gsrn);
      const key = `metered-data/${command.documentId}`;
      const stored = streams[r];
      // The same document recorded before (by this path or by handleCommand): nothing to append.
      const firstId = deterministicEventId(key, streamId, 0);
      if (stored.some((e) => e.eventId.toLowerCase() === firstId)) return;
      const state = stored.reduce((st, e) => meteredDecider.evolve(st, { type: e.type, data: e.data }), meteredDecider.initialState);
      const events = meteredDecider.decide(command, state);
      if (events.length === 0) return;
      const metadata = settlementMetadata(items[i].meta);
      const last = stored[stored.length - 1];
      const newEvents = events.map((e, index) => ({ eventId: deterministicEventId(key, streamId, index), type: e.type, data: e.data, metadata, occurredAt: items[i].meta.now }));
      appends.push({ streamId, events: newEvents, expectedRevision: last ? last.streamRevision : 'no_stream' });
      results[i] = { days: newEvents.map((e) => ({ eventId: e.eventId, data: dataOf<MeteredDataReceived>(e.data) })), alreadyRecorded: false };
    });
    if (appends.length > 0) await store.appendToStreams(appends);
    pending = later;
  }
  return results;
}

// ------------------------------------------------------------------------------- StartSettlementRun

/** `StartSettlementRun { period, runId? }`: the period and the run's id (a new UUID when absent). */
export function parseStartSettlementRun(payload: unknown): { period: BillingPeriod; runId: string } {
  const p = (typeof payload === 'object' && payload !== null ? payload : {}) as { period?: unknown; runId?: unknown };
  let period: BillingPeriod;
  try {
    period = toBillingPeriod(p.period);
  } catch (error) {
    reject(error instanceof Error ? error.message : String(error));
  }
  if (p.runId !== undefined && (typeof p.runId !== 'string' || !/^[0-9a-f-]{36}$/i.test(p.runId))) reject('runId must be a UUID');
  return { period, runId: typeof p.runId === 'string' ? p.runId.toLowerCase() : randomUUID() };
}

// ----------------------------------------------------------------------------- RecordAcontoPayment

export async function recordAcontoPayment(store: EventStore, payload: unknown, meta: CommandMeta): Promise<{ paymentId: string; alreadyRecorded: boolean }> {
  const p = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
  if (typeof p.customerId !== 'string' || p.customerId === '') reject('customerId is required');
  if (!isValidGsrn(p.gsrn)) reject('gsrn is not a valid GSRN');
  if (typeof p.amount !== 'string' || !/^-?\d+(\.\d{1,2})?$/.test(p.amount)) reject('amount must be a DKK string with at most 2 decimals');
  const amount = Money.parse(p.amount);
  if (!amount.isPositive()) reject('amount must be positive');
  const paidAt = isoInstant(p.paidAt, 'paidAt');
  const paymentId =
    typeof p.paymentId === 'string' && p.paymentId !== '' ? p.paymentId : nameBasedUuid('aconto', `${p.customerId}/${p.gsrn}/${amount.format()}/${paidAt.toISOString()}`);
  const data: AcontoPaymentRecorded = { paymentId, customerId: p.customerId, gsrn: p.gsrn, amount: amount.format(), paidAt: paidAt.toISOString() };
  const result = await handleCommand({
    store,
    streamId: acontoStreamId(p.gsrn),
    decider: {
      initialState: new Set<string>(),
      evolve: (s: Set<string>, e: DomainEvent) => (e.type === 'AcontoPaymentRecorded' ? new Set(s).add(dataOf<AcontoPaymentRecorded>(e.data).paymentId) : s),
      decide: (_c: null, s: Set<string>): DomainEvent[] => (s.has(paymentId) ? [] : [{ type: 'AcontoPaymentRecorded', data: toJsonObject(data) }]),
    },
    command: null,
    metadata: settlementMetadata(meta),
    now: meta.now,
    maxRetries: 10,
    newEventId: () => nameBasedUuid('aconto-event', paymentId),
  });
  return { paymentId, alreadyRecorded: result.events.length === 0 };
}

// -------------------------------------------------------------------------- SetExpectedConsumption

/**
 * `SetExpectedConsumption { gsrn, customerId?, expectedAnnualKwh, source: 'eloverblik'|'estimate', basis? }`
 * → `ExpectedConsumptionSet` on `aconto-<gsrn>`. The same value (kWh, source, basis) as the latest
 * appends nothing, so the gateway's onboarding can retry it.
 */
export async function setExpectedConsumption(store: EventStore, payload: unknown, meta: CommandMeta): Promise<{ gsrn: string; expectedAnnualKwh: string; alreadySet: boolean }> {
  const p = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
  if (!isValidGsrn(p.gsrn)) reject('gsrn is not a valid GSRN');
  if (p.customerId !== undefined && p.customerId !== null && (typeof p.customerId !== 'string' || p.customerId === '')) reject('customerId must be a non-empty string');
  if (typeof p.expectedAnnualKwh !== 'string' || !/^\d{1,9}(\.\d{1,3})?$/.test(p.expectedAnnualKwh)) reject('expectedAnnualKwh must be a kWh string with at most 3 decimals');
  if (p.source !== 'eloverblik' && p.source !== 'estimate') reject("source must be 'eloverblik' or 'estimate'");
  if (p.basis !== undefined && p.basis !== null && typeof p.basis !== 'string') reject('basis must be a string');
  const gsrn = p.gsrn;
  const data: ExpectedConsumptionSet = {
    gsrn,
    customerId: typeof p.customerId === 'string' ? p.customerId : null,
    expectedAnnualKwh: p.expectedAnnualKwh,
    source: p.source,
    basis: typeof p.basis === 'string' ? p.basis : null,
    setAt: meta.now.toISOString(),
  };
  type Latest = ExpectedConsumptionSet | null;
  const same = (a: Latest): boolean => a !== null && a.expectedAnnualKwh === data.expectedAnnualKwh && a.source === data.source && a.basis === data.basis && a.customerId === data.customerId;
  const result = await handleCommand({
    store,
    streamId: acontoStreamId(gsrn),
    decider: {
      initialState: null as Latest,
      evolve: (s: Latest, e: DomainEvent): Latest => (e.type === 'ExpectedConsumptionSet' ? dataOf<ExpectedConsumptionSet>(e.data) : s),
      decide: (_c: null, s: Latest): DomainEvent[] => (same(s) ? [] : [{ type: 'ExpectedConsumptionSet', data: toJsonObject(data) }]),
    },
    command: null,
    metadata: settlementMetadata(meta),
    now: meta.now,
    maxRetries: 10,
  });
  return { gsrn, expectedAnnualKwh: data.expectedAnnualKwh, alreadySet: result.events.length === 0 };
}

// ------------------------------------------------------------------------------ AcknowledgeNoteExport

/** What ERP may send as its own document reference: printable, at most 100 characters. */
const ERP_REFERENCE = /^[\x21-\x7e](?:[\x20-\x7e]{0,98}[\x21-\x7e])?$/;

interface NoteExportState {
  notes: Set<string>;
  acknowledged: Map<string, NoteExportAcknowledged>;
}

/**
 * `AcknowledgeNoteExport { noteId, invoiceId, erpReference? }` → `NoteExportAcknowledged` on the note's
 * invoice stream. ERP calls it once it has booked the note; the same acknowledgement again appends nothing
 * (a retry), another `erpReference` for a booked note is refused (`already-acknowledged`: ERP would book twice).
 */
export async function acknowledgeNoteExport(
  store: EventStore,
  payload: unknown,
  meta: CommandMeta,
): Promise<{ noteId: string; erpReference: string | null; acknowledgedAt: string; alreadyAcknowledged: boolean }> {
  const p = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  if (typeof p.noteId !== 'string' || !uuid.test(p.noteId)) reject('noteId must be a UUID');
  if (typeof p.invoiceId !== 'string' || !uuid.test(p.invoiceId)) reject('invoiceId must be a UUID');
  const erpReference = p.erpReference === undefined || p.erpReference === null ? null : p.erpReference;
  if (erpReference !== null && (typeof erpReference !== 'string' || !ERP_REFERENCE.test(erpReference))) reject('erpReference must be 1-100 printable ASCII characters');
  const noteId = p.noteId;
  const invoiceId = p.invoiceId;
  const data: NoteExportAcknowledged = { noteId, invoiceId, erpReference, acknowledgedAt: meta.now.toISOString() };
  let earlier: NoteExportAcknowledged | undefined;
  await handleCommand({
    store,
    streamId: invoiceStreamId(invoiceId),
    decider: {
      initialState: { notes: new Set<string>(), acknowledged: new Map<string, NoteExportAcknowledged>() } as NoteExportState,
      evolve: (s: NoteExportState, e: DomainEvent): NoteExportState => {
        if (e.type === 'SettlementCorrectionIssued') return { ...s, notes: new Set(s.notes).add(dataOf<SettlementCorrectionIssued>(e.data).noteId) };
        if (e.type === 'NoteExportAcknowledged') {
          const ack = dataOf<NoteExportAcknowledged>(e.data);
          return { ...s, acknowledged: new Map(s.acknowledged).set(ack.noteId, ack) };
        }
        return s;
      },
      decide: (_c: null, s: NoteExportState): DomainEvent[] => {
        if (!s.notes.has(noteId)) throw new SettlementCommandRejected('not-found', `No credit or debit note ${noteId} on invoice ${invoiceId}`);
        earlier = s.acknowledged.get(noteId);
        if (earlier === undefined) return [{ type: 'NoteExportAcknowledged', data: toJsonObject(data) }];
        if (earlier.erpReference !== erpReference) {
          throw new SettlementCommandRejected('already-acknowledged', `Note ${noteId} was acknowledged at ${earlier.acknowledgedAt} with ERP reference ${earlier.erpReference ?? '(none)'}`);
        }
        return [];
      },
    },
    command: null,
    metadata: settlementMetadata(meta),
    now: meta.now,
    maxRetries: 10,
    newEventId: () => nameBasedUuid('note-export-acknowledged', noteId),
  });
  const recorded = earlier ?? data;
  return { noteId, erpReference: recorded.erpReference, acknowledgedAt: recorded.acknowledgedAt, alreadyAcknowledged: earlier !== undefined };
}
