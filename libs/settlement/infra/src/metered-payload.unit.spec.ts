import { packPoints, seriesPointsOf } from '@dh/cim';
import { localDayStart } from '@dh/dk-time';
import type { JsonObject } from '@dh/event-store';
import { gsrnCheckDigit } from '@dh/market-ids';
import { meteredDays, parseRecordMeteredData } from '@dh/settlement-application';
import { meteredDataPayloadOf } from './runtime';

const G = `57131317400000001${gsrnCheckDigit('57131317400000001')}`;

/** A `ValidatedMeasureDataReceived` as datahub-integration stores it: v2 packed (`points` given: as v1). */
function received(points: { position: number; quantity?: string; quality?: string }[], v1 = false): JsonObject {
  const packed = packPoints(points);
  if (!packed) throw new Error('not packable');
  return {
    documentId: 'doc-1',
    seriesId: 'series-1',
    gsrn: G,
    receivedAt: '2026-10-27T00:00:00.000Z',
    resolution: 'PT1H',
    start: localDayStart('2026-10-24').toISOString(),
    end: localDayStart('2026-10-27').toISOString(),
    ...(v1
      ? { points: points.map((p) => ({ position: p.position, quantity: p.quantity ?? null, quality: p.quality ?? null })) }
      : { firstPosition: packed.firstPosition, wh: packed.wh, qualities: packed.qualities }),
  };
}

/** The payload the consumer built before (issue 8): every packed value unpacked to a kWh string. */
function unpackedPayload(d: JsonObject): JsonObject {
  return {
    gsrn: d.gsrn ?? null,
    documentId: `${String(d.documentId)}:${String(d.seriesId)}`,
    receivedAt: d.receivedAt ?? null,
    resolution: d.resolution ?? null,
    start: d.start ?? null,
    end: d.end ?? null,
    points: (seriesPointsOf(d) ?? []).map((p) => ({ position: p.position, quantityKwh: p.quantity, quality: p.quality ?? 'A04' })),
  };
}

describe("the metered-data consumer's RecordMeteredData payload", () => {
  // 73 hours over the autumn DST change: no quality (as measured, A04) beside explicit A04, A03 and a missing value (A02).
  const points = Array.from({ length: 73 }, (_, i) => ({
    position: i + 1,
    ...(i === 30 ? {} : { quantity: `${Math.floor(i / 3)}.${String((i * 37) % 1000).padStart(3, '0')}` }),
    ...(i === 30 ? { quality: 'A02' } : i % 10 === 0 ? { quality: 'A04' } : i > 60 ? { quality: 'A03' } : {}),
  }));

  it('passes a v2 series on packed (no decimal string per value), a point without quality as A04', () => {
    const payload = meteredDataPayloadOf({ data: received(points) }) as JsonObject;
    expect(payload.points).toBeUndefined();
    expect(payload).toMatchObject({ firstPosition: 1, documentId: 'doc-1:series-1' });
    expect((payload.wh as number[]).slice(0, 4)).toEqual([0, 37, 74, 1111]);
    // The runs as stored, a run without a code (as measured) named A04; the days merge equal neighbours.
    expect(payload.qualities).toEqual(packPoints(points)!.qualities.map(([code, count]) => [code ?? 'A04', count]));
    expect((payload.qualities as [string, number][]).slice(0, 3)).toEqual([
      ['A04', 1],
      ['A04', 9],
      ['A04', 1],
    ]);
  });

  it('gives exactly the days the unpacked payload gave, for v2 and v1 events', () => {
    for (const v1 of [false, true]) {
      const d = received(points, v1);
      const now = meteredDays(parseRecordMeteredData(meteredDataPayloadOf({ data: d })));
      expect(now).toStrictEqual(meteredDays(parseRecordMeteredData(unpackedPayload(d))));
      expect(now.map((day) => day.day)).toEqual(['2026-10-24', '2026-10-25', '2026-10-26']);
      expect(now[1]!.qualities).toEqual([
        ['A04', 6],
        ['A02', 1],
        ['A04', 18],
      ]);
    }
  });

  it('refuses a malformed v2 series as before (no points: the command refuses it)', () => {
    const d = { ...received(points), wh: [1, 2] };
    expect(meteredDataPayloadOf({ data: d })).toMatchObject({ points: [] });
    expect(() => parseRecordMeteredData(meteredDataPayloadOf({ data: d }))).toThrow(/points must be a non-empty array/);
  });
});
