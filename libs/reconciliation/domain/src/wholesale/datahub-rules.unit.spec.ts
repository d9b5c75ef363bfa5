import { daysBetween, localDatesPeriod, monthPeriod } from '@dh/dk-time';
import { formatScaled } from '@dh/money';
import { EnergyCalculation, Q_ESTIMATED, Q_MEASURED, Q_MISSING, WholesaleCalculation, amountOf, roundQuarterQuantity, type ChargeKey, type MeteringPointPeriod } from '../index';

/** Rules from DataHub's own unit tests and the research notes (datahub-formats.md §6–7), beyond Energinet's scenarios. */
const period = (from: string, to: string) => {
  const p = localDatesPeriod(from, to);
  return { start: p.start.getTime(), end: p.end.getTime() };
};
const mp = (overrides: Partial<MeteringPointPeriod> = {}): MeteringPointPeriod => ({
  meteringPointId: '571313180400000018',
  type: 'E17',
  settlementMethod: 'D01',
  gridArea: '804',
  resolution: 'PT15M',
  fromGridArea: null,
  toGridArea: null,
  parentMeteringPointId: null,
  energySupplier: '5799999933318',
  balanceResponsible: null,
  from: Date.parse('2020-01-01T00:00:00Z'),
  to: null,
  ...overrides,
});
const TARIFF: ChargeKey = { owner: '5790001089030', type: 'D03', code: 'CD' };
const SUBSCRIPTION: ChargeKey = { owner: '5790001089030', type: 'D01', code: 'ABON' };

describe('DataHub amount rounding', () => {
  it('rounds quantity × price to 6 decimals half up (test_tariff_calculators …rounds_total_amount_correctly)', () => {
    expect(amountOf(500n, 1n)).toBe(1n); // 0.500 kWh × 0.000001 = 0.0000005 → 0.000001
    expect(amountOf(499n, 1n)).toBe(0n); // 0.499 × 0.000001 → 0
    expect(amountOf(-500n, 1n)).toBe(-1n); // half away from zero, as Java's HALF_UP
    expect(formatScaled(amountOf(44_280n, 7_654_321n), 6)).toBe('338.933334');
    expect(formatScaled(amountOf(46_572n, 756_998n), 6)).toBe('35.254911');
  });

  it('spreads the rounding of four quarters of an hour so they sum back (rounding.py)', () => {
    const quarters = [1, 2, 3, 4].map((i) => roundQuarterQuantity(75n, i)); // 0.003 kWh ÷ 4 = 0.00075 = 75 × 10^-5
    expect(quarters).toEqual([1n, 1n, 0n, 1n]);
    const exchange = [1, 2, 3, 4].map((i) => roundQuarterQuantity(83_925n, i)); // 3.357 ÷ 4
    expect(exchange).toEqual([839n, 840n, 839n, 839n]);
    expect(exchange.reduce((a, b) => a + b)).toBe(3357n);
  });
});

describe('subscriptions: daily price from the monthly price', () => {
  it.each([
    ['2026-02-01', '2026-03-01', '10', '0.357143'], // 28 days
    ['2024-02-01', '2024-03-01', '10', '0.344828'], // 29 days (subscription_calculators test: 10/29)
    ['2026-10-01', '2026-11-01', '0.31', '0.010000'], // 31 days
  ])('%s to %s at %s DKK a month: %s a day', (from, to, monthly, daily) => {
    const p = period(from, to);
    const calc = new WholesaleCalculation({
      period: p,
      chargeInformation: [{ charge: SUBSCRIPTION, resolution: 'P1M', isTax: false, from: p.start, to: null }],
      chargePrices: [{ charge: SUBSCRIPTION, price: BigInt(Math.round(Number(monthly) * 1e6)), time: p.start }],
    });
    calc.addMeteringPoint(mp(), null, [{ charge: SUBSCRIPTION, meteringPointId: '571313180400000018', quantity: 1, from: p.start, to: null }]);
    const rows = calc.results().subscriptions;
    expect(new Set(rows.map((r) => formatScaled(r.price!, 6)))).toEqual(new Set([daily]));
    expect(rows).toHaveLength(daysBetween(from, to));
  });
});

describe('hourly and daily tariffs on the 25-hour day', () => {
  it('settles 25 hours and one local day of 2026-10-25, summing each hour’s quarters before the price', () => {
    const p = period('2026-10-25', '2026-10-26');
    const hours = (p.end - p.start) / 3_600_000;
    expect(hours).toBe(25);
    const prices = Array.from({ length: hours }, (_, h) => ({ charge: TARIFF, price: 100_000n + BigInt(h), time: p.start + h * 3_600_000 }));
    const DAILY: ChargeKey = { ...TARIFF, code: 'DAY' };
    const calc = new WholesaleCalculation({
      period: p,
      chargeInformation: [
        { charge: TARIFF, resolution: 'PT1H', isTax: false, from: p.start, to: null },
        { charge: DAILY, resolution: 'P1D', isTax: false, from: p.start, to: null },
      ],
      chargePrices: [...prices, { charge: DAILY, price: 1_000_000n, time: p.start }],
    });
    const quarters = Float64Array.from({ length: hours * 4 }, (_, i) => (i % 4) + 1); // 1+2+3+4 = 10 Wh an hour
    const qualities = Uint8Array.from({ length: hours * 4 }, (_, i) => (i === 5 ? Q_ESTIMATED : i === 7 ? 0 : Q_MEASURED));
    const links = [TARIFF, DAILY].map((charge) => ({ charge, meteringPointId: '571313180400000018', quantity: 1, from: p.start, to: null }));
    calc.addMeteringPoint(mp(), { resolution: 'PT15M', quantities: quarters, qualities }, links);
    calc.addMeteringPoint(mp({ meteringPointId: '571313180400000025' }), { resolution: 'PT15M', quantities: quarters, qualities: new Uint8Array(hours * 4).fill(Q_MEASURED) }, links);
    const result = calc.results();
    expect(result.hourlyTariffs).toHaveLength(25);
    const second = result.hourlyTariffs.find((r) => r.time === p.start + 3_600_000)!;
    // Hour 2: 10 Wh from the first point minus its missing quarter (4 Wh), plus 10 Wh from the second.
    expect(second.quantity).toBe(16n);
    expect(second.qualities).toBe(Q_MEASURED | Q_ESTIMATED | Q_MISSING);
    expect(second.amount).toBe(amountOf(16n, 100_001n));
    expect(result.dailyTariffs).toEqual([expect.objectContaining({ time: p.start, quantity: BigInt(25 * 20 - 4), amount: amountOf(BigInt(25 * 20 - 4), 1_000_000n) })]);
  });
});

describe('energy before the quarterly transition', () => {
  it('sums a metering point’s quarters to hours with one merged quality (quarter_to_hour.py)', () => {
    const p = period('2026-10-01', '2026-10-02');
    const energy = new EnergyCalculation(p, ['804'], Date.parse('2030-01-01T00:00:00Z'));
    expect(energy.resolution).toBe('PT1H');
    const qualities = new Uint8Array(96).fill(Q_MEASURED);
    qualities[1] = 0; // one quarter missing in the first hour: measured + missing = estimated
    energy.addMeteringPoint(mp(), { resolution: 'PT15M', quantities: new Float64Array(96).fill(250), qualities });
    const [flex] = energy.perEnergySupplier();
    expect(flex!.quantities.slice(0, 2)).toEqual([750n, 1000n]);
    expect(flex!.qualities[0]).toBe(Q_ESTIMATED);
    expect(flex!.qualities[1]).toBe(Q_MEASURED);
  });

  it('switches to quarters for a period ending after the transition, splitting PT1H values in four', () => {
    const p = { start: monthPeriod(2026, 10).start.getTime(), end: monthPeriod(2026, 10).end.getTime() };
    const energy = new EnergyCalculation(p, ['804'], Date.parse('2023-05-21T22:00:00Z'));
    expect(energy.resolution).toBe('PT15M');
    const hours = (p.end - p.start) / 3_600_000;
    energy.addMeteringPoint(mp({ resolution: 'PT1H' }), { resolution: 'PT1H', quantities: new Float64Array(hours).fill(3), qualities: new Uint8Array(hours).fill(Q_MEASURED) });
    const [flex] = energy.perEnergySupplier();
    expect(flex!.quantities).toHaveLength(745 * 4);
    expect(flex!.quantities.slice(0, 4)).toEqual([1n, 1n, 0n, 1n]);
  });
});
