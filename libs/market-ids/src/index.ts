export type { ParseResult, IdKind, IdProblem, IdError } from './result';
export { InvalidIdError } from './result';
export type { Gsrn, Gln } from './gs1';
export {
  gs1CheckDigit,
  gsrnCheckDigit,
  parseGsrn,
  toGsrn,
  isValidGsrn,
  isDanishGsrn,
  glnCheckDigit,
  parseGln,
  toGln,
  isValidGln,
} from './gs1';
export type { Cvr } from './cvr';
export { parseCvr, toCvr, isValidCvr } from './cvr';
export type { Cpr } from './cpr';
export { parseCpr, toCpr, isValidCpr, maskCpr, cprBirthDate, cprCentury } from './cpr';
export { luhnCheckDigit, isValidLuhn, withLuhnCheckDigit, fiPaymentId71, isValidFiPaymentId71 } from './luhn';
