import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { WrongExpectedRevisionError, type EventMetadata, type EventStore, type NewEvent } from '@dh/event-store';
import type { BillingPeriod, SettlementHalted } from '@dh/settlement-domain';
import {
  DEFAULT_RUN_BATCH_SIZE,
  SETTLEMENT_COMPLETED_SCHEMA_VERSION,
  batchCompletedEvent,
  billingFrequencyOf,
  dataOf,
  parseStartSettlementRun,
  periodDates,
  periodLabel,
  runBatchStreamId,
  runCompletedEvent,
  runScheduledEvent,
  runStartedEvent,
  runStreamId,
  settlementMetadata,
  workItemBatch,
  type CommandMeta,
  type RunEvent,
  type RunScope,
  type SettlementWorkItemScheduled,
} from '@dh/settlement-application';
import { DUE_HALTED_ITEM, recordHaltedItem, resolveHaltedItems } from './halted-items';

/**
 * Run orchestration whose cost grows linearly with the run (see the README, "Settlement runs"):
 * `settlement.runs` (one row per run: parameters, scheduling cursor, counters), `settlement.run_batches`
 * (one row per batch: its counter) and `settlement.run_items` (one row per item: its outcome). Nothing
 * is ever re-read or folded to know progress or completion.
 */

type Db = Pick<PoolClient, 'query'>;

export interface RunDeps {
  store: EventStore;
  pool: Pool;
  /** Work items per batch (default `DEFAULT_RUN_BATCH_SIZE`). */
  batchSize?: number;
  /**
   * A run not completed whose last progress (its start, a batch scheduled, an item's outcome) is this long ago on the
   * business clock is stalled: it no longer holds back a later run of its period (`runStalledSince`). Default
   * `DEFAULT_RUN_STALLED_AFTER_MS`; 0 = a run never counts as stalled.
   */
  stalledAfterMs?: number;
}

/** One hour without an item's outcome (a 100,000-point run records outcomes every second or so). */
export const DEFAULT_RUN_STALLED_AFTER_MS = 60 * 60_000;

/**
 * When the run `runId` (not completed) last made progress, if that is at least `stalledAfterMs` before `now` (the
 * business clock); null while it progresses, once it is completed, or with `stalledAfterMs` 0. Progress: the run's
 * start (`as_of`), a batch scheduled (`runs.progress_at`), an item's outcome (`run_batches.progress_at`, the worker's
 * business clock). A run whose remaining items died (dead-lettered, a worker stuck) or never came makes none. One
 * query on the run's row and its batch rows (primary key).
 */
export async function runStalledSince(db: Db, runId: string, now: Date, stalledAfterMs: number = DEFAULT_RUN_STALLED_AFTER_MS): Promise<Date | null> {
  if (stalledAfterMs <= 0) return null;
  const row = (
    await db.query<{ completed: boolean; last: Date }>(
      `SELECT r.completed, GREATEST(r.as_of, r.progress_at, (SELECT max(b.progress_at) FROM settlement.run_batches b WHERE b.run_id = r.run_id)) AS last
         FROM settlement.runs r WHERE r.run_id = $1`,
      [runId],
    )
  ).rows[0];
  if (row === undefined || row.completed) return null;
  const last = new Date(row.last);
  return last.getTime() + stalledAfterMs <= now.getTime() ? last : null;
}

interface RunRow {
  run_id: string;
  period_label: string;
  /** The run's number in its period: 1, 2, … (later runs settle what is not yet invoiced). */
  seq: number;
  scope: RunScope;
  period: BillingPeriod;
  as_of: Date;
  cursor_gsrn: string | null;
  batches_total: number;
  items_total: number;
  scheduled: boolean;
  batches_done: number;
  invoiced: number;
  halted: number;
  completed: boolean;
}

export interface StartRunReply {
  runId: string;
  period: BillingPeriod;
  /** The run's number in its period (1 = the first run). */
  seq: number;
  items: number;
  alreadyStarted: boolean;
  completed: boolean;
}

const asNew = (events: RunEvent[], metadata: EventMetadata, now: Date): NewEvent[] => events.map((e) => ({ eventId: e.eventId, type: e.type, data: e.data, metadata, occurredAt: now }));

/**
 * The metering points of one page of a period's work items, after `after`, in GSRN order:
 * - `all`: a supply overlapping the period with its billing frequency, not reversed, whose customer has no
 *   invoice of the period on that metering point yet (`settlement.invoices`, written with each invoice in the
 *   worker's transaction): a later run of the period takes only what is not yet invoiced (a point halted before,
 *   a supply registered after the previous run), set-based in this one query;
 * - `retry`: the halted items of the period whose missing input has arrived since they were last tried
 *   (`settlement.halted_items`, `DUE_HALTED_ITEM` in halted-items.ts).
 */
export async function workItemPage(db: Db, period: BillingPeriod, after: string | null, limit: number, scope: RunScope = 'all'): Promise<string[]> {
  const { from, toExclusive } = periodDates(period);
  const label = periodLabel(period);
  if (scope === 'retry') {
    const rows = await db.query<{ gsrn: string }>(
      `SELECT gsrn FROM settlement.halted_items h WHERE period_label = $1 AND ${DUE_HALTED_ITEM} AND ($2::text IS NULL OR gsrn > $2) ORDER BY gsrn LIMIT $3`,
      [label, after, limit],
    );
    return rows.rows.map((r) => r.gsrn);
  }
  // The cursor bounds the invoices too (i.gsrn = s.gsrn > the cursor, and every text is >= ''): PostgreSQL merges
  // the supplies with the period's invoices in GSRN order, and without that bound it read the invoices from the first
  // one on every page, so scheduling a run read O(N²) invoice rows (the workers index invoices while later pages are
  // scheduled): 72–92 ms a page at 50,000 invoices, 0.5 ms with the bound (issue 8).
  const rows = await db.query<{ gsrn: string }>(
    `SELECT DISTINCT s.gsrn FROM settlement.supplies s
      WHERE NOT s.reversed AND s.billing_frequency = $1 AND s.start_date < $2 AND (s.end_date IS NULL OR s.end_date > $3) AND ($4::text IS NULL OR s.gsrn > $4)
        AND NOT EXISTS (SELECT 1 FROM settlement.invoices i WHERE i.gsrn = s.gsrn AND i.gsrn >= coalesce($4::text, '') AND i.period_from = $3 AND i.period_label = $6 AND i.customer_id = s.customer_id)
      ORDER BY s.gsrn LIMIT $5`,
    [billingFrequencyOf(period), toExclusive, from, after, limit, label],
  );
  return rows.rows.map((r) => r.gsrn);
}

async function completeIfDone(store: EventStore, db: Db, run: RunRow, metadata: EventMetadata, now: Date): Promise<boolean> {
  if (run.completed || !run.scheduled || run.batches_done !== run.batches_total) return run.completed;
  const completed = runCompletedEvent(run.run_id, run.period, { items: run.items_total, invoiced: run.invoiced, halted: run.halted });
  await store.appendToStream(runStreamId(run.period, run.seq), asNew([completed], { ...metadata, schemaVersion: SETTLEMENT_COMPLETED_SCHEMA_VERSION }, now), { expectedRevision: 'any' });
  await db.query(`UPDATE settlement.runs SET completed = true WHERE run_id = $1`, [run.run_id]);
  return true;
}

/**
 * Schedules the rest of a run, one batch per transaction: the run's row is locked (so two schedulers
 * take turns), the next page of supplies after the cursor becomes one batch stream (appended with
 * `no_stream`; if a crashed attempt appended it already, the stored batch is taken as it is), then the
 * cursor moves. The last page appends `SettlementRunScheduled` and completes an empty or finished run.
 */
export async function scheduleRun(deps: RunDeps, runId: string, metadata: EventMetadata, now: Date): Promise<RunRow> {
  const batchSize = deps.batchSize ?? DEFAULT_RUN_BATCH_SIZE;
  for (;;) {
    const client = await deps.pool.connect();
    try {
      await client.query('BEGIN');
      const run = (await client.query<RunRow>(`SELECT * FROM settlement.runs WHERE run_id = $1 FOR UPDATE`, [runId])).rows[0];
      if (run === undefined) throw new Error(`no settlement run ${runId}`);
      if (run.scheduled) {
        await client.query('COMMIT');
        return run;
      }
      const asOf = new Date(run.as_of);
      const batch = run.batches_total;
      let gsrns = await workItemPage(client, run.period, run.cursor_gsrn, batchSize, run.scope);
      if (gsrns.length === 0) {
        await deps.store.appendToStream(runStreamId(run.period, run.seq), asNew([runScheduledEvent(runId, run.period, run.items_total, batch)], metadata, now), { expectedRevision: 'any' });
        const updated = (await client.query<RunRow>(`UPDATE settlement.runs SET scheduled = true WHERE run_id = $1 RETURNING *`, [runId])).rows[0]!;
        updated.completed = await completeIfDone(deps.store, client, updated, metadata, now);
        await client.query('COMMIT');
        return updated;
      }
      const streamId = runBatchStreamId(run.period, batch, run.seq);
      try {
        await deps.store.appendToStream(streamId, asNew(workItemBatch(runId, run.period, asOf, batch, gsrns, run.seq), metadata, now), { expectedRevision: 'no_stream' });
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        // Appended by an attempt that crashed before moving the cursor: that batch stands.
        gsrns = (await deps.store.readStream(streamId)).filter((e) => e.type === 'SettlementWorkItemScheduled').map((e) => dataOf<SettlementWorkItemScheduled>(e.data).gsrn);
      }
      await client.query(
        `UPDATE settlement.runs SET cursor_gsrn = $2, batches_total = batches_total + 1, items_total = items_total + $3, progress_at = GREATEST(progress_at, $4) WHERE run_id = $1`,
        [runId, gsrns[gsrns.length - 1], gsrns.length, now],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}

/** Appends the run's `SettlementRunStarted` (again after a crash: its id derives from the run) and schedules the rest of it. */
async function scheduleFromStart(deps: RunDeps, run: RunRow, metadata: EventMetadata, now: Date): Promise<RunRow> {
  if (run.scheduled) return run;
  await deps.store.appendToStream(runStreamId(run.period, run.seq), asNew([runStartedEvent(run.run_id, run.period, new Date(run.as_of), run.seq, run.scope)], metadata, now), { expectedRevision: 'any' });
  return scheduleRun(deps, run.run_id, metadata, now);
}

const replyOf = (run: RunRow, period: BillingPeriod, alreadyStarted: boolean): StartRunReply => ({ runId: run.run_id, period, seq: run.seq, items: run.items_total, alreadyStarted, completed: run.completed });

/**
 * `StartSettlementRun` (and the retry pass's runs, `scope: 'retry'`): a period has runs 1, 2, … one at a time.
 * - A run of the period still in progress (or the run id given again) is answered (`alreadyStarted`), its
 *   scheduling finished first if a crash interrupted it — unless it is stalled (`runStalledSince`: no progress for
 *   `stalledAfterMs` on the business clock): then a later run settles what is not yet invoiced, as after a completed
 *   run. Its items still in flight may finish late: an invoice is issued at most once per customer supply and period
 *   (name-based id, the metering point's lock, `settlement.invoices`), so whichever run comes second counts it.
 * - The period's first run: every supply of the period not yet invoiced (`workItemPage`).
 * - After a completed run, a later run is created only when something is left to settle (a customer supply of
 *   the period without an invoice): its work items are exactly those. When nothing is left, the last run is
 *   answered (`alreadyStarted`), so a repeated start costs one query and appends nothing.
 * Two starts racing for the same next number: the unique (period_label, seq) lets one insert; the other answers it.
 * A run from before batched runs (a run stream, no row) counts as run 1: answered while it is not completed.
 */
export async function startSettlementRun(deps: RunDeps, payload: unknown, meta: CommandMeta, scope: RunScope = 'all'): Promise<StartRunReply> {
  const { period, runId } = parseStartSettlementRun(payload);
  const label = periodLabel(period);
  const metadata = settlementMetadata(meta);
  const given = (await deps.pool.query<RunRow>(`SELECT * FROM settlement.runs WHERE run_id = $1`, [runId])).rows[0];
  if (given !== undefined) {
    const run = await scheduleFromStart(deps, given, metadata, meta.now);
    return replyOf(run, run.period, true);
  }
  const latestOf = async (): Promise<RunRow | undefined> => (await deps.pool.query<RunRow>(`SELECT * FROM settlement.runs WHERE period_label = $1 ORDER BY seq DESC LIMIT 1`, [label])).rows[0];
  const latest = await latestOf();
  let seq = 1;
  let previous: StartRunReply | null = null;
  if (latest === undefined) {
    const [first] = await deps.store.readStream(runStreamId(period), { maxCount: 1 });
    if (first !== undefined) {
      const [last] = await deps.store.readStream(runStreamId(period), { direction: 'backwards', maxCount: 1 });
      const items = (first.data as { items?: unknown }).items;
      previous = { runId: String(first.data.runId), period, seq: 1, items: Array.isArray(items) ? items.length : 0, alreadyStarted: true, completed: last?.type === 'SettlementCompleted' };
      if (!previous.completed) return previous;
      seq = 2;
    }
  } else {
    if (!latest.completed && (await runStalledSince(deps.pool, latest.run_id, meta.now, deps.stalledAfterMs)) === null) {
      return replyOf(await scheduleFromStart(deps, latest, metadata, meta.now), period, true);
    }
    previous = replyOf(latest, period, true);
    seq = latest.seq + 1;
  }
  // Nothing left to settle after a completed run: answer it, append nothing.
  if (previous !== null && (await workItemPage(deps.pool, period, null, 1, scope)).length === 0) return previous;
  const inserted = await deps.pool.query<RunRow>(
    `INSERT INTO settlement.runs (run_id, period_label, seq, scope, period, as_of) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING *`,
    [runId, label, seq, scope, JSON.stringify(period), meta.now.toISOString()],
  );
  const run = inserted.rows[0];
  if (run === undefined) {
    // Another start took this number (or this run id) first: answer that run.
    const other = (await deps.pool.query<RunRow>(`SELECT * FROM settlement.runs WHERE run_id = $1`, [runId])).rows[0] ?? (await latestOf())!;
    return replyOf(await scheduleFromStart(deps, other, metadata, meta.now), period, true);
  }
  return replyOf(await scheduleFromStart(deps, run, metadata, meta.now), period, false);
}

/** Runs whose scheduling was interrupted (a crash between batches): finished when the service starts. */
export async function resumeScheduling(deps: RunDeps, now: Date): Promise<number> {
  const { rows } = await deps.pool.query<RunRow>(`SELECT * FROM settlement.runs WHERE NOT scheduled`);
  for (const r of rows) {
    const metadata = settlementMetadata({ correlationId: randomUUID(), causationId: null, actor: 'settlement-scheduler' });
    await scheduleFromStart(deps, r, metadata, now);
  }
  return rows.length;
}

export type ItemOutcome = { kind: 'invoiced'; invoiceIds: string[] } | { kind: 'halted'; halt: SettlementHalted };

/** An item's outcome with the metadata and clock of its work item. */
export interface CountedOutcome {
  item: SettlementWorkItemScheduled;
  outcome: ItemOutcome;
  metadata: EventMetadata;
  now: Date;
}

/**
 * Work items' outcomes, in the worker's inbox transaction (`progressAt`: the worker's business clock, the batch's
 * last progress for `runStalledSince`): a halt on the item's own stream, the item's row
 * (once: a second outcome of the same item counts nothing), its batch's counter; the item that completes its
 * batch appends `SettlementBatchCompleted` and adds the batch to the run's counters; the batch that completes
 * a scheduled run appends `SettlementCompleted` (once: its id derives from the run).
 * Locks: batch rows in (run, batch) order, then run rows, so two workers never wait on each other in a cycle;
 * items share their batch's row, batches share the run's row once each.
 */
export async function recordItemOutcomes(store: EventStore, tx: Db, outcomes: readonly CountedOutcome[], progressAt: Date = new Date()): Promise<void> {
  const ordered = [...outcomes].sort((a, b) => cmp(a.item.runId, b.item.runId) || a.item.batch - b.item.batch || cmp(a.item.gsrn, b.item.gsrn));
  if (ordered.length === 0) return;
  // The items' rows in one statement (issue 8: a worker's batch of items costs one round trip here, not one per item).
  const inserted = await tx.query<{ run_id: string; gsrn: string }>(
    `INSERT INTO settlement.run_items (run_id, gsrn, batch, outcome, invoice_ids, reason)
     SELECT run_id, gsrn, batch, outcome, invoice_ids::uuid[], reason FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[]) AS t(run_id, gsrn, batch, outcome, invoice_ids, reason)
     ON CONFLICT (run_id, gsrn) DO NOTHING RETURNING run_id, gsrn`,
    [
      ordered.map((o) => o.item.runId),
      ordered.map((o) => o.item.gsrn),
      ordered.map((o) => o.item.batch),
      ordered.map((o) => o.outcome.kind),
      ordered.map((o) => (o.outcome.kind === 'invoiced' ? `{${o.outcome.invoiceIds.join(',')}}` : null)),
      ordered.map((o) => (o.outcome.kind === 'halted' ? o.outcome.halt.reason : null)),
    ],
  );
  // Counted before (a redelivery): that transaction committed its halt event and halted-items row as well.
  const fresh = new Set(inserted.rows.map((r) => `${r.run_id}/${r.gsrn}`));
  const recorded = ordered.filter((o) => fresh.delete(`${o.item.runId}/${o.item.gsrn}`));
  if (recorded.length === 0) return;
  // The halted-items list: a halt is listed (and its event appended), an invoiced point that was halted leaves it.
  for (const o of recorded) if (o.outcome.kind === 'halted') await recordHaltedItem(store, tx, o.item, o.outcome.halt, o.metadata, o.now);
  await resolveHaltedItems(
    store,
    tx,
    recorded.flatMap((o) => (o.outcome.kind === 'invoiced' ? [{ item: o.item, invoiceIds: o.outcome.invoiceIds, metadata: o.metadata, now: o.now }] : [])),
  );
  // Each batch's counter once, in (run, batch) order; the last of its items carries the metadata of what it completes.
  const groups: { last: CountedOutcome; done: number; invoiced: number }[] = [];
  for (const o of recorded) {
    const g = groups[groups.length - 1];
    if (g !== undefined && g.last.item.runId === o.item.runId && g.last.item.batch === o.item.batch) {
      g.last = o;
      g.done++;
      g.invoiced += o.outcome.kind === 'invoiced' ? 1 : 0;
    } else groups.push({ last: o, done: 1, invoiced: o.outcome.kind === 'invoiced' ? 1 : 0 });
  }
  const counters = await tx.query<{ run_id: string; batch: number; done: number; items: number; invoiced: number; halted: number }>(
    `INSERT INTO settlement.run_batches (run_id, batch, items, done, invoiced, halted, progress_at)
     SELECT t.*, $7::timestamptz FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::int[], $6::int[]) AS t
     ON CONFLICT (run_id, batch) DO UPDATE SET done = run_batches.done + EXCLUDED.done, invoiced = run_batches.invoiced + EXCLUDED.invoiced, halted = run_batches.halted + EXCLUDED.halted,
       progress_at = GREATEST(run_batches.progress_at, EXCLUDED.progress_at)
     RETURNING run_id, batch, done, items, invoiced, halted`,
    [
      groups.map((g) => g.last.item.runId),
      groups.map((g) => g.last.item.batch),
      groups.map((g) => g.last.item.batchItems),
      groups.map((g) => g.done),
      groups.map((g) => g.invoiced),
      groups.map((g) => g.done - g.invoiced),
      progressAt,
    ],
  );
  const byKey = new Map(counters.rows.map((r) => [`${r.run_id}/${r.batch}`, r]));
  const completedBatches: { o: CountedOutcome; counts: { items: number; invoiced: number; halted: number } }[] = [];
  for (const g of groups) {
    const batch = byKey.get(`${g.last.item.runId}/${g.last.item.batch}`)!;
    if (batch.done >= batch.items) completedBatches.push({ o: g.last, counts: { items: batch.items, invoiced: batch.invoiced, halted: batch.halted } });
  }
  for (const { o, counts } of completedBatches) {
    const { item, metadata, now } = o;
    await store.appendToStream(runBatchStreamId(item.period, item.batch, item.seq ?? 1), asNew([batchCompletedEvent(item.runId, item.period, item.batch, counts)], metadata, now), { expectedRevision: 'any' });
    const run = (
      await tx.query<RunRow>(`UPDATE settlement.runs SET batches_done = batches_done + 1, invoiced = invoiced + $2, halted = halted + $3 WHERE run_id = $1 RETURNING *`, [
        item.runId,
        counts.invoiced,
        counts.halted,
      ])
    ).rows[0];
    if (run !== undefined) await completeIfDone(store, tx, run, metadata, now);
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** One work item's outcome (see `recordItemOutcomes`). */
export function recordItemOutcome(store: EventStore, tx: Db, item: SettlementWorkItemScheduled, outcome: ItemOutcome, metadata: EventMetadata, now: Date): Promise<void> {
  return recordItemOutcomes(store, tx, [{ item, outcome, metadata, now }]);
}
