import { Pool } from 'pg';
import { createKurrentDbEventStore, createPostgresEventStore, type EventStore } from '@dh/event-store';
import { loadConfig } from '@dh/platform';
import { allProjections, projectionChecksum, rebuildProjections, REBUILD_PAGE_SIZE, retiredTablesDropped, shadowTableOf, type Projection } from '@dh/read-models';

export interface CliOutput {
  line(text: string): void;
}

const USAGE = 'usage: rebuild-projection <name>|--all [--batch-size N] [--unlogged]   (projections: ' + allProjections.map((p) => p.name).join(', ') + ')';

function parseArgs(argv: string[]): { projections: Projection[]; batchSize: number; unlogged: boolean } {
  const batchIndex = argv.indexOf('--batch-size');
  const batchSize = batchIndex >= 0 ? Number(argv[batchIndex + 1]) : REBUILD_PAGE_SIZE;
  const unlogged = argv.includes('--unlogged');
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`--batch-size must be a positive integer\n${USAGE}`);
  const names = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--batch-size');
  if (argv.includes('--all')) return { projections: allProjections, batchSize, unlogged };
  if (names.length === 0) throw new Error(USAGE);
  const projections = names.map((name) => {
    const projection = allProjections.find((p) => p.name === name);
    if (!projection) throw new Error(`unknown projection "${name}"\n${USAGE}`);
    return projection;
  });
  return { projections, batchSize, unlogged };
}

/**
 * Rebuilds the named read models from the event store (never from RabbitMQ) into shadow tables and swaps them in
 * atomically, printing progress. The live tables keep serving and the live projections service keeps running.
 */
export async function runRebuildCli(argv: string[], env: NodeJS.ProcessEnv, out: CliOutput): Promise<void> {
  const { projections, batchSize, unlogged } = parseArgs(argv);
  const config = loadConfig('rebuild-projection', 0, env);
  const pool = new Pool({ connectionString: config.databaseUrl, application_name: 'rebuild-projection' });
  let store: EventStore | null = null;
  try {
    store =
      config.eventStore.kind === 'postgres'
        ? await createPostgresEventStore({ pool, schema: config.eventStore.schema })
        : await createKurrentDbEventStore({ connectionString: config.eventStore.connectionString });
    // One pass over the log for every projection named (each batch applied to all of them).
    const started = Date.now();
    for (const projection of projections) out.line(`rebuilding ${projection.name} into ${projection.tables.map((t) => shadowTableOf(t.name).shadow).join(', ')}`);
    const results = await rebuildProjections(pool, store, projections, {
      batchSize,
      unlogged,
      ifRunning: 'refuse',
      onRetireError: (error, tables) => out.line(`retired tables ${tables.join(', ')} not dropped (the next rebuild drops them): ${error.message}`),
      onAnalyzeError: (error, tables) => out.line(`tables ${tables.join(', ')} not analysed after the swap (left to autovacuum): ${error.message}`),
      onProgress: (p) => {
        if (p.done) return;
        const seconds = Math.max((Date.now() - started) / 1000, 0.001);
        out.line(`  ${p.projection}: ${p.appliedEvents} events replayed (${Math.round(p.appliedEvents / seconds)}/s), at ${p.checkpoint}`);
      },
    });
    for (const [index, projection] of projections.entries()) {
      const client = await pool.connect();
      let checksum: string;
      try {
        checksum = await projectionChecksum(projection, client);
      } finally {
        client.release();
      }
      out.line(`rebuilt ${projection.name} and swapped it in: ${results[index].appliedEvents} events in ${((Date.now() - started) / 1000).toFixed(1)} s; checksum ${checksum}`);
    }
    // The new tables are analysed and the replaced ones dropped after the swap, in the background; the command ends once that is done.
    await retiredTablesDropped(pool);
  } finally {
    await store?.close();
    await pool.end();
  }
}
