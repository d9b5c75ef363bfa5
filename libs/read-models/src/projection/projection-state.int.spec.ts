import { randomUUID } from 'node:crypto';
import { Pool, type PoolClient } from 'pg';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { CUSTOMERS_TABLE, customersProjection } from '../customers/customers.projection';
import type { ProjectedEvent } from './projection';
import { applyGuarded, applyGuardedBatch, migrateProjectionState, PROJECTION_SCHEMA } from './projection-state';

function created(position: number): ProjectedEvent {
  const customerId = randomUUID();
  return {
    eventId: randomUUID(),
    type: 'CustomerCreated',
    streamId: `customer-${customerId}`,
    streamRevision: 0n,
    checkpoint: `7:${position}`,
    recordedAt: new Date('2026-01-01T00:00:00Z'),
    data: { customerId, customerType: 'private', personalData: `v1.sealed-${position}` },
  };
}

describe('applyGuardedBatch', () => {
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase('projection_state');
    pool = new Pool({ connectionString: db.url });
    const client = await pool.connect();
    try {
      await migrateProjectionState(client);
      await customersProjection.migrate(client);
    } finally {
      client.release();
    }
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  async function inTransaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } finally {
      client.release();
    }
  }
  const state = async () =>
    (await pool.query<{ status: string; checkpoint: string; applied_events: string }>(`SELECT status, checkpoint, applied_events::text FROM ${PROJECTION_SCHEMA}.projection_state WHERE name = 'customers'`)).rows[0];
  const customers = async () => Number((await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${CUSTOMERS_TABLE}`)).rows[0].n);

  it('applies only the events after the checkpoint, in one state update, and skips all while a rebuild runs', async () => {
    const events = Array.from({ length: 10 }, (_, i) => created(i + 1));
    await inTransaction((client) => applyGuarded(customersProjection, events[0], client));
    await inTransaction((client) => applyGuarded(customersProjection, events[1], client));

    // A redelivered batch that overlaps what was applied: 1 and 2 are skipped, 3..6 applied.
    expect(await inTransaction((client) => applyGuardedBatch(customersProjection, events.slice(0, 6), client))).toEqual({ applied: 4, outcome: 'applied' });
    expect(await state()).toEqual({ status: 'live', checkpoint: '7:6', applied_events: '6' });
    expect(await customers()).toBe(6);
    expect(await inTransaction((client) => applyGuardedBatch(customersProjection, events.slice(2, 6), client))).toEqual({ applied: 0, outcome: 'already-applied' });

    await pool.query(`UPDATE ${PROJECTION_SCHEMA}.projection_state SET status = 'rebuilding' WHERE name = 'customers'`);
    expect(await inTransaction((client) => applyGuardedBatch(customersProjection, events.slice(6), client))).toEqual({ applied: 0, outcome: 'rebuilding' });
    expect(await customers()).toBe(6);
    await pool.query(`UPDATE ${PROJECTION_SCHEMA}.projection_state SET status = 'live' WHERE name = 'customers'`);

    expect(await inTransaction((client) => applyGuardedBatch(customersProjection, events.slice(6), client))).toEqual({ applied: 4, outcome: 'applied' });
    expect(await state()).toEqual({ status: 'live', checkpoint: '7:10', applied_events: '10' });
    expect(await customers()).toBe(10);
  });
});
