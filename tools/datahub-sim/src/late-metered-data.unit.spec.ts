import type { NotifyValidatedMeasureData } from '@dh/cim';
import { parseScenario } from './lib/scenario';
import { Simulation } from './lib/simulation';
import { MP_A, OUR_GLN, testScenario } from './testing/support';

/** A planted late day: DataHub holds it back after its midnight and sends it once the clock reaches `sendAt`. */
describe('DataHub simulator: late metered data', () => {
  const sim = new Simulation(parseScenario({ ...testScenario({ start: '2026-03-20T09:00:00Z', ourSupplyFrom: '2026-01-01' }), planted: { lateMeteredData: [{ gsrn: MP_A, date: '2026-03-21', sendAt: '2026-03-25T06:00:00Z' }] } }));
  const days = (): string[] => {
    const out: string[] = [];
    for (let m = sim.peek(OUR_GLN, 'measuredata'); m; m = sim.peek(OUR_GLN, 'measuredata')) {
      for (const s of (m.document as NotifyValidatedMeasureData).series) if (s.meteringPointId === MP_A) out.push(s.period.timeInterval.start);
      sim.dequeue(OUR_GLN, m.messageId);
    }
    return out;
  };

  it('holds the day back after its midnight and sends it at sendAt, once, as the day it is', () => {
    sim.advanceTo(new Date('2026-03-24T01:00:00Z'));
    // 20, 22 and 23 March; the 21st is held back.
    expect(days()).toEqual(['2026-03-19T23:00:00Z', '2026-03-21T23:00:00Z', '2026-03-22T23:00:00Z']);
    sim.advanceTo(new Date('2026-03-25T05:59:59Z'));
    expect(days()).toEqual(['2026-03-23T23:00:00Z']);
    sim.advanceTo(new Date('2026-03-25T06:00:00Z'));
    expect(days()).toEqual(['2026-03-20T23:00:00Z']);
    sim.advanceTo(new Date('2026-03-26T06:00:00Z'));
    expect(days()).toEqual(['2026-03-24T23:00:00Z']);
  });

  it('refuses a late day of a metering point not in the scenario', () => {
    expect(() => parseScenario({ ...testScenario(), planted: { lateMeteredData: [{ gsrn: '571313180400000117', date: '2026-03-21', sendAt: '2026-03-25T06:00:00Z' }] } })).toThrow(/lateMeteredData\[0\]\.gsrn/);
  });
});
