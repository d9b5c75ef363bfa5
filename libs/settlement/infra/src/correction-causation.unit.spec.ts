import type { PoolClient } from 'pg';
import type { InputChange, PriceVersion } from '@dh/settlement-application';
import { sourceEventsOf, SourceEventLookups } from './correction-causation';
import { CorrectionJobLookups } from './correction-jobs';

type Db = Pick<PoolClient, 'query'>;

/** Copied rows and the events that brought them, answered as the lookups' queries would be; every query counted. */
function fakeCopies(rows: { charge: Record<string, string>; spot: Record<string, string>; metered: Record<string, string> }) {
  const sent: string[] = [];
  const db = {
    query: async (sql: string, params: unknown[]) => {
      sent.push(sql);
      const key = (p: unknown[]) => p.map((v) => (v instanceof Date ? v.toISOString() : JSON.stringify(v))).join('|');
      const table = sql.includes('settlement.charge_rows') ? rows.charge : sql.includes('settlement.spot_prices') ? rows.spot : sql.includes('settlement.metered_data') ? rows.metered : {};
      const eventId = table[key(sql.includes('settlement.spot_prices') ? [params[0], params[3], params[4]] : params)];
      return { rows: eventId === undefined ? [] : [{ event_id: eventId }] };
    },
  } as unknown as Db;
  return { db, sent };
}

const row = (chargeId: string): PriceVersion => ({ chargeId, version: 2, publishedAt: '2026-11-20T08:00:00.000Z', validFrom: '2026-10-01', validTo: null, prices: ['0.05'] });
const chargeChange = (chargeId: string, days: number): InputChange => ({
  input: 'charge-price',
  role: 'grid-tariff',
  firstDay: '2026-10-01',
  lastDay: days === 31 ? '2026-10-31' : '2026-10-15',
  days,
  old: { ...row(chargeId), version: 1 },
  new: row(chargeId),
});
const spotChange = (old: number[], now: number[]): InputChange => ({
  input: 'spot-price',
  priceArea: 'DK2',
  day: '2026-10-15',
  old: { resolution: 'PT1H', versions: old, latestPublishedAt: null },
  new: { resolution: 'PT1H', versions: now, latestPublishedAt: null },
});
const chargeKey = (chargeId: string) => [chargeId, 2, '2026-11-20T08:00:00.000Z', '2026-10-01'].map((v) => JSON.stringify(v)).join('|');

describe("a correction job's source lookups (the causation of its notes)", () => {
  it('asks each price row once per job, and two charges with the same version, publication and validity each get their own event', async () => {
    const { db, sent } = fakeCopies({ charge: { [chargeKey('grid:D03:A')]: 'event-a', [chargeKey('grid:D03:B')]: 'event-b' }, spot: {}, metered: {} });
    const lookups = new SourceEventLookups();
    // Two notes of one job (other invoices: other supplied days), each with both charges changed.
    expect(await sourceEventsOf(db, [chargeChange('grid:D03:A', 31), chargeChange('grid:D03:B', 31)], lookups)).toEqual({ eventIds: ['event-a', 'event-b'], unmapped: 0 });
    expect(await sourceEventsOf(db, [chargeChange('grid:D03:B', 15), chargeChange('grid:D03:A', 15)], lookups)).toEqual({ eventIds: ['event-b', 'event-a'], unmapped: 0 });
    expect(sent).toHaveLength(2);
    expect(lookups.queries).toBe(2);
    // A row without a known source stays unmapped from the cache too.
    expect(await sourceEventsOf(db, [chargeChange('grid:D03:C', 31)], lookups)).toEqual({ eventIds: [], unmapped: 1 });
    expect(await sourceEventsOf(db, [chargeChange('grid:D03:C', 15)], lookups)).toEqual({ eventIds: [], unmapped: 1 });
    expect(sent).toHaveLength(3);
  });

  it("keeps a day's spot prices apart by the versions the invoice had and has (a first note, a second note)", async () => {
    const spot = { [['"DK2"', '[1,2]', '[1]'].join('|')]: 'publication-v2', [['"DK2"', '[1,2,3]', '[1,2]'].join('|')]: 'publication-v3' };
    const { db, sent } = fakeCopies({ charge: {}, spot, metered: {} });
    const lookups = new SourceEventLookups();
    expect((await sourceEventsOf(db, [spotChange([1], [1, 2])], lookups)).eventIds).toEqual(['publication-v2']);
    expect((await sourceEventsOf(db, [spotChange([1, 2], [1, 2, 3])], lookups)).eventIds).toEqual(['publication-v3']);
    expect((await sourceEventsOf(db, [spotChange([1], [1, 2])], lookups)).eventIds).toEqual(['publication-v2']);
    expect(sent).toHaveLength(2);
  });

  it("never keeps a metered day's source (one metering point's), and keeps at most maxEntries answers, the oldest dropped first", async () => {
    const metered: InputChange = {
      input: 'metered-data',
      series: 'consumption',
      gsrn: '571313100000000011',
      day: '2026-10-10',
      old: { version: 1, documentId: 'a', receivedAt: null },
      new: { version: 2, documentId: 'b', receivedAt: null },
    };
    const { db, sent } = fakeCopies({ charge: { [chargeKey('A')]: 'event-a', [chargeKey('B')]: 'event-b', [chargeKey('C')]: 'event-c' }, spot: {}, metered: { ['"571313100000000011"|"2026-10-10"|2']: 'metered-v2' } });
    const lookups = new SourceEventLookups(2);
    expect((await sourceEventsOf(db, [metered], lookups)).eventIds).toEqual(['metered-v2']);
    expect((await sourceEventsOf(db, [metered], lookups)).eventIds).toEqual(['metered-v2']);
    expect(sent).toHaveLength(2);
    expect(lookups.size).toBe(0);
    for (const c of ['A', 'B', 'C']) await sourceEventsOf(db, [chargeChange(c, 31)], lookups);
    expect(lookups.size).toBe(2);
    expect(sent).toHaveLength(5);
    // C and B are kept; A was dropped and is asked again.
    expect((await sourceEventsOf(db, [chargeChange('C', 31), chargeChange('B', 31)], lookups)).eventIds).toEqual(['event-c', 'event-b']);
    expect(sent).toHaveLength(5);
    expect((await sourceEventsOf(db, [chargeChange('A', 31)], lookups)).eventIds).toEqual(['event-a']);
    expect(sent).toHaveLength(6);
  });

  it("the worker keeps one job's lookups from page to page and starts afresh for another job", async () => {
    const jobs = new CorrectionJobLookups();
    const first = jobs.forJob('job-1');
    expect(jobs.forJob('job-1')).toBe(first);
    const { db } = fakeCopies({ charge: { [chargeKey('A')]: 'event-a' }, spot: {}, metered: {} });
    await sourceEventsOf(db, [chargeChange('A', 31)], first);
    const second = jobs.forJob('job-2');
    expect(second).not.toBe(first);
    expect(second.size).toBe(0);
    // Back to the first job (another replica held the second): a fresh cache, not the one of before.
    expect(jobs.forJob('job-1')).not.toBe(first);
  });
});
