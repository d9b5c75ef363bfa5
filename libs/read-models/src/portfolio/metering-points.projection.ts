import type { PoolClient } from 'pg';
import type { Projection, ProjectedEvent } from '../projection/projection';
import { applyInRounds } from '../projection/coalesce';
import { PROJECTION_SCHEMA } from '../projection/projection-state';

export const METERING_POINTS_TABLE = `${PROJECTION_SCHEMA}.metering_points`;

/** The events `apply` handles, each on the row of its `gsrn` only. */
const METERING_POINT_EVENTS = new Set(['MeteringPointRegistered', 'MasterDataUpdated', 'SupplyStarted', 'SupplyEnded', 'SupplyReversed']);
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** Metering points we know, their master data and our supply on them. */
export const meteringPointsProjection: Projection = {
  name: 'metering-points',
  bindings: ['portfolio.#'],
  tables: [{ name: METERING_POINTS_TABLE, orderBy: 'gsrn' }],
  eventTypes: METERING_POINT_EVENTS,

  async migrate(client: PoolClient) {
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${METERING_POINTS_TABLE} (
        gsrn text PRIMARY KEY,
        type text,
        settlement_method text,
        grid_area text,
        price_area text,
        customer_id uuid,
        supply_status text NOT NULL DEFAULT 'none',
        supply_start date,
        supply_end date,
        product_id text,
        billing_frequency text,
        payment_model text,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX IF NOT EXISTS metering_points_customer ON ${METERING_POINTS_TABLE} (customer_id);`);
  },

  /** `apply` per event in rounds of distinct metering points, the upserts of a round as one statement. */
  async applyBatch(events: readonly ProjectedEvent[], client: PoolClient) {
    await applyInRounds((event, tx) => this.apply(event, tx), events, client, (event) => {
      const gsrn = text(event.data.gsrn);
      return gsrn !== null && METERING_POINT_EVENTS.has(event.type) ? [gsrn] : null;
    });
  },

  async apply(event: ProjectedEvent, client: PoolClient) {
    const d = event.data;
    const gsrn = text(d.gsrn);
    if (!gsrn) return;
    switch (event.type) {
      case 'MeteringPointRegistered':
      case 'MasterDataUpdated':
        await client.query(
          `INSERT INTO ${METERING_POINTS_TABLE} (gsrn, type, settlement_method, grid_area, price_area, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (gsrn) DO UPDATE SET type = EXCLUDED.type, settlement_method = EXCLUDED.settlement_method, grid_area = EXCLUDED.grid_area,
             price_area = EXCLUDED.price_area, updated_at = EXCLUDED.updated_at`,
          [gsrn, text(d.type), text(d.settlementMethod), text(d.gridArea), text(d.priceArea), event.recordedAt],
        );
        return;
      case 'SupplyStarted':
        await client.query(
          `INSERT INTO ${METERING_POINTS_TABLE} (gsrn, customer_id, supply_status, supply_start, supply_end, product_id, billing_frequency, payment_model, updated_at)
           VALUES ($1, $2, 'active', $3, NULL, $4, $5, $6, $7)
           ON CONFLICT (gsrn) DO UPDATE SET customer_id = EXCLUDED.customer_id, supply_status = 'active', supply_start = EXCLUDED.supply_start, supply_end = NULL,
             product_id = EXCLUDED.product_id, billing_frequency = EXCLUDED.billing_frequency, payment_model = EXCLUDED.payment_model, updated_at = EXCLUDED.updated_at`,
          [gsrn, text(d.customerId), text(d.startDate), text(d.productId), text(d.billingFrequency), text(d.paymentModel), event.recordedAt],
        );
        return;
      case 'SupplyEnded':
        await client.query(`UPDATE ${METERING_POINTS_TABLE} SET supply_status = 'ended', supply_end = $2, updated_at = $3 WHERE gsrn = $1`, [gsrn, text(d.endDate), event.recordedAt]);
        return;
      case 'SupplyReversed':
        await client.query(`UPDATE ${METERING_POINTS_TABLE} SET supply_status = 'reversed', supply_end = supply_start, updated_at = $2 WHERE gsrn = $1`, [gsrn, event.recordedAt]);
        return;
      default:
        return;
    }
  },
};
