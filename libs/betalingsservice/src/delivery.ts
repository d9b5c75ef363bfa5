import {
  BetalingsserviceFormatError,
  RECORD_LENGTH,
  formatRecord,
  parseRecord,
  type Layout,
  type RecordValues,
} from './fixed-width';
import { DELIVERY_END, DELIVERY_START, INFORMATION_SECTION_START, SECTION_END } from './layouts';

/** What BS002 says about a delivery: who made it, which type, its id (unique per data supplier). */
export interface DeliveryHeader {
  dataSupplierNumber: string;
  subsystem: string;
  deliveryType: '0601' | '0602' | '0603';
  deliveryId: string;
  createdOn: string | null;
}

export type Lines = AsyncIterable<string> | Iterable<string>;

/** Counts of a section or a delivery, as BS092/BS992 state them. */
export interface Totals {
  count042: bigint;
  amountOre: bigint;
  count052: bigint;
  count022: bigint;
}

const zeroTotals = (): Totals => ({ count042: 0n, amountOre: 0n, count052: 0n, count022: 0n });

/** How a record of a section becomes a value: its layout, and what it adds to the section's totals. */
export interface RecordRule<T> {
  layout: Layout;
  counts: '042' | '052' | '022';
  read(fields: Record<string, string | null>, line: number): T;
  /** Signed øre this record adds to the BS092/BS992 amount (042 records only). */
  amountOre?(fields: Record<string, string | null>): bigint;
}

export interface DeliverySpec<T> {
  deliveryType: DeliveryHeader['deliveryType'];
  /** Section number → the section start layout and the records allowed in it, by `recordType/transactionCode`. */
  sections: Readonly<Record<string, { start: Layout; records: Readonly<Record<string, RecordRule<T>>> }>>;
}

export type DeliveryItem<T> = { kind: 'header'; header: DeliveryHeader } | { kind: 'record'; section: string; line: number; record: T };

/**
 * Reads a delivery record by record, checking its structure as it goes: BS002 first with the
 * expected delivery type, records only inside a section and of a kind that section allows, every
 * BS092 and the BS992 matching the counts and the net amount actually read, nothing after BS992.
 * Throws `BetalingsserviceFormatError` with the line at the first problem: a caller that must never
 * half-apply a file reads it to the end once before acting on any record.
 */
export async function* readDelivery<T>(lines: Lines, spec: DeliverySpec<T>): AsyncGenerator<DeliveryItem<T>, Totals & { sections: bigint }> {
  let lineNo = 0;
  let header: DeliveryHeader | null = null;
  let ended = false;
  let section: { number: string; totals: Totals } | null = null;
  const delivery = zeroTotals();
  let sections = 0n;
  let emptyAt: number | null = null;
  for await (const raw of lines) {
    lineNo++;
    const record = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (record === '') {
      // The file's last line end gives one empty line; an empty line before another record is an error.
      emptyAt ??= lineNo;
      continue;
    }
    if (emptyAt !== null) throw new BetalingsserviceFormatError('empty line', emptyAt);
    if (ended) throw new BetalingsserviceFormatError('records after the delivery end (BS992)', lineNo);
    if (record.length !== RECORD_LENGTH) throw new BetalingsserviceFormatError(`a record is ${RECORD_LENGTH} characters, this one ${record.length}`, lineNo);
    const type = record.slice(0, 5);
    if (header === null) {
      if (type !== 'BS002') throw new BetalingsserviceFormatError(`the first record must be a delivery start (BS002), got ${type}`, lineNo);
      const f = parseRecord(DELIVERY_START, record, lineNo);
      if (f.deliveryType !== spec.deliveryType) throw new BetalingsserviceFormatError(`delivery type ${String(f.deliveryType)}, expected ${spec.deliveryType}`, lineNo);
      header = { dataSupplierNumber: f.dataSupplierNumber!, subsystem: f.subsystem!, deliveryType: spec.deliveryType, deliveryId: f.deliveryId!, createdOn: f.createdOn ?? null };
      yield { kind: 'header', header };
      continue;
    }
    if (type === 'BS002') throw new BetalingsserviceFormatError('a second delivery start (BS002)', lineNo);
    if (type === 'BS012') {
      if (section !== null) throw new BetalingsserviceFormatError(`section ${section.number} has no end (BS092) before the next section starts`, lineNo);
      const number = record.slice(13, 17);
      const rule = spec.sections[number];
      if (rule === undefined) throw new BetalingsserviceFormatError(`section ${number} is not part of delivery ${spec.deliveryType}`, lineNo);
      parseRecord(rule.start, record, lineNo);
      section = { number, totals: zeroTotals() };
      sections++;
      continue;
    }
    if (type === 'BS092') {
      if (section === null) throw new BetalingsserviceFormatError('a section end (BS092) outside a section', lineNo);
      const f = parseRecord(SECTION_END, record, lineNo);
      if (f.section !== section.number) throw new BetalingsserviceFormatError(`section end for ${String(f.section)} closes section ${section.number}`, lineNo);
      checkTotals(`section ${section.number}`, f, section.totals, lineNo);
      for (const k of ['count042', 'amountOre', 'count052', 'count022'] as const) delivery[k] += section.totals[k];
      section = null;
      continue;
    }
    if (type === 'BS992') {
      if (section !== null) throw new BetalingsserviceFormatError(`section ${section.number} has no end (BS092) before the delivery end`, lineNo);
      const f = parseRecord(DELIVERY_END, record, lineNo);
      if (f.deliveryType !== spec.deliveryType) throw new BetalingsserviceFormatError(`delivery end of type ${String(f.deliveryType)} in a ${spec.deliveryType} delivery`, lineNo);
      if (BigInt(f.sections!) !== sections) throw new BetalingsserviceFormatError(`delivery end counts ${BigInt(f.sections!)} sections, the delivery has ${sections}`, lineNo);
      checkTotals('delivery', f, delivery, lineNo);
      ended = true;
      continue;
    }
    if (section === null) throw new BetalingsserviceFormatError(`a ${type} record outside a section`, lineNo);
    const key = `${type}/${record.slice(13, 17)}`;
    const rule = spec.sections[section.number]!.records[key];
    if (rule === undefined) throw new BetalingsserviceFormatError(`${key} is not allowed in section ${section.number} of delivery ${spec.deliveryType}`, lineNo);
    const fields = parseRecord(rule.layout, record, lineNo);
    const value = rule.read(fields, lineNo);
    const counter = `count${rule.counts}` as const;
    section.totals[counter] += 1n;
    if (rule.amountOre) section.totals.amountOre += rule.amountOre(fields);
    yield { kind: 'record', section: section.number, line: lineNo, record: value };
  }
  if (header === null) throw new BetalingsserviceFormatError('the file is empty: no delivery start (BS002)');
  if (!ended) throw new BetalingsserviceFormatError(`the delivery has no end (BS992) after line ${lineNo}: incomplete file`);
  return { ...delivery, sections };
}

function checkTotals(what: string, f: Record<string, string | null>, actual: Totals, lineNo: number): void {
  for (const k of ['count042', 'amountOre', 'count052', 'count022'] as const) {
    // Amounts in BS092/BS992 are the net of the section: absolute value, as the records carry the sign.
    const stated = BigInt(f[k]!);
    const read = k === 'amountOre' && actual[k] < 0n ? -actual[k] : actual[k];
    if (stated !== read) throw new BetalingsserviceFormatError(`${what}: ${k} is ${stated}, the records read add up to ${read}`, lineNo);
  }
}

/** Signed øre of a BS042 amount field with its sign code (1 debit, 2 credit, 0 zero). */
export function signedOre(fields: Record<string, string | null>, amountField = 'amountOre'): bigint {
  const ore = BigInt(fields[amountField]!);
  switch (fields.signCode) {
    case '1':
      return ore;
    case '2':
      return -ore;
    case '0':
      if (ore !== 0n) throw new BetalingsserviceFormatError(`${amountField}: sign code 0 with a non-zero amount`);
      return 0n;
    default:
      throw new BetalingsserviceFormatError(`${amountField}: sign code "${String(fields.signCode)}" is not 0, 1 or 2`);
  }
}

/** The delivery's writing side: header, sections of records with their ends, delivery end, with totals kept as it goes. */
export class DeliveryWriter {
  private readonly delivery = zeroTotals();
  private section: { number: string; pbsNumber: string; debtorGroup: string; totals: Totals } | null = null;
  private sections = 0n;

  constructor(private readonly header: Omit<DeliveryHeader, 'createdOn'> & { createdOn: string }) {}

  start(): string {
    return formatRecord(DELIVERY_START, { ...this.header });
  }

  startSection(sectionStart: Layout, values: RecordValues & { section: string; pbsNumber: string; debtorGroup: string }): string {
    if (this.section !== null) throw new Error(`section ${this.section.number} is still open`);
    this.section = { number: values.section, pbsNumber: values.pbsNumber, debtorGroup: values.debtorGroup, totals: zeroTotals() };
    this.sections++;
    return formatRecord(sectionStart, values);
  }

  record(l: Layout, values: RecordValues, counts: '042' | '052' | '022', signedAmountOre = 0n): string {
    if (this.section === null) throw new Error('no section is open');
    const line = formatRecord(l, values);
    this.section.totals[`count${counts}`] += 1n;
    this.section.totals.amountOre += signedAmountOre;
    return line;
  }

  endSection(): string {
    const s = this.section;
    if (s === null) throw new Error('no section is open');
    for (const k of ['count042', 'amountOre', 'count052', 'count022'] as const) this.delivery[k] += s.totals[k];
    this.section = null;
    const amount = s.totals.amountOre < 0n ? -s.totals.amountOre : s.totals.amountOre;
    return formatRecord(SECTION_END, { pbsNumber: s.pbsNumber, section: s.number, debtorGroup: s.debtorGroup, ...s.totals, amountOre: amount });
  }

  end(): string {
    if (this.section !== null) throw new Error(`section ${this.section.number} is still open`);
    const amount = this.delivery.amountOre < 0n ? -this.delivery.amountOre : this.delivery.amountOre;
    return formatRecord(DELIVERY_END, { ...this.header, sections: this.sections, ...this.delivery, amountOre: amount });
  }
}

export { INFORMATION_SECTION_START };
