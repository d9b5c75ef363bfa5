import { parseCimXml, type NotifyValidatedMeasureData } from '@dh/cim';
import { gsrnCheckDigit } from '@dh/market-ids';
import { startDataHubSimulator, type RunningDataHubSimulator } from './index';
import { accessToken, drain, OUR_CLIENT, OUR_GLN } from './testing/support';

const gsrn = (i: number): string => {
  const body = `57131318049${String(i).padStart(6, '0')}`;
  return `${body}${gsrnCheckDigit(body)}`;
};

describe('DataHub simulator: metered data bundled per supplier (meteredDataSeriesPerDocument)', () => {
  let sim: RunningDataHubSimulator;

  beforeAll(async () => {
    sim = await startDataHubSimulator({
      port: 0,
      scenario: {
        seed: 'bundles',
        start: '2026-03-31T22:00:00Z',
        tokenLifetimeSeconds: 3600,
        leadTimeDays: 1,
        clients: [{ ...OUR_CLIENT, gln: OUR_GLN }],
        meteringPoints: Array.from({ length: 5 }, (_, i) => ({
          gsrn: gsrn(i),
          gridArea: '804',
          priceArea: 'DK1',
          type: 'E17',
          settlementMethod: 'D01',
          resolution: 'PT15M',
          profile: { annualKwh: 4000, shape: 'household' },
          supply: { supplierGln: OUR_GLN, from: '2026-01-01' },
        })),
        rejections: [],
        forcedSwitches: [],
        charges: [],
        meteredDataSeriesPerDocument: 2,
      },
    });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('sends a day of five metering points as documents of two, two and one series, every point once', async () => {
    sim.control.advanceTo('2026-04-01T22:00:00Z');
    const token = await accessToken(sim.url);
    const docs = (await drain(sim.url, token, 'measuredata')).map((m) => parseCimXml(m.body) as NotifyValidatedMeasureData);
    expect(docs.map((d) => d.series.length)).toEqual([2, 2, 1]);
    expect(new Set(docs.map((d) => d.header.mRID)).size).toBe(3);
    expect(docs.flatMap((d) => d.series.map((s) => s.meteringPointId))).toEqual(Array.from({ length: 5 }, (_, i) => gsrn(i)));
    for (const s of docs.flatMap((d) => d.series)) {
      expect(s.period.timeInterval).toEqual({ start: '2026-03-31T22:00:00Z', end: '2026-04-01T22:00:00Z' });
      expect(s.period.points).toHaveLength(96);
    }
  });
});
