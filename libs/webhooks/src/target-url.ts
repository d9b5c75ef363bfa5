import { PUBLIC_EVENT_ROUTING_KEYS } from '@dh/messaging';

export class WebhookValidationError extends Error {
  override readonly name = 'WebhookValidationError';
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
export const MAX_URL_LENGTH = 2048;

/**
 * A target URL: https anywhere; http only to localhost/127.0.0.1/[::1] and never in production. No
 * credentials in the URL (they would show in listings and logs) and no fragment.
 */
export function validateTargetUrl(raw: string, options: { production: boolean }): string {
  if (raw.length > MAX_URL_LENGTH) throw new WebhookValidationError(`url is longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookValidationError('url is not an absolute URL');
  }
  if (url.username !== '' || url.password !== '') throw new WebhookValidationError('url must not contain credentials');
  if (url.hash !== '') throw new WebhookValidationError('url must not contain a fragment');
  if (url.protocol === 'https:') return url.toString();
  if (url.protocol === 'http:') {
    if (options.production) throw new WebhookValidationError('url must use https');
    if (!LOCAL_HOSTS.has(url.hostname)) throw new WebhookValidationError('url must use https (http is allowed only to localhost or 127.0.0.1 outside production)');
    return url.toString();
  }
  throw new WebhookValidationError('url must use https');
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
