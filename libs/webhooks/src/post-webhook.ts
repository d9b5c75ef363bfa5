import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { resolveAllowedAddresses, systemResolver, WebhookTargetRefused, type HostResolver, type WebhookTargetPolicy } from './target-policy';

/** What a subscriber may read in its delivery log: the HTTP status of its own receiver, or one of these words. */
export const DELIVERY_ERRORS = {
  refused: 'target address not allowed',
  timeout: 'timeout',
  connection: 'connection failed',
} as const;

export type PostOutcome = { statusCode: number } | { error: string; internal: string };

export interface PostWebhookOptions {
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  policy: WebhookTargetPolicy;
  resolver?: HostResolver;
}

/**
 * POSTs one webhook. The host is resolved here, every address checked against the policy, and the
 * socket connects to the checked address itself (a `lookup` that hands back only what was checked):
 * a name that resolved to a public address when the subscription was registered and to an internal
 * one now (DNS rebinding) is refused, and nothing resolves it a second time between check and connect.
 * Redirects are not followed. The subscriber learns only the status code or a generic word; the
 * connection error itself (`internal`) is for our logs.
 */
export async function postWebhook(url: string, options: PostWebhookOptions): Promise<PostOutcome> {
  const target = new URL(url);
  let addresses;
  try {
    addresses = await resolveAllowedAddresses(target.hostname, options.policy, options.resolver ?? systemResolver);
  } catch (error) {
    if (error instanceof WebhookTargetRefused) return { error: DELIVERY_ERRORS.refused, internal: `${target.hostname}: ${error.message}` };
    throw error;
  }
  const pinned = addresses[0]!;
  const lookup: LookupFunction = (_hostname, lookupOptions, callback) => {
    if (lookupOptions.all) callback(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const requestOptions: RequestOptions = {
    method: 'POST',
    headers: { ...options.headers, 'Content-Length': String(Buffer.byteLength(options.body)) },
    lookup,
    agent: false,
    timeout: options.timeoutMs,
  };
  return new Promise<PostOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: PostOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(outcome);
    };
    const req = send(target, requestOptions, (response) => {
      response.resume();
      finish({ statusCode: response.statusCode ?? 0 });
      req.destroy();
    });
    // The whole exchange, not only socket idleness, is bounded by the timeout.
    const deadline = setTimeout(() => {
      finish({ error: DELIVERY_ERRORS.timeout, internal: `no answer within ${options.timeoutMs} ms` });
      req.destroy();
    }, options.timeoutMs);
    req.on('timeout', () => {
      finish({ error: DELIVERY_ERRORS.timeout, internal: `socket idle for ${options.timeoutMs} ms` });
      req.destroy();
    });
    req.on('error', (error) => finish({ error: DELIVERY_ERRORS.connection, internal: error.message }));
    req.end(options.body);
  });
}
