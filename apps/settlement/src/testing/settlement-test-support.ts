import { randomUUID } from 'node:crypto';
import { addDays, localDayIntervals, localDayStart, type LocalDate } from '@dh/dk-time';
import type { JsonObject, RecordedEvent } from '@dh/event-store';
import type { CommandClient } from '@dh/messaging';
import { gsrnCheckDigit } from '@dh/market-ids';
import type { Infrastructure } from '@dh/platform';

/** Test data shared by the settlement service's integration tests. */
export const ENERGINET = '5790000432752';
export const RADIUS = '5790000705689';
export const PUBLISHED = '2025-06-01T00:00:00.000Z';
export const OCTOBER_2026 = { kind: 'month', year: 2026, month: 10 } as const;

/** A valid test GSRN (GS1 check digit) numbered n. */
export const gsrn = (n: number): string => {
  const body = `57131317400000${String(n).padStart(3, '0')}`;
  return `${body}${gsrnCheckDigit(body)}`;
};

export function days(from: LocalDate, toExclusive: LocalDate): LocalDate[] {
  const out: LocalDate[] = [];
  for (let d = from; d < toExclusive; d = addDays(d, 1)) out.push(d);
  return out;
}

/** Hourly kWh for a range of local days as one RSM-012 series (positions from the first local midnight). */
export function meteredPayload(g: string, documentId: string, from: LocalDate, toExclusive: LocalDate, kwh: (hour: Date) => string): JsonObject {
  const hours = days(from, toExclusive).flatMap((d) => localDayIntervals(d, 'PT1H'));
  return {
    gsrn: g,
    documentId,
    receivedAt: '2026-11-02T08:00:00Z',
    resolution: 'PT1H',
    start: localDayStart(from).toISOString(),
    end: localDayStart(toExclusive).toISOString(),
    points: hours.map((h, i) => ({ position: i + 1, quantityKwh: kwh(h), quality: 'A04' })),
  };
}

/** Small helpers over a test's infrastructure: append an input event as another context would, send a settlement command, count, read. */
export function settlementTestHelpers(infra: () => Infrastructure, commands: () => CommandClient) {
  const append = async (streamId: string, context: string, type: string, data: JsonObject): Promise<void> => {
    await infra().eventStore.appendToStream(
      streamId,
      [{ eventId: randomUUID(), type, data, metadata: { correlationId: randomUUID(), causationId: null, actor: 'test', schemaVersion: 1, context }, occurredAt: new Date() }],
      { expectedRevision: 'any' },
    );
  };
  return {
    append,
    send: async <T>(type: string, payload: JsonObject): Promise<T> => (await commands().send('settlement', type, payload, { actor: 'test', timeoutMs: 20_000 })) as T,
    count: async (sql: string): Promise<number> => Number((await infra().pool.query<{ n: string }>(sql)).rows[0]!.n),
    all: async (type: string): Promise<RecordedEvent[]> => (await infra().eventStore.readAll()).filter((e) => e.type === type),
    /** A charge price list as rates publishes it (one row from 2026-01-01). */
    charge: (owner: string, chargeType: string, code: string, description: string, resolution: string, prices: string[]) =>
      append(`charge-${owner}:${chargeType}:${code}`, 'rates', 'ChargePricesPublished', {
        chargeId: `${owner}:${chargeType}:${code}`,
        owner,
        gln: owner,
        chargeType,
        code,
        description,
        version: 1,
        publishedAt: PUBLISHED,
        rows: [{ validFrom: '2026-01-01', validTo: null, resolution, prices }],
      }),
  };
}
