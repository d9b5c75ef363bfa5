export * from './events';
export { EdsClient, EdsRequestError, retryAfterMs, type EdsClientOptions, type DatasetQuery, type DatasetResult, type EdsDatasetName } from './eds-client';
export { parseJsonKeepingNumbers, RawJsonError, type RawJsonValue } from './raw-json';
export { MalformedEdsDataError, InvalidRatesCommandError, type RecordProblem } from './errors';
export { mwhTextToKwhText, sameDecimal } from './decimals';
export { appendIfChanged, canonicalJson, type AppendIfChangedResult } from './versioned-append';
export {
  ingestSpotPrices,
  validateDateRange,
  FIRST_QUARTER_HOUR_DELIVERY_DATE,
  MAX_INGEST_DAYS,
  type IngestSpotPricesRequest,
  type IngestSpotPricesResult,
  type SpotDayOutcome,
} from './ingest-spot-prices';
export { ingestCharges, MAX_CHARGE_INGEST_DAYS, type IngestChargesRequest, type IngestChargesResult, type ChargeOutcome } from './ingest-charges';
export {
  defineProduct,
  setElectricityTaxRate,
  mapGridArea,
  productDefinitionOf,
  electricityTaxRateOf,
  gridAreaMappingOf,
  type ConfigurationResult,
} from './configuration';
export { spotPriceVersions, chargePriceVersions } from './readers';
export { ratesCommandHandlers, asCommandReply, RATES_SERVICE, type RatesCommandDeps } from './command-handlers';
export * from './datahub-charges';
export { correctSpotPrices, correctChargePrices, keepsManualRow, MAX_REASON_LENGTH, type CorrectionResult } from './manual-corrections';
