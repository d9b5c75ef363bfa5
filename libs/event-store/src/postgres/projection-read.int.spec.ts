import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { createInMemoryEventStore } from '../in-memory/in-memory-event-store';
import { projectionReadOf } from '../projection-read';
import { newEvent } from '../testing';
import { createPostgresEventStore, type PostgresEventStore } from './postgres-event-store';

describe('the projection read of the log (readAllForProjection)', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase('es_projection_read');
    store = await createPostgresEventStore({ connectionString: db.url });
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it("returns readAll's events, order and checkpoints, without occurredAt and with only the metadata's schemaVersion, page by page", async () => {
    await store.appendToStreams([
      { streamId: 'lean-1', expectedRevision: 'no_stream', events: [newEvent('A', { n: 1 }), newEvent('B', { n: 2, nested: { ok: true } })] },
      { streamId: 'lean-2', expectedRevision: 'no_stream', events: [{ ...newEvent('C', { n: 3 }), metadata: { correlationId: 'c', causationId: null, actor: 'x', schemaVersion: 3, context: 'test' } }] },
    ]);
    await store.appendToStream('lean-1', [newEvent('D', { n: 4 })], { expectedRevision: 1n });
    const read = projectionReadOf(store);
    const lean = [...(await read({ maxCount: 3 })), ...(await read({ after: (await read({ maxCount: 3 }))[2].checkpoint, maxCount: 3 }))];
    const full = await store.readAll();
    expect(lean).toEqual(
      full.map((e) => ({
        eventId: e.eventId,
        type: e.type,
        streamId: e.streamId,
        streamRevision: e.streamRevision,
        globalPosition: e.globalPosition,
        checkpoint: e.checkpoint,
        recordedAt: e.recordedAt,
        data: e.data,
        metadata: { schemaVersion: e.metadata.schemaVersion },
      })),
    );
    expect(lean.map((e) => e.metadata.schemaVersion)).toEqual([1, 1, 3, 1]);
  });

  it('falls back to readAll for a store without it', async () => {
    const memory = createInMemoryEventStore();
    await memory.appendToStream('m-1', [newEvent('A', { n: 1 })], { expectedRevision: 'no_stream' });
    expect(await projectionReadOf(memory)()).toEqual(await memory.readAll());
  });
});
