export * from './events';
export type { OurMeteringPoint, OurSeries, VersionChange, DataHubResultSet, ReconciliationInputs } from './ports';
export { calculationCharges, calculationLinks, type ChargeInPeriod } from './charges';
export { reconcile, periodOf, type ReconcileOptions, type ReconciliationOutcome, type Observation } from './reconcile';
export { runReconciliation, changeFindingState, findingDecider, type KnownFindings, type RunResult } from './run-reconciliation';
export { currentResultSet, resultPeriodOf, resultSet, resultVersionOf, toEnergySeries, toWholesaleSeries, type StoredResultSeries } from './datahub-results';
