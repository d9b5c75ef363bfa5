import { createInMemoryEventStore } from './in-memory/in-memory-event-store';
import { EventSchemas, withUpcasting, type EventUpcaster } from './upcasting';

const meta = (schemaVersion: number) => ({ correlationId: 'c', causationId: null, actor: 'test', schemaVersion, context: 'test' });

/** A price that was a number of øre (v1), then a decimal string of DKK (v2), then gained a currency (v3). */
const upcasters: EventUpcaster[] = [
  { eventType: 'PriceSet', fromVersion: 2, upcast: (data) => ({ ...data, currency: 'DKK' }) },
  { eventType: 'PriceSet', fromVersion: 1, upcast: ({ oere, ...rest }) => ({ ...rest, dkk: (Number(oere) / 100).toFixed(2) }) },
];

describe(EventSchemas.name, () => {
  const schemas = new EventSchemas(upcasters);

  it('knows each type’s current version', () => {
    expect(schemas.currentVersion('PriceSet')).toBe(3);
    expect(schemas.currentVersion('SomethingElse')).toBe(1);
  });

  it('runs the chain from the stored version to the current one, and leaves current events alone', () => {
    const v1 = { type: 'PriceSet', data: { oere: 1234 }, metadata: meta(1) };
    expect(schemas.upcast(v1)).toEqual({ type: 'PriceSet', data: { dkk: '12.34', currency: 'DKK' }, metadata: meta(3) });
    expect(schemas.upcast({ type: 'PriceSet', data: { dkk: '1.00' }, metadata: meta(2) }).data).toEqual({ dkk: '1.00', currency: 'DKK' });
    const v3 = { type: 'PriceSet', data: { dkk: '1.00', currency: 'DKK' }, metadata: meta(3) };
    expect(schemas.upcast(v3)).toBe(v3);
  });

  it('refuses a chain with a gap', () => {
    expect(() => new EventSchemas([upcasters[0]!])).toThrow(/without gaps/);
  });

  it('reads v1 events through a store that hands a v3 handler only v3, and stamps appends with the current version', async () => {
    const raw = createInMemoryEventStore();
    await raw.appendToStream('price-1', [{ eventId: '00000000-0000-4000-8000-000000000001', type: 'PriceSet', data: { oere: 500 }, metadata: meta(1), occurredAt: new Date() }], { expectedRevision: 'no_stream' });
    const store = withUpcasting(raw, schemas);
    await store.appendToStream('price-1', [{ eventId: '00000000-0000-4000-8000-000000000002', type: 'PriceSet', data: { dkk: '6.00', currency: 'DKK' }, metadata: meta(1), occurredAt: new Date() }], { expectedRevision: 0n });

    const v3Handler = (event: { data: Record<string, unknown>; metadata: { schemaVersion: number } }) => {
      expect(event.metadata.schemaVersion).toBe(3);
      return `${String(event.data.dkk)} ${String(event.data.currency)}`;
    };
    expect((await store.readStream('price-1')).map(v3Handler)).toEqual(['5.00 DKK', '6.00 DKK']);
    expect((await store.readAll()).map(v3Handler)).toEqual(['5.00 DKK', '6.00 DKK']);
    // Stored as written: v1 stays v1 on disk; the new event was stamped v3.
    expect((await raw.readStream('price-1')).map((e) => e.metadata.schemaVersion)).toEqual([1, 3]);
  });
});
