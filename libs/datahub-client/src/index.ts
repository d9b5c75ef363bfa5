export { DataHubClient, SEND_ENDPOINTS, type CimFormat, type DataHubClientOptions, type DataHubInbox, type PeekedMessage, type SendResult } from './lib/client';
export { DataHubAuthError, DataHubError, DataHubRequestError, DataHubUnavailableError } from './lib/errors';
export { DEFAULT_RETRY_POLICY, backoffDelay, parseRetryAfter, retryDelay, type RetryPolicy } from './lib/backoff';
export { runInboxLoop, textProblemOf, type InboxErrorContext, type InboxLoopOptions, type InboxLoopResult, type InboxMessage, type KeptMessage, type RawInboxMessage, type ReceivedMessages, type StoreOutcome } from './lib/inbox-loop';
