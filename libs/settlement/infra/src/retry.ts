import { errorMessage, singleFlightTimer } from './single-flight-timer';
import { randomUUID } from 'node:crypto';
import type { BillingPeriod } from '@dh/settlement-domain';
import { underAdvisoryLock } from './advisory-lock';
import { DUE_HALTED_ITEM } from './halted-items';
import { startSettlementRun, type RunDeps, type StartRunReply } from './run';
import type { ScheduleLogger } from './schedule';

/**
 * The automatic retry of halted items (see `halted-items.ts`): a pass (one replica, advisory lock, after the inputs
 * committed, every `intervalMs`) starts a run of `scope: 'retry'` for each period with due items, whose work items are
 * exactly those (`workItemPage`): scheduled and settled like any run, in bounded transactions, and the invoice stays
 * at most once per customer supply.
 */

export const HALT_RETRY_LOCK = 'settlement-halt-retry';

export interface HaltRetryDeps extends RunDeps {
  now: () => Date;
  logger?: ScheduleLogger;
}

/**
 * One retry pass (one replica at a time): requests every halted item was tried after are pruned, then each period
 * with due items gets a retry run (`StartSettlementRun` with `scope: 'retry'`: answered, not started, while a run
 * of the period is in progress — its items stay due for the next pass). Null when another replica holds the pass.
 */
export async function runHaltRetryPass(deps: HaltRetryDeps): Promise<StartRunReply[] | null> {
  return underAdvisoryLock(deps.pool, HALT_RETRY_LOCK, async (client) => {
    await client.query(`DELETE FROM settlement.halt_retry_requests WHERE requested_at <= COALESCE((SELECT min(last_tried_at) FROM settlement.halted_items), 'infinity'::timestamptz)`);
    const { rows } = await client.query<{ period_label: string; period: BillingPeriod }>(
      `SELECT period_label, min(period::text)::jsonb AS period FROM settlement.halted_items h WHERE ${DUE_HALTED_ITEM} GROUP BY period_label ORDER BY period_label`,
    );
    const replies: StartRunReply[] = [];
    for (const r of rows) {
      const now = deps.now();
      const reply = await startSettlementRun(deps, { period: r.period }, { correlationId: randomUUID(), causationId: null, actor: 'settlement-halt-retry', now }, 'retry');
      if (!reply.alreadyStarted) deps.logger?.log(`settlement halt retry ${r.period_label}: run ${reply.runId} (seq ${reply.seq}) retries ${reply.items} halted metering points`);
      replies.push(reply);
    }
    return replies;
  });
}

export interface HaltRetries {
  /** One pass now (what the timer runs). */
  pass(): Promise<StartRunReply[] | null>;
  stop(): Promise<void>;
}

/** The retry pass's timer: every `intervalMs` (0 = no timer; `pass()` still works), never two passes at once in a process. */
export function startHaltRetries(deps: HaltRetryDeps, intervalMs: number): HaltRetries {
  const pass = () => runHaltRetryPass(deps);
  const timer = singleFlightTimer(pass, intervalMs, (error) => deps.logger?.warn(`settlement halt retry pass failed: ${errorMessage(error)}`));
  return { pass, stop: () => timer.stop() };
}

