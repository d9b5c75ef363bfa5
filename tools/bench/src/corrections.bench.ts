import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { Pool } from 'pg';
import { localDayIntervals, localDayStart, type LocalDate } from '@dh/dk-time';
import { createPostgresEventStore, type JsonObject, type PostgresEventStore } from '@dh/event-store';
import { gsrnCheckDigit } from '@dh/market-ids';
import type { EventEnvelope } from '@dh/messaging';
import { DEFAULT_RATES_CONFIG, buildSettlementInput, invoiceIdOf, invoiceStreamId, toJsonObject, type SettlementCorrectionIssued } from '@dh/settlement-application';
import { settleMeteringPoint } from '@dh/settlement-domain';
import {
  applyToCopies,
  indexInvoice,
  invoiceIssuedEventId,
  invoiceIssuedOf,
  loadCopiesOf,
  loadSharedPriceCopies,
  migrateSettlement,
  publicationJobOf,
  recordCorrectionJob,
  runCorrectionJobs,
  settleFromCopies,
  type SettleDeps,
  type Settled,
} from '@dh/settlement-infra';
import { createBenchDatabase, type Cleanup } from './infra';
import { octoberDays, octoberPriceInputs, octoberSpotPrices, PRICES_PUBLISHED } from './october-prices';
import { log, msSince, now, result, type BenchResult } from './measure';

/**
 * A whole correction job after a spot price change (issue 9 corrections, 2026-12-06): N metering points × October
 * 2026 (PT1H, 745 values each) invoiced, then DK2's spot prices of one day are published again (version 2, other
 * prices): the publication's job re-settles every invoice of the price area, page by page (`runCorrectionJobs`, 100
 * invoices per transaction), and every one issues a note. A second publication (another day) then corrects the same
 * invoices again (each already has a note). Timed: each job from its first page to its last, in this process
 * (`correctNextPage` on a pool, as the correction worker). Baseline: the recomputation alone in the same pages
 * (read the invoice's stream, load its copies, settle: what a correction does at the least), appending nothing.
 * Checks: one note per invoice and job, each note's corrected invoice equals a settlement from the copies as they
 * stand, and the note names the job's publication as its causation.
 * Knobs: BENCH_CORRECTION_POINTS (default 1000,4000).
 */

const SIZES = (process.env.BENCH_CORRECTION_POINTS ?? '1000,4000')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0);

const PERIOD = { kind: 'month', year: 2026, month: 10 } as const;
/** The run's asOf; the corrections' publications come after. */
const RUN_AS_OF = new Date('2026-11-05T00:00:00.000Z');
const PAGE = 100;

const days = octoberDays;

const gsrnOf = (i: number): string => {
  const body = `57131319${String(i).padStart(9, '0')}`;
  return `${body}${gsrnCheckDigit(body)}`;
};

/** Wh of point p in hour h: 100..2,099 Wh, reproducible. */
const whOf = (p: number, h: number): number => 100 + ((p * 7919 + h * 104729) % 2000);

let position = 0;
function envelopeOf(type: string, streamId: string, data: JsonObject, at: Date): EventEnvelope {
  position++;
  return {
    eventId: randomUUID(),
    type,
    streamId,
    streamRevision: '0',
    globalPosition: String(position),
    occurredAt: at.toISOString(),
    recordedAt: at.toISOString(),
    data,
    metadata: { correlationId: randomUUID(), causationId: null, actor: 'bench', schemaVersion: 1, context: 'rates' },
  };
}

function spotPublication(day: LocalDate, version: number, at: Date, shift: number): EventEnvelope {
  const { streamId, type, data } = octoberSpotPrices(day, version, at.toISOString(), shift);
  return envelopeOf(type, streamId, data, at);
}

async function seedPrices(pool: Pool): Promise<void> {
  const at = new Date(PRICES_PUBLISHED);
  for (const { streamId, type, data } of octoberPriceInputs()) await applyToCopies(envelopeOf(type, streamId, data, at), pool);
  for (const day of days()) await applyToCopies(spotPublication(day, 1, at, 0), pool);
}

/** Supplies and packed metered days straight into the copies, then each point's invoice issued as a run's item issues it. */
async function seedPointsAndInvoices(pool: Pool, store: PostgresEventStore, first: number, last: number): Promise<void> {
  const gsrns: string[] = [];
  for (let p = first; p < last; p++) gsrns.push(gsrnOf(p));
  await pool.query(
    `INSERT INTO settlement.supplies (gsrn, start_date, customer_id, end_date, product_id, electric_heating, grid_area, production_gsrn, billing_frequency, payment_model)
     SELECT g, '2026-01-01', 'customer-' || g, NULL, 'spot', false, '791', NULL, 'monthly', 'actual' FROM unnest($1::text[]) AS g`,
    [gsrns],
  );
  const rows: { g: string[]; d: string[]; s: string[]; w: string[]; e: string[] } = { g: [], d: [], s: [], w: [], e: [] };
  for (let p = first; p < last; p++) {
    let hour = 0;
    for (const day of days()) {
      const n = localDayIntervals(day, 'PT1H').length;
      const whs: number[] = [];
      for (let i = 0; i < n; i++) whs.push(whOf(p, hour + i));
      hour += n;
      rows.g.push(gsrnOf(p));
      rows.d.push(day);
      rows.s.push(localDayStart(day).toISOString());
      rows.w.push(`{${whs.join(',')}}`);
      rows.e.push(randomUUID());
    }
  }
  await pool.query(
    `INSERT INTO settlement.metered_data (gsrn, day, version, document_id, received_at, resolution, start, first_position, wh, qualities, event_id)
     SELECT g, d, 1, 'bench-' || g, '2026-11-02T08:00:00Z', 'PT1H', s::timestamptz, 1, w::int[], jsonb_build_array(jsonb_build_array('A04', cardinality(w::int[]))), e::uuid
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(g, d, s, w, e)`,
    [rows.g, rows.d, rows.s, rows.w, rows.e],
  );
  const shared = await loadSharedPriceCopies(pool, PERIOD);
  const copies = await loadCopiesOf(pool, gsrns, PERIOD, shared);
  const appends = [];
  for (const gsrn of gsrns) {
    const customerId = `customer-${gsrn}`;
    const built = buildSettlementInput(gsrn, PERIOD, RUN_AS_OF, copies.get(gsrn)!, DEFAULT_RATES_CONFIG, customerId);
    if (!built.ok) throw new Error(`cannot build ${gsrn}: ${JSON.stringify(built.halt)}`);
    const r = settleMeteringPoint(built.input);
    if (r.outcome !== 'settled') throw new Error(`halted ${gsrn}: ${JSON.stringify(r)}`);
    const settled: Settled = { outcome: 'settled', invoice: r.invoice, customerId, paymentModel: built.paymentModel, gridArea: built.gridArea, priceArea: built.priceArea, productionGsrn: built.productionGsrn };
    const invoiceId = invoiceIdOf(gsrn, PERIOD, customerId);
    const issued = await invoiceIssuedOf(pool, { invoiceId, runId: 'bench-run', gsrn, period: PERIOD, result: settled });
    appends.push({
      streamId: invoiceStreamId(invoiceId),
      events: [
        {
          eventId: invoiceIssuedEventId(invoiceId),
          type: 'InvoiceIssued',
          data: toJsonObject(issued),
          metadata: { correlationId: randomUUID(), causationId: null, actor: 'bench', schemaVersion: 1, context: 'settlement' },
          occurredAt: RUN_AS_OF,
        },
      ],
      expectedRevision: 'no_stream' as const,
    });
    await indexInvoice(pool, invoiceId, gsrn, PERIOD, settled);
  }
  await store.appendToStreams(appends);
}

/** The recomputation alone, page by page: each invoice's stream read, its copies loaded, settled; nothing appended. */
async function recomputeOnly(deps: SettleDeps, pool: Pool): Promise<{ seconds: number; invoices: number }> {
  const start = now();
  let invoices = 0;
  let after: string | null = null;
  for (;;) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const ids: { invoice_id: string; gsrn: string; customer_id: string }[] = (
        await client.query<{ invoice_id: string; gsrn: string; customer_id: string }>(
          `SELECT invoice_id::text AS invoice_id, gsrn, customer_id FROM settlement.invoices WHERE price_area = 'DK2' AND ($1::uuid IS NULL OR invoice_id > $1::uuid) ORDER BY invoice_id LIMIT $2`,
          [after, PAGE],
        )
      ).rows;
      for (const row of ids) {
        const stream = await deps.store.readStream(invoiceStreamId(row.invoice_id));
        if (stream.length === 0) throw new Error(`no stream for ${row.invoice_id}`);
        const r = await settleFromCopies(deps, client, row.gsrn, PERIOD, new Date(), row.customer_id);
        if (r.outcome !== 'settled') throw new Error(`halted ${row.gsrn}`);
      }
      await client.query('COMMIT');
      invoices += ids.length;
      after = ids.at(-1)?.invoice_id ?? after;
      if (ids.length < PAGE) break;
    } finally {
      client.release();
    }
  }
  return { seconds: msSince(start) / 1000, invoices };
}

/** Every note of the trigger: one per invoice, its corrected invoice as the copies settle now, its causation the trigger. */
async function checkNotes(deps: SettleDeps, pool: Pool, store: PostgresEventStore, triggerId: string, points: number): Promise<number> {
  const { rows } = await pool.query<{ invoice_id: string; gsrn: string; customer_id: string }>(`SELECT invoice_id::text AS invoice_id, gsrn, customer_id FROM settlement.invoices ORDER BY invoice_id`);
  let notes = 0;
  let problems = 0;
  // A sample (every 10th invoice and the last): the full check would take as long as the job.
  for (const [i, row] of rows.entries()) {
    if (i % 10 !== 0 && i !== rows.length - 1) continue;
    const stream = await store.readStream(invoiceStreamId(row.invoice_id));
    const note = stream.filter((e) => e.type === 'SettlementCorrectionIssued' && (e.metadata as { causationId?: string }).causationId === triggerId);
    if (note.length !== 1) {
      problems++;
      continue;
    }
    notes++;
    const ids = (note[0]!.metadata as { causationIds?: unknown }).causationIds;
    if (ids !== undefined && JSON.stringify(ids) !== JSON.stringify([triggerId])) problems++;
    const corrected = (note[0]!.data as unknown as SettlementCorrectionIssued).correctedInvoice;
    const now = await settleFromCopies(deps, pool, row.gsrn, PERIOD, new Date(), row.customer_id);
    if (now.outcome !== 'settled' || now.invoice.totals.inclVat.format() !== corrected.totals.inclVat) problems++;
  }
  if (problems > 0) throw new Error(`${problems} invoices of ${points} without exactly one right note of ${triggerId}`);
  return notes;
}

interface JobFigures {
  day: LocalDate;
  seconds: number;
  notes: number;
  baselineSeconds: number;
}

async function runSize(points: number, cleanup: Cleanup): Promise<JobFigures[]> {
  const db = await createBenchDatabase('corrections');
  cleanup.add(`drop database ${db.name}`, () => db.drop());
  const pool = new Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => undefined);
  try {
    const store = await createPostgresEventStore({ pool });
    await migrateSettlement(pool);
    const deps: SettleDeps = { store };
    const seedStart = now();
    await seedPrices(pool);
    for (let first = 0; first < points; first += 250) await seedPointsAndInvoices(pool, store, first, Math.min(points, first + 250));
    await pool.query('ANALYZE');
    log(`  ${points.toLocaleString('en-US')} invoices: seeded in ${(msSince(seedStart) / 1000).toFixed(1)} s (not timed)`);
    const figures: JobFigures[] = [];
    for (const [round, day] of (['2026-10-15', '2026-10-22'] as const).entries()) {
      const baseline = await recomputeOnly(deps, pool);
      if (baseline.invoices !== points) throw new Error(`recomputed ${baseline.invoices} invoices, expected ${points}`);
      const publication = spotPublication(day, 2, new Date(Date.now() - 1000), 400 + round * 100);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await applyToCopies(publication, client);
        const spec = publicationJobOf(publication);
        if (spec === null) throw new Error('no job for the publication');
        await recordCorrectionJob(client, publication, spec);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const loadBefore = loadavg()[0]!;
      const start = now();
      await runCorrectionJobs(deps, pool, { pageSize: PAGE });
      const seconds = msSince(start) / 1000;
      const job = (await pool.query<{ invoices: number; issued: number }>(`SELECT invoices, issued FROM settlement.correction_jobs WHERE cause_event_id = $1`, [publication.eventId])).rows[0]!;
      if (job.invoices !== points || job.issued !== points) throw new Error(`job of ${day}: ${job.invoices} invoices, ${job.issued} notes, expected ${points} of each`);
      const checked = await checkNotes(deps, pool, store, publication.eventId, points);
      log(
        `  ${points.toLocaleString('en-US')} invoices, spot prices of ${day} republished (${round === 0 ? 'first note of each invoice' : 'each invoice corrected once before'}): job ${seconds.toFixed(2)} s = ` +
          `${((seconds / job.issued) * 1000).toFixed(2)} s per 1,000 notes; recomputation alone ${baseline.seconds.toFixed(2)} s = ${((baseline.seconds / points) * 1000).toFixed(2)} s per 1,000 invoices; ` +
          `job / recomputation ${(seconds / baseline.seconds).toFixed(2)}×; ${checked} notes checked; load average ${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`,
      );
      figures.push({ day, seconds, notes: job.issued, baselineSeconds: baseline.seconds });
    }
    return figures;
  } finally {
    await pool.end().catch(() => undefined);
  }
}

export async function runCorrectionsBench(cleanup: Cleanup): Promise<BenchResult[]> {
  log(`  load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (1 / 5 / 15 min) at the start`);
  log(`  October 2026, PT1H (745 values per point), one supply per point in DK2; jobs of ${PAGE} invoices per transaction, in this process`);
  const results: BenchResult[] = [];
  for (const points of SIZES) {
    for (const f of await runSize(points, cleanup)) {
      // ms per note = s per 1,000 notes.
      results.push(result(`correction job, ${points} invoices, ${f.day} (ms per note)`, (f.seconds / f.notes) * 1000, (f.baselineSeconds / points) * 1000, 'ms', false, 'recomputation alone, same invoices'));
    }
  }
  return results;
}
