import { BinaryCopyWriter, copyField, CopyWriter } from './copy';

const text = (writer: CopyWriter): string => Buffer.concat(writer.take()).toString('utf8');

describe('CopyWriter', () => {
  it('writes decimals as numeric::text prints them, with at least the decimals asked for', () => {
    const cases: [number, number, number, string][] = [
      [0, 0, 0, '0'],
      [0, 0, 3, '0.000'],
      [7, 0, 0, '7'],
      [7, 0, 3, '7.000'],
      [-5, 1, 0, '-0.5'],
      [-5, 1, 3, '-0.500'],
      [125, 2, 3, '1.250'],
      [1, 4, 0, '0.0001'],
      [1, 4, 3, '0.0001'],
      [123456, 4, 3, '12.3456'],
      [9_007_199_254_740_991, 15, 0, '9.007199254740991'],
      [-9_007_199_254_740_991, 0, 0, '-9007199254740991'],
      [1000, 3, 0, '1.000'],
    ];
    const writer = new CopyWriter();
    for (const [units, scale, min] of cases) writer.decimal(units, scale, min).tab();
    expect(text(writer)).toBe(cases.map((c) => `${c[3]}\t`).join(''));
  });

  it('escapes text as copyField does, in UTF-8, null as \\N', () => {
    const values = ['plain', 'tab\there', 'line\nbreak', 'back\\slash', 'carriage\rreturn', 'blåbærgrød ⚡', '', null];
    const writer = new CopyWriter();
    for (const value of values) writer.text(value).tab();
    expect(text(writer)).toBe(values.map((v) => `${copyField(v)}\t`).join(''));
  });

  it('takes back what was written since a mark, across buffers', () => {
    const writer = new CopyWriter();
    writer.ascii('kept').endRow();
    const mark = writer.mark();
    const big = 'x'.repeat(100_000);
    for (let i = 0; i < 10; i++) writer.ascii(big);
    expect(writer.length).toBe(5 + 1_000_000);
    writer.rollback(mark);
    expect(writer.length).toBe(5);
    writer.ascii('after').endRow();
    expect(text(writer)).toBe('kept\nafter\n');
    expect(writer.length).toBe(0);
  });
});

describe('BinaryCopyWriter', () => {
  /** The rows' bytes without the format's header (19 bytes) and trailer (2 bytes). */
  const body = (writer: BinaryCopyWriter): Buffer => {
    const all = Buffer.concat(writer.take());
    expect(all.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
    expect(all.readInt16BE(all.length - 2)).toBe(-1);
    return all.subarray(19, all.length - 2);
  };
  /** A numeric field as [length, ndigits, weight, sign, dscale, ...digits]. */
  const numericWords = (bytes: Buffer): number[] => {
    const words = [bytes.readInt32BE(0)];
    for (let at = 4; at < bytes.length; at += 2) words.push(bytes.readInt16BE(at));
    return words;
  };
  const fromUnits = (units: number, scale: number): number[] => numericWords(body(new BinaryCopyWriter().numeric(units, scale)));
  const fromText = (text: string): number[] => {
    const writer = new BinaryCopyWriter();
    expect(writer.numericText(text)).toBe(true);
    return numericWords(body(writer));
  };

  it('writes numerics as base-10000 digits without leading or trailing zero digits, the scale as written, zero positive', () => {
    const cases: [number, number, string, number[]][] = [
      [0, 0, '0', [8, 0, 0, 0, 0]],
      [0, 3, '0.000', [8, 0, 0, 0, 3]],
      [125, 2, '1.25', [12, 2, 0, 0, 2, 1, 2500]],
      [-5, 1, '-0.5', [10, 1, -1, 0x4000, 1, 5000]],
      [1, 4, '0.0001', [10, 1, -1, 0, 4, 1]],
      [1, 5, '0.00001', [10, 1, -2, 0, 5, 1000]],
      [1000, 3, '1.000', [10, 1, 0, 0, 3, 1]],
      [10_000, 0, '10000', [10, 1, 1, 0, 0, 1]],
      [100_000_001, 4, '10000.0001', [14, 3, 1, 0, 4, 1, 0, 1]],
      [123_456, 4, '12.3456', [12, 2, 0, 0, 4, 12, 3456]],
      [-9_007_199_254_740_991, 15, '-9.007199254740991', [18, 5, 0, 0x4000, 15, 9, 71, 9925, 4740, 9910]],
      [9_007_199_254_740_991, 0, '9007199254740991', [16, 4, 3, 0, 0, 9007, 1992, 5474, 991]],
    ];
    for (const [units, scale, text, words] of cases) {
      expect([units, scale, fromUnits(units, scale)]).toEqual([units, scale, words]);
      expect([text, fromText(text)]).toEqual([text, words]);
    }
    // The text's own scale and zeros: what numeric_in keeps.
    expect(fromText('-0.00')).toEqual([8, 0, 0, 0, 2]);
    expect(fromText('00012.50')).toEqual([12, 2, 0, 0, 2, 12, 5000]);
    expect(fromText('123456789012345678901234567890.000000000000000000000000000001')).toEqual([
      40, 16, 7, 0, 30, 12, 3456, 7890, 1234, 5678, 9012, 3456, 7890, 0, 0, 0, 0, 0, 0, 0, 100,
    ]);
  });

  it('writes the same numeric from units and scale as from the text decimal() prints for them', () => {
    for (let i = 0; i < 2000; i++) {
      const scale = i % 16;
      // Up to 16 digits, of either sign, deterministic.
      const units = Number((BigInt(i) * 7919n ** BigInt(1 + (i % 5))) % 10n ** BigInt(1 + (i % 16))) * (i % 3 === 0 ? -1 : 1);
      const text = Buffer.concat(new CopyWriter().decimal(units, scale, 0).take()).toString('latin1');
      expect([units, scale, fromUnits(units, scale)]).toEqual([units, scale, fromText(text)]);
    }
    // Either side of the magnitude below which the digits come from the value, not digit by digit.
    for (const magnitude of [999_999_999_999, 1_000_000_000_000, 999_999_990_000, 1_000_000_000_001, 10_000, 9_999, 100_010_000]) {
      for (let scale = 0; scale <= 15; scale++) {
        for (const units of [magnitude, -magnitude]) {
          const text = Buffer.concat(new CopyWriter().decimal(units, scale, 0).take()).toString('latin1');
          expect([units, scale, fromUnits(units, scale)]).toEqual([units, scale, fromText(text)]);
        }
      }
    }
  });

  it('writes nothing for a text that is not a plain decimal', () => {
    for (const text of ['', '-', '.5', '1.', '+1', '1e5', 'NaN', ' 2.5', '2.5 ', '1.2.3', '١', '--1', '1'.repeat(129)]) {
      const writer = new BinaryCopyWriter();
      expect([text, writer.numericText(text)]).toEqual([text, false]);
      expect(writer.length).toBe(0);
    }
  });

  it('writes dates and instants from PostgreSQL epoch, texts as UTF-8 with their byte length, null as -1', () => {
    const day = Date.UTC(2026, 2, 29) / 86_400_000;
    const writer = new BinaryCopyWriter().row(6).date(day).timestamptz(Date.UTC(1999, 11, 31, 23, 59, 59, 999)).timestamptz(Date.UTC(2026, 2, 29, 1));
    writer.text('blåbær ⚡').nullField().int4(-7);
    const bytes = body(writer);
    expect(bytes.readInt16BE(0)).toBe(6);
    expect([bytes.readInt32BE(2), bytes.readInt32BE(6)]).toEqual([4, day - 10_957]);
    expect([bytes.readInt32BE(10), bytes.readBigInt64BE(14)]).toEqual([8, -1000n]);
    expect(bytes.readBigInt64BE(26)).toBe(BigInt(Date.UTC(2026, 2, 29, 1) - Date.UTC(2000, 0, 1)) * 1000n);
    expect(bytes.readInt32BE(34)).toBe(Buffer.byteLength('blåbær ⚡'));
    expect(bytes.subarray(38, 38 + bytes.readInt32BE(34)).toString('utf8')).toBe('blåbær ⚡');
    const after = 38 + bytes.readInt32BE(34);
    expect([bytes.readInt32BE(after), bytes.readInt32BE(after + 4), bytes.readInt32BE(after + 8)]).toEqual([-1, 4, -7]);
  });

  it('writes an opened field’s length when closed, also across buffers, and takes back a row from a mark', () => {
    const writer = new BinaryCopyWriter().row(1);
    const mark = writer.mark();
    writer.row(1).open().ascii('x'.repeat(300_000)).close();
    writer.rollback(mark);
    writer.text('kept').row(1).open().ascii('y'.repeat(200_000)).ascii('z'.repeat(200_000)).close();
    const bytes = body(writer);
    expect(bytes.readInt32BE(2)).toBe(4);
    expect(bytes.readInt32BE(12)).toBe(400_000);
    expect(bytes.length).toBe(16 + 400_000);
    expect(new BinaryCopyWriter().take()).toEqual([]);
  });
});
