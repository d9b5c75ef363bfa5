import {
  BetalingsserviceFormatError,
  RECORD_LENGTH,
  betalingsserviceCustomerNumber,
  collectionDayIn,
  deliveryDeadline,
  nextCollectionDate,
  readAgreementInformation,
  readCollectionDelivery,
  readPaymentInformation,
  toDeliveryBytes,
  writeAgreementInformation,
  writeCollectionDelivery,
  writePaymentInformation,
  type Collection,
  type Creditor,
  type DeliveryItem,
} from './index';

const creditor: Creditor = {
  dataSupplierNumber: '12345678',
  pbsNumber: '03985644',
  debtorGroup: '00001',
  registrationNumber: '1234',
  accountNumber: '0001234567',
  dataSupplierIdentification: 'EL-LEVERANDØR',
  headline: 'Elregning fra Eksempel Energi A/S',
};

async function all<T>(items: AsyncIterable<DeliveryItem<T>>): Promise<{ header: unknown; records: T[] }> {
  let header: unknown = null;
  const records: T[] = [];
  for await (const i of items) {
    if (i.kind === 'header') header = i.header;
    else records.push(i.record);
  }
  return { header, records };
}

async function linesOf<T>(gen: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const l of gen) out.push(l);
  return out;
}

const pad = (s: string) => s.padEnd(RECORD_LENGTH, ' ');

describe('0601 collection data (delivery to Betalingsservice)', () => {
  const collections: Collection[] = [
    { customerNumber: '12313', agreementNumber: '123456789', dueDate: '2026-12-01', amount: '127.55', reference: '125', adviceText: ['Elregning oktober 2026', 'Måler 571313180400000028'] },
    { customerNumber: '987654321012345', agreementNumber: '1', dueDate: '2026-12-01', amount: '1003.20', reference: '126' },
  ];

  it('writes 128-character records: BS002, BS012 0112, BS042 0280 with BS052 text, BS092 and BS992 with counts and the net amount', async () => {
    const lines = await linesOf(writeCollectionDelivery(creditor, { deliveryId: '42', createdOn: '2026-11-20' }, collections));
    expect(lines.every((l) => l.length === RECORD_LENGTH)).toBe(true);
    expect(lines.map((l) => l.slice(0, 5))).toEqual(['BS002', 'BS012', 'BS042', 'BS052', 'BS052', 'BS042', 'BS092', 'BS992']);
    // Field by field, as the record layout places them (0-based offsets).
    expect(lines[0]).toBe(pad(`BS00212345678BS106010000000042${' '.repeat(19)}201126`));
    expect(lines[2]!.slice(0, 105)).toBe(`BS0420398564402800000000001000000000012313123456789011220261000000001275500000012${'5'}${' '.repeat(21)}00`);
    expect(lines[3]).toBe(pad(`BS0520398564402410000100001${'12313'.padStart(15, '0')}123456789 Elregning oktober 2026`));
    expect(lines[6]).toBe(pad(`BS0920398564401120000000001    ${'2'.padStart(11, '0')}${'113075'.padStart(15, '0')}${'2'.padStart(11, '0')}${' '.repeat(15)}${'0'.padStart(11, '0')}`));
    expect(lines[7]).toBe(`BS99212345678BS10601${'1'.padStart(11, '0')}${'2'.padStart(11, '0')}${'113075'.padStart(15, '0')}${'2'.padStart(11, '0')}${'0'.repeat(15)}${'0'.padStart(11, '0')}${'0'.repeat(34)}`);
  });

  it('reads back what it wrote (round trip), Danish letters in ISO-8859-1', async () => {
    const bytes = Buffer.concat(await linesOf(toDeliveryBytes(writeCollectionDelivery(creditor, { deliveryId: '42', createdOn: '2026-11-20' }, collections))));
    expect(bytes.length).toBe(8 * (RECORD_LENGTH + 2));
    expect(bytes.includes(Buffer.from('Måler', 'latin1'))).toBe(true);
    const read = await all(readCollectionDelivery(bytes.toString('latin1').split('\n')));
    expect(read.header).toEqual({ dataSupplierNumber: '12345678', subsystem: 'BS1', deliveryType: '0601', deliveryId: '0000000042', createdOn: '2026-11-20' });
    expect(read.records).toEqual([
      { kind: 'collection', transactionCode: '0280', customerNumber: '12313', agreementNumber: '123456789', dueDate: '2026-12-01', amount: '127.55', reference: '125' },
      { kind: 'advice-text', customerNumber: '12313', agreementNumber: '123456789', text: 'Elregning oktober 2026' },
      { kind: 'advice-text', customerNumber: '12313', agreementNumber: '123456789', text: 'Måler 571313180400000028' },
      { kind: 'collection', transactionCode: '0280', customerNumber: '987654321012345', agreementNumber: '1', dueDate: '2026-12-01', amount: '1003.20', reference: '126' },
    ]);
  });

  it('refuses what does not fit: a non-positive amount, a 16-digit customer number, text outside ISO-8859-1', async () => {
    const write = (c: Partial<Collection>) => linesOf(writeCollectionDelivery(creditor, { deliveryId: '1', createdOn: '2026-11-20' }, [{ ...collections[1]!, ...c }]));
    await expect(write({ amount: '0.00' })).rejects.toThrow(/must be positive/);
    await expect(write({ customerNumber: '1234567890123456' })).rejects.toThrow(/customerNumber: 1234567890123456 has more than 15 digits/);
    await expect(write({ adviceText: ['Elregning €'] })).rejects.toThrow(/outside ISO-8859-1/);
    await expect(write({ adviceText: ['x'.repeat(61)] })).rejects.toThrow(/longer than 60/);
  });
});

describe('0602 payment information (from Betalingsservice)', () => {
  // A completed automatic payment as Betalingsservice delivers it (from a data supplier's client,
  // hafsjold/snvrepos clsPbs602.cs): PBS no. 03985644, 0236, customer 12313, agreement 123456789,
  // due 10-12-03, 127.55 DKK, reference 125, paid 31-12-03, booked 11-12-03, 127.55 paid.
  const sample = 'BS0420398564402360000000100000000001231312345678910120310000000012755000000125                         3112031112030000000012755';
  const header = pad(`BS00212345678BS106020000000777${' '.repeat(19)}151203`);
  const sectionStart = pad('BS012039856440211     00001');
  const sectionEnd = pad(`BS0920398564402110000000001    ${'1'.padStart(11, '0')}${'12755'.padStart(15, '0')}${'0'.padStart(11, '0')}${' '.repeat(15)}${'0'.padStart(11, '0')}`);
  const end = `BS99212345678BS10602${'1'.padStart(11, '0')}${'1'.padStart(11, '0')}${'12755'.padStart(15, '0')}${'0'.padStart(11, '0')}${'0'.repeat(15)}${'0'.padStart(11, '0')}${'0'.repeat(34)}`;

  it('parses a hand-written delivery with a real completed-payment record', async () => {
    const read = await all(readPaymentInformation([header, sectionStart, sample, sectionEnd, end, '']));
    expect(read.header).toMatchObject({ deliveryType: '0602', deliveryId: '0000000777', createdOn: '2003-12-15' });
    expect(read.records).toEqual([
      { outcome: 'completed', transactionCode: '0236', customerNumber: '12313', agreementNumber: '123456789', dueDate: '2003-12-10', amount: '127.55', reference: '125', paymentDate: '2003-12-31', bookingDate: '2003-12-11', paidAmount: '127.55' },
    ]);
  });

  it('writes rejected, cancelled and charged-back outcomes that read back the same', async () => {
    const records = [
      { outcome: 'completed' as const, customerNumber: '1', agreementNumber: '11', dueDate: '2026-12-01', amount: '100.00', reference: '1', paymentDate: '2026-12-01', bookingDate: '2026-12-01', paidAmount: '100.00' },
      { outcome: 'rejected' as const, customerNumber: '2', agreementNumber: '22', dueDate: '2026-12-01', amount: '200.00', reference: '2', paymentDate: null, bookingDate: null, paidAmount: '0.00' },
      { outcome: 'cancelled' as const, customerNumber: '3', agreementNumber: '33', dueDate: '2026-12-01', amount: '300.00', reference: '3', paymentDate: null, bookingDate: null, paidAmount: '0.00' },
      { outcome: 'charged-back' as const, customerNumber: '4', agreementNumber: '44', dueDate: '2026-11-02', amount: '400.00', reference: '4', paymentDate: '2026-11-02', bookingDate: '2026-12-03', paidAmount: '400.00' },
    ];
    const lines = [...writePaymentInformation({ dataSupplierNumber: '12345678', deliveryId: '9', createdOn: '2026-12-03', pbsNumber: '03985644', debtorGroup: '00001' }, records)];
    expect(lines[0]!.slice(16, 20)).toBe('0602');
    expect(lines.slice(1, 7).map((l) => l.slice(13, 17))).toEqual(['0211', '0236', '0237', '0238', '0239', '0211']);
    const read = await all(readPaymentInformation(lines));
    expect(read.records.map((r) => ({ ...r, transactionCode: undefined }))).toEqual(records.map((r) => ({ ...r, transactionCode: undefined })));
  });

  it.each([
    ['a truncated file (no BS992)', (l: string[]) => l.slice(0, 4), /no end \(BS992\).*incomplete/],
    ['a section total that does not add up', (l: string[]) => [l[0]!, l[1]!, l[2]!, l[3]!.replace('000000000012755', '000000000012756'), l[4]!], /amountOre is 12756, the records read add up to 12755/],
    ['a record of the wrong length', (l: string[]) => [l[0]!, l[1]!, l[2]!.slice(0, 127), l[3]!, l[4]!], /line 3: a record is 128 characters, this one 127/],
    ['a letter in an amount', (l: string[]) => [l[0]!, l[1]!, l[2]!.slice(0, 60) + 'X' + l[2]!.slice(61), l[3]!, l[4]!], /line 3: BS042\/0211 amountOre \(position 57-69\): .* is not numeric/],
    ['an impossible date', (l: string[]) => [l[0]!, l[1]!, l[2]!.slice(0, 49) + '311303' + l[2]!.slice(55), l[3]!, l[4]!], /dueDate.*"311303" is not a calendar date/],
    ['a transaction code the section does not have', (l: string[]) => [l[0]!, l[1]!, l[2]!.replace('BS04203985644 0236'.replace(' ', ''), 'BS042039856440280'), l[3]!, l[4]!], /BS042\/0280 is not allowed in section 0211/],
    ['a 0601 delivery given as 0602', (l: string[]) => [l[0]!.replace('BS10602', 'BS10601'), ...l.slice(1)], /delivery type 0601, expected 0602/],
    ['records after the end', (l: string[]) => [...l, l[2]!], /records after the delivery end/],
  ])('refuses %s, naming the line', async (_name, mutate, message) => {
    const lines = mutate([header, sectionStart, sample, sectionEnd, end]);
    await expect(all(readPaymentInformation(lines))).rejects.toThrow(message);
    await expect(all(readPaymentInformation(lines))).rejects.toBeInstanceOf(BetalingsserviceFormatError);
  });
});

describe('0603 agreement information (from Betalingsservice)', () => {
  it('parses hand-written registered and cancelled agreements, and writes the same', async () => {
    // 0231 registered from 01-11-26; 0232 cancelled by the debtor's bank on 15-11-26.
    const registered = pad('BS0420398564402310010000100000000001231312345678901112' + '6000000');
    const cancelled = pad('BS0420398564402320020000100000000009999900000004201102' + '6151126');
    const header = pad(`BS00212345678BS106030000000031${' '.repeat(19)}161126`);
    const start = pad('BS012039856440212     00001');
    const sectionEnd = pad(`BS0920398564402120000000001    ${'2'.padStart(11, '0')}${'0'.padStart(15, '0')}${'0'.padStart(11, '0')}${' '.repeat(15)}${'0'.padStart(11, '0')}`);
    const end = `BS99212345678BS10603${'1'.padStart(11, '0')}${'2'.padStart(11, '0')}${'0'.padStart(15, '0')}${'0'.padStart(11, '0')}${'0'.repeat(15)}${'0'.padStart(11, '0')}${'0'.repeat(34)}`;
    const read = await all(readAgreementInformation([header, start, registered, cancelled, sectionEnd, end]));
    expect(read.records).toEqual([
      { change: 'registered', transactionCode: '0231', customerNumber: '12313', agreementNumber: '123456789', debtorGroup: '00001', startDate: '2026-11-01', endDate: null },
      { change: 'cancelled-by-bank', transactionCode: '0232', customerNumber: '99999', agreementNumber: '42', debtorGroup: '00001', startDate: '2026-10-01', endDate: '2026-11-15' },
    ]);
    const written = [...writeAgreementInformation({ dataSupplierNumber: '12345678', deliveryId: '31', createdOn: '2026-11-16', pbsNumber: '03985644', debtorGroup: '00001' }, read.records)];
    expect(written).toEqual([header, start, registered, cancelled, sectionEnd, end]);
  });
});

describe('the monthly collection cycle (banking days, Europe/Copenhagen)', () => {
  it('the delivery deadline is six banking days before the due month starts', () => {
    // December 2026: banking days back from 1 December: 30, 27, 26, 25, 24, 23 November.
    expect(deliveryDeadline('2026-12-01')).toBe('2026-11-23');
    // January 2027: 31 December and 24 December are bank closing days, 25/26 holidays, weekends.
    expect(deliveryDeadline('2027-01-04')).toBe('2026-12-21');
  });

  it('collects on the first banking day of the month, or the next month when the deadline has passed', () => {
    expect(collectionDayIn('2026-11-01')).toBe('2026-11-02'); // 1 November 2026 is a Sunday
    expect(nextCollectionDate('2026-11-02', '2026-11-16')).toBe('2026-12-01');
    expect(nextCollectionDate('2026-11-23', '2026-11-16')).toBe('2026-12-01');
    expect(nextCollectionDate('2026-11-24', '2026-11-16')).toBe('2027-01-04'); // too late for December
    expect(nextCollectionDate('2026-11-02', '2026-12-02', { dayOfMonth: 15, deadlineBankingDays: 6 })).toBe('2026-12-15');
  });
});

describe('customer number (kundenr)', () => {
  it('is 15 digits derived from the customer id, stable', () => {
    const n = betalingsserviceCustomerNumber('c0a80164-3b2f-4d6e-9a51-7e1f2d3c4b5a');
    expect(n).toMatch(/^\d{15}$/);
    expect(n).toBe((BigInt('0xc0a801643b2f4d6e9a517e1f2d3c4b5a') % 10n ** 15n).toString().padStart(15, '0'));
    expect(() => betalingsserviceCustomerNumber('42')).toThrow(RangeError);
  });
});
