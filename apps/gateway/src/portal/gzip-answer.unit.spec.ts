import { randomBytes } from 'node:crypto';
import { crc32, gunzipSync } from 'node:zlib';
import { deflatePart } from '@dh/read-models';
import type { DeflatePart } from '@dh/read-models';
import { crc32Combine, gzipOf, joinedPart, storedBlock, type GzipPiece } from './gzip-answer';

const hourJson = (day: number, hour: number): string =>
  `{"start":"2025-10-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00+02:00","end":"2025-10-${String(day).padStart(2, '0')}T${String(hour + 1).padStart(2, '0')}:00+02:00","quantity_kwh":"0.${String((day * 37 + hour * 11) % 1000).padStart(3, '0')}","estimated":false,"missing":false}`;
const dayJson = (day: number): string => Array.from({ length: 24 }, (_, h) => hourJson(day, h)).join(',');
/** Parts with a comma (stored as text) between each two. */
const commaSeparated = (parts: readonly DeflatePart[]): GzipPiece[] => parts.flatMap((part, i) => (i === 0 ? [part] : [',', part]));

describe('gzipOf: a gzip answer stitched from stored text and pre-compressed parts', () => {
  it('inflates to the pieces joined, for an answer framed like the portal hour view', async () => {
    const days = Array.from({ length: 31 }, (_, i) => dayJson(i + 1));
    const parts = await Promise.all(days.map((d) => deflatePart(d)));
    const expected = `{"gsrn":"571313180400000000","values":[${days.join(',')}],"total_kwh":"12.345","estimated":false,"missing":false}`;
    const gz = gzipOf(['{"gsrn":"571313180400000000","values":[', ...commaSeparated(parts), '],"total_kwh":"12.345","estimated":false,"missing":false}']);
    // gunzip checks the trailer's CRC-32 and length: a wrong combination fails here.
    expect(gunzipSync(gz).toString('utf8')).toBe(expected);
    expect(JSON.parse(gunzipSync(gz).toString('utf8'))).toMatchObject({ values: expect.any(Array) as unknown });
    expect(gz.length).toBeLessThan(Buffer.byteLength(expected) / 4);
  });

  it('keeps non-ASCII text, empty pieces, a part alone and stored text longer than one stored block', async () => {
    const long = 'æøå '.repeat(30_000); // 120,000 characters, 210,000 UTF-8 bytes: four stored blocks
    const [empty, aero, longPart, braces] = await Promise.all(['', 'Ærø', long, '{}'].map((t) => deflatePart(t)));
    const cases: GzipPiece[][] = [[], [''], [empty!], [aero!], [long], ['a', longPart!, 'ø', braces!]];
    for (const pieces of cases) {
      const text = pieces.map((p) => (typeof p === 'string' ? p : null)).every((p) => p !== null) ? pieces.join('') : null;
      const inflated = gunzipSync(gzipOf(pieces)).toString('utf8');
      if (text !== null) expect(inflated).toBe(text);
    }
    expect(gunzipSync(gzipOf(['a', longPart!, 'ø', braces!])).toString('utf8')).toBe(`a${long}ø{}`);
    // No parts: the frame alone.
    expect(gunzipSync(gzipOf(['[', joinedPart(Buffer.alloc(0), [], [], ','), ']'])).toString('utf8')).toBe('[]');
  });
});

describe('joinedPart: parts joined by the database with a stored block between them', () => {
  it('is one part whose CRC-32 and length are those of the texts joined by the separator (signed CRCs as stored)', async () => {
    const days = Array.from({ length: 31 }, (_, i) => dayJson(i + 1));
    const parts = await Promise.all(days.map((d) => deflatePart(d)));
    const comma = storedBlock(',');
    expect(comma).toEqual(Buffer.from([0x00, 0x01, 0x00, 0xfe, 0xff, 0x2c]));
    // What `string_agg(part, <comma block> ORDER BY day)` returns, and the CRCs as the `integer` column holds them.
    const joined = Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p.deflate] : [comma, p.deflate])));
    const part = joinedPart(joined, parts.map((p) => p.crc | 0), parts.map((p) => p.length), ',');
    const text = days.join(',');
    expect(part.crc).toBe(crc32(Buffer.from(text, 'utf8')));
    expect(part.length).toBe(Buffer.byteLength(text));
    expect(gunzipSync(gzipOf(['[', part, ']'])).toString('utf8')).toBe(`[${text}]`);
    // One part alone, none at all.
    expect(joinedPart(parts[0]!.deflate, [parts[0]!.crc], [parts[0]!.length], ',')).toEqual(parts[0]);
    expect(joinedPart(Buffer.alloc(0), [], [], ',')).toEqual({ deflate: Buffer.alloc(0), crc: 0, length: 0 });
  });

  it('refuses CRCs and lengths that do not pair up, and a stored block over 65,535 bytes', () => {
    expect(() => joinedPart(Buffer.alloc(0), [1], [], ',')).toThrow(RangeError);
    expect(() => storedBlock('x'.repeat(65_536))).toThrow(RangeError);
    expect(storedBlock('x'.repeat(65_535))).toHaveLength(65_540);
  });
});

describe('crc32Combine', () => {
  it('equals the CRC-32 of the concatenation for random data and lengths', () => {
    for (const [a, b] of [
      [0, 0],
      [0, 1],
      [1, 0],
      [7, 13],
      [1000, 3000],
      [65_536, 70_001],
    ] as const) {
      const x = randomBytes(a);
      const y = randomBytes(b);
      expect(crc32Combine(crc32(x), crc32(y), y.length)).toBe(crc32(Buffer.concat([x, y])));
      // Again with the same length (its shift remembered) and other data.
      const z = randomBytes(b);
      expect(crc32Combine(crc32(x), crc32(z), z.length)).toBe(crc32(Buffer.concat([x, z])));
    }
  });

  it('refuses a length that is not a non-negative safe integer', () => {
    expect(() => crc32Combine(1, 2, -1)).toThrow(RangeError);
    expect(() => crc32Combine(1, 2, 1.5)).toThrow(RangeError);
  });
});
