import type { PoolClient } from 'pg';
import type { EventSchemas } from '@dh/event-store';

/** What a projection sees of an event: the envelope fields it needs, independent of transport. */
export interface ProjectedEvent {
  eventId: string;
  type: string;
  streamId: string;
  streamRevision: bigint;
  checkpoint: string;
  recordedAt: Date;
  data: Record<string, unknown>;
}

/**
 * A read model built from events. `apply` runs inside the caller's transaction, together with the
 * projection's checkpoint update, so a read model and its position never disagree.
 */
export interface Projection {
  name: string;
  /** Routing-key patterns on the topic exchange that carry the events this projection handles. */
  bindings: string[];
  /**
   * Tables it owns (schema-qualified), emptied on rebuild and covered by its checksum. `content`: the rows the checksum
   * hashes when they are not the table's own rows (a table of arrays hashed as the values it holds, so two layouts of
   * the same values compare equal); `orderBy` orders those rows.
   */
  tables: { name: string; orderBy: string; content?: string }[];
  migrate(client: PoolClient): Promise<void>;
  apply(event: ProjectedEvent, client: PoolClient): Promise<void>;
  /**
   * Applies several events, in log order, with the same result as `apply` on each in turn, in fewer
   * statements (set-based). Used by the live consumer's batches and by rebuilds; without it they
   * call `apply` per event.
   */
  applyBatch?(events: readonly ProjectedEvent[], client: PoolClient): Promise<void>;
  /**
   * Bulk mode for a rebuild into empty shadow tables (optional): a fresh loader per rebuild. See {@link BulkLoader}.
   */
  bulk?(): BulkLoader;
  /**
   * The layout of its tables, when they have changed in a way only a rebuild can fill (e.g. `'days-v2'`). The layout
   * the live tables were built with is kept in `projection_state.layout` (set by a rebuild's swap); `startProjections`
   * rebuilds a projection whose stored layout differs, as it builds one that never ran. Undefined: never changed.
   */
  layout?: string;
  /** Upcasters of the events it reads: `apply` then sees every event in its current shape, from the bus or the store. */
  schemas?: EventSchemas;
  /**
   * The event types `apply` writes for (optional). When given, `apply` and `applyBatch` are only given events of these
   * types, on every path (a live batch, a single live event, a rebuild's pages); the others are skipped as `apply`
   * would skip them (the checkpoint still moves past them), before any upcasting. A rebuild then does not pass every
   * event of the log through each projection's `apply` (about 80,000 calls at 11,100 events, most of them metered data
   * no projection but consumption reads), which also keeps that code out of V8's optimising compiler in a fresh process
   * (docs/benchmarks.md, 14). A type `apply` handles must be listed: `projection.unit.spec.ts` checks the type names in
   * `apply`'s and `applyBatch`'s source against it.
   */
  eventTypes?: ReadonlySet<string>;
}

/** Whether `projection.apply` is given events of `type` (see {@link Projection.eventTypes}). */
export function projectionHandles(projection: Projection, type: string): boolean {
  return projection.eventTypes === undefined || projection.eventTypes.has(type);
}

/**
 * Loads a projection's empty tables from the log faster than `applyBatch`: `load` takes the pages in log order (each
 * in its own transaction) and may leave derived tables for `finish`, which runs once after the last page, in
 * transactions it opens through `inTransaction` (each bounded, not one for the whole model). Afterwards the tables
 * must be exactly what `applyBatch` over the same events would have left, and `applyBatch` continues from there.
 * A loader reads and writes only its projection's tables, and no other projection reads them during a build: a
 * rebuild may apply the other projections' part of a page at the same time, on `aside`. `aside`, when given, is that
 * second connection, in a transaction of its own for the same page, committed with it (a rebuild fails if either
 * does not): for writes no other statement of `load` depends on (e.g. a COPY into a table `load` neither reads nor
 * updates), which then run in a second backend. `load` returns only once all it sent on either connection completed.
 */
export interface BulkLoader {
  load(events: readonly ProjectedEvent[], client: PoolClient, aside?: PoolClient): Promise<void>;
  finish(inTransaction: (work: (client: PoolClient) => Promise<void>) => Promise<void>): Promise<void>;
}

/**
 * Global-log checkpoints are tuples of unsigned integers joined by ':' ("xid:position" for PostgreSQL,
 * "commit:prepare" for KurrentDB, one number in memory), compared element by element.
 */
export function compareCheckpoints(a: string, b: string): number {
  const left = a.split(':').map(BigInt);
  const right = b.split(':').map(BigInt);
  if (left.length !== right.length) throw new Error(`Checkpoints "${a}" and "${b}" come from different event stores`);
  for (let i = 0; i < left.length; i++) {
    if (left[i] !== right[i]) return left[i] < right[i] ? -1 : 1;
  }
  return 0;
}
