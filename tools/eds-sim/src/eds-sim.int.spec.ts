import { startEdsSimulator, type RunningEdsSimulator } from './index';

let sim: RunningEdsSimulator;

beforeAll(async () => {
  sim = await startEdsSimulator({ scenario: { seed: 7 } });
});
afterAll(async () => {
  await sim.stop();
});

async function get(path: string): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${sim.url}${path}`);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** Records as objects of raw field texts (numbers kept as their source text). */
function rawRecords(text: string): Array<Record<string, string | null>> {
  const quoted = text.replace(/:(-?\d+(?:\.\d+)?)([,}])/g, ':"$1"$2');
  return (JSON.parse(quoted) as { records: Array<Record<string, string | null>> }).records;
}

const q = (dataset: string, params: Record<string, string>): string => `/dataset/${dataset}?${new URLSearchParams(params).toString()}`;

describe('Energi Data Service simulator', () => {
  it('serves 92 and 100 quarter-hours on the DST days, 96 on an ordinary day, in UTC order when asked', async () => {
    for (const [day, next, expected] of [['2026-03-29', '2026-03-30', 92], ['2026-10-25', '2026-10-26', 100], ['2026-06-10', '2026-06-11', 96]] as const) {
      const r = await get(q('DayAheadPrices', { start: day, end: next, filter: '{"PriceArea":["DK1"]}', sort: 'TimeUTC ASC', limit: '0' }));
      expect(r.status).toBe(200);
      const recs = rawRecords(r.text);
      expect(recs).toHaveLength(expected);
      expect(recs[0]!['TimeDK']).toBe(`${day}T00:00:00`);
      expect(new Set(recs.map((x) => x['TimeUTC'])).size).toBe(expected);
    }
  });

  it('writes prices as JSON numbers with up to 6 decimals, some negative, deterministic per seed', async () => {
    const path = q('DayAheadPrices', { start: '2026-01-01', end: '2026-01-08', limit: '0', sort: 'TimeUTC ASC' });
    const a = await get(path);
    const b = await get(path);
    expect(a.text).toBe(b.text);
    expect(a.text).toMatch(/"DayAheadPriceDKK":-?\d+(\.\d{1,6})?[,}]/);
    const prices = rawRecords(a.text).map((r) => r['DayAheadPriceDKK']!);
    expect(prices.some((p) => p.startsWith('-'))).toBe(true);
    expect(prices.some((p) => /\.\d{5,6}$/.test(p))).toBe(true);
    expect(prices.every((p) => /^-?\d+(\.\d{1,6})?$/.test(p))).toBe(true);
    const other = await startEdsSimulator({ scenario: { seed: 8 } });
    try {
      expect((await fetch(`${other.url}${path}`).then((r) => r.text())) === a.text).toBe(false);
    } finally {
      await other.stop();
    }
  });

  it('serves hourly Elspotprices only before 2025-10-01 and DayAheadPrices only from it', async () => {
    const hourly = rawRecords((await get(q('Elspotprices', { start: '2025-09-30', end: '2025-10-02', filter: '{"PriceArea":"DK2"}', limit: '0' }))).text);
    expect(hourly).toHaveLength(24);
    expect(hourly.every((r) => r['HourDK']!.startsWith('2025-09-30'))).toBe(true);
    const quarters = rawRecords((await get(q('DayAheadPrices', { start: '2025-09-30', end: '2025-10-02', filter: '{"PriceArea":"DK2"}', limit: '0' }))).text);
    expect(quarters).toHaveLength(96);
    expect(quarters.every((r) => r['TimeDK']!.startsWith('2025-10-01'))).toBe(true);
  });

  it('pages with limit and offset over a stable total, and sorts descending by default', async () => {
    const first = await get(q('DayAheadPrices', { start: '2026-02-01', end: '2026-02-02', limit: '50' }));
    const body = JSON.parse(first.text.replace(/:(-?\d+(?:\.\d+)?)([,}])/g, ':"$1"$2')) as { total: string; limit: string; records: Array<Record<string, string>> };
    expect(body.total).toBe('192');
    expect(body.records).toHaveLength(50);
    expect(body.records[0]!['TimeUTC']! > body.records[49]!['TimeUTC']!).toBe(true);
    const last = rawRecords((await get(q('DayAheadPrices', { start: '2026-02-01', end: '2026-02-02', limit: '50', offset: '150' }))).text);
    expect(last).toHaveLength(42);
  });

  it('filters DatahubPricelist by charge and ValidFrom date', async () => {
    const recs = rawRecords(
      (await get(q('DatahubPricelist', { start: '2025-01-01', end: '2026-01-01', filter: JSON.stringify({ GLN_Number: ['5790001089030'], ChargeType: ['D03'] }), sort: 'ValidFrom asc' }))).text,
    );
    expect(recs.map((r) => r['ValidFrom'])).toEqual(['2025-01-01T00:00:00', '2025-04-01T00:00:00', '2025-10-01T00:00:00']);
    expect(recs[0]!['Price18']).toBe('0.9751');
    expect(recs[0]!['ResolutionDuration']).toBe('PT1H');
  });

  it('publishes a correction after first publication', async () => {
    const path = q('DayAheadPrices', { start: '2026-03-01', end: '2026-03-02', filter: '{"PriceArea":["DK1"]}', sort: 'TimeUTC ASC', limit: '1' });
    const before = rawRecords((await get(path)).text)[0]!;
    sim.control.publishCorrection({ dataset: 'DayAheadPrices', priceArea: 'DK1', timeUtc: before['TimeUTC']! + 'Z', priceDkk: '-12.345678' });
    const after = rawRecords((await get(path)).text)[0]!;
    expect(after['DayAheadPriceDKK']).toBe('-12.345678');
    expect(before['DayAheadPriceDKK']).not.toBe('-12.345678');
  });

  it('answers 503 bursts and 429 with Retry-After, then recovers', async () => {
    sim.control.setFaults({ unavailable: 2, rateLimited: 1, retryAfterSeconds: 3 });
    const path = q('Elspotprices', { start: '2025-01-01', end: '2025-01-02' });
    expect((await get(path)).status).toBe(503);
    expect((await get(path)).status).toBe(503);
    const limited = await get(path);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect((await get(path)).status).toBe(200);
  });

  it('rejects bad parameters with 400 and unknown datasets with 404', async () => {
    expect((await get(q('DayAheadPrices', { start: '2026-13-01', end: '2026-13-02' }))).status).toBe(400);
    expect((await get(q('DayAheadPrices', { start: '2026-01-01', end: '2026-01-02', filter: '{"Nope":["x"]}' }))).status).toBe(400);
    expect((await get(q('DayAheadPrices', { start: '2026-01-01', end: '2026-01-02', limit: '-1' }))).status).toBe(400);
    expect((await get('/dataset/Nope')).status).toBe(404);
  });
});
