import type { PoolClient } from 'pg';
import type { Projection, ProjectedEvent } from '../projection/projection';
import { applyInRounds } from '../projection/coalesce';
import { PROJECTION_SCHEMA } from '../projection/projection-state';

export const PROCESSES_TABLE = `${PROJECTION_SCHEMA}.processes`;

const REQUEST_EVENTS = new Set(['ChangeOfSupplierRequested', 'MoveInRequested', 'MoveOutRequested', 'EndOfSupplyRequested', 'IncorrectSwitchRequested', 'ForcedSwitchReceived']);
/** Every event `apply` handles. */
const PROCESS_EVENTS: ReadonlySet<string> = new Set([...REQUEST_EVENTS, 'ProcessRejected', 'ProcessStatusChanged']);
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** DataHub processes with their whole status history, for CRM's process tracker and support. */
export const processesProjection: Projection = {
  name: 'processes',
  bindings: ['portfolio.#', 'process.#'],
  tables: [{ name: PROCESSES_TABLE, orderBy: 'process_id' }],
  eventTypes: PROCESS_EVENTS,

  async migrate(client: PoolClient) {
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${PROCESSES_TABLE} (
        process_id uuid PRIMARY KEY,
        kind text,
        gsrn text,
        customer_id uuid,
        effective_date date,
        status text NOT NULL,
        rejection jsonb,
        history jsonb NOT NULL DEFAULT '[]',
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX IF NOT EXISTS processes_customer ON ${PROCESSES_TABLE} (customer_id);
      CREATE INDEX IF NOT EXISTS processes_gsrn ON ${PROCESSES_TABLE} (gsrn);`);
  },

  /** `apply` per event in rounds of distinct processes, the inserts and upserts of a round as one statement each. */
  async applyBatch(events: readonly ProjectedEvent[], client: PoolClient) {
    await applyInRounds((event, tx) => this.apply(event, tx), events, client, (event) => {
      const processId = text(event.data.processId);
      const handled = REQUEST_EVENTS.has(event.type) || event.type === 'ProcessRejected' || event.type === 'ProcessStatusChanged';
      // As the uuid column compares them (case, hyphens and braces aside): two spellings of one process never share a round.
      return processId !== null && handled ? [processId.toLowerCase().replace(/[^0-9a-f]/g, '')] : null;
    });
  },

  async apply(event: ProjectedEvent, client: PoolClient) {
    const d = event.data;
    const processId = text(d.processId);
    if (!processId) return;
    if (REQUEST_EVENTS.has(event.type)) {
      await client.query(
        `INSERT INTO ${PROCESSES_TABLE} (process_id, gsrn, customer_id, effective_date, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'created', $5, $5)
         ON CONFLICT (process_id) DO UPDATE SET gsrn = EXCLUDED.gsrn, customer_id = EXCLUDED.customer_id, effective_date = EXCLUDED.effective_date`,
        [processId, text(d.gsrn), text(d.customerId), text(d.effectiveDate), event.recordedAt],
      );
      return;
    }
    if (event.type === 'ProcessRejected') {
      await client.query(`UPDATE ${PROCESSES_TABLE} SET rejection = $2 WHERE process_id = $1`, [processId, JSON.stringify({ reasonCode: d.reasonCode, reasonText: d.reasonText })]);
      return;
    }
    if (event.type === 'ProcessStatusChanged') {
      const entry = { from: text(d.from), status: text(d.to), at: text(d.at), ...(typeof d.reason === 'string' ? { reason: d.reason } : {}) };
      await client.query(
        `INSERT INTO ${PROCESSES_TABLE} (process_id, kind, status, history, created_at, updated_at)
         VALUES ($1, $2, $3, jsonb_build_array($4::jsonb), $5, $5)
         ON CONFLICT (process_id) DO UPDATE SET kind = EXCLUDED.kind, status = EXCLUDED.status,
           history = ${PROCESSES_TABLE}.history || EXCLUDED.history, updated_at = EXCLUDED.updated_at`,
        [processId, text(d.kind), text(d.to), JSON.stringify(entry), event.recordedAt],
      );
    }
  },
};
