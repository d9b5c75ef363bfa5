export { EloverblikClient, type EloverblikClientOptions, type HistoryRange, type EstimateOptions } from './lib/client';
export {
  EloverblikError,
  EloverblikNotFoundError,
  EloverblikAccessDeniedError,
  EloverblikNoDataError,
  EloverblikAuthError,
  EloverblikUnavailableError,
  EloverblikInsufficientDataError,
  errorForCode,
  type EloverblikErrorDetails,
} from './lib/errors';
export {
  type MeteringPointDetails,
  type MeteringPointAddress,
  type ConsumptionSeries,
  type ConsumptionPoint,
  type HistoryAggregation,
  type HistoryResolution,
} from './lib/responses';
export {
  estimateFromDailyHistory,
  twelveMonthWindow,
  DEFAULT_MIN_DAYS_FOR_SCALING,
  type AnnualConsumptionEstimate,
  type AnnualEstimateBasis,
  type DailyHistory,
} from './lib/estimate';
export { DEFAULT_RETRY_POLICY, parseRetryAfter, type RetryPolicy } from './lib/backoff';
