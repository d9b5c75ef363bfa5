import type { CimDocument, MarketResponse, NotifyAggregatedMeasureData, NotifyBillingMasterData, NotifyPriceList, NotifyValidatedMeasureData, NotifyWholesaleServices, RequestWholesaleSettlement } from '@dh/cim';
import { localDayStart } from '@dh/dk-time';
import { dayQuantities } from './lib/profiles';
import { parseScenario } from './lib/scenario';
import { Simulation, type MessageCategory } from './lib/simulation';
import { BASIC_LINKS, DATAHUB_GLN, ENERGINET_GLN, GRID_OWNER_GLN, OUR_GLN, OTHER_GLN, TEST_CHARGES } from './testing/support';

const A = '571313180400000018'; // ours by forced switch from 2026-10-01
const B = '571313180400000025'; // ours by forced switch, PT1H non-profiled
const GHOST = '571313180400000032'; // DataHub bills it to us from 2026-10-10; we never supplied it
const N1 = GRID_OWNER_GLN;
const ENERGINET = ENERGINET_GLN;

const BASIC = BASIC_LINKS;

function scenario() {
  return parseScenario({
    seed: 'reconciliation-sim',
    start: '2026-09-30T06:00:00Z',
    datahubGln: DATAHUB_GLN,
    sendChargeData: true,
    clients: [
      { clientId: 'ours', clientSecret: 's', gln: OUR_GLN },
      { clientId: 'other', clientSecret: 's', gln: OTHER_GLN },
    ],
    meteringPoints: [
      {
        gsrn: A,
        gridArea: '804',
        priceArea: 'DK1',
        type: 'E17',
        profile: { annualKwh: 4000 },
        supply: { supplierGln: OTHER_GLN, from: '2026-01-01' },
        charges: [
          { code: 'CD', ownerGln: N1, type: 'D03' },
          { code: 'ABON', ownerGln: N1, type: 'D01' },
          { code: 'GEBYR', ownerGln: N1, type: 'D02', factor: 2, from: '2026-10-15', to: '2026-10-16' },
          { code: 'EA-001', ownerGln: ENERGINET, type: 'D03' },
          { code: 'CE', ownerGln: N1, type: 'D03', from: '2026-10-20', notified: false },
        ],
      },
      { gsrn: B, gridArea: '804', priceArea: 'DK1', type: 'E17', settlementMethod: 'E02', resolution: 'PT1H', profile: { annualKwh: 2500, shape: 'flat' }, supply: { supplierGln: OTHER_GLN, from: '2026-01-01' }, charges: BASIC },
      { gsrn: GHOST, gridArea: '804', priceArea: 'DK1', type: 'E17', profile: { annualKwh: 3000 }, supply: { supplierGln: OTHER_GLN, from: '2026-01-01' }, charges: BASIC },
    ],
    forcedSwitches: [
      { gsrn: A, supplierGln: OUR_GLN, effectiveDate: '2026-10-01' },
      { gsrn: B, supplierGln: OUR_GLN, effectiveDate: '2026-10-01' },
    ],
    charges: TEST_CHARGES,
    planted: {
      unsuppliedBilled: [{ gsrn: GHOST, supplierGln: OUR_GLN, from: '2026-10-10' }],
      unsentCorrections: [{ gsrn: A, date: '2026-10-20', factor: '1.5', sendAt: '2026-11-03T12:00:00Z' }],
    },
  });
}

function drain(sim: Simulation, category: MessageCategory): CimDocument[] {
  const out: CimDocument[] = [];
  for (let m = sim.peek(OUR_GLN, category); m; m = sim.peek(OUR_GLN, category)) {
    out.push(m.document);
    sim.dequeue(OUR_GLN, m.messageId);
  }
  return out;
}

const thousandths = (q: string | undefined) => Math.round(Number(q ?? '0') * 1000);
const micro = (a: string | undefined) => BigInt(Math.round(Number(a ?? '0') * 1e6));

describe('DataHub simulator: charge data, results by its own engine, planted differences', () => {
  const sim = new Simulation(scenario());

  it('sends the charges’ master data and prices at the first midnight, and each metering point’s notified links when it becomes ours', () => {
    expect(drain(sim, 'masterdata')).toEqual([]);
    sim.advanceTo(new Date('2026-10-01T00:00:00Z'));
    const masterdata = drain(sim, 'masterdata');
    const priceLists = masterdata.filter((d): d is NotifyPriceList => d.kind === 'NotifyPriceList');
    expect(priceLists.map((d) => d.header.processType)).toEqual(['D18', 'D08']);
    expect(priceLists[0]!.records.map((r) => [r.chargeTypes[0]!.mRID, r.chargeTypes[0]!.priceResolution, r.chargeTypes[0]!.taxIndicator])).toEqual([
      ['CD', 'PT1H', false],
      ['CE', 'P1D', false],
      ['ABON', 'P1M', false],
      ['GEBYR', 'P1M', false],
      ['EA-001', 'PT1H', true],
    ]);
    expect(priceLists[1]!.records[0]!.chargeTypes[0]!.prices!.points).toHaveLength(24);
    // The price lists come first, so that a supplier knows the charges before the links that name them.
    expect(masterdata[0]!.kind).toBe('NotifyPriceList');
    const links = masterdata.filter((d): d is NotifyBillingMasterData => d.kind === 'NotifyBillingMasterData');
    expect(links.map((d) => [d.header.processType, d.records[0]!.meteringPointId])).toEqual([
      ['D31', A],
      ['D31', B],
    ]);
    expect(links[1]!.records[0]!.chargeTypes.map((c) => c.mRID)).toEqual(['CD', 'ABON', 'EA-001']);
    expect(links[0]!.records[0]!.chargeTypes.map((c) => [c.mRID, c.factor, c.effectiveDate, c.terminationDate ?? null])).toEqual([
      ['CD', '1', '2026-09-30T22:00:00Z', null],
      ['ABON', '1', '2026-09-30T22:00:00Z', null],
      ['GEBYR', '2', '2026-10-14T22:00:00Z', '2026-10-15T22:00:00Z'],
      ['EA-001', '1', '2026-09-30T22:00:00Z', null],
    ]);
  });

  it('bills us a metering point it never handed us: its metered data arrives, no start of supply', () => {
    sim.advanceTo(new Date('2026-11-01T00:00:00Z'));
    const series = (drain(sim, 'measuredata') as NotifyValidatedMeasureData[]).map((d) => d.series[0]!);
    const ghostDays = series.filter((s) => s.meteringPointId === GHOST).length;
    expect(ghostDays).toBe(22); // 10th..31st
    expect(drain(sim, 'masterdata').filter((d) => JSON.stringify(d).includes(GHOST))).toEqual([]);
  });

  it('aggregates energy per type and settlement method from what it holds: a corrected day we have not received', () => {
    const docs = drain(sim, 'aggregations');
    const energy = docs.filter((d): d is NotifyAggregatedMeasureData => d.kind === 'NotifyAggregatedMeasureData');
    expect(energy.map((d) => [d.header.processType, d.series[0]!.meteringPointType, d.series[0]!.settlementMethod, d.series[0]!.period.resolution, d.series[0]!.period.points.length])).toEqual([
      ['D04', 'E17', 'D01', 'PT15M', 745 * 4],
      ['D04', 'E17', 'E02', 'PT15M', 745 * 4],
    ]);
    const flex = energy[0]!.series[0]!.period.points.reduce((n, p) => n + thousandths(p.quantity), 0);
    const mp = scenario().meteringPoints;
    const day = (gsrn: string, date: string) => dayQuantities('reconciliation-sim', mp.find((m) => m.gsrn === gsrn)!, date).reduce((a, b) => a + b, 0);
    let ours = 0;
    let ghost = 0;
    for (let d = 1; d <= 31; d++) {
      const date = `2026-10-${String(d).padStart(2, '0')}`;
      ours += date === '2026-10-20' ? Math.round(day(A, date) * 1.5) : day(A, date);
      if (d >= 10) ghost += day(GHOST, date);
    }
    // Rounding each corrected quarter moves the day's sum by at most half a Wh per quarter.
    expect(Math.abs(flex - ours - ghost)).toBeLessThanOrEqual(50);
    const b = energy[1]!.series[0]!.period.points;
    const bSum = b.reduce((n, p) => n + thousandths(p.quantity), 0);
    let bHours = 0;
    for (let d = 1; d <= 31; d++) bHours += day(B, `2026-10-${String(d).padStart(2, '0')}`);
    expect(bSum).toBe(bHours); // a PT1H point's quarters add back to its hours
  });

  it('settles wholesale with its own engine, answering RSM-017 for our transaction; a period that is not whole months is rejected', () => {
    const request = (id: string, start: string, end: string): RequestWholesaleSettlement => ({
      kind: 'RequestWholesaleSettlement',
      header: { mRID: `doc-${id}`, processType: 'D05', businessSectorType: '23', sender: { id: { codingScheme: 'A10', value: OUR_GLN }, role: 'DDQ' }, receiver: { id: { codingScheme: 'A10', value: DATAHUB_GLN }, role: 'DDZ' }, createdDateTime: '2026-11-02T08:00:00Z' },
      series: [{ mRID: id, start, end, meteringGridArea: '804', energySupplier: { codingScheme: 'A10', value: OUR_GLN }, chargeTypes: [] }],
    });
    expect(sim.handleRequest(request('tx-1', '2026-09-30T22:00:00Z', '2026-10-31T23:00:00Z'), OUR_GLN)).toEqual({ status: 202 });
    expect(sim.handleRequest(request('tx-2', '2026-10-04T22:00:00Z', '2026-10-31T23:00:00Z'), OUR_GLN)).toEqual({ status: 202 });
    const [answer, reject] = drain(sim, 'aggregations') as [NotifyWholesaleServices, MarketResponse];
    expect(answer.series.every((s) => s.originalTransactionIDReference === 'tx-1')).toBe(true);
    expect(reject).toMatchObject({ documentName: 'RejectRequestWholesaleSettlement', reasonCode: 'A02', records: [{ originalTransactionIDReference: 'tx-2' }] });

    const hourly = answer.series.filter((s) => s.period.resolution === 'PT1H' && s.chargeCode === 'CD');
    expect(hourly.map((s) => s.settlementMethod)).toEqual(['D01', 'E02']);
    for (const p of hourly.flatMap((s) => s.period.points)) {
      // DataHub: amount = quantity summed over metering points × price, rounded half up to 6 decimals.
      expect(micro(p.amount)).toBe((BigInt(thousandths(p.quantity)) * micro(p.price) * 2n + 1000n) / 2000n);
    }
    const sums = new Map(answer.series.filter((s) => s.period.resolution === 'P1M' && s.chargeCode).map((s) => [s.chargeCode, micro(s.period.points[0]!.amount)]));
    const ce = answer.series.find((s) => s.chargeCode === 'CE' && s.period.resolution === 'P1D')!;
    expect(ce.period.points.filter((p) => p.price !== undefined)).toHaveLength(12); // the unnotified link from the 20th
    const subscription = answer.series.find((s) => s.chargeCode === 'ABON' && s.period.resolution === 'P1D')!;
    expect(subscription.period.points[0]).toMatchObject({ price: '0.685484' }); // 21.25 ÷ 31, 6 decimals
    expect(sums.get('GEBYR')).toBe(300_000_000n); // 2 pieces × 150 on one day
    const totalPerOwner = new Map(answer.series.filter((s) => s.period.resolution === 'P1M' && !s.chargeCode && s.chargeOwner).map((s) => [s.chargeOwner!.value, micro(s.period.points[0]!.amount)]));
    const n1 = ['CD', 'CE', 'ABON', 'GEBYR'].reduce((n, c) => n + sums.get(c)!, 0n);
    expect(totalPerOwner.get(N1)).toBe(n1 + sums.get('EA-001')!); // the tax added into the grid company's total
    expect(totalPerOwner.has(ENERGINET)).toBe(false); // Energinet has only the tax here
  });

  it('sends the corrected day late, and a correction settlement (D32, D01) on demand', () => {
    sim.advanceTo(new Date('2026-11-03T12:00:00Z'));
    const late = (drain(sim, 'measuredata') as NotifyValidatedMeasureData[]).map((d) => d.series[0]!);
    const corrected = late.find((s) => s.meteringPointId === A && s.period.timeInterval.start === '2026-10-19T22:00:00Z');
    expect(corrected).toBeDefined();
    expect(localDayStart('2026-10-20').toISOString()).toBe('2026-10-19T22:00:00.000Z');
    sim.correctionSettlement(2026, 10, 'D01');
    const docs = drain(sim, 'aggregations');
    expect(docs.length).toBeGreaterThan(0);
    expect(docs.every((d) => 'processType' in d.header && d.header.processType === 'D32')).toBe(true);
    expect(docs.flatMap((d) => (d.kind === 'NotifyWholesaleServices' || d.kind === 'NotifyAggregatedMeasureData' ? d.series.map((s) => s.settlementVersion) : []))).not.toContain(undefined);
  });
});
