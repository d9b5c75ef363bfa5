import { describeEventStoreContract } from '../testing';
import { InMemoryEventStore } from './in-memory-event-store';

describeEventStoreContract('in-memory', async () => ({ store: new InMemoryEventStore() }));

describe('InMemoryEventStore', () => {
  it('refuses to work once closed', async () => {
    const store = new InMemoryEventStore();
    await store.close();
    await expect(store.ping()).rejects.toThrow(/closed/);
  });
});

describe('in-memory event store redaction (GDPR erasure)', () => {
  it('removes named fields from one stream’s events of one type, everywhere they are read, and nothing else', async () => {
    const store = new InMemoryEventStore();
    const meta = { correlationId: 'c', causationId: null, actor: 't', schemaVersion: 1, context: 'portfolio' };
    const event = (id: string, type: string) => ({ eventId: id, type, data: { customerId: 'x', identityIndex: 'h' }, metadata: meta, occurredAt: new Date('2026-01-01T00:00:00Z') });
    await store.appendToStream('customer-x', [event('00000000-0000-4000-8000-000000000001', 'CustomerCreated'), event('00000000-0000-4000-8000-000000000002', 'CustomerUpdated')], { expectedRevision: 'no_stream' });
    await store.appendToStream('customer-y', [event('00000000-0000-4000-8000-000000000003', 'CustomerCreated')], { expectedRevision: 'no_stream' });
    expect(await store.removeEventDataFields('customer-x', 'CustomerCreated', ['identityIndex'])).toBe(1);
    expect((await store.readStream('customer-x')).map((e) => e.data)).toEqual([{ customerId: 'x' }, { customerId: 'x', identityIndex: 'h' }]);
    expect((await store.readAll()).map((e) => e.data)).toEqual([{ customerId: 'x' }, { customerId: 'x', identityIndex: 'h' }, { customerId: 'x', identityIndex: 'h' }]);
    expect((await store.readEvent('00000000-0000-4000-8000-000000000001'))?.data).toEqual({ customerId: 'x' });
    expect(await store.removeEventDataFields('customer-x', 'CustomerCreated', ['identityIndex'])).toBe(0);
    await expect(store.removeEventDataFields('customer-x', 'CustomerCreated', ["x' OR 1=1"])).rejects.toThrow(/identifiers/);
  });
});
