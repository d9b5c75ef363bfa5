import { Pool } from 'pg';
import { createKurrentDbEventStore, createPostgresEventStore, type EventStore } from '@dh/event-store';
import { AmqpConnection, listSkippedByCutoff, replaySkippedByCutoff, silentMessagingLogger } from '@dh/messaging';
import { loadConfig } from '@dh/platform';

export interface CliOutput {
  line(text: string): void;
}

const USAGE = 'usage: catch-up-skips list [<queue>]\n       catch-up-skips replay <queue> --by <who> [--pattern <pattern> …]';

const iso = (d: Date | null) => (d ? d.toISOString() : '-');

/**
 * What catch-ups left out by their cut-off (`list`), and the deliberate replay of it into a consumer's queue
 * (`replay`): see `libs/messaging/README.md`, "Cut-off for the consumers that act outside".
 */
export async function runCatchUpSkipsCli(argv: string[], env: NodeJS.ProcessEnv, out: CliOutput): Promise<void> {
  const [command, ...rest] = argv;
  if (command !== 'list' && command !== 'replay') throw new Error(USAGE);
  const config = loadConfig('catch-up-skips', 0, env);
  const pool = new Pool({ connectionString: config.databaseUrl, application_name: 'catch-up-skips' });
  try {
    if (command === 'list') {
      const rows = await listSkippedByCutoff(pool, rest[0]);
      if (rows.length === 0) out.line('no catch-up with a cut-off recorded');
      for (const r of rows) {
        const replay = r.replayedAt ? `, replayed ${r.replayed} at ${iso(r.replayedAt)} by ${r.replayedBy}` : r.skipped > 0 ? ', not replayed' : '';
        out.line(`${r.queue} ${r.pattern}: cut-off ${iso(r.cutoff)}, ${r.skipped} skipped (recorded ${iso(r.oldest)} .. ${iso(r.newest)})${replay}`);
      }
      return;
    }
    const queue = rest[0];
    const byIndex = rest.indexOf('--by');
    const by = byIndex >= 0 ? rest[byIndex + 1] : undefined;
    if (!queue || queue.startsWith('--') || !by || by.startsWith('--')) throw new Error(`replay needs a queue and --by <who>\n${USAGE}`);
    const patterns = rest.flatMap((arg, i) => (rest[i - 1] === '--pattern' ? [arg] : []));
    let store: EventStore | null = null;
    const connection = new AmqpConnection({ url: config.amqpUrl, connectionName: 'catch-up-skips', initialMaxAttempts: 3, logger: silentMessagingLogger });
    try {
      store =
        config.eventStore.kind === 'postgres'
          ? await createPostgresEventStore({ pool, schema: config.eventStore.schema })
          : await createKurrentDbEventStore({ connectionString: config.eventStore.connectionString });
      await connection.connect();
      const replayed = await replaySkippedByCutoff({ pool, eventStore: store, connection, queue, by, exchange: config.exchange, ...(patterns.length > 0 ? { patterns } : {}) });
      out.line(`put ${replayed} skipped events into ${queue}; its consumer applies each once`);
    } finally {
      await connection.close();
      await store?.close();
    }
  } finally {
    await pool.end();
  }
}
