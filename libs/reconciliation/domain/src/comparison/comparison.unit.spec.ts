import { localDatesPeriod } from '@dh/dk-time';
import {
  Q_MEASURED,
  WholesaleCalculation,
  attribute,
  chargeGroupKey,
  chargeKeyId,
  compareInvoices,
  compareResultVersions,
  compareWholesale,
  decideFinding,
  evolveFinding,
  explainsResidual,
  initialFinding,
  FindingTransitionError,
  type ChargeKey,
  type DataHubWholesaleSeries,
  type FindingFacts,
  type MeteringPointPeriod,
  type WholesaleResults,
} from '../index';

const p = localDatesPeriod('2026-10-01', '2026-10-03');
const period = { start: p.start.getTime(), end: p.end.getTime() };
const HOURS = (period.end - period.start) / 3_600_000;
const US = '5799999933318';
const TARIFF: ChargeKey = { owner: '5790001089030', type: 'D03', code: 'CD' };
const SUB: ChargeKey = { owner: '5790001089030', type: 'D01', code: 'ABON' };
const mp = (gsrn: string): MeteringPointPeriod => ({
  meteringPointId: gsrn,
  type: 'E17',
  settlementMethod: 'D01',
  gridArea: '804',
  resolution: 'PT1H',
  fromGridArea: null,
  toGridArea: null,
  parentMeteringPointId: null,
  energySupplier: US,
  balanceResponsible: null,
  from: period.start,
  to: null,
});
const series = (wh: number) => ({ resolution: 'PT1H' as const, quantities: new Float64Array(HOURS).fill(wh), qualities: new Uint8Array(HOURS).fill(Q_MEASURED) });
const links = (gsrn: string) => [TARIFF, SUB].map((charge) => ({ charge, meteringPointId: gsrn, quantity: 1, from: period.start, to: null }));

function settle(points: { gsrn: string; wh: number }[]): WholesaleResults {
  const calc = new WholesaleCalculation({
    period,
    chargeInformation: [
      { charge: TARIFF, resolution: 'PT1H', isTax: false, from: period.start, to: null },
      { charge: SUB, resolution: 'P1M', isTax: false, from: period.start, to: null },
    ],
    chargePrices: [
      ...Array.from({ length: HOURS }, (_, h) => ({ charge: TARIFF, price: 250_000n, time: period.start + h * 3_600_000 })),
      { charge: SUB, price: 20_000_000n, time: period.start },
    ],
  });
  for (const x of points) calc.addMeteringPoint(mp(x.gsrn), series(x.wh), links(x.gsrn));
  return calc.results();
}

/** DataHub's RSM-019 as the series it would send for these results. */
function asDataHub(results: WholesaleResults): DataHubWholesaleSeries[] {
  const groups = new Map<string, DataHubWholesaleSeries & { points: DataHubWholesaleSeries['points'][number][] }>();
  for (const r of [...results.hourlyTariffs, ...results.subscriptions]) {
    const key = `${chargeKeyId(r.charge)}|${r.resolution}`;
    if (!groups.has(key)) groups.set(key, { chargeOwner: r.charge.owner, chargeType: r.charge.type, chargeCode: r.charge.code, meteringPointType: 'E17', settlementMethod: 'D01', resolution: r.resolution, points: [] });
    groups.get(key)!.points.push({ time: r.time, quantity: r.quantity, price: r.price, amount: r.amount ?? 0n });
  }
  const monthly = [...results.monthlyTariffsFromHourly, ...results.monthlySubscriptions].map(
    (m): DataHubWholesaleSeries => ({ chargeOwner: m.charge.owner, chargeType: m.charge.type, chargeCode: m.charge.code, meteringPointType: null, settlementMethod: null, resolution: 'P1M', points: [{ time: m.time, quantity: null, price: null, amount: m.amount ?? 0n }] }),
  );
  return [...groups.values(), ...monthly];
}

describe('comparing DataHub’s wholesale result with ours', () => {
  it('finds no difference when both sides settle the same metering points', () => {
    const ours = settle([{ gsrn: 'a', wh: 300 }, { gsrn: 'b', wh: 500 }]);
    const c = compareWholesale(asDataHub(ours), ours);
    expect(c.differences).toEqual([]);
    expect(c.residuals).toEqual([]);
    expect(c.charges.map((x) => x.datahubAmount === x.ourAmount)).toEqual([true, true]);
  });

  it('turns a metering point DataHub counts and we do not into quantity residuals that point explains exactly', () => {
    const datahub = asDataHub(settle([{ gsrn: 'a', wh: 300 }, { gsrn: 'b', wh: 500 }, { gsrn: 'ghost', wh: 123 }]));
    const c = compareWholesale(datahub, settle([{ gsrn: 'a', wh: 300 }, { gsrn: 'b', wh: 500 }]));
    const tariff = c.residuals.find((r) => r.chargeId === chargeKeyId(TARIFF))!;
    expect(tariff.quantities.size).toBe(HOURS);
    expect([...tariff.quantities.values()].every((q) => q === 123n)).toBe(true);
    const subscription = c.residuals.find((r) => r.chargeId === chargeKeyId(SUB))!;
    expect([...subscription.quantities.values()]).toEqual([1000n, 1000n]); // one piece a day, in milli-pieces
    const ghost = new Map(Array.from({ length: HOURS }, (_, h) => [period.start + h * 3_600_000, 123n] as const));
    expect(explainsResidual(tariff.quantities, ghost)).toBe(true);
    expect(explainsResidual(tariff.quantities, new Map([...ghost].map(([t, q]) => [t, q + 1n])))).toBe(false);

    const residuals = new Map(c.residuals.map((r) => [chargeGroupKey(r.chargeId, r.meteringPointType, r.settlementMethod, r.resolution), r.quantities]));
    const attribution = attribute(residuals, [
      { kind: 'metered-data-version', meteringPoints: ['b'], contributions: new Map([[chargeGroupKey(chargeKeyId(TARIFF), 'E17', 'D01', 'PT1H'), new Map([[period.start, 999n]])]]), explanation: 'does not fit' },
      {
        kind: 'metering-point-not-supplied-by-us',
        meteringPoints: ['ghost'],
        contributions: new Map([
          [chargeGroupKey(chargeKeyId(TARIFF), 'E17', 'D01', 'PT1H'), ghost],
          [chargeGroupKey(chargeKeyId(SUB), 'E17', 'D01', 'P1D'), subscription.quantities],
        ]),
        explanation: 'DataHub bills it to us',
      },
    ]);
    expect(attribution.accepted.map((a) => [a.candidate.meteringPoints, a.explained])).toEqual([[['ghost'], true]]);
    expect(attribution.unexplained.size).toBe(0);
  });

  it('compares invoices that round per line with our amount, apart from real differences', () => {
    const [within, beyond] = compareInvoices(
      [
        { chargeId: 'x', lines: 3, amountOre: 12_35n },
        { chargeId: 'y', lines: 1, amountOre: 10_00n },
      ],
      [
        { chargeId: 'x', owner: 'o', chargeType: 'D03', code: 'x', datahubAmount: 12_345_678n, ourAmount: 12_345_678n, datahubSlotAmount: 12_345_678n, differingSlots: 0 },
        { chargeId: 'y', owner: 'o', chargeType: 'D03', code: 'y', datahubAmount: 9_000_000n, ourAmount: 9_000_000n, datahubSlotAmount: 9_000_000n, differingSlots: 0 },
      ],
    );
    expect(within).toMatchObject({ invoiced: 12_350_000n, roundingDifference: 4_322n, withinRounding: true });
    expect(beyond).toMatchObject({ roundingDifference: 1_000_000n, withinRounding: false });
  });
});

describe('DataHub result versions', () => {
  it('orders balance fixing < wholesale fixing < first < second < third correction, then calculation version', () => {
    const v = (businessReason: string, settlementVersion: string | null, calculationVersion: number) => ({ businessReason, settlementVersion, calculationVersion });
    const ordered = [v('D04', null, 9), v('D05', null, 1), v('D05', null, 2), v('D32', 'D01', 1), v('D32', 'D02', 1), v('D32', 'D03', 1)];
    const shuffled = [ordered[3]!, ordered[0]!, ordered[5]!, ordered[2]!, ordered[1]!, ordered[4]!];
    expect([...shuffled].sort(compareResultVersions)).toEqual(ordered);
  });
});

describe('a finding’s life', () => {
  const facts: FindingFacts = {
    findingId: 'f-1',
    gridArea: '804',
    period: '2026-10',
    kind: 'metering-point-not-supplied-by-us',
    meteringPoints: ['571313180400000032'],
    charges: [],
    quantityDifference: '12.300',
    amountDifference: '3.075000',
    from: null,
    to: null,
    explanation: 'x',
    datahubResult: 'D05 v1',
  };
  const run = (commands: Parameters<typeof decideFinding>[0][]) => {
    let state = initialFinding;
    const events = commands.flatMap((c) => {
      const e = decideFinding(c, state);
      state = e.reduce(evolveFinding, state);
      return e;
    });
    return { state, events };
  };

  it('is found, explained by staff with a note, resolved when a later run no longer sees it', () => {
    const { state, events } = run([
      { type: 'Observe', facts, explainedBySystem: false, runId: 'r1' },
      { type: 'Observe', facts, explainedBySystem: false, runId: 'r2' },
      { type: 'Explain', note: 'Supply ended 9 Oct, DataHub not told', by: 'staff:anna' },
      { type: 'Disappear', runId: 'r3', note: 'gone after D32/D01' },
    ]);
    expect(events.map((e) => e.type)).toEqual(['DiscrepancyFound', 'FindingExplained', 'FindingResolved']);
    expect(state.state).toBe('resolved');
    expect(events[1]!.data).toMatchObject({ note: 'Supply ended 9 Oct, DataHub not told', by: 'staff:anna' });
  });

  it('is reopened when seen again after it was resolved, and refuses transitions that make no sense', () => {
    const { state, events } = run([
      { type: 'Observe', facts, explainedBySystem: true, runId: 'r1' },
      { type: 'Resolve', note: 'credited', by: 'staff:bo' },
      { type: 'Observe', facts, explainedBySystem: false, runId: 'r2' },
    ]);
    expect(events.map((e) => e.type)).toEqual(['DiscrepancyFound', 'FindingResolved', 'DiscrepancyFound']);
    expect(state.state).toBe('open');
    expect(() => decideFinding({ type: 'Reopen', note: '', by: 'staff:bo' }, state)).toThrow(FindingTransitionError);
    expect(() => decideFinding({ type: 'Explain', note: ' ', by: 'staff:bo' }, state)).toThrow(/note/);
  });
});
