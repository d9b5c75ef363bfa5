import type { Client } from 'pg';
import { DAYS_IN_PERIOD, SUBSCRIPTIONS, TARIFFS, nanoToDecimal, type SettlementBenchData } from './settlement-data';

/**
 * The SQL baseline of the settlement benchmark: the same settlement as ONE query over plain tables
 * (quarter-hour quantities, quarter-hour spot prices, tariff prices by local hour of day, product
 * margin, monthly subscriptions), grouped per metering point and line, each line rounded once to øre
 * (`round(numeric, 2)` rounds half away from zero, like @dh/money).
 */

const DDL = `
  CREATE UNLOGGED TABLE metering_point (mp int PRIMARY KEY, gsrn text NOT NULL, days_supplied int NOT NULL);
  CREATE UNLOGGED TABLE metered (mp int NOT NULL, ts timestamptz NOT NULL, kwh numeric(12,3) NOT NULL);
  CREATE UNLOGGED TABLE spot_price (ts timestamptz PRIMARY KEY, price numeric NOT NULL);
  CREATE UNLOGGED TABLE tariff_hour (hour int PRIMARY KEY, grid numeric NOT NULL, system numeric NOT NULL, transmission numeric NOT NULL, tax numeric NOT NULL);
  CREATE UNLOGGED TABLE product (margin numeric NOT NULL);
  CREATE UNLOGGED TABLE subscription (line text PRIMARY KEY, monthly numeric NOT NULL);
`;

/** The settlement: energy Σ q × (spot + margin), four Σ q × tariff lines, three prorated subscriptions. */
export const SETTLEMENT_SQL = `
  WITH per_point AS (
    SELECT m.mp,
           sum(m.kwh * (s.price + p.margin)) AS energy,
           sum(m.kwh * t.grid)               AS grid,
           sum(m.kwh * t.system)             AS system,
           sum(m.kwh * t.transmission)       AS transmission,
           sum(m.kwh * t.tax)                AS tax
      FROM metered m
      JOIN spot_price s ON s.ts = m.ts
      JOIN tariff_hour t ON t.hour = extract(hour FROM m.ts AT TIME ZONE 'Europe/Copenhagen')::int
     CROSS JOIN product p
     GROUP BY m.mp
  )
  SELECT pp.mp, l.line, round(l.amount, 2)::text AS amount
    FROM per_point pp
   CROSS JOIN LATERAL (VALUES ('energy', pp.energy), ('grid-tariff', pp.grid), ('system-tariff', pp.system),
                              ('transmission-tariff', pp.transmission), ('electricity-tax', pp.tax)) AS l(line, amount)
  UNION ALL
  SELECT mp.mp, s.line || ':2026-10', round(s.monthly * mp.days_supplied / ${DAYS_IN_PERIOD}, 2)::text
    FROM metering_point mp CROSS JOIN subscription s
`;

/** Points per multi-row INSERT (unnest of one Wh array): ≈ 60,000 rows per statement. */
const POINTS_PER_INSERT = 20;

export async function loadSettlementTables(client: Client, data: SettlementBenchData): Promise<void> {
  await client.query(DDL);
  const n = data.quarters.length;
  const iso = data.quarters.map((q) => q.toISOString());
  await client.query('INSERT INTO spot_price (ts, price) SELECT * FROM unnest($1::timestamptz[], $2::numeric[])', [iso, data.spotNano.map(nanoToDecimal)]);
  const hours = Array.from({ length: 24 }, (_, h) => h);
  await client.query(
    'INSERT INTO tariff_hour (hour, grid, system, transmission, tax) SELECT h, g, $3::numeric, $4::numeric, $5::numeric FROM unnest($1::int[], $2::numeric[]) AS u(h, g)',
    [hours, [...TARIFFS.grid], TARIFFS.system, TARIFFS.transmission, TARIFFS.tax],
  );
  await client.query('INSERT INTO product (margin) VALUES ($1::numeric)', [TARIFFS.margin]);
  await client.query('INSERT INTO subscription (line, monthly) SELECT * FROM unnest($1::text[], $2::numeric[])', [Object.keys(SUBSCRIPTIONS), Object.values(SUBSCRIPTIONS)]);
  await client.query('INSERT INTO metering_point (mp, gsrn, days_supplied) SELECT p, g, $3::int FROM unnest($1::int[], $2::text[]) AS u(p, g)', [
    Array.from({ length: data.points }, (_, p) => p),
    data.gsrns,
    DAYS_IN_PERIOD,
  ]);
  // Quarter i starts at the period's first instant + i × 15 min: UTC quarter-hours are contiguous
  // (the 25-hour day is 100 of them), so only the quantities (Wh, exact) travel; kWh = Wh / 1000.
  const first = iso[0]!;
  data.quarters.forEach((q, i) => {
    if (q.getTime() !== data.quarters[0]!.getTime() + i * 900_000) throw new Error(`quarter ${i} is not contiguous: ${q.toISOString()}`);
  });
  for (let from = 0; from < data.points; from += POINTS_PER_INSERT) {
    const to = Math.min(data.points, from + POINTS_PER_INSERT);
    await client.query(
      `INSERT INTO metered (mp, ts, kwh)
       SELECT $1::int + (u.k - 1) / $4::int, $3::timestamptz + ((u.k - 1) % $4::int) * interval '15 minutes', (u.wh::numeric / 1000)::numeric(12,3)
         FROM unnest($2::int[]) WITH ORDINALITY AS u(wh, k)`,
      [from, Array.from(data.wh.subarray(from * n, to * n)), first, n],
    );
  }
  await client.query('VACUUM ANALYZE metered');
  await client.query('ANALYZE');
}

/** Line amounts (DKK, 2 decimals) per point and line key, from one run of {@link SETTLEMENT_SQL}. */
export type SqlLines = Map<number, Map<string, string>>;

export async function runSettlementSql(client: Client): Promise<{ rows: number; lines: SqlLines }> {
  const { rows } = await client.query<{ mp: number; line: string; amount: string }>(SETTLEMENT_SQL);
  const lines: SqlLines = new Map();
  for (const r of rows) {
    let m = lines.get(r.mp);
    if (m === undefined) lines.set(r.mp, (m = new Map()));
    m.set(r.line, r.amount);
  }
  return { rows: rows.length, lines };
}
