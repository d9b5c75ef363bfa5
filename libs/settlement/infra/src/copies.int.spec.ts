import { Pool } from 'pg';
import { meteredPointsOf, type MeteredDayRecord } from '@dh/settlement-application';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { randomUUID } from 'node:crypto';
import { loadCopies, loadCopiesOf, loadSharedPriceCopies, lookupMeteredStreams, recordMeteredBatch } from './copies';
import { migrateSettlement } from './schema';

jest.setTimeout(60_000);

/**
 * A run's worker reads the copies of a batch of work items with one query per table (`loadCopiesOf`, issue 8):
 * each metering point must get exactly what `loadCopies` gives it alone, whatever else is in the batch; packed
 * days (integer Wh) read as the same points as before and keep their packed values for the kernel.
 */
describe('settlement copies of a batch of metering points', () => {
  const PERIOD = { kind: 'month', year: 2026, month: 10 } as const;
  const A = '571313180400000011'; // packed days, electric heating, a production point
  const B = '571313180400000028'; // v1 days (points as jsonb, kWh strings), a product change
  const C = '571313180400000035'; // nothing metered
  const P = '571313180400000042'; // A's production point
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase('settlement_copies');
    pool = new Pool({ connectionString: db.url });
    await migrateSettlement(pool);
    await pool.query(
      `INSERT INTO settlement.supplies (gsrn, start_date, customer_id, end_date, product_id, electric_heating, grid_area, production_gsrn, billing_frequency, payment_model)
       VALUES ($1, '2026-01-01', 'ca', NULL, 'spot', true, '791', $4, 'monthly', 'actual'),
              ($2, '2026-10-10', 'cb2', NULL, 'spot', false, '791', NULL, 'monthly', 'actual'),
              ($2, '2026-01-01', 'cb', '2026-10-10', 'spot', false, '791', NULL, 'monthly', 'actual'),
              ($3, '2026-01-01', 'cc', NULL, 'spot', false, '791', NULL, 'monthly', 'actual')`,
      [A, B, C, P],
    );
    await pool.query(`INSERT INTO settlement.product_changes (gsrn, valid_from, product_id) VALUES ($1, '2026-10-20', 'fixed')`, [B]);
    await pool.query(`INSERT INTO settlement.electric_heating_changes (gsrn, valid_from, electric_heating) VALUES ($1, '2026-03-01', true)`, [A]);
    const packed = (gsrn: string, day: string, start: string, version: number, wh: string, qualities: string, receivedAt = '2026-11-02T08:00:00Z') =>
      pool.query(
        `INSERT INTO settlement.metered_data (gsrn, day, version, document_id, received_at, resolution, start, first_position, wh, qualities, event_id)
         VALUES ($1, $2, $3, 'doc', $7, 'PT1H', $4, 1, $5::int[], $6::jsonb, gen_random_uuid())`,
        [gsrn, day, version, start, wh, qualities, receivedAt],
      );
    await packed(A, '2026-10-01', '2026-09-30T22:00:00Z', 1, '{100,200,300}', '[["A04",3]]');
    await packed(A, '2026-10-01', '2026-09-30T22:00:00Z', 2, '{1500,NULL,2}', '[[null,1],["A02",1],["A03",1]]');
    await packed(A, '2026-10-02', '2026-10-01T22:00:00Z', 1, '{7}', '[["A04",1]]', '2026-11-02T08:00:00.123456Z');
    await packed(A, '2026-09-30', '2026-09-29T22:00:00Z', 1, '{9}', '[["A04",1]]');
    await packed(P, '2026-10-01', '2026-09-30T22:00:00Z', 1, '{50}', '[["A04",1]]');
    await pool.query(
      `INSERT INTO settlement.metered_data (gsrn, day, version, document_id, received_at, resolution, start, points, event_id)
       VALUES ($1, '2026-10-01', 1, 'doc', '2026-11-02T08:00:00Z', 'PT1H', '2026-09-30T22:00:00Z', $2::jsonb, gen_random_uuid())`,
      [B, JSON.stringify([{ position: 1, quantityKwh: '0.25', quality: 'A04' }])],
    );
  });

  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  const pointsOf = (days: readonly MeteredDayRecord[]) => days.map((d) => ({ day: d.day, version: d.version, points: d.points }));

  it('gives each point of a batch what loadCopies gives it alone', async () => {
    const shared = await loadSharedPriceCopies(pool, PERIOD);
    const batch = await loadCopiesOf(pool, [C, A, B, A], PERIOD, shared);
    expect([...batch.keys()].sort()).toEqual([A, B, C]);
    for (const g of [A, B, C]) expect({ g, copies: batch.get(g) }).toEqual({ g, copies: await loadCopies(pool, g, PERIOD, { shared }) });
  });

  it('reads the latest version of each day, packed or not, as the same points; packed days keep their Wh for the kernel', async () => {
    const shared = await loadSharedPriceCopies(pool, PERIOD);
    const batch = await loadCopiesOf(pool, [A, B, C], PERIOD, shared);
    const a = batch.get(A)!;
    expect(pointsOf(a.consumption)).toEqual([
      {
        day: '2026-10-01',
        version: 2,
        points: [
          { position: 1, quantityKwh: '1.500', quality: 'A04' },
          { position: 2, quantityKwh: null, quality: 'A02' },
          { position: 3, quantityKwh: '0.002', quality: 'A03' },
        ],
      },
      { day: '2026-10-02', version: 1, points: [{ position: 1, quantityKwh: '0.007', quality: 'A04' }] },
    ]);
    expect(a.consumption[0]!.packed).toEqual({ firstPosition: 1, wh: [1500, null, 2], qualities: [[null, 1], ['A02', 1], ['A03', 1]] });
    // Instants as node-postgres gives them (each distinct text parsed once per query, a Date of its own per day).
    expect(a.consumption.map((d) => [d.start.toISOString(), d.receivedAt?.toISOString(), d.documentId])).toEqual([
      ['2026-09-30T22:00:00.000Z', '2026-11-02T08:00:00.000Z', 'doc'],
      ['2026-10-01T22:00:00.000Z', '2026-11-02T08:00:00.123Z', 'doc'],
    ]);
    expect(a.production[0]!.start).not.toBe(a.consumption[0]!.start);
    expect(meteredPointsOf(a.consumption[0]!.packed!)).toEqual(a.consumption[0]!.points);
    // Electric heating: the year before the period; the production point's days beside it.
    expect(pointsOf(a.consumptionBeforePeriod!)).toEqual([{ day: '2026-09-30', version: 1, points: [{ position: 1, quantityKwh: '0.009', quality: 'A04' }] }]);
    expect(a.production.map((d) => [d.gsrn, d.day])).toEqual([[P, '2026-10-01']]);
    expect(a.electricHeatingChanges).toEqual([{ gsrn: A, from: '2026-03-01', electricHeating: true }]);
    const b = batch.get(B)!;
    expect(pointsOf(b.consumption)).toEqual([{ day: '2026-10-01', version: 1, points: [{ position: 1, quantityKwh: '0.25', quality: 'A04' }] }]);
    expect(b.consumption[0]!.packed).toBeUndefined();
    expect(b.supplies.map((s) => [s.customerId, s.startDate])).toEqual([
      ['cb', '2026-01-01'],
      ['cb2', '2026-10-10'],
    ]);
    expect(b.productChanges).toEqual([{ gsrn: B, from: '2026-10-20', productId: 'fixed' }]);
    expect([b.production, b.consumptionBeforePeriod, batch.get(C)!.consumption]).toEqual([[], [], []]);
  });
  it("the metered-data consumer's bookkeeping: known streams with their asked days in one query, days and revisions written in one statement", async () => {
    const D = '571313180400000059';
    const E = '571313180400000066';
    expect(await lookupMeteredStreams(pool, [{ gsrn: A, days: ['2026-10-01'] }])).toEqual(new Map());
    const day = (gsrn: string, d: string, version: number) => ({
      eventId: randomUUID(),
      data: {
        gsrn,
        day: d,
        version,
        documentId: `doc-${d}-${version}`,
        receivedAt: '2026-11-02T08:00:00Z',
        resolution: 'PT1H' as const,
        start: '2026-10-04T22:00:00Z',
        end: '2026-10-05T22:00:00Z',
        firstPosition: 1,
        wh: [1, 2, null],
        qualities: [['A04', 2], ['A02', 1]] as [string, number][],
      },
    });
    await recordMeteredBatch(pool, [day(D, '2026-10-05', 1), day(D, '2026-10-05', 2)], new Map([[A, { revision: 3n }], [D, { revision: 1n }]]));
    const { rows } = await pool.query<{ version: number; wh: (number | null)[] }>(`SELECT version, wh FROM settlement.metered_data WHERE gsrn = $1 ORDER BY version`, [D]);
    expect(rows).toEqual([{ version: 1, wh: [1, 2, null] }, { version: 2, wh: [1, 2, null] }]);

    const known = await lookupMeteredStreams(pool, [
      { gsrn: A, days: ['2026-10-01', '2026-10-03'] },
      { gsrn: D, days: ['2026-10-06'] },
      { gsrn: B, days: ['2026-10-01'] },
    ]);
    // A: its revision and the asked day that has data (both versions' documents); D: known, none of the asked days; B: not known.
    expect([...known.keys()].sort()).toEqual([A, D].sort());
    expect(known.get(A)?.revision).toBe(3n);
    expect([...(known.get(A)?.days.entries() ?? [])]).toEqual([['2026-10-01', { version: 2, documentIds: ['doc', 'doc'] }]]);
    expect(known.get(D)).toEqual({ revision: 1n, days: new Map() });
    expect((await lookupMeteredStreams(pool, [{ gsrn: D, days: ['2026-10-05'] }])).get(D)?.days.get('2026-10-05')?.version).toBe(2);

    // Without days (a batch of duplicates) only the revisions move; without streams only the days are written.
    await recordMeteredBatch(pool, [], new Map([[D, { revision: 2n }]]));
    await recordMeteredBatch(pool, [day(E, '2026-10-05', 1)], new Map());
    expect((await lookupMeteredStreams(pool, [{ gsrn: D, days: [] }, { gsrn: E, days: ['2026-10-05'] }])).get(D)?.revision).toBe(2n);
    expect((await pool.query(`SELECT 1 FROM settlement.metered_data WHERE gsrn = $1`, [E])).rowCount).toBe(1);
  });
});
