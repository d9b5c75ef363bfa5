import { randomUUID } from 'node:crypto';
import { packPoints, unpackPoints } from '@dh/cim';
import { RESOLUTION_MS, addDays, localDateOf, localDayStart } from '@dh/dk-time';
import { deterministicEventId, handleCommand, type DomainEvent, type EventMetadata, type EventStore, type StreamAppend } from '@dh/event-store';
import { isValidGsrn } from '@dh/market-ids';
import { Money, isDecimalString } from '@dh/money';
import type { BillingPeriod } from '@dh/settlement-domain';
import { SETTLEMENT_CONTEXT, dataOf, toJsonObject, type AcontoPaymentRecorded, type NoteExportAcknowledged, type SettlementCorrectionIssued, type ExpectedConsumptionSet, type MeteredDataReceived, type MeteredPoint, type PackedMeteredPoints, METERED_DATA_RECEIVED_SCHEMA_VERSION } from './events';
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

interface RecordMeteredDataFields {
  gsrn: string;
  documentId: string;
  receivedAt: string;
  resolution: 'PT15M' | 'PT1H';
  start: string;
  end: string;
}

/**
 * A series to record: its points as objects (`points`, kWh decimal strings), or packed as they arrive from DataHub's
 * `ValidatedMeasureDataReceived` v2 (`packed`: integer Wh per consecutive position, qualities as runs; issue 8). Both
 * give the same days, events and rows ({@link meteredDays}); the packed form is never unpacked on the way.
 */
export type RecordMeteredDataCommand = RecordMeteredDataFields & ({ points: MeteredPoint[]; packed?: undefined } | { packed: PackedMeteredPoints; points?: undefined });

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
  const fields: RecordMeteredDataFields = { gsrn: p.gsrn, documentId: p.documentId, receivedAt: p.receivedAt as string, resolution: p.resolution, start: p.start as string, end: p.end as string };
  // Packed (integer Wh, as DataHub's series arrive): only without `points`, which wins when both are given.
  if (p.points === undefined && (p.wh !== undefined || p.firstPosition !== undefined || p.qualities !== undefined)) {
    const packed = parsePackedMeteredPoints(p);
    return { gsrn: fields.gsrn, documentId: fields.documentId, receivedAt: fields.receivedAt, resolution: fields.resolution, start: fields.start, end: fields.end, packed };
  }
  if (!Array.isArray(p.points) || p.points.length === 0) reject('points must be a non-empty array');
  const points: MeteredPoint[] = p.points.map((raw: unknown, i: number) => {
    const pt = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    if (typeof pt.position !== 'number' || !Number.isSafeInteger(pt.position) || pt.position < 1) reject(`points[${i}].position must be an integer ≥ 1`);
    if (pt.quantityKwh !== null && !(typeof pt.quantityKwh === 'string' && isDecimalString(pt.quantityKwh))) reject(`points[${i}].quantityKwh must be a decimal string or null`);
    if (typeof pt.quality !== 'string') reject(`points[${i}].quality is required`);
    return { position: pt.position, quantityKwh: pt.quantityKwh, quality: pt.quality };
  });
  return { ...fields, points };
}

/**
 * The packed points of a `RecordMeteredData` payload (`firstPosition`, `wh`, `qualities`), checked as strictly as
 * `points` are: every position a safe integer ≥ 1, every value a safe integer (Wh) or null, every quality a code
 * (a string), the runs covering the values exactly. The arrays are taken as they are (not copied).
 */
function parsePackedMeteredPoints(p: Record<string, unknown>): PackedMeteredPoints {
  const { firstPosition, wh, qualities } = p;
  if (typeof firstPosition !== 'number' || !Number.isSafeInteger(firstPosition) || firstPosition < 1) reject('firstPosition must be an integer ≥ 1');
  if (!Array.isArray(wh) || wh.length === 0) reject('wh must be a non-empty array');
  if (!Number.isSafeInteger(firstPosition + wh.length - 1)) reject('the last position must be a safe integer');
  for (let i = 0; i < wh.length; i++) {
    const v: unknown = wh[i];
    if (v !== null && !(typeof v === 'number' && Number.isSafeInteger(v))) reject(`wh[${i}] must be an integer (Wh) or null`);
  }
  if (!Array.isArray(qualities)) reject('qualities must be an array of runs [code, count]');
  let covered = 0;
  for (let r = 0; r < qualities.length; r++) {
    const run: unknown = qualities[r];
    if (!Array.isArray(run) || run.length !== 2) reject(`qualities[${r}] must be a run [code, count]`);
    const [code, count] = run as unknown[];
    if (typeof code !== 'string') reject(`qualities[${r}] must have a quality code`);
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) reject(`qualities[${r}] must have a count ≥ 1`);
    covered += count;
  }
  if (covered !== wh.length) reject(`qualities cover ${covered} values, wh has ${wh.length}`);
  return { firstPosition, wh: wh as (number | null)[], qualities: qualities as [string, number][] };
}

interface MeteredState {
  versions: Map<string, number>;
  documents: Set<string>;
}

/** Splits a series into local days; positions restart at 1 at each local midnight. */
export function meteredDays(command: RecordMeteredDataCommand): Omit<MeteredDataReceived, 'version'>[] {
  if (command.packed === undefined) return meteredDaysOfPoints(command, command.points);
  return meteredDaysPacked(command, command.packed) ?? meteredDaysOfPoints(command, unpackMeteredPoints(command.packed));
}

/** The points of packed values (quantities as kWh decimal strings with three decimals, as `@dh/cim` `unpackPoints` gives them). */
function unpackMeteredPoints(packed: PackedMeteredPoints): MeteredPoint[] {
  return unpackPoints(packed).map((p) => ({ position: p.position, quantityKwh: p.quantity, quality: p.quality ?? 'A04' }));
}

/** |Wh| below this round-trips through a kWh decimal with at most 12 integer digits (`@dh/cim` `toThousandths`), so a day of them packs again. */
const PACKABLE_WH = 1e15;
/** Instants a `Date` holds. */
const MAX_INSTANT_MS = 8.64e15;

/**
 * {@link meteredDays} of a packed series without unpacking it: each local day's values are a slice of `wh` and its
 * quality runs are the series' runs cut at the day's edges (equal neighbours merged), exactly what unpacking, splitting
 * and packing each day again gives. Null (the caller unpacks and splits point by point) when that cannot be
 * shown cheaply: a value too large to pack again, a series start off the resolution's grid of the local day, an
 * instant a `Date` cannot hold.
 */
export function meteredDaysPacked(command: RecordMeteredDataFields, packed: PackedMeteredPoints): Omit<MeteredDataReceived, 'version'>[] | null {
  const step = RESOLUTION_MS[command.resolution];
  const { firstPosition, wh, qualities } = packed;
  const n = wh.length;
  for (let i = 0; i < n; i++) {
    const v = wh[i];
    if (v !== null && !(v < PACKABLE_WH && v > -PACKABLE_WH)) return null;
  }
  const seriesStart = new Date(command.start).getTime();
  const first = seriesStart + (firstPosition - 1) * step;
  const last = seriesStart + (firstPosition + n - 2) * step;
  if (!(Math.abs(first) <= MAX_INSTANT_MS && Math.abs(last) <= MAX_INSTANT_MS)) return null;
  const out: Omit<MeteredDataReceived, 'version'>[] = [];
  let run = 0;
  let leftInRun = qualities.length > 0 ? qualities[0]![1] : 0;
  for (let i = 0; i < n; ) {
    const instant = first + i * step;
    const day = localDateOf(new Date(instant));
    const dayStart = localDayStart(day).getTime();
    const nextDayStart = localDayStart(addDays(day, 1)).getTime();
    const offset = instant - dayStart;
    if (offset % step !== 0 || (nextDayStart - dayStart) % step !== 0) return null;
    const count = Math.min(n - i, (nextDayStart - instant) / step);
    const dayWh = new Array<number | null>(count);
    for (let k = 0; k < count; k++) {
      const v = wh[i + k]!;
      dayWh[k] = v === 0 ? 0 : v; // -0 packs as 0
    }
    const dayRuns: [string, number][] = [];
    for (let left = count; left > 0; ) {
      while (leftInRun === 0) leftInRun = qualities[++run]![1];
      const code = qualities[run]![0];
      const take = Math.min(left, leftInRun);
      const previous = dayRuns[dayRuns.length - 1];
      if (previous !== undefined && previous[0] === code) previous[1] += take;
      else dayRuns.push([code, take]);
      left -= take;
      leftInRun -= take;
    }
    const dayFirst = offset / step + 1;
    out.push({
      gsrn: command.gsrn,
      day,
      documentId: command.documentId,
      receivedAt: command.receivedAt,
      resolution: command.resolution,
      start: new Date(dayStart).toISOString(),
      end: new Date(dayStart + (dayFirst + count - 1) * step).toISOString(),
      firstPosition: dayFirst,
      wh: dayWh,
      qualities: dayRuns,
    });
    i += count;
  }
  return out;
}

/** {@link meteredDays} point by point (points in any order). */
function meteredDaysOfPoints(command: RecordMeteredDataFields, points: readonly MeteredPoint[]): Omit<MeteredDataReceived, 'version'>[] {
  const step = RESOLUTION_MS[command.resolution];
  const seriesStart = new Date(command.start).getTime();
  const byDay = new Map<string, MeteredPoint[]>();
  // The local day of the previous point and its [start, next start): the time zone is consulted once per day, not per value.
  let dayStart = 0;
  let nextDayStart = -1;
  let list: MeteredPoint[] = [];
  for (const p of points) {
    const instant = seriesStart + (p.position - 1) * step;
    if (!(instant >= dayStart && instant < nextDayStart)) {
      const day = localDateOf(new Date(instant));
      dayStart = localDayStart(day).getTime();
      nextDayStart = localDayStart(addDays(day, 1)).getTime();
      list = byDay.get(day) ?? [];
      byDay.set(day, list);
    }
    list.push({ position: (instant - dayStart) / step + 1, quantityKwh: p.quantityKwh, quality: p.quality });
  }
  return [...byDay.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([day, points]) => {
      const dayStart = localDayStart(day);
      const last = Math.max(...points.map((p) => p.position));
      points.sort((a, b) => a.position - b.position);
      // v2: integer Wh when every quantity is exact in Wh and the positions are consecutive, else the points as they are.
      const packed = packPoints(points.map((p) => ({ position: p.position, quantity: p.quantityKwh, quality: p.quality })));
      return {
        gsrn: command.gsrn,
        day,
        documentId: command.documentId,
        receivedAt: command.receivedAt,
        resolution: command.resolution,
        start: dayStart.toISOString(),
        end: new Date(dayStart.getTime() + last * step).toISOString(),
        ...(packed ? { firstPosition: packed.firstPosition, wh: packed.wh, qualities: packed.qualities as [string, number][] } : { points }),
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
    return decideMeteredDays(meteredDays(command), state);
  },
};

/** The decision of {@link meteredDecider} from a series already split into its days (the batch splits each series once). */
function decideMeteredDays(days: readonly Omit<MeteredDataReceived, 'version'>[], state: MeteredState): DomainEvent[] {
  return days
    .filter((d) => !state.documents.has(`${d.documentId}/${d.day}`))
    .map((d) => ({ type: 'MeteredDataReceived', data: toJsonObject<MeteredDataReceived>({ ...d, version: (state.versions.get(d.day) ?? 0) + 1 }) }));
}

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
    metadata: { ...settlementMetadata(meta), schemaVersion: METERED_DATA_RECEIVED_SCHEMA_VERSION },
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

/** The day versions of a `metered-data-<gsrn>` stream as a caller knows them without reading the stream. */
export interface KnownMeteredStream {
  /** Revision of the stream's last event. */
  revision: bigint;
  /** For (at least) each local day the series being recorded cover: its highest version and every document recorded for it. */
  days: ReadonlyMap<string, { version: number; documentIds: readonly string[] }>;
}

/**
 * Looks up what is known of the metering points' streams (settlement's `metered_streams` and `metered_data`
 * tables); a GSRN left out of the answer is read from the event store instead. A stale answer is safe: the
 * append expects the known revision, so a stream that moved meanwhile fails the batch with
 * WrongExpectedRevisionError and nothing of it is stored.
 */
export type MeteredStreamLookup = (series: readonly { gsrn: string; days: readonly string[] }[]) => Promise<ReadonlyMap<string, KnownMeteredStream>>;

/** A `metered-data-<gsrn>` stream after a batch: its last revision, and its events when the batch had to read them. */
export interface MeteredStreamAfterBatch {
  revision: bigint;
  /** The stream's events read from the event store (the lookup did not know it), before this batch's appends. */
  read: RecordedMeteredDay[] | null;
}

function stateOfKnown(known: KnownMeteredStream): MeteredState {
  const versions = new Map<string, number>();
  const documents = new Set<string>();
  for (const [day, d] of known.days) {
    versions.set(day, d.version);
    for (const documentId of d.documentIds) documents.add(`${documentId}/${day}`);
  }
  return { versions, documents };
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
  return (await recordMeteredDataBatchKnown(store, items)).series;
}

/**
 * {@link recordMeteredDataBatch} with the day versions from `known` (issue 8): the streams the lookup knows are
 * not read at all (reading each series' whole stream grew with the history kept), the others are read once.
 * Also answers each stream's revision after the batch, so the caller can keep its lookup current.
 */
export async function recordMeteredDataBatchKnown(
  store: EventStore,
  items: readonly { payload: unknown; meta: CommandMeta }[],
  known?: MeteredStreamLookup,
): Promise<{ series: { days: RecordedMeteredDay[]; alreadyRecorded: boolean }[]; streams: Map<string, MeteredStreamAfterBatch> }> {
  const commands = items.map((item) => parseRecordMeteredData(item.payload));
  const results: { days: RecordedMeteredDay[]; alreadyRecorded: boolean }[] = commands.map(() => ({ days: [], alreadyRecorded: true }));
  const splits = commands.map((command) => meteredDays(command));
  // Each metering point's state, loaded once (lookup, else its stream) and carried over the rounds.
  const current = new Map<string, { revision: bigint | null; state: MeteredState; readIds: Set<string> | null }>();
  const streams = new Map<string, MeteredStreamAfterBatch>();
  const gsrns = [...new Set(commands.map((c) => c.gsrn))];
  const daysOf = new Map<string, Set<string>>();
  commands.forEach((c, i) => {
    const set = daysOf.get(c.gsrn) ?? new Set<string>();
    for (const d of splits[i]) set.add(d.day);
    daysOf.set(c.gsrn, set);
  });
  const knownStreams = known ? await known(gsrns.map((gsrn) => ({ gsrn, days: [...(daysOf.get(gsrn) ?? [])] }))) : new Map<string, KnownMeteredStream>();
  const unknown = gsrns.filter((g) => !knownStreams.has(g));
  const read = await Promise.all(unknown.map((g) => store.readStream(meteredDataStreamId(g))));
  for (const [gsrn, k] of knownStreams) {
    if (!daysOf.has(gsrn)) continue;
    current.set(gsrn, { revision: k.revision, state: stateOfKnown(k), readIds: null });
    streams.set(gsrn, { revision: k.revision, read: null });
  }
  unknown.forEach((gsrn, r) => {
    const stored = read[r];
    const state = stored.reduce((st, e) => meteredDecider.evolve(st, { type: e.type, data: e.data }), meteredDecider.initialState);
    const last = stored[stored.length - 1];
    current.set(gsrn, { revision: last ? last.streamRevision : null, state, readIds: new Set(stored.map((e) => e.eventId.toLowerCase())) });
    if (last) streams.set(gsrn, { revision: last.streamRevision, read: stored.map((e) => ({ eventId: e.eventId, data: dataOf<MeteredDataReceived>(e.data) })) });
  });

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
    const appends: StreamAppend[] = [];
    const appended: number[] = [];
    for (const i of round) {
      const command = commands[i];
      const streamId = meteredDataStreamId(command.gsrn);
      const key = `metered-data/${command.documentId}`;
      const now = current.get(command.gsrn)!;
      // The same document recorded before (by this path or by handleCommand): nothing to append.
      const firstId = deterministicEventId(key, streamId, 0);
      if (now.readIds ? now.readIds.has(firstId) : splits[i].some((d) => now.state.documents.has(`${command.documentId}/${d.day}`))) continue;
      const events = decideMeteredDays(splits[i], now.state);
      if (events.length === 0) continue;
      const metadata = { ...settlementMetadata(items[i].meta), schemaVersion: METERED_DATA_RECEIVED_SCHEMA_VERSION };
      const newEvents = events.map((e, index) => ({ eventId: deterministicEventId(key, streamId, index), type: e.type, data: e.data, metadata, occurredAt: items[i].meta.now }));
      appends.push({ streamId, events: newEvents, expectedRevision: now.revision ?? 'no_stream' });
      appended.push(i);
      results[i] = { days: newEvents.map((e) => ({ eventId: e.eventId, data: dataOf<MeteredDataReceived>(e.data) })), alreadyRecorded: false };
    }
    if (appends.length > 0) {
      const outcomes = await store.appendToStreams(appends);
      appended.forEach((i, a) => {
        const gsrn = commands[i].gsrn;
        const now = current.get(gsrn)!;
        const state = appends[a].events.reduce((st, e) => meteredDecider.evolve(st, { type: e.type, data: e.data }), now.state);
        for (const e of appends[a].events) now.readIds?.add(e.eventId.toLowerCase());
        current.set(gsrn, { revision: outcomes[a].nextExpectedRevision, state, readIds: now.readIds });
        const before = streams.get(gsrn);
        // A stream neither known nor read before is new: its read events are none.
        streams.set(gsrn, { revision: outcomes[a].nextExpectedRevision, read: before ? before.read : [] });
      });
    }
    pending = later;
  }
  return { series: results, streams };
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
