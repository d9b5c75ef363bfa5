import type { PoolClient } from 'pg';
import type { Period } from '@dh/dk-time';
import type { EventEnvelope } from '@dh/messaging';
import {
  CHARGE_INFORMATION_RECORDED,
  CHARGE_LINKS_RECORDED,
  CHARGE_PRICES_RECORDED,
  type ChargeInformationRecorded,
  type ChargeLinksRecorded,
  type ChargePricesRecorded,
  chargeInformationPeriods,
  linksInPeriod,
  pricesInPeriod,
  type ChargeInformation,
  type ChargeLinkInPeriod,
  type ChargePriceAt,
  type ChargePriceSeries,
  type ChargeType,
  type DataHubPriceResolution,
} from '@dh/rates-domain';

type Db = Pick<PoolClient, 'query'>;

/** Routing keys of the rates events a copy is built from. */
export const DATAHUB_CHARGE_COPY_BINDINGS = ['rates.charge-links-recorded', 'rates.charge-information-recorded', 'rates.charge-prices-recorded'] as const;

/** One linked charge with what prices it in a period. */
export interface ChargeInPeriod {
  chargeId: string;
  owner: string;
  chargeType: ChargeType;
  code: string;
  /** Master-data periods overlapping the period, clamped to it (empty: DataHub has not sent the charge's master data). */
  information: ChargeInformation[];
  /**
   * Every price in the period, one per interval of the charge's resolution (from its master data; from the
   * price series themselves when there is none), the latest series winning where several cover an interval.
   * An interval without a price is absent: the charge's price is missing there.
   */
  prices: ChargePriceAt[];
}

export interface MeteringPointCharges {
  gsrn: string;
  period: { start: string; end: string };
  /** Links overlapping the period, clamped to it, by charge and start. */
  links: ChargeLinkInPeriod[];
  /** The linked charges, by charge id. */
  charges: ChargeInPeriod[];
}

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/**
 * A service's own copy of the charge links and price lists rates records from DataHub (RSM-031/034),
 * in that service's schema, with the read API "for a metering point and a period, its links and the
 * price series". Built by the service's inbox consumer: `apply` inside the inbox transaction.
 */
export class DataHubChargeCopy {
  constructor(readonly schema: string) {
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`Invalid schema name ${JSON.stringify(schema)}`);
  }

  async migrate(db: Db): Promise<void> {
    const s = this.schema;
    await db.query(`
      CREATE SCHEMA IF NOT EXISTS ${s};
      CREATE TABLE IF NOT EXISTS ${s}.datahub_charge_links (
        gsrn text NOT NULL, charge_id text NOT NULL, link_from timestamptz NOT NULL, link_to timestamptz,
        owner text NOT NULL, charge_type text NOT NULL, code text NOT NULL, factor text NOT NULL, stream_revision bigint NOT NULL,
        PRIMARY KEY (gsrn, charge_id, link_from));
      CREATE TABLE IF NOT EXISTS ${s}.datahub_charge_information (
        charge_id text NOT NULL, valid_from timestamptz NOT NULL, valid_to timestamptz, owner text NOT NULL, charge_type text NOT NULL,
        code text NOT NULL, name text, description text, resolution text NOT NULL, tax_indicator boolean NOT NULL, vat_payer text,
        transparent_invoicing boolean NOT NULL, stream_revision bigint NOT NULL,
        PRIMARY KEY (charge_id, valid_from));
      CREATE TABLE IF NOT EXISTS ${s}.datahub_charge_price_series (
        charge_id text NOT NULL, stream_revision bigint NOT NULL, owner text NOT NULL, charge_type text NOT NULL, code text NOT NULL,
        resolution text NOT NULL, series_start timestamptz NOT NULL, series_end timestamptz NOT NULL, points jsonb NOT NULL,
        PRIMARY KEY (charge_id, stream_revision));`);
  }

  /** Stores one rates event (other event types are ignored). A redelivered older event never overwrites a newer one. */
  async apply(envelope: EventEnvelope, tx: Db): Promise<void> {
    const s = this.schema;
    const revision = envelope.streamRevision;
    switch (envelope.type) {
      case CHARGE_LINKS_RECORDED: {
        const d = envelope.data as unknown as ChargeLinksRecorded;
        for (const l of d.links) {
          await tx.query(
            `INSERT INTO ${s}.datahub_charge_links (gsrn, charge_id, link_from, link_to, owner, charge_type, code, factor, stream_revision) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
             ON CONFLICT (gsrn, charge_id, link_from) DO UPDATE SET link_to = EXCLUDED.link_to, factor = EXCLUDED.factor, stream_revision = EXCLUDED.stream_revision
             WHERE ${s}.datahub_charge_links.stream_revision < EXCLUDED.stream_revision`,
            [d.gsrn, l.chargeId, l.from, l.to, l.owner, l.chargeType, l.code, l.factor, revision],
          );
        }
        return;
      }
      case CHARGE_INFORMATION_RECORDED: {
        const d = envelope.data as unknown as ChargeInformationRecorded;
        await tx.query(
          `INSERT INTO ${s}.datahub_charge_information (charge_id, valid_from, valid_to, owner, charge_type, code, name, description, resolution, tax_indicator, vat_payer, transparent_invoicing, stream_revision)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)
           ON CONFLICT (charge_id, valid_from) DO UPDATE SET valid_to = EXCLUDED.valid_to, name = EXCLUDED.name, description = EXCLUDED.description, resolution = EXCLUDED.resolution,
             tax_indicator = EXCLUDED.tax_indicator, vat_payer = EXCLUDED.vat_payer, transparent_invoicing = EXCLUDED.transparent_invoicing, stream_revision = EXCLUDED.stream_revision
           WHERE ${s}.datahub_charge_information.stream_revision < EXCLUDED.stream_revision`,
          [d.chargeId, d.from, d.to, d.owner, d.chargeType, d.code, d.name, d.description, d.resolution, d.taxIndicator, d.vatPayer, d.transparentInvoicing, revision],
        );
        return;
      }
      case CHARGE_PRICES_RECORDED: {
        const d = envelope.data as unknown as ChargePricesRecorded;
        await tx.query(
          `INSERT INTO ${s}.datahub_charge_price_series (charge_id, stream_revision, owner, charge_type, code, resolution, series_start, series_end, points) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
           ON CONFLICT DO NOTHING`,
          [d.chargeId, revision, d.owner, d.chargeType, d.code, d.resolution, d.start, d.end, JSON.stringify(d.points)],
        );
        return;
      }
      default:
        return;
    }
  }

  /** The links of each metering point overlapping the period, clamped to it (a metering point without links is absent). */
  async linksOf(db: Db, gsrns: readonly string[], period: Period): Promise<Map<string, ChargeLinkInPeriod[]>> {
    const rows = await db.query<{ gsrn: string; charge_id: string; link_from: Date; link_to: Date | null; owner: string; charge_type: ChargeType; code: string; factor: string }>(
      `SELECT gsrn, charge_id, link_from, link_to, owner, charge_type, code, factor FROM ${this.schema}.datahub_charge_links
        WHERE gsrn = ANY($1) AND link_from < $3 AND (link_to IS NULL OR link_to > $2) ORDER BY gsrn, charge_id, link_from`,
      [gsrns, period.start, period.end],
    );
    const out = new Map<string, ChargeLinkInPeriod[]>();
    for (const r of rows.rows) {
      const [link] = linksInPeriod(
        [{ chargeId: r.charge_id, owner: r.owner, chargeType: r.charge_type, code: r.code, factor: r.factor, from: r.link_from.toISOString(), to: iso(r.link_to) }],
        period,
      );
      if (link !== undefined) out.set(r.gsrn, [...(out.get(r.gsrn) ?? []), link]);
    }
    return out;
  }

  /** Master data and every price in the period of each charge. */
  async chargesIn(db: Db, chargeIds: readonly string[], period: Period): Promise<Map<string, ChargeInPeriod>> {
    const info = await db.query<{
      charge_id: string;
      valid_from: Date;
      valid_to: Date | null;
      owner: string;
      charge_type: ChargeType;
      code: string;
      name: string | null;
      description: string | null;
      resolution: DataHubPriceResolution;
      tax_indicator: boolean;
      vat_payer: 'D01' | 'D02' | null;
      transparent_invoicing: boolean;
    }>(`SELECT * FROM ${this.schema}.datahub_charge_information WHERE charge_id = ANY($1) ORDER BY charge_id, valid_from`, [chargeIds]);
    const series = await db.query<{ charge_id: string; owner: string; charge_type: ChargeType; code: string; resolution: DataHubPriceResolution; series_start: Date; series_end: Date; points: ChargePriceSeries['points'] }>(
      `SELECT charge_id, owner, charge_type, code, resolution, series_start, series_end, points FROM ${this.schema}.datahub_charge_price_series
        WHERE charge_id = ANY($1) AND series_start < $3 AND series_end > $2 ORDER BY charge_id, stream_revision`,
      [chargeIds, period.start, period.end],
    );
    // Every asked charge is in the answer, even one DataHub has sent nothing about: its prices are then missing.
    const out = new Map<string, ChargeInPeriod>();
    for (const id of chargeIds) {
      const key = /^([^:]+):(D01|D02|D03):(.+)$/.exec(id);
      if (key !== null) out.set(id, { chargeId: id, owner: key[1]!, chargeType: key[2] as ChargeType, code: key[3]!, information: [], prices: [] });
    }
    const charge = (id: string, owner: string, chargeType: ChargeType, code: string): ChargeInPeriod => {
      let c = out.get(id);
      if (c === undefined) out.set(id, (c = { chargeId: id, owner, chargeType, code, information: [], prices: [] }));
      return c;
    };
    const infoByCharge = new Map<string, ChargeInformation[]>();
    for (const r of info.rows) {
      const item: ChargeInformation = {
        chargeId: r.charge_id,
        owner: r.owner,
        chargeType: r.charge_type,
        code: r.code,
        name: r.name,
        description: r.description,
        resolution: r.resolution,
        taxIndicator: r.tax_indicator,
        vatPayer: r.vat_payer,
        transparentInvoicing: r.transparent_invoicing,
        from: r.valid_from.toISOString(),
        to: iso(r.valid_to),
      };
      infoByCharge.set(r.charge_id, [...(infoByCharge.get(r.charge_id) ?? []), item]);
    }
    const seriesByCharge = new Map<string, ChargePriceSeries[]>();
    for (const r of series.rows) {
      charge(r.charge_id, r.owner, r.charge_type, r.code);
      seriesByCharge.set(r.charge_id, [...(seriesByCharge.get(r.charge_id) ?? []), { resolution: r.resolution, start: r.series_start.toISOString(), end: r.series_end.toISOString(), points: r.points }]);
    }
    for (const [id, periods] of infoByCharge) {
      const inForce = chargeInformationPeriods(periods)
        .map((p) => ({ ...p, from: new Date(Math.max(Date.parse(p.from), period.start.getTime())).toISOString(), to: new Date(Math.min(p.to === null ? period.end.getTime() : Date.parse(p.to), period.end.getTime())).toISOString() }))
        .filter((p) => Date.parse(p.from) < Date.parse(p.to));
      if (inForce.length > 0) charge(id, inForce[0]!.owner, inForce[0]!.chargeType, inForce[0]!.code).information = inForce;
    }
    for (const c of out.values()) {
      const list = seriesByCharge.get(c.chargeId) ?? [];
      const spans: { resolution: DataHubPriceResolution; period: Period }[] =
        c.information.length > 0
          ? c.information.map((p) => ({ resolution: p.resolution, period: { start: new Date(p.from), end: new Date(p.to!) } }))
          : [...new Set(list.map((s) => s.resolution))].map((resolution) => ({ resolution, period }));
      c.prices = spans.flatMap((span) => pricesInPeriod(list, span.resolution, span.period)).sort((a, b) => a.time.localeCompare(b.time));
    }
    return out;
  }

  /** The read API: a metering point's charge links in a period and, for each linked charge, its master data and prices. */
  async chargesOfMeteringPoint(db: Db, gsrn: string, period: Period): Promise<MeteringPointCharges> {
    const links = (await this.linksOf(db, [gsrn], period)).get(gsrn) ?? [];
    const charges = await this.chargesIn(db, [...new Set(links.map((l) => l.chargeId))], period);
    return {
      gsrn,
      period: { start: period.start.toISOString(), end: period.end.toISOString() },
      links,
      charges: [...charges.values()].sort((a, b) => a.chargeId.localeCompare(b.chargeId)),
    };
  }
}
