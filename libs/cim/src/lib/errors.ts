export type CimErrorCode =
  | 'DOCUMENT_TOO_LARGE'
  | 'DOCTYPE_FORBIDDEN'
  | 'MALFORMED_XML'
  | 'INVALID_JSON'
  | 'UNSUPPORTED_DOCUMENT'
  | 'WRONG_NAMESPACE'
  | 'WRONG_TYPE_CODE'
  | 'UNKNOWN_CODE'
  | 'MISSING_FIELD'
  | 'DUPLICATE_FIELD'
  | 'INVALID_VALUE'
  | 'INVALID_DECIMAL'
  | 'DECIMAL_COMMA'
  | 'INVALID_GSRN'
  | 'INVALID_GLN'
  | 'INVALID_DATETIME'
  | 'INVALID_INTERVAL'
  | 'INVALID_POSITION'
  | 'POSITION_GAP'
  | 'POSITION_DUPLICATE'
  | 'POINT_COUNT_MISMATCH'
  | 'MISSING_QUANTITY';

export interface CimParseErrorDetails {
  readonly field?: string;
  readonly path?: string;
}

/** Every rejection of an inbound document: a code to branch on, and the field and path a person needs to find it. */
export class CimParseError extends Error {
  readonly code: CimErrorCode;
  readonly field?: string;
  readonly path?: string;

  constructor(code: CimErrorCode, message: string, details: CimParseErrorDetails = {}) {
    const where = details.path ?? details.field;
    super(where ? `${message} (at ${where})` : message);
    this.name = 'CimParseError';
    this.code = code;
    if (details.field !== undefined) this.field = details.field;
    if (details.path !== undefined) this.path = details.path;
  }
}
