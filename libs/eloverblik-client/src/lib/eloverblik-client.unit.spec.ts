import { parseRetryAfter } from './backoff';
import { EloverblikClient } from './client';
import { EloverblikAuthError, EloverblikError, EloverblikNoDataError, EloverblikUnavailableError } from './errors';
import { estimateFromDailyHistory, twelveMonthWindow } from './estimate';

const GSRN = '571313180400110007';
const BASE = 'https://api.example/thirdpartyapi';

function jwt(payload: Record<string, unknown>): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}.sig`;
}

type Reply = { status: number; body: unknown; headers?: Record<string, string> } | Error;

/** A fetch that answers from a script per path prefix and records the calls. */
function scripted(script: Record<string, Reply[]>): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  const fake = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const path = String(input).slice(BASE.length);
    calls.push(`${init?.method ?? 'GET'} ${path}`);
    const key = Object.keys(script).find((k) => path.startsWith(k));
    const reply = key === undefined ? undefined : script[key]?.shift();
    if (reply === undefined) throw new Error(`unscripted call ${path}`);
    if (reply instanceof Error) throw reply;
    return new Response(JSON.stringify(reply.body), { status: reply.status, headers: reply.headers ?? {} });
  };
  return { fetch: fake as typeof fetch, calls };
}

function details(estimatedAnnualVolume: string | null = '4000'): Reply {
  return { status: 200, body: { result: [{ result: { meteringPointId: GSRN, typeOfMP: 'E17', estimatedAnnualVolume }, success: true, errorCode: 10000, errorText: 'NoError', id: GSRN }] } };
}

function series(points: { position: string; q: string }[], resolution = 'PT1H', start = '2026-01-01T23:00:00Z', end = '2026-01-02T23:00:00Z'): Reply {
  return {
    status: 200,
    body: {
      result: [
        {
          MyEnergyData_MarketDocument: {
            TimeSeries: [{ 'measurement_Unit.name': 'KWH', Period: [{ resolution, timeInterval: { start, end }, Point: points.map((p) => ({ position: p.position, 'out_Quantity.quantity': p.q, 'out_Quantity.quality': 'A04' })) }] }],
          },
          success: true,
          errorCode: 10000,
          errorText: 'NoError',
          id: GSRN,
        },
      ],
    },
  };
}

const NOW = Date.parse('2026-04-10T08:00:00Z');
const token = (lifetimeS = 3600): Reply => ({ status: 200, body: { result: jwt({ iat: NOW / 1000, exp: NOW / 1000 + lifetimeS }) } });

function client(f: typeof fetch, sleeps: number[] = [], now = (): number => NOW): EloverblikClient {
  return new EloverblikClient({ baseUrl: `${BASE}/`, refreshToken: 'rt', fetch: f, now, sleep: async (ms) => void sleeps.push(ms), random: () => 0, retry: { baseDelayMs: 10 } });
}

describe('twelveMonthWindow', () => {
  it('is [same date a year earlier, today); 29 February maps to 28 February', () => {
    expect(twelveMonthWindow('2026-04-10')).toEqual({ from: '2025-04-10', to: '2026-04-10' });
    expect(twelveMonthWindow('2028-02-29')).toEqual({ from: '2027-02-28', to: '2028-02-29' });
    expect(twelveMonthWindow('2024-03-01')).toEqual({ from: '2023-03-01', to: '2024-03-01' });
    expect(() => twelveMonthWindow('2024-3-1')).toThrow(RangeError);
  });
});

describe('estimateFromDailyHistory', () => {
  const days = (from: string, n: number, kwh: string): Map<string, string> => {
    const m = new Map<string, string>();
    const start = Date.parse(`${from}T00:00:00Z`);
    for (let i = 0; i < n; i++) m.set(new Date(start + i * 86_400_000).toISOString().slice(0, 10), kwh);
    return m;
  };

  it('sums all 366 days of a leap window exactly', () => {
    const window = { from: '2023-03-01', to: '2024-03-01' };
    expect(estimateFromDailyHistory({ window, days: days('2023-03-01', 366, '10.001') })).toMatchObject({ kwh: '3660.366', basis: 'measured-12-months', daysInWindow: 366 });
  });

  it('scales to 365 days and rounds half away from zero to 0.001 kWh only there', () => {
    const window = { from: '2025-04-10', to: '2026-04-10' };
    // 30 × 0.001 = 0.030; × 365 / 30 = 0.365 exactly.
    expect(estimateFromDailyHistory({ window, days: days('2026-03-11', 30, '0.001') })).toMatchObject({ kwh: '0.365', basis: 'scaled-to-365-days', daysWithData: 30 });
    // 31 × 0.003 = 0.093; × 365 / 31 = 1.095 exactly.
    expect(estimateFromDailyHistory({ window, days: days('2026-03-10', 31, '0.003') })?.kwh).toBe('1.095');
    // One day of 0.001 (threshold lowered to 1): × 365 = 0.365.
    const one = new Map([['2026-04-01', '0.001']]);
    expect(estimateFromDailyHistory({ window, days: one, minDaysForScaling: 1 })?.kwh).toBe('0.365');
    const twoDays = new Map([
      ['2026-04-01', '0.001'],
      ['2026-04-02', '0.000'],
    ]);
    // 0.001 × 365 / 2 = 0.1825 → 0.183 (half away from zero).
    expect(estimateFromDailyHistory({ window, days: twoDays, minDaysForScaling: 2 })?.kwh).toBe('0.183');
  });

  it('returns undefined below the threshold and rejects days outside the window', () => {
    const window = { from: '2025-04-10', to: '2026-04-10' };
    expect(estimateFromDailyHistory({ window, days: days('2026-03-12', 29, '5.000') })).toBeUndefined();
    expect(() => estimateFromDailyHistory({ window, days: new Map([['2026-04-10', '1.000']]) })).toThrow(RangeError);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates, ignores garbage', () => {
    expect(parseRetryAfter('60', 0)).toBe(60_000);
    expect(parseRetryAfter('Fri, 10 Apr 2026 08:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
  });
});

describe('EloverblikClient (scripted fetch)', () => {
  it('gives up with EloverblikAuthError when a fresh token is also refused (401, 401)', async () => {
    const { fetch, calls } = scripted({ '/api/token': [token(), token()], '/api/meteringpoint': [{ status: 401, body: {} }, { status: 401, body: { title: 'Unauthorized' } }] });
    await expect(client(fetch).getMeteringPointDetails(GSRN)).rejects.toBeInstanceOf(EloverblikAuthError);
    expect(calls).toEqual(['GET /api/token', 'POST /api/meteringpoint/getdetails', 'GET /api/token', 'POST /api/meteringpoint/getdetails']);
  });

  it('maps a "[code] Name" 400 to a typed error and does not retry it', async () => {
    const { fetch, calls } = scripted({ '/api/token': [token()], '/api/meterdata': [{ status: 400, body: '[30014] PeriodNotAllowed' }] });
    const error = await client(fetch)
      .getConsumptionHistory(GSRN, { from: '2026-01-01', to: '2026-01-02' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EloverblikError);
    expect(error).toMatchObject({ code: 30014, text: 'PeriodNotAllowed', status: 400 });
    expect(calls).toHaveLength(2);
  });

  it('per-id 30018 → EloverblikNoDataError', async () => {
    const { fetch } = scripted({ '/api/token': [token()], '/api/meterdata': [{ status: 200, body: { result: [{ MyEnergyData_MarketDocument: null, success: false, errorCode: 30018, errorText: 'MeteringPointDataNotAvailableForTheRequestedPeriod', id: GSRN }] } }] });
    await expect(client(fetch).getConsumptionHistory(GSRN, { from: '2026-01-01', to: '2026-01-02' })).rejects.toBeInstanceOf(EloverblikNoDataError);
  });

  it('refuses quantities with more than 3 decimals instead of rounding them', async () => {
    const { fetch } = scripted({ '/api/token': [token()], '/api/meterdata': [series([{ position: '1', q: '0.1234' }])] });
    await expect(client(fetch).getConsumptionHistory(GSRN, { from: '2026-01-02', to: '2026-01-03' })).rejects.toThrow(/quantity/);
  });

  it('keeps quantities exact and places positions in time', async () => {
    const { fetch } = scripted({ '/api/token': [token()], '/api/meterdata': [series([{ position: '2', q: '0.2' }, { position: '1', q: '1.005' }])] });
    const s = await client(fetch).getConsumptionHistory(GSRN, { from: '2026-01-02', to: '2026-01-03' });
    expect(s.points.map((p) => [p.start.toISOString(), p.end.toISOString(), p.kwh])).toEqual([
      ['2026-01-01T23:00:00.000Z', '2026-01-02T00:00:00.000Z', '1.005'],
      ['2026-01-02T00:00:00.000Z', '2026-01-02T01:00:00.000Z', '0.200'],
    ]);
    expect(s.totalKwh).toBe('1.205');
  });

  it('retries network failures with back-off, then reports EloverblikUnavailableError after maxAttempts', async () => {
    const sleeps: number[] = [];
    const { fetch, calls } = scripted({ '/api/token': [new TypeError('fetch failed'), token()], '/api/meteringpoint': [new TypeError('socket hang up'), details()] });
    await expect(client(fetch, sleeps).getMeteringPointDetails(GSRN)).resolves.toMatchObject({ estimatedAnnualVolumeKwh: '4000.000' });
    expect(calls).toHaveLength(4);
    expect(sleeps).toEqual([5, 5]); // equal jitter with random 0: half of the 10 ms first step
    const down = scripted({ '/api/token': [new TypeError('a'), new TypeError('b'), new TypeError('c'), new TypeError('d'), new TypeError('e')] });
    const error = await client(down.fetch).getMeteringPointDetails(GSRN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EloverblikUnavailableError);
    expect(error).toMatchObject({ attempts: 5 });
    expect(down.calls).toHaveLength(5);
  });

  it('shares one token request between concurrent calls and renews 5 minutes before exp', async () => {
    let now = NOW;
    const { fetch, calls } = scripted({ '/api/token': [token(), token()], '/api/meteringpoint': [details(), details(), details()] });
    const c = client(fetch, [], () => now);
    await Promise.all([c.getMeteringPointDetails(GSRN), c.getMeteringPointDetails(GSRN)]);
    expect(calls.filter((x) => x.includes('token'))).toHaveLength(1);
    now = NOW + 3600_000 - 299_000;
    await c.getMeteringPointDetails(GSRN);
    expect(calls.filter((x) => x.includes('token'))).toHaveLength(2);
  });

  it('treats a non-numeric estimatedAnnualVolume as absent', async () => {
    const { fetch } = scripted({ '/api/token': [token()], '/api/meteringpoint': [details('ukendt')] });
    await expect(client(fetch).getMeteringPointDetails(GSRN)).resolves.toMatchObject({ estimatedAnnualVolumeKwh: undefined });
  });
});
