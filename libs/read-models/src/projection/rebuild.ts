import type { Pool, PoolClient } from 'pg';
import type { EventStore, RecordedEvent } from '@dh/event-store';
import { compareCheckpoints, type Projection, type ProjectedEvent } from './projection';
import { PROJECTION_SCHEMA, applyEvents, migrateProjectionState } from './projection-state';

export interface RebuildProgress {
  projection: string;
  appliedEvents: number;
  checkpoint: string | null;
  done: boolean;
}

export interface RebuildOptions {
  /** Events read from the log per page of the shadow build; each page is one transaction for all the projections rebuilt. Default {@link REBUILD_PAGE_SIZE}. */
  batchSize?: number;
  onProgress?: (progress: RebuildProgress) => void;
  /** Another rebuild of one of the projections holds its lock: wait for it (default) or throw {@link RebuildAlreadyRunningError}. */
  ifRunning?: 'wait' | 'refuse';
  /**
   * Shadow tables created UNLOGGED for the bulk load (no WAL per row) and made LOGGED once built, before the swap.
   * Default false: `SET LOGGED` rewrites and logs each table once, which cost about what it saved (docs/benchmarks.md, 14).
   */
  unlogged?: boolean;
  /**
   * Bulk mode: projections with a `bulk` loader (the consumption read model) load the build's pages with it and
   * finish once, before the catch-up; the others use `applyBatch`/`apply` as always. Default true.
   */
  bulk?: boolean;
  /** Secondary (non-unique, non-key) indexes created after the bulk load rather than before it. Default false (measured: docs/benchmarks.md). */
  deferIndexes?: boolean;
  /** How long the swap waits for a table or state-row lock before it rolls back and tries again. Default 2,000 ms. */
  swapLockTimeoutMs?: number;
  /** Swap attempts before the rebuild gives up (the live tables stay as they were). Default 30. */
  swapAttempts?: number;
  /** Called once the shadow is built, just before the swap (tests stop or hold a rebuild here). */
  beforeSwap?: () => Promise<void>;
}

/** Default page of the shadow build: events read and applied per transaction. */
export const REBUILD_PAGE_SIZE = 5000;
/** Shadow tables of `<schema>.<table>` are built as `<schema>_rebuild.<table>` (same table, index and constraint names). */
export const SHADOW_SCHEMA_SUFFIX = '_rebuild';
/** Live tables replaced by a swap go to `<schema>_retired.<table>`, dropped right after the swap commits. */
export const RETIRED_SCHEMA_SUFFIX = '_retired';

export function toProjectedEvent(event: RecordedEvent): ProjectedEvent {
  return {
    eventId: event.eventId,
    type: event.type,
    streamId: event.streamId,
    streamRevision: event.streamRevision,
    checkpoint: event.checkpoint,
    recordedAt: event.recordedAt,
    data: event.data,
  };
}

async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>, settings: string[] = []): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    for (const setting of settings) await client.query(setting);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Advisory-lock namespace of rebuilds (first key of the two-int form; the second is the projection's name). */
const REBUILD_LOCK_NAMESPACE = 0x64687262; // 'dhrb'

export class RebuildAlreadyRunningError extends Error {
  override readonly name = 'RebuildAlreadyRunningError';
  constructor(readonly projection: string) {
    super(`a rebuild of ${projection} is already running`);
  }
}

/**
 * Rebuilds a projection from the event store into shadow tables and swaps them in atomically; see
 * {@link rebuildProjections}. One rebuild of a projection at a time: a session advisory lock per projection
 * name, on a connection of its own held for the whole rebuild; `ifRunning: 'refuse'` throws
 * {@link RebuildAlreadyRunningError} instead of waiting.
 */
export async function rebuildProjection(pool: Pool, store: EventStore, projection: Projection, options: RebuildOptions = {}): Promise<RebuildProgress> {
  const [result] = await rebuildProjections(pool, store, [projection], options);
  return result;
}

/**
 * Rebuilds several projections in one pass over the log, without downtime:
 *
 * 1. Each projection's lock is taken (in name order, so two multi-rebuilds cannot deadlock), its live tables
 *    migrated, and a shadow copy of each table created empty in `<schema>_rebuild` (`LIKE … INCLUDING …`, the
 *    same key constraints, indexes and grants under the same names); leftovers of a crashed rebuild are dropped first.
 * 2. Bulk build: the log from its start in pages of `batchSize`, each page one transaction (`synchronous_commit`
 *    off) applied to every projection with its bulk loader (then finished once) or its `applyBatch`, its SQL pointed at the shadow tables (each live table
 *    name the projection declares in `tables` is replaced by its shadow's). The live tables keep serving and the
 *    live consumers keep applying to them. A page that wrote to any live table of the schema is rolled back.
 * 3. Catch-up pages, then the swap in one transaction: the projections' state rows locked (the live consumers of
 *    these projections wait), the last events of the log applied to the shadow, each live table moved to
 *    `<schema>_retired` and its shadow into its place, the checkpoint set to the shadow's. The live consumer then
 *    skips what the shadow holds and applies what follows: nothing lost or doubled. Readers see the old tables until
 *    the commit and the new ones after it. The retired tables are dropped after the commit.
 *
 * A rebuild that stops before the swap (a crash, an error) leaves the live tables as they were; its shadow tables
 * are dropped by the next rebuild of the same projection.
 */
export async function rebuildProjections(pool: Pool, store: EventStore, projections: readonly Projection[], options: RebuildOptions = {}): Promise<RebuildProgress[]> {
  const ordered = [...projections].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lock = await pool.connect();
  let broken: Error | undefined;
  const locked: string[] = [];
  try {
    for (const projection of ordered) {
      if (options.ifRunning === 'refuse') {
        const { rows } = await lock.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [REBUILD_LOCK_NAMESPACE, projection.name]);
        if (rows[0]?.locked !== true) throw new RebuildAlreadyRunningError(projection.name);
      } else {
        await lock.query('SELECT pg_advisory_lock($1, hashtext($2))', [REBUILD_LOCK_NAMESPACE, projection.name]);
      }
      locked.push(projection.name);
    }
    const results = await rebuildLocked(pool, store, ordered, options);
    return projections.map((p) => results[ordered.indexOf(p)]);
  } finally {
    for (const name of locked) {
      await lock.query('SELECT pg_advisory_unlock($1, hashtext($2))', [REBUILD_LOCK_NAMESPACE, name]).catch((error: unknown) => {
        broken = error instanceof Error ? error : new Error(String(error));
      });
    }
    lock.release(broken);
  }
}

/** A live table and where its shadow is built and where it goes when it is replaced. */
export interface ShadowTable {
  live: string;
  schema: string;
  table: string;
  shadowSchema: string;
  shadow: string;
  retiredSchema: string;
  retired: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_$]*$/;

export function shadowTableOf(name: string): ShadowTable {
  const parts = name.split('.');
  if (parts.length !== 2 || !parts.every((p) => IDENTIFIER.test(p))) {
    throw new Error(`Projection table "${name}" must be named schema.table in lower-case unquoted identifiers to be rebuilt into a shadow table`);
  }
  const [schema, table] = parts;
  const shadowSchema = `${schema}${SHADOW_SCHEMA_SUFFIX}`;
  const retiredSchema = `${schema}${RETIRED_SCHEMA_SUFFIX}`;
  return { live: name, schema, table, shadowSchema, shadow: `${shadowSchema}.${table}`, retiredSchema, retired: `${retiredSchema}.${table}` };
}

/** Replaces every live table name of `tables` in a statement by its shadow's (whole qualified names only). */
export function shadowRenamer(tables: readonly ShadowTable[]): (sql: string) => string {
  if (tables.length === 0) return (sql) => sql;
  const byLive = new Map(tables.map((t) => [t.live, t.shadow]));
  const names = [...byLive.keys()].sort((a, b) => b.length - a.length).map((n) => n.replace(/[.$]/g, (c) => `\\${c}`));
  const pattern = new RegExp(`(?<![\\w$."])(?:${names.join('|')})(?![\\w$])`, 'g');
  return (sql) => sql.replace(pattern, (live) => byLive.get(live) ?? live);
}

/** The client with every statement's text passed through `rename` (parameters untouched). */
function renamingClient(client: PoolClient, rename: (sql: string) => string): PoolClient {
  const query = (config: unknown, ...rest: unknown[]): unknown => {
    if (typeof config === 'string') return Reflect.apply(client.query, client, [rename(config), ...rest]) as unknown;
    if (typeof config === 'object' && config !== null && 'text' in config && typeof config.text === 'string') {
      if ('submit' in config && typeof config.submit === 'function') {
        // A submittable (a COPY stream): the same object, its statement renamed.
        config.text = rename(config.text);
        return Reflect.apply(client.query, client, [config, ...rest]) as unknown;
      }
      return Reflect.apply(client.query, client, [{ ...config, text: rename(config.text) }, ...rest]) as unknown;
    }
    throw new Error('A projection rebuilt into shadow tables must pass its SQL as text or { text }');
  };
  return new Proxy(client, { get: (target, property) => (property === 'query' ? query : Reflect.get(target, property, target)) });
}

/** Refuses what a shadow copy would not carry over (and what a swap of the table would break). */
async function assertShadowable(client: PoolClient, table: ShadowTable): Promise<void> {
  const { rows } = await client.query<{ problem: string }>(
    `SELECT 'foreign key ' || conname AS problem FROM pg_constraint WHERE contype = 'f' AND (conrelid = $1::regclass OR confrelid = $1::regclass)
     UNION ALL
     SELECT 'column ' || a.attname || ' takes its default from a sequence' FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
      WHERE d.adrelid = $1::regclass AND pg_get_expr(d.adbin, d.adrelid) LIKE '%nextval(%'
     UNION ALL
     SELECT DISTINCT 'view ' || r.ev_class::regclass::text || ' depends on it' FROM pg_depend dep JOIN pg_rewrite r ON r.oid = dep.objid
      WHERE dep.classid = 'pg_rewrite'::regclass AND dep.refobjid = $1::regclass AND r.ev_class <> $1::regclass
     UNION ALL
     SELECT 'trigger ' || tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal
     UNION ALL
     SELECT 'it is partitioned' FROM pg_class WHERE oid = $1::regclass AND relkind <> 'r'`,
    [table.live],
  );
  if (rows.length > 0) throw new Error(`Cannot rebuild ${table.live} into a shadow table: ${rows.map((r) => r.problem).join('; ')}`);
}

/**
 * Creates the empty shadow of a live table: columns, defaults, CHECK/NOT NULL constraints, storage and comments
 * (`LIKE … INCLUDING`), then its primary key, unique and exclusion constraints and the grants of the live table,
 * all under the live names (its own schema). Returns the live table's other indexes, as statements on the shadow,
 * for the caller to create now or after the bulk load.
 */
async function createShadow(client: PoolClient, table: ShadowTable, unlogged: boolean): Promise<string[]> {
  await assertShadowable(client, table);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${table.shadowSchema}; CREATE SCHEMA IF NOT EXISTS ${table.retiredSchema};`);
  await client.query(`DROP TABLE IF EXISTS ${table.shadow}, ${table.retired}`);
  await client.query(
    `CREATE ${unlogged ? 'UNLOGGED ' : ''}TABLE ${table.shadow} (LIKE ${table.live} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED
       INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS INCLUDING COMPRESSION)`,
  );
  // Per-column statistics targets (LIKE does not copy them; array columns of consumption are set to 0 so ANALYZE skips them).
  const targets = await client.query<{ name: string; target: number }>(
    `SELECT quote_ident(attname) AS name, attstattarget AS target FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attstattarget >= 0`,
    [table.live],
  );
  for (const t of targets.rows) await client.query(`ALTER TABLE ${table.shadow} ALTER COLUMN ${t.name} SET STATISTICS ${Number(t.target)}`);
  const constraints = await client.query<{ name: string; definition: string }>(
    `SELECT quote_ident(conname) AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conrelid = $1::regclass AND contype IN ('p', 'u', 'x') ORDER BY conname`,
    [table.live],
  );
  for (const c of constraints.rows) await client.query(`ALTER TABLE ${table.shadow} ADD CONSTRAINT ${c.name} ${c.definition}`);
  const grants = await client.query<{ privilege: string; grantee: string; grantable: boolean }>(
    `SELECT a.privilege_type AS privilege, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS grantee, a.is_grantable AS grantable
       FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
      WHERE c.oid = $1::regclass AND a.grantee <> c.relowner`,
    [table.live],
  );
  for (const g of grants.rows) await client.query(`GRANT ${g.privilege} ON ${table.shadow} TO ${g.grantee}${g.grantable ? ' WITH GRANT OPTION' : ''}`);
  const indexes = await client.query<{ definition: string }>(
    `SELECT pg_get_indexdef(i.indexrelid) AS definition FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
      WHERE i.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
      ORDER BY ic.relname`,
    [table.live],
  );
  return indexes.rows.map(({ definition }) => {
    const on = ` ON ${table.live} USING `;
    if (!definition.includes(on)) throw new Error(`Cannot copy index of ${table.live} to its shadow: unexpected definition "${definition}"`);
    return definition.replace(on, ` ON ${table.shadow} USING `);
  });
}

async function rebuildLocked(pool: Pool, store: EventStore, projections: readonly Projection[], options: RebuildOptions): Promise<RebuildProgress[]> {
  const pageSize = options.batchSize ?? REBUILD_PAGE_SIZE;
  const unlogged = options.unlogged ?? false;
  const deferIndexes = options.deferIndexes ?? false;
  const names = projections.map((p) => p.name);
  const tables = projections.flatMap((p) => p.tables.map((t) => shadowTableOf(t.name)));
  const liveSchemas = [...new Set(tables.map((t) => t.schema))];
  const rename = shadowRenamer(tables);
  // The build's first page is read while the state rows and shadow tables are prepared (it needs neither).
  const firstPage = store.readAll({ after: null, maxCount: pageSize });
  firstPage.catch(() => undefined);

  for (const projection of projections) {
    await inTransaction(pool, async (client) => {
      await migrateProjectionState(client);
      await projection.migrate(client);
      await client.query(`INSERT INTO ${PROJECTION_SCHEMA}.projection_state (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [projection.name]);
    });
  }
  const deferred: string[] = [];
  await inTransaction(pool, async (client) => {
    for (const table of tables) {
      const indexes = await createShadow(client, table, unlogged);
      if (deferIndexes) deferred.push(...indexes);
      else for (const index of indexes) await client.query(index);
    }
  });

  let checkpoint: string | null = null;
  let appliedEvents = 0;
  const report = (done: boolean): RebuildProgress[] =>
    projections.map((projection) => {
      const progress = { projection: projection.name, appliedEvents, checkpoint, done };
      options.onProgress?.(progress);
      return progress;
    });

  /**
   * Applies a page to every projection's shadow tables in the caller's transaction, and refuses a page that wrote
   * to a live table: the row counts PostgreSQL keeps for the backend's tables of the live schemas, read before and
   * after (they can hold counts of earlier transactions on the same connection not yet flushed, hence the difference).
   */
  const guarded = async (client: PoolClient, work: (shadow: PoolClient) => Promise<void>): Promise<void> => {
    const writes = async (): Promise<Map<string, number>> => {
      const { rows } = await client.query<{ name: string; n: string }>(
        `SELECT schemaname || '.' || relname AS name, (n_tup_ins + n_tup_upd + n_tup_del)::text AS n FROM pg_stat_xact_user_tables WHERE schemaname = ANY($1::text[])`,
        [liveSchemas],
      );
      return new Map(rows.map((r) => [r.name, Number(r.n)]));
    };
    const before = await writes();
    await work(renamingClient(client, rename));
    const written = [...(await writes()).entries()].filter(([name, n]) => n > (before.get(name) ?? 0)).map(([name]) => name).sort();
    if (written.length > 0) {
      throw new Error(`Rebuilding ${names.join(', ')} wrote to live table(s) ${written.join(', ')}: a projection must list every table it writes in its \`tables\`, schema-qualified`);
    }
  };
  const loaders = projections.map((p) => (options.bulk !== false && p.bulk ? p.bulk() : null));
  /** A page applied to every projection's shadow: with its bulk loader while building, else `applyBatch`/`apply`. */
  const applyPage = (client: PoolClient, events: RecordedEvent[], building = false): Promise<void> =>
    guarded(client, async (shadow) => {
      // The same events for every projection without upcasters: mapped once per page.
      let plain: ProjectedEvent[] | null = null;
      for (const [i, projection] of projections.entries()) {
        const schemas = projection.schemas;
        const projected = schemas ? events.map((event) => toProjectedEvent(schemas.upcast(event))) : (plain ??= events.map(toProjectedEvent));
        const loader = loaders[i];
        if (building && loader) await loader.load(projected, shadow);
        else await applyEvents(projection, projected, shadow);
      }
    });
  const BULK = ['SET LOCAL synchronous_commit = off'];

  /** Pages until one comes back short (from `first` if given, else from the checkpoint); the next page is read while the current one is applied. */
  const bulkPass = async (building: boolean, first?: Promise<RecordedEvent[]>): Promise<void> => {
    let next: Promise<RecordedEvent[]> | null = first ?? store.readAll({ after: checkpoint, maxCount: pageSize });
    while (next) {
      const events: RecordedEvent[] = await next;
      next = null;
      if (events.length === 0) break;
      const last = events[events.length - 1].checkpoint;
      if (events.length === pageSize) {
        next = store.readAll({ after: last, maxCount: pageSize });
        // Its failure is thrown when awaited; until then it must not count as unhandled.
        next.catch(() => undefined);
      }
      await inTransaction(pool, (client) => applyPage(client, events, building), BULK);
      checkpoint = last;
      appliedEvents += events.length;
      report(false);
    }
  };

  /**
   * One transaction: the projections' state rows locked (their live consumers wait), the rest of the log applied
   * to the shadow, the tables exchanged, the checkpoint set. A lock that is not granted in time rolls it all back
   * and it is tried again, so readers and live consumers wait at most `swapLockTimeoutMs` at a time.
   */
  const swap = async (): Promise<void> => {
    const attempts = options.swapAttempts ?? 30;
    for (let attempt = 1; ; attempt++) {
      let at = checkpoint;
      let applied = appliedEvents;
      try {
        await inTransaction(
          pool,
          async (client) => {
            const { rows } = await client.query<{ name: string; checkpoint: string | null }>(
              `SELECT name, checkpoint FROM ${PROJECTION_SCHEMA}.projection_state WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE`,
              [names],
            );
            for (;;) {
              const events = await store.readAll({ after: at, maxCount: pageSize });
              if (events.length === 0) break;
              await applyPage(client, events);
              at = events[events.length - 1].checkpoint;
              applied += events.length;
            }
            for (const row of rows) {
              if (row.checkpoint !== null && (at === null || compareCheckpoints(row.checkpoint, at) > 0)) {
                throw new Error(`Projection ${row.name} is live at ${row.checkpoint}, past the end of the log read for its rebuild (${at ?? 'the start'})`);
              }
            }
            for (const table of tables) {
              await client.query(`ALTER TABLE ${table.live} SET SCHEMA ${table.retiredSchema}`);
              await client.query(`ALTER TABLE ${table.shadow} SET SCHEMA ${table.schema}`);
            }
            await client.query(
              `UPDATE ${PROJECTION_SCHEMA}.projection_state s SET status = 'live', checkpoint = $3, applied_events = $4, layout = p.layout, updated_at = now()
                 FROM unnest($1::text[], $2::text[]) AS p(name, layout) WHERE s.name = p.name`,
              [names, projections.map((p) => p.layout ?? null), at, applied],
            );
          },
          [`SET LOCAL lock_timeout = ${Math.max(1, Math.round(options.swapLockTimeoutMs ?? 2000))}`],
        );
        checkpoint = at;
        appliedEvents = applied;
        return;
      } catch (error) {
        if (!isLockTimeout(error) || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * attempt)));
      }
    }
  };

  await bulkPass(true, firstPage);
  for (const loader of loaders) await loader?.finish((work) => inTransaction(pool, (client) => guarded(client, work), BULK));
  if (deferred.length > 0 || unlogged) {
    const client = await pool.connect();
    try {
      for (const index of deferred) await client.query(index);
      if (unlogged) for (const table of tables) await client.query(`ALTER TABLE ${table.shadow} SET LOGGED`);
    } finally {
      client.release();
    }
  }
  // Statistics before the catch-up and the swap (the build's statements are key look-ups and COPY, which need none;
  // the planner sizes a table it has no statistics for by its pages). Two at a time: the big tables take most of it.
  const analyze = [...tables];
  const analyzer = async (): Promise<void> => {
    for (let table = analyze.shift(); table; table = analyze.shift()) await pool.query(`ANALYZE ${table.shadow}`);
  };
  await Promise.all([analyzer(), analyzer()]);
  // What arrived during the build (and the index/logging steps), outside any lock.
  await bulkPass(false);
  await options.beforeSwap?.();
  await swap();
  await pool.query(`DROP TABLE IF EXISTS ${tables.map((t) => t.retired).join(', ')}`);
  return report(true);

}

function isLockTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === '55P03';
}
