import { cpus, totalmem } from 'node:os';
import { Client } from 'pg';
import { runAppendBench } from './append.bench';
import { runBetalingsserviceBench } from './betalingsservice.bench';
import { runCimParseBench } from './cim-parse.bench';
import { runCorrectionsBench } from './corrections.bench';
import { Cleanup, createBenchDatabase, createBenchVhost, RABBITMQ_ADMIN_URL } from './infra';
import { runIngestBench } from './ingest.bench';
import { runLagBench } from './lag.bench';
import { fmt, fmtRatio, log, msSince, now, table, type BenchResult } from './measure';
import { PipelineHarness } from './pipeline-harness';
import { runPipelineBench } from './pipeline.bench';
import { runPortalBench } from './portal.bench';
import { runReconciliationBench } from './reconciliation.bench';
import { runRebuildBench } from './rebuild.bench';
import { runRunBench } from './run.bench';
import { runSettlementBench } from './settlement.bench';

/**
 * `npm run bench`: each benchmark beside a baseline measured in the same run, printed as a ratio.
 * Everything runs in a private database and vhost, dropped at the end; output goes to stdout only.
 */

async function postgresVersion(url: string): Promise<string> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? '?';
  } finally {
    await client.end();
  }
}

async function rabbitVersion(): Promise<string> {
  try {
    const base = new URL(RABBITMQ_ADMIN_URL);
    const auth = Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64');
    base.username = '';
    base.password = '';
    const res = await fetch(new URL('/api/overview', base), { headers: { authorization: `Basic ${auth}` } });
    const body: unknown = await res.json();
    if (typeof body === 'object' && body !== null && 'rabbitmq_version' in body && typeof body.rabbitmq_version === 'string') return body.rabbitmq_version;
  } catch {
    // reported as unknown
  }
  return '?';
}

/** `BENCH_ONLY=append,pipeline,lag,cim,settlement,portal,ingest,betalingsservice,reconciliation,run,rebuild,corrections` runs a subset (all by default). */
const only = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map((k) => k.trim())
  .filter(Boolean);
function selected(key: string): boolean {
  return only.length === 0 || only.includes(key);
}

function reading(r: BenchResult): string {
  return r.higherIsBetter ? `${fmtRatio(r.ratio)} of baseline` : `${fmtRatio(r.ratio)} baseline latency`;
}

async function main(): Promise<number> {
  const started = now();
  const cleanup = new Cleanup();
  const failures: string[] = [];
  const results: BenchResult[] = [];
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${signal}: cleaning up the benchmark database and vhost\n`);
    void cleanup.runAll().then((errors) => {
      for (const error of errors) process.stderr.write(`clean-up failed: ${error}\n`);
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const step = async (key: string, title: string, run: () => Promise<BenchResult[]>): Promise<void> => {
    if (!selected(key)) return;
    log(`\n## ${title}`);
    const start = now();
    try {
      results.push(...(await run()));
      log(`  (${(msSince(start) / 1000).toFixed(1)} s)`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.push(`${title}: ${message}`);
      process.stderr.write(`FAILED ${title}: ${error instanceof Error && error.stack ? error.stack : message}\n`);
      log(`  FAILED: ${message}`);
    }
  };

  try {
    const db = await createBenchDatabase('bench');
    cleanup.add(`drop database ${db.name}`, () => db.drop());
    const vhost = await createBenchVhost('bench');
    cleanup.add(`delete vhost ${vhost.name}`, () => vhost.drop());

    log('# dh-core benchmarks');
    log(
      `${new Date().toISOString()} · Node ${process.version} · ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}) · ` +
        `${(totalmem() / 2 ** 30).toFixed(0)} GiB · PostgreSQL ${await postgresVersion(db.url)} · RabbitMQ ${await rabbitVersion()}`,
    );
    log(`database ${db.name}, vhost ${vhost.name} (dropped at the end); figures are medians of the rounds shown`);

    await step('append', '1. Event-store append vs plain INSERT', () => runAppendBench(db.url));

    if (selected('pipeline') || selected('lag')) {
      try {
        const harness = await PipelineHarness.start(db.url, vhost.url);
        cleanup.add('stop pipeline', () => harness.close());
        await step('pipeline', '2. Relay → RabbitMQ → projection throughput vs raw amqplib', () => runPipelineBench(harness, vhost.url));
        await step('lag', '3. End-to-end lag at a fixed rate vs raw amqplib', () => runLagBench(harness, db.url, vhost.url));
        // Closed now rather than at clean-up: the CPU-bound parse benchmark would starve its heartbeats.
        await harness.close();
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        failures.push(`pipeline set-up: ${message}`);
        log(`  FAILED to start the relay/consumer pipeline: ${message}`);
      }
    }

    await step('cim', '4. RSM-012 parse vs JSON.parse', () => runCimParseBench());
    await step('settlement', '5. Settlement fast path vs Float64Array and one SQL query', () => runSettlementBench(cleanup));
    await step('portal', '6. Portal load (gateway process, autocannon) vs /health/live', () => runPortalBench(cleanup));
    await step('ingest', '7. Ingest end to end (DataHub simulator → settlement metered data) vs PostgreSQL COPY', () => runIngestBench(cleanup));
    await step('betalingsservice', '11. Betalingsservice 0601 write and 0602 parse vs readline', () => runBetalingsserviceBench());
    await step('reconciliation', '12. Wholesale reconciliation of a month vs one PostgreSQL GROUP BY', () => runReconciliationBench(cleanup));
    await step('run', '13. A whole settlement run through the services (≥ 2 worker processes) vs the kernel alone', () => runRunBench(cleanup));
    await step('rebuild', '14. Rebuild of all read models (shadow tables, swap) vs a raw read of the same events', () => runRebuildBench(cleanup));
    await step('corrections', '16. A correction job after a spot price change (a note per invoice) vs the recomputation alone', () => runCorrectionsBench(cleanup));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    failures.push(`set-up: ${message}`);
    log(`FAILED to set up (is PostgreSQL on 127.0.0.1:5432 and RabbitMQ with its management plugin running?): ${message}`);
  } finally {
    const errors = await cleanup.runAll();
    for (const error of errors) failures.push(`clean-up: ${error}`);
  }

  if (results.length > 0) {
    log('\n## Summary (ratio = result / baseline, same run)\n');
    log(
      table(
        ['benchmark', 'result', 'baseline', 'baseline is', 'ratio'],
        results.map((r) => [r.name, fmt(r.result, r.unit), fmt(r.baseline, r.unit), r.baselineLabel, reading(r)]),
        new Set([1, 2, 4]),
      ),
    );
  }
  log(`\ntotal ${(msSince(started) / 1000).toFixed(1)} s`);
  if (failures.length > 0) {
    log(`\n${failures.length} failure(s):`);
    for (const failure of failures) log(`  - ${failure}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
