import { isValidGln, isValidGsrn } from '@dh/market-ids';
import { CimParseError } from '../errors';
import { QUALITY_CODES, type QualityCode, type TimeInterval } from '../model/common';
import type { MeasurePoint } from '../model/measure';

export type Strictness = 'strict' | 'lenient';

export interface ParseContext {
  /** strict: a period's point count must equal interval ÷ resolution. lenient: at most that many. */
  readonly pointCount: Strictness;
  /**
   * strict: GSRN 18 digits and GLN 13 digits, each with a valid GS1 mod-10 check digit. lenient: any id up to the XSD
   * length (archived test files use placeholders).
   */
  readonly identifiers: Strictness;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?Z$/;
const GSRN = /^\d{18}$/;
const GLN = /^\d{13}$/;
const EIC = /^[0-9A-Z-]{16}$/;

export function where(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}

/** Exact decimal, dot separator. Quantities and prices stay strings; nothing here goes through a float. */
export function checkDecimal(text: string, field: string, path: string): string {
  if (DECIMAL.test(text)) return text;
  if (/^-?\d+,\d+$/.test(text)) {
    throw new CimParseError('DECIMAL_COMMA', `${field} "${text}" uses a decimal comma; CIM requires a dot`, { field, path });
  }
  throw new CimParseError('INVALID_DECIMAL', `${field} "${text}" is not a decimal number`, { field, path });
}

export function checkDateTime(text: string, field: string, path: string): string {
  if (DATE_TIME.test(text) && !Number.isNaN(Date.parse(text))) return text;
  throw new CimParseError('INVALID_DATETIME', `${field} "${text}" is not a UTC date-time (yyyy-MM-ddTHH:mm[:ss]Z)`, { field, path });
}

export function checkGsrn(text: string, field: string, path: string, ctx: ParseContext): string {
  if (ctx.identifiers === 'lenient') {
    if (text.length > 0 && text.length <= 35) return text;
  } else if (isValidGsrn(text)) {
    return text;
  }
  const reason = GSRN.test(text) ? 'its GS1 check digit is wrong' : 'not 18 digits';
  throw new CimParseError('INVALID_GSRN', `${field} "${text}" is not a GSRN (${reason})`, { field, path });
}

export function checkPartyId(codingScheme: string, text: string, field: string, path: string, ctx: ParseContext): string {
  if (ctx.identifiers === 'lenient') {
    if (text.length > 0 && text.length <= 35) return text;
  } else if ((codingScheme === 'A10' && isValidGln(text)) || (codingScheme === 'A01' && EIC.test(text))) {
    return text;
  }
  const what = codingScheme === 'A01' ? 'EIC (16 characters)' : GLN.test(text) ? 'GLN (its GS1 check digit is wrong)' : 'GLN (13 digits)';
  throw new CimParseError('INVALID_GLN', `${field} "${text}" is not a ${what}`, { field, path });
}

function isQuality(q: string): q is QualityCode {
  return (QUALITY_CODES as readonly string[]).includes(q);
}

/** One RSM-012/014 point: position ≥ 1, exact quantity, and a missing quantity only with quality A02. */
export function validateMeasurePoint(
  position: string | undefined,
  quantity: string | undefined,
  quality: string | undefined,
  pointsPath: string,
  index: number,
): MeasurePoint {
  // The path string is only built on error: this runs once per point of a month-long PT15M bundle.
  const path = (): string => `${pointsPath}[${index}]`;
  if (position === undefined || position === '') {
    throw new CimParseError('MISSING_FIELD', 'Point has no position', { field: 'position', path: path() });
  }
  const pos = checkPosition(position, pointsPath, index);
  let q: QualityCode | undefined;
  if (quality !== undefined && quality !== '') {
    if (!isQuality(quality)) {
      throw new CimParseError('UNKNOWN_CODE', `quality "${quality}" is not one of ${QUALITY_CODES.join(', ')}`, {
        field: 'quality',
        path: where(path(), 'quality'),
      });
    }
    q = quality;
  }
  const point: { position: number; quantity?: string; quality?: QualityCode } = { position: pos };
  if (quantity === undefined || quantity === '') {
    if (q !== 'A02') {
      throw new CimParseError('MISSING_QUANTITY', 'quantity is missing and quality is not A02 (not available)', {
        field: 'quantity',
        path: where(path(), 'quantity'),
      });
    }
  } else {
    point.quantity = DECIMAL.test(quantity) ? quantity : checkDecimal(quantity, 'quantity', where(path(), 'quantity'));
  }
  if (q !== undefined) point.quality = q;
  return point;
}

/** `text` has `lit` at `i`: a loop the compiler inlines, cheaper than a `startsWith` call per tag in the fast readers. */
export function textAt(text: string, i: number, lit: string): boolean {
  const n = lit.length;
  for (let k = 0; k < n; k++) if (text.charCodeAt(i + k) !== lit.charCodeAt(k)) return false;
  return true;
}

/** The quality code of `text[at..at+3)` ('A01'…'A06', the shared constant, no new string), or undefined. */
export function qualityAt(text: string, at: number): QualityCode | undefined {
  if (text.charCodeAt(at) !== 65 || text.charCodeAt(at + 1) !== 48) return undefined;
  const d = text.charCodeAt(at + 2) - 49;
  return d >= 0 && d < QUALITY_CODES.length ? QUALITY_CODES[d] : undefined;
}

/** `text[from..to)` as `checkPosition` reads it (1..999999, no sign or leading zero), or 0 when it is not one. */
export function positionAt(text: string, from: number, to: number): number {
  const len = to - from;
  if (len <= 0 || len > 6 || text.charCodeAt(from) === 48) return 0;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return 0;
    n = n * 10 + d;
  }
  return n;
}

/** True when `text[from..to)` is an exact dot-decimal as {@link checkDecimal} accepts it (`-?\d+(\.\d+)?`). */
export function isDecimalAt(text: string, from: number, to: number): boolean {
  let i = from;
  if (text.charCodeAt(i) === 45) i++;
  const intStart = i;
  let c = text.charCodeAt(i);
  while (i < to && (c = text.charCodeAt(i)) >= 48 && c <= 57) i++;
  if (i === intStart) return false;
  if (i === to) return true;
  if (text.charCodeAt(i) !== 46) return false;
  i++;
  const fracStart = i;
  while (i < to && (c = text.charCodeAt(i)) >= 48 && c <= 57) i++;
  return i > fracStart && i === to;
}

/**
 * The point {@link validateMeasurePoint} returns for an already valid position, decimal quantity and quality,
 * or undefined where it would throw (a missing quantity without A02): for readers that checked the parts themselves.
 */
export function validMeasurePoint(position: number, quantity: string | undefined, quality: QualityCode | undefined): MeasurePoint | undefined {
  // Whole literals: an object given its properties one by one would need a separate property store each.
  if (quantity === undefined) return quality === 'A02' ? { position, quality } : undefined;
  return quality === undefined ? { position, quantity } : { position, quantity, quality };
}

export function checkPosition(text: string, path: string, index?: number): number {
  let n = 0;
  const len = text.length;
  if (len > 0 && len <= 6 && text.charCodeAt(0) !== 48) {
    for (let i = 0; i < len; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) {
        n = 0;
        break;
      }
      n = n * 10 + d;
    }
  }
  if (n === 0) {
    throw new CimParseError('INVALID_POSITION', `position "${text}" is not an integer 1..999999`, {
      field: 'position',
      path: where(index === undefined ? path : `${path}[${index}]`, 'position'),
    });
  }
  return n;
}

const RESOLUTION_MS: Readonly<Record<string, number>> = { PT15M: 900_000, PT1H: 3_600_000 };

/**
 * Positions must run 1..N without gap or duplicate. For PT15M/PT1H, N is the UTC interval length ÷ resolution,
 * so a Copenhagen day gives 92/96/100 quarters or 23/24/25 hours. P1D/P1M counts depend on the local
 * calendar and are checked only for contiguity.
 */
export function checkPeriodPoints(
  positions: readonly { readonly position: number }[],
  resolution: string,
  interval: TimeInterval,
  path: string,
  ctx: ParseContext,
): void {
  checkPeriodInterval(interval, path);
  for (let i = 0; i < positions.length; i++) {
    const pos = positions[i].position;
    if (pos === i + 1) continue;
    const pointPath = where(path, `Point[${i}]`);
    if (pos <= i) {
      throw new CimParseError('POSITION_DUPLICATE', `position ${pos} occurs again (expected ${i + 1})`, { field: 'position', path: pointPath });
    }
    throw new CimParseError('POSITION_GAP', `positions jump from ${i} to ${pos}`, { field: 'position', path: pointPath });
  }
  checkPointCount(positions.length, resolution, interval, path, ctx);
}

/** {@link checkPeriodPoints} of `n` points already known to run 1..n (the XML fast path checks that while reading). */
export function checkPeriodPointCount(n: number, resolution: string, interval: TimeInterval, path: string, ctx: ParseContext): void {
  checkPeriodInterval(interval, path);
  checkPointCount(n, resolution, interval, path, ctx);
}

function checkPeriodInterval(interval: TimeInterval, path: string): void {
  if (!(Date.parse(interval.end) > Date.parse(interval.start))) {
    throw new CimParseError('INVALID_INTERVAL', `timeInterval end ${interval.end} is not after start ${interval.start}`, {
      field: 'timeInterval',
      path: where(path, 'timeInterval'),
    });
  }
}

function checkPointCount(n: number, resolution: string, interval: TimeInterval, path: string, ctx: ParseContext): void {
  const step = RESOLUTION_MS[resolution];
  if (step === undefined) return;
  const span = Date.parse(interval.end) - Date.parse(interval.start);
  if (span % step !== 0) {
    throw new CimParseError('INVALID_INTERVAL', `timeInterval ${interval.start}–${interval.end} is not a whole number of ${resolution}`, {
      field: 'timeInterval',
      path: where(path, 'timeInterval'),
    });
  }
  const expected = span / step;
  if (n === expected || (ctx.pointCount === 'lenient' && n >= 1 && n <= expected)) return;
  throw new CimParseError(
    'POINT_COUNT_MISMATCH',
    `${n} points for ${interval.start}–${interval.end} at ${resolution}; expected ${expected}`,
    { field: 'Point', path },
  );
}
