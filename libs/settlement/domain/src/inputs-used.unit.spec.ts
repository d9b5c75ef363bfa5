import { inputsUsed } from './index';
import { GSRN, meteredSeries, priceBook, quarterSpot, radiusTariff, row, settlementInput, twoBandTariff } from './testing/settlement-fixtures';

describe('inputsUsed: the price data an invoice was computed from', () => {
  const issuedAt = new Date('2026-11-02T10:00:00Z');
  const spot = [
    ...quarterSpot('DK2', '2026-12-01', '2026-12-04', () => '500'),
    // A corrected price for 2026-12-02 published after the invoice was issued: version 2.
    ...quarterSpot('DK2', '2026-12-02', '2026-12-03', () => '600').map((p) => ({ ...p, version: 2, publishedAt: new Date('2026-12-20T12:00:00Z') })),
  ];
  // The grid company changed its tariff from 2026-12-03.
  const gridTariff = radiusTariff([row(twoBandTariff('0.3', '0.9'), '2026-01-01', '2026-12-03'), row(twoBandTariff('0.35', '1.0'), '2026-12-03', null, { version: 2 })]);
  const input = (asOf: Date) =>
    settlementInput({
      billingPeriod: { kind: 'month', year: 2026, month: 12 },
      supplyPeriods: [{ start: '2026-12-01', endExclusive: '2026-12-04' }],
      consumption: meteredSeries(GSRN, 'PT15M', '2026-12-01', '2026-12-04', () => '0.100'),
      prices: priceBook(spot, { gridTariff }),
      asOf,
    });

  it('names each charge row that priced the supplied days, with its version and days', () => {
    const used = inputsUsed(input(issuedAt));
    expect(used.suppliedDays).toEqual(['2026-12-01', '2026-12-02', '2026-12-03']);
    expect(used.charges['grid-tariff']!.rows.map((r) => [r.validFrom, r.version, r.firstDay, r.lastDay, r.days, r.prices[0]])).toEqual([
      ['2026-01-01', 1, '2026-12-01', '2026-12-02', 2, '0.300000000'],
      ['2026-12-03', 2, '2026-12-03', '2026-12-03', 1, '0.350000000'],
    ]);
    expect(used.charges['electricity-tax']!.rows.map((r) => r.prices[0])).toEqual(['0.008000000']);
    expect(used.charges['electricity-tax-reduced']).toBeUndefined();
    expect(used.electricHeating).toBeNull();
    expect(used.productionGsrn).toBeNull();
  });

  it('shows the spot price versions known at the as-of instant, so as issued and as now differ where a price was corrected', () => {
    expect(inputsUsed(input(issuedAt)).spot.map((d) => [d.day, d.resolution, d.intervals, d.versions])).toEqual([
      ['2026-12-01', 'PT15M', 96, [1]],
      ['2026-12-02', 'PT15M', 96, [1]],
      ['2026-12-03', 'PT15M', 96, [1]],
    ]);
    expect(inputsUsed(input(new Date('2027-01-05T00:00:00Z'))).spot.map((d) => [d.day, d.versions, d.latestPublishedAt])).toEqual([
      ['2026-12-01', [1], '2024-01-01T00:00:00.000Z'],
      ['2026-12-02', [2], '2026-12-20T12:00:00.000Z'],
      ['2026-12-03', [1], '2024-01-01T00:00:00.000Z'],
    ]);
  });

  it('states the electric-heating threshold prorated to the days supplied in the year', () => {
    const used = inputsUsed({ ...input(issuedAt), meteringPoint: { ...input(issuedAt).meteringPoint, electricHeating: true }, yearToDateConsumptionKwh: '3999.5' });
    // 4000 kWh × 3 days ÷ 365 = 32.877 kWh (rounded once to Wh).
    expect(used.electricHeating).toEqual({ annualThresholdKwh: '4000', thresholdKwh: '32.877', yearToDateKwh: '3999.500' });
    expect(used.charges['electricity-tax-reduced']!.rows).toHaveLength(1);
  });
});
