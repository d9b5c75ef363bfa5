import { Pool } from 'pg';
import { createPostgresEventStore } from '@dh/event-store';
import { allProjections, rebuildProjections, retiredTablesDropped } from '@dh/read-models';
import { backendCpu, backendCpuUsed } from './process-cpu';
import { rawRead } from './raw-read';

/**
 * The rebuild benchmark's cold round (forked by rebuild.bench.ts): one raw read, or one rebuild of all projections, in
 * a process that has run neither before, as a `rebuild-projection` CLI or a projections service rebuilding at start
 * runs it (V8 compiles the code on the way). Both sides of the round are measured the same way: the pool's connections
 * opened first (not timed, `poolMax` of them, as many as the benchmark's own pool may hold), then the operation timed.
 * Sends the result to the parent and exits.
 */

export interface ColdRoundInput {
  kind: 'read' | 'rebuild';
  databaseUrl: string;
  poolMax: number;
  pageSize: number;
  pageConnections: 1 | null;
}

export type ColdRoundResult =
  | { kind: 'done'; ms: number; cpuMs: number; backendMs: number | null; events: number }
  | { kind: 'failed'; message: string };

async function run(input: ColdRoundInput): Promise<ColdRoundResult> {
  const pool = new Pool({ connectionString: input.databaseUrl, max: input.poolMax });
  pool.on('error', () => undefined);
  const store = await createPostgresEventStore({ pool });
  try {
    const clients = await Promise.all(Array.from({ length: input.poolMax }, () => pool.connect()));
    await Promise.all(clients.map((client) => client.query('SELECT 1')));
    for (const client of clients) client.release();
    const backendsBefore = await backendCpu(pool);
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    let events = 0;
    if (input.kind === 'read') {
      events = await rawRead(store, input.pageSize);
    } else {
      const options = { batchSize: input.pageSize, ifRunning: 'refuse' as const, ...(input.pageConnections === 1 ? { pageConnections: 1 as const } : {}) };
      const results = await rebuildProjections(pool, store, allProjections, options);
      events = Math.min(...results.map((r) => r.appliedEvents));
      if (results.some((r) => r.appliedEvents !== events)) throw new Error(`projections rebuilt from ${results.map((r) => r.appliedEvents).join('/')} events`);
    }
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const used = process.cpuUsage(cpuStart);
    // As in the benchmark's warm rounds: the background drop of the retired tables, not timed, before the backends' CPU is read.
    if (input.kind === 'rebuild') await retiredTablesDropped(pool);
    return { kind: 'done', ms, cpuMs: (used.user + used.system) / 1000, backendMs: backendCpuUsed(backendsBefore, await backendCpu(pool)), events };
  } finally {
    await store.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}

process.once('message', (input: ColdRoundInput) => {
  run(input).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (error: unknown) => process.send?.({ kind: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies ColdRoundResult, () => process.exit(1)),
  );
});
