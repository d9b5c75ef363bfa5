import { randomUUID } from 'node:crypto';
import { Pool, type PoolClient } from 'pg';
import { createPostgresEventStore, type NewEvent, type PostgresEventStore } from '@dh/event-store';
import { AmqpConnection, createRelay, silentMessagingLogger, type EventRelay, type RunningConsumer } from '@dh/messaging';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@dh/testing';
import { SETTLEMENT_INVOICES_TABLE, SETTLEMENT_RUNS_TABLE, settlementProjection } from '../settlement/settlement.projection';
import type { Projection } from './projection';
import { projectionChecksum } from './projection-state';
import { startProjections } from './projection-runner';
import { RebuildAlreadyRunningError, rebuildProjection, rebuildProjections, retiredTablesDropped } from './rebuild';

let invoiceNumber = 0;
function invoiceIssued(customerId = `customer-${invoiceNumber % 7}`): { streamId: string; event: NewEvent; invoiceId: string } {
  const n = invoiceNumber++;
  const invoiceId = randomUUID();
  return {
    invoiceId,
    streamId: `invoice-${invoiceId}`,
    event: {
      eventId: randomUUID(),
      type: 'InvoiceIssued',
      data: {
        invoiceId,
        runId: null,
        customerId,
        gsrn: `5713131800${String(n).padStart(8, '0')}`,
        periodLabel: '2026-01',
        periodStart: '2026-01-01',
        periodEnd: '2026-02-01',
        paymentModel: 'arrears',
        lines: [{ key: 'energy', kind: 'energy', description: 'Energy', chargeId: null, month: '2026-01', quantityKwh: '100.000', daysSupplied: null, amountExclVat: `${n}.00`, vat: '0.00', amountInclVat: `${n}.00` }],
        totals: { exclVat: `${n}.00`, vat: '0.00', inclVat: `${n}.00` },
        aconto: { paid: '0.00', difference: '0.00', netAmountDue: `${n}.00` },
        estimated: false,
        asOf: '2026-02-01T00:00:00.000Z',
      },
      metadata: { correlationId: randomUUID(), causationId: null, actor: 'test', schemaVersion: 1, context: 'settlement' },
      occurredAt: new Date(Date.UTC(2026, 1, 1, 0, 0, n % 60)),
    },
  };
}

/**
 * One row per settlement event, numbered in the order applied, with a plain INSERT: an event applied twice
 * fails (unique violation), a lost or reordered one changes the numbers and so the checksum.
 */
function eventLog(name: string, table: string): Projection {
  return {
    name,
    bindings: ['settlement.#'],
    tables: [{ name: table, orderBy: 'event_id' }],
    async migrate(client) {
      await client.query(`CREATE TABLE IF NOT EXISTS ${table} (event_id uuid PRIMARY KEY, seq int NOT NULL, stream_id text NOT NULL)`);
    },
    async apply(event, client) {
      if (event.type !== 'InvoiceIssued') return;
      await client.query(`INSERT INTO ${table} (event_id, seq, stream_id) SELECT $1, count(*), $2 FROM ${table}`, [event.eventId, event.streamId]);
    },
  };
}

describe('rebuilding into shadow tables swapped in atomically', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: Pool;
  let store: PostgresEventStore;
  let connection: AmqpConnection;
  let relay: EventRelay;
  let consumers: RunningConsumer[] = [];
  const rebuilt = eventLog('event-log', 'read_models.event_log');
  /** Never rebuilt: the clean projection of the same events by the live path, to compare with. */
  const twin = eventLog('event-log-twin', 'read_models.event_log_twin');

  const count = async (table: string) => Number((await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0].n);
  const checksumOf = async (projection: Projection) => {
    const client = await pool.connect();
    try {
      return await projectionChecksum(projection, client);
    } finally {
      client.release();
    }
  };
  /** The checksum without the table names (to compare two tables of the same shape). */
  const digest = async (projection: Projection) => (await checksumOf(projection)).replace(/^[^:]+:/, '');
  const oidOf = async (table: string) => (await pool.query<{ oid: string | null }>(`SELECT to_regclass($1)::oid::text AS oid`, [table])).rows[0].oid;
  const append = async (n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const { streamId, event, invoiceId } = invoiceIssued();
      await store.appendToStream(streamId, [event], { expectedRevision: 'no_stream' });
      ids.push(invoiceId);
    }
    return ids;
  };
  let total = 0;
  const settled = async () => {
    await eventually(async () => expect(await count(SETTLEMENT_INVOICES_TABLE)).toBe(total), 30_000);
    await eventually(async () => expect(await count('read_models.event_log')).toBe(total), 30_000);
    await eventually(async () => expect(await count('read_models.event_log_twin')).toBe(total), 30_000);
  };

  beforeAll(async () => {
    db = await createTestDatabase('shadow_rebuild');
    vhost = await createTestVhost('shadow_rebuild');
    pool = new Pool({ connectionString: db.url });
    store = await createPostgresEventStore({ pool, pollIntervalMs: 100 });
    connection = new AmqpConnection({ url: vhost.url, logger: silentMessagingLogger });
    await connection.connect();
    relay = createRelay({ eventStore: store, connection, pool, name: 'domain-events', logger: silentMessagingLogger });
    await relay.start();
    consumers = await startProjections({ pool, eventStore: store, connection, projections: [settlementProjection, rebuilt, twin], logger: silentMessagingLogger });
  }, 30_000);

  afterAll(async () => {
    for (const consumer of consumers) await consumer.stop();
    await relay?.stop();
    await connection?.close();
    await store?.close();
    await pool?.end();
    await vhost?.drop();
    await db?.drop();
  });

  it('keeps every invoice visible to readers throughout, and applies the events appended meanwhile exactly once', async () => {
    const original = await append(300);
    total = 300;
    await settled();
    const liveOid = await oidOf(SETTLEMENT_INVOICES_TABLE);
    const indexesBefore = (await pool.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = 'read_models' AND tablename = 'settlement_invoices' ORDER BY 1`)).rows;

    // A portal-like reader polling the live model while the rebuild runs.
    let reading = true;
    const seen = { polls: 0, fewest: Number.POSITIVE_INFINITY, missing: 0, errors: [] as string[] };
    const reader = (async () => {
      let last = 0;
      while (reading) {
        try {
          const { rows } = await pool.query<{ total: string; known: string }>(
            `SELECT count(*)::text AS total, count(*) FILTER (WHERE invoice_id = ANY($1::uuid[]))::text AS known FROM ${SETTLEMENT_INVOICES_TABLE}`,
            [original],
          );
          const now = Number(rows[0].total);
          seen.polls++;
          seen.fewest = Math.min(seen.fewest, now);
          if (Number(rows[0].known) !== original.length) seen.missing++;
          if (now < last) seen.errors.push(`rows went from ${last} to ${now}`);
          last = now;
        } catch (error) {
          seen.errors.push(error instanceof Error ? error.message : String(error));
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();

    // Appended while the shadow is built, and just before the swap (applied live, not yet in the shadow).
    const during = append(60);
    const results = await rebuildProjections(pool, store, [settlementProjection, rebuilt], {
      batchSize: 40,
      beforeSwap: async () => {
        await during;
        await append(25);
        total = 385;
        await eventually(async () => expect(await count('read_models.event_log_twin')).toBe(total), 30_000);
        await eventually(async () => expect(await count(SETTLEMENT_INVOICES_TABLE)).toBe(total), 30_000);
      },
    }).finally(() => {
      reading = false;
    });
    await reader;
    await settled();

    expect(seen.errors).toEqual([]);
    expect(seen.missing).toBe(0);
    expect(seen.fewest).toBeGreaterThanOrEqual(300);
    expect(seen.polls).toBeGreaterThan(10);
    expect(results.map((r) => [r.projection, r.done])).toEqual([
      ['settlement', true],
      ['event-log', true],
    ]);

    // No live consumer met an event twice (the event log's plain INSERT would have halted it), and nothing more arrives.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(consumers.map((c) => c.stats().halted)).toEqual([null, null, null]);
    expect(await count(SETTLEMENT_INVOICES_TABLE)).toBe(385);
    expect(await count('read_models.event_log')).toBe(385);
    // Same events, same order, same numbering as the twin built only by the live consumer.
    expect(await digest(rebuilt)).toBe(await digest(twin));

    // The table was replaced (not emptied): a new relation under the same name, logged, with the same index names; the
    // shadow and retired schemas hold nothing, and migrating again creates no second copy of an index.
    expect(await oidOf(SETTLEMENT_INVOICES_TABLE)).not.toBe(liveOid);
    const persistence = await pool.query<{ relpersistence: string }>(`SELECT relpersistence FROM pg_class WHERE oid = to_regclass($1)`, [SETTLEMENT_INVOICES_TABLE]);
    expect(persistence.rows[0].relpersistence).toBe('p');
    const client: PoolClient = await pool.connect();
    try {
      await settlementProjection.migrate(client);
    } finally {
      client.release();
    }
    expect((await pool.query(`SELECT indexname FROM pg_indexes WHERE schemaname = 'read_models' AND tablename = 'settlement_invoices' ORDER BY 1`)).rows).toEqual(indexesBefore);
    await retiredTablesDropped(pool);
    expect((await pool.query(`SELECT tablename FROM pg_tables WHERE schemaname IN ('read_models_rebuild', 'read_models_retired')`)).rows).toEqual([]);

    // A rebuild at rest gives the same read model as the one swapped in under load.
    const afterRace = await checksumOf(settlementProjection);
    expect(afterRace.startsWith('read_models.settlement_runs:0:')).toBe(true);
    await rebuildProjection(pool, store, settlementProjection);
    expect(await checksumOf(settlementProjection)).toBe(afterRace);
    const state = await pool.query<{ name: string; status: string; applied_events: string }>(
      `SELECT name, status, applied_events::text FROM read_models.projection_state WHERE name IN ('settlement', 'event-log') ORDER BY name`,
    );
    expect(state.rows).toEqual([
      { name: 'event-log', status: 'live', applied_events: '385' },
      { name: 'settlement', status: 'live', applied_events: '385' },
    ]);
  }, 120_000);

  it('leaves the live tables untouched when a rebuild fails while building, and the next rebuild clears its shadow', async () => {
    const before = await checksumOf(settlementProjection);
    const liveOid = await oidOf(SETTLEMENT_INVOICES_TABLE);
    let applied = 0;
    const crashing: Projection = {
      ...settlementProjection,
      async apply(event, client) {
        if (++applied === 150) throw new Error('rebuild process died');
        await settlementProjection.apply(event, client);
      },
    };
    await expect(rebuildProjection(pool, store, crashing, { batchSize: 40 })).rejects.toThrow('rebuild process died');
    expect(await checksumOf(settlementProjection)).toBe(before);
    expect(await oidOf(SETTLEMENT_INVOICES_TABLE)).toBe(liveOid);
    // The half-built shadow is left behind (as a killed process would leave it) ...
    expect(Number((await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM read_models_rebuild.settlement_invoices')).rows[0].n)).toBeGreaterThan(0);
    // ... and the live model kept being updated meanwhile.
    await append(5);
    total += 5;
    await settled();
    const current = await checksumOf(settlementProjection);

    await rebuildProjection(pool, store, settlementProjection, { batchSize: 100 });
    expect(await checksumOf(settlementProjection)).toBe(current);
    await retiredTablesDropped(pool);
    expect((await pool.query(`SELECT tablename FROM pg_tables WHERE schemaname IN ('read_models_rebuild', 'read_models_retired')`)).rows).toEqual([]);
  }, 60_000);

  it('rolls the whole swap back when it fails inside: the live tables stay, with every event the live consumer applied', async () => {
    await settled();
    const liveOid = await oidOf(SETTLEMENT_INVOICES_TABLE);
    const failing: Projection = {
      ...settlementProjection,
      async apply(event, client) {
        if (event.data.customerId === 'poison-at-swap') throw new Error('failed during the final catch-up');
        await settlementProjection.apply(event, client);
      },
    };
    let poisonId = '';
    await expect(
      rebuildProjection(pool, store, failing, {
        batchSize: 100,
        // Appended after the shadow's last catch-up: only the swap's own catch-up meets it.
        beforeSwap: async () => {
          const { streamId, event, invoiceId } = invoiceIssued('poison-at-swap');
          poisonId = invoiceId;
          await store.appendToStream(streamId, [event], { expectedRevision: 'no_stream' });
          total += 1;
          await settled();
        },
      }),
    ).rejects.toThrow('failed during the final catch-up');
    expect(await oidOf(SETTLEMENT_INVOICES_TABLE)).toBe(liveOid);
    expect(Number((await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${SETTLEMENT_INVOICES_TABLE} WHERE invoice_id = $1`, [poisonId])).rows[0].n)).toBe(1);
    expect(await count(SETTLEMENT_INVOICES_TABLE)).toBe(total);
    const state = await pool.query<{ status: string }>(`SELECT status FROM read_models.projection_state WHERE name = 'settlement'`);
    expect(state.rows[0].status).toBe('live');
  }, 60_000);

  it('refuses a projection that writes to a live table it does not declare, and changes nothing', async () => {
    const sneaky: Projection = {
      name: 'sneaky',
      bindings: ['settlement.#'],
      tables: [{ name: 'read_models.sneaky_declared', orderBy: 'event_id' }],
      async migrate(client) {
        await client.query('CREATE TABLE IF NOT EXISTS read_models.sneaky_declared (event_id uuid PRIMARY KEY)');
        await client.query('CREATE TABLE IF NOT EXISTS read_models.sneaky_undeclared (event_id uuid PRIMARY KEY)');
      },
      async apply(event, client) {
        await client.query('INSERT INTO read_models.sneaky_declared (event_id) VALUES ($1)', [event.eventId]);
        await client.query('INSERT INTO read_models.sneaky_undeclared (event_id) VALUES ($1)', [event.eventId]);
      },
    };
    await expect(rebuildProjection(pool, store, sneaky)).rejects.toThrow(
      'Rebuilding sneaky wrote to live table(s) read_models.sneaky_undeclared: a projection must list every table it writes in its `tables`, schema-qualified',
    );
    expect(await count('read_models.sneaky_undeclared')).toBe(0);
    expect(await count('read_models.sneaky_declared')).toBe(0);
  });

  it("copies the live table's constraints, indexes, statistics targets and grants to the shadow swapped in, and refuses a table with a trigger", async () => {
    const probe = (name: string, table: string, extra: string): Projection => ({
      name,
      bindings: ['settlement.#'],
      tables: [{ name: table, orderBy: 'id' }],
      async migrate(client) {
        await client.query(`CREATE TABLE IF NOT EXISTS ${table} (id text PRIMARY KEY, code text NOT NULL UNIQUE, amount numeric CHECK (amount >= 0), tags text[])`);
        await client.query(extra);
      },
      async apply() {},
    });
    const table = 'read_models.shadow_probe';
    await rebuildProjection(
      pool,
      store,
      probe('shadow-probe', table, `CREATE INDEX IF NOT EXISTS shadow_probe_amount ON ${table} (amount); ALTER TABLE ${table} ALTER COLUMN tags SET STATISTICS 0; GRANT SELECT ON ${table} TO PUBLIC`),
    );
    const { rows } = await pool.query<{ constraints: string[]; indexes: string[]; target: number | null; public_select: boolean }>(
      `SELECT ARRAY(SELECT contype::text || ':' || conname FROM pg_constraint WHERE conrelid = $1::regclass ORDER BY 1) AS constraints,
              ARRAY(SELECT indexname::text FROM pg_indexes WHERE schemaname = 'read_models' AND tablename = 'shadow_probe' ORDER BY 1) AS indexes,
              (SELECT attstattarget FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'tags') AS target,
              EXISTS (SELECT 1 FROM information_schema.role_table_grants WHERE table_schema = 'read_models' AND table_name = 'shadow_probe' AND grantee = 'PUBLIC' AND privilege_type = 'SELECT') AS public_select`,
      [table],
    );
    expect(rows[0]).toEqual({
      constraints: ['c:shadow_probe_amount_check', 'p:shadow_probe_pkey', 'u:shadow_probe_code_key'],
      indexes: ['shadow_probe_amount', 'shadow_probe_code_key', 'shadow_probe_pkey'],
      target: 0,
      public_select: true,
    });
    await retiredTablesDropped(pool);
    expect(await pool.query(`SELECT to_regclass('read_models_retired.shadow_probe') AS t`).then((r) => r.rows[0].t)).toBeNull();

    const triggered = 'read_models.shadow_probe_triggered';
    await expect(
      rebuildProjection(
        pool,
        store,
        probe(
          'shadow-probe-triggered',
          triggered,
          `CREATE OR REPLACE FUNCTION read_models.shadow_probe_noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
           DROP TRIGGER IF EXISTS shadow_probe_noop ON ${triggered}; CREATE TRIGGER shadow_probe_noop BEFORE INSERT ON ${triggered} FOR EACH ROW EXECUTE FUNCTION read_models.shadow_probe_noop()`,
        ),
      ),
    ).rejects.toThrow(`Cannot rebuild ${triggered} into a shadow table: trigger shadow_probe_noop`);
    // Refused before any shadow was made.
    expect(await pool.query(`SELECT to_regclass('read_models_rebuild.shadow_probe_triggered') AS t`).then((r) => r.rows[0].t)).toBeNull();
  });

  it('has statistics on every shadow swapped in that holds rows, also on a table its bulk loader writes only in finish, and leaves an empty one never analysed', async () => {
    await append(5);
    total += 5;
    await settled();
    const table = 'read_models.finish_only';
    const finishOnly: Projection = {
      ...eventLog('finish-only', table),
      bulk() {
        const ids: { eventId: string; streamId: string }[] = [];
        return {
          async load(events) {
            for (const event of events) if (event.type === 'InvoiceIssued') ids.push({ eventId: event.eventId, streamId: event.streamId });
          },
          async finish(inTransaction) {
            await inTransaction(async (client) => {
              // Long enough for the tables to be analysed meanwhile, before these rows are committed.
              await client.query('SELECT pg_sleep(0.5)');
              await client.query(
                `INSERT INTO ${table} (event_id, seq, stream_id) SELECT e, n - 1, s FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS t(e, s, n)`,
                [ids.map((i) => i.eventId), ids.map((i) => i.streamId)],
              );
            });
          },
        };
      },
    };
    // Each page over two connections (the default with a bulk loader): the loader on one, the settlement projection on the other.
    await rebuildProjections(pool, store, [finishOnly, settlementProjection]);
    // Analysed after the swap, in the background, before the retired tables are dropped.
    await retiredTablesDropped(pool);
    expect(await digest(finishOnly)).toBe(await digest(twin));
    const { rows } = await pool.query<{ name: string; tuples: number; analysed: boolean }>(
      `SELECT c.relname AS name, c.reltuples::int AS tuples, s.last_analyze IS NOT NULL AS analysed FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
        WHERE c.oid IN ('read_models.finish_only'::regclass, $1::regclass, $2::regclass) ORDER BY 1`,
      [SETTLEMENT_INVOICES_TABLE, SETTLEMENT_RUNS_TABLE],
    );
    // No run was ever made: its table stays as a fresh one (-1: size unknown to the planner, not "empty").
    expect(rows).toEqual([
      { name: 'finish_only', tuples: total, analysed: true },
      { name: 'settlement_invoices', tuples: total, analysed: true },
      { name: 'settlement_runs', tuples: -1, analysed: false },
    ]);
  });

  it('commits every transaction before the swap without waiting for its WAL flush (the preparation too), and the swap synchronously', async () => {
    await settled();
    const base = eventLog('sync-probe', 'read_models.sync_probe');
    let phase = 'build';
    const seen: { phase: string; synchronousCommit: string }[] = [];
    const record = async (at: string, client: PoolClient): Promise<void> => {
      const { rows } = await client.query<{ s: string }>(`SELECT current_setting('synchronous_commit') AS s`);
      seen.push({ phase: at, synchronousCommit: rows[0].s });
    };
    const probe: Projection = {
      ...base,
      async migrate(client) {
        // Run in the rebuild's preparation transaction.
        await record(`${phase} migrate`, client);
        await base.migrate(client);
      },
      async apply(event, client) {
        if (event.type === 'InvoiceIssued') await record(phase, client);
        await base.apply(event, client);
      },
    };
    const built = total;
    await rebuildProjection(pool, store, probe, {
      // An event appended now is applied in the swap's transaction.
      beforeSwap: async () => {
        phase = 'swap';
        await append(1);
        total += 1;
      },
    });
    await retiredTablesDropped(pool);
    expect(seen.filter((s) => s.phase === 'build migrate')).toEqual([{ phase: 'build migrate', synchronousCommit: 'off' }]);
    expect(seen.filter((s) => s.phase === 'build')).toEqual(Array.from({ length: built }, () => ({ phase: 'build', synchronousCommit: 'off' })));
    expect(seen.filter((s) => s.phase === 'swap')).toEqual([{ phase: 'swap', synchronousCommit: 'on' }]);
    expect(await count('read_models.sync_probe')).toBe(total);
  });

  it("applies the first page while the shadows are created, and fails without touching the live tables when a later projection's shadow cannot be made", async () => {
    await settled();
    // Sorted by name, `gate-a` is applied first on every page; its shadow is created first, then `gate-b`'s.
    const first = eventLog('gate-a', 'read_models.gate_a');
    const second = eventLog('gate-b', 'read_models.gate_b');
    await rebuildProjections(pool, store, [second, first], { batchSize: 5000 });
    expect(await count('read_models.gate_a')).toBe(total);
    expect(await digest(first)).toBe(await digest(twin));
    expect(await digest(second)).toBe(await digest(twin));
    const liveOids = [await oidOf('read_models.gate_a'), await oidOf('read_models.gate_b')];

    // Something that is not a table where gate-b's shadow goes: its DROP TABLE IF EXISTS fails after gate-a's shadow
    // committed, while the first page (applied to gate-a meanwhile) waits for gate-b's.
    await pool.query('CREATE VIEW read_models_rebuild.gate_b AS SELECT 1 AS x');
    await expect(rebuildProjections(pool, store, [first, second], { batchSize: 5000 })).rejects.toThrow('"gate_b" is not a table');
    expect([await oidOf('read_models.gate_a'), await oidOf('read_models.gate_b')]).toEqual(liveOids);
    expect(await digest(first)).toBe(await digest(twin));
    await pool.query('DROP VIEW read_models_rebuild.gate_b');
    await rebuildProjections(pool, store, [first, second], { batchSize: 5000 });
    expect(await digest(second)).toBe(await digest(twin));
    await retiredTablesDropped(pool);
    expect((await pool.query(`SELECT tablename FROM pg_tables WHERE schemaname IN ('read_models_rebuild', 'read_models_retired') AND tablename LIKE 'gate%'`)).rows).toEqual([]);
  });
  it('makes the shadow of a table that held no rows only once the rebuild writes to it, keeps an empty live table nothing wrote, and swaps an empty shadow in for one that holds rows at the swap', async () => {
    await append(3);
    total += 3;
    await settled();
    const written = 'read_models.on_demand_written';
    const unwritten = 'read_models.on_demand_unwritten';
    const stale = 'read_models.on_demand_stale';
    const onDemand: Projection = {
      name: 'on-demand',
      bindings: ['settlement.#'],
      tables: [written, unwritten, stale].map((name) => ({ name, orderBy: 'event_id' })),
      async migrate(client) {
        for (const table of [written, unwritten, stale]) await client.query(`CREATE TABLE IF NOT EXISTS ${table} (event_id uuid PRIMARY KEY, seq int NOT NULL, stream_id text NOT NULL)`);
      },
      async apply(event, client) {
        if (event.type !== 'InvoiceIssued') return;
        await client.query(`INSERT INTO ${written} (event_id, seq, stream_id) SELECT $1, count(*), $2 FROM ${written}`, [event.eventId, event.streamId]);
      },
    };
    const client = await pool.connect();
    try {
      await onDemand.migrate(client);
    } finally {
      client.release();
    }
    const before = { written: await oidOf(written), unwritten: await oidOf(unwritten), stale: await oidOf(stale) };
    // What a rebuild that died left where the shadow of a table made on demand goes: dropped by the next rebuild.
    await pool.query('CREATE TABLE read_models_rebuild.on_demand_unwritten (junk int)');
    await rebuildProjection(pool, store, onDemand, {
      batchSize: 100,
      // A row in a table the rebuild never wrote to, written behind the projection's back: the rebuilt model has none.
      beforeSwap: async () => {
        await pool.query(`INSERT INTO ${stale} (event_id, seq, stream_id) VALUES ($1, 0, 'not from the log')`, [randomUUID()]);
      },
    });
    await retiredTablesDropped(pool);
    // Written by the rebuild: its shadow was made (on demand, all three tables being empty) and swapped in.
    expect(await oidOf(written)).not.toBe(before.written);
    expect(await count(written)).toBe(total);
    expect((await digest({ ...onDemand, tables: [{ name: written, orderBy: 'event_id' }] })).split(':')[0]).toBe(String(total));
    // Never named by the rebuild and still empty at the swap: the live table kept, no shadow made.
    expect(await oidOf(unwritten)).toBe(before.unwritten);
    expect(await count(unwritten)).toBe(0);
    // Never named, but holding a row at the swap: replaced by an empty shadow in the swap's transaction.
    expect(await oidOf(stale)).not.toBe(before.stale);
    expect(await count(stale)).toBe(0);
    expect((await pool.query(`SELECT schemaname, tablename FROM pg_tables WHERE schemaname IN ('read_models_rebuild', 'read_models_retired') AND tablename LIKE 'on_demand%'`)).rows).toEqual([]);

    // Now that it holds rows, the written table's shadow is made ahead; the rebuilt model is the same.
    const rebuilt = { written: await oidOf(written), unwritten: await oidOf(unwritten) };
    const model = await checksumOf(onDemand);
    await rebuildProjection(pool, store, onDemand, { batchSize: 100 });
    await retiredTablesDropped(pool);
    expect(await checksumOf(onDemand)).toBe(model);
    expect(await oidOf(written)).not.toBe(rebuilt.written);
    expect(await oidOf(unwritten)).toBe(rebuilt.unwritten);
  });

  it('returns once the swap has committed and drops the retired tables afterwards, holding the lock until they are gone', async () => {
    await settled();
    const before = await checksumOf(settlementProjection);
    const liveOid = await oidOf(SETTLEMENT_INVOICES_TABLE);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let retiring = false;
    const results = await rebuildProjection(pool, store, settlementProjection, {
      beforeRetire: async () => {
        retiring = true;
        await held;
      },
    });
    // Returned while the drop waits: the new tables are live, the replaced one is still in the retired schema.
    expect(retiring).toBe(true);
    expect(results.done).toBe(true);
    expect(await oidOf(SETTLEMENT_INVOICES_TABLE)).not.toBe(liveOid);
    expect(await checksumOf(settlementProjection)).toBe(before);
    expect(await oidOf('read_models_retired.settlement_invoices')).toBe(liveOid);
    // Its lock is held until the drop is done: a rebuild from another process (another pool) is refused meanwhile.
    const other = new Pool({ connectionString: db.url, max: 2 });
    try {
      await expect(rebuildProjection(other, store, settlementProjection, { ifRunning: 'refuse' })).rejects.toBeInstanceOf(RebuildAlreadyRunningError);
      // A rebuild through the same pool waits for the drop before it takes the lock.
      let next = false;
      const again = rebuildProjection(pool, store, settlementProjection, { ifRunning: 'refuse' }).then((r) => {
        next = true;
        return r;
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(next).toBe(false);
      release();
      await retiredTablesDropped(pool);
      expect((await again).done).toBe(true);
      await retiredTablesDropped(pool);
      expect((await pool.query(`SELECT tablename FROM pg_tables WHERE schemaname IN ('read_models_rebuild', 'read_models_retired') AND tablename LIKE 'settlement%'`)).rows).toEqual([]);
      expect(await checksumOf(settlementProjection)).toBe(before);
      // And the lock is free again for the other process.
      expect((await rebuildProjection(other, store, settlementProjection, { ifRunning: 'refuse' })).done).toBe(true);
      await retiredTablesDropped(other);
      expect((await pool.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'read_models_retired' AND tablename LIKE 'settlement%'`)).rows).toEqual([]);
    } finally {
      release();
      await other.end();
    }
  }, 60_000);

  it('returns before the tables swapped in are analysed, and analyses them (those with rows) in the background, before the drop', async () => {
    await settled();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const analysed = async () =>
      (
        await pool.query<{ name: string; analysed: boolean }>(
          `SELECT c.relname AS name, s.last_analyze IS NOT NULL AS analysed FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
            WHERE c.oid IN ($1::regclass, $2::regclass) ORDER BY 1`,
          [SETTLEMENT_INVOICES_TABLE, SETTLEMENT_RUNS_TABLE],
        )
      ).rows;
    try {
      await rebuildProjection(pool, store, settlementProjection, { beforeRetire: () => held });
      // Swapped in, not analysed yet: the new tables are fresh ones.
      expect(await analysed()).toEqual([
        { name: 'settlement_invoices', analysed: false },
        { name: 'settlement_runs', analysed: false },
      ]);
      release();
      await retiredTablesDropped(pool);
      expect(await analysed()).toEqual([
        { name: 'settlement_invoices', analysed: true },
        { name: 'settlement_runs', analysed: false },
      ]);
      expect(await oidOf('read_models_retired.settlement_invoices')).toBeNull();
    } finally {
      release();
    }
  });

  it('tells onAnalyzeError when the background ANALYZE fails, and still drops the retired tables', async () => {
    await settled();
    const told: { message: string; tables: readonly string[] }[] = [];
    await rebuildProjection(pool, store, settlementProjection, {
      // The new live table gone before it is analysed.
      beforeRetire: async () => {
        await pool.query(`ALTER TABLE ${SETTLEMENT_INVOICES_TABLE} RENAME TO settlement_invoices_moved`);
      },
      onAnalyzeError: (error, tables) => told.push({ message: error.message, tables }),
    });
    await retiredTablesDropped(pool);
    await pool.query(`ALTER TABLE read_models.settlement_invoices_moved RENAME TO settlement_invoices`);
    expect(told).toEqual([{ message: expect.stringContaining('does not exist'), tables: [SETTLEMENT_INVOICES_TABLE] }]);
    expect(await oidOf('read_models_retired.settlement_invoices')).toBeNull();
  });

  it('tells onRetireError when the background drop fails, leaves the tables retired and the next rebuild drops them', async () => {
    await settled();
    const before = await checksumOf(settlementProjection);
    const liveOid = await oidOf(SETTLEMENT_INVOICES_TABLE);
    const told: { message: string; tables: readonly string[] }[] = [];
    await rebuildProjection(pool, store, settlementProjection, {
      beforeRetire: async () => {
        throw new Error('drop interrupted');
      },
      onRetireError: (error, tables) => told.push({ message: error.message, tables }),
    });
    await retiredTablesDropped(pool);
    expect(told).toHaveLength(1);
    expect(told[0]!.message).toBe('drop interrupted');
    expect(told[0]!.tables).toContain('read_models_retired.settlement_invoices');
    expect(await oidOf('read_models_retired.settlement_invoices')).toBe(liveOid);
    expect(await checksumOf(settlementProjection)).toBe(before);
    // The lock was released after the failed drop, and the next rebuild drops what was left.
    expect((await rebuildProjection(pool, store, settlementProjection, { ifRunning: 'refuse' })).done).toBe(true);
    await retiredTablesDropped(pool);
    expect((await pool.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'read_models_retired' AND tablename LIKE 'settlement%'`)).rows).toEqual([]);
    expect(await checksumOf(settlementProjection)).toBe(before);
  }, 60_000);
});
