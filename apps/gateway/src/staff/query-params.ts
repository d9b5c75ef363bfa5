import { ProblemException } from '@dh/platform';

const invalid = (detail: string): ProblemException => new ProblemException({ type: 'validation', title: 'Invalid query', status: 400, detail });

/** An ISO 8601 instant with an offset or Z (`2026-10-15T12:00:00Z`); a bare date means that day's start in UTC is ambiguous, so it is refused. */
export function instantParam(name: string, value: string | undefined): Date | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw invalid(`${name} must be an ISO 8601 instant with an offset, e.g. 2026-10-15T12:00:00Z`);
  }
  return new Date(value);
}

export function requiredInstantParam(name: string, value: string | undefined): Date {
  const instant = instantParam(name, value);
  if (instant === undefined) throw invalid(`${name} is required (an ISO 8601 instant)`);
  return instant;
}

export function intParam(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw invalid(`${name} must be an integer from ${min} to ${max}`);
  return Number(value);
}

export function patternParam(name: string, value: string | undefined, pattern: RegExp, what: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!pattern.test(value)) throw invalid(`${name} must be ${what}`);
  return value;
}
