import type { PoolClient } from 'pg';
import type { Projection, ProjectedEvent } from '../projection/projection';
import { PROJECTION_SCHEMA } from '../projection/projection-state';

export const PORTAL_CHARGES_TABLE = `${PROJECTION_SCHEMA}.portal_charges`;
export const PORTAL_GRID_AREAS_TABLE = `${PROJECTION_SCHEMA}.portal_grid_areas`;
export const PORTAL_PRODUCTS_TABLE = `${PROJECTION_SCHEMA}.portal_products`;
export const PORTAL_RATE_NOTIFICATIONS_TABLE = `${PROJECTION_SCHEMA}.portal_rate_notifications`;

/** Energinet's GLN: its charges (system, transmission tariffs, subscription) apply to every metering point. */
export const ENERGINET_GLN = '5790000432752';

interface ChargeRow {
  validFrom: string;
  validTo: string | null;
  resolution: string;
  prices: string[];
}

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function rowsOf(value: unknown): ChargeRow[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((r: unknown) => {
    if (typeof r !== 'object' || r === null) return [];
    const o = r as Record<string, unknown>;
    const validFrom = text(o.validFrom);
    if (!validFrom) return [];
    return [{ validFrom, validTo: text(o.validTo), resolution: text(o.resolution) ?? '', prices: Array.isArray(o.prices) ? o.prices.filter((p): p is string => typeof p === 'string') : [] }];
  });
}

/** A row's prices from its start: closing a row (a new `validTo`) is not a price change, the row after it is. */
const rowKey = (r: ChargeRow): string => JSON.stringify([r.validFrom, r.resolution, r.prices]);

/**
 * Rate changes for the portal's notifications, from the rates context:
 *
 * - `ChargePricesPublished` (a new version of a charge's price list): the rows that are new or differ
 *   from the previous version become one notification, effective from the earliest such row. The
 *   first version of a charge is the baseline and notifies nobody. Energinet's charges are national
 *   (every customer); a grid company's charge reaches the customers of the grid areas that map to it
 *   (`GridAreaMapped`: tariff and subscription), resolved when the portal reads.
 * - `ProductDefined` for a product that already had a definition: a product price change for the
 *   customers on that product, effective from its `validFrom`.
 *
 * Which customers a notification reaches is decided at read time from the metering points read model
 * (grid area, product, supply start), so a customer who arrives later sees the changes effective in
 * their supply, and nothing here holds customer data. Unusual consumption is computed by the
 * consumption projection (`consumption_anomalies`).
 */
export const rateNotificationsProjection: Projection = {
  name: 'portal-rate-notifications',
  bindings: ['rates.charge-prices-published', 'rates.product-defined', 'rates.grid-area-mapped'],
  tables: [
    { name: PORTAL_CHARGES_TABLE, orderBy: 'charge_id' },
    { name: PORTAL_GRID_AREAS_TABLE, orderBy: 'grid_area' },
    { name: PORTAL_PRODUCTS_TABLE, orderBy: 'product_id, valid_from' },
    { name: PORTAL_RATE_NOTIFICATIONS_TABLE, orderBy: 'notification_id' },
  ],
  eventTypes: new Set(['ChargePricesPublished', 'GridAreaMapped', 'ProductDefined']),

  async migrate(client: PoolClient) {
    await client.query(`
      CREATE SCHEMA IF NOT EXISTS ${PROJECTION_SCHEMA};
      CREATE TABLE IF NOT EXISTS ${PORTAL_CHARGES_TABLE} (
        charge_id text PRIMARY KEY, owner text, gln text, charge_type text, description text, version int NOT NULL, rows jsonb NOT NULL);
      CREATE TABLE IF NOT EXISTS ${PORTAL_GRID_AREAS_TABLE} (
        grid_area text PRIMARY KEY, price_area text, grid_tariff_charge_id text, grid_subscription_charge_id text);
      CREATE TABLE IF NOT EXISTS ${PORTAL_PRODUCTS_TABLE} (
        product_id text NOT NULL, valid_from date NOT NULL, name text, margin_dkk_per_kwh numeric, monthly_subscription_dkk numeric,
        defined_at timestamptz NOT NULL, PRIMARY KEY (product_id, valid_from));
      ALTER TABLE ${PORTAL_PRODUCTS_TABLE} ADD COLUMN IF NOT EXISTS export_fee_dkk_per_kwh numeric;
      ALTER TABLE ${PORTAL_PRODUCTS_TABLE} ADD COLUMN IF NOT EXISTS valid_to date;
      ALTER TABLE ${PORTAL_PRODUCTS_TABLE} ADD COLUMN IF NOT EXISTS billing_frequencies jsonb;
      CREATE TABLE IF NOT EXISTS ${PORTAL_RATE_NOTIFICATIONS_TABLE} (
        notification_id text PRIMARY KEY, kind text NOT NULL, national boolean NOT NULL, charge_id text, product_id text,
        effective_from date NOT NULL, published_at timestamptz NOT NULL, title text NOT NULL, detail jsonb NOT NULL);
      CREATE INDEX IF NOT EXISTS portal_rate_notifications_charge ON ${PORTAL_RATE_NOTIFICATIONS_TABLE} (charge_id);
      CREATE INDEX IF NOT EXISTS portal_rate_notifications_product ON ${PORTAL_RATE_NOTIFICATIONS_TABLE} (product_id);`);
  },

  async apply(event: ProjectedEvent, client: PoolClient) {
    const d = event.data;
    switch (event.type) {
      case 'ChargePricesPublished': {
        const chargeId = text(d.chargeId);
        if (!chargeId) return;
        const rows = rowsOf(d.rows);
        const version = typeof d.version === 'number' ? d.version : 0;
        const previous = await client.query<{ version: number; rows: unknown }>(`SELECT version, rows FROM ${PORTAL_CHARGES_TABLE} WHERE charge_id = $1`, [chargeId]);
        await client.query(
          `INSERT INTO ${PORTAL_CHARGES_TABLE} (charge_id, owner, gln, charge_type, description, version, rows) VALUES ($1,$2,$3,$4,$5,$6,$7)
           ON CONFLICT (charge_id) DO UPDATE SET owner = EXCLUDED.owner, gln = EXCLUDED.gln, charge_type = EXCLUDED.charge_type,
             description = EXCLUDED.description, version = EXCLUDED.version, rows = EXCLUDED.rows`,
          [chargeId, text(d.owner), text(d.gln), text(d.chargeType), text(d.description), version, JSON.stringify(rows)],
        );
        const before = previous.rows[0];
        if (!before || before.version >= version) return;
        const known = new Set(rowsOf(before.rows).map(rowKey));
        const changed = rows.filter((r) => !known.has(rowKey(r))).sort((a, b) => (a.validFrom < b.validFrom ? -1 : a.validFrom > b.validFrom ? 1 : 0));
        if (changed.length === 0) return;
        const description = text(d.description) ?? chargeId;
        await client.query(
          `INSERT INTO ${PORTAL_RATE_NOTIFICATIONS_TABLE} (notification_id, kind, national, charge_id, product_id, effective_from, published_at, title, detail)
           VALUES ($1, 'charge-prices-changed', $2, $3, NULL, $4, $5, $6, $7) ON CONFLICT (notification_id) DO NOTHING`,
          [
            event.eventId,
            text(d.gln) === ENERGINET_GLN,
            chargeId,
            changed[0].validFrom,
            text(d.publishedAt) ?? event.recordedAt.toISOString(),
            `${description}: new prices from ${changed[0].validFrom}`,
            JSON.stringify({ charge_id: chargeId, owner: text(d.owner), charge_type: text(d.chargeType), description, version, changed_rows: changed.map((r) => ({ valid_from: r.validFrom, valid_to: r.validTo, resolution: r.resolution, prices_dkk_per_kwh: r.prices })) }),
          ],
        );
        return;
      }
      case 'GridAreaMapped': {
        const gridArea = text(d.gridArea);
        if (!gridArea) return;
        await client.query(
          `INSERT INTO ${PORTAL_GRID_AREAS_TABLE} (grid_area, price_area, grid_tariff_charge_id, grid_subscription_charge_id) VALUES ($1,$2,$3,$4)
           ON CONFLICT (grid_area) DO UPDATE SET price_area = EXCLUDED.price_area, grid_tariff_charge_id = EXCLUDED.grid_tariff_charge_id,
             grid_subscription_charge_id = EXCLUDED.grid_subscription_charge_id`,
          [gridArea, text(d.priceArea), text(d.gridTariffChargeId), text(d.gridSubscriptionChargeId)],
        );
        return;
      }
      case 'ProductDefined': {
        const productId = text(d.productId);
        const validFrom = text(d.validFrom);
        if (!productId || !validFrom) return;
        const earlier = await client.query(`SELECT 1 FROM ${PORTAL_PRODUCTS_TABLE} WHERE product_id = $1`, [productId]);
        await client.query(
          `INSERT INTO ${PORTAL_PRODUCTS_TABLE} (product_id, valid_from, name, margin_dkk_per_kwh, monthly_subscription_dkk, defined_at, export_fee_dkk_per_kwh, valid_to, billing_frequencies)
           VALUES ($1,$2,$3,$4::numeric,$5::numeric,$6,$7::numeric,$8::date,$9::jsonb)
           ON CONFLICT (product_id, valid_from) DO UPDATE SET name = EXCLUDED.name, margin_dkk_per_kwh = EXCLUDED.margin_dkk_per_kwh,
             monthly_subscription_dkk = EXCLUDED.monthly_subscription_dkk, defined_at = EXCLUDED.defined_at, export_fee_dkk_per_kwh = EXCLUDED.export_fee_dkk_per_kwh,
             valid_to = EXCLUDED.valid_to, billing_frequencies = EXCLUDED.billing_frequencies`,
          [
            productId,
            validFrom,
            text(d.name),
            text(d.marginDkkPerKwh),
            text(d.monthlySubscriptionDkk),
            event.recordedAt,
            text(d.exportFeeDkkPerKwh),
            text(d.validTo),
            Array.isArray(d.billingFrequencies) ? JSON.stringify(d.billingFrequencies) : null,
          ],
        );
        if (earlier.rowCount === 0) return;
        const name = text(d.name) ?? productId;
        await client.query(
          `INSERT INTO ${PORTAL_RATE_NOTIFICATIONS_TABLE} (notification_id, kind, national, charge_id, product_id, effective_from, published_at, title, detail)
           VALUES ($1, 'product-prices-changed', false, NULL, $2, $3, $4, $5, $6) ON CONFLICT (notification_id) DO NOTHING`,
          [
            event.eventId,
            productId,
            validFrom,
            event.recordedAt,
            `${name}: new prices from ${validFrom}`,
            JSON.stringify({ product_id: productId, name, margin_dkk_per_kwh: text(d.marginDkkPerKwh), monthly_subscription_dkk: text(d.monthlySubscriptionDkk) }),
          ],
        );
        return;
      }
      default:
        return;
    }
  },
};
