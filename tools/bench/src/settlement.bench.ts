import { loadavg } from 'node:os';
import { Client } from 'pg';
import { formatDkk } from '@dh/money';
import { createDatabase } from '@dh/provisioning';
import { INTERVAL_MEASURED, resolvePeriodPrices, settleMeteringPoint, settleMeteringPointOnPrices, settleReference, type Invoice, type MeteringPointOnPrices, type PeriodPrices, type SettlementResult } from '@dh/settlement-domain';
import { uniqueName, type Cleanup } from './infra';
import { fmt, log, median, msSince, now, result, type BenchResult } from './measure';
import { AS_OF, GRID_AREA, LINE_KEYS, SUBSCRIPTIONS, TARIFFS, createSettlementData, settlementInputOf, type SettlementBenchData } from './settlement-data';
import { loadSettlementTables, runSettlementSql } from './settlement-sql';

/**
 * Settlement kernel throughput (issues 4 and 8): N metering points × October 2026 in PT15M (2,980
 * values each) settled by the kernel as a run uses it: prices resolved ONCE for the period
 * (`resolvePeriodPrices`, timed on its own) and every point's quantities as integer Wh in an
 * Int32Array (`settleMeteringPointOnPrices`; exact: double blocks with a checked bound below 2^53,
 * flushed into BigInt; one rounding per line). Values/s beside two baselines on the same data:
 * (1) a Float64Array multiply-add loop of quantity × (spot + margin + tariffs + tax): the practical
 *     limit of the machine for this arithmetic, in floats (not exact);
 * (2) the same settlement as ONE SQL query in PostgreSQL over tables holding the same quantities and
 *     prices (only the query is timed).
 * The kernel and baseline 1 process the same points and values and are measured alike: rounds over all
 * points that alternate kernel and float loop (2 warm-up rounds each, then the median of 9); the
 * kernel's cold first pass is reported too. Timed for the kernel is what a run does per point
 * (`settleMeteringPointOnPrices`: validation, the day loop, every line formed and rounded, VAT,
 * totals); not timed: building the points' Int32Array inputs (a run's loader) and the once-per-run
 * price resolution (reported on its own and per point amortized over the N points).
 * Also the single-point API with RSM-012 decimal strings (`settleMeteringPoint`, prices resolved per
 * call) for comparison. Checks, each a failure when not zero: the kernel equals `settleReference`
 * (big.js) on every invoice of a subset, and the SQL line amounts equal the kernel's on every point and line.
 */

/** 800 points = 2.4 M values: ≈ 30 s for the whole benchmark on 2 idle cores, ≈ 60 s when they are shared. */
const POINTS = Number(process.env.BENCH_SETTLEMENT_POINTS ?? 800);
const REFERENCE_POINTS = Math.min(POINTS, Number(process.env.BENCH_SETTLEMENT_REFERENCE_POINTS ?? 50));
const FLOAT_WARMUP = 2;
const FLOAT_ROUNDS = 9;
const SQL_ROUNDS = 3;

function settledInvoice(r: SettlementResult, gsrn: string): Invoice {
  if (r.outcome !== 'settled') throw new Error(`${gsrn} halted: ${JSON.stringify(r)}`);
  return r.invoice;
}

/**
 * The points as a run's worker holds them after loading: integer Wh per quarter-hour on the period's
 * grid, each point with its own state array, and the largest value the loader saw while decoding
 * (built before the clock starts, as a run's loader does it before the kernel).
 */
function pointOf(data: SettlementBenchData, prices: PeriodPrices, p: number): MeteringPointOnPrices {
  const n = data.quarters.length;
  const gsrn = data.gsrns[p]!;
  const wh = data.wh.subarray(p * n, (p + 1) * n);
  const state = new Uint8Array(n).fill(INTERVAL_MEASURED);
  return {
    meteringPoint: { gsrn, gridArea: GRID_AREA, priceArea: 'DK2', electricHeating: false },
    supplyPeriods: [{ start: '2026-01-01', endExclusive: null }],
    consumption: { gsrn, resolution: 'PT15M', startMs: prices.startMs, wh, state, maxWh: wh.reduce((a, b) => (a > b ? a : b), 0) },
    yearToDateMilliKwh: 0n,
  };
}

interface KernelAndFloat {
  /** Kernel values/s per timed round (each round settles every point `reps` times). */
  readonly kernelRuns: number[];
  /** Float64Array values/s per timed round, measured right after the kernel's round of the same index. */
  readonly floatRuns: number[];
  /** The same rounds in CPU time of this process (user + system), less disturbed by other processes on a loaded machine. */
  readonly kernelCpuRuns: number[];
  readonly floatCpuRuns: number[];
  /** The kernel's first pass over all points, cold (JIT warm-up included), values/s. */
  readonly coldValuesPerSecond: number;
  readonly pricesMs: number;
  /** Line amounts (øre) per point, in LINE_KEYS order, from the last timed pass. */
  readonly ore: BigInt64Array;
}

/**
 * The kernel and the Float64Array limit on the same points and values, measured alike: one cold
 * pass of the kernel (reported, not used), then rounds that alternate kernel and float (the first
 * FLOAT_WARMUP of each not counted), each round repeating its pass over all points so it lasts
 * ≈ 0.1 s. Timed for the kernel: `settleMeteringPointOnPrices` per point (validation, the day loop,
 * forming and rounding every line, VAT, totals) into an array of results; prices are resolved once
 * before (timed on their own, as a run resolves them once per set of charges).
 */
function runKernelAndFloat(data: SettlementBenchData): KernelAndFloat {
  const n = data.quarters.length;
  const keys = LINE_KEYS.length;
  const pricesStart = now();
  const prices = resolvePeriodPrices(data.prices, GRID_AREA, data.product, { kind: 'month', year: 2026, month: 10 }, AS_OF);
  const pricesMs = msSince(pricesStart);
  const points = Array.from({ length: data.points }, (_, p) => pointOf(data, prices, p));
  const results: SettlementResult[] = new Array<SettlementResult>(data.points);

  let start = now();
  for (let p = 0; p < data.points; p++) results[p] = settleMeteringPointOnPrices(prices, points[p]!);
  const coldValuesPerSecond = ((data.points * n) / msSince(start)) * 1000;

  // Baseline 1: Σ q × (spot + margin + grid + system + transmission + tax) per point, in floats.
  const q = Float64Array.from(data.wh, (w) => w / 1000);
  const fixed = Number(TARIFFS.margin) + Number(TARIFFS.system) + Number(TARIFFS.transmission) + Number(TARIFFS.tax);
  const price = Float64Array.from(data.spotNano, (s, i) => Number(s) / 1e9 + fixed + Number(TARIFFS.grid[data.tariffHour[i]!]!));
  const totals = new Float64Array(data.points);
  // Each round repeats the pass so that it lasts ≈ 0.1 s, long enough not to be one scheduler slice.
  const floatReps = Math.max(1, Math.ceil(20_000_000 / (data.points * n)));
  const kernelReps = Math.max(1, Math.ceil(5_000_000 / (data.points * n)));
  const kernelRuns: number[] = [];
  const floatRuns: number[] = [];
  const kernelCpuRuns: number[] = [];
  const floatCpuRuns: number[] = [];
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let sink = 0;
  for (let round = 0; round < FLOAT_WARMUP + FLOAT_ROUNDS; round++) {
    let cpu = cpuMs();
    start = now();
    for (let r = 0; r < kernelReps; r++) for (let p = 0; p < data.points; p++) results[p] = settleMeteringPointOnPrices(prices, points[p]!);
    const kernelMs = msSince(start);
    const kernelCpu = cpuMs() - cpu;
    cpu = cpuMs();
    start = now();
    for (let r = 0; r < floatReps; r++) {
      for (let p = 0; p < data.points; p++) {
        const base = p * n;
        let sum = 0;
        for (let i = 0; i < n; i++) sum += q[base + i]! * price[i]!;
        totals[p] = sum;
      }
      for (let p = 0; p < data.points; p++) sink += totals[p]!;
    }
    const floatMs = msSince(start);
    const floatCpu = cpuMs() - cpu;
    if (round >= FLOAT_WARMUP) {
      kernelCpuRuns.push(((kernelReps * data.points * n) / kernelCpu) * 1000);
      floatCpuRuns.push(((floatReps * data.points * n) / floatCpu) * 1000);
      kernelRuns.push(((kernelReps * data.points * n) / kernelMs) * 1000);
      floatRuns.push(((floatReps * data.points * n) / floatMs) * 1000);
    }
  }
  if (!Number.isFinite(sink)) throw new Error('Float64Array baseline produced a non-finite sum');

  const ore = new BigInt64Array(data.points * keys);
  results.forEach((r, p) => {
    const invoice = settledInvoice(r, data.gsrns[p]!);
    if (invoice.lines.length !== keys) throw new Error(`${data.gsrns[p]!}: ${invoice.lines.length} lines, expected ${keys}`);
    invoice.lines.forEach((line, j) => {
      if (line.key !== LINE_KEYS[j]) throw new Error(`${data.gsrns[p]!}: line ${j} is ${line.key}, expected ${LINE_KEYS[j]}`);
      ore[p * keys + j] = line.amountExclVat.ore;
    });
  });
  return { kernelRuns, floatRuns, kernelCpuRuns, floatCpuRuns, coldValuesPerSecond, pricesMs, ore };
}

/** The single-point API on decimal strings (prices resolved per call), on the first points. */
function runStringApi(data: SettlementBenchData, points: number): number {
  for (let p = 0; p < Math.min(5, points); p++) settleMeteringPoint(settlementInputOf(data, p));
  let ms = 0;
  for (let p = 0; p < points; p++) {
    const input = settlementInputOf(data, p);
    const start = now();
    settledInvoice(settleMeteringPoint(input), data.gsrns[p]!);
    ms += msSince(start);
  }
  return ((points * data.quarters.length) / ms) * 1000;
}

/** settleReference (big.js) on the first points; every invoice compared in full with the fast path's. */
function checkReference(data: SettlementBenchData, points: number): { mismatches: number; valuesPerSecond: number; fastValuesPerSecond: number } {
  let mismatches = 0;
  let refMs = 0;
  let fastMs = 0;
  const prices = resolvePeriodPrices(data.prices, GRID_AREA, data.product, { kind: 'month', year: 2026, month: 10 }, AS_OF);
  for (let p = 0; p < points; p++) {
    const input = settlementInputOf(data, p);
    let start = now();
    const reference = settledInvoice(settleReference(input), data.gsrns[p]!);
    refMs += msSince(start);
    start = now();
    const fast = settledInvoice(settleMeteringPointOnPrices(prices, pointOf(data, prices, p)), data.gsrns[p]!);
    fastMs += msSince(start);
    const a = JSON.stringify(fast);
    const b = JSON.stringify(reference);
    if (a !== b) {
      mismatches++;
      if (mismatches <= 3) log(`  MISMATCH ${data.gsrns[p]!}:\n    fast      ${a}\n    reference ${b}`);
    }
  }
  const values = points * data.quarters.length;
  return { mismatches, valuesPerSecond: (values / refMs) * 1000, fastValuesPerSecond: (values / fastMs) * 1000 };
}

export async function runSettlementBench(cleanup?: Cleanup): Promise<BenchResult[]> {
  log(`  load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (1 / 5 / 15 min) at the start`);
  const setupStart = now();
  const data = createSettlementData(POINTS);
  const n = data.quarters.length;
  const values = POINTS * n;
  log(
    `  ${POINTS.toLocaleString('en-US')} metering points × ${n.toLocaleString('en-US')} quarter-hours (October 2026) = ${values.toLocaleString('en-US')} values; ` +
      `${LINE_KEYS.length} lines per invoice (data generated in ${(msSince(setupStart) / 1000).toFixed(1)} s)`,
  );

  const fast = runKernelAndFloat(data);
  const kernelRate = median(fast.kernelRuns);
  const floatRate = median(fast.floatRuns);
  const perRound = fast.kernelRuns.map((k, i) => k / fast.floatRuns[i]!);
  log(`  prices resolved once for the period (spot, tariffs by local hour, subscriptions): ${fast.pricesMs.toFixed(1)} ms (${((fast.pricesMs / POINTS) * 1000).toFixed(1)} µs per point if one run of ${POINTS} points shared them)`);
  log(`  kernel settleMeteringPointOnPrices, first pass over ${POINTS.toLocaleString('en-US')} points (cold, JIT warm-up included): ${fmt(fast.coldValuesPerSecond, 'values/s')}`);
  log(`  kernel, ${FLOAT_ROUNDS} rounds over all points: ${fast.kernelRuns.map((r) => fmt(r, 'values/s')).join(' / ')}`);
  log(`  median ${fmt(kernelRate, 'values/s')} = ${((data.quarters.length / kernelRate) * 1e6).toFixed(1)} µs per point (the figure used below)`);
  const stringApi = runStringApi(data, REFERENCE_POINTS);
  log(`  single-point API settleMeteringPoint (decimal strings, prices resolved per call), ${REFERENCE_POINTS} points: ${fmt(stringApi, 'values/s')}`);
  log(`  Float64Array multiply-add, each round right after the kernel's: ${fast.floatRuns.map((r) => fmt(r, 'values/s')).join(' / ')}`);
  log(
    `  kernel / Float64Array = ${(kernelRate / floatRate).toPrecision(3)}× (medians; the float loop is ${(floatRate / kernelRate).toFixed(1)}× faster); ` +
      `per round ${Math.min(...perRound).toFixed(3)}–${Math.max(...perRound).toFixed(3)}×`,
  );
  const kernelCpu = median(fast.kernelCpuRuns);
  const floatCpu = median(fast.floatCpuRuns);
  log(
    `  in CPU time of the process (same rounds): kernel ${fmt(kernelCpu, 'values/s')}, Float64Array ${fmt(floatCpu, 'values/s')}, ` +
      `kernel / Float64Array = ${(kernelCpu / floatCpu).toPrecision(3)}× (V8's GC and compiler threads count against the kernel here)`,
  );

  const reference = checkReference(data, REFERENCE_POINTS);
  log(
    `  settleReference (big.js) on ${REFERENCE_POINTS} points: ${fmt(reference.valuesPerSecond, 'values/s')} (fast path on the same points ${fmt(reference.fastValuesPerSecond, 'values/s')}); ` +
      `invoices differing from the kernel (any line, VAT, quantity, unit price or total): ${reference.mismatches} of ${REFERENCE_POINTS}`,
  );

  const db = await createDatabase(uniqueName('settlement'));
  cleanup?.add(`drop database ${db.name}`, () => db.drop());
  const client = new Client({ connectionString: db.url });
  const sqlRuns: number[] = [];
  let sqlMismatches = 0;
  let sqlPointsDiffering = 0;
  try {
    await client.connect();
    const loadStart = now();
    await loadSettlementTables(client, data);
    log(`  PostgreSQL: ${values.toLocaleString('en-US')} rows loaded into ${db.name} in ${(msSince(loadStart) / 1000).toFixed(1)} s (not timed)`);
    for (let round = 0; round <= SQL_ROUNDS; round++) {
      const start = now();
      const { rows, lines } = await runSettlementSql(client);
      const ms = msSince(start);
      if (round === 0) {
        // The first run (also a warm-up of the caches) is the one checked against the fast path.
        if (rows !== POINTS * LINE_KEYS.length) throw new Error(`SQL returned ${rows} lines, expected ${POINTS * LINE_KEYS.length}`);
        for (let p = 0; p < POINTS; p++) {
          const got = lines.get(p);
          let differs = false;
          LINE_KEYS.forEach((key, j) => {
            const expected = formatDkk(fast.ore[p * LINE_KEYS.length + j]!);
            const actual = got?.get(key);
            if (actual !== expected) {
              sqlMismatches++;
              differs = true;
              if (sqlMismatches <= 5) log(`  MISMATCH ${data.gsrns[p]!} ${key}: SQL ${String(actual)}, fast path ${expected}`);
            }
          });
          if (differs) sqlPointsDiffering++;
        }
        log(`  SQL warm-up run ${(ms / 1000).toFixed(2)} s; SQL line amounts differing from the fast path: ${sqlMismatches} of ${rows} lines (${sqlPointsDiffering} of ${POINTS} points)`);
      } else {
        sqlRuns.push((values / ms) * 1000);
        log(`  SQL round ${round}: ${(ms / 1000).toFixed(2)} s = ${fmt((values / ms) * 1000, 'values/s')}`);
      }
    }
  } finally {
    await client.end().catch(() => undefined);
    await db.drop();
  }
  const sqlRate = median(sqlRuns);
  log(`  kernel / SQL = ${(kernelRate / sqlRate).toPrecision(3)}×`);

  if (reference.mismatches > 0 || sqlMismatches > 0) {
    throw new Error(`settlement results differ: ${reference.mismatches} invoices vs settleReference, ${sqlMismatches} lines vs SQL`);
  }
  log(`  subscriptions per invoice: ${Object.keys(SUBSCRIPTIONS).join(', ')}; all checks passed`);
  return [
    result(`settlement kernel, ${POINTS} points × ${n} PT15M`, kernelRate, floatRate, 'values/s', true, 'Float64Array multiply-add (floats)'),
    result(`settlement kernel, ${POINTS} points × ${n} PT15M`, kernelRate, sqlRate, 'values/s', true, 'one SQL query (PostgreSQL numeric)'),
    result(`settleMeteringPoint (strings), ${REFERENCE_POINTS} points`, stringApi, reference.fastValuesPerSecond, 'values/s', true, 'kernel, same points'),
    result(`settleReference (big.js), ${REFERENCE_POINTS} points`, reference.valuesPerSecond, reference.fastValuesPerSecond, 'values/s', true, 'kernel, same points'),
  ];
}
