import type { Pool, PoolClient } from 'pg';
import { projectionReadOf, type EventStore, type LogRecord } from '@dh/event-store';
import { compareCheckpoints, type Projection, type ProjectedEvent } from './projection';
import { PROJECTION_SCHEMA, applyEvents, migrateProjectionState } from './projection-state';
import { runGroupsTogether } from './statements';

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
  /**
   * Connections a page of the build is applied on. 2 (the default): with a projection that has a bulk loader and a
   * pool of at least 4 connections (the lock's, the page's two and the next page's read), each page is two
   * transactions committed together, the bulk loaders' work on one (the consumption hours' COPY on the other) and the
   * other projections' on the second, so two backends ingest the page. 1: one transaction, projections in turn.
   */
  pageConnections?: 1 | 2;
  /** Secondary (non-unique, non-key) indexes created after the bulk load rather than before it. Default false (measured: docs/benchmarks.md). */
  deferIndexes?: boolean;
  /** How long the swap waits for a table or state-row lock before it rolls back and tries again. Default 2,000 ms. */
  swapLockTimeoutMs?: number;
  /** Swap attempts before the rebuild gives up (the live tables stay as they were). Default 30. */
  swapAttempts?: number;
  /** Called once the shadow is built, just before the swap (tests stop or hold a rebuild here). */
  beforeSwap?: () => Promise<void>;
  /**
   * Called after the swap committed, in the background, before the new live tables are analysed and the retired ones
   * dropped (tests hold that work here; an error thrown here skips both and is told to `onRetireError`).
   */
  beforeRetire?: () => Promise<void>;
  /**
   * Told when the background drop of the retired tables fails (they stay in `<schema>_retired` until the next rebuild
   * of the projection drops them). Callers log it; without it the failure is only visible in the retired schema.
   */
  onRetireError?: (error: Error, tables: readonly string[]) => void;
  /**
   * Told when the background `ANALYZE` of the tables swapped in fails (`tables`: those it was to analyse; autovacuum
   * analyses them later). Callers log it.
   */
  onAnalyzeError?: (error: Error, tables: readonly string[]) => void;
}

/** Default page of the shadow build: events read and applied per transaction. */
export const REBUILD_PAGE_SIZE = 5000;
/** Shadow tables of `<schema>.<table>` are built as `<schema>_rebuild.<table>` (same table, index and constraint names). */
export const SHADOW_SCHEMA_SUFFIX = '_rebuild';
/** Live tables replaced by a swap go to `<schema>_retired.<table>`, dropped after the swap commits and the new tables are analysed (see {@link retiredTablesDropped}). */
export const RETIRED_SCHEMA_SUFFIX = '_retired';

export function toProjectedEvent(event: LogRecord): ProjectedEvent {
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

/**
 * `work` on `count` connections, each in a transaction of its own, committed together once `work` is done (or all
 * rolled back when it fails): for a shadow page whose writes are spread over two backends.
 */
async function inTransactions<T>(pool: Pool, count: number, work: (clients: PoolClient[]) => Promise<T>, settings: readonly string[] = []): Promise<T> {
  const clients: PoolClient[] = [];
  /** A connection whose ROLLBACK failed is discarded, not returned to the pool. */
  const broken = new Map<PoolClient, Error>();
  try {
    for (let i = 0; i < count; i++) clients.push(await pool.connect());
    await Promise.all(clients.map((client) => client.query([`BEGIN`, ...settings].join(';\n'))));
    const result = await work(clients);
    await Promise.all(clients.map((client) => client.query('COMMIT')));
    return result;
  } catch (error) {
    await Promise.all(
      clients.map((client) =>
        client.query('ROLLBACK').catch((rollback: unknown) => {
          broken.set(client, rollback instanceof Error ? rollback : new Error(String(rollback)));
        }),
      ),
    );
    throw error;
  } finally {
    for (const client of clients) client.release(broken.get(client));
  }
}

async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>, settings: readonly string[] = []): Promise<T> {
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

/** Per pool, the drops of retired tables still running after their rebuilds returned. */
const retiring = new WeakMap<Pool, Set<Promise<void>>>();

/**
 * Resolves once the tables the rebuilds through `pool` swapped in are analysed and those they retired are dropped. A
 * rebuild returns as soon as its swap has committed, then analyses the new live tables and drops the tables it
 * replaced, still holding its lock (so a rebuild of the same projections
 * elsewhere waits for the drop, or is refused); a rebuild through the same pool awaits this first. A drop that fails
 * leaves the tables in `<schema>_retired`, where the next rebuild of the projection drops them.
 */
export async function retiredTablesDropped(pool: Pool): Promise<void> {
  for (let pending = retiring.get(pool); pending && pending.size > 0; pending = retiring.get(pool)) await Promise.all(pending);
}

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
 *    A table that holds no rows then gets its shadow only once a statement of the rebuild names it (on demand).
 * 2. Bulk build: the log from its start in pages of `batchSize`, each page one transaction (`synchronous_commit`
 *    off) applied to every projection with its bulk loader (then finished once) or its `applyBatch`, its SQL pointed at the shadow tables (each live table
 *    name the projection declares in `tables` is replaced by its shadow's). The live tables keep serving and the
 *    live consumers keep applying to them. A page that wrote to any live table of the schema is rolled back.
 * 3. Catch-up pages, then the swap in one transaction: the projections' state rows locked (the live consumers of
 *    these projections wait), the last events of the log applied to the shadow, each live table moved to
 *    `<schema>_retired` and its shadow into its place (a table left without a shadow stays, checked empty, else gets
 *    an empty shadow swapped in), the checkpoint set to the shadow's. The live consumer then
 *    skips what the shadow holds and applies what follows: nothing lost or doubled. Readers see the old tables until
 *    the commit and the new ones after it. The call returns once the swap has committed; the new live tables that hold
 *    rows are analysed and the retired tables dropped after it, in the background, with the locks held until that is
 *    done ({@link retiredTablesDropped}).
 *
 * A rebuild that stops before the swap (a crash, an error) leaves the live tables as they were; its shadow tables
 * are dropped by the next rebuild of the same projection.
 */
export async function rebuildProjections(pool: Pool, store: EventStore, projections: readonly Projection[], options: RebuildOptions = {}): Promise<RebuildProgress[]> {
  const ordered = [...projections].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  await retiredTablesDropped(pool);
  const lock = await pool.connect();
  let broken: Error | undefined;
  const locked: string[] = [];
  const unlock = async (): Promise<void> => {
    for (const name of locked) {
      await lock.query('SELECT pg_advisory_unlock($1, hashtext($2))', [REBUILD_LOCK_NAMESPACE, name]).catch((error: unknown) => {
        broken = error instanceof Error ? error : new Error(String(error));
      });
    }
    lock.release(broken);
  };
  let retired: ShadowTable[];
  let analyse: string[];
  let results: RebuildProgress[];
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
    ({ results, retired, analyse } = await rebuildLocked(pool, store, ordered, options));
  } catch (error) {
    await unlock();
    throw error;
  }
  // The swap has committed: readers see the new tables. After the rebuild returns, on the lock's connection, still
  // locked: the new live tables that hold rows are analysed (their statistics were not needed before: the build's and
  // the swap's statements are COPY and key look-ups, and the planner sizes a table never analysed by its pages), one at
  // a time (ANALYZE takes SHARE UPDATE EXCLUSIVE, which blocks neither the live consumers' writes nor the readers),
  // then the replaced tables are dropped (a transaction that drops relations waits for its commit to be flushed).
  const drop = (async () => {
    try {
      await options.beforeRetire?.();
      for (const [i, table] of analyse.entries()) {
        const failed = await lock.query(`ANALYZE ${table}`).then(
          () => null,
          (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
        );
        if (failed) {
          // Left to autovacuum; the drop is still tried (it fails too if the connection is gone).
          options.onAnalyzeError?.(failed, analyse.slice(i));
          break;
        }
      }
      if (retired.length > 0) await lock.query(`DROP TABLE IF EXISTS ${retired.map((t) => t.retired).join(', ')}`);
    } catch (error) {
      // Left in the retired schema: the next rebuild of the projection drops them before it builds its shadows.
      options.onRetireError?.(error instanceof Error ? error : new Error(String(error)), retired.map((t) => t.retired));
    } finally {
      await unlock();
    }
  })();
  let pending = retiring.get(pool);
  if (!pending) retiring.set(pool, (pending = new Set()));
  pending.add(drop);
  void drop.finally(() => pending.delete(drop));
  return projections.map((p) => results[ordered.indexOf(p)]);
}

/** Per event type, the positions of its events in `events`, in order. */
export function positionsByType(events: readonly { type: string }[]): Map<string, number[]> {
  const byType = new Map<string, number[]>();
  for (let i = 0; i < events.length; i++) {
    const positions = byType.get(events[i].type);
    if (positions) positions.push(i);
    else byType.set(events[i].type, [i]);
  }
  return byType;
}

/**
 * The events of `types`, in their order in `events` (`byType`: {@link positionsByType} of `events`): one look-up per
 * type present rather than one per event and projection.
 */
export function eventsOfTypes<E>(events: readonly E[], byType: ReadonlyMap<string, readonly number[]>, types: ReadonlySet<string>): readonly E[] {
  const lists: (readonly number[])[] = [];
  for (const [type, positions] of byType) if (types.has(type)) lists.push(positions);
  if (lists.length === 0) return [];
  if (lists.length === byType.size) return events;
  const positions = lists.length === 1 ? lists[0] : Uint32Array.from(lists.flat()).sort();
  return Array.from(positions, (i) => events[i]);
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

/** The pattern of the live names of `tables` as whole qualified names (not a suffix, a prefix or a quoted part of another). */
function liveNamePattern(tables: readonly ShadowTable[]): RegExp {
  const names = [...new Set(tables.map((t) => t.live))].sort((a, b) => b.length - a.length).map((n) => n.replace(/[.$]/g, (c) => `\\${c}`));
  return new RegExp(`(?<![\\w$."])(?:${names.join('|')})(?![\\w$])`, 'g');
}

/** Replaces every live table name of `tables` in a statement by its shadow's (whole qualified names only). */
export function shadowRenamer(tables: readonly ShadowTable[]): (sql: string) => string {
  if (tables.length === 0) return (sql) => sql;
  const byLive = new Map(tables.map((t) => [t.live, t.shadow]));
  const pattern = liveNamePattern(tables);
  return (sql) => sql.replace(pattern, (live) => byLive.get(live) ?? live);
}

/**
 * What a statement must wait for before it runs: the shadows it names that are not created yet. `ensure` returns, for
 * a live table, null when its shadow exists, else the wait for it (starting its creation when it is made on demand).
 */
class ShadowGates {
  private readonly pattern: RegExp;

  constructor(
    tables: readonly ShadowTable[],
    private readonly ensure: (live: string) => Promise<void> | null,
    private readonly allReady: () => boolean,
  ) {
    this.pattern = tables.length > 0 ? liveNamePattern(tables) : /(?!)/g;
  }

  /** What a statement (its live text) must wait for before it runs, or null when every shadow it names exists. */
  pending(sql: string): Promise<void> | null {
    if (this.allReady()) return null;
    const gates = new Set<Promise<void>>();
    for (const match of sql.matchAll(this.pattern)) {
      const gate = this.ensure(match[0]);
      if (gate) gates.add(gate);
    }
    if (gates.size === 0) return null;
    return Promise.all(gates).then(() => undefined);
  }
}

/**
 * The client with every statement's text passed through `rename` (parameters untouched); a statement naming a shadow
 * not created yet is sent once it is (`gates`), so a page's own work runs meanwhile.
 */
function renamingClient(client: PoolClient, rename: (sql: string) => string, gates?: ShadowGates): PoolClient {
  const query = (config: unknown, ...rest: unknown[]): unknown => {
    if (typeof config === 'string') {
      const gate = gates?.pending(config);
      const send = () => Reflect.apply(client.query, client, [rename(config), ...rest]) as unknown;
      return gate ? gate.then(send) : send();
    }
    if (typeof config === 'object' && config !== null && 'text' in config && typeof config.text === 'string') {
      const gate = gates?.pending(config.text);
      if ('submit' in config && typeof config.submit === 'function') {
        // A submittable (a COPY stream): the same object, its statement renamed; what its caller writes to it meanwhile waits in it.
        const submittable = config;
        submittable.text = rename(config.text);
        if (!gate) return Reflect.apply(client.query, client, [submittable, ...rest]) as unknown;
        gate.then(
          () => Reflect.apply(client.query, client, [submittable, ...rest]) as unknown,
          (error: unknown) => {
            if ('handleError' in submittable && typeof submittable.handleError === 'function') Reflect.apply(submittable.handleError, submittable, [error]);
          },
        );
        return submittable;
      }
      const renamed = { ...config, text: rename(config.text) };
      const send = () => Reflect.apply(client.query, client, [renamed, ...rest]) as unknown;
      return gate ? gate.then(send) : send();
    }
    throw new Error('A projection rebuilt into shadow tables must pass its SQL as text or { text }');
  };
  return new Proxy(client, { get: (target, property) => (property === 'query' ? query : Reflect.get(target, property, target)) });
}

/** What a shadow copy of a live table needs from the catalog, read for all the rebuilt tables in one query. */
interface ShadowSource {
  /** Why it cannot be copied to a shadow (and swapped): foreign keys, sequence defaults, dependent views, triggers, partitions. */
  problems: string[];
  /**
   * On the shadow: the per-column statistics targets (LIKE does not copy them), the primary-key, unique and exclusion
   * constraints (by name) and the grants to other roles than the owner.
   */
  statements: string[];
  /** `pg_get_indexdef` of every index that does not belong to a constraint, by name. */
  indexes: string[];
}

async function shadowSources(client: PoolClient, tables: readonly ShadowTable[]): Promise<ShadowSource[]> {
  const { rows } = await client.query<ShadowSource>(
    `SELECT ARRAY(
              SELECT 'foreign key ' || conname FROM pg_constraint WHERE contype = 'f' AND (conrelid = c.oid OR confrelid = c.oid)
              UNION ALL
              SELECT 'column ' || a.attname || ' takes its default from a sequence' FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
               WHERE d.adrelid = c.oid AND pg_get_expr(d.adbin, d.adrelid) LIKE '%nextval(%'
              UNION ALL
              SELECT DISTINCT 'view ' || r.ev_class::regclass::text || ' depends on it' FROM pg_depend dep JOIN pg_rewrite r ON r.oid = dep.objid
               WHERE dep.refclassid = 'pg_class'::regclass AND dep.refobjid = c.oid AND dep.classid = 'pg_rewrite'::regclass AND r.ev_class <> c.oid
              UNION ALL
              SELECT 'trigger ' || tgname FROM pg_trigger WHERE tgrelid = c.oid AND NOT tgisinternal
              UNION ALL
              SELECT 'it is partitioned' WHERE c.relkind <> 'r') AS problems,
            ARRAY(SELECT format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS %s', t.shadow, attname, attstattarget) FROM pg_attribute
                   WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped AND attstattarget >= 0)
         || ARRAY(SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s', t.shadow, conname, pg_get_constraintdef(oid)) FROM pg_constraint
                   WHERE conrelid = c.oid AND contype IN ('p', 'u', 'x') ORDER BY conname)
         || ARRAY(SELECT format('GRANT %s ON %s TO %s%s', a.privilege_type, t.shadow, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END,
                                CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
                    FROM aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee WHERE a.grantee <> c.relowner) AS statements,
            ARRAY(SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                   WHERE i.indrelid = c.oid AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid)
                   ORDER BY ic.relname) AS indexes
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(live, shadow, n) JOIN pg_class c ON c.oid = t.live::regclass
      ORDER BY t.n`,
    [tables.map((t) => t.live), tables.map((t) => t.shadow)],
  );
  return rows;
}

/**
 * The statements that create the empty shadow of a live table: columns, defaults, CHECK/NOT NULL constraints, storage
 * and comments (`LIKE … INCLUDING`), per-column statistics targets (array columns of consumption have 0, so ANALYZE
 * skips them), then its primary key, unique and exclusion constraints and the grants of the live table, all under the
 * live names (its own schema); leftovers of a rebuild that died are dropped first. `indexes`: the live table's other
 * indexes, as statements on the shadow, for the caller to run with these or after the bulk load.
 */
function shadowStatements(table: ShadowTable, source: ShadowSource, unlogged: boolean): { create: string[]; indexes: string[] } {
  if (source.problems.length > 0) throw new Error(`Cannot rebuild ${table.live} into a shadow table: ${source.problems.join('; ')}`);
  const create = [
    `DROP TABLE IF EXISTS ${table.shadow}, ${table.retired}`,
    `CREATE ${unlogged ? 'UNLOGGED ' : ''}TABLE ${table.shadow} (LIKE ${table.live} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED
       INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS INCLUDING COMPRESSION)`,
    ...source.statements,
  ];
  const indexes = source.indexes.map((definition) => {
    const on = ` ON ${table.live} USING `;
    if (!definition.includes(on)) throw new Error(`Cannot copy index of ${table.live} to its shadow: unexpected definition "${definition}"`);
    return definition.replace(on, ` ON ${table.shadow} USING `);
  });
  return { create, indexes };
}

/**
 * The settings of every transaction a rebuild opens before its swap: the preparation (migrations, state rows,
 * catalog), the shadow DDL, each page of the build and of the catch-up, the loaders' `finish`, the deferred indexes
 * and `SET LOGGED`. None waits for its WAL to be flushed at COMMIT: a server crash that loses one of them before the
 * swap has failed the rebuild anyway (the live tables are untouched, the shadows are dropped and rebuilt by the next
 * rebuild; a migration lost is redone, being idempotent, by the next start). Only the swap's transaction is
 * synchronous, and as WAL is flushed in order, its commit's flush makes every earlier transaction's WAL durable too:
 * a rebuild that returned is exactly as durable as with every commit synchronous.
 */
const BULK: readonly string[] = ['SET LOCAL synchronous_commit = off'];

/**
 * Builds and swaps in the shadows of `projections` (their locks held); returns the tables retired by the swap, still
 * to be dropped, and the live tables swapped in that hold rows, still to be analysed.
 */
async function rebuildLocked(
  pool: Pool,
  store: EventStore,
  projections: readonly Projection[],
  options: RebuildOptions,
): Promise<{ results: RebuildProgress[]; retired: ShadowTable[]; analyse: string[] }> {
  const pageSize = options.batchSize ?? REBUILD_PAGE_SIZE;
  const unlogged = options.unlogged ?? false;
  const deferIndexes = options.deferIndexes ?? false;
  const names = projections.map((p) => p.name);
  const tables = projections.flatMap((p) => p.tables.map((t) => shadowTableOf(t.name)));
  const liveSchemas = [...new Set(tables.map((t) => t.schema))];
  const rename = shadowRenamer(tables);
  // The build's first page is read while the state rows and shadow tables are prepared (it needs neither).
  const readAll = projectionReadOf(store);
  const firstPage = readAll({ after: null, maxCount: pageSize });
  firstPage.catch(() => undefined);

  const loaders = projections.map((p) => (options.bulk !== false && p.bulk ? p.bulk() : null));
  /**
   * Connections a build page is applied on: two unless asked for one, with a bulk loader, and a pool large enough for
   * the lock's connection, the page's two and the next page's read (else the page could wait for a connection forever).
   */
  const pageConnections = options.pageConnections !== 1 && loaders.some((loader) => loader !== null) && (pool.options.max ?? 10) >= 4 ? 2 : 1;
  /**
   * Whether a shadow may be made on demand: a live table that holds no rows when the rebuild begins gets its shadow only
   * once a statement of the rebuild names it (on a connection of its own, in a transaction of its own), as most of them
   * stay empty (a log without settlement runs, reminders or rate notifications leaves half the tables empty), and one
   * that is never named keeps its live table, checked still empty in the swap's transaction (else its empty shadow is
   * made then and swapped in). Only with the defaults (logged shadows, indexes before the load: `SET LOGGED` and the
   * deferred indexes run before the catch-up, which may make a shadow), and with a pool that has a connection for it
   * beside the lock's and a page's (else a page could wait for it forever).
   */
  const onDemandAllowed = !unlogged && !deferIndexes && (pool.options.max ?? 10) >= pageConnections + 2;
  /** Every table rebuilt, once (a table declared by two projections, by the first). */
  const distinct = [...new Map(tables.map((t) => [t.live, t])).values()];
  /** Live tables whose shadow exists (committed). */
  const ready = new Set<string>();
  /** Per live table, the creation of its shadow once started (made ahead or on demand). */
  const creations = new Map<string, Promise<void>>();
  /** Per live table, the statements that create its shadow (known once planned). */
  const plans = new Map<string, string[]>();
  /** The live tables whose shadows are made on demand (null until planned). */
  let onDemand: ReadonlySet<string> | null = null;
  const createOnDemand = async (live: string): Promise<void> => {
    const statements = plans.get(live);
    if (!statements) throw new Error(`No shadow planned for ${live}`);
    const connection = await pool.connect();
    try {
      await runGroupsTogether(connection, [statements], BULK);
    } finally {
      connection.release();
    }
    ready.add(live);
  };
  /** Null when the shadow of `live` exists, else the wait for it (its creation started if it is made on demand). */
  const ensure = (live: string): Promise<void> | null => {
    if (ready.has(live)) return null;
    const creation = creations.get(live);
    if (creation) return creation;
    if (onDemand === null) return planned.then(() => ensure(live) ?? undefined);
    const made = createOnDemand(live);
    made.catch(() => undefined);
    creations.set(live, made);
    return made;
  };
  const gates = new ShadowGates(tables, ensure, () => ready.size === distinct.length);
  /** The live tables whose shadows each projection creates (a table declared twice, by the first). */
  const groups: string[][] = [];
  const grouped = new Set<string>();
  for (const projection of projections) {
    groups.push(projection.tables.map((t) => t.name).filter((live) => !grouped.has(live)));
    for (const t of projection.tables) grouped.add(t.name);
  }
  const deferred: string[] = [];
  /** Per group made ahead, its live tables and the settling of their creation. */
  const ahead: { tables: string[]; resolve: () => void; reject: (error: unknown) => void }[] = [];
  /**
   * On one connection, while the first page is read: the projections' migrations and state rows, the shadow schemas
   * and the catalog of every table rebuilt, in one transaction (a table that cannot be shadowed refuses the rebuild
   * before any shadow is made), which also drops what a rebuild that died left of the shadows made on demand.
   * `planned` resolves with the statements of the shadows made ahead; the first page is applied after it.
   */
  const client = await pool.connect();
  const planned = (async (): Promise<string[][]> => {
    // Not synchronous, like every transaction of the rebuild before its swap (see `BULK`): the migrations'
    // `ALTER TABLE … IF EXISTS` assign a transaction id, so its COMMIT would wait for a WAL flush (0.8–42 ms measured).
    await client.query(['BEGIN', ...BULK].join(';\n'));
    try {
      await migrateProjectionState(client);
      for (const projection of projections) await projection.migrate(client);
      await client.query(`INSERT INTO ${PROJECTION_SCHEMA}.projection_state (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING`, [names]);
      for (const schema of new Set(tables.flatMap((t) => [t.shadowSchema, t.retiredSchema]))) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      const sources = await shadowSources(client, tables);
      const empty = new Set<string>();
      if (onDemandAllowed) {
        const { rows } = await client.query<Record<string, boolean>>(`SELECT ${distinct.map((t, i) => `NOT EXISTS (SELECT FROM ${t.live}) AS e${i}`).join(', ')}`);
        for (const [i, t] of distinct.entries()) if (rows[0][`e${i}`] === true) empty.add(t.live);
        const leftovers = distinct.filter((t) => empty.has(t.live)).flatMap((t) => [t.shadow, t.retired]);
        if (leftovers.length > 0) await client.query(`DROP TABLE IF EXISTS ${leftovers.join(', ')}`);
      }
      for (const [i, table] of tables.entries()) {
        const plan = shadowStatements(table, sources[i], unlogged);
        if (plans.has(table.live)) continue;
        plans.set(table.live, [...plan.create, ...(deferIndexes ? [] : plan.indexes)]);
        if (deferIndexes) deferred.push(...plan.indexes);
      }
      await client.query('COMMIT');
      onDemand = empty;
      const statements: string[][] = [];
      for (const group of groups) {
        const made = group.filter((live) => !empty.has(live));
        if (made.length === 0) continue;
        let resolve: () => void = () => undefined;
        let reject: (error: unknown) => void = () => undefined;
        const creation = new Promise<void>((yes, no) => {
          resolve = yes;
          reject = no;
        });
        creation.catch(() => undefined);
        for (const live of made) creations.set(live, creation);
        ahead.push({ tables: made, resolve, reject });
        statements.push(made.flatMap((live) => plans.get(live) ?? []));
      }
      return statements;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  })();
  /**
   * Then each projection's shadows made ahead, in the order a page applies them, one transaction each, all in one
   * round trip: a projection's tables are ready as soon as its group has committed, while the first page is applied
   * (its statements naming a shadow not created yet wait for it, see {@link ShadowGates}).
   */
  const prepare = (async () => {
    try {
      const statements = await planned;
      await runGroupsTogether(client, statements, BULK, (group) => {
        for (const live of ahead[group].tables) ready.add(live);
        ahead[group].resolve();
      });
    } catch (error) {
      for (const group of ahead) group.reject(error);
      throw error;
    } finally {
      client.release();
    }
  })();
  prepare.catch(() => undefined);

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
   * Returns the shadow tables the work wrote to (counted the same way).
   */
  const shadowSchemas = [...new Set(tables.map((t) => t.shadowSchema))];
  /** The same, for work spread over several connections, each in its own transaction (each counted on its own). */
  const guardedAll = async (clients: readonly PoolClient[], work: (shadows: PoolClient[]) => Promise<void>): Promise<Set<string>> => {
    const writes = async (client: PoolClient): Promise<Map<string, number>> => {
      const { rows } = await client.query<{ name: string; n: string }>(
        `SELECT schemaname || '.' || relname AS name, (n_tup_ins + n_tup_upd + n_tup_del)::text AS n FROM pg_stat_xact_user_tables WHERE schemaname = ANY($1::text[])`,
        [[...liveSchemas, ...shadowSchemas]],
      );
      return new Map(rows.map((r) => [r.name, Number(r.n)]));
    };
    const before = await Promise.all(clients.map(writes));
    await work(clients.map((client) => renamingClient(client, rename, gates)));
    const after = await Promise.all(clients.map(writes));
    const written = new Set(after.flatMap((counts, i) => [...counts.entries()].filter(([name, n]) => n > (before[i].get(name) ?? 0)).map(([name]) => name)));
    const live = [...written].filter((name) => liveSchemas.some((schema) => name.startsWith(`${schema}.`))).sort();
    if (live.length > 0) {
      throw new Error(`Rebuilding ${names.join(', ')} wrote to live table(s) ${live.join(', ')}: a projection must list every table it writes in its \`tables\`, schema-qualified`);
    }
    return written;
  };
  const guarded = (client: PoolClient, work: (shadow: PoolClient) => Promise<void>): Promise<Set<string>> => guardedAll([client], ([shadow]) => work(shadow));
  /**
   * A page's events as each projection is given them: only those of its `eventTypes` when it lists them (before any
   * upcasting), upcast when it has upcasters; the whole page, mapped once, for every projection with neither.
   */
  const projectedOf = (events: readonly LogRecord[]): ((projection: Projection) => ProjectedEvent[]) => {
    let plain: ProjectedEvent[] | null = null;
    /** The page's positions per event type, found once for all the projections that list their types. */
    let byType: ReadonlyMap<string, readonly number[]> | null = null;
    return (projection) => {
      const { schemas, eventTypes } = projection;
      const own = eventTypes ? eventsOfTypes(events, (byType ??= positionsByType(events)), eventTypes) : events;
      if (schemas) return own.map((event) => toProjectedEvent(schemas.upcast(event)));
      return eventTypes ? own.map(toProjectedEvent) : (plain ??= events.map(toProjectedEvent));
    };
  };
  /** A page of the catch-up applied to every projection's shadow with `applyBatch`/`apply`. */
  const applyPage = (client: PoolClient, events: LogRecord[]): Promise<Set<string>> =>
    guarded(client, async (shadow) => {
      const projected = projectedOf(events);
      for (const projection of projections) await applyEvents(projection, projected(projection), shadow);
    });
  /**
   * A page of the build. On one connection, every projection in turn, with its bulk loader if it has one. On two (each
   * its own transaction, committed together), the bulk loaders' work on the first, given the second as `aside`, and at
   * the same time the other projections' (`applyBatch`/`apply`, in their usual order) on the second: two backends
   * ingest the page. A loader reads and writes only its own tables, so the order between the two sides does not
   * matter; within each it is kept.
   */
  const applyBuildPage = (clients: PoolClient[], events: LogRecord[]): Promise<Set<string>> =>
    guardedAll(clients, async ([shadow, aside]) => {
      const projected = projectedOf(events);
      if (!aside) {
        for (const [i, projection] of projections.entries()) {
          const loader = loaders[i];
          if (loader) await loader.load(projected(projection), shadow);
          else await applyEvents(projection, projected(projection), shadow);
        }
        return;
      }
      const loading = (async () => {
        for (const [i, projection] of projections.entries()) await loaders[i]?.load(projected(projection), shadow, aside);
      })();
      const applying = (async () => {
        for (const [i, projection] of projections.entries()) if (!loaders[i]) await applyEvents(projection, projected(projection), aside);
      })();
      // Both settled before the transactions end, whichever fails first.
      await Promise.allSettled([loading, applying]);
      await loading;
      await applying;
    });

  /** The shadow tables the build's pages wrote rows to. */
  const built = new Set<string>();
  /** Pages until one comes back short (from `first` if given, else from the checkpoint); the next page is read while the current one is applied. */
  const bulkPass = async (building: boolean, first?: Promise<LogRecord[]>): Promise<void> => {
    let next: Promise<LogRecord[]> | null = first ?? readAll({ after: checkpoint, maxCount: pageSize });
    while (next) {
      const events: LogRecord[] = await next;
      next = null;
      if (events.length === 0) break;
      const last = events[events.length - 1].checkpoint;
      if (events.length === pageSize) {
        next = readAll({ after: last, maxCount: pageSize });
        // Its failure is thrown when awaited; until then it must not count as unhandled.
        next.catch(() => undefined);
      }
      const wrote = building
        ? await inTransactions(pool, pageConnections, (clients) => applyBuildPage(clients, events), BULK)
        : await inTransaction(pool, (client) => applyPage(client, events), BULK);
      if (building) for (const table of wrote) built.add(table);
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
  /** The tables the swap exchanged (moved to the retired schema, to be dropped). */
  let retired: ShadowTable[] = [];
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
              const events = await readAll({ after: at, maxCount: pageSize });
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
            // A table whose shadow was to be made on demand and that no statement of the rebuild named keeps its live
            // table, which held no rows when the rebuild began. If it holds some now (its projection's live consumer waits
            // for the state row locked above, so nothing writes to it any more), its empty shadow is made and swapped in.
            const unmade = distinct.filter((t) => !ready.has(t.live));
            if (unmade.length > 0) {
              const { rows: held } = await client.query<Record<string, boolean>>(`SELECT ${unmade.map((t, i) => `EXISTS (SELECT FROM ${t.live}) AS h${i}`).join(', ')}`);
              await Promise.all(unmade.filter((_, i) => held[0][`h${i}`] === true).map((t) => ensure(t.live)));
            }
            const exchanged = distinct.filter((t) => ready.has(t.live));
            // Every table exchanged in one round trip (a simple query of several statements, in this transaction).
            if (exchanged.length > 0) {
              await client.query(exchanged.flatMap((table) => [`ALTER TABLE ${table.live} SET SCHEMA ${table.retiredSchema}`, `ALTER TABLE ${table.shadow} SET SCHEMA ${table.schema}`]).join(';\n'));
            }
            retired = exchanged;
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

  try {
    await bulkPass(
      true,
      Promise.all([firstPage, planned]).then(([events]) => events),
    );
  } finally {
    // Nothing of the preparation left running when the rebuild returns or throws, nor a shadow made on demand.
    await prepare.catch(() => undefined);
    await Promise.allSettled(creations.values());
  }
  try {
    await prepare;
    /** The bulk loaders' `finish`, each transaction guarded; returns the shadow tables it wrote to. */
    const finish = async (): Promise<Set<string>> => {
      const written = new Set<string>();
      for (const loader of loaders) {
        await loader?.finish((work) =>
          inTransaction(
            pool,
            async (client) => {
              for (const table of await guarded(client, work)) written.add(table);
            },
            BULK,
          ),
        );
      }
      return written;
    };
    const written = await finish();
    if (deferred.length > 0 || unlogged) {
      await inTransaction(
        pool,
        async (client) => {
          for (const index of deferred) await client.query(index);
          if (unlogged) for (const table of distinct) await client.query(`ALTER TABLE ${table.shadow} SET LOGGED`);
        },
        BULK,
      );
    }
    // What arrived during the build (and the index/logging steps), outside any lock.
    await bulkPass(false);
    await options.beforeSwap?.();
    await swap();
    // Statistics, after the swap (by the caller), only of the tables that hold rows: one nothing was written to stays as
    // a table fresh from its migration (never analysed, which the planner reads as "size unknown, assume a few pages"
    // rather than as "empty" once its first rows come), and costs nothing. Rows the catch-up or the swap alone wrote are
    // left to autovacuum, like the live consumers' rows.
    const analyse = [...new Set(tables.filter((t) => built.has(t.shadow) || written.has(t.shadow)).map((t) => t.live))];
    return { results: report(true), retired, analyse };
  } finally {
    // Nor a shadow made on demand.
    await Promise.allSettled(creations.values());
  }
}

function isLockTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === '55P03';
}
