import type { EventEnvelope } from '@dh/messaging';
import { isCopyable } from './copies';

const envelope = (type: string, data: Record<string, string | boolean | null>): EventEnvelope => ({
  eventId: 'e',
  type,
  streamId: 's',
  streamRevision: '0',
  globalPosition: '1',
  occurredAt: '2026-01-01T00:00:00Z',
  recordedAt: '2026-01-01T00:00:00Z',
  data,
  metadata: { correlationId: 'c', causationId: null, actor: 'a', schemaVersion: 1, context: 'portfolio' },
});

describe('settlement copies', () => {
  const facts = { gsrn: 'g', customerId: 'c', startDate: '2026-01-01', productId: 'p', gridArea: '791', billingFrequency: 'monthly', paymentModel: 'actual' };

  it("copies portfolio's SupplyStarted when it carries the settlement facts, and skips it (instead of halting the queue) when not", () => {
    expect(isCopyable(envelope('SupplyStarted', { ...facts, processId: 'x', at: '2026-01-01T00:00:00Z', electricHeating: false, productionGsrn: null }))).toBe(true);
    expect(isCopyable(envelope('SupplyStarted', { gsrn: 'g', customerId: 'c', startDate: '2026-01-01', processId: 'x' }))).toBe(false);
    expect(isCopyable(envelope('SupplyStarted', { ...facts, productId: null }))).toBe(false);
  });

  it('passes event types it does not copy', () => {
    expect(isCopyable(envelope('MeteringPointRegistered', {}))).toBe(true);
  });
});
