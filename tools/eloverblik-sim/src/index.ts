export {
  startEloverblikSimulator,
  parseFaultSettings,
  type EloverblikSimulatorOptions,
  type RunningEloverblikSimulator,
  type EloverblikSimulatorControl,
  type FaultSettings,
  type ActiveFaults,
  type SimulatorStats,
} from './lib/server';
export {
  parseScenario,
  ScenarioError,
  type Scenario,
  type ScenarioMeteringPoint,
  type ScenarioThirdParty,
  type ScenarioConsent,
  type ScenarioProfile,
  type ScenarioAddress,
  type ProfileShape,
} from './lib/scenario';
export { hourQuantities, timeSeriesPeriods, hasData, type SimAggregation, type SimPeriod, type SimPoint } from './lib/consumption';
