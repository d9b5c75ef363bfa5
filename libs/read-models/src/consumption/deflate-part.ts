import { promisify } from 'node:util';
import { constants, crc32, deflateRaw } from 'node:zlib';
import type { Pool } from 'pg';
import { CONSUMPTION_HOURS_TABLE } from './consumption.projection';

/**
 * Text compressed on its own as raw deflate (RFC 1951) that a gzip answer can be stitched from: no reference before its
 * first byte, ending on a byte boundary with a sync flush and no final block, so any number of such parts (and stored
 * blocks) in a row are one valid deflate stream once a final block follows. `crc` and `length` are the CRC-32 and byte
 * length of the UTF-8 text it inflates to (the gzip trailer of a stitched answer is made from them without the text).
 */
export interface DeflatePart {
  deflate: Buffer;
  /** CRC-32 (gzip's) of the UTF-8 bytes, unsigned. */
  crc: number;
  /** Length of the UTF-8 bytes. */
  length: number;
}

/**
 * Level 6 (zlib's default) with a 4 KiB window: a day's hours are ~3 KiB of JSON whose repeats are within an hour or
 * two of each other (~2,950 bytes to ~290 in ~22 µs; a 32 KiB window gives the same bytes: docs/benchmarks.md,
 * thirteenth session).
 */
const OPTIONS = { level: 6, windowBits: 12, memLevel: 4, finishFlush: constants.Z_SYNC_FLUSH } as const;

const deflateRawAsync = promisify(deflateRaw);

/** `text` as a {@link DeflatePart}, compressed on libuv's thread pool (off the event loop). */
export async function deflatePart(text: string): Promise<DeflatePart> {
  const bytes = Buffer.from(text, 'utf8');
  return { deflate: await deflateRawAsync(bytes, OPTIONS), crc: crc32(bytes), length: bytes.length };
}

/** Hour rows whose part `fillHourParts` makes per transaction, by default. */
export const HOUR_PARTS_BATCH = 500;

/**
 * Makes the deflate part ({@link deflatePart}) of up to `limit` hour rows of the consumption read model that have their
 * `hours_json` but no part yet, in one transaction; resolves with how many it made. The rows are locked while their
 * parts are made (`FOR UPDATE SKIP LOCKED`: two fillers share the work, a writer replacing a row waits for at most one
 * batch), so a part is always that of the row's text.
 */
export async function fillHourParts(pool: Pick<Pool, 'connect'>, limit = HOUR_PARTS_BATCH): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    try {
      const { rows } = await client.query<{ gsrn: string; day: string; hours_json: string }>(
        `SELECT gsrn, to_char(day, 'YYYY-MM-DD') AS day, hours_json FROM ${CONSUMPTION_HOURS_TABLE}
          WHERE hours_deflate IS NULL AND hours_json IS NOT NULL ORDER BY gsrn, day LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      if (rows.length > 0) {
        // On the thread pool: the projections service's consumers share this process's event loop.
        const parts = await Promise.all(rows.map((r) => deflatePart(r.hours_json)));
        await client.query(
          `UPDATE ${CONSUMPTION_HOURS_TABLE} h SET hours_deflate = x.part, hours_crc32 = x.crc, hours_bytes = x.bytes
             FROM unnest($1::text[], $2::date[], $3::bytea[], $4::int[], $5::int[]) AS x(gsrn, day, part, crc, bytes)
            WHERE h.gsrn = x.gsrn AND h.day = x.day`,
          // The CRC as a signed 32-bit integer (`integer`); readers take it back with `>>> 0`.
          [rows.map((r) => r.gsrn), rows.map((r) => r.day), parts.map((p) => p.deflate), parts.map((p) => p.crc | 0), parts.map((p) => p.length)],
        );
      }
      await client.query('COMMIT');
      return rows.length;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    client.release();
  }
}

/** What the filler has done since it started, for metrics. */
export interface HourPartFillerStats {
  /** Parts made. */
  made: number;
  /** Rounds (a round runs batches until none is full) that failed. */
  failedRounds: number;
  /** Whether the last round failed, and why. */
  failing: boolean;
  lastError: string | null;
}

/**
 * The projections service's filler: {@link fillHourParts} in batches until none is full, then again every `intervalMs`.
 * A round that fails is reported (`onError`, the stats) and the next one starts after the interval as usual.
 */
export function startHourPartFiller(options: { pool: Pick<Pool, 'connect'>; intervalMs?: number; batch?: number; onError?: (error: unknown) => void }): {
  stats(): HourPartFillerStats;
  stop(): Promise<void>;
} {
  const intervalMs = options.intervalMs ?? 1_000;
  const batch = options.batch ?? HOUR_PARTS_BATCH;
  const stats: HourPartFillerStats = { made: 0, failedRounds: 0, failing: false, lastError: null };
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const tick = (): void => {
    running = (async () => {
      try {
        for (;;) {
          const made = await fillHourParts(options.pool, batch);
          stats.made += made;
          if (stopped || made < batch) break;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        stats.failing = false;
      } catch (error) {
        stats.failedRounds++;
        stats.failing = true;
        stats.lastError = error instanceof Error ? error.message : String(error);
        options.onError?.(error);
      }
      if (!stopped) timer = setTimeout(tick, intervalMs);
    })();
  };
  tick();
  return {
    stats: () => ({ ...stats }),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
