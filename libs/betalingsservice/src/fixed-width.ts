/**
 * Betalingsservice records are fixed width: 128 characters, ISO-8859-1, one record per line
 * (CR LF). A layout is a list of fields whose widths add up to 128; the writer refuses a value that
 * does not fit (never truncates an amount or a number), the reader refuses a line whose numeric or
 * date fields are not what the layout says, naming the record, the field and its position.
 */
export const RECORD_LENGTH = 128;

export type Field =
  | { kind: 'literal'; name: string; value: string }
  | { kind: 'number'; name: string; width: number }
  | { kind: 'text'; name: string; width: number }
  | { kind: 'date6'; name: string }
  | { kind: 'date8'; name: string }
  | { kind: 'filler'; width: number; char: ' ' | '0' };

export interface Layout {
  /** The record type and, where several layouts share it, the transaction code: `BS042/0280`. */
  name: string;
  fields: readonly Field[];
}

export const literal = (name: string, value: string): Field => ({ kind: 'literal', name, value });
export const num = (name: string, width: number): Field => ({ kind: 'number', name, width });
export const text = (name: string, width: number): Field => ({ kind: 'text', name, width });
export const date6 = (name: string): Field => ({ kind: 'date6', name });
export const date8 = (name: string): Field => ({ kind: 'date8', name });
export const blanks = (width: number): Field => ({ kind: 'filler', width, char: ' ' });
export const zeros = (width: number): Field => ({ kind: 'filler', width, char: '0' });

export function widthOf(f: Field): number {
  switch (f.kind) {
    case 'literal':
      return f.value.length;
    case 'date6':
      return 6;
    case 'date8':
      return 8;
    default:
      return f.width;
  }
}

/** Defines a layout and checks, once, that it is exactly one record long. */
export function layout(name: string, fields: readonly Field[]): Layout {
  const width = fields.reduce((n, f) => n + widthOf(f), 0);
  if (width !== RECORD_LENGTH) throw new Error(`layout ${name} is ${width} characters, not ${RECORD_LENGTH}`);
  return { name, fields };
}

/** A local date `YYYY-MM-DD`, or null for "no date" (written as zeros). */
export type RecordValue = string | bigint | number | null;
export type RecordValues = Readonly<Record<string, RecordValue>>;

export class BetalingsserviceFormatError extends Error {
  override readonly name = 'BetalingsserviceFormatError';
  constructor(
    message: string,
    /** 1-based line of the file, when reading. */
    readonly line: number | null = null,
  ) {
    super(line === null ? message : `line ${line}: ${message}`);
  }
}

// Printable ISO-8859-1: space to tilde and the Latin-1 supplement (æ ø å Æ Ø Å …); no control characters.
const LATIN1_PRINTABLE = /^[\x20-\x7e\xa0-\xff]*$/;
const DIGITS = /^\d+$/;

function formatDate(value: RecordValue, width: 6 | 8, where: string): string {
  if (value === null) return '0'.repeat(width);
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new BetalingsserviceFormatError(`${where}: a date must be YYYY-MM-DD, got ${String(value)}`);
  const [y, m, d] = value.split('-') as [string, string, string];
  if (width === 6 && !y.startsWith('20')) throw new BetalingsserviceFormatError(`${where}: ${value} cannot be written as DDMMYY (years 2000-2099 only)`);
  return `${d}${m}${width === 6 ? y.slice(2) : y}`;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function parseDate(raw: string, where: string): string | null {
  if (/^0+$/.test(raw)) return null;
  if (!DIGITS.test(raw)) throw new BetalingsserviceFormatError(`${where}: "${raw}" is not a date`);
  const d = raw.slice(0, 2);
  const m = raw.slice(2, 4);
  const y = raw.length === 6 ? `20${raw.slice(4)}` : raw.slice(4);
  const year = Number(y);
  const month = Number(m);
  const day = Number(d);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > days) throw new BetalingsserviceFormatError(`${where}: "${raw}" is not a calendar date`);
  return `${y}-${m}-${d}`;
}

/** One record, exactly 128 characters. Missing values: text → blanks, numbers → error. */
export function formatRecord(l: Layout, values: RecordValues): string {
  let out = '';
  for (const f of l.fields) {
    if (f.kind === 'filler') {
      out += f.char.repeat(f.width);
      continue;
    }
    if (f.kind === 'literal') {
      out += f.value;
      continue;
    }
    const where = `${l.name} ${f.name}`;
    const v = values[f.name];
    if (f.kind === 'date6' || f.kind === 'date8') {
      out += formatDate(v ?? null, f.kind === 'date6' ? 6 : 8, where);
    } else if (f.kind === 'number') {
      const s = typeof v === 'bigint' || typeof v === 'number' ? String(v) : v;
      if (typeof s !== 'string' || !DIGITS.test(s)) throw new BetalingsserviceFormatError(`${where}: ${String(v)} is not a whole number ≥ 0`);
      if (s.length > f.width) throw new BetalingsserviceFormatError(`${where}: ${s} has more than ${f.width} digits`);
      out += s.padStart(f.width, '0');
    } else {
      const s = v === null || v === undefined ? '' : String(v);
      if (!LATIN1_PRINTABLE.test(s)) throw new BetalingsserviceFormatError(`${where}: "${s}" has characters outside ISO-8859-1`);
      if (s.length > f.width) throw new BetalingsserviceFormatError(`${where}: "${s}" is longer than ${f.width} characters`);
      out += s.padEnd(f.width, ' ');
    }
  }
  return out;
}

/** The fields of one record (numbers as digit strings, dates as YYYY-MM-DD or null, text trimmed at the end). */
export function parseRecord(l: Layout, record: string, line: number | null = null): Record<string, string | null> {
  if (record.length !== RECORD_LENGTH) throw new BetalingsserviceFormatError(`${l.name}: a record is ${RECORD_LENGTH} characters, this one ${record.length}`, line);
  if (!LATIN1_PRINTABLE.test(record)) throw new BetalingsserviceFormatError(`${l.name}: characters outside printable ISO-8859-1`, line);
  const out: Record<string, string | null> = {};
  let at = 0;
  for (const f of l.fields) {
    const width = widthOf(f);
    const raw = record.slice(at, at + width);
    const where = `${l.name} ${f.kind === 'filler' ? 'filler' : f.name} (position ${at + 1}-${at + width})`;
    try {
      switch (f.kind) {
        case 'literal':
          if (raw !== f.value) throw new BetalingsserviceFormatError(`${where}: expected "${f.value}", got "${raw}"`);
          break;
        case 'filler':
          // Fillers are not checked for content: Betalingsservice may use them in later versions.
          break;
        case 'number':
          if (!DIGITS.test(raw)) throw new BetalingsserviceFormatError(`${where}: "${raw}" is not numeric`);
          out[f.name] = raw;
          break;
        case 'text':
          out[f.name] = raw.replace(/ +$/, '');
          break;
        default:
          out[f.name] = parseDate(raw, where);
      }
    } catch (error) {
      if (error instanceof BetalingsserviceFormatError && error.line === null && line !== null) throw new BetalingsserviceFormatError(error.message, line);
      throw error;
    }
    at += width;
  }
  return out;
}

/** `"0000000012755"` øre with a sign code (1 debit, 2 credit, 0 zero) → `"127.55"` / `"-127.55"`. */
export function amountOf(ore: string, signCode: string, where: string): string {
  const value = BigInt(ore);
  const sign = signCode === '1' ? 1n : signCode === '2' ? -1n : signCode === '0' ? 0n : null;
  if (sign === null) throw new BetalingsserviceFormatError(`${where}: sign code "${signCode}" is not 0, 1 or 2`);
  if (sign === 0n && value !== 0n) throw new BetalingsserviceFormatError(`${where}: sign code 0 with a non-zero amount`);
  const signed = value * sign;
  const abs = signed < 0n ? -signed : signed;
  return `${signed < 0n ? '-' : ''}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/** `"127.55"` → øre and sign code for a record. */
export function oreAndSign(dkk: string): { ore: bigint; signCode: '0' | '1' | '2' } {
  const m = /^(-?)(\d+)\.(\d{2})$/.exec(dkk);
  if (m === null) throw new BetalingsserviceFormatError(`amount "${dkk}" must be DKK with exactly 2 decimals`);
  const ore = BigInt(m[2]!) * 100n + BigInt(m[3]!);
  return { ore, signCode: ore === 0n ? '0' : m[1] === '-' ? '2' : '1' };
}
