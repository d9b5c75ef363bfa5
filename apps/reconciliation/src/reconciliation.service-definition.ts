import { Module } from '@nestjs/common';
import { runEventRelay, type ServiceDefinition } from '@dh/platform';
import { startReconciliationRuntime } from '@dh/reconciliation-infra';

@Module({})
class ReconciliationModule {}

export interface ReconciliationSettings {
  /** `SUPPLIER_GLN`: our GLN; DataHub's results for us name it as energy supplier. */
  supplierGln: string;
  /** `QUARTERLY_RESOLUTION_TRANSITION`: from then DataHub aggregates energy in quarters (its `QUARTERLY_RESOLUTION_TRANSITION_DATETIME`). */
  quarterlyTransition: number;
  /** `RECONCILIATION_DELAY_MS`: quiet time after DataHub's last result document before a run (default 3000). */
  delayMs: number;
  /** `RECONCILIATION_BATCH_SIZE`: metering points read per batch (default 1000). */
  batchSize: number;
}

/** The default quarterly transition: 22 May 2023, when Nordic imbalance settlement went to 15 minutes (datahub-formats.md §7). */
export const DEFAULT_QUARTERLY_TRANSITION = '2023-05-21T22:00:00Z';

export function reconciliationSettings(env: NodeJS.ProcessEnv): ReconciliationSettings {
  // Outside production the simulators' supplier; production must name its own GLN.
  if (env['SUPPLIER_GLN'] === undefined && env['NODE_ENV'] === 'production') throw new Error('SUPPLIER_GLN is required in production');
  const supplierGln = env['SUPPLIER_GLN'] ?? '5799999933318';
  if (!/^\d{13}$/.test(supplierGln)) throw new Error(`SUPPLIER_GLN must be a 13-digit GLN, got "${supplierGln}"`);
  const transition = Date.parse(env['QUARTERLY_RESOLUTION_TRANSITION'] ?? DEFAULT_QUARTERLY_TRANSITION);
  if (Number.isNaN(transition)) throw new Error('QUARTERLY_RESOLUTION_TRANSITION must be an ISO instant');
  const int = (name: string, fallback: number) => {
    const raw = env[name];
    const n = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw ?? ''}"`);
    return n;
  };
  return { supplierGln, quarterlyTransition: transition, delayMs: int('RECONCILIATION_DELAY_MS', 3000), batchSize: Math.max(1, int('RECONCILIATION_BATCH_SIZE', 1000)) };
}

/**
 * Reconciliation: DataHub's aggregations (RSM-014) and wholesale results (RSM-019) against our own settlement,
 * recomputed by DataHub's rules; findings with their metering points; RSM-016/017 asked through datahub-integration.
 */
export function createReconciliationService(env: NodeJS.ProcessEnv = process.env): ServiceDefinition {
  return {
    name: 'reconciliation',
    defaultPort: 3005,
    module: () => ({ module: ReconciliationModule }),
    async start(infrastructure) {
      const settings = reconciliationSettings(env);
      const runtime = await startReconciliationRuntime(infrastructure, settings);
      const stopRelay = await runEventRelay(infrastructure);
      return async () => {
        await runtime.stop();
        await stopRelay();
      };
    },
  };
}

export const reconciliationService: ServiceDefinition = createReconciliationService();
