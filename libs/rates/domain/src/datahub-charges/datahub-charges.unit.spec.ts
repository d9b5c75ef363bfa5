import { localDayIntervals, localDatesPeriod, monthPeriod } from '@dh/dk-time';
import {
  ChargeDataError,
  chargeInformationPeriods,
  currentChargeLinks,
  linksInPeriod,
  pricesInPeriod,
  priceSeriesShape,
  validatePriceSeries,
  type ChargeInformation,
  type ChargeLink,
  type ChargePriceSeries,
} from './index';

const hours = (n: number, first = 1) => Array.from({ length: n }, (_, i) => ({ position: i + 1, price: `0.${String(first + i).padStart(4, '0')}` }));
const gridTariff = { owner: '5790000610099', chargeType: 'D03', code: '4010', chargeId: '5790000610099:D03:4010' } as const;

describe('DataHub price series (RSM-034)', () => {
  it('gives one price per interval of a series that lists every hour of its interval', () => {
    const day = localDatesPeriod('2026-10-25', '2026-10-26');
    const series: ChargePriceSeries = { resolution: 'PT1H', start: day.start.toISOString(), end: day.end.toISOString(), points: hours(25) };
    expect(priceSeriesShape(series)).toBe('per-interval');
    const prices = pricesInPeriod([series], 'PT1H', day);
    expect(prices).toHaveLength(25);
    expect(prices[0]).toEqual({ time: '2026-10-24T22:00:00.000Z', price: '0.0001' });
    expect(prices[24]).toEqual({ time: '2026-10-25T22:00:00.000Z', price: '0.0025' });
  });

  it('repeats a 24-price pattern by Copenhagen hour over a long validity: Price3 twice on the 25-hour day', () => {
    const series: ChargePriceSeries = { resolution: 'PT1H', start: '2020-12-31T23:00:00Z', end: '2100-03-31T22:00:00Z', points: hours(24) };
    expect(priceSeriesShape(series)).toBe('hourly-pattern');
    const day = localDatesPeriod('2026-10-25', '2026-10-26');
    const prices = pricesInPeriod([series], 'PT1H', day).map((p) => p.price);
    expect(prices).toHaveLength(25);
    expect(prices.slice(0, 5)).toEqual(['0.0001', '0.0002', '0.0003', '0.0003', '0.0004']);
    const spring = pricesInPeriod([series], 'PT1H', localDatesPeriod('2026-03-29', '2026-03-30')).map((p) => p.price);
    expect(spring).toHaveLength(23);
    expect(spring).not.toContain('0.0003');
  });

  it('applies a single monthly price to every month of its validity', () => {
    const series: ChargePriceSeries = { resolution: 'P1M', start: '2020-12-31T23:00:00Z', end: '2100-03-31T22:00:00Z', points: [{ position: 1, price: '21.25' }] };
    expect(pricesInPeriod([series], 'P1M', localDatesPeriod('2026-10-01', '2027-01-01'))).toEqual([
      { time: '2026-09-30T22:00:00.000Z', price: '21.25' },
      { time: '2026-10-31T23:00:00.000Z', price: '21.25' },
      { time: '2026-11-30T23:00:00.000Z', price: '21.25' },
    ]);
  });

  it('lets a later series override an earlier one only where it covers', () => {
    const month = monthPeriod(2026, 10);
    const base: ChargePriceSeries = { resolution: 'P1D', start: month.start.toISOString(), end: month.end.toISOString(), points: [{ position: 1, price: '0.5' }] };
    const oct10 = localDatesPeriod('2026-10-10', '2026-10-12');
    const correction: ChargePriceSeries = { resolution: 'P1D', start: oct10.start.toISOString(), end: oct10.end.toISOString(), points: [{ position: 1, price: '0.75' }, { position: 2, price: '0.8' }] };
    const prices = pricesInPeriod([base, correction], 'P1D', month);
    expect(prices).toHaveLength(31);
    expect(prices.map((p) => p.price).slice(8, 12)).toEqual(['0.5', '0.75', '0.8', '0.5']);
    expect(pricesInPeriod([correction, base], 'P1D', month).every((p) => p.price === '0.5')).toBe(true);
  });

  it('leaves intervals no series covers out, so a missing price stays missing', () => {
    const day = localDatesPeriod('2026-10-01', '2026-10-02');
    const firstHours = localDayIntervals('2026-10-01', 'PT1H').slice(0, 3);
    const series: ChargePriceSeries = { resolution: 'PT1H', start: firstHours[0]!.toISOString(), end: new Date(firstHours[2]!.getTime() + 3_600_000).toISOString(), points: hours(3) };
    expect(pricesInPeriod([series], 'PT1H', day)).toHaveLength(3);
    expect(pricesInPeriod([series], 'P1D', day)).toEqual([]);
  });

  it.each<[string, ChargePriceSeries, string]>([
    ['a gap in positions', { resolution: 'PT1H', start: '2026-10-01T00:00:00Z', end: '2026-10-01T02:00:00Z', points: [{ position: 1, price: '1' }, { position: 3, price: '1' }] }, 'points[1].position'],
    ['a price of a million', { resolution: 'P1M', start: '2026-09-30T22:00:00Z', end: '2026-10-31T23:00:00Z', points: [{ position: 1, price: '1000000' }] }, 'points[0].price'],
    ['seven decimals', { resolution: 'P1M', start: '2026-09-30T22:00:00Z', end: '2026-10-31T23:00:00Z', points: [{ position: 1, price: '0.0000001' }] }, 'points[0].price'],
    ['a comma', { resolution: 'P1M', start: '2026-09-30T22:00:00Z', end: '2026-10-31T23:00:00Z', points: [{ position: 1, price: '1,5' }] }, 'points[0].price'],
    ['a month not starting on the 1st', { resolution: 'P1M', start: '2026-10-01T22:00:00Z', end: '2026-11-30T23:00:00Z', points: [{ position: 1, price: '1' }] }, 'timeInterval.start'],
    ['an hour not on the hour', { resolution: 'PT1H', start: '2026-10-01T00:30:00Z', end: '2026-10-01T01:30:00Z', points: [{ position: 1, price: '1' }] }, 'timeInterval.start'],
    ['five prices for three hours', { resolution: 'PT1H', start: '2026-10-01T00:00:00Z', end: '2026-10-01T03:00:00Z', points: hours(5) }, 'points'],
  ])('refuses a series with %s, naming the field', (_what, series, field) => {
    let error: unknown;
    try {
      validatePriceSeries(series);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ChargeDataError);
    expect((error as ChargeDataError).field).toBe(field);
  });
});

describe('DataHub charge links (RSM-031)', () => {
  const link = (from: string, to: string | null, factor = '1'): ChargeLink => ({ ...gridTariff, factor, from, to });

  it('keeps one link per charge and start; a later message with a termination date stops it', () => {
    const links = currentChargeLinks([link('2026-09-30T22:00:00Z', null), link('2026-10-14T22:00:00Z', null, '2'), link('2026-09-30T22:00:00.000Z', '2026-10-14T22:00:00Z')]);
    expect(links.map((l) => [l.from, l.to, l.factor])).toEqual([
      ['2026-09-30T22:00:00.000Z', '2026-10-14T22:00:00Z', '1'],
      ['2026-10-14T22:00:00Z', null, '2'],
    ]);
  });

  it('clamps links to a period and drops those outside it', () => {
    const october = monthPeriod(2026, 10);
    const inPeriod = linksInPeriod([link('2025-01-01T00:00:00Z', '2026-10-15T22:00:00Z'), link('2026-10-15T22:00:00Z', null), link('2026-11-30T23:00:00Z', null), link('2026-10-05T22:00:00Z', '2026-10-05T22:00:00Z')], october);
    expect(inPeriod.map((l) => [l.from, l.to])).toEqual([
      ['2026-09-30T22:00:00.000Z', '2026-10-15T22:00:00.000Z'],
      ['2026-10-15T22:00:00.000Z', '2026-10-31T23:00:00.000Z'],
    ]);
  });

  it('ends a master-data period where the next one starts; the latest message for a start wins', () => {
    const info = (from: string, taxIndicator: boolean, to: string | null = null): ChargeInformation => ({
      ...gridTariff,
      name: 'Nettarif C',
      description: null,
      resolution: 'PT1H',
      taxIndicator,
      vatPayer: 'D01',
      transparentInvoicing: false,
      from,
      to,
    });
    const periods = chargeInformationPeriods([info('2026-01-01T00:00:00Z', false), info('2026-10-01T00:00:00Z', true), info('2026-01-01T00:00:00Z', true)]);
    expect(periods.map((p) => [p.from, p.to, p.taxIndicator])).toEqual([
      ['2026-01-01T00:00:00Z', '2026-10-01T00:00:00Z', true],
      ['2026-10-01T00:00:00Z', null, true],
    ]);
  });
});
