import { loadavg } from 'node:os';
import { Pool } from 'pg';
import { formatScaled, toScaled } from '@dh/money';
import { createDatabase } from '@dh/provisioning';
import { reconcile, type ReconciliationOutcome } from '@dh/reconciliation-application';
import { PostgresReconciliationInputs, migrateReconciliation } from '@dh/reconciliation-infra';
import { migrateSettlement } from '@dh/settlement-infra';
import { uniqueName, type Cleanup } from './infra';
import { fmt, log, median, msSince, now, result, type BenchResult } from './measure';

/**
 * Wholesale reconciliation of a month at scale (issue 12): N consumption metering points in one grid area, all
 * PT15M for October 2026 (2,980 quarters each, the month with the 25-hour day), each linked to an hourly grid
 * tariff (24-hour price pattern), an hourly tax tariff and a monthly subscription. Timed: `reconcile` as a run
 * does it (our metering points and links, metered data read in batches of `BATCH` points from settlement's store,
 * every value through DataHub's rules, then compared with DataHub's RSM-019 slot by slot). Baseline: ONE
 * PostgreSQL query over the same rows: the quarter-hour values summed per hour (`GROUP BY`) and priced for both
 * tariffs, rounded to 6 decimals. DataHub's result that our side is compared with is built from that query's
 * answer (and N × the daily subscription price), so the run checks two implementations against each other: any
 * slot, month sum or residual that differs fails the benchmark.
 */

/** `BENCH_RECONCILIATION_POINTS=250,1000` (default): metering points per size; each size gets its own database. */
const SIZES = (process.env.BENCH_RECONCILIATION_POINTS ?? '250,1000')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isSafeInteger(n) && n > 0);
const BATCH = Number(process.env.BENCH_RECONCILIATION_BATCH ?? 250);
const ROUNDS = 3;

const GRID_AREA = '804';
const PERIOD = '2026-10';
const SUPPLIER = '5790000000005';
const GRID_OWNER = '5790000610099';
const TAX_OWNER = '5790000432752';
const MONTH_START = '2026-09-30T22:00:00.000Z';
const MONTH_END = '2026-10-31T23:00:00.000Z';
const DAYS = 31;
/** Local hours 0–23 → DKK/kWh (a night/day/peak pattern). */
const GRID_TARIFF = Array.from({ length: 24 }, (_, h) => (h < 6 ? '0.132700' : h >= 17 && h < 21 ? '0.718500' : '0.265400'));
const TAX_PRICE = '0.761000';
const SUBSCRIPTION_MONTHLY = '23.200000';

const CHARGES = [
  { id: `${GRID_OWNER}:D03:NT-T`, owner: GRID_OWNER, type: 'D03', code: 'NT-T', resolution: 'PT1H', tax: false, prices: GRID_TARIFF },
  { id: `${TAX_OWNER}:D03:EA-001`, owner: TAX_OWNER, type: 'D03', code: 'EA-001', resolution: 'PT1H', tax: true, prices: [TAX_PRICE] },
  { id: `${GRID_OWNER}:D01:NT-ABO`, owner: GRID_OWNER, type: 'D01', code: 'NT-ABO', resolution: 'P1M', tax: false, prices: [SUBSCRIPTION_MONTHLY] },
] as const;

const gsrnSql = `'571313180' || lpad(i::text, 9, '0')`;

/** Settlement's metered data store as it holds an RSM-012 month (one row per metering point and local day), written server-side. */
async function seedMeteredData(pool: Pool, points: number): Promise<void> {
  const chunk = 250;
  for (let first = 1; first <= points; first += chunk) {
    const last = Math.min(points, first + chunk - 1);
    await pool.query(
      `INSERT INTO settlement.metered_data (gsrn, day, version, document_id, received_at, resolution, start, points, event_id)
       SELECT ${gsrnSql}, to_char(d.day, 'YYYY-MM-DD'), 1, 'bench-' || i, now(), 'PT15M', d.s,
              (SELECT jsonb_agg(jsonb_build_object('position', q, 'quantityKwh', to_char(((i * 37 + d.n * 11 + q * 7) % 1000) / 1000.0, 'FM990.000'), 'quality', 'A04') ORDER BY q)
                 FROM generate_series(1, d.quarters) q),
              gen_random_uuid()
         FROM generate_series($1::int, $2::int) i
        CROSS JOIN (SELECT n::int, day, day AT TIME ZONE 'Europe/Copenhagen' AS s,
                           (extract(epoch FROM ((day + interval '1 day') AT TIME ZONE 'Europe/Copenhagen') - (day AT TIME ZONE 'Europe/Copenhagen')) / 900)::int AS quarters
                      FROM generate_series(timestamp '2026-10-01', timestamp '2026-10-31', interval '1 day') WITH ORDINALITY AS g(day, n)) d`,
      [first, last],
    );
  }
}

/** Reconciliation's copies: the metering points we supply, their DataHub charge links, and the charges' master data and price lists. */
async function seedCopies(pool: Pool, points: number): Promise<void> {
  await pool.query(`INSERT INTO reconciliation.metering_points (gsrn, type, settlement_method, grid_area) SELECT ${gsrnSql}, 'E17', 'E02', $2 FROM generate_series(1, $1::int) i`, [points, GRID_AREA]);
  await pool.query(`INSERT INTO reconciliation.supplies (gsrn, start_date, end_date, grid_area, reversed) SELECT ${gsrnSql}, '2026-01-01', NULL, $2, false FROM generate_series(1, $1::int) i`, [points, GRID_AREA]);
  for (const c of CHARGES) {
    await pool.query(
      `INSERT INTO reconciliation.datahub_charge_links (gsrn, charge_id, link_from, link_to, owner, charge_type, code, factor, stream_revision)
       SELECT ${gsrnSql}, $2, '2025-12-31T23:00:00Z', NULL, $3, $4, $5, '1', 0 FROM generate_series(1, $1::int) i`,
      [points, c.id, c.owner, c.type, c.code],
    );
    await pool.query(
      `INSERT INTO reconciliation.datahub_charge_information (charge_id, valid_from, valid_to, owner, charge_type, code, name, description, resolution, tax_indicator, vat_payer, transparent_invoicing, stream_revision)
       VALUES ($1, '2025-12-31T23:00:00Z', NULL, $2, $3, $4, $4, NULL, $5, $6, 'D02', false, 0)`,
      [c.id, c.owner, c.type, c.code, c.resolution, c.tax],
    );
    await pool.query(
      `INSERT INTO reconciliation.datahub_charge_price_series (charge_id, stream_revision, owner, charge_type, code, resolution, series_start, series_end, points) VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8)`,
      [c.id, c.owner, c.type, c.code, c.resolution, MONTH_START, MONTH_END, JSON.stringify(c.prices.map((price, k) => ({ position: k + 1, price })))],
    );
  }
}

/** The baseline: every quarter-hour value of the month summed per hour in one GROUP BY, priced for both hourly tariffs. */
const BASELINE_SQL = `
  WITH per_hour AS (
    SELECT date_trunc('hour', d.start + (p.position - 1) * interval '15 minutes') AS hour, sum(p."quantityKwh") AS kwh
      FROM settlement.metered_data d CROSS JOIN LATERAL jsonb_to_recordset(d.points) AS p(position int, "quantityKwh" numeric)
     WHERE d.day >= '2026-10-01' AND d.day < '2026-11-01'
     GROUP BY 1)
  SELECT h.hour, h.kwh::text AS kwh, t.price::text AS price, round(h.kwh * t.price, 6)::text AS amount, round(h.kwh * $1::numeric, 6)::text AS tax_amount
    FROM per_hour h JOIN unnest($2::numeric[]) WITH ORDINALITY AS t(price, local_hour) ON t.local_hour = extract(hour FROM h.hour AT TIME ZONE 'Europe/Copenhagen') + 1
   ORDER BY h.hour`;

interface BaselineRow {
  hour: Date;
  kwh: string;
  price: string;
  amount: string;
  tax_amount: string;
}

/** DataHub's RSM-019 for the month as reconciliation stores it (WholesaleServicesReceived series), from the baseline's answer. */
async function storeDataHubResult(pool: Pool, rows: readonly BaselineRow[], points: number): Promise<void> {
  const series: Record<string, unknown>[] = [];
  const sum = (amounts: readonly string[]) => formatScaled(amounts.reduce((s, a) => s + toScaled(a, 6), 0n), 6);
  const hourly = (c: (typeof CHARGES)[number], price: (r: BaselineRow) => string, amount: (r: BaselineRow) => string) => {
    series.push({
      chargeOwnerGln: c.owner, chargeType: c.type, chargeCode: c.code, meteringPointType: 'E17', settlementMethod: 'E02', resolution: 'PT1H', start: MONTH_START,
      points: rows.map((r, k) => ({ position: k + 1, quantity: r.kwh, price: price(r), amount: amount(r) })),
    });
    series.push({ chargeOwnerGln: c.owner, chargeType: c.type, chargeCode: c.code, resolution: 'P1M', start: MONTH_START, points: [{ position: 1, amount: sum(rows.map(amount)) }] });
  };
  hourly(CHARGES[0], (r) => r.price, (r) => r.amount);
  hourly(CHARGES[1], () => TAX_PRICE, (r) => r.tax_amount);
  // A subscription: N pieces a day at the monthly price ÷ 31 days, rounded to 6 decimals half up (DataHub's rule).
  const monthly = toScaled(SUBSCRIPTION_MONTHLY, 6);
  const daily = (monthly * 2n + BigInt(DAYS)) / (2n * BigInt(DAYS));
  const dayAmount = formatScaled(daily * BigInt(points), 6);
  const sub = CHARGES[2];
  series.push({
    chargeOwnerGln: sub.owner, chargeType: sub.type, chargeCode: sub.code, meteringPointType: 'E17', settlementMethod: 'E02', resolution: 'P1D', start: MONTH_START,
    points: Array.from({ length: DAYS }, (_, k) => ({ position: k + 1, quantity: String(points), price: formatScaled(daily, 6), amount: dayAmount })),
  });
  series.push({ chargeOwnerGln: sub.owner, chargeType: sub.type, chargeCode: sub.code, resolution: 'P1M', start: MONTH_START, points: [{ position: 1, amount: sum(Array.from({ length: DAYS }, () => dayAmount)) }] });
  for (const [k, s] of series.entries()) {
    const data = { ...s, gridArea: GRID_AREA, energySupplierGln: SUPPLIER, processType: 'D05', calculationVersion: '1', documentId: 'bench-rsm019', seriesId: String(k + 1) };
    await pool.query(
      `INSERT INTO reconciliation.datahub_results (series_key, kind, grid_area, period, business_reason, settlement_version, calculation_version, original_transaction_id, received_at, data)
       VALUES ($1, 'wholesale', $2, $3, 'D05', NULL, 1, NULL, now(), $4)`,
      [`bench-rsm019:${k + 1}`, GRID_AREA, PERIOD, JSON.stringify(data)],
    );
  }
}

function differencesOf(o: ReconciliationOutcome): string[] {
  const w = o.wholesale;
  if (w === null) return ['no DataHub wholesale result read'];
  const out: string[] = [];
  if (w.differences.length > 0) out.push(`${w.differences.length} differing slots, first ${JSON.stringify(w.differences[0], (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
  if (w.residuals.length > 0) out.push(`${w.residuals.length} quantity residuals`);
  for (const c of w.charges) if (c.datahubAmount !== c.ourAmount) out.push(`${c.chargeId}: DataHub ${formatScaled(c.datahubAmount, 6)}, ours ${formatScaled(c.ourAmount, 6)}`);
  if (w.charges.length !== CHARGES.length) out.push(`${w.charges.length} charges compared, expected ${CHARGES.length}`);
  if (o.meteringPoints === 0) out.push('no metering points');
  return out;
}

async function runSize(points: number, cleanup: Cleanup | undefined): Promise<BenchResult> {
  const values = points * 2980;
  log(`  N = ${points.toLocaleString('en-US')} metering points × 2,980 quarters = ${values.toLocaleString('en-US')} values; load average ${loadavg()[0]!.toFixed(1)}`);
  const db = await createDatabase(uniqueName(`reconciliation`));
  cleanup?.add(`drop database ${db.name}`, () => db.drop());
  const pool = new Pool({ connectionString: db.url, max: 4 });
  try {
    const seedStart = now();
    await migrateSettlement(pool);
    await migrateReconciliation(pool);
    await seedMeteredData(pool, points);
    await seedCopies(pool, points);
    await pool.query('VACUUM ANALYZE settlement.metered_data');
    const size = (await pool.query<{ size: string }>(`SELECT pg_size_pretty(pg_total_relation_size('settlement.metered_data')) AS size`)).rows[0]!.size;
    log(`  seeded ${(points * DAYS).toLocaleString('en-US')} metered-data rows (${size}) and ${(points * CHARGES.length).toLocaleString('en-US')} charge links in ${(msSince(seedStart) / 1000).toFixed(1)} s (not timed)`);

    const sqlRuns: number[] = [];
    let baseline: BaselineRow[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const start = now();
      const r = await pool.query<BaselineRow>(BASELINE_SQL, [TAX_PRICE, GRID_TARIFF]);
      const ms = msSince(start);
      sqlRuns.push(ms);
      baseline = r.rows;
      if (baseline.length !== 745) throw new Error(`the baseline returned ${baseline.length} hours, expected 745`);
    }
    log(`  one SQL GROUP BY: ${sqlRuns.map((ms) => `${(ms / 1000).toFixed(2)} s`).join(' / ')}`);
    await storeDataHubResult(pool, baseline, points);

    const inputs = new PostgresReconciliationInputs(pool);
    const ours: number[] = [];
    let peakRss = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const rssBefore = process.memoryUsage().rss;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss - rssBefore)), 20);
      const start = now();
      const outcome = await reconcile(inputs, { gridArea: GRID_AREA, period: PERIOD, supplierGln: SUPPLIER, quarterlyTransition: Date.parse('2023-05-21T22:00:00Z'), runId: `bench-${round}`, batchSize: BATCH });
      const ms = msSince(start);
      clearInterval(sampler);
      ours.push(ms);
      const differences = differencesOf(outcome);
      if (differences.length > 0) throw new Error(`reconciliation of ${points} points differs from the SQL baseline: ${differences.join('; ')}`);
      if (outcome.meteringPoints !== points) throw new Error(`reconciled ${outcome.meteringPoints} metering points, expected ${points}`);
    }
    const ourMs = median(ours);
    const sqlMs = median(sqlRuns);
    log(`  reconcile (batches of ${BATCH}): ${ours.map((ms) => `${(ms / 1000).toFixed(2)} s`).join(' / ')}; RSS growth during a run at most ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
    log(`  reconcile / SQL = ${(sqlMs / ourMs).toPrecision(3)}× the throughput; zero differences on every slot, month sum and residual; load average ${loadavg()[0]!.toFixed(1)}`);
    return result(`reconciliation of a month, ${points.toLocaleString('en-US')} points × 2,980 PT15M`, (values / ourMs) * 1000, (values / sqlMs) * 1000, 'values/s', true, 'one SQL GROUP BY (hour sums, priced)');
  } finally {
    await pool.end().catch(() => undefined);
    await db.drop();
  }
}

export async function runReconciliationBench(cleanup?: Cleanup): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const points of SIZES) out.push(await runSize(points, cleanup));
  const [a, b] = [out[0], out[out.length - 1]];
  if (a && b && a !== b) log(`  throughput at N = ${SIZES[SIZES.length - 1]} / at N = ${SIZES[0]}: ${(b.result / a.result).toFixed(2)}× (1.00× = linear in N)`);
  log(`  figures: ${out.map((r) => `${fmt(r.result, r.unit)} vs ${fmt(r.baseline, r.unit)}`).join('; ')}`);
  return out;
}
