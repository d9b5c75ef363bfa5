import { randomUUID } from 'node:crypto';
import { addDays, localDateOf } from '@dh/dk-time';
import type { EventStore } from '@dh/event-store';
import { ingestCharges, ingestSpotPrices, type EdsClient } from '@dh/rates-application';
import { PRICE_AREAS } from '@dh/rates-domain';

export interface ScheduleLogger {
  log(message: string): void;
  warn(message: string): void;
}

/**
 * Polls Energi Data Service every `intervalMs` (never overlapping): spot prices of DK1 and DK2 for
 * yesterday to tomorrow, and price-list rows with `ValidFrom` within a year either side of today.
 * Returns a stopper that waits for a running poll.
 */
export function startEdsSchedule(deps: { store: EventStore; eds: EdsClient; intervalMs: number; logger: ScheduleLogger; clock?: () => Date }): () => Promise<void> {
  const clock = deps.clock ?? (() => new Date());
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const poll = async (): Promise<void> => {
    const now = clock();
    const today = localDateOf(now);
    const context = { correlationId: randomUUID(), causationId: null, actor: 'rates-schedule', now };
    for (const priceArea of PRICE_AREAS) {
      const r = await ingestSpotPrices(deps, { priceArea, from: addDays(today, -1), to: addDays(today, 2) }, context);
      const appended = r.days.filter((d) => d.outcome === 'appended').map((d) => `${d.deliveryDate} v${d.version}`);
      if (appended.length > 0) deps.logger.log(`spot prices ${priceArea}: ${appended.join(', ')}`);
    }
    const c = await ingestCharges(deps, { from: addDays(today, -366), to: addDays(today, 366) }, context);
    const changed = c.charges.filter((x) => x.outcome === 'appended').map((x) => `${x.chargeId} v${x.version}`);
    if (changed.length > 0) deps.logger.log(`charges: ${changed.join(', ')}`);
  };

  const tick = (): void => {
    running = poll()
      .catch((error: unknown) => deps.logger.warn(`EDS poll failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, deps.intervalMs);
      });
  };
  timer = setTimeout(tick, 0);

  return async () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    await running;
  };
}
