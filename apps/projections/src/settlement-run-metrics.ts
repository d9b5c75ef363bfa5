import { Gauge, type Registry } from 'prom-client';
import type { Pool } from 'pg';
import { SETTLEMENT_RUNS_TABLE } from '@dh/read-models';

/**
 * Progress of settlement runs for operators (`dh_settlement_run_items{run_id,period,state}`): work
 * items in total, done, invoiced and halted, for runs still going and those that ended in the last
 * hour (so a finished run shows its final count once before it leaves), from the runs read model.
 */
export function registerSettlementRunMetrics(pool: Pool, registry: Registry): void {
  new Gauge({
    name: 'dh_settlement_run_items',
    help: 'Work items of recent settlement runs by state (total, done, invoiced, halted)',
    labelNames: ['run_id', 'period', 'state'],
    registers: [registry],
    async collect() {
      const { rows } = await pool.query<{ run_id: string; period: string; items_total: number; items_done: number; items_invoiced: number; items_halted: number }>(
        `SELECT run_id, period, items_total, items_done, items_invoiced, items_halted FROM ${SETTLEMENT_RUNS_TABLE}
          WHERE completed_at IS NULL OR completed_at > now() - interval '1 hour'`,
      );
      this.reset();
      for (const r of rows) {
        const labels = { run_id: r.run_id, period: r.period };
        this.set({ ...labels, state: 'total' }, r.items_total);
        this.set({ ...labels, state: 'done' }, r.items_done);
        this.set({ ...labels, state: 'invoiced' }, r.items_invoiced);
        this.set({ ...labels, state: 'halted' }, r.items_halted);
      }
    },
  });
  new Gauge({
    name: 'dh_settlement_runs_in_progress',
    help: 'Settlement runs started and not completed',
    registers: [registry],
    async collect() {
      const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${SETTLEMENT_RUNS_TABLE} WHERE completed_at IS NULL`);
      this.set(rows[0]?.n ?? 0);
    },
  });
}
