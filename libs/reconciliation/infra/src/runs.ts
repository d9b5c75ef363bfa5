import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { EventStore } from '@dh/event-store';
import { findingStreamId, runReconciliation, type RunResult } from '@dh/reconciliation-application';
import { type FindingEvent, type FindingState, evolveFinding, initialFinding } from '@dh/reconciliation-domain';
import { PostgresReconciliationInputs } from './postgres-inputs';
import { reportJson } from './report-json';

/**
 * What a run is waiting on now: every read of its inputs and every event-store call it has started and not yet
 * finished, with when it started. The scheduler's watchdog names them when a run takes too long.
 */
export class RunActivity {
  private readonly pending = new Map<number, { what: string; since: number }>();
  private next = 0;

  track<T>(what: string, work: () => Promise<T>): Promise<T> {
    const id = this.next++;
    this.pending.set(id, { what, since: Date.now() });
    return work().finally(() => this.pending.delete(id));
  }

  /** `inputs.meteredData for 95 s, …`, or that it is computing (nothing awaited). */
  describe(now = Date.now()): string {
    if (this.pending.size === 0) return 'nothing (computing)';
    return [...this.pending.values()].map((p) => `${p.what} for ${Math.round((now - p.since) / 1000)} s`).join(', ');
  }
}

/** `target` with every method call tracked in `activity` as `<label>.<method>`. */
function tracked<T extends object>(target: T, label: string, activity: RunActivity): T {
  return new Proxy(target, {
    get(t, key) {
      const value: unknown = Reflect.get(t, key, t);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        const result = method.apply(t, args);
        return result instanceof Promise ? activity.track(`${label}.${String(key)}`, () => result) : result;
      };
    },
  });
}

export interface RunSettings {
  readonly supplierGln: string;
  readonly quarterlyTransition: number;
  readonly batchSize?: number;
}

/** Folds a finding's stream into the read model row (the facts, the state) in the same order as its events. */
export async function refreshFinding(pool: Pool, store: EventStore, findingId: string): Promise<void> {
  const events = await store.readStream(findingStreamId(findingId));
  const finding = events.reduce((f, e) => evolveFinding(f, { type: e.type, data: e.data } as unknown as FindingEvent), initialFinding);
  if (finding.facts === null || finding.state === null) return;
  const last = events[events.length - 1]!;
  await pool.query(
    `INSERT INTO reconciliation.findings (finding_id, grid_area, period, kind, state, facts, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7)
     ON CONFLICT (finding_id) DO UPDATE SET state = EXCLUDED.state, facts = EXCLUDED.facts, updated_at = EXCLUDED.updated_at`,
    [findingId, finding.facts.gridArea, finding.facts.period, finding.facts.kind, finding.state, JSON.stringify(finding.facts), last.recordedAt],
  );
}

/**
 * Runs one grid area's month: no database transaction is held while it reads and computes; the report and the
 * findings' read model are written after the run's events are stored.
 */
export async function runOnce(
  deps: { pool: Pool; store: EventStore; now: () => Date },
  settings: RunSettings,
  gridArea: string,
  period: string,
  activity: RunActivity = new RunActivity(),
): Promise<RunResult> {
  const inputs = tracked(new PostgresReconciliationInputs(deps.pool), 'inputs', activity);
  const store = tracked(deps.store, 'event store', activity);
  const result = await runReconciliation(
    {
      store,
      inputs,
      now: deps.now,
      knownFindings: (ga, p) =>
        activity.track('known findings', async () =>
          (await deps.pool.query<{ finding_id: string; state: FindingState }>(`SELECT finding_id, state FROM reconciliation.findings WHERE grid_area = $1 AND period = $2`, [ga, p])).rows.map((r) => ({
            findingId: r.finding_id,
            state: r.state,
          })),
        ),
    },
    { gridArea, period, supplierGln: settings.supplierGln, quarterlyTransition: settings.quarterlyTransition, runId: randomUUID(), ...(settings.batchSize ? { batchSize: settings.batchSize } : {}) },
  );
  for (const f of result.findings) await activity.track('refreshing a finding', () => refreshFinding(deps.pool, deps.store, f.findingId));
  await activity.track('storing the report', () => deps.pool.query(`INSERT INTO reconciliation.reports (run_id, grid_area, period, completed_at, summary, report) VALUES ($1,$2,$3,$4,$5,$6)`, [
    result.completed.runId,
    gridArea,
    period,
    result.completed.completedAt,
    JSON.stringify(result.completed),
    JSON.stringify(reportJson(result.outcome)),
  ]));
  return result;
}

/** Takes the next due run (skipping ones another replica holds), or null. */
export async function takeDueRun(pool: Pool): Promise<{ gridArea: string; period: string } | null> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const r = await client.query<{ grid_area: string; period: string }>(
      `SELECT grid_area, period FROM reconciliation.pending_runs WHERE due_at <= now() ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
    );
    const row = r.rows[0];
    if (row) await client.query(`DELETE FROM reconciliation.pending_runs WHERE grid_area = $1 AND period = $2`, [row.grid_area, row.period]);
    await client.query('COMMIT');
    return row ? { gridArea: row.grid_area, period: row.period } : null;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
