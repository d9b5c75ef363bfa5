import { isLocalDate, type LocalDate } from '@dh/dk-time';
import { DecimalParseError, PrecisionLossError, toScaled } from '@dh/money';
import { PriceRecordError, type PriceDataset } from '../errors';

/** Reads fields of one record; every failure names dataset, record index and field. */
export class RecordReader {
  constructor(
    readonly dataset: PriceDataset,
    readonly index: number,
    private readonly record: Readonly<Record<string, unknown>>,
  ) {}

  static of(dataset: PriceDataset, index: number, record: unknown): RecordReader {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new PriceRecordError(dataset, index, '(record)', 'must be a JSON object');
    }
    return new RecordReader(dataset, index, record as Readonly<Record<string, unknown>>);
  }

  fail(field: string, problem: string): never {
    throw new PriceRecordError(this.dataset, this.index, field, problem);
  }

  has(field: string): boolean {
    const v = this.record[field];
    return v !== undefined && v !== null;
  }

  string(field: string): string {
    const v = this.record[field];
    if (v === undefined || v === null) this.fail(field, 'is missing');
    if (typeof v !== 'string') this.fail(field, `must be a string, got ${typeof v}`);
    return v;
  }

  optionalString(field: string): string | null {
    return this.has(field) ? this.string(field) : null;
  }

  /**
   * A decimal price kept exactly at `scale` decimals. Energi Data Service sends JSON numbers: the
   * caller must read them with raw-number JSON (decimal strings), because a JS number is already
   * floating point and may have lost published decimals.
   */
  decimal(field: string, toUnits: (s: string) => bigint): bigint {
    const v = this.record[field];
    if (v === undefined || v === null) this.fail(field, 'is missing');
    if (typeof v === 'number') this.fail(field, `is a JS number (${v}); read the JSON with raw numbers so every published decimal is kept`);
    if (typeof v !== 'string') this.fail(field, `must be a decimal string, got ${typeof v}`);
    try {
      return toUnits(v);
    } catch (e) {
      if (e instanceof DecimalParseError) this.fail(field, `is not a decimal number: ${e.message}`);
      if (e instanceof PrecisionLossError) this.fail(field, `has more decimals than can be kept exactly: ${JSON.stringify(v)}`);
      throw e;
    }
  }

  /** A naive `YYYY-MM-DDTHH:mm[:ss]` timestamp read as UTC (the `…UTC` fields). */
  utcInstant(field: string): Date {
    const s = this.string(field);
    const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.0+)?Z?$/.exec(s);
    if (m === null || !isLocalDate(m[1])) this.fail(field, `must be a timestamp YYYY-MM-DDTHH:mm:ss, got ${JSON.stringify(s)}`);
    const hour = Number(m[2]);
    const minute = Number(m[3]);
    const second = m[4] === undefined ? 0 : Number(m[4]);
    if (hour > 23 || minute > 59 || second > 59) this.fail(field, `is not a valid time: ${JSON.stringify(s)}`);
    return new Date(`${m[1]}T${m[2]}:${m[3]}:${String(second).padStart(2, '0')}.000Z`);
  }

  /** A naive local midnight `YYYY-MM-DD[T00:00[:00]]` (DatahubPricelist `ValidFrom`/`ValidTo`). */
  localMidnight(field: string): LocalDate {
    const s = this.string(field);
    const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.0+)?)?$/.exec(s);
    if (m === null || !isLocalDate(m[1])) this.fail(field, `must be a local date or midnight YYYY-MM-DDT00:00:00, got ${JSON.stringify(s)}`);
    if ((m[2] !== undefined && m[2] !== '00') || (m[3] !== undefined && m[3] !== '00') || (m[4] !== undefined && m[4] !== '00')) {
      this.fail(field, `must be a local midnight (validity changes only at day boundaries), got ${JSON.stringify(s)}`);
    }
    return m[1];
  }
}

export function toUnits(scale: number): (s: string) => bigint {
  return (s) => toScaled(s, scale);
}

/** Runs `parse` over every record, collecting all errors (not just the first). */
export function parseAll<T>(
  dataset: PriceDataset,
  records: readonly unknown[],
  parse: (r: RecordReader) => T,
): { readonly ok: true; readonly value: T[] } | { readonly ok: false; readonly errors: PriceRecordError[] } {
  const value: T[] = [];
  const errors: PriceRecordError[] = [];
  records.forEach((rec, i) => {
    try {
      value.push(parse(RecordReader.of(dataset, i, rec)));
    } catch (e) {
      if (e instanceof PriceRecordError) errors.push(e);
      else throw e;
    }
  });
  return errors.length === 0 ? { ok: true, value } : { ok: false, errors };
}
