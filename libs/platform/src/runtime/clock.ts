/** Business time for a service: the wall clock in production, a simulator's clock in a demo or test. */
export interface Clock {
  now(): Date;
  close(): void;
}

export const systemClock: Clock = { now: () => new Date(), close: () => undefined };

/**
 * Follows a simulator's clock (`GET <url>` answering `{ "now": "<ISO instant>" }`), so every
 * service of a demo stack agrees on "today" while the demo moves a month forward in minutes.
 * Between polls, time runs on from the last reading at wall-clock speed, and it never goes back: a
 * simulator's virtual clock stands still between its jumps, so the next reading is usually behind what
 * ran on meanwhile (by a poll interval, by seconds when the process is busy). Until the reading catches up,
 * `now()` stays at the latest instant it answered, so what a service stamps later is never earlier
 * (a reconciliation report stored after another had an earlier `completed_at` and hid behind it).
 */
export async function followClock(url: string, pollIntervalMs = 100): Promise<Clock> {
  let base = 0;
  let readAt = 0;
  const read = async () => {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`clock ${url} answered ${res.status}`);
    const body = (await res.json()) as { now?: unknown };
    const instant = typeof body.now === 'string' ? Date.parse(body.now) : Number.NaN;
    if (Number.isNaN(instant)) throw new Error(`clock ${url} answered no "now" instant`);
    base = instant;
    readAt = Date.now();
  };
  await read();
  const timer = setInterval(() => {
    read().catch(() => undefined);
  }, pollIntervalMs);
  timer.unref();
  let latest = Number.NEGATIVE_INFINITY;
  return {
    now: () => {
      latest = Math.max(latest, base + (Date.now() - readAt));
      return new Date(latest);
    },
    close: () => clearInterval(timer),
  };
}
