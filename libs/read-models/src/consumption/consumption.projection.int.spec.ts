import { randomUUID } from 'node:crypto';
import { Pool, type PoolClient } from 'pg';
import { packPoints } from '@dh/cim';
import { addDays, localDayStart } from '@dh/dk-time';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import type { ProjectedEvent } from '../projection/projection';
import { applyEvents, applyGuarded, migrateProjectionState, projectionChecksum } from '../projection/projection-state';
import { fillHourParts, startHourPartFiller } from './deflate-part';
import { constants, crc32, inflateRawSync } from 'node:zlib';
import { CONSUMPTION_DAILY_TABLE, CONSUMPTION_HOUR_ROWS, CONSUMPTION_HOURS_TABLE, CONSUMPTION_VALUE_ROWS, consumptionBulkLoader, consumptionProjection, dayValueJsonSql, hourValueJsonSql } from './consumption.projection';

const GSRN = '571313180400000028';
const OTHER = '571313180400000035';

interface PointSpec {
  position: number;
  quantity: string | null;
  quality: string | null;
}

let position = 0;
/**
 * A `ValidatedMeasureDataReceived`: version 1 (`points` as objects), or with `packed` version 2 as datahub-integration
 * writes a series in kWh (`firstPosition`, integer Wh `wh`, quality runs: `packPoints`; the points must be packable).
 */
function measureEvent(options: { gsrn?: string; start: Date; end: Date; resolution: 'PT15M' | 'PT1H'; points: PointSpec[]; documentId?: string; type?: string; packed?: boolean }): ProjectedEvent {
  position += 1;
  const packed = options.packed ? packPoints(options.points) : null;
  if (options.packed && packed === null) throw new Error('points not packable');
  return {
    eventId: randomUUID(),
    type: 'ValidatedMeasureDataReceived',
    streamId: `datahub-document-${options.documentId ?? position}`,
    streamRevision: 0n,
    checkpoint: `1:${position}`,
    recordedAt: new Date(),
    data: {
      documentId: options.documentId ?? `doc-${position}`,
      seriesId: `series-${position}`,
      gsrn: options.gsrn ?? GSRN,
      meteringPointType: options.type ?? 'E17',
      unit: 'KWH',
      resolution: options.resolution,
      start: options.start.toISOString().replace(':00.000Z', 'Z'),
      end: options.end.toISOString().replace(':00.000Z', 'Z'),
      ...(packed ? { firstPosition: packed.firstPosition, wh: packed.wh, qualities: packed.qualities } : { points: options.points.map((p) => ({ position: p.position, quantity: p.quantity, quality: p.quality })) }),
    },
  };
}

/** Quarter-hours of one local day, quantity per position from `q`. */
function dayDocument(day: string, q: (position: number) => string, extra: { quality?: (position: number) => string | null; gsrn?: string } = {}): { event: ProjectedEvent; milliKwh: bigint; count: number } {
  const start = localDayStart(day);
  const end = localDayStart(addDays(day, 1));
  const count = (end.getTime() - start.getTime()) / 900_000;
  const points = Array.from({ length: count }, (_, i) => ({ position: i + 1, quantity: q(i + 1), quality: extra.quality?.(i + 1) ?? null }));
  const milliKwh = points.reduce((s, p) => s + BigInt(p.quantity.replace('.', '')), 0n);
  return { event: measureEvent({ gsrn: extra.gsrn, start, end, resolution: 'PT15M', points }), milliKwh, count };
}

/** A part (no final block) inflated on its own. */
const inflatePart = (part: Buffer): string => inflateRawSync(part, { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8');

const kwh = (milli: bigint): string => `${milli / 1000n}.${String(milli % 1000n).padStart(3, '0')}`;

/**
 * Day rows whose stored portal columns (`hours_json`, `total`, `any_estimated`, `any_missing`) are not what the gateway
 * built from the hours and their day's labels (the form it used before days-v4, `hourValueJsonSql`): an element whose
 * text differs from the one built from its own quantity and flags with the labels of its hour (its index in the day
 * from its start), elements not in strictly increasing hours, or a Σ or flag other than the elements'; and the number
 * of day rows.
 */
async function storedJsonMismatches(client: Pool | PoolClient): Promise<{ bad: number; days: number }> {
  const { rows } = await client.query<{ bad: number; days: number }>(
    `SELECT count(*) FILTER (WHERE b.bad > 0 OR b.n = 0 OR h.total IS DISTINCT FROM b.total OR h.any_estimated IS DISTINCT FROM b.e OR h.any_missing IS DISTINCT FROM b.m)::int AS bad,
            count(*)::int AS days
       FROM ${CONSUMPTION_HOURS_TABLE} h JOIN read_models.consumption_day_labels l ON l.day = h.day
       CROSS JOIN LATERAL (
         SELECT count(*) FILTER (WHERE k.json IS DISTINCT FROM ${hourValueJsonSql('l.labels[k.i]', 'l.labels[k.i + 1]', 'k.q', 'k.est', 'k.m')}
                                    OR k.i < 1 OR k.i > cardinality(l.labels) - 1 OR k.i <= k.previous) AS bad,
                count(*) AS n, sum(k.q) AS total, bool_or(k.est) AS e, bool_or(k.m) AS m
           FROM (SELECT u.e::text AS json, (u.e->>'quantity_kwh')::numeric AS q, (u.e->>'estimated')::boolean AS est, (u.e->>'missing')::boolean AS m,
                        (extract(epoch FROM (u.e->>'start')::timestamptz - h.day_start) / 3600)::int + 1 AS i,
                        coalesce(lag((extract(epoch FROM (u.e->>'start')::timestamptz - h.day_start) / 3600)::int + 1) OVER (ORDER BY u.o), 0) AS previous
                   FROM json_array_elements(('[' || h.hours_json || ']')::json) WITH ORDINALITY AS u(e, o)) k) b`,
  );
  return rows[0];
}

/**
 * Daily rows whose stored portal JSON (`day_json`) differs from what the gateway built from the row's columns and labels
 * (the form it used before days-v5), and the number of daily rows.
 */
async function storedDayJsonMismatches(client: Pool | PoolClient): Promise<{ bad: number; days: number }> {
  const { rows } = await client.query<{ bad: number; days: number }>(
    `SELECT count(*) FILTER (WHERE day_json IS DISTINCT FROM ${dayValueJsonSql(`to_char(day, 'YYYY-MM-DD')`, 'start_label', 'end_label', 'day_hours', 'quantity', 'estimated', 'missing')})::int AS bad,
            count(*)::int AS days
       FROM ${CONSUMPTION_DAILY_TABLE}`,
  );
  return rows[0];
}

/**
 * The consumption read model of `events` built on every path, each in a database of its own: `apply` one by one;
 * `applyBatch` in batches of 37; the rebuild's bulk loader in pages of 37 then finished, its rows sent in one COPY chunk
 * per page and in chunks of about 2 KB (a few metering points each), with the hours over a second connection, with few
 * daily totals kept; the bulk loader for the first 60 events, finished, then applyBatch for the rest (a rebuild's
 * build, then its catch-up). Each checked by `check` and for its stored JSON; the checksums, in that order.
 */
async function checksumsOfVariants(events: readonly ProjectedEvent[], minDays: number, check: (client: PoolClient) => Promise<void>): Promise<string[]> {
    const variants: { name: string; bulkUntil: number; batchSize: number; copyChunkBytes?: number; keptDays?: number; aside?: boolean }[] = [
      { name: 'apply', bulkUntil: 0, batchSize: 1 },
      { name: 'applyBatch', bulkUntil: 0, batchSize: 37 },
      { name: 'bulk', bulkUntil: events.length, batchSize: 37 },
      { name: 'bulk in small COPY chunks', bulkUntil: events.length, batchSize: 37, copyChunkBytes: 2048 },
      // The hours over a second connection in a transaction of its own per page, as a rebuild of two page connections does.
      { name: 'bulk, hours aside', bulkUntil: events.length, batchSize: 37, copyChunkBytes: 2048, aside: true },
      { name: 'bulk, then applyBatch', bulkUntil: 60, batchSize: 37 },
      // Few daily totals kept in memory: most points' months and anomalies from SQL in `finish`, some in memory.
      { name: 'bulk, 40 days kept', bulkUntil: events.length, batchSize: 37, keptDays: 40 },
    ];
    const checksums: string[] = [];
    for (const variant of variants) {
      const other = await createTestDatabase('consumption_batch');
      const otherPool = new Pool({ connectionString: other.url, options: '-c timezone=America/Los_Angeles' });
      const client = await otherPool.connect();
      const asideClient = variant.aside ? await otherPool.connect() : undefined;
      const inTransaction = async (work: (tx: PoolClient) => Promise<void>) => {
        await client.query('BEGIN');
        await work(client);
        await client.query('COMMIT');
      };
      const inTransactions = async (work: (tx: PoolClient, aside?: PoolClient) => Promise<void>) => {
        await asideClient?.query('BEGIN');
        await inTransaction((tx) => work(tx, asideClient));
        await asideClient?.query('COMMIT');
      };
      try {
        await migrateProjectionState(client);
        await consumptionProjection.migrate(client);
        const loader = consumptionBulkLoader({ copyChunkBytes: variant.copyChunkBytes, keptDays: variant.keptDays });
        for (let i = 0; i < variant.bulkUntil; i += variant.batchSize) {
          await inTransactions((tx, aside) => loader.load(events.slice(i, Math.min(i + variant.batchSize, variant.bulkUntil)), tx, aside));
        }
        if (variant.bulkUntil > 0) await loader.finish(inTransaction);
        for (let i = variant.bulkUntil; i < events.length; i += variant.batchSize) {
          await inTransaction((tx) => applyEvents(consumptionProjection, events.slice(i, i + variant.batchSize), tx));
        }
        checksums.push(await projectionChecksum(consumptionProjection, client));
        // Every path stores each day's hours as the JSON the gateway built from the arrays and labels (the checksum
        // then holds the paths to the same text).
        const json = await storedJsonMismatches(client);
        expect(json.bad).toBe(0);
        expect(json.days).toBeGreaterThan(minDays);
        const dayJson = await storedDayJsonMismatches(client);
        expect(dayJson).toEqual({ bad: 0, days: json.days });
        await check(client);
      } finally {
        client.release();
        asideClient?.release();
        await otherPool.end();
        await other.drop();
      }
    }
  return checksums;
}

describe('consumption projection (Postgres)', () => {
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase('consumption');
    // A session zone far from Copenhagen and UTC: no aggregate may depend on it.
    pool = new Pool({ connectionString: db.url, options: '-c timezone=America/Los_Angeles' });
    const client = await pool.connect();
    try {
      await migrateProjectionState(client);
      await consumptionProjection.migrate(client);
    } finally {
      client.release();
    }
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  const apply = async (event: ProjectedEvent) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      expect(await applyGuarded(consumptionProjection, event, client)).toBe('applied');
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  };
  const daily = async (gsrn: string, day: string) =>
    (
      await pool.query<{ quantity: string; hours: number; day_hours: number; estimated: boolean; missing: boolean }>(
        `SELECT quantity::text, hours, day_hours, estimated, missing FROM read_models.consumption_daily WHERE gsrn = $1 AND day = $2`,
        [gsrn, day],
      )
    ).rows[0];
  const hourly = async (gsrn: string, day: string) =>
    (
      await pool.query<{ hour_start: Date; quantity: string; estimated: boolean; missing: boolean }>(
        `SELECT hour_start, quantity::text, estimated, missing FROM (${CONSUMPTION_HOUR_ROWS}) h
         WHERE gsrn = $1 AND hour_start >= $2 AND hour_start < $3 ORDER BY hour_start`,
        [gsrn, localDayStart(day), localDayStart(addDays(day, 1))],
      )
    ).rows;
  const monthly = async (gsrn: string, month: string) =>
    (
      await pool.query<{ quantity: string; days: number; month_days: number; estimated: boolean; missing: boolean }>(
        `SELECT quantity::text, days, month_days, estimated, missing FROM read_models.consumption_monthly WHERE gsrn = $1 AND month = $2`,
        [gsrn, month],
      )
    ).rows[0];
  /** Σ of the hourly rows of the day, exactly, in milli-kWh. */
  const sumOfHours = (rows: { quantity: string }[]) => rows.reduce((s, r) => s + BigInt(r.quantity.replace('.', '')), 0n);

  it('2026-03-29 (23 hours): 92 quarter-hours become 23 hours whose sum is the daily total, exactly', async () => {
    const doc = dayDocument('2026-03-29', (p) => `0.${String(100 + (p % 37)).padStart(3, '0')}`);
    expect(doc.count).toBe(92);
    await apply(doc.event);
    const hours = await hourly(GSRN, '2026-03-29');
    expect(hours).toHaveLength(23);
    expect(hours.every((h) => !h.missing && !h.estimated)).toBe(true);
    // 02:00 local does not exist: 00:00+01 (23:00Z), 01:00+01 (00:00Z), then 03:00+02 (01:00Z).
    expect(hours.slice(0, 3).map((h) => h.hour_start.toISOString())).toEqual(['2026-03-28T23:00:00.000Z', '2026-03-29T00:00:00.000Z', '2026-03-29T01:00:00.000Z']);
    const day = await daily(GSRN, '2026-03-29');
    expect(day).toEqual({ quantity: kwh(doc.milliKwh), hours: 23, day_hours: 23, estimated: false, missing: false });
    expect(sumOfHours(hours)).toBe(doc.milliKwh);
    expect(await monthly(GSRN, '2026-03-01')).toEqual({ quantity: kwh(doc.milliKwh), days: 1, month_days: 31, estimated: false, missing: true });
  });

  it('2026-10-25 (25 hours): 100 quarter-hours, both 02:00 hours kept apart, daily total = Σ hours', async () => {
    const doc = dayDocument('2026-10-25', (p) => `0.${String(200 + (p % 41)).padStart(3, '0')}`);
    expect(doc.count).toBe(100);
    await apply(doc.event);
    const hours = await hourly(GSRN, '2026-10-25');
    expect(hours).toHaveLength(25);
    // The repeated local hour 02:00 is 00:00Z (+02:00) and 01:00Z (+01:00): two rows.
    expect(hours.map((h) => h.hour_start.toISOString())).toEqual(expect.arrayContaining(['2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z']));
    const day = await daily(GSRN, '2026-10-25');
    expect(day).toEqual({ quantity: kwh(doc.milliKwh), hours: 25, day_hours: 25, estimated: false, missing: false });
    expect(sumOfHours(hours)).toBe(doc.milliKwh);
    // The portal's labels are stored with the rows: local wall time with the offset in force.
    const labels = await pool.query<{ start_label: string; end_label: string }>(
      `SELECT start_label, end_label FROM (${CONSUMPTION_HOUR_ROWS}) h WHERE gsrn = $1 AND hour_start IN ('2026-10-25T00:00Z', '2026-10-25T01:00Z') ORDER BY hour_start`,
      [GSRN],
    );
    expect(labels.rows).toEqual([
      { start_label: '2026-10-25T02:00+02:00', end_label: '2026-10-25T02:00+01:00' },
      { start_label: '2026-10-25T02:00+01:00', end_label: '2026-10-25T03:00+01:00' },
    ]);
    const dayLabels = await pool.query(`SELECT start_label, end_label FROM ${CONSUMPTION_DAILY_TABLE} WHERE gsrn = $1 AND day = '2026-10-25'`, [GSRN]);
    expect(dayLabels.rows).toEqual([{ start_label: '2026-10-25T00:00+02:00', end_label: '2026-10-26T00:00+01:00' }]);
    const dayJson = await pool.query<{ day_json: string }>(`SELECT day_json FROM ${CONSUMPTION_DAILY_TABLE} WHERE gsrn = $1 AND day = '2026-10-25'`, [GSRN]);
    expect(JSON.parse(dayJson.rows[0].day_json)).toEqual({
      date: '2026-10-25',
      start: '2026-10-25T00:00+02:00',
      end: '2026-10-26T00:00+01:00',
      hours: 25,
      quantity_kwh: kwh(doc.milliKwh),
      estimated: false,
      missing: false,
    });
    // The day's hours as the portal sends them (days-v4): 25 JSON elements, exact, with their Σ.
    const stored = await pool.query<{ hours_json: string; total: string; any_estimated: boolean; any_missing: boolean }>(
      `SELECT hours_json, total::text, any_estimated, any_missing FROM ${CONSUMPTION_HOURS_TABLE} WHERE gsrn = $1 AND day = '2026-10-25'`,
      [GSRN],
    );
    const elements = JSON.parse(`[${stored.rows[0].hours_json}]`) as Record<string, unknown>[];
    expect(elements).toHaveLength(25);
    expect(elements.slice(2, 4)).toEqual([
      { start: '2026-10-25T02:00+02:00', end: '2026-10-25T02:00+01:00', quantity_kwh: hours[2].quantity, estimated: false, missing: false },
      { start: '2026-10-25T02:00+01:00', end: '2026-10-25T03:00+01:00', quantity_kwh: hours[3].quantity, estimated: false, missing: false },
    ]);
    expect(elements.map((e) => e.quantity_kwh)).toEqual(hours.map((h) => h.quantity));
    expect(stored.rows[0]).toMatchObject({ total: kwh(doc.milliKwh), any_estimated: false, any_missing: false });
  });

  it('a later document for the same interval replaces the values and every aggregate above them', async () => {
    const first = dayDocument('2026-10-24', () => '1.000');
    const neighbour = await (async () => {
      await apply(first.event);
      return daily(GSRN, '2026-10-25');
    })();
    expect((await daily(GSRN, '2026-10-24')).quantity).toBe('96.000');
    const octoberBefore = await monthly(GSRN, '2026-10-01');
    expect(octoberBefore.days).toBe(2);

    // Corrected: different quantities, every seventh estimated.
    const corrected = dayDocument('2026-10-24', (p) => (p % 2 === 0 ? '0.500' : '0.250'), { quality: (p) => (p % 7 === 0 ? 'A03' : null) });
    await apply(corrected.event);
    const day = await daily(GSRN, '2026-10-24');
    expect(day).toEqual({ quantity: kwh(corrected.milliKwh), hours: 24, day_hours: 24, estimated: true, missing: false });
    expect(kwh(corrected.milliKwh)).toBe('36.000');
    const values = await pool.query<{ n: string; docs: string[] }>(
      `SELECT count(*)::text AS n, array_agg(DISTINCT document_id) AS docs FROM (${CONSUMPTION_VALUE_ROWS}) v WHERE gsrn = $1 AND interval_start >= $2 AND interval_start < $3`,
      [GSRN, localDayStart('2026-10-24'), localDayStart('2026-10-25')],
    );
    expect(values.rows[0]).toEqual({ n: '96', docs: [corrected.event.data.documentId] });
    // The neighbouring day is untouched; the month is the exact sum of its days.
    expect(await daily(GSRN, '2026-10-25')).toEqual(neighbour);
    const october = await monthly(GSRN, '2026-10-01');
    const sum = BigInt(day.quantity.replace('.', '')) + BigInt(neighbour.quantity.replace('.', ''));
    expect(october).toEqual({ quantity: kwh(sum), days: 2, month_days: 31, estimated: true, missing: true });
  });

  it('hour parts: the filler makes the deflate part of each day row from its text, once; a day rewritten by a later document gets a new one', async () => {
    const parts = async () =>
      (
        await pool.query<{ gsrn: string; day: string; hours_json: string; hours_deflate: Buffer | null; hours_crc32: number | null; hours_bytes: number | null }>(
          `SELECT gsrn, to_char(day, 'YYYY-MM-DD') AS day, hours_json, hours_deflate, hours_crc32, hours_bytes FROM ${CONSUMPTION_HOURS_TABLE} WHERE gsrn = $1 AND day >= '2026-11-01' AND day <= '2026-11-03' ORDER BY day`,
          [OTHER],
        )
      ).rows;
    // 2026-11-01..03 of another metering point (the rows the other tests write are filled here too: no assumption on them).
    for (const day of ['2026-11-01', '2026-11-02', '2026-11-03']) await apply(dayDocument(day, (p) => `0.${String(100 + (p % 50)).padStart(3, '0')}`, { gsrn: OTHER }).event);
    expect((await parts()).map((r) => r.hours_deflate)).toEqual([null, null, null]);

    let made = 0;
    for (let n = await fillHourParts(pool, 2); n > 0; n = await fillHourParts(pool, 2)) made += n;
    expect(made).toBeGreaterThanOrEqual(3);
    expect(await fillHourParts(pool)).toBe(0);
    const filled = await parts();
    expect(filled).toHaveLength(3);
    for (const row of filled) {
      const bytes = Buffer.from(row.hours_json, 'utf8');
      // A raw deflate part ends with a sync flush (00 00 ff ff) and inflates to the row's text exactly.
      expect(row.hours_deflate!.subarray(-4)).toEqual(Buffer.from([0x00, 0x00, 0xff, 0xff]));
      expect(inflatePart(row.hours_deflate!)).toBe(row.hours_json);
      expect(row.hours_crc32! >>> 0).toBe(crc32(bytes));
      expect(row.hours_bytes).toBe(bytes.length);
    }

    // A later document for 2026-11-02 replaces its row: the new row waits for its own part, the others keep theirs.
    await apply(dayDocument('2026-11-02', () => '2.000', { gsrn: OTHER }).event);
    const replaced = await parts();
    expect(replaced[1]!.hours_deflate).toBeNull();
    expect(replaced[0]!.hours_deflate).toEqual(filled[0]!.hours_deflate);
    expect(replaced[1]!.hours_json).toContain('"quantity_kwh":"8.000"');
    expect(await fillHourParts(pool)).toBe(1);
    const again = await parts();
    expect(inflatePart(again[1]!.hours_deflate!)).toBe(again[1]!.hours_json);

    // A row locked by another transaction (a writer replacing it) is skipped, not waited for, and made later.
    await apply(dayDocument('2026-11-03', () => '3.000', { gsrn: OTHER }).event);
    const locker = await pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM ${CONSUMPTION_HOURS_TABLE} WHERE gsrn = $1 AND day = '2026-11-03' FOR UPDATE`, [OTHER]);
      expect(await fillHourParts(pool)).toBe(0);
      await locker.query('COMMIT');
    } finally {
      locker.release();
    }
    expect(await fillHourParts(pool)).toBe(1);
    const last = await parts();
    expect(inflatePart(last[2]!.hours_deflate!)).toBe(last[2]!.hours_json);
  });

  it('hour parts: the filler keeps making them as days arrive, in batches, until stopped; a failing round is reported and retried', async () => {
    const waiting = async () => (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${CONSUMPTION_HOURS_TABLE} WHERE hours_deflate IS NULL`)).rows[0]!.n;
    const until = async (what: () => Promise<boolean>) => {
      for (let i = 0; i < 200 && !(await what()); i++) await new Promise((r) => setTimeout(r, 20));
      expect(await what()).toBe(true);
    };
    for (const day of ['2026-12-01', '2026-12-02', '2026-12-03']) await apply(dayDocument(day, () => '0.200', { gsrn: OTHER }).event);
    const errors: unknown[] = [];
    let failNext = false;
    const filled = { rounds: 0 };
    const counting = {
      connect: async () => {
        filled.rounds++;
        if (failNext) {
          failNext = false;
          throw new Error('connection refused (test)');
        }
        return pool.connect();
      },
    };
    const filler = startHourPartFiller({ pool: counting, intervalMs: 20, batch: 2, onError: (e) => errors.push(e) });
    try {
      await until(async () => (await waiting()) === 0);
      // Another day later: made on a later round; a round that fails is reported and the next one makes it.
      failNext = true;
      await apply(dayDocument('2026-12-04', () => '0.300', { gsrn: OTHER }).event);
      await until(async () => (await waiting()) === 0);
      expect(errors.map((e) => (e as Error).message)).toEqual(['connection refused (test)']);
      await until(async () => !filler.stats().failing);
      expect(filler.stats()).toMatchObject({ failedRounds: 1, lastError: 'connection refused (test)' });
      expect(filler.stats().made).toBeGreaterThanOrEqual(4);
    } finally {
      await filler.stop();
    }
    const rounds = filled.rounds;
    await apply(dayDocument('2026-12-05', () => '0.400', { gsrn: OTHER }).event);
    await new Promise((r) => setTimeout(r, 100));
    expect(filled.rounds).toBe(rounds);
    expect(await waiting()).toBe(1);
    expect(await fillHourParts(pool)).toBe(1);
  });

  it('a partial hourly correction replaces the quarter-hours it overlaps only', async () => {
    const start = new Date('2026-10-24T10:00:00Z');
    await apply(
      measureEvent({
        start,
        end: new Date('2026-10-24T12:00:00Z'),
        resolution: 'PT1H',
        points: [
          { position: 1, quantity: '5.000', quality: null },
          { position: 2, quantity: null, quality: 'A02' },
        ],
      }),
    );
    const hours = await hourly(GSRN, '2026-10-24');
    const at = (iso: string) => hours.find((h) => h.hour_start.toISOString() === iso);
    expect(at('2026-10-24T10:00:00.000Z')).toMatchObject({ quantity: '5.000', missing: false, estimated: false });
    expect(at('2026-10-24T11:00:00.000Z')).toMatchObject({ quantity: '0.000', missing: true });
    const day = await daily(GSRN, '2026-10-24');
    expect(day.missing).toBe(true);
    expect(BigInt(day.quantity.replace('.', ''))).toBe(sumOfHours(hours));
    // 36.000 − hours 10:00Z and 11:00Z (positions 49–56: 1.500 each) + 5.000 + nothing for the unavailable hour.
    expect(day.quantity).toBe('38.000');
    // The hour with no available value is in the portal's JSON as 0.000, missing; the day's JSON and flags follow.
    const stored = await pool.query<{ hours_json: string; total: string; any_estimated: boolean; any_missing: boolean }>(
      `SELECT hours_json, total::text, any_estimated, any_missing FROM ${CONSUMPTION_HOURS_TABLE} WHERE gsrn = $1 AND day = '2026-10-24'`,
      [GSRN],
    );
    expect(JSON.parse(`[${stored.rows[0].hours_json}]`)).toEqual(
      expect.arrayContaining([
        { start: '2026-10-24T12:00+02:00', end: '2026-10-24T13:00+02:00', quantity_kwh: '5.000', estimated: false, missing: false },
        { start: '2026-10-24T13:00+02:00', end: '2026-10-24T14:00+02:00', quantity_kwh: '0.000', estimated: false, missing: true },
      ]),
    );
    expect(stored.rows[0]).toMatchObject({ total: '38.000', any_estimated: true, any_missing: true });
    expect(await storedJsonMismatches(pool)).toMatchObject({ bad: 0 });
  });

  it('values of one metering point never leak into another', async () => {
    const other = dayDocument('2026-10-24', () => '0.001', { gsrn: OTHER });
    await apply(other.event);
    expect((await daily(OTHER, '2026-10-24')).quantity).toBe('0.096');
    expect((await daily(GSRN, '2026-10-24')).quantity).toBe('38.000');
  });

  it('flags a day above 2× the median of the previous 30 days, and withdraws it when a correction brings it down', async () => {
    const gsrn = '571313180400000042';
    for (let i = 0; i < 20; i++) {
      const day = addDays('2026-01-01', i);
      await apply(dayDocument(day, (p) => (p % 2 === 0 ? '0.110' : '0.090'), { gsrn }).event);
    }
    // Baseline median 9.600 kWh/day; 2× = 19.200. 0.200 × 96 = 19.200 is not above; 0.201 × 96 = 19.296 is.
    await apply(dayDocument('2026-01-21', () => '0.200', { gsrn }).event);
    await apply(dayDocument('2026-01-22', () => '0.201', { gsrn }).event);
    const anomalies = async () =>
      (await pool.query<{ day: string; quantity: string; baseline_median: string; baseline_days: number }>(
        `SELECT to_char(day, 'YYYY-MM-DD') AS day, quantity::text, baseline_median::text, baseline_days FROM read_models.consumption_anomalies WHERE gsrn = $1 ORDER BY day`,
        [gsrn],
      )).rows;
    expect(await anomalies()).toEqual([{ day: '2026-01-22', quantity: '19.296', baseline_median: '9.6', baseline_days: 21 }]);
    await apply(dayDocument('2026-01-22', () => '0.100', { gsrn }).event);
    expect(await anomalies()).toEqual([]);
  });

  it('migrates a days-v2 hours table (labels in every row) to days-v6 and projects into it', async () => {
    const other = await createTestDatabase('consumption_v2');
    const otherPool = new Pool({ connectionString: other.url });
    try {
      await otherPool.query(`CREATE SCHEMA read_models;
        CREATE TABLE read_models.consumption_hours (gsrn text NOT NULL, day date NOT NULL, day_start timestamptz NOT NULL,
          quantities numeric[] NOT NULL, estimated boolean[] NOT NULL, missing boolean[] NOT NULL, labels text[] NOT NULL, PRIMARY KEY (gsrn, day))`);
      const client = await otherPool.connect();
      try {
        await migrateProjectionState(client);
        await consumptionProjection.migrate(client);
        await consumptionProjection.migrate(client);
        await consumptionProjection.apply(dayDocument('2026-10-25', () => '0.010').event, client);
      } finally {
        client.release();
      }
      const columns = await otherPool.query<{ name: string }>(`SELECT attname AS name FROM pg_attribute WHERE attrelid = 'read_models.consumption_hours'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`);
      expect(columns.rows.map((c) => c.name)).toEqual(['gsrn', 'day', 'day_start', 'hours_json', 'total', 'any_estimated', 'any_missing', 'hours_deflate', 'hours_crc32', 'hours_bytes']);
      const hours = await otherPool.query<{ n: number; labelled: number }>(`SELECT count(*)::int AS n, count(start_label)::int AS labelled FROM (${CONSUMPTION_HOUR_ROWS}) h`);
      expect(hours.rows[0]).toEqual({ n: 25, labelled: 25 });
      expect(await storedJsonMismatches(otherPool)).toEqual({ bad: 0, days: 1 });
      expect(await storedDayJsonMismatches(otherPool)).toEqual({ bad: 0, days: 1 });
    } finally {
      await otherPool.end();
      await other.drop();
    }
  });

  it('migrates day rows with arrays (days-v3 to days-v5) to days-v6: a row without JSON gets it from its arrays, then the arrays go', async () => {
    const other = await createTestDatabase('consumption_v5');
    const otherPool = new Pool({ connectionString: other.url });
    try {
      const client = await otherPool.connect();
      try {
        await migrateProjectionState(client);
        await consumptionProjection.migrate(client);
        // A 25-hour day with estimated and unavailable quarter-hours, and a day with a few hours only (gaps).
        await consumptionProjection.apply(
          dayDocument('2026-10-25', (p) => `0.${String(100 + p).padStart(3, '0')}`, { quality: (p) => (p % 7 === 0 ? 'A03' : p % 11 === 0 ? 'A02' : null) }).event,
          client,
        );
        await consumptionProjection.apply(
          measureEvent({
            start: new Date('2026-10-24T10:00:00Z'),
            end: new Date('2026-10-24T13:00:00Z'),
            resolution: 'PT1H',
            points: [
              { position: 1, quantity: '1.25', quality: null },
              { position: 3, quantity: '0.5', quality: 'A03' },
            ],
          }),
          client,
        );
      } finally {
        client.release();
      }
      const stored = async () =>
        (
          await otherPool.query<{ day: string; hours_json: string | null; total: string | null; any_estimated: boolean | null; any_missing: boolean | null }>(
            `SELECT to_char(day, 'YYYY-MM-DD') AS day, hours_json, total::text, any_estimated, any_missing FROM ${CONSUMPTION_HOURS_TABLE} ORDER BY day`,
          )
        ).rows;
      const expected = await stored();
      expect(expected.map((r) => r.day)).toEqual(['2026-10-24', '2026-10-25']);
      expect(expected[0].total).toBe('1.75');
      // The same rows as days-v5 held them: the hours also as arrays over the day's hours (null: no value), the
      // 2026-10-25 row as written before days-v4 (no JSON, no Σ, no flags).
      const hourRows = (
        await otherPool.query<{ day: string; i: number; quantity: string; estimated: boolean; missing: boolean }>(
          `SELECT to_char(h.day, 'YYYY-MM-DD') AS day, (extract(epoch FROM r.hour_start - h.day_start) / 3600)::int AS i, r.quantity::text AS quantity, r.estimated, r.missing
             FROM (${CONSUMPTION_HOUR_ROWS}) r JOIN ${CONSUMPTION_HOURS_TABLE} h ON h.gsrn = r.gsrn AND r.hour_start >= h.day_start
              AND r.hour_start < h.day_start + (SELECT cardinality(l.labels) - 1 FROM read_models.consumption_day_labels l WHERE l.day = h.day) * interval '1 hour'`,
        )
      ).rows;
      expect(hourRows).toHaveLength(25 + 2);
      await otherPool.query(`ALTER TABLE ${CONSUMPTION_HOURS_TABLE} ADD COLUMN quantities numeric[], ADD COLUMN estimated boolean[], ADD COLUMN missing boolean[]`);
      for (const [day, n] of [['2026-10-24', 24], ['2026-10-25', 25]] as const) {
        const at = (i: number) => hourRows.find((r) => r.day === day && r.i === i);
        const arrays = [0, 1, 2].map((k) => Array.from({ length: n }, (_, i) => { const r = at(i); return r === undefined ? null : [r.quantity, r.estimated, r.missing][k]; }));
        await otherPool.query(`UPDATE ${CONSUMPTION_HOURS_TABLE} SET quantities = $2::numeric[], estimated = $3::boolean[], missing = $4::boolean[] WHERE day = $1`, [day, ...arrays]);
      }
      await otherPool.query(`UPDATE ${CONSUMPTION_HOURS_TABLE} SET hours_json = NULL, total = NULL, any_estimated = NULL, any_missing = NULL WHERE day = '2026-10-25'`);
      const client2 = await otherPool.connect();
      try {
        await consumptionProjection.migrate(client2);
        await consumptionProjection.migrate(client2);
      } finally {
        client2.release();
      }
      const columns = await otherPool.query<{ name: string }>(`SELECT attname AS name FROM pg_attribute WHERE attrelid = 'read_models.consumption_hours'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`);
      expect(columns.rows.map((c) => c.name)).toEqual(['gsrn', 'day', 'day_start', 'hours_json', 'total', 'any_estimated', 'any_missing', 'hours_deflate', 'hours_crc32', 'hours_bytes']);
      expect(await stored()).toEqual(expected);
      expect(await storedJsonMismatches(otherPool)).toEqual({ bad: 0, days: 2 });
    } finally {
      await otherPool.end();
      await other.drop();
    }
  });

  it('applyBatch and the bulk loader give exactly the read model of apply one document at a time (supersedes inside a batch and across pages, DST days, anomalies, production points)', async () => {
    // Applied to a database of its own twice: once event by event, once in batches through applyBatch.
    const points = ['571313180400000059', '571313180400000066', '571313180400000073'];
    const events: ProjectedEvent[] = [];
    for (let i = 0; i < 40; i++) {
      const day = addDays('2026-10-01', i % 31);
      for (const [k, gsrn] of points.entries()) {
        const big = i === 25 && k === 1; // an unusual day (2026-10-26, 25 days of baseline)
        events.push(dayDocument(day, (p) => (big ? '0.500' : `0.${String(100 + ((p * (k + 3) + i) % 50)).padStart(3, '0')}`), { gsrn, quality: (p) => (p % 17 === 0 ? 'A03' : k === 2 && p % 29 === 0 ? 'A02' : null) }).event);
      }
      if (i % 7 === 3) {
        // A partial hourly correction of the first point, right after its day: supersedes within the batch.
        const start = new Date(localDayStart(day).getTime() + 5 * 3_600_000);
        events.push(measureEvent({ gsrn: points[0], start, end: new Date(start.getTime() + 3 * 3_600_000), resolution: 'PT1H', points: [1, 2, 3].map((p) => ({ position: p, quantity: `${p}.250`, quality: null })) }));
      }
    }
    events.push(dayDocument('2026-10-25', () => '0.010', { gsrn: '571313180400000080' }).event); // 25 hours
    // Runs cut by gaps, by local midnight and by a later document of another resolution, and quantities that are not
    // plain decimals (summed by PostgreSQL on every path), on a point of their own.
    const odd = '571313180400000103';
    const twoDays = localDayStart('2026-10-10');
    // The first of them goes first: the others supersede it from a later page.
    events.unshift(measureEvent({ gsrn: odd, start: twoDays, end: new Date(twoDays.getTime() + 48 * 3_600_000), resolution: 'PT1H', points: Array.from({ length: 48 }, (_, i) => ({ position: i + 1, quantity: i % 11 === 4 ? null : `${i}.5`, quality: i % 11 === 4 ? 'A02' : null })).filter((p) => p.position % 13 !== 0) }));
    events.push(measureEvent({ gsrn: odd, start: new Date(twoDays.getTime() + 20 * 3_600_000), end: new Date(twoDays.getTime() + 30 * 3_600_000), resolution: 'PT15M', points: Array.from({ length: 40 }, (_, i) => ({ position: i + 1, quantity: i === 7 ? '1.5e0' : '0.25', quality: i === 9 ? 'A03' : null })) }));
    events.push(measureEvent({ gsrn: odd, start: new Date(twoDays.getTime() + 25 * 3_600_000), end: new Date(twoDays.getTime() + 26 * 3_600_000), resolution: 'PT1H', points: [{ position: 1, quantity: '7', quality: null }] }));
    // Plain decimals of every scale from 0 to 5, negative ones, hours with only missing values (Σ 0, missing) and a day
    // with 20 of its 24 hours, on a point nothing supersedes (summed in memory by the bulk loader), hourly and by the
    // quarter-hour.
    const scales = ['7', '-0.5', '1.25', '0.0001', '12.3456', '-3', '0.12345', '40.1'];
    for (const [d, resolution, hours] of [[0, 'PT1H', 24], [1, 'PT15M', 24], [2, 'PT1H', 20]] as const) {
      const start = localDayStart(addDays('2026-10-12', d));
      const count = resolution === 'PT1H' ? hours : hours * 4;
      events.push(
        measureEvent({
          gsrn: '571313180400000110',
          start,
          end: new Date(start.getTime() + hours * 3_600_000),
          resolution,
          points: Array.from({ length: count }, (_, i) => ({ position: i + 1, quantity: hours === 24 && Math.floor(i / (count / hours)) === 6 ? null : scales[i % scales.length], quality: hours === 24 && Math.floor(i / (count / hours)) === 6 ? 'A02' : i % 5 === 0 ? 'A03' : null })),
        }),
      );
    }
    // Quantities of 16 decimals (beyond what the bulk loader sums in a double: its day and month totals come from SQL).
    const fine = localDayStart('2026-10-14');
    events.push(measureEvent({ gsrn: '571313180400000131', start: fine, end: new Date(fine.getTime() + 24 * 3_600_000), resolution: 'PT1H', points: Array.from({ length: 24 }, (_, i) => ({ position: i + 1, quantity: i % 2 === 0 ? '0.0000000000000001' : '1.5', quality: null })) }));
    // A point nothing supersedes, over 35 days of three months (its months and anomalies summed in memory by the bulk
    // loader): day totals of scale 1, 2 and 3, a day with a missing value (out of every baseline), baselines of odd and even
    // counts (medians between two totals), spikes on several days.
    const steady = '571313180400000127';
    for (let d = 0; d < 35; d++) {
      const q = (p: number): string => (p === 1 ? '0.001' : d % 6 === 5 ? `${9 + (p % 5)}.5` : d % 3 === 0 ? `0.${p % 7}5` : `${1 + (d % 4)}.${(p * d) % 10}${d % 2 === 0 ? '25' : ''}`);
      events.push(dayDocument(addDays('2026-08-20', d), q, { gsrn: steady, quality: (p) => (d === 12 && p === 3 ? 'A02' : null) }).event);
    }
    events.push(measureEvent({ gsrn: '571313180400000097', type: 'E18', start: localDayStart('2026-10-02'), end: localDayStart('2026-10-03'), resolution: 'PT1H', points: Array.from({ length: 24 }, (_, i) => ({ position: i + 1, quantity: '2.000', quality: null })) }));

    const checksums = await checksumsOfVariants(events, 90, async (client) => {
      const anomalies = await client.query('SELECT 1 FROM read_models.consumption_anomalies');
      expect(anomalies.rowCount).toBeGreaterThan(0);
      const steadyAnomalies = await client.query<{ halves: string; n: string }>(
        `SELECT count(*) FILTER (WHERE scale(baseline_median) > 3)::text AS halves, count(*)::text AS n FROM read_models.consumption_anomalies WHERE gsrn = $1`,
        [steady],
      );
      expect(Number(steadyAnomalies.rows[0].n)).toBeGreaterThanOrEqual(6);
      expect(Number(steadyAnomalies.rows[0].halves)).toBeGreaterThanOrEqual(1);
    });
    expect(checksums.slice(1)).toEqual(checksums.slice(1).map(() => checksums[0]));
  });

  it('packed (v2) series: the bulk loader, reading integer Wh, gives exactly the read model of apply (missing values, 23- and 25-hour days, PT15M, supersedes, v1 and v2 mixed)', async () => {
    const events: ProjectedEvent[] = [];
    const text = (wh: number) => `${wh < 0 ? '-' : ''}${kwh(BigInt(Math.abs(wh)))}`;
    /** One local day of `gsrn`, packed: Wh per position from `wh` (null: no quantity), qualities from `quality`. */
    const day = (d: string, resolution: 'PT15M' | 'PT1H', gsrn: string, wh: (p: number) => number | null, quality: (p: number) => string | null) => {
      const start = localDayStart(d);
      const end = localDayStart(addDays(d, 1));
      const count = (end.getTime() - start.getTime()) / (resolution === 'PT15M' ? 900_000 : 3_600_000);
      const points = Array.from({ length: count }, (_, i) => {
        const v = wh(i + 1);
        return { position: i + 1, quantity: v === null ? null : text(v), quality: quality(i + 1) };
      });
      return measureEvent({ gsrn, start, end, resolution, points, packed: true });
    };
    const gsrns = ['571313180400000134', '571313180400000141', '571313180400000158'];
    // 2026-03-20 to 2026-04-08 (2026-03-29: 23 hours) by the quarter-hour for two points, hourly for the third: missing
    // values (A02 with and without a quantity, no quantity without a quality), estimated values, a spike on 04-05.
    for (let i = 0; i < 20; i++) {
      const d = addDays('2026-03-20', i);
      for (const [k, gsrn] of gsrns.entries()) {
        events.push(
          day(
            d,
            k === 2 ? 'PT1H' : 'PT15M',
            gsrn,
            (p) => (k === 1 && p % 23 === 0 ? null : (d === '2026-04-05' && k === 0 ? 2_000 : 100) + ((p * (k + 3) + i) % 50)),
            (p) => (p % 17 === 0 ? 'A03' : k === 2 && p % 19 === 0 ? 'A02' : null),
          ),
        );
      }
      if (i % 6 === 2) {
        // A partial hourly correction, packed from position 6 (its first five hours left without values): supersedes
        // within the page.
        const start = localDayStart(d);
        events.push(measureEvent({ gsrn: gsrns[1], start, end: new Date(start.getTime() + 9 * 3_600_000), resolution: 'PT1H', points: [6, 7, 8, 9].map((p) => ({ position: p, quantity: `${p}.125`, quality: p === 8 ? 'A03' : null })), packed: true }));
      }
    }
    // 2026-10-25 (25 hours), hourly and by the quarter-hour; a v1 correction of a packed day and a packed one of a v1 day.
    events.push(day('2026-10-25', 'PT1H', gsrns[0], (p) => 1_000 + p, () => null));
    events.push(day('2026-10-25', 'PT15M', gsrns[1], (p) => (p === 9 ? null : 250), (p) => (p === 9 ? 'A02' : null)));
    const v1Day = localDayStart('2026-10-24');
    events.push(measureEvent({ gsrn: gsrns[2], start: v1Day, end: localDayStart('2026-10-25'), resolution: 'PT1H', points: Array.from({ length: 24 }, (_, i) => ({ position: i + 1, quantity: `0.${i + 10}`, quality: null })) }));
    events.push(measureEvent({ gsrn: gsrns[2], start: new Date(v1Day.getTime() + 3_600_000), end: new Date(v1Day.getTime() + 3 * 3_600_000), resolution: 'PT15M', points: [1, 2, 3, 4, 5, 6, 7, 8].map((p) => ({ position: p, quantity: `0.0${p}`, quality: null })), packed: true }));
    const packedDay = localDayStart('2026-10-25');
    events.push(measureEvent({ gsrn: gsrns[0], start: new Date(packedDay.getTime() + 4 * 3_600_000), end: new Date(packedDay.getTime() + 5 * 3_600_000), resolution: 'PT1H', points: [{ position: 1, quantity: '3.5', quality: null }] }));
    // More points than the interval holds (the last ones dropped), negative values, and a day whose total leaves the
    // safe integers (the largest values a packing holds, 12 digits of kWh: left to PostgreSQL's sums by the bulk
    // loader), on points of their own.
    const cut = day('2026-10-20', 'PT1H', '571313180400000165', (p) => (p % 4 === 0 ? -p * 10 : p * 1_001), () => null);
    events.push({ ...cut, data: { ...cut.data, end: new Date(localDayStart('2026-10-20').getTime() + 20 * 3_600_000).toISOString() } });
    events.push(day('2026-10-21', 'PT15M', '571313180400000172', (p) => (p <= 10 ? 999_999_999_999_999 : p), () => null));
    // A packing whose quality runs do not cover its values: no points on every path (its interval still supersedes).
    const malformed = day('2026-10-22', 'PT1H', '571313180400000172', () => 5, () => null);
    events.push({ ...malformed, data: { ...malformed.data, qualities: [[null, 3]] } });
    events.push(measureEvent({ gsrn: '571313180400000097', type: 'E18', start: localDayStart('2026-10-02'), end: localDayStart('2026-10-03'), resolution: 'PT1H', points: Array.from({ length: 24 }, (_, i) => ({ position: i + 1, quantity: '2.000', quality: null })), packed: true }));

    const checksums = await checksumsOfVariants(events, 60, async (client) => {
      // What the live path stores for a packed value: its text of three decimals ("0.150"), as a numeric of scale 3.
      const { rows } = await client.query<{ scales: number[]; quantities: string[] }>(
        `SELECT array_agg(DISTINCT scale(q)) FILTER (WHERE q IS NOT NULL) AS scales, array_agg(q::text ORDER BY i) FILTER (WHERE i <= 3) AS quantities
           FROM read_models.consumption_series x CROSS JOIN LATERAL unnest(x.quantities) WITH ORDINALITY AS u(q, i)
          WHERE x.gsrn = $1 AND x.interval_start = $2`,
        [gsrns[2], localDayStart('2026-03-20')],
      );
      expect(rows[0].scales).toEqual([3]);
      expect(rows[0].quantities).toEqual(['0.105', '0.110', '0.115']);
      const big = await client.query<{ total: string }>(`SELECT quantity::text AS total FROM read_models.consumption_daily WHERE gsrn = '571313180400000172' AND day = '2026-10-21'`);
      expect(big.rows[0].total).toBe(kwh(10n * 999_999_999_999_999n + BigInt((96 * 97) / 2 - 55)));
      const anomalies = await client.query(`SELECT day::text FROM read_models.consumption_anomalies WHERE gsrn = $1`, [gsrns[0]]);
      expect(anomalies.rows).toEqual([{ day: '2026-04-05' }]);
    });
    expect(checksums.slice(1)).toEqual(checksums.slice(1).map(() => checksums[0]));
  });
});

