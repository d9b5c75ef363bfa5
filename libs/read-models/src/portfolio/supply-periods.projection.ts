import type { PoolClient } from 'pg';
import type { Projection, ProjectedEvent } from '../projection/projection';
import { applyInRounds } from '../projection/coalesce';
import { PROJECTION_SCHEMA } from '../projection/projection-state';

export const SUPPLY_PERIODS_TABLE = `${PROJECTION_SCHEMA}.supply_periods`;

/** The events `apply` handles. */
const SUPPLY_PERIOD_EVENTS = new Set(['SupplyStarted', 'SupplyEnded', 'SupplyReversed', 'ProductChanged', 'ProductionMeteringPointLinked']);
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * Every supply period we have had on a metering point, for CRM (`GET /api/customers/{id}/metering-points`,
 * `GET /api/portfolio/customers`): one row per `SupplyStarted` (keyed by the process that started it), its
 * end and reason from `SupplyEnded`, `reversed` after BRS-003, the product and billing terms it started with and its
 * product changes from a date (`ProductChanged`, `product_changes` in date order),
 * and the production metering point netted against it (own solar). The metering points table keeps only the
 * latest supply; this one keeps them all.
 */
export const supplyPeriodsProjection: Projection = {
  name: 'supply-periods',
  bindings: ['portfolio.#'],
  tables: [{ name: SUPPLY_PERIODS_TABLE, orderBy: 'supply_id' }],
  eventTypes: SUPPLY_PERIOD_EVENTS,

  async migrate(client: PoolClient) {
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${SUPPLY_PERIODS_TABLE} (
        supply_id text PRIMARY KEY,
        gsrn text NOT NULL,
        customer_id text NOT NULL,
        start_date date NOT NULL,
        end_date date,
        status text NOT NULL,
        end_reason text,
        product_id text,
        billing_frequency text,
        payment_model text,
        production_gsrn text,
        updated_at timestamptz NOT NULL
      );
      ALTER TABLE ${SUPPLY_PERIODS_TABLE} ADD COLUMN IF NOT EXISTS product_changes jsonb NOT NULL DEFAULT '[]'::jsonb;
      CREATE INDEX IF NOT EXISTS supply_periods_customer ON ${SUPPLY_PERIODS_TABLE} (customer_id, gsrn, start_date);
      CREATE INDEX IF NOT EXISTS supply_periods_gsrn ON ${SUPPLY_PERIODS_TABLE} (gsrn, start_date);`);
  },

  /**
   * `apply` per event in rounds of distinct metering points (and supply ids), the inserts of a round as one statement:
   * every event touches the periods of its `gsrn` only.
   */
  async applyBatch(events: readonly ProjectedEvent[], client: PoolClient) {
    await applyInRounds((event, tx) => this.apply(event, tx), events, client, (event) => {
      const gsrn = text(event.data.gsrn);
      if (gsrn === null || !SUPPLY_PERIOD_EVENTS.has(event.type)) return null;
      const supplyId = event.type === 'SupplyStarted' ? text(event.data.processId) : null;
      return supplyId === null ? [`gsrn:${gsrn}`] : [`gsrn:${gsrn}`, `supply:${supplyId}`];
    });
  },

  async apply(event: ProjectedEvent, client: PoolClient) {
    const d = event.data;
    const gsrn = text(d.gsrn);
    if (!gsrn) return;
    switch (event.type) {
      case 'SupplyStarted': {
        const supplyId = text(d.processId);
        const customerId = text(d.customerId);
        const startDate = text(d.startDate);
        // Every supply portfolio starts names its process, customer and date; an event without them cannot be a period here.
        if (supplyId === null || customerId === null || startDate === null) return;
        await client.query(
          `INSERT INTO ${SUPPLY_PERIODS_TABLE} (supply_id, gsrn, customer_id, start_date, status, product_id, billing_frequency, payment_model, production_gsrn, updated_at)
           VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9) ON CONFLICT (supply_id) DO NOTHING`,
          [supplyId, gsrn, customerId, startDate, text(d.productId), text(d.billingFrequency), text(d.paymentModel), text(d.productionGsrn), event.recordedAt],
        );
        return;
      }
      case 'SupplyEnded':
        // The ending process (move-out, BRS-002, a switch away) is not the one that started the supply: the open period of this customer on the point ends.
        await client.query(
          `UPDATE ${SUPPLY_PERIODS_TABLE} SET status = 'ended', end_date = $3, end_reason = $4, updated_at = $5
           WHERE gsrn = $1 AND customer_id = $2 AND status = 'active' AND start_date < $3`,
          [gsrn, text(d.customerId), text(d.endDate), text(d.reason), event.recordedAt],
        );
        return;
      case 'SupplyReversed':
        await client.query(
          `UPDATE ${SUPPLY_PERIODS_TABLE} SET status = 'reversed', end_date = start_date, end_reason = 'incorrect-switch', updated_at = $3 WHERE gsrn = $1 AND start_date = $2`,
          [gsrn, text(d.startDate), event.recordedAt],
        );
        return;
      case 'ProductChanged': {
        // The supply of this customer running on `from` changes product from that day (a change of the same day replaces the earlier one).
        const from = text(d.from);
        const productId = text(d.productId);
        if (from === null || productId === null) return;
        await client.query(
          `UPDATE ${SUPPLY_PERIODS_TABLE}
              SET product_changes = (SELECT jsonb_agg(x.c ORDER BY x.c->>'from')
                                       FROM (SELECT c FROM jsonb_array_elements(product_changes) c WHERE c->>'from' <> $3::text
                                             UNION ALL SELECT jsonb_build_object('product_id', $4::text, 'from', $3::text)) x(c)),
                  updated_at = $5
            WHERE gsrn = $1 AND customer_id = $2 AND status <> 'reversed' AND start_date <= $3::date AND (end_date IS NULL OR end_date > $3::date)`,
          [gsrn, text(d.customerId), from, productId, event.recordedAt],
        );
        return;
      }
      case 'ProductionMeteringPointLinked':
        await client.query(`UPDATE ${SUPPLY_PERIODS_TABLE} SET production_gsrn = $2, updated_at = $3 WHERE gsrn = $1 AND status = 'active'`, [gsrn, text(d.productionGsrn), event.recordedAt]);
        return;
      default:
        return;
    }
  },
};
