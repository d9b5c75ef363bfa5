import type { Pool } from 'pg';
import type { EventStore } from '@dh/event-store';
import type { AmqpConnection } from './amqp-connection';
import { eventMessage, topicMatches, type EventMessage } from './envelope';
import { DEFAULT_MESSAGING_SCHEMA, ensureMessagingTables, runDdlUnderLock } from './schema';
import { DEFAULT_EVENT_EXCHANGE } from './topology';

/**
 * How far back a consumer that acts outside the database (DataHub requests, Betalingsservice collections,
 * webhooks) catches up on a binding new to it. Without a cut-off, a release that binds an event type published
 * for years would send that history out. With one, catch-up applies only the events recorded at or after the
 * cut-off instant; the older ones of the new pattern are recorded as skipped (`messaging.catch_up_cutoffs`:
 * per queue and pattern, the cut-off, how many, the oldest and newest), logged with their count, and can be
 * replayed deliberately ({@link replaySkippedByCutoff}). Never silently dropped.
 *
 * - `{ windowMs }`: the cut-off is the moment the consumer first finds the pattern new (the binding's creation)
 *   minus the window; so a fresh deployment still gets what was published while its consumer was not running yet.
 * - `{ from }`: an explicit instant (e.g. the release's go-live).
 *
 * The instant is fixed per (queue, pattern) the first time it is computed: a catch-up interrupted by a crash and
 * started again uses the same one.
 */
export type CatchUpCutoff = { readonly windowMs: number } | { readonly from: Date };

/** Default for the consumers that act outside: one day before the binding first appears. */
export const DEFAULT_CATCH_UP_WINDOW_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_CATCH_UP_CUTOFF: CatchUpCutoff = { windowMs: DEFAULT_CATCH_UP_WINDOW_MS };

/** Header set on events put into a queue by {@link replaySkippedByCutoff}: the consumer hands them over as `delivery.catchUp`. */
export const CATCH_UP_REPLAY_HEADER = 'x-catch-up-replay';

function envSuffix(queue: string): string {
  return queue.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

/**
 * The cut-off of one consumer from the environment, most specific first:
 * `CATCH_UP_FROM_<QUEUE>` (an ISO instant), `CATCH_UP_WINDOW_HOURS_<QUEUE>`, `CATCH_UP_FROM`, `CATCH_UP_WINDOW_HOURS`,
 * else {@link DEFAULT_CATCH_UP_CUTOFF}. `<QUEUE>` is the queue name upper-cased with every other character `_`
 * (`datahub.outbound-requests` → `DATAHUB_OUTBOUND_REQUESTS`). A value that does not parse is refused at start.
 */
export function catchUpCutoffFromEnv(env: Readonly<Record<string, string | undefined>>, queue: string): CatchUpCutoff {
  const suffix = envSuffix(queue);
  const candidates: [string, 'from' | 'window'][] = [
    [`CATCH_UP_FROM_${suffix}`, 'from'],
    [`CATCH_UP_WINDOW_HOURS_${suffix}`, 'window'],
    ['CATCH_UP_FROM', 'from'],
    ['CATCH_UP_WINDOW_HOURS', 'window'],
  ];
  for (const [name, kind] of candidates) {
    const value = env[name]?.trim();
    if (!value) continue;
    if (kind === 'from') {
      const from = new Date(value);
      if (!/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:\d{2})$/.test(value) || Number.isNaN(from.getTime())) throw new Error(`${name} must be an ISO instant with a zone (e.g. 2026-12-01T00:00:00Z), got "${value}"`);
      return { from };
    }
    const hours = Number(value);
    if (!Number.isFinite(hours) || hours < 0) throw new Error(`${name} must be a number of hours >= 0, got "${value}"`);
    return { windowMs: Math.round(hours * 3_600_000) };
  }
  return DEFAULT_CATCH_UP_CUTOFF;
}

const table = `${DEFAULT_MESSAGING_SCHEMA}.catch_up_cutoffs`;
const DDL_LOCK_KEY = 0x64686375; // 'dhcu'

async function ensureCutoffTable(pool: Pool): Promise<void> {
  await ensureMessagingTables(pool, DEFAULT_MESSAGING_SCHEMA);
  await runDdlUnderLock(pool, DDL_LOCK_KEY, `
      CREATE TABLE IF NOT EXISTS ${table} (
        queue text NOT NULL,
        exchange text NOT NULL,
        pattern text NOT NULL,
        cutoff timestamptz NOT NULL,
        decided_at timestamptz NOT NULL DEFAULT now(),
        caught_up_at timestamptz,
        skipped bigint NOT NULL DEFAULT 0,
        oldest_skipped_at timestamptz,
        newest_skipped_at timestamptz,
        replayed bigint,
        replayed_at timestamptz,
        replayed_by text,
        PRIMARY KEY (queue, exchange, pattern)
      )`);
}

/** What a catch-up with a cut-off left out, per pattern. */
export interface SkippedByCutoff {
  pattern: string;
  cutoff: Date;
  skipped: number;
  oldest: Date | null;
  newest: Date | null;
}

/**
 * The cut-off of one catch-up: fixed per (queue, pattern) on first use, then `keep` says which caught-up events
 * are applied and counts the others; `finish` records the counts.
 */
export class CatchUpCutoffFilter {
  private readonly counts = new Map<string, { skipped: number; oldest: number | null; newest: number | null }>();

  private constructor(
    private readonly pool: Pool,
    private readonly queue: string,
    private readonly exchange: string,
    private readonly cutoffs: ReadonlyMap<string, number>,
  ) {}

  static async open(pool: Pool, queue: string, exchange: string, patterns: readonly string[], cutoff: CatchUpCutoff, now: Date = new Date()): Promise<CatchUpCutoffFilter> {
    await ensureCutoffTable(pool);
    const instant = 'from' in cutoff ? cutoff.from : new Date(now.getTime() - cutoff.windowMs);
    await pool.query(
      `INSERT INTO ${table} (queue, exchange, pattern, cutoff) SELECT $1, $2, p, $4 FROM unnest($3::text[]) AS p ON CONFLICT (queue, exchange, pattern) DO NOTHING`,
      [queue, exchange, patterns, instant],
    );
    const { rows } = await pool.query<{ pattern: string; cutoff: Date }>(`SELECT pattern, cutoff FROM ${table} WHERE queue = $1 AND exchange = $2 AND pattern = ANY($3::text[])`, [queue, exchange, patterns]);
    return new CatchUpCutoffFilter(pool, queue, exchange, new Map(rows.map((r) => [r.pattern, r.cutoff.getTime()])));
  }

  /** The events to apply: those recorded at or after the cut-off of a new pattern they match; the others are counted. */
  keep(messages: readonly EventMessage[], patterns: readonly string[]): EventMessage[] {
    return messages.filter((m) => {
      const matching = patterns.filter((p) => topicMatches(p, m.routingKey));
      const recordedAt = Date.parse(m.envelope.recordedAt);
      if (matching.some((p) => recordedAt >= (this.cutoffs.get(p) ?? Number.NEGATIVE_INFINITY))) return true;
      const count = this.counts.get(matching[0]) ?? { skipped: 0, oldest: null, newest: null };
      count.skipped++;
      count.oldest = count.oldest === null ? recordedAt : Math.min(count.oldest, recordedAt);
      count.newest = count.newest === null ? recordedAt : Math.max(count.newest, recordedAt);
      this.counts.set(matching[0], count);
      return false;
    });
  }

  /** Records what was skipped (the whole count of this catch-up, which read the whole log) and returns it. */
  async finish(): Promise<SkippedByCutoff[]> {
    const out: SkippedByCutoff[] = [];
    for (const [pattern, cutoff] of this.cutoffs) {
      const c = this.counts.get(pattern) ?? { skipped: 0, oldest: null, newest: null };
      await this.pool.query(
        `UPDATE ${table} SET caught_up_at = now(), skipped = $4, oldest_skipped_at = $5, newest_skipped_at = $6 WHERE queue = $1 AND exchange = $2 AND pattern = $3`,
        [this.queue, this.exchange, pattern, c.skipped, c.oldest === null ? null : new Date(c.oldest), c.newest === null ? null : new Date(c.newest)],
      );
      out.push({ pattern, cutoff: new Date(cutoff), skipped: c.skipped, oldest: c.oldest === null ? null : new Date(c.oldest), newest: c.newest === null ? null : new Date(c.newest) });
    }
    return out;
  }
}

/** What catch-ups left out by their cut-off, per queue and pattern (for operators). */
export async function listSkippedByCutoff(pool: Pool, queue?: string): Promise<(SkippedByCutoff & { queue: string; replayed: number | null; replayedAt: Date | null; replayedBy: string | null })[]> {
  await ensureCutoffTable(pool);
  const { rows } = await pool.query<{ queue: string; pattern: string; cutoff: Date; skipped: string; oldest_skipped_at: Date | null; newest_skipped_at: Date | null; replayed: string | null; replayed_at: Date | null; replayed_by: string | null }>(
    `SELECT queue, pattern, cutoff, skipped::text, oldest_skipped_at, newest_skipped_at, replayed::text, replayed_at, replayed_by FROM ${table}
     WHERE ($1::text IS NULL OR queue = $1) ORDER BY queue, pattern`,
    [queue ?? null],
  );
  return rows.map((r) => ({
    queue: r.queue,
    pattern: r.pattern,
    cutoff: r.cutoff,
    skipped: Number(r.skipped),
    oldest: r.oldest_skipped_at,
    newest: r.newest_skipped_at,
    replayed: r.replayed === null ? null : Number(r.replayed),
    replayedAt: r.replayed_at,
    replayedBy: r.replayed_by,
  }));
}

export interface ReplaySkippedOptions {
  pool: Pool;
  eventStore: EventStore;
  connection: AmqpConnection;
  queue: string;
  /** Who decided (kept with the record). */
  by: string;
  /** Only these patterns (default: every pattern of the queue with skipped events not replayed yet). */
  patterns?: readonly string[];
  exchange?: string;
}

/**
 * Puts the events a catch-up skipped by its cut-off into the consumer's queue, deliberately (an operator decided
 * the history must go out after all): every event of the store matching a pattern with skipped events not
 * replayed yet and recorded before its cut-off, in log order, behind whatever the queue already holds. They
 * carry {@link CATCH_UP_REPLAY_HEADER}, so the handler sees `delivery.catchUp` as during the catch-up; the inbox
 * applies each once. The record gets `replayed`, `replayed_at`, `replayed_by`. Returns how many were put in.
 */
export async function replaySkippedByCutoff(options: ReplaySkippedOptions): Promise<number> {
  const { pool, queue } = options;
  const exchange = options.exchange ?? DEFAULT_EVENT_EXCHANGE;
  await ensureCutoffTable(pool);
  const { rows } = await pool.query<{ pattern: string; cutoff: Date }>(
    `SELECT pattern, cutoff FROM ${table} WHERE queue = $1 AND exchange = $2 AND skipped > 0 AND replayed_at IS NULL AND ($3::text[] IS NULL OR pattern = ANY($3::text[]))`,
    [queue, exchange, options.patterns ?? null],
  );
  if (rows.length === 0) return 0;
  const cutoffs = new Map(rows.map((r) => [r.pattern, r.cutoff.getTime()]));
  const counts = new Map<string, number>();
  const channel = await options.connection.createConfirmChannel();
  try {
    let after: string | null = null;
    for (;;) {
      const events = await options.eventStore.readAll({ after, maxCount: 500 });
      if (events.length === 0) break;
      after = events[events.length - 1].checkpoint;
      let sent = 0;
      for (const event of events) {
        const message = eventMessage(event, `catch-up-replay:${queue}`);
        const pattern = [...cutoffs].find(([p, cutoff]) => topicMatches(p, message.routingKey) && event.recordedAt.getTime() < cutoff)?.[0];
        if (pattern === undefined) continue;
        channel.sendToQueue(queue, message.content, { ...message.options, headers: { ...message.options.headers, [CATCH_UP_REPLAY_HEADER]: options.by } });
        counts.set(pattern, (counts.get(pattern) ?? 0) + 1);
        sent++;
      }
      if (sent > 0) await channel.waitForConfirms();
    }
  } finally {
    await channel.close().catch(() => undefined);
  }
  for (const pattern of cutoffs.keys()) {
    await pool.query(`UPDATE ${table} SET replayed = $4, replayed_at = now(), replayed_by = $5 WHERE queue = $1 AND exchange = $2 AND pattern = $3`, [queue, exchange, pattern, counts.get(pattern) ?? 0, options.by]);
  }
  return [...counts.values()].reduce((a, b) => a + b, 0);
}
