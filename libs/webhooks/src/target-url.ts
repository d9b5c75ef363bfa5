import { PUBLIC_EVENT_ROUTING_KEYS } from '@dh/messaging';
import { checkTargetHostSync, isLoopbackHost, resolveAllowedAddresses, systemResolver, WebhookTargetRefused, type HostResolver, type WebhookTargetPolicy } from './target-policy';

export class WebhookValidationError extends Error {
  override readonly name = 'WebhookValidationError';
}

export const MAX_URL_LENGTH = 2048;

/**
 * A target URL: https to a public address; http only to loopback where the policy allows loopback
 * (development and tests, never production). No credentials in the URL (they would show in listings
 * and logs) and no fragment. Hosts are judged by `checkTargetHostSync`; registration also resolves
 * the name (`validateTargetUrlResolved`), and the dispatcher checks again when it sends.
 */
export function validateTargetUrl(raw: string, policy: WebhookTargetPolicy): string {
  if (raw.length > MAX_URL_LENGTH) throw new WebhookValidationError(`url is longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookValidationError('url is not an absolute URL');
  }
  if (url.username !== '' || url.password !== '') throw new WebhookValidationError('url must not contain credentials');
  if (url.hash !== '') throw new WebhookValidationError('url must not contain a fragment');
  if (url.protocol === 'http:') {
    if (!policy.allowLoopback) throw new WebhookValidationError('url must use https');
    if (!isLoopbackHost(url.hostname)) throw new WebhookValidationError('url must use https (http is allowed only to loopback outside production)');
  } else if (url.protocol !== 'https:') {
    throw new WebhookValidationError('url must use https');
  }
  try {
    checkTargetHostSync(url.hostname, policy);
  } catch (error) {
    if (error instanceof WebhookTargetRefused) throw new WebhookValidationError(error.message);
    throw error;
  }
  return url.toString();
}

/** `validateTargetUrl`, then the host's addresses as DNS gives them now must all be allowed. */
export async function validateTargetUrlResolved(raw: string, policy: WebhookTargetPolicy, resolver: HostResolver = systemResolver): Promise<string> {
  const url = validateTargetUrl(raw, policy);
  try {
    await resolveAllowedAddresses(new URL(url).hostname, policy, resolver);
  } catch (error) {
    if (error instanceof WebhookTargetRefused) throw new WebhookValidationError(error.message);
    throw error;
  }
  return url;
}

/** The public routing keys a subscription may name, plus `*` for all of them. */
export const WEBHOOK_EVENT_TYPES: readonly string[] = Object.freeze([...Object.values(PUBLIC_EVENT_ROUTING_KEYS)]);
export const ALL_EVENT_TYPES = '*';

/** Deduplicated, sorted; refuses an empty list and unknown types. `*` alone stays `['*']`. */
export function validateEventTypes(types: readonly string[]): string[] {
  if (types.length === 0) throw new WebhookValidationError('event_types must name at least one event type (or "*")');
  const unknown = types.filter((t) => t !== ALL_EVENT_TYPES && !WEBHOOK_EVENT_TYPES.includes(t));
  if (unknown.length > 0) throw new WebhookValidationError(`unknown event types ${unknown.join(', ')}; allowed: ${[...WEBHOOK_EVENT_TYPES, ALL_EVENT_TYPES].join(', ')}`);
  if (types.includes(ALL_EVENT_TYPES)) return [ALL_EVENT_TYPES];
  return [...new Set(types)].sort();
}
