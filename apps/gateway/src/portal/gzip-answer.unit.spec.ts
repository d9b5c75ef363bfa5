import { randomBytes } from 'node:crypto';
import { crc32, gunzipSync } from 'node:zlib';
import { deflatePart } from '@dh/read-models';
import { crc32Combine, gzipJoined, gzipOf, type GzipPiece } from './gzip-answer';

const hourJson = (day: number, hour: number): string =>
  `{"start":"2025-10-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00+02:00","end":"2025-10-${String(day).padStart(2, '0')}T${String(hour + 1).padStart(2, '0')}:00+02:00","quantity_kwh":"0.${String((day * 37 + hour * 11) % 1000).padStart(3, '0')}","estimated":false,"missing":false}`;
const dayJson = (day: number): string => Array.from({ length: 24 }, (_, h) => hourJson(day, h)).join(',');

describe('gzipOf: a gzip answer stitched from stored text and pre-compressed parts', () => {
  it('inflates to the pieces joined, for an answer framed like the portal hour view', async () => {
    const days = Array.from({ length: 31 }, (_, i) => dayJson(i + 1));
    const parts = await Promise.all(days.map((d) => deflatePart(d)));
    const expected = `{"gsrn":"571313180400000000","values":[${days.join(',')}],"total_kwh":"12.345","estimated":false,"missing":false}`;
    const gz = gzipJoined('{"gsrn":"571313180400000000","values":[', parts, ',', '],"total_kwh":"12.345","estimated":false,"missing":false}');
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
    expect(gunzipSync(gzipJoined('[', [], ',', ']')).toString('utf8')).toBe('[]');
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
    }
  });

  it('refuses a length that is not a non-negative safe integer', () => {
    expect(() => crc32Combine(1, 2, -1)).toThrow(RangeError);
    expect(() => crc32Combine(1, 2, 1.5)).toThrow(RangeError);
  });
});
