export {
  startEdsSimulator,
  parseLocalTime,
  type EdsSimulatorOptions,
  type RunningEdsSimulator,
  type EdsSimulatorControl,
  type Correction,
  type Corruption,
  type FaultSettings,
  type SimulatorStats,
} from './lib/server';
export { parseScenario, ScenarioError, DEFAULT_CHARGES, type EdsScenario, type ScenarioCharge, type ScenarioChargeRow, type SimPriceArea } from './lib/scenario';
export { DATASETS, FIRST_QUARTER_HOUR_DAY, generatedSpotMicro, microText, type EdsDataset, type SpotDataset } from './lib/datasets';
export { RawNumber, serializeJson, type EdsRecord } from './lib/raw-json';
