import { parseGsrn } from '@dh/market-ids';
import { DomainRuleViolation } from '../errors';

/** GS1 mod-10 (not Luhn, as the mission says): a GSRN is not personal data, so the message names it. */
export function assertValidGsrn(gsrn: string, field = 'GSRN'): void {
  const parsed = parseGsrn(gsrn);
  if (parsed.ok) return;
  const { problem } = parsed.error;
  const detail =
    problem.code === 'check_digit'
      ? `has check digit ${problem.actual}; the GS1 check digit of ${gsrn.slice(0, 17)} is ${problem.expected}`
      : `is not a GSRN (${parsed.error.message})`;
  throw new DomainRuleViolation('invalid-gsrn', `${field} ${JSON.stringify(gsrn)} ${detail}`);
}
