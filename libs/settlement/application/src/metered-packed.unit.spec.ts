import { fromThousandths } from '@dh/cim';
import { addDays, localDayStart, type LocalDate } from '@dh/dk-time';
import { InMemoryEventStore, type RecordedEvent } from '@dh/event-store';
import { gsrnCheckDigit } from '@dh/market-ids';
import { SettlementCommandRejected, meteredDays, meteredDaysPacked, parseRecordMeteredData, recordMeteredData, recordMeteredDataBatch, type CommandMeta } from './commands';
import { meteredDataStreamId } from './ids';

/**
 * `RecordMeteredData` with the points packed (integer Wh, as DataHub's `ValidatedMeasureDataReceived` v2 carries them,
 * issue 8): the same days, events and ids as the same values given as `points` (kWh decimal strings), without a
 * decimal string per value.
 */

const G = `57131317400000001${gsrnCheckDigit('57131317400000001')}`;
const meta: CommandMeta = { correlationId: 'doc', causationId: 'event', actor: 'datahub', now: new Date('2026-10-05T06:00:00.000Z') };

/** A deterministic pseudo-random sequence (no Math.random: a failure reproduces). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Packed {
  firstPosition: number;
  wh: (number | null)[];
  qualities: [string, number][];
}

/** The same values as points, as the consumer gave them before (quantity via `fromThousandths`). */
function asPoints(p: Packed): { position: number; quantityKwh: string | null; quality: string }[] {
  const codes = p.qualities.flatMap(([code, count]) => Array.from({ length: count }, () => code));
  return p.wh.map((v, i) => ({ position: p.firstPosition + i, quantityKwh: v === null ? null : fromThousandths(v), quality: codes[i]! }));
}

function payload(start: string, resolution: 'PT15M' | 'PT1H', body: Packed | { points: ReturnType<typeof asPoints> }, documentId = 'doc:1') {
  return { gsrn: G, documentId, receivedAt: '2026-10-27T00:00:00Z', resolution, start, end: '2030-01-01T00:00:00Z', ...body };
}

function randomPacked(next: () => number, length: number, firstPosition: number, big: boolean): Packed {
  const wh = Array.from({ length }, () => {
    const r = next();
    if (r < 0.05) return null;
    if (r < 0.08) return -0;
    if (r < 0.15) return -Math.floor(next() * 5000);
    if (big && r > 0.97) return 1e15 + Math.floor(next() * 1000);
    return Math.floor(next() * 100_000);
  });
  const qualities: [string, number][] = [];
  for (let left = length; left > 0; ) {
    const count = Math.min(left, 1 + Math.floor(next() * 40));
    qualities.push([['A04', 'A03', 'A02', 'A04'][Math.floor(next() * 4)]!, count]); // equal neighbours happen
    left -= count;
  }
  return { firstPosition, wh, qualities };
}

describe('RecordMeteredData with packed points (integer Wh)', () => {
  it('splits into exactly the days the same values as points give, over DST changes, any start position and length', () => {
    const next = lcg(8);
    const starts: LocalDate[] = ['2026-03-28', '2026-03-29', '2026-04-01', '2026-10-24', '2026-10-25', '2026-12-31'];
    let fast = 0;
    for (let round = 0; round < 400; round++) {
      const resolution = next() < 0.5 ? 'PT15M' : 'PT1H';
      const from = starts[Math.floor(next() * starts.length)]!;
      const packed = randomPacked(next, 1 + Math.floor(next() * (resolution === 'PT15M' ? 400 : 100)), 1 + Math.floor(next() * 7), round % 10 === 0);
      const start = localDayStart(from).toISOString();
      const viaPacked = meteredDays(parseRecordMeteredData(payload(start, resolution, packed)));
      const viaPoints = meteredDays(parseRecordMeteredData(payload(start, resolution, { points: asPoints(packed) })));
      expect(viaPacked).toStrictEqual(viaPoints);
      expect(JSON.stringify(viaPacked)).toBe(JSON.stringify(viaPoints));
      if (meteredDaysPacked(parseRecordMeteredData(payload(start, resolution, packed)), packed) !== null) fast++;
    }
    // The packed split itself answers (not the point-by-point fallback) for all but the series with values too large to pack again.
    expect(fast).toBeGreaterThan(350);
  });

  it('falls back to the point-by-point split where it cannot show the same result (a start off the grid, a value beyond 12 integer digits of kWh)', () => {
    const offGrid = { firstPosition: 1, wh: Array.from({ length: 200 }, (_, i) => i * 10), qualities: [['A04', 200]] as [string, number][] };
    const start = new Date(localDayStart('2026-10-24').getTime() + 7 * 60_000).toISOString();
    expect(meteredDaysPacked(parseRecordMeteredData(payload(start, 'PT15M', offGrid)), offGrid)).toBeNull();
    expect(meteredDays(parseRecordMeteredData(payload(start, 'PT15M', offGrid)))).toStrictEqual(meteredDays(parseRecordMeteredData(payload(start, 'PT15M', { points: asPoints(offGrid) }))));
    const big = { firstPosition: 1, wh: [1, 1e15], qualities: [['A04', 2]] as [string, number][] };
    const midnight = localDayStart('2026-10-24').toISOString();
    expect(meteredDaysPacked(parseRecordMeteredData(payload(midnight, 'PT1H', big)), big)).toBeNull();
    const [day] = meteredDays(parseRecordMeteredData(payload(midnight, 'PT1H', big)));
    expect(day!.points).toEqual([
      { position: 1, quantityKwh: '0.001', quality: 'A04' },
      { position: 2, quantityKwh: '1000000000000.000', quality: 'A04' },
    ]);
  });

  it('records the same events with the same ids, packed or as points', async () => {
    const next = lcg(12);
    const packed = randomPacked(next, (localDayStart(addDays('2026-10-24', 3)).getTime() - localDayStart('2026-10-24').getTime()) / 900_000, 1, false);
    const start = localDayStart('2026-10-24').toISOString();
    const shape = (events: RecordedEvent[]) => events.map((e) => [e.eventId, e.type, e.streamRevision, e.data, e.metadata]);
    const a = new InMemoryEventStore();
    const b = new InMemoryEventStore();
    await recordMeteredDataBatch(a, [{ payload: payload(start, 'PT15M', packed), meta }]);
    await recordMeteredDataBatch(b, [{ payload: payload(start, 'PT15M', { points: asPoints(packed) }), meta }]);
    const stored = await a.readStream(meteredDataStreamId(G));
    expect(stored.map((e) => (e.data as { day: string }).day)).toEqual(['2026-10-24', '2026-10-25', '2026-10-26']);
    expect(shape(stored)).toEqual(shape(await b.readStream(meteredDataStreamId(G))));
    // Either form recognises the other as the same document.
    expect(await recordMeteredData(a, payload(start, 'PT15M', { points: asPoints(packed) }), meta)).toEqual({ days: [], alreadyRecorded: true });
  });

  it.each([
    ['a fractional value', { firstPosition: 1, wh: [1, 1.5], qualities: [['A04', 2]] }, /wh\[1\] must be an integer/],
    ['a value as text', { firstPosition: 1, wh: ['12'], qualities: [['A04', 1]] }, /wh\[0\] must be an integer/],
    ['an infinite value', { firstPosition: 1, wh: [Infinity], qualities: [['A04', 1]] }, /wh\[0\] must be an integer/],
    ['an unsafe integer', { firstPosition: 1, wh: [2 ** 53], qualities: [['A04', 1]] }, /wh\[0\] must be an integer/],
    ['no values', { firstPosition: 1, wh: [], qualities: [] }, /wh must be a non-empty array/],
    ['position 0', { firstPosition: 0, wh: [1], qualities: [['A04', 1]] }, /firstPosition must be an integer ≥ 1/],
    ['runs short of the values', { firstPosition: 1, wh: [1, 2, 3], qualities: [['A04', 2]] }, /qualities cover 2 values, wh has 3/],
    ['runs beyond the values', { firstPosition: 1, wh: [1], qualities: [['A04', 2]] }, /qualities cover 2 values, wh has 1/],
    ['a run without a code', { firstPosition: 1, wh: [1], qualities: [[null, 1]] }, /qualities\[0\] must have a quality code/],
    ['a run of none', { firstPosition: 1, wh: [1], qualities: [['A04', 1], ['A03', 0]] }, /qualities\[1\] must have a count ≥ 1/],
    ['a run that is not a pair', { firstPosition: 1, wh: [1], qualities: [['A04']] }, /qualities\[0\] must be a run/],
    ['no runs', { firstPosition: 1, wh: [1] }, /qualities must be an array/],
  ])('refuses %s', (_what, body, message) => {
    const bad = { ...payload(localDayStart('2026-10-24').toISOString(), 'PT1H', { points: [] }), points: undefined, ...body };
    expect(() => parseRecordMeteredData(bad)).toThrow(SettlementCommandRejected);
    expect(() => parseRecordMeteredData(bad)).toThrow(message);
  });

  it('takes `points` when both forms are given, and refuses neither', () => {
    const start = localDayStart('2026-10-24').toISOString();
    const both = { ...payload(start, 'PT1H', { points: [{ position: 1, quantityKwh: '1.000', quality: 'A04' }] }), firstPosition: 1, wh: [5], qualities: [['A04', 1]] };
    expect(parseRecordMeteredData(both)).toMatchObject({ points: [{ position: 1, quantityKwh: '1.000', quality: 'A04' }] });
    expect(parseRecordMeteredData(both).packed).toBeUndefined();
    expect(() => parseRecordMeteredData({ ...payload(start, 'PT1H', { points: [] }), points: undefined })).toThrow(/points must be a non-empty array/);
  });
});
