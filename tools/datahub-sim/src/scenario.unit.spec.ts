import { amountOf, derivedUuid, thousandths } from './lib/determinism';
import { dayQuantities } from './lib/profiles';
import { parseScenario, ScenarioError } from './lib/scenario';
import { MP_A, testScenario } from './testing/support';

describe('scenario validation', () => {
  it('fills defaults and keeps the metering points', () => {
    const s = parseScenario(testScenario());
    expect(s.tokenLifetimeSeconds).toBe(3600);
    expect(s.reasonCodes).toEqual({ unknownMeteringPoint: 'E10', leadTime: 'E17', notSupplier: 'E16', noPendingProcess: 'D16', noResults: 'E0H' });
    expect(s.meteringPoints.map((m) => m.resolution)).toEqual(['PT15M', 'PT15M', 'PT1H', 'PT15M']);
    expect(s.charges.map((c) => c.code)).toEqual(['41000', '40000']);
    expect(parseScenario(s)).toEqual(s);
  });

  it('names the offending field', () => {
    const bad = testScenario();
    const points = bad['meteringPoints'] as Record<string, unknown>[];
    points[0] = { ...points[0], gsrn: '571313180400000028' }; // wrong GS1 check digit
    expect(() => parseScenario(bad)).toThrow(new ScenarioError('$.meteringPoints[0].gsrn', '571313180400000028 is not a valid GSRN (18 digits, GS1 check digit)'));
    expect(() => parseScenario({ ...testScenario(), start: '2026-03-20 09:00' })).toThrow(/\$\.start/);
  });
});

describe('deterministic values', () => {
  it('quantities depend only on seed, GSRN and date, with one per quarter of the local day', () => {
    const mp = parseScenario(testScenario()).meteringPoints.find((m) => m.gsrn === MP_A);
    if (!mp) throw new Error('missing point');
    expect(dayQuantities('s', mp, '2026-03-29')).toHaveLength(92);
    expect(dayQuantities('s', mp, '2026-10-25')).toHaveLength(100);
    expect(dayQuantities('s', mp, '2026-06-01')).toEqual(dayQuantities('s', mp, '2026-06-01'));
    expect(dayQuantities('s', mp, '2026-06-01')).not.toEqual(dayQuantities('t', mp, '2026-06-01'));
    expect(derivedUuid('a', 1)).toBe(derivedUuid('a', 1));
    expect(derivedUuid('a', 1)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('formats thousandths and multiplies exactly with half-up rounding to 6 decimals', () => {
    expect(thousandths(1234)).toBe('1.234');
    expect(thousandths(5)).toBe('0.005');
    expect(amountOf(44280n, '7.654321')).toBe('338.933334'); // 44.280 × 7.654321 = 338.93333388
    expect(amountOf(1n, '0.0005')).toBe('0.000001'); // 0.0000005 → half up
    expect(amountOf(1n, '0.000499')).toBe('0.000000');
    expect(amountOf(10137n, '666.666666')).toBe('6757.999993');
  });
});
