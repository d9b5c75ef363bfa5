import { copyField, CopyWriter } from './copy';

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
