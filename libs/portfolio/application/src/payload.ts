import { isLocalDate } from '@dh/dk-time';
import type { JsonValue } from '@dh/event-store';
import { DomainRuleViolation } from '@dh/portfolio-domain';

/** A command payload field by field; every problem is an `invalid-request` refusal naming the field. */
export type Payload = { [key: string]: JsonValue };

const LOCAL_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

export function invalid(message: string): DomainRuleViolation {
  return new DomainRuleViolation('invalid-request', message);
}

export function asPayload(value: JsonValue | undefined, what = 'payload'): Payload {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${what} must be a JSON object`);
  return value;
}

export function requiredString(payload: Payload, key: string): string {
  const value = payload[key];
  if (typeof value !== 'string' || value.trim() === '') throw invalid(`${key} must be a non-empty string`);
  return value;
}

export function optionalString(payload: Payload, key: string): string | undefined {
  const value = payload[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw invalid(`${key} must be a non-empty string when given`);
  return value;
}

export function optionalBoolean(payload: Payload, key: string): boolean | undefined {
  const value = payload[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalid(`${key} must be true or false when given`);
  return value;
}

export function oneOf<T extends string>(payload: Payload, key: string, allowed: readonly T[]): T {
  const value = payload[key];
  const match = allowed.find((a) => a === value);
  if (match === undefined) throw invalid(`${key} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value ?? null)}`);
  return match;
}

export function localDate(payload: Payload, key: string): string {
  const value = requiredString(payload, key);
  // The pattern alone lets 2027-02-31 through; the calendar check refuses it here, not as a crash later.
  if (!LOCAL_DATE.test(value) || !isLocalDate(value)) throw invalid(`${key} must be a calendar date YYYY-MM-DD, got ${JSON.stringify(value)}`);
  return value;
}
