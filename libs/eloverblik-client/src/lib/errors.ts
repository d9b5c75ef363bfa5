export interface EloverblikErrorDetails {
  /** The API's error code (10000–60006; e.g. 20008 MeteringPointNotFound), when the answer carried one. */
  readonly code?: number;
  /** The API's error text (`errorText`, or the name in a "[code] Name" body), when it carried one. */
  readonly text?: string;
  /** HTTP status of the answer (200 for a per-metering-point error inside a successful response). */
  readonly status?: number;
  readonly gsrn?: string;
  readonly cause?: unknown;
}

/** Base class of everything the Eloverblik client throws on purpose. */
export class EloverblikError extends Error {
  override readonly name: string = 'EloverblikError';
  readonly code: number | undefined;
  readonly text: string | undefined;
  readonly status: number | undefined;
  readonly gsrn: string | undefined;

  constructor(message: string, details: EloverblikErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code;
    this.text = details.text;
    this.status = details.status;
    this.gsrn = details.gsrn;
  }
}

/** The metering point does not exist (20000 WrongMeteringPointIdOrWebAccessCode, 20008 MeteringPointNotFound, 20010 RelationNotFound). */
export class EloverblikNotFoundError extends EloverblikError {
  override readonly name = 'EloverblikNotFoundError';
}

/** No (active) consent covers the metering point or period (20012, 30006, 30010, 30016). */
export class EloverblikAccessDeniedError extends EloverblikError {
  override readonly name = 'EloverblikAccessDeniedError';
}

/** The metering point has no data for the period (30007, 30015, 30018). */
export class EloverblikNoDataError extends EloverblikError {
  override readonly name = 'EloverblikNoDataError';
}

/** The refresh token was refused, or data calls kept answering 401 after a fresh data access token. */
export class EloverblikAuthError extends EloverblikError {
  override readonly name = 'EloverblikAuthError';
}

/** 429/503/5xx or network failures through every attempt (or a `Retry-After` longer than we are willing to wait). */
export class EloverblikUnavailableError extends EloverblikError {
  override readonly name = 'EloverblikUnavailableError';
  /** A dependency failure (see `dependencyFailureOf`): callers get 503, not a refusal. */
  readonly dependency = 'eloverblik';
  readonly transient = true;
  constructor(
    message: string,
    readonly attempts: number,
    details: EloverblikErrorDetails = {},
  ) {
    super(message, details);
  }
}

/** Neither enough history nor an `estimatedAnnualVolume` to estimate the annual consumption from. */
export class EloverblikInsufficientDataError extends EloverblikError {
  override readonly name = 'EloverblikInsufficientDataError';
}

const NOT_FOUND = new Set([20000, 20008, 20010]);
const ACCESS_DENIED = new Set([20012, 30006, 30010, 30016]);
const NO_DATA = new Set([30007, 30015, 30018]);

/** The typed error for an API error code. */
export function errorForCode(message: string, details: EloverblikErrorDetails & { readonly code: number }): EloverblikError {
  if (NOT_FOUND.has(details.code)) return new EloverblikNotFoundError(message, details);
  if (ACCESS_DENIED.has(details.code)) return new EloverblikAccessDeniedError(message, details);
  if (NO_DATA.has(details.code)) return new EloverblikNoDataError(message, details);
  return new EloverblikError(message, details);
}
