import type { EventEnvelope } from '@dh/messaging';
import { types as pgTypes } from 'pg';
import { isCopyable, parseInt4ArrayText } from './copies';

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

describe('metered days: int[] text read by character codes', () => {
  const int4Array: number = 1007;
  const pgParse = pgTypes.getTypeParser(int4Array, 'text') as (text: string) => (number | null)[];

  it("gives node-postgres's values for the int[] texts PostgreSQL sends", () => {
    let seed = 11;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const texts = ['{}', '{0}', '{NULL}', '{-1}', '{2147483647,-2147483648}', '{1,NULL,3}', '{NULL,NULL}'];
    for (let i = 0; i < 500; i++) {
      const n = rand(100);
      const values = Array.from({ length: n }, () => (rand(20) === 0 ? 'NULL' : String(rand(3) === 0 ? -rand(2147483648) : rand(2147483648) % (rand(2) === 0 ? 3000 : 2147483648))));
      texts.push(`{${values.join(',')}}`);
    }
    for (const text of texts) {
      const fast = parseInt4ArrayText(text);
      expect(fast).not.toBeNull();
      expect(fast).toEqual(pgParse(text));
    }
  });

  it('declines (node-postgres then parses) what is not a plain one-dimensional int[] text', () => {
    for (const text of ['', '{', '}', '{,}', '{1,}', '{,1}', '{1,,2}', '{-}', '{1 ,2}', '{ 1}', '[0:1]={1,2}', '{{1,2},{3,4}}', '{"1"}', '{NUL}', '{NULLX}', '{1}x', '{12345678901}', '{1.5}', '{+1}', '{1e3}']) {
      expect(parseInt4ArrayText(text)).toBeNull();
    }
  });
});
