import { errorMessage, singleFlightTimer } from './single-flight-timer';
import type { PoolClient } from 'pg';
import { addBusinessDays, addDays, compareLocalDates, localDateOf, localDayStart, type LocalDate } from '@dh/dk-time';
import type { BillingPeriod } from '@dh/settlement-domain';
import { billingFrequencyOf, nameBasedUuid, periodDates, periodLabel, periodLastDay } from '@dh/settlement-application';
import { underAdvisoryLock } from './advisory-lock';
import { runStalledSince, startSettlementRun, type RunDeps, type StartRunReply } from './run';

/**
 * Settlement runs on the business clock (issue 9): each billing period's first run starts once the period has
 * closed and its data deadline has passed; later runs of the same period follow daily for a while, so supplies
 * reported late (a late move-in) and points halted for missing data are invoiced once their data is there.
 * Every start is `StartSettlementRun { period, runId }`, with a run id derived from the period and the day of
 * the slot, so a restart, a crash or a second process never starts a slot twice.
 */

export interface RunScheduleSettings {
  /** Danish business days after a period's last day that grid companies have to deliver its metered data (`SETTLEMENT_DATA_DEADLINE_BUSINESS_DAYS`). */
  dataDeadlineBusinessDays: number;
  /** Days after the first run on which a later run of the period is started, one a day (`SETTLEMENT_LATER_RUN_DAYS`; 0 = none). */
  laterRunDays: number;
  /** Periods whose first run fell due within this many days are looked at (`SETTLEMENT_SCHEDULE_LOOKBACK_DAYS`): a scheduler that was down catches up within it. */
  lookbackDays: number;
}

export const DEFAULT_RUN_SCHEDULE: RunScheduleSettings = { dataDeadlineBusinessDays: 5, laterRunDays: 10, lookbackDays: 45 };

/** The advisory lock a scheduler pass holds: one process at a time decides and starts runs. */
export const RUN_SCHEDULER_LOCK = 'settlement-run-scheduler';

export interface ScheduledSlot {
  period: BillingPeriod;
  /** 0 = the period's first run, 1… = the later runs, one a day. */
  slot: number;
  /** The local day the slot falls due (at its start, Europe/Copenhagen). */
  day: LocalDate;
  due: Date;
}

/**
 * When a period's first run falls due: at the start (local midnight) of the day after its data deadline, the
 * deadline being `deadlineBusinessDays` Danish business days (weekends and public holidays excluded) after the
 * period's last day. E.g. October 2026 with 5 days: the deadline is Friday 6 November, the run is due
 * Saturday 7 November 00:00 Copenhagen time.
 */
export function firstRunDue(period: BillingPeriod, deadlineBusinessDays: number): { deadline: LocalDate; day: LocalDate; due: Date } {
  const deadline = addBusinessDays(periodLastDay(period), deadlineBusinessDays);
  const day = addDays(deadline, 1);
  return { deadline, day, due: localDayStart(day) };
}

/** Slot `k` of a period: its first run (0) or the k-th later run, k days after the first. */
export function slotOf(period: BillingPeriod, slot: number, settings: RunScheduleSettings): ScheduledSlot {
  const first = firstRunDue(period, settings.dataDeadlineBusinessDays);
  const day = addDays(first.day, slot);
  return { period, slot, day, due: localDayStart(day) };
}

/** The months and quarters whose first run fell due in the lookback window up to `now`: for each, the latest slot that is due. */
export function dueSlots(now: Date, settings: RunScheduleSettings): ScheduledSlot[] {
  const today = localDateOf(now);
  const earliest = addDays(today, -settings.lookbackDays);
  const year = Number(today.slice(0, 4));
  const month = Number(today.slice(5, 7));
  const candidates: BillingPeriod[] = [];
  // Enough months back to cover the lookback window and a long deadline (a period closes before its first run is due).
  const monthsBack = Math.ceil(settings.lookbackDays / 28) + Math.ceil(settings.dataDeadlineBusinessDays / 15) + 2;
  for (let i = 1; i <= monthsBack; i++) {
    const index = year * 12 + (month - 1) - i;
    const y = Math.floor(index / 12);
    const m = (index % 12) + 1;
    candidates.push({ kind: 'month', year: y, month: m });
    if (m % 3 === 0) candidates.push({ kind: 'quarter', year: y, quarter: m / 3 });
  }
  const slots: ScheduledSlot[] = [];
  for (const period of candidates) {
    const first = firstRunDue(period, settings.dataDeadlineBusinessDays);
    if (first.due.getTime() > now.getTime() || compareLocalDates(first.day, earliest) < 0) continue;
    let slot = 0;
    while (slot < settings.laterRunDays && slotOf(period, slot + 1, settings).due.getTime() <= now.getTime()) slot++;
    slots.push(slotOf(period, slot, settings));
  }
  // Oldest due first; on the same day the month before its quarter.
  const kindOrder = (p: BillingPeriod): number => (p.kind === 'month' ? 0 : 1);
  return slots.sort((a, b) => a.due.getTime() - b.due.getTime() || kindOrder(a.period) - kindOrder(b.period) || compareLocalDates(periodDates(a.period).from, periodDates(b.period).from));
}

/** The run id a slot starts: the same in every process and after any restart. */
export function scheduledRunId(period: BillingPeriod, day: LocalDate): string {
  return nameBasedUuid('scheduled-settlement-run', `${periodLabel(period)}/${day}`);
}

type Db = Pick<PoolClient, 'query'>;

/**
 * Whether a period has a customer supply without its invoice: a supply of the period's billing frequency, not
 * reversed, overlapping the period, whose customer has no invoice of the period on that metering point. One
 * row is enough (LIMIT 1, indexed per metering point and period).
 */
export async function hasUninvoicedSupply(db: Db, period: BillingPeriod): Promise<boolean> {
  const { from, toExclusive } = periodDates(period);
  const { rows } = await db.query(
    `SELECT 1 FROM settlement.supplies s
      WHERE NOT s.reversed AND s.billing_frequency = $1 AND s.start_date < $2 AND (s.end_date IS NULL OR s.end_date > $3)
        AND NOT EXISTS (SELECT 1 FROM settlement.invoices i WHERE i.gsrn = s.gsrn AND i.period_from = $3 AND i.period_label = $4 AND i.customer_id = s.customer_id)
      LIMIT 1`,
    [billingFrequencyOf(period), toExclusive, from, periodLabel(period)],
  );
  return rows.length > 0;
}

export interface ScheduleLogger {
  log(message: string): void;
  warn(message: string): void;
}

export interface SchedulerDeps extends RunDeps {
  now: () => Date;
  settings?: RunScheduleSettings;
  logger?: ScheduleLogger;
}

export type SlotOutcome =
  | { period: string; slot: number; day: LocalDate; outcome: 'started'; runId: string; items: number; alreadyStarted: boolean }
  | { period: string; slot: number; day: LocalDate; outcome: 'nothing-to-settle' }
  | { period: string; slot: number; day: LocalDate; outcome: 'waiting'; runId: string };

interface SlotRow {
  outcome: 'starting' | 'started' | 'nothing-to-settle';
  run_id: string | null;
}

/**
 * One scheduler pass, under an advisory lock (null when another process holds it). For each period due
 * (`dueSlots`) and its latest due slot, not decided yet:
 * - the period's latest run still running → wait (a later run starts after the previous one completed), unless it
 *   is stalled (`runStalledSince`: no progress for `stalledAfterMs` on the business clock);
 * - no customer supply of the period without its invoice → recorded as `nothing-to-settle`, no run;
 * - else the intent is recorded (`starting`, with the slot's run id) and committed, then `StartSettlementRun`
 *   is called with that id (no transaction is open around it), then the slot is recorded `started`. A crash in
 *   between finds `starting` and starts the same run id again, which `StartSettlementRun` answers as already started.
 * Slots whose day passed while no scheduler ran are not replayed one by one: only the latest due slot is.
 */
export async function runSchedulePass(deps: SchedulerDeps): Promise<SlotOutcome[] | null> {
  return underAdvisoryLock(deps.pool, RUN_SCHEDULER_LOCK, (client) => schedulePass(deps, client));
}

async function schedulePass(deps: SchedulerDeps, db: Db): Promise<SlotOutcome[]> {
  const settings = deps.settings ?? DEFAULT_RUN_SCHEDULE;
  const now = deps.now();
  const outcomes: SlotOutcome[] = [];
  for (const s of dueSlots(now, settings)) {
    const label = periodLabel(s.period);
    const which = s.slot === 0 ? 'first run' : `later run ${s.slot}`;
    const decided = (await db.query<SlotRow>(`SELECT outcome, run_id FROM settlement.run_schedule WHERE period_label = $1 AND slot_day = $2`, [label, s.day])).rows[0];
    if (decided !== undefined && decided.outcome !== 'starting') continue;
    let runId = decided?.run_id ?? null;
    if (runId === null) {
      const latest = (await db.query<{ run_id: string; completed: boolean }>(`SELECT run_id, completed FROM settlement.runs WHERE period_label = $1 ORDER BY seq DESC LIMIT 1`, [label])).rows[0];
      if (latest !== undefined && !latest.completed) {
        const stalledSince = await runStalledSince(db, latest.run_id, now, deps.stalledAfterMs);
        if (stalledSince === null) {
          deps.logger?.log(`settlement schedule ${label} ${which} (due ${s.due.toISOString()}): waiting, run ${latest.run_id} of the period is still running`);
          outcomes.push({ period: label, slot: s.slot, day: s.day, outcome: 'waiting', runId: latest.run_id });
          continue;
        }
        deps.logger?.warn(`settlement schedule ${label} ${which}: run ${latest.run_id} of the period is stalled (no progress since ${stalledSince.toISOString()}); a later run may start`);
      }
      if (!(await hasUninvoicedSupply(db, s.period))) {
        await db.query(
          `INSERT INTO settlement.run_schedule (period_label, slot_day, slot, due_at, decided_at, outcome) VALUES ($1, $2, $3, $4, $5, 'nothing-to-settle') ON CONFLICT DO NOTHING`,
          [label, s.day, s.slot, s.due, now],
        );
        deps.logger?.log(`settlement schedule ${label} ${which} (due ${s.due.toISOString()}): every customer supply of the period is invoiced, no run`);
        outcomes.push({ period: label, slot: s.slot, day: s.day, outcome: 'nothing-to-settle' });
        continue;
      }
      runId = scheduledRunId(s.period, s.day);
      // The intent first (committed: the pool's autocommit), the run after: a crash in between starts the same run id again.
      await db.query(
        `INSERT INTO settlement.run_schedule (period_label, slot_day, slot, due_at, decided_at, outcome, run_id) VALUES ($1, $2, $3, $4, $5, 'starting', $6) ON CONFLICT DO NOTHING`,
        [label, s.day, s.slot, s.due, now, runId],
      );
    }
    const reply: StartRunReply = await startSettlementRun(deps, { period: label, runId }, { correlationId: runId, causationId: null, actor: 'settlement-scheduler', now });
    await db.query(`UPDATE settlement.run_schedule SET outcome = 'started', started_run_id = $3, already_started = $4, items = $5 WHERE period_label = $1 AND slot_day = $2`, [
      label,
      s.day,
      reply.runId,
      reply.alreadyStarted,
      reply.items,
    ]);
    deps.logger?.log(
      reply.alreadyStarted
        ? `settlement schedule ${label} ${which} (due ${s.due.toISOString()}): the period's run ${reply.runId} answered (already started, ${reply.items} items, ${reply.completed ? 'completed' : 'running'})`
        : `settlement schedule ${label} ${which} (due ${s.due.toISOString()}): started run ${reply.runId} with ${reply.items} metering points`,
    );
    outcomes.push({ period: label, slot: s.slot, day: s.day, outcome: 'started', runId: reply.runId, items: reply.items, alreadyStarted: reply.alreadyStarted });
  }
  return outcomes;
}

export interface RunScheduler {
  /** One pass now (what the timer runs). */
  pass(): Promise<SlotOutcome[] | null>;
  stop(): Promise<void>;
}

/** The scheduler's timer: a pass every `intervalMs` (0 = no timer; `pass()` still works), then `afterPass`; never two at once in a process. */
export function startRunScheduler(deps: SchedulerDeps, intervalMs: number, afterPass?: () => Promise<unknown>): RunScheduler {
  const pass = () => runSchedulePass(deps);
  const timer = singleFlightTimer(
    () => pass().then(() => afterPass?.()),
    intervalMs,
    (error) => deps.logger?.warn(`settlement schedule pass failed: ${errorMessage(error)}`),
  );
  return { pass, stop: () => timer.stop() };
}
