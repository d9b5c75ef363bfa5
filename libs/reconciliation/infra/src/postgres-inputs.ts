import type { Pool } from 'pg';
import { unpackPoints } from '@dh/cim';
import { localDateOf, localDayStart, type Period } from '@dh/dk-time';
import { toScaled } from '@dh/money';
import {
  resultSet,
  toEnergySeries,
  toWholesaleSeries,
  type OurMeteringPoint,
  type OurSeries,
  type ReconciliationInputs,
  type StoredResultSeries,
  type VersionChange,
} from '@dh/reconciliation-application';
import { Q_ESTIMATED, Q_MEASURED, Q_MISSING, isMeteringPointTypeCode, type SettlementMethodCode } from '@dh/reconciliation-domain';
import { chargeCopy } from './schema';

interface StoredPoint {
  position: number;
  quantityKwh: string | null;
  quality: string;
}

/** A `settlement.metered_data` row's values: integer Wh (`wh` from `first_position`, issue 8) or, before, `points`. */
interface StoredValues {
  points: StoredPoint[] | null;
  first_position: number | null;
  wh: (number | null)[] | null;
  qualities: [string, number][] | null;
}

const STORED_VALUES = 'points, first_position, wh, qualities';

function storedPointsOf(r: StoredValues): StoredPoint[] {
  if (r.points) return r.points;
  if (r.first_position === null || r.wh === null || r.qualities === null) return [];
  return unpackPoints({ firstPosition: r.first_position, wh: r.wh, qualities: r.qualities }).map((p) => ({ position: p.position, quantityKwh: p.quantity, quality: p.quality ?? 'A04' }));
}

/** DataHub's quality codes as the calculation's quality bits (A04 or none measured, A03 estimated, A02 missing). */
const QUALITY: Readonly<Record<string, number>> = { A04: Q_MEASURED, A03: Q_ESTIMATED, A02: Q_MISSING, A05: Q_ESTIMATED, A06: Q_MEASURED, A01: Q_MEASURED };

/**
 * The reconciliation service's inputs in PostgreSQL: its own copies (schema `reconciliation`: metering points,
 * supplies, DataHub's results, invoice lines, charge links and price lists) and the metered data store of the
 * settlement service (`settlement.metered_data`, read only). The metered data store is settlement's: this adapter is
 * the one place that knows its layout, behind the `meteredData`/`versionChanges` port, so that a new storage
 * (integer Wh rows) changes only this file.
 */
export class PostgresReconciliationInputs implements ReconciliationInputs {
  constructor(private readonly pool: Pool) {}

  async ourMeteringPoints(gridArea: string, period: Period): Promise<OurMeteringPoint[]> {
    const from = localDateOf(period.start);
    const to = localDateOf(period.end);
    const rows = await this.pool.query<{ gsrn: string; type: string; settlement_method: string | null; start_date: string; end_date: string | null }>(
      `SELECT s.gsrn, m.type, m.settlement_method, s.start_date, s.end_date
         FROM reconciliation.supplies s JOIN reconciliation.metering_points m ON m.gsrn = s.gsrn
        WHERE coalesce(s.grid_area, m.grid_area) = $1 AND NOT s.reversed AND s.start_date < $3 AND (s.end_date IS NULL OR s.end_date > $2)
        ORDER BY s.gsrn, s.start_date`,
      [gridArea, from, to],
    );
    const out = new Map<string, OurMeteringPoint & { spans: { from: number; to: number }[] }>();
    for (const r of rows.rows) {
      if (!isMeteringPointTypeCode(r.type)) continue;
      const start = Math.max(localDayStart(r.start_date).getTime(), period.start.getTime());
      const end = Math.min(r.end_date === null ? period.end.getTime() : localDayStart(r.end_date).getTime(), period.end.getTime());
      if (start >= end) continue;
      const mp = out.get(r.gsrn) ?? { gsrn: r.gsrn, type: r.type, settlementMethod: (r.settlement_method ?? null) as SettlementMethodCode | null, spans: [] };
      mp.spans.push({ from: start, to: end });
      out.set(r.gsrn, mp);
    }
    return [...out.values()];
  }

  async meteringPointsWithDataNotSupplied(period: Period): Promise<string[]> {
    const rows = await this.pool.query<{ gsrn: string }>(
      `SELECT DISTINCT d.gsrn FROM settlement.metered_data d
        WHERE d.day >= $1 AND d.day < $2
          AND NOT EXISTS (SELECT 1 FROM reconciliation.supplies s WHERE s.gsrn = d.gsrn AND NOT s.reversed AND s.start_date < $2 AND (s.end_date IS NULL OR s.end_date > $1))`,
      [localDateOf(period.start), localDateOf(period.end)],
    );
    return rows.rows.map((r) => r.gsrn);
  }

  links(gsrns: readonly string[], period: Period) {
    return chargeCopy.linksOf(this.pool, gsrns, period);
  }

  async linkedChargeIds(gsrns: readonly string[], period: Period): Promise<string[]> {
    const rows = await this.pool.query<{ charge_id: string }>(
      `SELECT DISTINCT charge_id FROM reconciliation.datahub_charge_links WHERE gsrn = ANY($1) AND link_from < $3 AND (link_to IS NULL OR link_to > $2)`,
      [gsrns, period.start, period.end],
    );
    return rows.rows.map((r) => r.charge_id);
  }

  charges(chargeIds: readonly string[], period: Period) {
    return chargeCopy.chargesIn(this.pool, chargeIds, period);
  }

  /** The latest version of each day, as a series dense over the period at the point's resolution. */
  async meteredData(gsrns: readonly string[], period: Period): Promise<OurSeries[]> {
    if (gsrns.length === 0) return [];
    const rows = await this.pool.query<{ gsrn: string; resolution: 'PT15M' | 'PT1H'; start: Date } & StoredValues>(
      `SELECT DISTINCT ON (gsrn, day) gsrn, resolution, start, ${STORED_VALUES} FROM settlement.metered_data
        WHERE gsrn = ANY($1) AND day >= $2 AND day < $3 ORDER BY gsrn, day, version DESC`,
      [gsrns, localDateOf(period.start), localDateOf(period.end)],
    );
    const out = new Map<string, { resolution: 'PT15M' | 'PT1H'; quantities: Float64Array; qualities: Uint8Array; days: number }>();
    const span = period.end.getTime() - period.start.getTime();
    for (const r of rows.rows) {
      const step = r.resolution === 'PT15M' ? 900_000 : 3_600_000;
      let s = out.get(r.gsrn);
      if (s === undefined) out.set(r.gsrn, (s = { resolution: r.resolution, quantities: new Float64Array(span / step), qualities: new Uint8Array(span / step), days: 0 }));
      if (s.resolution !== r.resolution) continue; // a change of resolution inside a month is not settled here
      s.days++;
      const first = (r.start.getTime() - period.start.getTime()) / step;
      for (const p of storedPointsOf(r)) {
        const i = first + p.position - 1;
        if (i < 0 || i >= s.quantities.length) continue;
        s.quantities[i] = p.quantityKwh === null ? 0 : Number(toScaled(p.quantityKwh, 3));
        s.qualities[i] = p.quantityKwh === null ? 0 : (QUALITY[p.quality] ?? Q_MEASURED);
      }
    }
    return [...out.entries()].map(([gsrn, s]) => ({ gsrn, series: { resolution: s.resolution, quantities: s.quantities, qualities: s.qualities }, days: s.days }));
  }

  async versionChanges(gsrns: readonly string[], period: Period, after: Date): Promise<VersionChange[]> {
    if (gsrns.length === 0) return [];
    const rows = await this.pool.query<{ gsrn: string; day: string; version: number; received_at: Date; resolution: 'PT15M' | 'PT1H'; start: Date } & StoredValues>(
      `WITH late AS (
         SELECT gsrn, day, max(version) AS version FROM settlement.metered_data
          WHERE gsrn = ANY($1) AND day >= $2 AND day < $3 AND received_at > $4 AND version > 1 GROUP BY gsrn, day)
       SELECT d.gsrn, d.day, d.version, d.received_at, d.resolution, d.start, d.points, d.first_position, d.wh, d.qualities FROM settlement.metered_data d JOIN late l USING (gsrn, day)
        WHERE d.version = l.version OR d.version = (SELECT max(version) FROM settlement.metered_data p WHERE p.gsrn = d.gsrn AND p.day = d.day AND p.received_at <= $4)
        ORDER BY d.gsrn, d.day, d.version`,
      [gsrns, localDateOf(period.start), localDateOf(period.end), after],
    );
    const out: VersionChange[] = [];
    const slots = (r: (typeof rows.rows)[number]) => {
      const step = r.resolution === 'PT15M' ? 900_000 : 3_600_000;
      return new Map(storedPointsOf(r).map((p) => [r.start.getTime() + (p.position - 1) * step, p.quantityKwh === null ? 0n : toScaled(p.quantityKwh, 3)] as const));
    };
    for (let i = 0; i + 1 < rows.rows.length; i++) {
      const a = rows.rows[i]!;
      const b = rows.rows[i + 1]!;
      if (a.gsrn !== b.gsrn || a.day !== b.day) continue;
      out.push({ gsrn: a.gsrn, day: a.day, previous: slots(a), latest: slots(b), resolution: b.resolution, receivedAt: b.received_at.toISOString() });
    }
    return out;
  }

  private async results(gridArea: string, period: string, kind: 'energy' | 'wholesale'): Promise<StoredResultSeries[]> {
    const rows = await this.pool.query<{ business_reason: string; settlement_version: string | null; calculation_version: number | null; received_at: Date; data: StoredResultSeries['data'] }>(
      `SELECT business_reason, settlement_version, calculation_version, received_at, data FROM reconciliation.datahub_results WHERE grid_area = $1 AND period = $2 AND kind = $3`,
      [gridArea, period, kind],
    );
    return rows.rows.map((r) => ({ version: { businessReason: r.business_reason, settlementVersion: r.settlement_version, calculationVersion: r.calculation_version }, receivedAt: r.received_at, data: r.data }));
  }

  async datahubEnergy(gridArea: string, period: string) {
    return resultSet(await this.results(gridArea, period, 'energy'), toEnergySeries);
  }

  async datahubWholesale(gridArea: string, period: string) {
    return resultSet(await this.results(gridArea, period, 'wholesale'), toWholesaleSeries);
  }

  async invoiced(gridArea: string, period: Period) {
    const rows = await this.pool.query<{ charge_id: string; lines: string; amount: string }>(
      `SELECT charge_id, count(*)::text AS lines, sum(amount_ore)::text AS amount FROM reconciliation.invoice_lines
        WHERE grid_area = $1 AND charge_id IS NOT NULL AND period_from >= $2 AND period_from < $3 GROUP BY charge_id ORDER BY charge_id`,
      [gridArea, localDateOf(period.start), localDateOf(period.end)],
    );
    return rows.rows.map((r) => ({ chargeId: r.charge_id, lines: Number(r.lines), amountOre: BigInt(r.amount) }));
  }
}
