import type { Pool } from 'pg';

export interface Migration {
  version: number;
  name: string;
  /** Receives the quoted schema name. */
  sql: (schema: string) => string;
}

export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`Invalid schema name "${name}": use lower-case letters, digits and _`);
  return `"${name}"`;
}

/** The NOTIFY channel appends signal on; one per schema so two stores in one database stay apart. */
export function notifyChannel(schema: string): string {
  return `${schema}_appended`;
}

/** Version 4's end of an append: NOTIFY inside the appending transaction. */
const V4_NOTIFY = `        -- Delivered at commit; subscribers still poll, because the row may sit behind an older open append.
        PERFORM pg_notify(p_channel, '');
`;

/** Version 5's: only when a channel is given; the store itself passes none and signals after the commit. */
const V5_NOTIFY = `        -- A NOTIFY in the appending transaction makes every notifying commit wait for the one before it, WAL
        -- flush included (PostgreSQL holds its notification queue lock through the commit), so appends stop scaling
        -- with concurrency. appendToStream passes no channel and notifies after the commit instead.
        IF p_channel IS NOT NULL THEN
          PERFORM pg_notify(p_channel, '');
        END IF;
`;

/**
 * How the append functions take the events' data and metadata: `texts`, a `text[]` of one JSON text per event, each
 * cast to `jsonb` when inserted (migrations 2–11); `jsonb`, one `jsonb` array each, its elements inserted as they are
 * (migration 12: the JSON is parsed once, on the way in).
 */
type PayloadForm = 'texts' | 'jsonb';

/** The parameter type of data and metadata, and how the events' rows are read from the arrays. */
function payloadOf(form: PayloadForm, arrays: string[]): { type: string; rows: string; data: string; metadata: string } {
  if (form === 'texts') return { type: 'text[]', rows: `unnest(${[...arrays, 'p_data', 'p_metadata', 'p_occurred_at'].join(', ')})`, data: 'data::jsonb', metadata: 'metadata::jsonb' };
  // ROWS FROM zips its functions' rows as a multi-argument unnest does; jsonb_array_elements hands out each element as stored.
  const unnests = arrays.map((a) => `unnest(${a})`).join(', ');
  return { type: 'jsonb', rows: `ROWS FROM (${unnests}, jsonb_array_elements(p_data), jsonb_array_elements(p_metadata), unnest(p_occurred_at))`, data: 'data', metadata: 'metadata' };
}

/** Migration 12's check that data and metadata are arrays of one element per event (DH005, as append_to_streams' other checks). */
function jsonbPayloadCheck(form: PayloadForm, count: string, name: string): string {
  if (form === 'texts') return '';
  return `        IF jsonb_typeof(p_data) IS DISTINCT FROM 'array' OR jsonb_typeof(p_metadata) IS DISTINCT FROM 'array'
           OR jsonb_array_length(p_data) IS DISTINCT FROM ${count} OR jsonb_array_length(p_metadata) IS DISTINCT FROM ${count} THEN
          RAISE EXCEPTION '${name}: data and metadata must be JSON arrays of one element per event' USING ERRCODE = 'DH005';
        END IF;
`;
}

/**
 * append_to_stream as of version 4 (writer lock before the transaction id), with the given notification step. With
 * `planned` (migration 13) none of its statements is planned per call: the retry check runs only when an event id is stored
 * already (an EXISTS probe whose plan is kept for the session), a stream the call creates is not looked up again, and
 * `enable_seqscan` is off inside the function so that a plan kept from a session's first calls on a near-empty table
 * is still an index lookup when the table has grown.
 */
function appendToStreamFunction(s: string, notify: string, form: PayloadForm = 'texts', planned = false): string {
  const payload = payloadOf(form, ['p_event_ids', 'p_types']);
  const created = planned
    ? `          INSERT INTO ${s}.streams (stream_id, revision) VALUES (p_stream_id, -1) ON CONFLICT DO NOTHING RETURNING revision INTO v_current;
          -- Not inserted: a concurrent creator committed it first (the insert waited for it); lock that row.
          IF NOT FOUND THEN
            SELECT s.revision INTO v_current FROM ${s}.streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
          END IF;
`
    : `          INSERT INTO ${s}.streams (stream_id, revision) VALUES (p_stream_id, -1) ON CONFLICT DO NOTHING;
          SELECT s.revision INTO v_current FROM ${s}.streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
`;
  return `      CREATE OR REPLACE FUNCTION ${s}.append_to_stream(
        p_stream_id text, p_expected text, p_event_ids uuid[], p_types text[], p_data ${payload.type}, p_metadata ${payload.type},
        p_occurred_at timestamptz[], p_channel text
      ) RETURNS TABLE (next_expected_revision bigint, global_position bigint)
      LANGUAGE plpgsql${planned ? ' SET enable_seqscan = off' : ''} AS $fn$
      #variable_conflict use_column
      DECLARE
        v_current bigint;
        v_count int := cardinality(p_event_ids);
        v_found int;
        v_first bigint;
        v_same_stream boolean;
        v_consecutive boolean;
        v_last_position bigint;
        v_last_revision bigint;
      BEGIN
${jsonbPayloadCheck(form, 'v_count', 'append_to_stream')}        -- A writer must be visible in the lock table before it has a transaction id (see ${s}.read_horizon): a
        -- transaction that wrote elsewhere first could be passed by a reader before it takes this lock.
        IF pg_current_xact_id_if_assigned() IS NOT NULL AND NOT EXISTS (
             SELECT 1 FROM pg_locks l WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'
                AND l.relation = '${s}.events'::regclass AND l.mode = 'RowExclusiveLock') THEN
          RAISE EXCEPTION 'append_to_stream must come before any other write of its transaction' USING ERRCODE = 'DH003';
        END IF;
        LOCK TABLE ${s}.events IN ROW EXCLUSIVE MODE;

        -- Serialise appends to one stream on its row; -1 means "no stream yet".
        SELECT s.revision INTO v_current FROM ${s}.streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
        IF NOT FOUND THEN
${created}        END IF;

        -- A retry of an append that is stored already returns the original result and writes nothing.
${planned ? `        -- (The join below was planned anew on every call, more CPU than the rest of a one-event append: only when needed.)
        v_found := 0;
        IF EXISTS (SELECT 1 FROM ${s}.events e WHERE e.event_id = ANY (p_event_ids)) THEN
` : ''}        SELECT count(*)::int,
               coalesce(bool_and(e.stream_id = p_stream_id), false),
               count(DISTINCT e.stream_revision - t.ord) = 1,
               max(e.stream_revision) FILTER (WHERE t.ord = 1),
               max(e.global_position) FILTER (WHERE t.ord = v_count),
               max(e.stream_revision) FILTER (WHERE t.ord = v_count)
          INTO v_found, v_same_stream, v_consecutive, v_first, v_last_position, v_last_revision
          FROM unnest(p_event_ids) WITH ORDINALITY AS t(id, ord)
          JOIN ${s}.events e ON e.event_id = t.id;
${planned ? '        END IF;\n' : ''}        IF v_found > 0 THEN
          IF v_found = v_count AND v_same_stream AND v_consecutive
             AND (p_expected IN ('any', 'stream_exists')
                  OR (p_expected = 'no_stream' AND v_first = 0)
                  OR (p_expected ~ '^-?[0-9]+$' AND v_first = p_expected::bigint + 1)) THEN
            RETURN QUERY SELECT v_last_revision, v_last_position;
            RETURN;
          END IF;
          RAISE EXCEPTION 'duplicate event ids in %', p_stream_id USING ERRCODE = 'DH002',
            DETAIL = (SELECT string_agg(e.event_id::text, ',') FROM ${s}.events e WHERE e.event_id = ANY (p_event_ids));
        END IF;

        IF NOT (p_expected = 'any'
                OR (p_expected = 'no_stream' AND v_current = -1)
                OR (p_expected = 'stream_exists' AND v_current >= 0)
                OR (p_expected ~ '^-?[0-9]+$' AND v_current = p_expected::bigint)) THEN
          RAISE EXCEPTION 'wrong expected revision % for %', p_expected, p_stream_id USING ERRCODE = 'DH001',
            DETAIL = v_current::text;
        END IF;

        WITH inserted AS (
          INSERT INTO ${s}.events (stream_id, stream_revision, event_id, type, data, metadata, occurred_at)
          SELECT p_stream_id, v_current + t.ord, t.id, t.type, t.${payload.data}, t.${payload.metadata}, t.occurred_at
            FROM ${payload.rows}
                 WITH ORDINALITY AS t(id, type, data, metadata, occurred_at, ord)
           ORDER BY t.ord
          RETURNING ${s}.events.global_position
        )
        SELECT max(inserted.global_position) INTO v_last_position FROM inserted;

        UPDATE ${s}.streams SET revision = v_current + v_count WHERE stream_id = p_stream_id;
${notify}        RETURN QUERY SELECT v_current + v_count, v_last_position;
      END
      $fn$;
`;
}

/**
 * The set-based append_to_streams of migration 9 (see there). With `storedFlag` (migration 11) each result row also
 * says whether its stream's events were found stored (`already_stored`: a retry answered with the stored result,
 * nothing written) or written by this call; otherwise the same text as migration 9.
 */
function appendToStreamsSetBased(s: string, storedFlag: boolean, form: PayloadForm = 'texts'): string {
  const payload = payloadOf(form, ['v_event_stream', 'v_event_ord', 'p_event_ids', 'p_types']);
  return `
      CREATE OR REPLACE FUNCTION ${s}.append_to_streams(
        p_stream_ids text[], p_expected text[], p_counts int[], p_event_ids uuid[], p_types text[], p_data ${payload.type},
        p_metadata ${payload.type}, p_occurred_at timestamptz[], p_channel text
      ) RETURNS TABLE (stream_index int, next_expected_revision bigint, global_position bigint${storedFlag ? ', already_stored boolean' : ''})
      LANGUAGE plpgsql AS $fn$
      #variable_conflict use_column
      DECLARE
        v_streams int := cardinality(p_stream_ids);
        v_event_stream int[];   -- per event: the index of its stream in p_stream_ids
        v_event_ord int[];      -- per event: its place in its stream's part of the batch, from 1
        v_valid boolean;
        v_created text[];
        v_current bigint[];     -- per stream: its revision when locked, -1 for none
        v_is_created boolean[];
        v_seen int;
        v_verdict text[];       -- per stream: append, stored, duplicate or wrong
        v_stored_rev bigint[];
        v_stored_pos bigint[];
        v_failed int;
        v_writers xid[];        -- per locked stream: the transaction that last wrote its row
        v_xid bigint;
      BEGIN
        IF v_streams IS NULL OR v_streams IS DISTINCT FROM cardinality(p_expected) OR v_streams IS DISTINCT FROM cardinality(p_counts) THEN
          RAISE EXCEPTION 'append_to_streams: stream ids, expected revisions and counts differ in length' USING ERRCODE = 'DH005';
        END IF;
        SELECT coalesce(bool_and(c.n >= 1), false) AND count(DISTINCT c.id) = v_streams AND count(c.id) = v_streams
          INTO v_valid FROM unnest(p_stream_ids, p_counts) AS c(id, n);
        IF NOT v_valid THEN
          RAISE EXCEPTION 'append_to_streams: every stream needs a distinct id and at least one event' USING ERRCODE = 'DH005';
        END IF;
        SELECT array_agg(c.idx ORDER BY c.idx, g.o), array_agg(g.o ORDER BY c.idx, g.o)
          INTO v_event_stream, v_event_ord
          FROM unnest(p_counts) WITH ORDINALITY AS c(n, idx), generate_series(1, c.n) AS g(o);
        IF cardinality(v_event_stream) IS DISTINCT FROM cardinality(p_event_ids) THEN
          RAISE EXCEPTION 'append_to_streams: counts do not add up to the events given' USING ERRCODE = 'DH005';
        END IF;
${jsonbPayloadCheck(form, 'cardinality(p_event_ids)', 'append_to_streams')}
        -- As append_to_stream: visible in the lock table as a writer of events before having a transaction id.
        IF pg_current_xact_id_if_assigned() IS NOT NULL AND NOT EXISTS (
             SELECT 1 FROM pg_locks l WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'
                AND l.relation = '${s}.events'::regclass AND l.mode = 'RowExclusiveLock') THEN
          RAISE EXCEPTION 'append_to_streams must come before any other write of its transaction' USING ERRCODE = 'DH003';
        END IF;
        LOCK TABLE ${s}.events IN ROW EXCLUSIVE MODE;

        -- Streams that do not exist yet, created at the revision this batch gives them; waits for a concurrent
        -- creator of the same stream (and then leaves it to step 3).
        WITH created AS (
          INSERT INTO ${s}.streams (stream_id, revision)
          SELECT c.id, c.n - 1 FROM unnest(p_stream_ids, p_counts) AS c(id, n) ORDER BY c.id COLLATE "C"
          ON CONFLICT DO NOTHING
          RETURNING ${s}.streams.stream_id
        )
        SELECT coalesce(array_agg(created.stream_id), '{}') INTO v_created FROM created;

        -- The streams that existed, locked in stream-id order.
        WITH existing AS (
          SELECT c.id FROM unnest(p_stream_ids) AS c(id)
          EXCEPT ALL
          SELECT n.id FROM unnest(v_created) AS n(id)
        ),
        locked AS MATERIALIZED (
          SELECT st.stream_id, st.revision, st.xmin AS writer FROM ${s}.streams st JOIN existing ON existing.id = st.stream_id
           ORDER BY st.stream_id COLLATE "C"
           FOR UPDATE OF st
        )
        SELECT array_agg(coalesce(l.revision, -1) ORDER BY c.idx), array_agg(n.id IS NOT NULL ORDER BY c.idx),
               count(l.stream_id) + count(n.id), coalesce(array_agg(l.writer) FILTER (WHERE l.writer IS NOT NULL), '{}')
          INTO v_current, v_is_created, v_seen, v_writers
          FROM unnest(p_stream_ids) WITH ORDINALITY AS c(id, idx)
          LEFT JOIN locked l ON l.stream_id = c.id
          LEFT JOIN unnest(v_created) AS n(id) ON n.id = c.id;
        IF v_seen IS DISTINCT FROM v_streams THEN
          RAISE EXCEPTION 'append_to_streams: % of % streams found after creating the missing ones', v_seen, v_streams USING ERRCODE = 'DH005';
        END IF;

        -- The log is in transaction-id order. This transaction took its id when it created or locked its first
        -- stream; if it then waited for a stream whose last writer (the xmin of its row) took a *newer* id, its
        -- events would come before that writer's in the log although they follow them in the stream. Migration 6
        -- appended them anyway (a subscriber could see revision 2 before 1); now the batch stops (DH006), nothing
        -- is written, and the store runs it again in a new transaction, whose id is newer.
        -- (Row ids are 32-bit: widened against this transaction's id. A younger id that is still in progress is
        -- one of this transaction's own subtransactions, not a writer it waited for.)
        v_xid := pg_current_xact_id()::text::bigint;
        IF (SELECT bool_or(pg_xact_status((v_xid + y.ahead)::text::xid8) = 'committed')
              FROM (SELECT (w.x::text::bigint - v_xid % 4294967296 + 4294967296) % 4294967296 AS ahead
                      FROM unnest(v_writers) AS w(x) WHERE w.x::text::bigint >= 3) y
             WHERE y.ahead BETWEEN 1 AND 2147483647) THEN
          RAISE EXCEPTION 'append_to_streams: a stream of the batch was written by a younger transaction while this one waited; run the batch again'
            USING ERRCODE = 'DH006';
        END IF;

        -- A new statement: its snapshot is younger than the locks. Stored ids and each stream's verdict.
        WITH st AS (
          SELECT c.idx::int AS idx, c.id, c.expected, c.n, c.cur
            FROM unnest(p_stream_ids, p_expected, p_counts, v_current) WITH ORDINALITY AS c(id, expected, n, cur, idx)
        ),
        hits AS (
          SELECT x.sidx, count(*)::int AS found,
                 bool_and(e.stream_id = st.id) AS same_stream,
                 count(DISTINCT e.stream_revision - x.ord) = 1 AS consecutive,
                 max(e.stream_revision) FILTER (WHERE x.ord = 1) AS first_rev,
                 max(e.global_position) FILTER (WHERE x.ord = st.n) AS last_pos,
                 max(e.stream_revision) FILTER (WHERE x.ord = st.n) AS last_rev
            FROM unnest(v_event_stream, v_event_ord, p_event_ids) AS x(sidx, ord, id)
            JOIN st ON st.idx = x.sidx
            JOIN ${s}.events e ON e.event_id = x.id
           GROUP BY x.sidx
        ),
        judged AS (
          SELECT st.idx, st.id, h.last_rev, h.last_pos,
                 CASE
                   WHEN h.found IS NULL THEN
                     CASE WHEN st.expected = 'any' THEN 'append'
                          WHEN st.expected = 'no_stream' THEN CASE WHEN st.cur = -1 THEN 'append' ELSE 'wrong' END
                          WHEN st.expected = 'stream_exists' THEN CASE WHEN st.cur >= 0 THEN 'append' ELSE 'wrong' END
                          WHEN st.expected ~ '^-?[0-9]+$' THEN CASE WHEN st.cur = st.expected::bigint THEN 'append' ELSE 'wrong' END
                          ELSE 'wrong' END
                   WHEN h.found = st.n AND h.same_stream AND h.consecutive THEN
                     CASE WHEN st.expected IN ('any', 'stream_exists') THEN 'stored'
                          WHEN st.expected = 'no_stream' THEN CASE WHEN h.first_rev = 0 THEN 'stored' ELSE 'duplicate' END
                          WHEN st.expected ~ '^-?[0-9]+$' THEN CASE WHEN h.first_rev = st.expected::bigint + 1 THEN 'stored' ELSE 'duplicate' END
                          ELSE 'duplicate' END
                   ELSE 'duplicate'
                 END AS verdict
            FROM st LEFT JOIN hits h ON h.sidx = st.idx
        )
        SELECT array_agg(j.verdict ORDER BY j.idx), array_agg(j.last_rev ORDER BY j.idx), array_agg(j.last_pos ORDER BY j.idx),
               (array_agg(j.idx ORDER BY j.id COLLATE "C") FILTER (WHERE j.verdict IN ('duplicate', 'wrong')))[1]
          INTO v_verdict, v_stored_rev, v_stored_pos, v_failed
          FROM judged j;

        IF v_failed IS NOT NULL THEN
          IF v_verdict[v_failed] = 'duplicate' THEN
            RAISE EXCEPTION 'duplicate event ids in %', p_stream_ids[v_failed] USING ERRCODE = 'DH002',
              DETAIL = (SELECT string_agg(e.event_id::text, ',') FROM ${s}.events e WHERE e.event_id = ANY (
                          ARRAY(SELECT x.id FROM unnest(v_event_stream, p_event_ids) AS x(sidx, id) WHERE x.sidx = v_failed)));
          END IF;
          RAISE EXCEPTION 'wrong expected revision % for %', p_expected[v_failed], p_stream_ids[v_failed] USING ERRCODE = 'DH001',
            DETAIL = v_current[v_failed]::text;
        END IF;

        RETURN QUERY
          WITH st AS (
            SELECT c.idx::int AS idx, c.id, c.n, c.cur, c.created, c.verdict, c.stored_rev, c.stored_pos
              FROM unnest(p_stream_ids, p_counts, v_current, v_is_created, v_verdict, v_stored_rev, v_stored_pos)
                   WITH ORDINALITY AS c(id, n, cur, created, verdict, stored_rev, stored_pos, idx)
          ),
          inserted AS (
            INSERT INTO ${s}.events (stream_id, stream_revision, event_id, type, data, metadata, occurred_at)
            SELECT st.id, st.cur + x.ord, x.id, x.type, x.${payload.data}, x.${payload.metadata}, x.occurred_at
              FROM ${payload.rows}
                   AS x(sidx, ord, id, type, data, metadata, occurred_at)
              JOIN st ON st.idx = x.sidx
             WHERE st.verdict = 'append'
             ORDER BY st.id COLLATE "C", x.ord
            RETURNING ${s}.events.stream_id, ${s}.events.global_position
          ),
          updated AS (
            UPDATE ${s}.streams t SET revision = st.cur + st.n
              FROM st WHERE t.stream_id = st.id AND st.verdict = 'append' AND NOT st.created
          ),
          last AS (SELECT i.stream_id, max(i.global_position) AS pos FROM inserted i GROUP BY i.stream_id)
          SELECT st.idx,
                 CASE WHEN st.verdict = 'append' THEN st.cur + st.n ELSE st.stored_rev END,
                 CASE WHEN st.verdict = 'append' THEN last.pos ELSE st.stored_pos END${storedFlag ? `,
                 st.verdict = 'stored'` : ''}
            FROM st LEFT JOIN last ON last.stream_id = st.id
           ORDER BY st.id COLLATE "C";

        IF p_channel IS NOT NULL THEN
          PERFORM pg_notify(p_channel, '');
        END IF;
      END
      $fn$;
    `;
}

export const EVENT_STORE_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'events, streams and append function',
    sql: (s) => `
      CREATE SEQUENCE ${s}.events_global_position_seq;
      CREATE TABLE ${s}.streams (
        stream_id text PRIMARY KEY,
        revision bigint NOT NULL
      );
      CREATE TABLE ${s}.events (
        global_position bigint NOT NULL DEFAULT nextval('${s}.events_global_position_seq') UNIQUE,
        transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
        stream_id text NOT NULL,
        stream_revision bigint NOT NULL,
        event_id uuid NOT NULL UNIQUE,
        type text NOT NULL,
        data jsonb NOT NULL,
        metadata jsonb NOT NULL,
        occurred_at timestamptz NOT NULL,
        -- millisecond precision, so a recordedAt handed out as a JS Date is a valid asOf bound for itself
        recorded_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
        PRIMARY KEY (stream_id, stream_revision)
      );
      ALTER SEQUENCE ${s}.events_global_position_seq OWNED BY ${s}.events.global_position;
      CREATE INDEX events_transaction_position_idx ON ${s}.events (transaction_id, global_position);
      CREATE INDEX events_stream_recorded_idx ON ${s}.events (stream_id, recorded_at);
    `,
  },
  {
    version: 2,
    name: 'append_to_stream',
    sql: (s) => `
      CREATE FUNCTION ${s}.append_to_stream(
        p_stream_id text, p_expected text, p_event_ids uuid[], p_types text[], p_data text[], p_metadata text[],
        p_occurred_at timestamptz[], p_channel text
      ) RETURNS TABLE (next_expected_revision bigint, global_position bigint)
      LANGUAGE plpgsql AS $fn$
      #variable_conflict use_column
      DECLARE
        v_current bigint;
        v_count int := cardinality(p_event_ids);
        v_found int;
        v_first bigint;
        v_same_stream boolean;
        v_consecutive boolean;
        v_last_position bigint;
        v_last_revision bigint;
      BEGIN
        -- Serialise appends to one stream on its row; -1 means "no stream yet".
        SELECT s.revision INTO v_current FROM ${s}.streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
        IF NOT FOUND THEN
          INSERT INTO ${s}.streams (stream_id, revision) VALUES (p_stream_id, -1) ON CONFLICT DO NOTHING;
          SELECT s.revision INTO v_current FROM ${s}.streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
        END IF;

        -- A retry of an append that is stored already returns the original result and writes nothing.
        SELECT count(*)::int,
               coalesce(bool_and(e.stream_id = p_stream_id), false),
               count(DISTINCT e.stream_revision - t.ord) = 1,
               max(e.stream_revision) FILTER (WHERE t.ord = 1),
               max(e.global_position) FILTER (WHERE t.ord = v_count),
               max(e.stream_revision) FILTER (WHERE t.ord = v_count)
          INTO v_found, v_same_stream, v_consecutive, v_first, v_last_position, v_last_revision
          FROM unnest(p_event_ids) WITH ORDINALITY AS t(id, ord)
          JOIN ${s}.events e ON e.event_id = t.id;
        IF v_found > 0 THEN
          IF v_found = v_count AND v_same_stream AND v_consecutive
             AND (p_expected IN ('any', 'stream_exists')
                  OR (p_expected = 'no_stream' AND v_first = 0)
                  OR (p_expected ~ '^-?[0-9]+$' AND v_first = p_expected::bigint + 1)) THEN
            RETURN QUERY SELECT v_last_revision, v_last_position;
            RETURN;
          END IF;
          RAISE EXCEPTION 'duplicate event ids in %', p_stream_id USING ERRCODE = 'DH002',
            DETAIL = (SELECT string_agg(e.event_id::text, ',') FROM ${s}.events e WHERE e.event_id = ANY (p_event_ids));
        END IF;

        IF NOT (p_expected = 'any'
                OR (p_expected = 'no_stream' AND v_current = -1)
                OR (p_expected = 'stream_exists' AND v_current >= 0)
                OR (p_expected ~ '^-?[0-9]+$' AND v_current = p_expected::bigint)) THEN
          RAISE EXCEPTION 'wrong expected revision % for %', p_expected, p_stream_id USING ERRCODE = 'DH001',
            DETAIL = v_current::text;
        END IF;

        WITH inserted AS (
          INSERT INTO ${s}.events (stream_id, stream_revision, event_id, type, data, metadata, occurred_at)
          SELECT p_stream_id, v_current + t.ord, t.id, t.type, t.data::jsonb, t.metadata::jsonb, t.occurred_at
            FROM unnest(p_event_ids, p_types, p_data, p_metadata, p_occurred_at)
                 WITH ORDINALITY AS t(id, type, data, metadata, occurred_at, ord)
           ORDER BY t.ord
          RETURNING ${s}.events.global_position
        )
        SELECT max(inserted.global_position) INTO v_last_position FROM inserted;

        UPDATE ${s}.streams SET revision = v_current + v_count WHERE stream_id = p_stream_id;
        -- Delivered at commit; subscribers still poll, because the row may sit behind an older open transaction.
        PERFORM pg_notify(p_channel, '');
        RETURN QUERY SELECT v_current + v_count, v_last_position;
      END
      $fn$;
    `,
  },
  {
    version: 3,
    name: 'causation and correlation indexes (dispute desk)',
    // Support follows "which event caused which" across streams; without these a lookup scans the log.
    sql: (s) => `
      CREATE INDEX IF NOT EXISTS events_causation_idx ON ${s}.events ((metadata->>'causationId'));
      CREATE INDEX IF NOT EXISTS events_correlation_idx ON ${s}.events ((metadata->>'correlationId'));
    `,
  },
  {
    version: 4,
    name: 'read horizon of the store\'s own writers (no stall behind unrelated transactions)',
    // See the README ("Why the log is ordered ..."): readers wait only for transactions that write events, not for
    // every transaction on the cluster. An appender takes ROW EXCLUSIVE on the events table *before* it has a
    // transaction id; a reader takes the horizon from the lock table, then reads with a newer snapshot.
    sql: (s) => `
${appendToStreamFunction(s, V4_NOTIFY)}
      -- The oldest transaction id that may still add events: the oldest one among the transactions holding
      -- ROW EXCLUSIVE on the events table (appenders, and anything else writing to it), or, with none, the first
      -- id not yet handed out when this statement's snapshot was taken. Transactions that never touch the events
      -- table (other services' long work, an operator's open psql session) are not waited for.
      CREATE FUNCTION ${s}.read_horizon() RETURNS xid8 LANGUAGE sql VOLATILE AS $h$
        WITH snap AS (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax),
        locks AS MATERIALIZED (SELECT locktype, database, relation, mode, granted, virtualtransaction, transactionid FROM pg_locks),
        writers AS (
          SELECT x.transactionid::text::bigint AS xid32
            FROM locks r JOIN locks x ON x.virtualtransaction = r.virtualtransaction AND x.locktype = 'transactionid' AND x.mode = 'ExclusiveLock'
           WHERE r.locktype = 'relation' AND r.relation = '${s}.events'::regclass AND r.mode = 'RowExclusiveLock'
             AND r.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        ),
        -- pg_locks shows 32-bit ids: widen each against the snapshot's xmax (ids handed out after it are ignored).
        widened AS (
          SELECT snap.xmax - (((snap.xmax % 4294967296) - w.xid32 + 4294967296) % 4294967296) AS xid64, 
                 (((snap.xmax % 4294967296) - w.xid32 + 4294967296) % 4294967296) AS behind
            FROM writers w, snap
        )
        SELECT (least((SELECT xmax FROM snap), (SELECT min(xid64) FROM widened WHERE behind BETWEEN 1 AND 2147483647)))::text::xid8
      $h$;

      -- readAll's batch: the horizon first, then the events with a snapshot taken after it (a VOLATILE function takes
      -- a new snapshot for each statement under READ COMMITTED): every writer older than the horizon had finished
      -- before the lock table was read, so its events are visible to the second statement or were rolled back.
      CREATE FUNCTION ${s}.read_all(p_after_xid xid8, p_after_position bigint, p_max int)
      RETURNS SETOF ${s}.events LANGUAGE plpgsql VOLATILE AS $r$
      DECLARE
        v_horizon xid8;
      BEGIN
        IF current_setting('transaction_isolation') <> 'read committed' THEN
          RAISE EXCEPTION 'read_all needs READ COMMITTED (a new snapshot per statement), not %', current_setting('transaction_isolation') USING ERRCODE = 'DH004';
        END IF;
        SELECT h INTO v_horizon FROM ${s}.read_horizon() AS h;
        RETURN QUERY
          SELECT e.* FROM ${s}.events e
           WHERE (e.transaction_id, e.global_position) > (p_after_xid, p_after_position)
             AND e.transaction_id < v_horizon
           ORDER BY e.transaction_id, e.global_position
           LIMIT p_max;
      END
      $r$;
    `,
  },
  {
    version: 5,
    name: 'appends notify after their commit (concurrent appends share WAL flushes)',
    sql: (s) => appendToStreamFunction(s, V5_NOTIFY),
  },
  {
    version: 6,
    name: 'append_to_streams (several streams in one transaction)',
    // One statement, one transaction: append_to_stream for each stream, in stream id order so two batches
    // sharing streams lock them in the same order (no deadlock). Any error rolls back the whole batch.
    sql: (s) => `
      CREATE FUNCTION ${s}.append_to_streams(
        p_stream_ids text[], p_expected text[], p_counts int[], p_event_ids uuid[], p_types text[], p_data text[],
        p_metadata text[], p_occurred_at timestamptz[], p_channel text
      ) RETURNS TABLE (stream_index int, next_expected_revision bigint, global_position bigint)
      LANGUAGE plpgsql AS $fn$
      #variable_conflict use_column
      DECLARE
        v_starts int[] := '{}';
        v_next int := 1;
        v_idx int;
        v_from int;
        v_to int;
      BEGIN
        IF cardinality(p_stream_ids) IS DISTINCT FROM cardinality(p_expected) OR cardinality(p_stream_ids) IS DISTINCT FROM cardinality(p_counts) THEN
          RAISE EXCEPTION 'append_to_streams: stream ids, expected revisions and counts differ in length' USING ERRCODE = 'DH005';
        END IF;
        FOR v_idx IN 1 .. cardinality(p_stream_ids) LOOP
          v_starts := v_starts || v_next;
          v_next := v_next + p_counts[v_idx];
        END LOOP;
        IF v_next - 1 IS DISTINCT FROM cardinality(p_event_ids) THEN
          RAISE EXCEPTION 'append_to_streams: counts do not add up to the events given' USING ERRCODE = 'DH005';
        END IF;
        FOR v_idx IN SELECT t.ord FROM unnest(p_stream_ids) WITH ORDINALITY AS t(id, ord) ORDER BY t.id COLLATE "C" LOOP
          v_from := v_starts[v_idx];
          v_to := v_from + p_counts[v_idx] - 1;
          RETURN QUERY
            SELECT v_idx, a.next_expected_revision, a.global_position
              FROM ${s}.append_to_stream(p_stream_ids[v_idx], p_expected[v_idx], p_event_ids[v_from:v_to], p_types[v_from:v_to],
                                          p_data[v_from:v_to], p_metadata[v_from:v_to], p_occurred_at[v_from:v_to], p_channel) a;
        END LOOP;
      END
      $fn$;
    `,
  },
  {
    version: 7,
    name: 'read horizon also sees writers between taking their transaction id and its lock',
    // PostgreSQL publishes a new transaction id in the proc array (so a snapshot counts it as running, below its
    // xmax) before it inserts the id's lock; a writer stalled between the two (descheduled on a loaded host, or
    // waiting for the lock partition that pg_locks itself holds while it is read) is in the lock table only with
    // ROW EXCLUSIVE on the events table and no transaction id. The horizon then skipped it, a later writer's
    // events were read, and the stalled writer's events, committed behind the reader's checkpoint, were never
    // read. pg_stat_activity.backend_xid shows the id from the moment it is assigned: the holders of the lock are
    // looked up there too (after discarding the session's cached activity snapshot). Needs the same role, or
    // pg_read_all_stats, to see other sessions' ids; without it the horizon is what it was.
    sql: (s) => `
      CREATE OR REPLACE FUNCTION ${s}.read_horizon() RETURNS xid8 LANGUAGE sql VOLATILE AS $h$
        SELECT pg_stat_clear_snapshot();
        WITH snap AS (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax),
        locks AS MATERIALIZED (SELECT pid, locktype, database, relation, mode, granted, virtualtransaction, transactionid FROM pg_locks),
        holders AS (
          SELECT r.pid, r.virtualtransaction FROM locks r
           WHERE r.locktype = 'relation' AND r.relation = '${s}.events'::regclass AND r.mode = 'RowExclusiveLock'
             AND r.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        ),
        writers AS (
          SELECT x.transactionid::text::bigint AS xid32
            FROM holders h JOIN locks x ON x.virtualtransaction = h.virtualtransaction AND x.locktype = 'transactionid' AND x.mode = 'ExclusiveLock'
          UNION ALL
          SELECT a.backend_xid::text::bigint FROM holders h JOIN pg_stat_activity a ON a.pid = h.pid WHERE a.backend_xid IS NOT NULL
        ),
        -- 32-bit ids: widen each against the snapshot's xmax (ids handed out after it are ignored).
        widened AS (
          SELECT snap.xmax - (((snap.xmax % 4294967296) - w.xid32 + 4294967296) % 4294967296) AS xid64,
                 (((snap.xmax % 4294967296) - w.xid32 + 4294967296) % 4294967296) AS behind
            FROM writers w, snap
        )
        SELECT (least((SELECT xmax FROM snap), (SELECT min(xid64) FROM widened WHERE behind BETWEEN 1 AND 2147483647)))::text::xid8
      $h$;
    `,
  },
  {
    version: 8,
    name: 'read horizon in PL/pgSQL (its plan is kept per session instead of planned on every read)',
    // Migration 7's horizon is a LANGUAGE sql function of two statements: PostgreSQL cannot inline it, so
    // read_all planned its query (pg_locks, pg_stat_activity and its joins) on every call: 1-5 ms a read on an idle
    // machine, 10-40 ms on the loaded bench machine, against 0.1-0.2 ms executing it, and the relay reads the log
    // in a loop. The same statements in PL/pgSQL keep their plan for the session; each still runs with a new
    // snapshot (a VOLATILE function under READ COMMITTED), so the reasoning of migrations 4 and 7 is unchanged.
    sql: (s) => `
      CREATE OR REPLACE FUNCTION ${s}.read_horizon() RETURNS xid8 LANGUAGE plpgsql VOLATILE AS $h$
      DECLARE
        v_horizon xid8;
      BEGIN
        PERFORM pg_stat_clear_snapshot();
          WITH snap AS (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax),
          locks AS MATERIALIZED (SELECT pid, locktype, database, relation, mode, granted, virtualtransaction, transactionid FROM pg_locks),
          holders AS (
            SELECT r.pid, r.virtualtransaction FROM locks r
             WHERE r.locktype = 'relation' AND r.relation = '${s}.events'::regclass AND r.mode = 'RowExclusiveLock'
               AND r.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          ),
          writers AS (
            SELECT x.transactionid::text::bigint AS xid32
              FROM holders h JOIN locks x ON x.virtualtransaction = h.virtualtransaction AND x.locktype = 'transactionid' AND x.mode = 'ExclusiveLock'
            UNION ALL
            SELECT a.backend_xid::text::bigint FROM holders h JOIN pg_stat_activity a ON a.pid = h.pid WHERE a.backend_xid IS NOT NULL
          ),
          -- 32-bit ids: widen each against the snapshot's xmax (ids handed out after it are ignored).
          widened AS (
            SELECT snap.xmax - (((snap.xmax % 4294967296) - w.xid32 + 4294967296) % 4294967296) AS xid64,
                   (((snap.xmax % 4294967296) - w.xid32 + 4294967296) % 4294967296) AS behind
              FROM writers w, snap
          )
          SELECT (least((SELECT xmax FROM snap), (SELECT min(xid64) FROM widened WHERE behind BETWEEN 1 AND 2147483647)))::text::xid8 INTO v_horizon;
        RETURN v_horizon;
      END
      $h$;
    `,
  },
  {
    version: 9,
    name: 'append_to_streams set-based (a few statements per batch instead of append_to_stream per stream)',
    // Migration 6 called append_to_stream once per stream: per stream a function call, two lookups of its row, the
    // first-write check (a scan of pg_locks, once the batch had a transaction id), the idempotency query, the events
    // insert and the row update. A settlement run appending hundreds of new invoice streams per transaction spent
    // about half the database's time there. Same signature, results, errors and guarantees, in a fixed number of
    // statements per batch:
    //  1. the first-write check and ROW EXCLUSIVE on the events table, as append_to_stream (read horizon, migration 4);
    //  2. one INSERT … ON CONFLICT DO NOTHING of the streams rows, in stream-id order ("C"): the streams it creates
    //     are new, locked by the insert and seen by no one else until commit, so they are written at their final
    //     revision at once (a failure rolls the whole batch back);
    //  3. one SELECT … ORDER BY stream id ("C") FOR UPDATE of the streams that existed: locks in a fixed order, so two
    //     batches sharing streams cannot deadlock (rows are locked in sort order; a created row was taken in step 2,
    //     also in order);
    //  4. in a new statement, so with a snapshot taken after the locks (events a concurrent batch committed while
    //     this one waited are seen): the stored event ids of the whole batch in one join, and each stream judged:
    //     stored (a retry: answered as stored, nothing written), duplicate (DH002), wrong revision (DH001) or to
    //     append. The first failing stream in stream-id order is reported, as migration 6 did, with its messages;
    //  5. one INSERT … SELECT of every event to append in stream-id order, then event order (global positions in
    //     the order migration 6 gave them), one UPDATE of the existing streams, and the results.
    sql: (s) => appendToStreamsSetBased(s, false),
  },
  {
    version: 10,
    name: 'events data and metadata compressed with lz4 instead of pglz',
    // A row over ~2 KB (TOAST_TUPLE_THRESHOLD) has its largest value compressed inline; an inbox
    // ValidatedMeasureDataReceived (96 Wh as jsonb numerics, ~1.7 KB, plus its metadata) is one, every time. With the
    // default pglz that compression was about half of the backend's CPU for a 100-event append (perf, 2026-12-06:
    // pglz_compress 42 % of the samples; 9.7-10.4 -> 5.4-5.8 ms CPU per 100 rows with lz4). lz4 compresses and
    // decompresses (every read of the log) several times faster at a slightly larger size. Applies to rows written
    // from now on; rows stored before stay pglz and read as before. A server built without lz4 keeps pglz.
    sql: (s) => `
      DO $lz4$
      BEGIN
        ALTER TABLE ${s}.events ALTER COLUMN data SET COMPRESSION lz4, ALTER COLUMN metadata SET COMPRESSION lz4;
      EXCEPTION WHEN feature_not_supported THEN
        RAISE NOTICE 'this server has no lz4: events keep pglz compression';
      END
      $lz4$;
    `,
  },
  {
    version: 11,
    name: 'append_to_streams says per stream whether its events were written now or found stored (a retry)',
    // The DataHub inbox read each document's stream before appending it, only to tell a redelivered document (answered
    // as a retry) from a new one: a round trip per document on its serial path. With this column the append itself
    // says so (RetryAwareAppend). Same arguments, checks, errors and results otherwise; callers that select the
    // other columns by name are unaffected. The return type changes, so the function is dropped and created again
    // (in this migration's transaction).
    sql: (s) => `
      DROP FUNCTION ${s}.append_to_streams(text[], text[], int[], uuid[], text[], text[], text[], timestamptz[], text);
${appendToStreamsSetBased(s, true)}`,
  },
  {
    version: 12,
    name: 'append functions taking data and metadata as one jsonb array each (the JSON parsed once)',
    // The store passed each as one JSON array text, split on the server into a text per event
    // (json_array_elements(...)::text) and cast to jsonb when inserted: the JSON was lexed three times (json_in's
    // check, the split, jsonb_in), about 1 ms of backend CPU per 100 inbox events. As one jsonb parameter each it is
    // parsed once, by jsonb_in on the way in; jsonb_array_elements hands out each event's jsonb as stored, so the
    // stored values are the same. Same checks, errors and results otherwise, and a new one: DH005 when data or
    // metadata is not an array of one element per event. New signatures beside the old ones (PostgreSQL tells them
    // apart by the argument types): a process of the previous release still calls the text-array functions of
    // migrations 5 and 11 during a rolling deploy; they can be dropped once no such process runs.
    sql: (s) => `
${appendToStreamFunction(s, V5_NOTIFY, 'jsonb')}
${appendToStreamsSetBased(s, true, 'jsonb')}`,
  },
  {
    version: 13,
    name: 'append_to_stream plans none of its statements per call',
    // Of a one-event append's ~600 µs of backend CPU (the lag benchmark's appends, 2026-12-06), ~120 µs were the
    // planning of the retry check: PostgreSQL kept no plan of its join of unnest(p_event_ids) with the events table,
    // because the generic plan, costed for the 100 rows unnest is assumed to give, always lost to a custom plan for
    // the array at hand, so it was planned anew on every call. The join now runs only when an EXISTS probe finds an
    // event id stored already (a retry or a duplicate: same results and errors, with a snapshot at least as new), and
    // the probe's generic plan is kept. enable_seqscan is off inside the function: a plan kept for the session is
    // made on its first calls, and on a new, near-empty events table that plan would be a sequential scan, kept while
    // the table grows. A stream the call creates is not looked up again after its insert (the insert's RETURNING
    // gives its revision, -1; a concurrent creator's row is locked as before). Same signature and results otherwise;
    // the text-array overload of migration 5 (previous release during a rolling deploy) is left as it is.
    sql: (s) => appendToStreamFunction(s, V5_NOTIFY, 'jsonb', true),
  },
];

/**
 * Applies the migrations not applied yet, in order, each in its own transaction, under an advisory
 * lock so that processes starting together take turns.
 */
export async function runMigrations(pool: Pool, schema: string, migrations: Migration[] = EVENT_STORE_MIGRATIONS): Promise<number[]> {
  const s = quoteIdent(schema);
  const client = await pool.connect();
  const lockKey = `event_store_migrations:${schema}`;
  let applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const done = await client.query<{ version: number }>(`SELECT version FROM ${s}.schema_migrations`);
      const have = new Set(done.rows.map((r) => r.version));
      const todo = [...migrations].sort((a, b) => a.version - b.version).filter((m) => !have.has(m.version));
      for (const migration of todo) {
        await client.query('BEGIN');
        try {
          await client.query(migration.sql(s));
          await client.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
      }
      applied = todo.map((m) => m.version);
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]);
    }
  } finally {
    client.release();
  }
  return applied;
}
