import { parseCimXml, seriesPointsOf, writeCimXml, type NotifyValidatedMeasureData } from '@dh/cim';
import { measureDataPointsFields, toInboundEvents } from './inbound-events';

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

describe('ValidatedMeasureDataReceived data', () => {
  it('has the header fields, the series fields and the points fields, in that order (a packed series and one kept as points)', () => {
    const doc: NotifyValidatedMeasureData = {
      kind: 'NotifyValidatedMeasureData',
      header: {
        mRID: 'rsm012-1',
        processType: 'E23',
        businessSectorType: '23',
        sender: { id: { codingScheme: 'A10', value: '5790001330552' }, role: 'DGL' },
        receiver: { id: { codingScheme: 'A10', value: '5799999933318' }, role: 'DDQ' },
        createdDateTime: '2026-04-01T22:00:00Z',
      },
      series: [
        {
          mRID: 'series-1',
          meteringPointId: '571313180400000025',
          meteringPointType: 'E17',
          registrationDateTime: '2026-04-01T22:00:00Z',
          product: '8716867000030',
          unit: 'KWH',
          period: {
            resolution: 'PT15M',
            timeInterval: { start: '2026-03-31T22:00:00Z', end: '2026-04-01T22:00:00Z' },
            points: Array.from({ length: 96 }, (_, i) => (i % 7 === 6 ? { position: i + 1, quantity: '0.250', quality: 'A03' as const } : { position: i + 1, quantity: `0.${i}` })),
          },
        },
      ],
    };
    const notPacked = { ...doc.series[0]!, mRID: 'series-2', period: { ...doc.series[0]!.period, points: [{ position: 1, quantity: '0.0005', quality: 'A04' as const }] } };
    const document: NotifyValidatedMeasureData = { ...doc, series: [doc.series[0]!, notPacked] };
    const info = { messageId: 'message-1', category: 'measuredata', receivedAt: new Date('2026-04-02T06:00:00Z') };
    const events = toInboundEvents(document, info);
    // As the event was built before 2026-12-06 (with spreads).
    const common = { documentId: document.header.mRID, messageId: 'message-1', category: 'measuredata', receivedAt: '2026-04-02T06:00:00.000Z', processType: document.header.processType };
    const expected = document.series.map((series) => ({
      type: 'ValidatedMeasureDataReceived',
      data: {
        ...common,
        seriesId: series.mRID,
        gsrn: series.meteringPointId,
        meteringPointType: series.meteringPointType,
        unit: series.unit,
        resolution: series.period.resolution,
        start: series.period.timeInterval.start,
        end: series.period.timeInterval.end,
        ...measureDataPointsFields(series.unit, series.period.points),
      },
      schemaVersion: 2,
    }));
    expect(events).toStrictEqual(expected);
    expect(events.map((e) => JSON.stringify(e.data))).toEqual(expected.map((e) => JSON.stringify(e.data)));
    expect(Object.keys(events[0]!.data).slice(-3)).toEqual(['firstPosition', 'wh', 'qualities']);
    expect(Object.keys(events[1]!.data).at(-1)).toBe('points');
  });

  it('is the same whether the document was read by the XML fast path (points packed while read) or the strict reader', () => {
    const doc = (quantityOf: (i: number) => string): NotifyValidatedMeasureData => ({
      kind: 'NotifyValidatedMeasureData',
      header: {
        mRID: 'rsm012-2',
        processType: 'E23',
        businessSectorType: '23',
        sender: { id: { codingScheme: 'A10', value: '5790001330552' }, role: 'DGL' },
        receiver: { id: { codingScheme: 'A10', value: '5799999933318' }, role: 'DDQ' },
        createdDateTime: '2026-04-01T22:00:00Z',
      },
      series: (['KWH', 'K3'] as const).map((unit, s) => ({
        mRID: `series-${s}`,
        meteringPointId: '571313180400000025',
        meteringPointType: 'E17' as const,
        unit,
        period: {
          resolution: 'PT15M' as const,
          timeInterval: { start: '2026-03-31T22:00:00Z', end: '2026-04-01T22:00:00Z' },
          points: Array.from({ length: 96 }, (_, i) => (i % 11 === 3 ? { position: i + 1, quality: 'A02' as const } : i % 7 === 6 ? { position: i + 1, quantity: quantityOf(i), quality: 'A03' as const } : { position: i + 1, quantity: quantityOf(i) })),
        },
      })),
    });
    const info = { messageId: 'message-2', category: 'measuredata', receivedAt: new Date('2026-04-02T06:00:00Z') };
    for (const quantityOf of [(i: number) => `${i}.${i % 10}`, (i: number) => (i === 50 ? '0.0001' : `-${i}.25`)]) {
      const xml = writeCimXml(doc(quantityOf));
      const fast = toInboundEvents(parseCimXml(xml), info);
      const strict = toInboundEvents(parseCimXml(xml, { path: 'strict' }), info);
      expect(fast.map((e) => JSON.stringify(e))).toEqual(strict.map((e) => JSON.stringify(e)));
    }
  });
});
