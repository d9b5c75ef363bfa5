import { compareCheckpoints } from './projection';

describe('compareCheckpoints', () => {
  it('orders PostgreSQL checkpoints by transaction id first, then position', () => {
    expect(compareCheckpoints('900:5', '1000:2')).toBe(-1);
    expect(compareCheckpoints('1000:7', '1000:2')).toBe(1);
    expect(compareCheckpoints('1000:2', '1000:2')).toBe(0);
  });

  it('compares numerically, not as text', () => {
    expect(compareCheckpoints('9', '10')).toBe(-1);
  });

  it('refuses to compare checkpoints of different stores', () => {
    expect(() => compareCheckpoints('1:2', '3')).toThrow('different event stores');
  });
});
