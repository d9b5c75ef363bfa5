import { EdsClient, EdsRequestError, mwhTextToKwhText, parseJsonKeepingNumbers, RawJsonError, retryAfterMs, sameDecimal } from './index';

describe('raw-number JSON', () => {
  it('keeps every number as its source text', () => {
    expect(parseJsonKeepingNumbers('{"a":740.951258,"b":[-0.000001,1e-7,12],"c":"x","d":null,"e":true}')).toEqual({
      a: '740.951258',
      b: ['-0.000001', '1e-7', '12'],
      c: 'x',
      d: null,
      e: true,
    });
    // A float would have lost this: 0.1 + 17 digits.
    expect(parseJsonKeepingNumbers('[0.12345678901234567890]')).toEqual(['0.12345678901234567890']);
  });

  it('refuses invalid JSON and duplicate keys', () => {
    for (const bad of ['{"a":1,"a":2}', '{"a":01}', '[1,]', '{"a":1} x', '"unterminated', '{"a":.5}']) {
      expect(() => parseJsonKeepingNumbers(bad)).toThrow(RawJsonError);
    }
  });
});

describe('decimals', () => {
  it('divides DKK/MWh by 1000 exactly, keeping every decimal', () => {
    expect(mwhTextToKwhText('702.67776')).toBe('0.70267776');
    expect(mwhTextToKwhText('-5')).toBe('-0.005');
    expect(mwhTextToKwhText('740.951258')).toBe('0.740951258');
    expect(mwhTextToKwhText('0.000001')).toBe('0.000000001');
  });
  it('compares values, not notations', () => {
    expect(sameDecimal('1.50', '1.5')).toBe(true);
    expect(sameDecimal('1.5', '1.500001')).toBe(false);
  });
});

describe('EdsClient', () => {
  it('reads Retry-After in seconds or as a date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(null)).toBeNull();
  });

  it('does not retry a 400 and names the dataset', async () => {
    let calls = 0;
    const client = new EdsClient({
      baseUrl: 'http://eds.invalid',
      fetch: async () => {
        calls++;
        return new Response('{"error":"bad filter"}', { status: 400 });
      },
      sleep: async () => undefined,
    });
    const error = await client.fetchAll('DayAheadPrices', { start: '2026-01-01', end: '2026-01-02' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EdsRequestError);
    expect(error).toMatchObject({ dataset: 'DayAheadPrices', status: 400 });
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts on network errors, backing off in between', async () => {
    const waits: number[] = [];
    const client = new EdsClient({
      baseUrl: 'http://eds.invalid',
      maxAttempts: 3,
      initialBackoffMs: 100,
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
      sleep: async (ms) => void waits.push(ms),
    });
    await expect(client.fetchAll('Elspotprices', {})).rejects.toThrow(/gave up after 3 attempts; last: fetch failed/);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(50);
    expect(waits[1]).toBeGreaterThanOrEqual(100);
  });

  it('builds the API query: start, end, filter JSON, sort, limit, offset', () => {
    const client = new EdsClient({ baseUrl: 'https://api.energidataservice.dk/' });
    const url = new URL(client.url('DayAheadPrices', { start: '2026-01-01', end: '2026-01-02', filter: { PriceArea: ['DK1'] }, sort: 'TimeUTC ASC' }, 100, 200));
    expect(url.pathname).toBe('/dataset/DayAheadPrices');
    expect(Object.fromEntries(url.searchParams)).toEqual({ start: '2026-01-01', end: '2026-01-02', filter: '{"PriceArea":["DK1"]}', sort: 'TimeUTC ASC', limit: '100', offset: '200' });
  });
});
