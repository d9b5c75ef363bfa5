import { randomUUID } from 'node:crypto';
import { addDays, compareLocalDates, localDateOf, localTimeOn, type LocalDate } from '@dh/dk-time';
import type { EventStore } from '@dh/event-store';
import { ingestCharges, ingestSpotPrices, type EdsClient } from '@dh/rates-application';
import { PRICE_AREAS } from '@dh/rates-domain';

export interface ScheduleLogger {
  log(message: string): void;
  warn(message: string): void;
}

export interface EdsScheduleSettings {
  /**
   * Local (Europe/Copenhagen) time of the daily poll. The day-ahead auction (SDAC) closes at 12:00 CET and
   * its results are published from about 12:45; Energi Data Service has them shortly after, so 13:15.
   */
  pollAt: { hour: number; minute: number };
  /** While tomorrow's prices are not complete after the poll time, try again after this much business time. */
  retryMs: number;
  /** How often (wall clock) the schedule looks at the business clock. */
  tickMs: number;
  /** Longest gap (days) a poll catches up after the service was down. */
  maxCatchUpDays: number;
}

export const DEFAULT_EDS_SCHEDULE: EdsScheduleSettings = { pollAt: { hour: 13, minute: 15 }, retryMs: 15 * 60_000, tickMs: 30_000, maxCatchUpDays: 31 };

/** Where the daily schedule stands, in business time. */
export interface EdsPlan {
  /** The last business day on which tomorrow's prices were complete in every price area. */
  completedFor: LocalDate | null;
  /** No poll before this instant (a retry wait, or today's poll time after an early catch-up). */
  notBefore: Date | null;
}

export const INITIAL_EDS_PLAN: EdsPlan = { completedFor: null, notBefore: null };

/** Pure: is a poll due at `now` (business time)? The first look polls at once (catch-up after a start). */
export function edsPollDue(plan: EdsPlan, now: Date, settings: EdsScheduleSettings): boolean {
  const today = localDateOf(now);
  if (plan.completedFor === today) return false;
  if (plan.notBefore !== null) return now.getTime() >= plan.notBefore.getTime();
  if (plan.completedFor === null) return true;
  return now.getTime() >= localTimeOn(today, settings.pollAt.hour, settings.pollAt.minute).getTime();
}

/** Pure: the plan after a poll at `now` that found tomorrow's prices complete or not. */
export function afterEdsPoll(plan: EdsPlan, now: Date, tomorrowComplete: boolean, settings: EdsScheduleSettings): EdsPlan {
  const today = localDateOf(now);
  if (tomorrowComplete) return { completedFor: today, notBefore: null };
  const pollTime = localTimeOn(today, settings.pollAt.hour, settings.pollAt.minute);
  // Before the auction results nothing more can come until the poll time; after it, retry soon.
  return { completedFor: plan.completedFor, notBefore: now.getTime() < pollTime.getTime() ? pollTime : new Date(now.getTime() + settings.retryMs) };
}

/** The delivery days a poll asks for: from the day after the last complete one (or yesterday) through tomorrow. */
export function pollWindow(plan: EdsPlan, now: Date, settings: EdsScheduleSettings): { from: LocalDate; to: LocalDate } {
  const today = localDateOf(now);
  const yesterday = addDays(today, -1);
  const oldest = addDays(today, -settings.maxCatchUpDays);
  let from = plan.completedFor === null ? yesterday : addDays(plan.completedFor, 1);
  if (compareLocalDates(from, yesterday) > 0) from = yesterday;
  if (compareLocalDates(from, oldest) < 0) from = oldest;
  return { from, to: addDays(today, 2) };
}

/**
 * Polls Energi Data Service once a day after the day-ahead auction, on the business clock (the wall clock
 * in production, the simulator's in the demo): spot prices of DK1 and DK2 from the last complete day
 * through tomorrow, and price-list rows with `ValidFrom` within a year either side of today. When
 * tomorrow's prices are not all published yet it tries again every `retryMs`; at start it catches up at
 * once. Polls never overlap. Returns a stopper that waits for a running poll.
 */
export function startEdsSchedule(deps: {
  store: EventStore;
  eds: EdsClient;
  logger: ScheduleLogger;
  clock: () => Date;
  settings?: EdsScheduleSettings;
  /** Called after each look at the clock with the plan and whether it polled (tests follow the schedule with it). */
  onTick?: (plan: EdsPlan, polled: boolean) => void;
}): () => Promise<void> {
  const settings = deps.settings ?? DEFAULT_EDS_SCHEDULE;
  let plan = INITIAL_EDS_PLAN;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const poll = async (now: Date): Promise<void> => {
    const today = localDateOf(now);
    const tomorrow = addDays(today, 1);
    const window = pollWindow(plan, now, settings);
    const context = { correlationId: randomUUID(), causationId: null, actor: 'rates-schedule', now };
    let complete = true;
    for (const priceArea of PRICE_AREAS) {
      const r = await ingestSpotPrices(deps, { priceArea, ...window }, context);
      const appended = r.days.filter((d) => d.outcome === 'appended').map((d) => `${d.deliveryDate} v${d.version}`);
      if (appended.length > 0) deps.logger.log(`spot prices ${priceArea}: ${appended.join(', ')}`);
      if (r.days.find((d) => d.deliveryDate === tomorrow)?.outcome === 'incomplete') complete = false;
    }
    if (plan.completedFor !== today) {
      const c = await ingestCharges(deps, { from: addDays(today, -366), to: addDays(today, 366) }, context);
      const changed = c.charges.filter((x) => x.outcome === 'appended').map((x) => `${x.chargeId} v${x.version}`);
      if (changed.length > 0) deps.logger.log(`charges: ${changed.join(', ')}`);
    }
    plan = afterEdsPoll(plan, now, complete, settings);
    if (!complete) deps.logger.log(`tomorrow's (${tomorrow}) day-ahead prices are not all published yet; next try ${plan.notBefore?.toISOString() ?? '-'}`);
  };

  const tick = (): void => {
    const now = deps.clock();
    const due = edsPollDue(plan, now, settings);
    const work = due
      ? poll(now).catch((error: unknown) => {
          const retryAt = new Date(now.getTime() + settings.retryMs);
          plan = { ...plan, notBefore: retryAt };
          deps.logger.warn(`EDS poll failed, next try ${retryAt.toISOString()}: ${error instanceof Error ? error.message : String(error)}`);
        })
      : Promise.resolve();
    running = work.finally(() => {
      deps.onTick?.(plan, due);
      if (!stopped) timer = setTimeout(tick, settings.tickMs);
    });
  };
  timer = setTimeout(tick, 0);

  return async () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    await running;
  };
}
