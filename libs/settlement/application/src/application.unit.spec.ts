import { addDays, localDateOf, localDayStart } from '@dh/dk-time';
import { gsrnCheckDigit } from '@dh/market-ids';
import { meteredDays } from './commands';
import { meteredPointsOf } from './events';
import { invoiceIdOf, runStreamId } from './ids';
import { parsePeriodLabel, periodDates, periodLabel, periodLastDay, periodsContaining, toBillingPeriod } from './period';
import { batchCompletedEvent, itemHaltedEvent, runBatchStreamId, runCompletedEvent, runItemStreamId, runScheduledEvent, runStartedEvent, workItemBatch } from './run';
import { buildSettlementInput, electricHeatingInForce, netImportMilliKwh, productionGsrnInForce, suppliesInPeriod, type MeteredDayRecord, type SettlementCopies, type SupplyRecord } from './settlement-input';

const G = `57131317400000001${gsrnCheckDigit('57131317400000001')}`;

describe('billing periods', () => {
  it('labels, parses and dates months and quarters', () => {
    expect(periodLabel({ kind: 'month', year: 2026, month: 3 })).toBe('2026-03');
    expect(periodLabel({ kind: 'quarter', year: 2026, quarter: 4 })).toBe('2026-Q4');
    expect(parsePeriodLabel('2026-Q4')).toEqual({ kind: 'quarter', year: 2026, quarter: 4 });
    expect(() => parsePeriodLabel('2026-13')).toThrow('out of range');
    expect(toBillingPeriod({ kind: 'month', year: 2026, month: 10 })).toEqual({ kind: 'month', year: 2026, month: 10 });
    expect(() => toBillingPeriod({ kind: 'month', year: 2026, month: 0 })).toThrow();
    expect(periodDates({ kind: 'quarter', year: 2026, quarter: 4 })).toEqual({ from: '2026-10-01', toExclusive: '2027-01-01' });
    expect(periodLastDay({ kind: 'month', year: 2028, month: 2 })).toBe('2028-02-29');
    expect(periodsContaining('2026-11-15')).toEqual([
      { kind: 'month', year: 2026, month: 11 },
      { kind: 'quarter', year: 2026, quarter: 4 },
    ]);
  });

  it('derives a stable invoice id from GSRN, period and customer only (one invoice per customer supply)', () => {
    const a = invoiceIdOf(G, { kind: 'month', year: 2026, month: 10 }, 'c1');
    expect(invoiceIdOf(G, { kind: 'month', year: 2026, month: 10 }, 'c1')).toBe(a);
    expect(invoiceIdOf(G, { kind: 'month', year: 2026, month: 11 }, 'c1')).not.toBe(a);
    expect(invoiceIdOf(G, { kind: 'month', year: 2026, month: 10 }, 'c2')).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('metered data per local day', () => {
  it('splits a series over the autumn DST change into local days, positions restarting at each midnight', () => {
    // 24 + 25 + 24 hours: 24 October 2026 … 26 October 2026 (clocks go back on the 25th).
    const start = localDayStart('2026-10-24');
    const points = Array.from({ length: 73 }, (_, i) => ({ position: i + 1, quantityKwh: '1.000', quality: 'A04' }));
    const split = meteredDays({ gsrn: G, documentId: 'd', receivedAt: '2026-10-27T00:00:00Z', resolution: 'PT1H', start: start.toISOString(), end: '', points });
    expect(split.map((d) => [d.day, meteredPointsOf(d).length, meteredPointsOf(d)[0]!.position, meteredPointsOf(d).at(-1)!.position, d.start])).toEqual([
      ['2026-10-24', 24, 1, 24, localDayStart('2026-10-24').toISOString()],
      ['2026-10-25', 25, 1, 25, localDayStart('2026-10-25').toISOString()],
      ['2026-10-26', 24, 1, 24, localDayStart('2026-10-26').toISOString()],
    ]);
  });
});

describe('run events', () => {
  const period = { kind: 'month', year: 2026, month: 10 } as const;
  const asOf = new Date('2026-11-01T00:00:00Z');

  it('keeps the run stream to parameters and counts, whatever the number of items', () => {
    const started = runStartedEvent('r', period, asOf);
    expect(started).toMatchObject({ type: 'SettlementRunStarted', data: { runId: 'r', period, periodLabel: '2026-10', asOf: asOf.toISOString() } });
    expect(Object.keys(started.data).sort()).toEqual(['asOf', 'period', 'periodLabel', 'runId', 'scope', 'seq']);
    expect(runStartedEvent('r2', period, asOf, 2, 'retry').data).toMatchObject({ seq: 2, scope: 'retry' });
    expect(runScheduledEvent('r', period, 1001, 3).data).toEqual({ runId: 'r', periodLabel: '2026-10', items: 1001, batches: 3 });
    expect(runCompletedEvent('r', period, { items: 3, invoiced: 2, halted: 1 }).data).toEqual({ runId: 'r', period, periodLabel: '2026-10', items: 3, invoiced: 2, halted: 1 });
    expect(runStreamId(period)).toBe('settlement-run-2026-10');
    expect(runBatchStreamId(period, 7)).toBe('settlement-run-2026-10-batch-7');
    // A later run of the period: its own streams, so each stays short and earlier runs stay readable.
    expect(runStreamId(period, 2)).toBe('settlement-run-2026-10-2');
    expect(runBatchStreamId(period, 0, 2)).toBe('settlement-run-2026-10-2-batch-0');
  });

  it('schedules a batch of work items that carry their batch and its size, with ids stable per run and metering point', () => {
    const batch = workItemBatch('r', period, asOf, 2, ['a', 'b']);
    expect(batch.map((e) => [e.type, e.data.gsrn, e.data.batch, e.data.batchItems])).toEqual([
      ['SettlementWorkItemScheduled', 'a', 2, 2],
      ['SettlementWorkItemScheduled', 'b', 2, 2],
    ]);
    expect(workItemBatch('r', period, asOf, 2, ['a'])[0]!.eventId).toBe(batch[0]!.eventId);
    expect(workItemBatch('other', period, asOf, 2, ['a'])[0]!.eventId).not.toBe(batch[0]!.eventId);
  });

  it('records a halt with its batch and detail, on the item\'s own stream; batch and run completion once per batch and run', () => {
    const halt = itemHaltedEvent('r', period, 4, { outcome: 'halted', reason: 'missing-configuration', gsrn: 'b', problem: 'no product' });
    expect(halt.data).toEqual({ runId: 'r', batch: 4, gsrn: 'b', periodLabel: '2026-10', reason: 'missing-configuration', detail: { problem: 'no product' } });
    expect(runItemStreamId('r', 'b')).toBe('settlement-item-r-b');
    expect(batchCompletedEvent('r', period, 4, { items: 2, invoiced: 1, halted: 1 }).eventId).toBe(batchCompletedEvent('r', period, 4, { items: 2, invoiced: 2, halted: 0 }).eventId);
    expect(runCompletedEvent('r', period, { items: 1, invoiced: 1, halted: 0 }).eventId).toBe(runCompletedEvent('r', period, { items: 2, invoiced: 1, halted: 1 }).eventId);
  });
});

describe('settlement input from copies', () => {
  const supply = (over: Partial<SupplyRecord> = {}): SupplyRecord => ({
    gsrn: G,
    customerId: 'c',
    startDate: '2026-01-01',
    endDate: null,
    productId: 'p',
    electricHeating: false,
    gridArea: '791',
    productionGsrn: null,
    billingFrequency: 'monthly',
    paymentModel: 'actual',
    reversed: false,
    ...over,
  });
  const copies = (over: Partial<SettlementCopies> = {}): SettlementCopies => ({
    supplies: [supply()],
    products: [],
    taxRates: [],
    gridAreas: [],
    charges: [],
    spotPrices: [],
    consumption: [],
    production: [],
    ...over,
  });
  const october = { kind: 'month', year: 2026, month: 10 } as const;

  it('selects supplies overlapping the period with its billing frequency, never reversed ones', () => {
    const s = [supply(), supply({ gsrn: 'q', billingFrequency: 'quarterly' }), supply({ gsrn: 'r', reversed: true }), supply({ gsrn: 'e', endDate: '2026-10-01' }), supply({ gsrn: 'l', startDate: '2026-10-31' })];
    expect(suppliesInPeriod(s, october).map((x) => x.gsrn)).toEqual([G, 'l']);
  });

  it('halts with the configuration gap instead of building a partial input', () => {
    expect(buildSettlementInput(G, october, new Date(), copies({ supplies: [] }))).toEqual({
      ok: false,
      halt: { outcome: 'halted', reason: 'missing-configuration', gsrn: G, problem: `no supply of ${G} in the period` },
    });
    expect(buildSettlementInput(G, october, new Date(), copies())).toMatchObject({ ok: false, halt: { reason: 'missing-configuration', problem: 'grid area 791 is not mapped' } });
    const mapped = copies({ gridAreas: [{ gridArea: '791', priceArea: 'DK2', gridCompanyGln: 'x', gridTariffChargeId: 't', gridSubscriptionChargeId: 's' }] });
    expect(buildSettlementInput(G, october, new Date(), mapped)).toMatchObject({ ok: false, halt: { reason: 'missing-configuration', problem: 'product p is not defined' } });
  });

  it('electric heating counts for a period only when registered on every supplied day of it', () => {
    const on = supply({ electricHeating: true });
    expect(electricHeatingInForce([on], [], october)).toBe(true);
    expect(electricHeatingInForce([supply()], [], october)).toBe(false);
    // Registered from 15 October: takes effect with November.
    const later = [{ gsrn: G, from: '2026-10-15', electricHeating: true }];
    expect(electricHeatingInForce([supply()], later, october)).toBe(false);
    expect(electricHeatingInForce([supply()], later, { kind: 'month', year: 2026, month: 11 })).toBe(true);
    // Deregistered from 15 October: October already loses the reduced rate.
    expect(electricHeatingInForce([on], [{ gsrn: G, from: '2026-10-15', electricHeating: false }], october)).toBe(false);
    // A change before the supply started belongs to an earlier supply.
    expect(electricHeatingInForce([supply({ startDate: '2026-10-01' })], [{ gsrn: G, from: '2026-09-01', electricHeating: true }], october)).toBe(false);
    // A supply starting mid-period with the flag: the days not supplied do not count.
    expect(electricHeatingInForce([supply({ startDate: '2026-10-20', electricHeating: true })], [], october)).toBe(true);
    expect(electricHeatingInForce([], [], october)).toBe(false);
  });

  it('the production GSRN in force is the one on the first day of the period that the latest supply covers', () => {
    const P1 = 'p1';
    const P2 = 'p2';
    expect(productionGsrnInForce(supply({ productionGsrn: P1 }), [], october)).toBe(P1);
    expect(productionGsrnInForce(supply(), [{ gsrn: G, from: '2026-10-01', productionGsrn: P2 }], october)).toBe(P2);
    expect(productionGsrnInForce(supply(), [{ gsrn: G, from: '2026-10-02', productionGsrn: P2 }], october)).toBeNull();
    expect(productionGsrnInForce(supply({ startDate: '2026-10-10' }), [{ gsrn: G, from: '2026-10-10', productionGsrn: P2 }], october)).toBe(P2);
    expect(productionGsrnInForce(supply({ startDate: '2026-10-10' }), [{ gsrn: 'other', from: '2026-10-10', productionGsrn: P2 }], october)).toBeNull();
  });

  it('net import nets consumption against production per hour, never below zero per hour', () => {
    const start = localDayStart('2026-03-02');
    const day = (gsrn: string, resolution: 'PT15M' | 'PT1H', kwh: (string | null)[]): MeteredDayRecord => ({
      gsrn,
      day: '2026-03-02',
      version: 1,
      resolution,
      start,
      points: kwh.map((q, i) => ({ position: i + 1, quantityKwh: q, quality: 'A04' })),
    });
    // Hour 0: 4 quarters of 0.250 = 1.000 consumed, 0.400 produced → 0.600. Hour 1: 0.500 consumed, 2.000 produced → 0 (not −1.5).
    const consumption = day(G, 'PT15M', ['0.250', '0.250', '0.250', '0.250', '0.125', '0.125', '0.125', '0.125', null]);
    const production = day('p', 'PT1H', ['0.400', '2.000']);
    expect(netImportMilliKwh([consumption], [production])).toBe(600n);
    expect(netImportMilliKwh([consumption], [])).toBe(1500n);
  });
});

describe('MeteredDataReceived v2: a day\'s values packed as integer Wh', () => {
  const start = localDayStart('2026-10-24');
  const command = (points: { position: number; quantityKwh: string | null; quality: string }[]) =>
    ({ gsrn: G, documentId: 'd', receivedAt: '2026-10-27T00:00:00Z', resolution: 'PT1H', start: start.toISOString(), end: '', points }) as const;

  it('packs exact values (quality runs, a missing value as null) and reads back the same points', () => {
    const points = Array.from({ length: 24 }, (_, i) => ({ position: i + 1, quantityKwh: i === 5 ? null : `0.${String(i * 7).padStart(3, '0')}`, quality: i === 5 ? 'A02' : i > 20 ? 'A03' : 'A04' }));
    const [day] = meteredDays(command(points));
    expect(day).toMatchObject({ firstPosition: 1, qualities: [['A04', 5], ['A02', 1], ['A04', 15], ['A03', 3]] });
    expect(day!.points).toBeUndefined();
    expect(day!.wh!.slice(0, 7)).toEqual([0, 7, 14, 21, 28, null, 42]);
    expect(meteredPointsOf(day!)).toEqual(points);
  });

  it('keeps points as objects when a value is not exact in Wh, and reads v1 events (points) as they are', () => {
    const points = [{ position: 1, quantityKwh: '0.0001', quality: 'A04' }];
    const [day] = meteredDays(command(points));
    expect(day!.points).toEqual(points);
    expect(day!.wh).toBeUndefined();
    expect(meteredPointsOf(day!)).toEqual(points);
    const v1 = { gsrn: G, day: '2026-10-24', version: 1, documentId: 'd', receivedAt: '', resolution: 'PT1H', start: '', end: '', points: [{ position: 1, quantityKwh: '1.5', quality: 'A04' }] } as const;
    expect(meteredPointsOf({ ...v1, points: [...v1.points] })).toEqual([{ position: 1, quantityKwh: '1.5', quality: 'A04' }]);
  });
});

describe('meteredDays over many days and both DST changes', () => {
  it('puts every value on the local day and position the time zone gives it, in any point order', () => {
    for (const [from, resolution, step] of [['2026-03-27', 'PT15M', 900_000], ['2026-10-23', 'PT1H', 3_600_000]] as const) {
      const start = localDayStart(from);
      const count = (localDayStart(addDays(from, 5)).getTime() - start.getTime()) / step;
      const points = Array.from({ length: count }, (_, i) => ({ position: i + 1, quantityKwh: `${i}.000`, quality: 'A04' })).reverse();
      const split = meteredDays({ gsrn: G, documentId: 'd', receivedAt: '2026-10-27T00:00:00Z', resolution, start: start.toISOString(), end: '', points });
      expect(split.map((d) => d.day)).toEqual([0, 1, 2, 3, 4].map((n) => addDays(from, n)));
      for (const d of split) {
        const dayStart = localDayStart(d.day).getTime();
        for (const p of meteredPointsOf(d)) {
          const instant = new Date(dayStart + (p.position - 1) * step);
          expect(localDateOf(instant)).toBe(d.day);
          expect(p.quantityKwh).toBe(`${(instant.getTime() - start.getTime()) / step}.000`);
        }
      }
      expect(split.reduce((n, d) => n + meteredPointsOf(d).length, 0)).toBe(count);
    }
  });
});
