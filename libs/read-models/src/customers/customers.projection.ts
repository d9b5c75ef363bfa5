import type { PoolClient } from 'pg';
import { PORTFOLIO_EVENT_SCHEMAS } from '@dh/portfolio-application';
import type { Projection, ProjectedEvent } from '../projection/projection';
import { applyInRounds } from '../projection/coalesce';
import { PROJECTION_SCHEMA } from '../projection/projection-state';

export const CUSTOMERS_TABLE = `${PROJECTION_SCHEMA}.customers`;

/** The events `apply` handles, each on the row of its `customerId` only. */
const CUSTOMER_EVENTS = new Set(['CustomerCreated', 'CustomerPersonalDataChanged', 'CustomerIdentityCompleted', 'CustomerActivated', 'CustomerOffboarded']);

/** Customers as the gateway serves them. Personal data stays sealed here, exactly as in the event. */
export const customersProjection: Projection = {
  name: 'customers',
  bindings: ['portfolio.#', 'customer.#'],
  tables: [{ name: CUSTOMERS_TABLE, orderBy: 'customer_id' }],
  // CustomerCreated v1 carried a keyed hash of the CPR; v2 does not, and this read model keeps none.
  schemas: PORTFOLIO_EVENT_SCHEMAS,
  eventTypes: CUSTOMER_EVENTS,

  async migrate(client: PoolClient) {
    await client.query(`
      CREATE SCHEMA IF NOT EXISTS ${PROJECTION_SCHEMA};
      CREATE TABLE IF NOT EXISTS ${CUSTOMERS_TABLE} (
        customer_id uuid PRIMARY KEY,
        customer_type text NOT NULL,
        personal_data text NOT NULL,
        status text NOT NULL,
        stream_revision bigint NOT NULL,
        created_at timestamptz NOT NULL
      );
      DROP INDEX IF EXISTS ${PROJECTION_SCHEMA}.customers_identity_index;
      ALTER TABLE ${CUSTOMERS_TABLE} DROP COLUMN IF EXISTS identity_index;`);
  },

  /** `apply` per event in rounds of distinct customers, the inserts of a round as one statement. */
  async applyBatch(events: readonly ProjectedEvent[], client: PoolClient) {
    await applyInRounds((event, tx) => this.apply(event, tx), events, client, (event) => (CUSTOMER_EVENTS.has(event.type) ? [String(event.data.customerId)] : null));
  },

  async apply(event: ProjectedEvent, client: PoolClient) {
    switch (event.type) {
      case 'CustomerCreated': {
        const data = event.data as { customerId: string; customerType: string; personalData: string };
        await client.query(
          `INSERT INTO ${CUSTOMERS_TABLE} (customer_id, customer_type, personal_data, status, stream_revision, created_at)
           VALUES ($1, $2, $3, 'created', $4, $5) ON CONFLICT (customer_id) DO NOTHING`,
          [data.customerId, data.customerType, data.personalData, event.streamRevision.toString(), event.recordedAt],
        );
        return;
      }
      case 'CustomerPersonalDataChanged':
        // The record sealed again: the latest one is the customer's.
        await client.query(`UPDATE ${CUSTOMERS_TABLE} SET personal_data = $2, stream_revision = $3 WHERE customer_id = $1`, [
          String(event.data.customerId),
          String(event.data.personalData),
          event.streamRevision.toString(),
        ]);
        return;
      case 'CustomerIdentityCompleted':
        await client.query(`UPDATE ${CUSTOMERS_TABLE} SET personal_data = $2, customer_type = $3, stream_revision = $4 WHERE customer_id = $1`, [
          String(event.data.customerId),
          String(event.data.personalData),
          String(event.data.customerType),
          event.streamRevision.toString(),
        ]);
        return;
      case 'CustomerActivated':
        await client.query(`UPDATE ${CUSTOMERS_TABLE} SET status = 'active', stream_revision = $2 WHERE customer_id = $1`, [String(event.data.customerId), event.streamRevision.toString()]);
        return;
      case 'CustomerOffboarded':
        // A customer with another active metering point stays active; the metering-point read model has the detail.
        await client.query(
          `UPDATE ${CUSTOMERS_TABLE} c SET status = CASE WHEN EXISTS (
              SELECT 1 FROM ${PROJECTION_SCHEMA}.metering_points m WHERE m.customer_id = c.customer_id AND m.supply_status = 'active' AND m.gsrn <> $3
            ) THEN 'active' ELSE 'offboarded' END, stream_revision = $2 WHERE customer_id = $1`,
          [String(event.data.customerId), event.streamRevision.toString(), String(event.data.gsrn)],
        );
        return;
      default:
        return;
    }
  },
};
