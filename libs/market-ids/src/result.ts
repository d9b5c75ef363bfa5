/** Outcome of a parse: either the branded value or a typed, human-readable problem. */
export type ParseResult<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export type IdKind = 'GSRN' | 'GLN' | 'CVR' | 'CPR' | 'LUHN';

/** What is wrong with an identifier. Never carries the rejected input itself (it may be personal data). */
export type IdProblem =
  | { readonly code: 'not_a_string' }
  | { readonly code: 'length'; readonly expected: number; readonly actual: number }
  | { readonly code: 'non_digit'; readonly position: number }
  | { readonly code: 'check_digit'; readonly expected: number; readonly actual: number }
  | { readonly code: 'checksum' }
  | { readonly code: 'format' }
  | { readonly code: 'date' };

export interface IdError {
  readonly kind: IdKind;
  readonly problem: IdProblem;
  readonly message: string;
}

export function describeProblem(kind: IdKind, problem: IdProblem): string {
  switch (problem.code) {
    case 'not_a_string':
      return `${kind}: not a string`;
    case 'length':
      return `${kind}: expected ${problem.expected} digits, got ${problem.actual} characters`;
    case 'non_digit':
      return `${kind}: non-digit character at position ${problem.position}`;
    case 'check_digit':
      return `${kind}: check digit expected ${problem.expected} got ${problem.actual}`;
    case 'checksum':
      return `${kind}: modulus-11 checksum failed`;
    case 'format':
      return `${kind}: invalid format`;
    case 'date':
      return `${kind}: invalid date`;
  }
}

export function idError(kind: IdKind, problem: IdProblem): IdError {
  return { kind, problem, message: describeProblem(kind, problem) };
}

/** Thrown by the `to*` helpers; carries the same typed problem as the parse result. */
export class InvalidIdError extends Error {
  override readonly name = 'InvalidIdError';
  readonly kind: IdKind;
  readonly problem: IdProblem;
  constructor(error: IdError) {
    super(error.message);
    this.kind = error.kind;
    this.problem = error.problem;
  }
}

export function unwrap<T>(result: ParseResult<T, IdError>): T {
  if (result.ok) return result.value;
  throw new InvalidIdError(result.error);
}

/** Position (1-based) of the first non-digit, or 0 when all are ASCII digits. */
export function firstNonDigit(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return i + 1;
  }
  return 0;
}

export function digitsOf(s: string): number[] {
  const out: number[] = new Array<number>(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) - 48;
  return out;
}
