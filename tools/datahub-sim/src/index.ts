export { startDataHubSimulator, renderMessage, parseFaultSettings, REQUEST_ENDPOINTS, type DataHubSimulatorOptions, type RunningDataHubSimulator, type SimulatorControl } from './lib/server';
export { parseScenario, ScenarioError, type Scenario, type ScenarioClient, type ScenarioMeteringPoint, type ScenarioRejection, type ScenarioForcedSwitch, type ScenarioCharge, type ScenarioReasonCodes, type ProfileShape, type SimResolution } from './lib/scenario';
export { MESSAGE_CATEGORIES, resolveCategory, Simulation, type MessageCategory, type FaultSettings, type ActiveFaults, type SimulatorStats, type QueuedMessage } from './lib/simulation';
export { dayQuantities } from './lib/profiles';
export { TEST_CHARGES, BASIC_LINKS, GRID_OWNER_GLN, ENERGINET_GLN } from './testing/support';
