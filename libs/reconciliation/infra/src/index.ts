export { RECONCILIATION_SCHEMA, migrateReconciliation, chargeCopy } from './schema';
export { PostgresReconciliationInputs } from './postgres-inputs';
export { RECONCILIATION_INPUT_BINDINGS, applyInput, scheduleRun } from './inputs-consumer';
export { runOnce, refreshFinding, takeDueRun, type RunSettings } from './runs';
export { reportJson, MAX_DIFFERENCE_ROWS, type ReportJson } from './report-json';
export { startReconciliationRuntime, RECONCILIATION_INPUTS_QUEUE, RECONCILIATION_SERVICE, type ReconciliationRuntime, type ReconciliationRuntimeOptions } from './runtime';
