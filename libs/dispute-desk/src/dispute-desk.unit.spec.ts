import { randomUUID } from 'node:crypto';
import { createInMemoryEventStore, type EventMetadata, type JsonObject, type NewEvent } from '@dh/event-store';
import { DisputeDesk } from './dispute-desk';
import { DisputeDeskError } from './errors';

const CUSTOMER = '3f1c2d4e-0000-4000-8000-000000000001';
const STREAM = `customer-${CUSTOMER}`;

function event(type: string, data: JsonObject, meta: Partial<EventMetadata> = {}): NewEvent {
  return { eventId: randomUUID(), type, data, metadata: { correlationId: 'corr-1', causationId: null, actor: 'test', schemaVersion: 1, context: 'portfolio', ...meta }, occurredAt: new Date('2026-10-01T10:00:00Z') };
}

describe(DisputeDesk.name, () => {
  let now = new Date('2026-10-01T10:00:00Z');
  const store = createInMemoryEventStore({ clock: () => now });
  const sut = new DisputeDesk(store);
  const created = event('CustomerCreated', { customerId: CUSTOMER, customerType: 'private', personalData: 'v1.sealed', identityIndex: 'abc' });
  const activated = event('CustomerActivated', { customerId: CUSTOMER, gsrn: '571313180400000028', effectiveDate: '2026-10-01' }, { causationId: created.eventId });
  const offboarded = event('CustomerOffboarded', { customerId: CUSTOMER, gsrn: '571313180400000028', endDate: '2026-11-01', reason: 'move-out' }, { correlationId: 'corr-2' });

  beforeAll(async () => {
    await store.appendToStream(STREAM, [created], { expectedRevision: 'no_stream' });
    now = new Date('2026-10-02T10:00:00Z');
    await store.appendToStream(STREAM, [activated], { expectedRevision: 0n });
    now = new Date('2026-11-01T10:00:00Z');
    await store.appendToStream(STREAM, [offboarded], { expectedRevision: 1n });
  });

  it('lists a stream with recorded time, causation and correlation, and never shows sealed personal data', async () => {
    const page = await sut.events(STREAM);
    expect(page.kind).toBe('customer');
    expect(page.events.map((e) => [e.type, e.recorded_at, e.correlation_id, e.causation_id])).toEqual([
      ['CustomerCreated', '2026-10-01T10:00:00.000Z', 'corr-1', null],
      ['CustomerActivated', '2026-10-02T10:00:00.000Z', 'corr-1', created.eventId],
      ['CustomerOffboarded', '2026-11-01T10:00:00.000Z', 'corr-2', null],
    ]);
    expect(page.events[0]!.data).toEqual({ customerId: CUSTOMER, customerType: 'private', personalData: '[sealed personal data]', identityIndex: '[keyed identity index]' });
    expect(JSON.stringify(page)).not.toContain('v1.sealed');
  });

  it('pages through a stream', async () => {
    const first = await sut.events(STREAM, { limit: 2 });
    expect(first.events.map((e) => e.revision)).toEqual([0, 1]);
    expect(first.next_revision).toBe(2);
    const second = await sut.events(STREAM, { limit: 2, fromRevision: 2 });
    expect(second.events.map((e) => e.revision)).toEqual([2]);
    expect(second.next_revision).toBeNull();
  });

  it('folds the state as known at a moment', async () => {
    const october = await sut.stateAt(STREAM, new Date('2026-10-15T00:00:00Z'));
    expect(october).toMatchObject({ revision: 1, events_folded: 2, last_recorded_at: '2026-10-02T10:00:00.000Z' });
    expect(october.state).toMatchObject({ status: 'created', supplies: [{ gsrn: '571313180400000028', effectiveDate: '2026-10-01', endDate: null }] });
    const before = await sut.stateAt(STREAM, new Date('2026-09-01T00:00:00Z'));
    expect(before).toMatchObject({ revision: null, events_folded: 0, state: { status: 'none' } });
    expect((await sut.stateAt(STREAM)).state).toMatchObject({ supplies: [{ endDate: '2026-11-01', reason: 'move-out' }] });
  });

  it('shows what changed between two moments and the events that changed it', async () => {
    const d = await sut.diff(STREAM, new Date('2026-10-15T00:00:00Z'), new Date('2026-12-01T00:00:00Z'));
    expect(d.events.map((e) => e.type)).toEqual(['CustomerOffboarded']);
    expect(d.changes).toEqual([
      { path: 'supplies.0.endDate', change: 'changed', before: null, after: '2026-11-01' },
      { path: 'supplies.0.reason', change: 'changed', before: null, after: 'move-out' },
    ]);
    await expect(sut.diff(STREAM, new Date('2026-12-01T00:00:00Z'), new Date('2026-10-01T00:00:00Z'))).rejects.toThrow(/must not be after/);
  });

  it('follows causation up and down and lists the correlation', async () => {
    const trace = await sut.trace(activated.eventId);
    expect(trace.event.type).toBe('CustomerActivated');
    expect(trace.causes.map((e) => e.event_id)).toEqual([created.eventId]);
    expect((await sut.trace(created.eventId)).caused.map((e) => e.event_id)).toEqual([activated.eventId]);
    expect(trace.correlated.map((e) => e.type)).toEqual(['CustomerCreated', 'CustomerActivated']);
  });

  it('refuses unknown streams, events and malformed stream ids with a reason', async () => {
    await expect(sut.stateAt('customer-nobody')).rejects.toMatchObject({ code: 'stream-not-found' });
    await expect(sut.events('customer-nobody')).rejects.toBeInstanceOf(DisputeDeskError);
    await expect(sut.trace(randomUUID())).rejects.toMatchObject({ code: 'event-not-found' });
    await expect(sut.stateAt('../etc/passwd')).rejects.toMatchObject({ code: 'invalid-request' });
  });
});
