import { kwhString, sumDecimalText } from './local-time';

describe('sumDecimalText (the hour view\'s Σ of its day rows\' totals)', () => {
  it('is exact and keeps the scale of the most precise value, as PostgreSQL\'s sum of numerics', () => {
    expect(sumDecimalText(['0.100', '0.200'])).toBe('0.300');
    expect(sumDecimalText(['1.5', '2.25', '3'])).toBe('6.75');
    // Trailing zeros of a more precise value are kept (PostgreSQL: 1.2340 + 0.001 = 1.2350).
    expect(sumDecimalText(['1.2340', '0.001'])).toBe('1.2350');
    expect(sumDecimalText(['-0.125', '0.100'])).toBe('-0.025');
    // Beyond a double's precision.
    expect(sumDecimalText(['9007199254740993.001', '0.002'])).toBe('9007199254740993.003');
    expect(sumDecimalText(['12', '30'])).toBe('42');
  });

  it('of no values is 0, which the view writes as 0.000', () => {
    expect(sumDecimalText([])).toBe('0');
    expect(kwhString(sumDecimalText([]))).toBe('0.000');
  });
});
