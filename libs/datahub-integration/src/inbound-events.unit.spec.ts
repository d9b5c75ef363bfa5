import { seriesPointsOf } from '@dh/cim';
import { measureDataPointsFields } from './inbound-events';

describe('ValidatedMeasureDataReceived v2 points', () => {
  it('packs a kWh series as integer Wh and quality runs, read back to the same values', () => {
    const points = [
      { position: 1, quantity: '0.512', quality: 'A04' },
      { position: 2, quantity: '1.5', quality: 'A04' },
      { position: 3, quality: 'A02' },
      { position: 4, quantity: '0.000' },
    ];
    const fields = measureDataPointsFields('KWH', points);
    expect(fields).toEqual({ firstPosition: 1, wh: [512, 1500, null, 0], qualities: [['A04', 2], ['A02', 1], [null, 1]] });
    expect(seriesPointsOf(fields)).toEqual([
      { position: 1, quantity: '0.512', quality: 'A04' },
      { position: 2, quantity: '1.500', quality: 'A04' },
      { position: 3, quantity: null, quality: 'A02' },
      { position: 4, quantity: '0.000', quality: null },
    ]);
  });

  it('keeps the v1 points, decimals as sent, when packing could not hold them exactly or the unit is not kWh', () => {
    const fine = [{ position: 1, quantity: '0.0005', quality: 'A04' }];
    expect(measureDataPointsFields('KWH', fine)).toEqual({ points: [{ position: 1, quantity: '0.0005', quality: 'A04' }] });
    expect(measureDataPointsFields('KWH', [{ position: 2, quantity: '1' }, { position: 4, quantity: '1' }])).toEqual({
      points: [
        { position: 2, quantity: '1', quality: null },
        { position: 4, quantity: '1', quality: null },
      ],
    });
    expect(measureDataPointsFields('K3', [{ position: 1, quantity: '1.000' }])).toEqual({ points: [{ position: 1, quantity: '1.000', quality: null }] });
  });
});
