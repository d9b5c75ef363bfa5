export {
  startCollectionSimulator,
  type AgencyEvent,
  type CollectionCase,
  type CollectionClaim,
  type CollectionFaults,
  type CollectionSimulatorControl,
  type CollectionSimulatorOptions,
  type RunningCollectionSimulator,
} from './lib/server';
