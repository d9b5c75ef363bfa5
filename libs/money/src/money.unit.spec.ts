import { mulberry32 } from '@dh/testing';
import Big from 'big.js';
import {
  AMOUNT_SCALE,
  DecimalParseError,
  ExactSum,
  MEAN_AMOUNT_SCALE,
  MEAN_PRICE_SCALE,
  Money,
  PRICE_SCALE,
  PrecisionLossError,
  divRoundHalfAwayFromZero,
  formatDkk,
  formatScaled,
  fromScaled,
  isDecimalString,
  meanOfFour,
  mwhToKwhPrice,
  mwhToKwhPriceUnits,
  parseDecimal,
  parsePriceNanoDkkPerKwh,
  parseQuantityMilliKwh,
  prorate,
  ratioToOre,
  rescale,
  roundHalfAwayFromZero,
  sumProducts,
  toExactScaled,
  toOre,
  toScaled,
  vatAllocated,
  vatOf,
} from './index';

/** Reference: big.js rounding to 2 decimals, half away from zero (Big.roundHalfUp works on magnitudes). */
const RefBig = Big();
RefBig.DP = 60;
function refRound(value: string): string {
  return new RefBig(value).round(2, RefBig.roundHalfUp).toFixed(2);
}

describe('parseDecimal / toScaled', () => {
  it.each(['0', '-0', '1', '-123.456', '740.951258', '1e3', '1.5E-3', '0000.10'])('accepts %s', (s) => {
    expect(isDecimalString(s)).toBe(true);
    expect(parseDecimal(s).eq(new RefBig(s))).toBe(true);
  });

  it.each([
    ['1,5', 'comma_separator'],
    ['1.234,56', 'comma_separator'],
    ['', 'empty'],
    [' 1', 'whitespace'],
    ['1 000', 'whitespace'],
    ['NaN', 'not_a_number'],
    ['Infinity', 'not_a_number'],
    ['.5', 'not_a_number'],
    ['5.', 'not_a_number'],
    ['+5', 'not_a_number'],
    ['0x10', 'not_a_number'],
    ['12abc', 'not_a_number'],
    ['1e', 'not_a_number'],
    ['1e1000', 'exponent_too_large'],
  ])('rejects %j (%s)', (s, problem) => {
    expect(isDecimalString(s)).toBe(s === '1e1000');
    try {
      parseDecimal(s);
      throw new Error('accepted');
    } catch (e: unknown) {
      expect(e).toBeInstanceOf(DecimalParseError);
      expect((e as DecimalParseError).problem).toBe(problem);
    }
  });

  it('rejects JS numbers (floating point)', () => {
    expect(() => parseDecimal(1.5 as unknown as string)).toThrow(DecimalParseError);
    expect(() => toScaled(0.1 as unknown as string, 2)).toThrow(DecimalParseError);
  });

  it('scales exactly and refuses to round implicitly', () => {
    expect(toScaled('740.951258', 6)).toBe(740951258n);
    expect(toScaled('-0.5', 3)).toBe(-500n);
    expect(toScaled('1.5e-3', 4)).toBe(15n);
    expect(toScaled('12.3400', 2)).toBe(1234n);
    expect(toScaled('-0', 2)).toBe(0n);
    expect(() => toScaled('0.0001', 3)).toThrow(PrecisionLossError);
    expect(() => toScaled('1.5e-3', 2)).toThrow(PrecisionLossError);
    expect(toScaled(parseDecimal('2.5'), 1)).toBe(25n);
    expect(toExactScaled('12.3400')).toEqual({ units: 1234n, scale: 2 });
    expect(toExactScaled('1200')).toEqual({ units: 1200n, scale: 0 });
    expect(toExactScaled('-0.000015')).toEqual({ units: -15n, scale: 6 });
  });

  it('formats scaled integers', () => {
    expect(formatScaled(-5n, 3)).toBe('-0.005');
    expect(formatScaled(123456n, 2)).toBe('1234.56');
    expect(formatScaled(7n, 0)).toBe('7');
    expect(fromScaled(-123n, 5).toFixed()).toBe('-0.00123');
  });
});

describe('rounding: half away from zero, to øre', () => {
  // amount in DKK at scale 7 → øre
  it.each([
    ['0.005', '0.01'],
    ['-0.005', '-0.01'],
    ['0.015', '0.02'],
    ['-0.015', '-0.02'],
    ['0.0049999', '0.00'],
    ['-0.0049999', '0.00'],
    ['0.0050001', '0.01'],
    ['2.675', '2.68'], // a classic float trap (2.675 is 2.67499999… as a double)
    ['1.005', '1.01'],
    ['-1.005', '-1.01'],
    ['0.0149999', '0.01'],
    ['123456789012345678.995', '123456789012345679.00'],
    ['-123456789012345678.995', '-123456789012345679.00'],
    ['99999999999999.9949999', '99999999999999.99'],
  ])('%s DKK → %s', (dkk, expected) => {
    const units = toScaled(dkk, 7);
    expect(toOre(units, 7).format()).toBe(expected);
    expect(refRound(dkk)).toBe(expected);
  });

  it('divRoundHalfAwayFromZero handles signs of both operands', () => {
    expect(divRoundHalfAwayFromZero(5n, 2n)).toBe(3n);
    expect(divRoundHalfAwayFromZero(-5n, 2n)).toBe(-3n);
    expect(divRoundHalfAwayFromZero(5n, -2n)).toBe(-3n);
    expect(divRoundHalfAwayFromZero(-5n, -2n)).toBe(3n);
    expect(divRoundHalfAwayFromZero(7n, 3n)).toBe(2n);
    expect(divRoundHalfAwayFromZero(-8n, 3n)).toBe(-3n);
    expect(() => divRoundHalfAwayFromZero(1n, 0n)).toThrow(RangeError);
  });

  it('roundHalfAwayFromZero up-scales exactly and rescale refuses to drop digits', () => {
    expect(roundHalfAwayFromZero(5n, 0, 2)).toBe(500n);
    expect(roundHalfAwayFromZero(12345n, 3, 1)).toBe(123n);
    expect(roundHalfAwayFromZero(12350n, 3, 1)).toBe(124n);
    expect(rescale(1200n, 3, 1)).toBe(12n);
    expect(() => rescale(1201n, 3, 1)).toThrow(RangeError);
  });
});

describe('Money', () => {
  it('adds, subtracts, negates, compares and formats', () => {
    const a = Money.parse('1234.56');
    const b = Money.ofOre(-5);
    expect(a.ore).toBe(123456n);
    expect(a.add(b).format()).toBe('1234.51');
    expect(a.sub(b).format()).toBe('1234.61');
    expect(b.negate().format()).toBe('0.05');
    expect(b.format()).toBe('-0.05');
    expect(b.abs().equals(Money.ofOre(5n))).toBe(true);
    expect(a.compare(b)).toBe(1);
    expect(b.compare(a)).toBe(-1);
    expect(a.compare(Money.parse('1234.56'))).toBe(0);
    expect(Money.sum([a, b, Money.ZERO]).format()).toBe('1234.51');
    expect(Money.ZERO.isZero()).toBe(true);
    expect(b.isNegative()).toBe(true);
    expect(a.isPositive()).toBe(true);
    expect(b.sign()).toBe(-1);
    expect(a.times(3).format()).toBe('3703.68');
    expect(JSON.stringify({ total: a })).toBe('{"total":"1234.56"}');
    expect(formatDkk(-100n)).toBe('-1.00');
    expect(formatDkk(Money.ofOre(7))).toBe('0.07');
  });

  it('refuses non-integer øre and more than 2 decimals', () => {
    expect(() => Money.ofOre(1.5)).toThrow(RangeError);
    expect(() => Money.parse('1.005')).toThrow(PrecisionLossError);
    expect(() => Money.parse('1,00')).toThrow(DecimalParseError);
  });
});

describe('VAT 25 % of the rounded line', () => {
  it.each([
    ['0.02', '0.01'], // 0.005 → 0.01
    ['-0.02', '-0.01'],
    ['0.01', '0.00'], // 0.0025
    ['0.06', '0.02'], // 0.015
    ['-0.06', '-0.02'],
    ['113.63', '28.41'], // 28.4075
    ['100.00', '25.00'],
    ['1234.57', '308.64'], // 308.6425
    ['0.00', '0.00'],
  ])('VAT of %s is %s', (line, vat) => {
    expect(vatOf(Money.parse(line)).format()).toBe(vat);
  });

  it('accepts another rate as an exact decimal', () => {
    expect(vatOf(Money.parse('10.00'), '0.125').format()).toBe('1.25');
  });
});

describe('vatAllocated (VAT of the subtotal, allocated back to lines by largest remainder)', () => {
  const fmt = (ms: Money[]) => ms.map((m) => m.format());
  it('three lines of 0.02: VAT of the subtotal 0.06 is 0.02 (per line it would be 3 × 0.01 = 0.03); the øre go to the first lines on equal remainders', () => {
    const lines = ['0.02', '0.02', '0.02'].map(Money.parse);
    expect(fmt(lines.map((l) => vatOf(l)))).toEqual(['0.01', '0.01', '0.01']);
    expect(fmt(vatAllocated(lines))).toEqual(['0.01', '0.01', '0.00']);
  });

  it('the largest remainder wins, and signed lines take signed shares', () => {
    // Exact shares 2.5025, 0.7575, −0.2525 → floors 2.50, 0.75, −0.26 (Σ 2.99), remainders .25, .75, .75; total VAT vatOf(12.03) = 3.0075 → 3.01.
    expect(fmt(vatAllocated(['10.01', '3.03', '-1.01'].map(Money.parse)))).toEqual(['2.50', '0.76', '-0.25']);
    expect(fmt(vatAllocated([]))).toEqual([]);
    expect(fmt(vatAllocated([Money.ZERO, Money.parse('0.01')]))).toEqual(['0.00', '0.00']);
  });

  it('always sums to the VAT of the subtotal, and no line is more than one øre from its exact share (1000 seeded invoices)', () => {
    const rand = mulberry32(20261205);
    for (let c = 0; c < 1000; c++) {
      const lines = Array.from({ length: randInt(rand, 1, 14) }, () => Money.ofOre(randInt(rand, -50_000, 5_000_000)));
      const vat = vatAllocated(lines);
      expect(Money.sum(vat).format()).toBe(vatOf(Money.sum(lines)).format());
      lines.forEach((l, i) => {
        const off = new RefBig(vat[i]!.format()).minus(new RefBig(l.format()).times('0.25')).abs();
        expect(off.lt('0.01')).toBe(true);
      });
    }
  });
});

describe('prorate', () => {
  it('23.20 DKK × 17/31 = 12.7225806… → 12.72', () => {
    expect(prorate(Money.parse('23.20'), 17, 31).format()).toBe('12.72');
    expect(prorate('23.20', 17, 31).format()).toBe('12.72');
  });
  it('keeps every decimal of the monthly amount until the one rounding', () => {
    // 15.583333 × 15 / 30 = 7.7916665 → 7.79
    expect(prorate('15.583333', 15, 30).format()).toBe('7.79');
    // 0.03 × 1 / 2 = 0.015 → 0.02 (a double would give 0.01499999…)
    expect(prorate('0.03', 1, 2).format()).toBe('0.02');
    expect(prorate('-0.03', 1, 2).format()).toBe('-0.02');
    expect(prorate('100', 28, 28).format()).toBe('100.00');
    expect(prorate('100', 0, 28).format()).toBe('0.00');
    expect(ratioToOre(1n, 0, 3n).format()).toBe('0.33');
  });
  it('rejects impossible day counts', () => {
    expect(() => prorate('10', 32, 31)).toThrow(RangeError);
    expect(() => prorate('10', -1, 31)).toThrow(RangeError);
    expect(() => prorate('10', 1, 0)).toThrow(RangeError);
    expect(() => prorate('10', 1.5, 31)).toThrow(RangeError);
  });
});

describe('prices and quantities', () => {
  it('converts DKK/MWh to DKK/kWh keeping every decimal', () => {
    expect(mwhToKwhPrice('123.456789').toFixed()).toBe('0.123456789');
    expect(mwhToKwhPrice('740.951258').toFixed()).toBe('0.740951258');
    expect(mwhToKwhPrice('-5').toFixed()).toBe('-0.005');
    expect(mwhToKwhPrice('1234567.1234567').toFixed()).toBe('1234.5671234567');
    expect(mwhToKwhPriceUnits('123.456789')).toBe(123456789n);
    expect(mwhToKwhPriceUnits('-0.01')).toBe(-10000n);
    expect(() => mwhToKwhPriceUnits('1.1234567')).toThrow(PrecisionLossError);
    expect(mwhToKwhPriceUnits('1.1234567', 10)).toBe(11234567n);
  });

  it('parses quantities and prices at their fixed scales', () => {
    expect(parseQuantityMilliKwh('1.234')).toBe(1234n);
    expect(() => parseQuantityMilliKwh('1.2345')).toThrow(PrecisionLossError);
    expect(parsePriceNanoDkkPerKwh('0.000000001')).toBe(1n);
    expect(parsePriceNanoDkkPerKwh('-0.25')).toBe(-250000000n);
  });

  it('mean of four quarter prices is exact at scale 11', () => {
    const p = ['0.000000001', '0.000000000', '0.000000000', '0.000000000'].map(parsePriceNanoDkkPerKwh) as [bigint, bigint, bigint, bigint];
    const mean = meanOfFour(...p);
    expect(MEAN_PRICE_SCALE).toBe(11);
    expect(formatScaled(mean, MEAN_PRICE_SCALE)).toBe('0.00000000025');
    const q = ['0.740951258', '-0.100000003', '0.5', '0.000000002'].map(parsePriceNanoDkkPerKwh) as [bigint, bigint, bigint, bigint];
    const m = meanOfFour(...q);
    // mean × 4 reproduces the exact sum
    expect(m * 4n).toBe((q[0] + q[1] + q[2] + q[3]) * 100n);
    expect(fromScaled(m, MEAN_PRICE_SCALE).eq(new RefBig('1.140951257').div(4))).toBe(true);
  });
});

function randInt(rand: () => number, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1));
}
/** Price in nano-DKK/kWh between about −3 and +12 DKK/kWh, all nine decimals used. */
function randPrice(rand: () => number): bigint {
  const hi = BigInt(randInt(rand, -3, 11));
  const lo = BigInt(randInt(rand, 0, 999_999_999));
  return hi * 1_000_000_000n + lo;
}

describe('sumProducts / ExactSum', () => {
  it('Σ q × p with negative prices, rounded once', () => {
    // 1.000 kWh × 0.740951258 + 0.250 kWh × −0.100000003 + 0.001 kWh × 5.000000000
    const q = new Int32Array([1000, 250, 1]);
    const p = [740951258n, -100000003n, 5000000000n];
    const sum = sumProducts(q, p);
    expect(formatScaled(sum, AMOUNT_SCALE)).toBe('0.720951257250');
    expect(toOre(sum, AMOUNT_SCALE).format()).toBe('0.72');
    expect(sumProducts([1000n, 250n, 1n], BigInt64Array.from(p))).toBe(sum);
    expect(sumProducts([1000, 250, 1], p)).toBe(sum);
  });

  it('a tie at half an øre rounds away from zero (1 Wh × ±5 DKK/kWh = ±0.005)', () => {
    expect(toOre(sumProducts([1], [5_000_000_000n]), AMOUNT_SCALE).format()).toBe('0.01');
    expect(toOre(sumProducts([1], [-5_000_000_000n]), AMOUNT_SCALE).format()).toBe('-0.01');
    expect(toOre(sumProducts([1], [4_999_999_999n]), AMOUNT_SCALE).format()).toBe('0.00');
  });

  it('rejects mismatched lengths and non-integer quantities', () => {
    expect(() => sumProducts([1, 2], [1n])).toThrow(RangeError);
    expect(() => sumProducts([1.5], [1n])).toThrow(RangeError);
    expect(() => sumProducts([2 ** 53], [1n])).toThrow(RangeError);
  });

  it('is exact beyond 2^53 where doubles are not', () => {
    const q = new Array<number>(1000).fill(2_000_000_000); // 2,000,000 kWh each
    const p = new Array<bigint>(1000).fill(9_999_999_999n);
    const sum = sumProducts(q, p);
    expect(sum).toBe(2_000_000_000n * 9_999_999_999n * 1000n);
    expect(toOre(sum, AMOUNT_SCALE).format()).toBe('19999999998.00');
  });

  it('ExactSum mixes quarter-hour products (scale 12) and hourly × mean-price products (scale 14)', () => {
    const acc = new ExactSum();
    expect(acc.scale).toBe(MEAN_AMOUNT_SCALE);
    acc.add(sumProducts([1000], [1n]), AMOUNT_SCALE); // 1 kWh × 1e-9
    acc.addProduct(3n, 3, meanOfFour(1n, 0n, 0n, 0n), MEAN_PRICE_SCALE); // 0.003 kWh × 2.5e-10
    expect(acc.toDecimalString()).toBe('0.00000000100075');
    expect(acc.toOre().format()).toBe('0.00');
    expect(() => new ExactSum(12).add(1n, 14)).toThrow(RangeError);
  });

  it('matches big.js on 1000 seeded random lines (property check)', () => {
    const rand = mulberry32(20260329);
    for (let c = 0; c < 1000; c++) {
      const n = randInt(rand, 1, 100);
      const q: number[] = [];
      const p: bigint[] = [];
      let ref = new RefBig(0);
      for (let i = 0; i < n; i++) {
        const qi = randInt(rand, -50_000, 5_000_000); // −50 kWh (net export) … 5,000 kWh
        const pi = randPrice(rand);
        q.push(qi);
        p.push(pi);
        ref = ref.plus(new RefBig(formatScaled(BigInt(qi), 3)).times(new RefBig(formatScaled(pi, 9))));
      }
      const exact = sumProducts(q, p);
      expect(formatScaled(exact, AMOUNT_SCALE)).toBe(ref.toFixed(AMOUNT_SCALE));
      const line = toOre(exact, AMOUNT_SCALE);
      expect(line.format()).toBe(refRound(ref.toFixed()));
      expect(vatOf(line).format()).toBe(new RefBig(line.format()).times('0.25').round(2, RefBig.roundHalfUp).toFixed(2));

      const month = randInt(rand, 28, 31);
      const days = randInt(rand, 0, month);
      const monthly = formatScaled(BigInt(randInt(rand, -100_000_000, 100_000_000)), 6);
      expect(prorate(monthly, days, month).format()).toBe(refRound(new RefBig(monthly).times(days).div(month).toFixed(RefBig.DP)));
      // The reference divides at 60 decimals first; for divisors 28..31 that cannot create or hide a half-øre tie.

      const quarters = [randPrice(rand), randPrice(rand), randPrice(rand), randPrice(rand)] as const;
      const mean = meanOfFour(...quarters);
      const refMean = quarters.reduce((s, x) => s.plus(new RefBig(formatScaled(x, 9))), new RefBig(0)).div(4);
      expect(formatScaled(mean, MEAN_PRICE_SCALE)).toBe(refMean.toFixed(MEAN_PRICE_SCALE));
      expect(fromScaled(mean, MEAN_PRICE_SCALE).eq(refMean)).toBe(true);
    }
  });

  it('PRICE_SCALE and AMOUNT_SCALE are 9 and 12', () => {
    expect(PRICE_SCALE).toBe(9);
    expect(AMOUNT_SCALE).toBe(12);
  });
});
