/** Timing and reporting helpers shared by the benchmarks. */

export function now(): bigint {
  return process.hrtime.bigint();
}

export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of already sorted values. */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarizeLatencies(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  return { count: sorted.length, p50: percentileSorted(sorted, 50), p99: percentileSorted(sorted, 99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

/**
 * Where the slowest events' time went: each stage's mean over the events whose lag is at or above `threshold`
 * (e.g. the p99), ms. A stage missing for an event (`undefined`) is left out of that stage's mean.
 */
export function tailStages(events: readonly { lag: number; stages: readonly (number | undefined)[] }[], names: readonly string[], threshold: number): { name: string; meanMs: number }[] {
  const sums = names.map(() => ({ sum: 0, count: 0 }));
  for (const event of events) {
    if (event.lag < threshold) continue;
    event.stages.forEach((value, i) => {
      if (value === undefined) return;
      sums[i].sum += value;
      sums[i].count++;
    });
  }
  return names.map((name, i) => ({ name, meanMs: sums[i].count > 0 ? sums[i].sum / sums[i].count : Number.NaN }));
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when `done()` is true, polling every `everyMs`; rejects after `timeoutMs` with `what`. */
export async function waitUntil(done: () => boolean, timeoutMs: number, what: () => string, everyMs = 2): Promise<void> {
  const start = now();
  while (!done()) {
    if (msSince(start) > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await delay(everyMs);
  }
}

/** One line of the final summary. `higherIsBetter` tells how to read the ratio (throughput vs latency). */
export interface BenchResult {
  name: string;
  result: number;
  baseline: number;
  unit: string;
  /** result / baseline */
  ratio: number;
  higherIsBetter: boolean;
  /** What the baseline is, one short phrase. */
  baselineLabel: string;
}

export function result(name: string, value: number, baseline: number, unit: string, higherIsBetter: boolean, baselineLabel: string): BenchResult {
  return { name, result: value, baseline, unit, ratio: value / baseline, higherIsBetter, baselineLabel };
}

export function fmt(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  const digits = unit === 'ms' ? (value < 10 ? 2 : 1) : 0;
  return `${value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${unit}`;
}

export function fmtRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return 'n/a';
  return ratio >= 10 ? `${ratio.toFixed(1)}×` : `${ratio.toFixed(2)}×`;
}

export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, rightAligned: ReadonlySet<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (rightAligned.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), sep, ...rows.map(line)].join('\n');
}

/** Progress and per-run figures, so a long run shows it is alive. */
export function log(message: string): void {
  process.stdout.write(`${message}\n`);
}
