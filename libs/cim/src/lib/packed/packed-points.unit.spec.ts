import { fromThousandths, isPackedPoints, packPoints, seriesPointsOf, toThousandths, unpackPoints } from './packed-points';

describe('packed points', () => {
  it('converts decimal strings with up to three decimals to integer thousandths and back, exactly', () => {
    expect(['0', '0.0', '1.5', '1.234', '-0.001', '123456789012.999', '0.010'].map(toThousandths)).toEqual([0, 0, 1500, 1234, -1, 123456789012999, 10]);
    expect(['1.2345', '1e3', '', '.5', '1.', '1234567890123', ' 1', '+1', '0x10'].map(toThousandths)).toEqual(Array(9).fill(null));
    expect([0, 1500, 1234, -1, 10, 123456789012999, -2000].map(fromThousandths)).toEqual(['0.000', '1.500', '1.234', '-0.001', '0.010', '123456789012.999', '-2.000']);
    for (let v = -2100; v <= 2100; v += 7) expect(toThousandths(fromThousandths(v))).toBe(v);
  });

  it('reads exactly the strings the rule ^-?\\d{1,12}(\\.\\d{1,3})?$ takes, with the same value (deterministic random strings)', () => {
    const rule = /^(-?)(\d{1,12})(?:\.(\d{1,3}))?$/;
    const reference = (s: string): number | null => {
      const m = rule.exec(s);
      if (m === null) return null;
      const value = Number(m[2]) * 1000 + (m[3] === undefined ? 0 : Number(m[3].padEnd(3, '0')));
      return m[1] === '-' ? -value : value;
    };
    const alphabet = ['0', '1', '5', '9', '.', '-', '+', ' ', 'e', '\n', '\u0663', '/', ':'];
    let seed = 12345;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let accepted = 0;
    for (let k = 0; k < 20000; k++) {
      // Mostly well-formed numbers with a damaged character now and then, and lengths around the 12 + 3 digit limits.
      const digits = (n: number): string => Array.from({ length: n }, () => String(next(10))).join('');
      let s = `${next(4) === 0 ? '-' : ''}${digits(next(15))}${next(3) === 0 ? '' : `.${digits(next(5))}`}`;
      if (next(3) === 0) {
        const at = next(s.length + 1);
        s = `${s.slice(0, at)}${alphabet[next(alphabet.length)]}${s.slice(at + next(2))}`;
      }
      const expected = reference(s);
      if (expected !== null) accepted++;
      expect({ s, value: toThousandths(s) }).toEqual({ s, value: expected });
    }
    // Both kinds were tried in numbers.
    expect(accepted).toBeGreaterThan(2000);
    expect(accepted).toBeLessThan(18000);
    expect(['-', '--1', '1.2.3', '1\n', '\u0663', '-0', '000000000000.000'].map(toThousandths)).toEqual([null, null, null, null, null, -0, 0]);
  });

  it('packs consecutive points into integers and quality runs, and unpacks them to the same values', () => {
    const points = [
      { position: 3, quantity: '1.000', quality: 'A04' },
      { position: 4, quantity: '0.25', quality: 'A04' },
      { position: 5, quantity: null, quality: 'A02' },
      { position: 6, quantity: '2.001', quality: undefined },
      { position: 7, quantity: '2.002' },
    ];
    const packed = packPoints(points);
    expect(packed).toEqual({ firstPosition: 3, wh: [1000, 250, null, 2001, 2002], qualities: [['A04', 2], ['A02', 1], [null, 2]] });
    expect(isPackedPoints(packed)).toBe(true);
    expect(unpackPoints(packed!)).toEqual([
      { position: 3, quantity: '1.000', quality: 'A04' },
      { position: 4, quantity: '0.250', quality: 'A04' },
      { position: 5, quantity: null, quality: 'A02' },
      { position: 6, quantity: '2.001', quality: null },
      { position: 7, quantity: '2.002', quality: null },
    ]);
  });

  it('does not pack what it cannot hold exactly: more decimals, gaps, disorder, huge values', () => {
    expect(packPoints([{ position: 1, quantity: '1.0001' }])).toBeNull();
    expect(packPoints([{ position: 1, quantity: '1' }, { position: 3, quantity: '1' }])).toBeNull();
    expect(packPoints([{ position: 2, quantity: '1' }, { position: 1, quantity: '1' }])).toBeNull();
    expect(packPoints([{ position: 1, quantity: '99999999999999999' }])).toBeNull();
    expect(packPoints([])).toBeNull();
  });

  it('recognises malformed packed values', () => {
    expect(isPackedPoints({ firstPosition: 1, wh: [1, 2], qualities: [['A04', 1]] })).toBe(false);
    expect(isPackedPoints({ firstPosition: 1, wh: [1, 2.5], qualities: [['A04', 2]] })).toBe(false);
    expect(isPackedPoints({ firstPosition: 0, wh: [1], qualities: [['A04', 1]] })).toBe(false);
    expect(isPackedPoints({ firstPosition: 1, wh: ['1'], qualities: [['A04', 1]] })).toBe(false);
    expect(isPackedPoints({ firstPosition: 1, wh: [1], qualities: [[4, 1]] })).toBe(false);
    expect(isPackedPoints({ firstPosition: 1, wh: [null], qualities: [[null, 1]] })).toBe(true);
  });

  it('reads a series\' points packed (v2) and as point objects (v1, stored before), and refuses malformed ones whole', () => {
    const v1 = { gsrn: 'x', points: [{ position: 1, quantity: '0.5', quality: 'A04' }, { position: 2, quantity: null, quality: 'A02' }] };
    expect(seriesPointsOf(v1)).toEqual([{ position: 1, quantity: '0.5', quality: 'A04' }, { position: 2, quantity: null, quality: 'A02' }]);
    const v2 = { gsrn: 'x', firstPosition: 1, wh: [500, null], qualities: [['A04', 1], ['A02', 1]] };
    expect(seriesPointsOf(v2)).toEqual([{ position: 1, quantity: '0.500', quality: 'A04' }, { position: 2, quantity: null, quality: 'A02' }]);
    expect(seriesPointsOf({ points: [{ position: 1, quantityKwh: '2.5', quality: 'A03' }] }, 'quantityKwh')).toEqual([{ position: 1, quantity: '2.5', quality: 'A03' }]);
    expect(seriesPointsOf({ points: [{ position: 1, quantity: 5 }] })).toBeNull();
    expect(seriesPointsOf({ points: [{ position: '1', quantity: '5' }] })).toBeNull();
    expect(seriesPointsOf({ points: [null] })).toBeNull();
    expect(seriesPointsOf({ firstPosition: 1, wh: [1, 2], qualities: [['A04', 1]] })).toBeNull();
    expect(seriesPointsOf({ gsrn: 'x' })).toBeNull();
  });
});
