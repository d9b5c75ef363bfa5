import { randomUUID } from 'node:crypto';
import { deterministicEventId, type JsonObject, type JsonValue } from '@dh/event-store';
import { CommandError, CommandServer, consoleMessagingLogger, startConsumer, type RunningConsumer } from '@dh/messaging';
import type { Infrastructure } from '@dh/platform';
import {
  DATAHUB_RESULTS_REQUESTED,
  changeFindingState,
  findingStreamId,
  periodOf,
  reconciliationMetadata,
  resultsRequestStreamId,
  type DataHubResultsRequested,
} from '@dh/reconciliation-application';
import { FindingTransitionError } from '@dh/reconciliation-domain';
import { RECONCILIATION_INPUT_BINDINGS, applyInput, scheduleRun } from './inputs-consumer';
import { RunActivity, refreshFinding, runOnce, takeDueRun, type RunSettings } from './runs';
import { RECONCILIATION_SCHEMA, migrateReconciliation } from './schema';

export const RECONCILIATION_INPUTS_QUEUE = 'reconciliation.inputs';
export const RECONCILIATION_SERVICE = 'reconciliation';

export interface ReconciliationRuntimeOptions extends RunSettings {
  /** Quiet time after the last DataHub result document before a run (DataHub sends a result as many documents). */
  readonly delayMs?: number;
  /** How often due runs are looked for. */
  readonly pollMs?: number;
  /** Serve commands on `commands.reconciliation`. Default true. */
  readonly commands?: boolean;
  /** A run busy longer than this is logged with what it is waiting on (and again every such interval). Default 60 000. */
  readonly slowRunMs?: number;
}

export interface ReconciliationRuntime {
  readonly inputs: RunningConsumer;
  /** Runs every due run now (tests and the demo), returning how many ran. */
  runDue(): Promise<number>;
  stop(): Promise<void>;
}

const objectOf = (payload: JsonValue): JsonObject => {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new CommandError('validation', 'payload must be an object');
  return payload;
};
const field = (p: JsonObject, name: string, pattern: RegExp, what: string): string => {
  const v = p[name];
  if (typeof v !== 'string' || !pattern.test(v)) throw new CommandError('validation', `${name} must be ${what}`, { field: name });
  return v;
};
const GRID_AREA = /^\d{3}$/;
const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The reconciliation service: its inputs consumer (copies, DataHub results, scheduling), a scheduler that runs due
 * grid-area months one at a time per replica (`FOR UPDATE SKIP LOCKED`), and its commands and queries.
 */
export async function startReconciliationRuntime(infrastructure: Infrastructure, options: ReconciliationRuntimeOptions): Promise<ReconciliationRuntime> {
  const { pool, eventStore: store, amqp } = infrastructure;
  await migrateReconciliation(pool);
  const delayMs = options.delayMs ?? 3000;
  const now = () => infrastructure.clock.now();
  const inputs = await startConsumer({
    connection: amqp,
    pool,
    queue: RECONCILIATION_INPUTS_QUEUE,
    bindings: RECONCILIATION_INPUT_BINDINGS,
    eventStore: store,
    exchange: infrastructure.config.exchange,
    schema: RECONCILIATION_SCHEMA,
    singleActiveConsumer: true,
    onFailure: 'halt',
    backoff: { initialDelayMs: 200, factor: 2, maxDelayMs: 5000 },
    handler: (envelope, tx) => applyInput(envelope, tx, { supplierGln: options.supplierGln, delayMs }),
  });

  // One scheduler pass at a time; `current` is what it is doing, for the watchdog below.
  let running: Promise<number> | null = null;
  let current: { what: string; since: number; warnedAt: number; activity: RunActivity } | null = null;
  const runDue = (): Promise<number> => {
    running ??= (async () => {
      let n = 0;
      const taking = (): Promise<{ gridArea: string; period: string } | null> => {
        const activity = new RunActivity();
        current = { what: 'taking the next due run', since: Date.now(), warnedAt: 0, activity };
        return activity.track('takeDueRun', () => takeDueRun(pool));
      };
      for (let due = await taking(); due !== null; due = await taking()) {
        const activity = new RunActivity();
        current = { what: `the reconciliation of grid area ${due.gridArea} for ${due.period}`, since: Date.now(), warnedAt: 0, activity };
        try {
          await runOnce({ pool, store, now }, options, due.gridArea, due.period, activity);
          n++;
        } catch (error) {
          // Kept for a later attempt, never dropped; said in the log, as the scheduler's own catch keeps quiet.
          const reason = error instanceof Error ? error.message : String(error);
          consoleMessagingLogger.warn(`reconciliation of grid area ${due.gridArea} for ${due.period} failed, retried in ${Math.max(delayMs, 5000)} ms: ${reason}`);
          await scheduleRun(pool, due.gridArea, due.period, `retry after ${reason}`.slice(0, 500), Math.max(delayMs, 5000));
          throw error;
        }
      }
      return n;
    })().finally(() => {
      running = null;
      current = null;
    });
    return running;
  };
  const timer = setInterval(() => void runDue().catch(() => undefined), options.pollMs ?? 1000);
  // A pass that never ends stops every later run (one pass at a time): say what it waits on, so it is seen.
  const slowRunMs = options.slowRunMs ?? 60_000;
  const watchdog = setInterval(() => {
    const c = current;
    const at = Date.now();
    if (c === null || at - c.since < slowRunMs || at - c.warnedAt < slowRunMs) return;
    c.warnedAt = at;
    consoleMessagingLogger.warn(
      `reconciliation scheduler: ${c.what} has taken ${Math.round((at - c.since) / 1000)} s and holds up every later run; waiting on: ${c.activity.describe(at)} ` +
        `(database pool: ${pool.totalCount} connections, ${pool.idleCount} idle, ${pool.waitingCount} callers waiting)`,
    );
  }, Math.min(slowRunMs, 10_000));
  watchdog.unref();

  let server: CommandServer | null = null;
  if (options.commands ?? true) {
    server = new CommandServer({ connection: amqp });
    await server.handle(RECONCILIATION_SERVICE, {
      RunReconciliation: async (payload) => {
        const p = objectOf(payload);
        const gridArea = field(p, 'gridArea', GRID_AREA, 'a 3-digit grid area');
        const period = field(p, 'period', PERIOD, 'a month YYYY-MM');
        await scheduleRun(pool, gridArea, period, 'asked for', 0);
        return { gridArea, period, scheduled: true };
      },
      GetReconciliationReport: async (payload) => {
        const p = objectOf(payload);
        const gridArea = field(p, 'gridArea', GRID_AREA, 'a 3-digit grid area');
        const period = field(p, 'period', PERIOD, 'a month YYYY-MM');
        // The latest report is the one stored last: business clocks of runs need not be in order (a simulator's clock,
        // replicas' clocks), and a new run's report must not hide behind an older one with a later completed_at.
        const report = await pool.query<{ summary: JsonObject; report: JsonObject }>(
          `SELECT summary, report FROM reconciliation.reports WHERE grid_area = $1 AND period = $2 ORDER BY seq DESC LIMIT 1`,
          [gridArea, period],
        );
        const row = report.rows[0];
        if (!row) throw new CommandError('not-found', `No reconciliation of grid area ${gridArea} for ${period} yet`);
        const results = await pool.query<{ kind: string; business_reason: string; settlement_version: string | null; calculation_version: number | null; received_at: Date; series: string }>(
          `SELECT kind, business_reason, settlement_version, calculation_version, max(received_at) AS received_at, count(*)::text AS series
             FROM reconciliation.datahub_results WHERE grid_area = $1 AND period = $2
            GROUP BY kind, business_reason, settlement_version, calculation_version ORDER BY max(received_at)`,
          [gridArea, period],
        );
        const findings = await pool.query<{ finding_id: string; state: string; facts: JsonObject }>(`SELECT finding_id, state, facts FROM reconciliation.findings WHERE grid_area = $1 AND period = $2 ORDER BY kind, finding_id`, [gridArea, period]);
        return {
          summary: row.summary,
          report: row.report,
          datahubResults: results.rows.map((r) => ({
            kind: r.kind,
            businessReason: r.business_reason,
            settlementVersion: r.settlement_version,
            calculationVersion: r.calculation_version,
            receivedAt: r.received_at.toISOString(),
            series: Number(r.series),
          })),
          findings: findings.rows.map((f) => ({ ...f.facts, state: f.state })),
        };
      },
      ListFindings: async (payload) => {
        const p = objectOf(payload);
        const filters: string[] = [];
        const values: string[] = [];
        for (const [key, column, pattern] of [
          ['gridArea', 'grid_area', GRID_AREA],
          ['period', 'period', PERIOD],
          ['state', 'state', /^(open|explained|resolved)$/],
        ] as const) {
          if (p[key] === undefined || p[key] === null) continue;
          values.push(field(p, key, pattern, key === 'state' ? 'open, explained or resolved' : key));
          filters.push(`${column} = $${values.length}`);
        }
        const rows = await pool.query<{ state: string; facts: JsonObject }>(
          `SELECT state, facts FROM reconciliation.findings ${filters.length ? `WHERE ${filters.join(' AND ')}` : ''} ORDER BY period DESC, grid_area, kind, finding_id LIMIT 1000`,
          values,
        );
        return { findings: rows.rows.map((r) => ({ ...r.facts, state: r.state })) };
      },
      GetFinding: async (payload) => {
        const findingId = field(objectOf(payload), 'findingId', UUID, 'a finding id (UUID)');
        const row = await pool.query<{ state: string; facts: JsonObject }>(`SELECT state, facts FROM reconciliation.findings WHERE finding_id = $1`, [findingId]);
        if (!row.rows[0]) throw new CommandError('not-found', `No finding ${findingId}`);
        const trail = await store.readStream(findingStreamId(findingId));
        return {
          ...row.rows[0].facts,
          state: row.rows[0].state,
          auditTrail: trail.map((e) => ({ type: e.type, at: e.occurredAt.toISOString(), by: (e.data['by'] as string | undefined) ?? e.metadata.actor, note: (e.data['note'] as string | undefined) ?? null, state: e.data['state'] ?? null })),
        };
      },
      ChangeFindingState: async (payload, context) => {
        const p = objectOf(payload);
        const findingId = field(p, 'findingId', UUID, 'a finding id (UUID)');
        const action = field(p, 'action', /^(explain|resolve|reopen)$/, 'explain, resolve or reopen');
        const note = typeof p['note'] === 'string' ? p['note'] : '';
        const by = context.actor ?? 'unknown';
        const type = action === 'explain' ? 'Explain' : action === 'resolve' ? 'Resolve' : 'Reopen';
        try {
          const result = await changeFindingState(store, findingId, { type, note, by }, context.correlationId, now());
          await refreshFinding(pool, store, findingId);
          return { findingId, state: result.state };
        } catch (error) {
          if (error instanceof FindingTransitionError) throw new CommandError(error.message.startsWith('No such') ? 'not-found' : 'illegal-transition', error.message);
          throw error;
        }
      },
      RequestDataHubResults: async (payload, context) => {
        const p = objectOf(payload);
        const kind = field(p, 'kind', /^(energy|wholesale)$/, 'energy (RSM-016) or wholesale (RSM-017)');
        const gridArea = field(p, 'gridArea', GRID_AREA, 'a 3-digit grid area');
        const period = field(p, 'period', PERIOD, 'a month YYYY-MM');
        const businessReason = p['businessReason'] === undefined ? (kind === 'energy' ? 'D04' : 'D05') : field(p, 'businessReason', /^(D03|D04|D05|D32)$/, 'D03, D04, D05 or D32');
        const settlementVersion = p['settlementVersion'] === undefined || p['settlementVersion'] === null ? null : field(p, 'settlementVersion', /^D0[123]$/, 'D01, D02 or D03');
        if (businessReason === 'D32' && settlementVersion === null) throw new CommandError('validation', 'a correction settlement (D32) needs a settlementVersion', { field: 'settlementVersion' });
        const requestId = randomUUID();
        const span = periodOf(period);
        const data: DataHubResultsRequested = {
          requestId,
          kind: kind as 'energy' | 'wholesale',
          gridArea,
          period,
          start: span.start.toISOString(),
          end: span.end.toISOString(),
          businessReason,
          settlementVersion,
          energySupplierGln: options.supplierGln,
          requestedBy: context.actor ?? 'unknown',
        };
        const at = now();
        await pool.query(
          `INSERT INTO reconciliation.requests (request_id, kind, grid_area, period, business_reason, settlement_version, requested_at, requested_by, status, detail, updated_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'requested',NULL,$7)`,
          [requestId, kind, gridArea, period, businessReason, settlementVersion, at, data.requestedBy],
        );
        const streamId = resultsRequestStreamId(requestId);
        await store.appendToStream(
          streamId,
          [{ eventId: deterministicEventId(requestId, streamId, 0), type: DATAHUB_RESULTS_REQUESTED, data: data as unknown as JsonObject, metadata: reconciliationMetadata(data.requestedBy, context.correlationId), occurredAt: at }],
          { expectedRevision: 'no_stream' },
        );
        return { ...data, status: 'requested' };
      },
      ListDataHubRequests: async (payload) => {
        const p = objectOf(payload);
        const gridArea = field(p, 'gridArea', GRID_AREA, 'a 3-digit grid area');
        const period = field(p, 'period', PERIOD, 'a month YYYY-MM');
        const rows = await pool.query<{ request_id: string; kind: string; business_reason: string; settlement_version: string | null; requested_at: Date; requested_by: string; status: string; detail: JsonValue }>(
          `SELECT * FROM reconciliation.requests WHERE grid_area = $1 AND period = $2 ORDER BY requested_at`,
          [gridArea, period],
        );
        return {
          requests: rows.rows.map((r) => ({ requestId: r.request_id, kind: r.kind, businessReason: r.business_reason, settlementVersion: r.settlement_version, requestedAt: r.requested_at.toISOString(), requestedBy: r.requested_by, status: r.status, detail: r.detail })),
        };
      },
    });
  }
  return {
    inputs,
    runDue,
    async stop() {
      clearInterval(timer);
      clearInterval(watchdog);
      await running?.catch(() => undefined);
      await server?.close();
      await inputs.stop();
    },
  };
}
