/** Base class of everything the DataHub client throws on purpose. */
export class DataHubError extends Error {
  override readonly name: string = 'DataHubError';
}

/** The token endpoint refused our credentials, or DataHub kept answering 401/403 after a forced token refresh. */
export class DataHubAuthError extends DataHubError {
  override readonly name = 'DataHubAuthError';
  constructor(
    message: string,
    readonly status: number,
    /** OAuth2 `error` (e.g. `invalid_client`) or DataHub's error code, when the body had one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** DataHub stayed unavailable (429, 5xx or network failure) through every attempt. */
export class DataHubUnavailableError extends DataHubError {
  override readonly name = 'DataHubUnavailableError';
  /** A dependency failure (see `dependencyFailureOf`): callers get 503, not a refusal. */
  readonly dependency = 'datahub';
  readonly transient = true;
  constructor(
    message: string,
    readonly attempts: number,
    /** The last HTTP status, or undefined when the last attempt failed on the network. */
    readonly lastStatus?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** DataHub refused the request itself (400, 404, 415 …); retrying the same request will not help. */
export class DataHubRequestError extends DataHubError {
  override readonly name = 'DataHubRequestError';
  constructor(
    message: string,
    readonly status: number,
    /** DataHub's error code (`Error.Code`), when the body had one. */
    readonly code: string | undefined,
    readonly body: string,
  ) {
    super(message);
  }
}
