import { localDayIntervals } from '@dh/dk-time';
import {
  MissingPriceError,
  PriceRecordError,
  chargePriceAt,
  chargesFromPricelist,
  createCharge,
  createPriceBook,
  createSpotPriceSeries,
  parseDatahubPricelist,
  parseDayAheadPrices,
  parseElspotprices,
  priceAreaOf,
  ratesForGridArea,
  spotPriceAt,
  type SpotPrice,
} from './index';

const V1 = { publishedAt: new Date('2026-01-01T00:00:00Z'), version: 1 };
const V2 = { publishedAt: new Date('2026-02-01T00:00:00Z'), version: 2 };

describe('Energi Data Service parsers', () => {
  it('reads DayAheadPrices (15-min, DKK/MWh, every decimal) keyed on TimeUTC', () => {
    const r = parseDayAheadPrices([{ TimeUTC: '2026-07-03T21:45:00', TimeDK: '2026-07-03T23:45:00', PriceArea: 'DK1', DayAheadPriceEUR: '94.010002', DayAheadPriceDKK: '702.677761' }], V1);
    expect(r).toEqual({ ok: true, value: [{ priceArea: 'DK1', start: new Date('2026-07-03T21:45:00Z'), resolution: 'PT15M', nanoDkkPerKwh: 702677761n, ...V1 }] });
  });

  it('reads Elspotprices (hourly) and negative prices', () => {
    const r = parseElspotprices([{ HourUTC: '2025-09-30T21:00:00', PriceArea: 'DK2', SpotPriceDKK: '-12.5' }], V1);
    expect(r.ok && r.value[0]).toMatchObject({ resolution: 'PT1H', nanoDkkPerKwh: -12500000n });
  });

  it('names dataset, record and field of every malformed record', () => {
    const r = parseDayAheadPrices(
      [
        { TimeUTC: '2026-07-03T21:45:00', PriceArea: 'DK1', DayAheadPriceDKK: 702.67776 },
        { TimeUTC: '2026-07-03T21:40:00', PriceArea: 'DK1', DayAheadPriceDKK: '1' },
        { TimeUTC: '2026-07-03T21:45:00', PriceArea: 'SE3', DayAheadPriceDKK: '1' },
        { TimeUTC: '2026-07-03T21:45:00', PriceArea: 'DK1', DayAheadPriceDKK: '1,5' },
        { TimeUTC: '2026-07-03T21:45:00', PriceArea: 'DK1', DayAheadPriceDKK: '0.0000001' },
        { TimeUTC: '2026-07-03T21:45:00', PriceArea: 'DK1' },
        null,
      ],
      V1,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.index, e.field])).toEqual([
      [0, 'DayAheadPriceDKK'],
      [1, 'TimeUTC'],
      [2, 'PriceArea'],
      [3, 'DayAheadPriceDKK'],
      [4, 'DayAheadPriceDKK'],
      [5, 'DayAheadPriceDKK'],
      [6, '(record)'],
    ]);
    expect(r.errors[0]).toBeInstanceOf(PriceRecordError);
    expect(r.errors[0]!.message).toContain('DayAheadPrices record 0: field DayAheadPriceDKK is a JS number');
  });

  const radius = {
    ChargeOwner: 'Radius Elnet A/S',
    GLN_Number: '5790000705689',
    ChargeType: 'D03',
    ChargeTypeCode: 'DT_C_01',
    Note: 'Nettarif C time',
    Description: 'Nettarif C',
    ValidFrom: '2026-10-01T00:00:00',
    ValidTo: null,
    VATClass: 'D02',
    ResolutionDuration: 'PT1H',
    Price1: '0.130000',
    ...Object.fromEntries(Array.from({ length: 23 }, (_, i) => [`Price${i + 2}`, i + 2 >= 18 && i + 2 <= 21 ? '0.955573' : i + 2 === 3 ? '0.111111' : null])),
  };

  it('reads DatahubPricelist rows; a null PriceN falls back to Price1', () => {
    const r = parseDatahubPricelist([radius], V1);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const row = r.value[0]!;
    expect(row).toMatchObject({ glnNumber: '5790000705689', chargeType: 'D03', validFrom: '2026-10-01', validTo: null, resolution: 'PT1H' });
    expect(row.prices).toHaveLength(24);
    expect(row.prices[1]).toBe(130000000n);
    expect(row.prices[2]).toBe(111111000n);
    expect(row.prices[18]).toBe(955573000n);
  });

  it('rejects pricelist rows naming the field', () => {
    const bad = [
      { ...radius, GLN_Number: '5790000705688' },
      { ...radius, ChargeType: 'D09' },
      { ...radius, ValidFrom: '2026-10-01T06:00:00' },
      { ...radius, ValidTo: '2026-09-01T00:00:00' },
      { ...radius, Price1: null },
      { ...radius, ResolutionDuration: 'PT15M' },
    ];
    const r = parseDatahubPricelist(bad, V1);
    expect(r.ok ? [] : r.errors.map((e) => e.field)).toEqual(['GLN_Number', 'ChargeType', 'ValidFrom', 'ValidTo', 'Price1', 'ResolutionDuration']);
  });

  it('groups rows into charges and prices by local hour: Price3 twice on 2026-10-25, never on 2026-03-29', () => {
    const r = parseDatahubPricelist([{ ...radius, ValidFrom: '2026-01-01T00:00:00' }], V1);
    if (!r.ok) throw r.errors[0];
    const [tariff] = chargesFromPricelist(r.value);
    expect(tariff!.chargeId).toBe('5790000705689:D03:DT_C_01');
    const long = localDayIntervals('2026-10-25', 'PT1H').map((t) => chargePriceAt(tariff!, t));
    expect(long).toHaveLength(25);
    expect(long.filter((p) => p === 111111000n)).toHaveLength(2);
    const short = localDayIntervals('2026-03-29', 'PT1H').map((t) => chargePriceAt(tariff!, t));
    expect(short).toHaveLength(23);
    expect(short.filter((p) => p === 111111000n)).toHaveLength(0);
    // 2026-10-15 18:00 local = 16:00Z: Price19
    expect(chargePriceAt(tariff!, new Date('2026-10-15T16:00:00Z'))).toBe(955573000n);
  });
});

describe('versions and validity', () => {
  const tax = createCharge({
    owner: '5790000432752',
    chargeType: 'D03',
    code: 'EA-001',
    description: 'Elafgift',
    rows: [
      { validFrom: '2025-01-01', validTo: '2026-01-01', resolution: 'P1D', prices: [720000000n], ...V1 },
      { validFrom: '2026-01-01', validTo: null, resolution: 'P1D', prices: [727000000n], ...V1 },
      // The law (L 24) changed 2026 after the first publication: a corrected version.
      { validFrom: '2026-01-01', validTo: '2028-01-01', resolution: 'P1D', prices: [8000000n], ...V2 },
    ],
  });

  it('takes the row valid at the instant (validTo exclusive, local midnight)', () => {
    expect(chargePriceAt(tax, new Date('2025-12-31T22:59:59Z'))).toBe(720000000n);
    expect(chargePriceAt(tax, new Date('2025-12-31T23:00:00Z'))).toBe(8000000n);
  });

  it('uses the latest version published at or before the as-of instant', () => {
    const at = new Date('2026-06-01T10:00:00Z');
    expect(chargePriceAt(tax, at, new Date('2026-01-15T00:00:00Z'))).toBe(727000000n);
    expect(chargePriceAt(tax, at, new Date('2026-02-01T00:00:00Z'))).toBe(8000000n);
    expect(chargePriceAt(tax, new Date('2028-06-01T10:00:00Z'), V2.publishedAt)).toBe(727000000n);
  });

  it('throws a typed MissingPriceError naming the charge and the local day', () => {
    const e = (() => {
      try {
        chargePriceAt(tax, new Date('2024-06-01T10:00:00Z'));
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(MissingPriceError);
    expect(e).toMatchObject({ chargeId: '5790000432752:D03:EA-001', priceArea: undefined, interval: { start: new Date('2024-05-31T22:00:00Z'), end: new Date('2024-06-01T22:00:00Z') } });
    expect(() => chargePriceAt(tax, new Date('2026-06-01T10:00:00Z'), new Date('2025-12-01T00:00:00Z'))).toThrow(MissingPriceError);
  });
});

describe('spotPriceAt', () => {
  const quarters: SpotPrice[] = [400000000n, 500000000n, 600000000n, 700000001n].map((p, i) => ({
    priceArea: 'DK1',
    start: new Date(Date.UTC(2026, 0, 1, 10, 15 * i)),
    resolution: 'PT15M',
    nanoDkkPerKwh: p,
    ...V1,
  }));
  const hour: SpotPrice = { priceArea: 'DK1', start: new Date('2025-09-30T10:00:00Z'), resolution: 'PT1H', nanoDkkPerKwh: 912345678n, ...V1 };
  const correction: SpotPrice = { ...quarters[1]!, nanoDkkPerKwh: 550000000n, ...V2 };
  const series = createSpotPriceSeries('DK1', [...quarters, hour, correction]);

  it('hourly price applies to each of its quarters', () => {
    expect(spotPriceAt(series, new Date('2025-09-30T10:45:00Z'))).toEqual({ units: 912345678n, scale: 9 });
  });

  it('an hour of quarter prices is their exact mean (scale 11), as known at the as-of instant', () => {
    // (0.4 + 0.5 + 0.6 + 0.700000001) / 4 = 0.55000000025
    expect(spotPriceAt(series, new Date('2026-01-01T10:00:00Z'), { resolution: 'PT1H', asOf: V1.publishedAt })).toEqual({ units: 55000000025n, scale: 11 });
    // corrected second quarter 0.55: (0.4 + 0.55 + 0.6 + 0.700000001) / 4 = 0.56250000025
    expect(spotPriceAt(series, new Date('2026-01-01T10:00:00Z'), { resolution: 'PT1H' })).toEqual({ units: 56250000025n, scale: 11 });
    expect(spotPriceAt(series, new Date('2026-01-01T10:15:00Z'), { asOf: V1.publishedAt }).units).toBe(500000000n);
  });

  it('a missing quarter is a typed MissingPriceError naming the price area and interval', () => {
    expect(() => spotPriceAt(series, new Date('2026-01-01T11:00:00Z'))).toThrow(MissingPriceError);
    try {
      spotPriceAt(series, new Date('2026-01-01T11:00:00Z'), { resolution: 'PT1H' });
    } catch (e) {
      expect(e).toMatchObject({ priceArea: 'DK1', chargeId: undefined, interval: { start: new Date('2026-01-01T11:00:00Z'), end: new Date('2026-01-01T12:00:00Z') } });
    }
    expect.assertions(2);
  });
});

describe('grid-area configuration', () => {
  const charge = (code: string, type: 'D01' | 'D03' = 'D03') =>
    createCharge({ owner: '5790000432752', chargeType: type, code, description: code, rows: [{ validFrom: '2026-01-01', validTo: null, resolution: type === 'D01' ? 'P1M' : 'P1D', prices: [1n], ...V1 }] });
  const charges = ['grid', 'sys', 'tr', 'tax', 'taxr'].map((c) => charge(c)).concat([charge('gsub', 'D01'), charge('ssub', 'D01')]);
  const book = createPriceBook({
    spot: [createSpotPriceSeries('DK1', [])],
    charges,
    configuration: {
      gridAreas: [{ gridArea: '131', priceArea: 'DK1', gridCompanyGln: '5790001089030', gridTariffChargeId: charges[0]!.chargeId, gridSubscriptionChargeId: charges[5]!.chargeId }],
      national: {
        systemTariffChargeId: charges[1]!.chargeId,
        transmissionTariffChargeId: charges[2]!.chargeId,
        systemSubscriptionChargeId: charges[6]!.chargeId,
        electricityTaxChargeId: charges[3]!.chargeId,
        reducedElectricityTaxChargeId: charges[4]!.chargeId,
      },
      electricHeatingThresholdKwh: '4000',
    },
  });

  it('maps grid area → price area and grid company charges from data', () => {
    expect(priceAreaOf(book, '131')).toBe('DK1');
    const r = ratesForGridArea(book, '131');
    expect(r.ok && r.rates.gridTariff.code).toBe('grid');
    expect(ratesForGridArea(book, '999')).toEqual({ ok: false, problem: 'unknown-grid-area', detail: 'grid area 999 is not configured' });
  });
});
