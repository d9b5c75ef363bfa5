import type { GenericNotification, MarketResponse, NotifyValidatedMeasureData } from '@dh/cim';
import { parseScenario } from './lib/scenario';
import { Simulation, type MessageCategory } from './lib/simulation';
import { changeOfSupplier, moveIn, MP_A, MP_OTHER, OTHER_GLN, OUR_GLN, testScenario } from './testing/support';

/** Everything waiting for `gln` in a category, dequeued. */
function drain(sim: Simulation, gln: string, category: MessageCategory): unknown[] {
  const out: unknown[] = [];
  for (let m = sim.peek(gln, category); m; m = sim.peek(gln, category)) {
    out.push(m.document);
    sim.dequeue(gln, m.messageId);
  }
  return out;
}

const kindOf = (d: unknown): string => {
  const doc = d as { kind: string; documentName?: string };
  return doc.documentName ?? doc.kind;
};

/**
 * BRS-009: a move-in may be reported up to 5 Danish working days after its date (Forsyningstilsynet 2021). DataHub
 * accepts it, starts the supply from the date and sends the new supplier the days it missed; a report later than that
 * is refused with the lead-time reason (E17).
 */
describe('DataHub simulator: a move-in reported after its date', () => {
  // Monday 2 November 2026, 07:00 in Copenhagen (UTC+1).
  const at = '2026-11-02T06:00:00Z';
  const fresh = () => {
    const sim = new Simulation(parseScenario(testScenario({ start: '2026-10-20T09:00:00Z' })));
    sim.advanceTo(new Date(at));
    drain(sim, OUR_GLN, 'masterdata');
    drain(sim, OUR_GLN, 'measuredata');
    drain(sim, OTHER_GLN, 'masterdata');
    drain(sim, OTHER_GLN, 'measuredata');
    return sim;
  };

  it('accepts a move-in on its 5th working day after the date (Monday 26 October, reported Monday 2 November), starts the supply from the date and sends the missed days', () => {
    const sim = fresh();
    // 26 October 00:00 in Copenhagen (after the change to winter time).
    expect(sim.handleRequest(moveIn(MP_OTHER, '2026-10-25T23:00:00Z', 'late-1'), OUR_GLN)).toEqual({ status: 202 });
    const masterdata = drain(sim, OUR_GLN, 'masterdata');
    // The confirmation first, then the start of supply from the date (RSM-004) and the master data (RSM-022).
    expect(masterdata.map(kindOf)).toEqual(['ConfirmRequestChangeOfSupplier', 'GenericNotification', 'AccountingPointCharacteristics']);
    expect((masterdata[0] as MarketResponse).records[0]!.originalTransactionIDReference).toBe('tx-late-1');
    expect((masterdata[1] as GenericNotification).records[0]).toMatchObject({ validityStart: '2026-10-25T23:00:00Z', originalTransactionIDReference: 'tx-late-1' });
    expect(sim.supplierAt(MP_OTHER, new Date('2026-10-26T12:00:00Z'))).toBe(OUR_GLN);
    expect(sim.supplierAt(MP_OTHER, new Date('2026-10-25T12:00:00Z'))).toBe(OTHER_GLN);
    // The previous supplier is told its supply stopped on the date.
    expect(drain(sim, OTHER_GLN, 'masterdata').map((d) => [kindOf(d), (d as GenericNotification).records[0]!.validityStart])).toEqual([['GenericNotification', '2026-10-25T23:00:00Z']]);
    // The whole days since the date, 26 October to 1 November (PT1H: 24 positions each).
    const days = drain(sim, OUR_GLN, 'measuredata').flatMap((d) => (d as NotifyValidatedMeasureData).series.map((s) => [s.meteringPointId, s.period.timeInterval.start, s.period.points.length]));
    expect(days).toEqual(['2026-10-25T23:00:00Z', '2026-10-26T23:00:00Z', '2026-10-27T23:00:00Z', '2026-10-28T23:00:00Z', '2026-10-29T23:00:00Z', '2026-10-30T23:00:00Z', '2026-10-31T23:00:00Z'].map((start) => [MP_OTHER, start, 24]));
    // From here on, the day's data as for any supplied point.
    sim.advanceTo(new Date('2026-11-03T01:00:00Z'));
    expect(drain(sim, OUR_GLN, 'measuredata').flatMap((d) => (d as NotifyValidatedMeasureData).series.map((s) => s.period.timeInterval.start))).toEqual(['2026-11-01T23:00:00Z']);
  });

  it('refuses a move-in reported more than 5 working days after its date with the lead-time reason (E17)', () => {
    const sim = fresh();
    // Friday 23 October: its 5th working day after was Friday 30 October.
    expect(sim.handleRequest(moveIn(MP_OTHER, '2026-10-22T22:00:00Z', 'too-late'), OUR_GLN)).toEqual({ status: 202 });
    const [answer] = drain(sim, OUR_GLN, 'masterdata') as MarketResponse[];
    expect(answer!.documentName).toBe('RejectRequestChangeOfSupplier');
    expect(answer!.records[0]!.reasons).toEqual([{ code: 'E17', text: 'A move-in on 2026-10-23 must be reported at the latest 2026-10-30 (5 working days after the date); today is 2026-11-02' }]);
    expect(drain(sim, OUR_GLN, 'measuredata')).toEqual([]);
    expect(sim.supplierAt(MP_OTHER, new Date('2026-10-26T12:00:00Z'))).toBe(OTHER_GLN);
  });

  it('counts working days, not calendar days: a move-in on Tuesday 27 October reported Tuesday 3 November is accepted; a change of supplier (E03) dated in the past is still refused', () => {
    const sim = fresh();
    sim.advanceTo(new Date('2026-11-03T08:00:00Z'));
    drain(sim, OUR_GLN, 'masterdata');
    expect(sim.handleRequest(changeOfSupplier(MP_OTHER, '2026-10-26T23:00:00Z', 'switch-past'), OUR_GLN)).toEqual({ status: 202 });
    expect(drain(sim, OUR_GLN, 'masterdata').map((d) => [kindOf(d), (d as MarketResponse).records[0]!.reasons.map((r) => r.code)])).toEqual([['RejectRequestChangeOfSupplier', ['E17']]]);
    expect(sim.handleRequest(moveIn(MP_OTHER, '2026-10-26T23:00:00Z', 'late-2'), OUR_GLN)).toEqual({ status: 202 });
    expect(drain(sim, OUR_GLN, 'masterdata').map(kindOf)).toEqual(['ConfirmRequestChangeOfSupplier', 'GenericNotification', 'AccountingPointCharacteristics']);
    expect(sim.supplierAt(MP_OTHER, new Date('2026-10-27T12:00:00Z'))).toBe(OUR_GLN);
  });

  it('a move-in dated ahead waits for its date as before', () => {
    const sim = fresh();
    expect(sim.handleRequest(moveIn(MP_OTHER, '2026-11-09T23:00:00Z', 'ahead'), OUR_GLN)).toEqual({ status: 202 });
    expect(drain(sim, OUR_GLN, 'masterdata').map(kindOf)).toEqual(['ConfirmRequestChangeOfSupplier']);
    expect(sim.supplierAt(MP_OTHER, new Date('2026-11-10T12:00:00Z'))).toBe(OTHER_GLN);
    sim.advanceTo(new Date('2026-11-10T06:00:00Z'));
    expect(drain(sim, OUR_GLN, 'masterdata').map(kindOf)).toEqual(['GenericNotification', 'AccountingPointCharacteristics']);
    expect(sim.supplierAt(MP_OTHER, new Date('2026-11-10T12:00:00Z'))).toBe(OUR_GLN);
  });

  it('a move-in of another of our customers on a point we supply: the supply goes on (no stop, no new charge links), only the new start is notified', () => {
    const sim = new Simulation(parseScenario({ ...testScenario({ start: '2026-10-10T09:00:00Z', ourSupplyFrom: '2026-01-01' }), sendChargeData: true }));
    sim.advanceTo(new Date('2026-10-11T06:00:00Z'));
    drain(sim, OUR_GLN, 'masterdata');
    expect(sim.handleRequest(moveIn(MP_A, '2026-10-14T22:00:00Z', 'between'), OUR_GLN)).toEqual({ status: 202 });
    expect(drain(sim, OUR_GLN, 'masterdata').map(kindOf)).toEqual(['ConfirmRequestChangeOfSupplier']);
    sim.advanceTo(new Date('2026-10-15T06:00:00Z'));
    const masterdata = drain(sim, OUR_GLN, 'masterdata');
    expect(masterdata.map(kindOf)).toEqual(['GenericNotification', 'AccountingPointCharacteristics']);
    expect((masterdata[0] as GenericNotification).records[0]).toMatchObject({ validityStart: '2026-10-14T22:00:00Z', originalTransactionIDReference: 'tx-between' });
    expect(sim.supplierAt(MP_A, new Date('2026-10-15T12:00:00Z'))).toBe(OUR_GLN);
  });
});
