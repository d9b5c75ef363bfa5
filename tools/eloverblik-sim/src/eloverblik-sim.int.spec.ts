import { startEloverblikSimulator, type RunningEloverblikSimulator } from './index';
import { MP_HOUSEHOLD, MP_NO_CONSENT, MP_PATTERN_FULL, MP_UNKNOWN, NOW, REFRESH_TOKEN, testScenario, type TestScenarioOptions } from './testing/scenarios';

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

async function call(url: string, init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.token === undefined ? {} : { Authorization: `Bearer ${init.token}` }), ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }), ...init.headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

const ids = (...gsrns: string[]): unknown => ({ meteringPoints: { meteringPoint: gsrns } });

interface Entry {
  success: boolean;
  errorCode: number;
  errorText: string;
  id: string;
  result?: Record<string, unknown> | null;
  MyEnergyData_MarketDocument?: {
    TimeSeries: { Period: { resolution: string; timeInterval: { start: string; end: string }; Point: { position: string; 'out_Quantity.quantity': string; 'out_Quantity.quality': string }[] }[] }[];
  } | null;
}

function entries(answer: Answer): Entry[] {
  expect(answer.status).toBe(200);
  return (answer.body as { result: Entry[] }).result;
}

function quantities(entry: Entry): string[] {
  return (entry.MyEnergyData_MarketDocument?.TimeSeries ?? []).flatMap((ts) => ts.Period.flatMap((p) => p.Point.map((pt) => pt['out_Quantity.quantity'])));
}

const milli = (q: string): bigint => BigInt(q.replace('.', ''));
const total = (qs: string[]): bigint => qs.reduce((a, q) => a + milli(q), 0n);

describe('Eloverblik simulator over HTTP', () => {
  let sim: RunningEloverblikSimulator;
  let api: string;

  async function start(options: TestScenarioOptions = {}): Promise<void> {
    sim = await startEloverblikSimulator({ port: 0, scenario: testScenario(options) });
    api = sim.apiBaseUrl;
  }

  async function token(): Promise<string> {
    const r = await call(`${api}/api/token`, { token: REFRESH_TOKEN });
    expect(r.status).toBe(200);
    return (r.body as { result: string }).result;
  }

  afterEach(async () => {
    await sim.stop();
  });

  describe('tokens', () => {
    beforeEach(() => start({ accessTokenLifetimeSeconds: 600 }));

    it('exchanges the refresh token for an HS256 JWT data access token on the simulator clock', async () => {
      const jwt = await token();
      const [header, payload] = jwt.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>);
      expect(header).toMatchObject({ alg: 'HS256', typ: 'JWT' });
      expect(payload?.['iat']).toBe(Date.parse(NOW) / 1000);
      expect(payload?.['exp']).toBe(Date.parse(NOW) / 1000 + 600);
      expect((await call(`${api}/api/token`, { token: 'not-registered' })).status).toBe(401);
      expect((await call(`${api}/api/token`)).status).toBe(401);
    });

    it('refuses data calls without, with a forged, or with an expired access token', async () => {
      const jwt = await token();
      const url = `${api}/api/meteringpoint/getdetails`;
      expect((await call(url, { method: 'POST', body: ids(MP_HOUSEHOLD) })).status).toBe(401);
      expect((await call(url, { method: 'POST', token: REFRESH_TOKEN, body: ids(MP_HOUSEHOLD) })).status).toBe(401);
      expect((await call(url, { method: 'POST', token: `${jwt.slice(0, -2)}xx`, body: ids(MP_HOUSEHOLD) })).status).toBe(401);
      expect((await call(url, { method: 'POST', token: jwt, body: ids(MP_HOUSEHOLD) })).status).toBe(200);
      sim.control.advanceBy(601_000);
      const expired = await call(url, { method: 'POST', token: jwt, body: ids(MP_HOUSEHOLD) });
      expect(expired.status).toBe(401);
      expect(expired.body).toMatchObject({ status: 401, detail: 'The token expired' });
      expect(sim.control.stats().unauthorized).toBe(4);
    });

    it('expireAccessTokens fault invalidates every token issued so far, not later ones', async () => {
      const before = await token();
      const r = await call(`${sim.url}/sim/faults`, { method: 'POST', body: { expireAccessTokens: true } });
      expect(r.status).toBe(200);
      const after = await token();
      expect((await call(`${api}/api/meteringpoint/getdetails`, { method: 'POST', token: before, body: ids(MP_HOUSEHOLD) })).status).toBe(401);
      expect((await call(`${api}/api/meteringpoint/getdetails`, { method: 'POST', token: after, body: ids(MP_HOUSEHOLD) })).status).toBe(200);
    });
  });

  describe('metering point details', () => {
    beforeEach(() => start());

    it('answers the wrapped per-id shape, with an error entry inside the 200 for unknown and unconsented ids', async () => {
      const r = await call(`${api}/api/meteringpoint/getdetails`, { method: 'POST', token: await token(), body: ids(MP_HOUSEHOLD, MP_UNKNOWN, MP_NO_CONSENT, '12345') });
      const [known, unknown, noConsent, short] = entries(r);
      expect(known).toMatchObject({ success: true, errorCode: 10000, errorText: 'NoError', id: MP_HOUSEHOLD });
      expect(known?.result).toMatchObject({ meteringPointId: MP_HOUSEHOLD, typeOfMP: 'E17', settlementMethod: 'D01', meteringGridAreaIdentification: '344', estimatedAnnualVolume: '4000', priceArea: 'DK1', balanceSupplierID: '5790001432751' });
      expect(unknown).toMatchObject({ success: false, errorCode: 20008, errorText: 'MeteringPointNotFound', id: MP_UNKNOWN, result: null });
      expect(noConsent).toMatchObject({ success: false, errorCode: 20012, id: MP_NO_CONSENT });
      expect(short).toMatchObject({ success: false, errorCode: 20003 });
    });

    it('rejects malformed bodies and more than 10 ids, and echoes the correlation id', async () => {
      const jwt = await token();
      const url = `${api}/api/meteringpoint/getdetails`;
      expect((await call(url, { method: 'POST', token: jwt, body: { meteringPoints: {} } })).status).toBe(400);
      const empty = await call(url, { method: 'POST', token: jwt, body: ids() });
      expect(empty).toMatchObject({ status: 400, body: '[10001] WrongNumberOfArguments' });
      expect((await call(url, { method: 'POST', token: jwt, body: ids(...Array<string>(11).fill(MP_HOUSEHOLD)) })).status).toBe(412);
      const correlated = await call(url, { method: 'POST', token: jwt, body: ids(MP_HOUSEHOLD), headers: { 'X-User-Correlation-ID': 'abc-123' } });
      expect(correlated.headers.get('x-user-correlation-id')).toBe('abc-123');
      expect(correlated.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('time series', () => {
    beforeEach(() => start());

    async function series(from: string, to: string, aggregation: string, ...gsrns: string[]): Promise<Answer> {
      return call(`${api}/api/meterdata/gettimeseries/${from}/${to}/${aggregation}`, { method: 'POST', token: await token(), body: ids(...gsrns) });
    }

    it('gives 23, 24 and 25 hourly points on the Copenhagen DST days, as 3-decimal strings', async () => {
      const [entry] = entries(await series('2025-10-25', '2025-10-28', 'Hour', MP_HOUSEHOLD));
      const periods = entry?.MyEnergyData_MarketDocument?.TimeSeries[0]?.Period ?? [];
      expect(periods.map((p) => [p.timeInterval.start, p.timeInterval.end, p.Point.length])).toEqual([
        ['2025-10-24T22:00:00Z', '2025-10-25T22:00:00Z', 24],
        ['2025-10-25T22:00:00Z', '2025-10-26T23:00:00Z', 25],
        ['2025-10-26T23:00:00Z', '2025-10-27T23:00:00Z', 24],
      ]);
      const [spring] = entries(await series('2026-03-29', '2026-03-30', 'Hour', MP_HOUSEHOLD));
      expect(spring?.MyEnergyData_MarketDocument?.TimeSeries[0]?.Period[0]?.Point).toHaveLength(23);
      for (const q of quantities(entry!)) expect(q).toMatch(/^\d+\.\d{3}$/);
    });

    it('Hour, Day and Month aggregations over the same range sum to exactly the same total', async () => {
      const [hour] = entries(await series('2025-04-10', '2026-04-10', 'Hour', MP_HOUSEHOLD));
      const [day] = entries(await series('2025-04-10', '2026-04-10', 'Day', MP_HOUSEHOLD));
      const [month] = entries(await series('2025-04-10', '2026-04-10', 'Month', MP_HOUSEHOLD));
      expect(quantities(day!)).toHaveLength(365);
      const monthPeriods = month?.MyEnergyData_MarketDocument?.TimeSeries[0]?.Period ?? [];
      expect(monthPeriods).toHaveLength(13); // 10–30 April 2025 … 1–9 April 2026
      expect(monthPeriods[0]).toMatchObject({ resolution: 'P1M', timeInterval: { start: '2025-04-09T22:00:00Z', end: '2025-04-30T22:00:00Z' } });
      const h = total(quantities(hour!));
      expect(total(quantities(day!))).toBe(h);
      expect(total(quantities(month!))).toBe(h);
      // The shaped profile lands near its 4000 kWh a year (noise and weights are not exact).
      expect(h > 3_000_000n && h < 5_000_000n).toBe(true);
    }, 30_000);

    it('is deterministic in the seed and independent of the requested window', async () => {
      const [a] = entries(await series('2026-01-01', '2026-01-03', 'Hour', MP_HOUSEHOLD));
      const [b] = entries(await series('2026-01-02', '2026-01-03', 'Hour', MP_HOUSEHOLD));
      expect(quantities(a!).slice(24)).toEqual(quantities(b!));
      const other = await startEloverblikSimulator({ port: 0, scenario: testScenario() });
      const otherSeed = await startEloverblikSimulator({ port: 0, scenario: testScenario({ seed: 'another-seed' }) });
      try {
        const get = async (s: RunningEloverblikSimulator): Promise<string[]> => {
          const t = (await call(`${s.apiBaseUrl}/api/token`, { token: REFRESH_TOKEN })).body as { result: string };
          const r = await call(`${s.apiBaseUrl}/api/meterdata/gettimeseries/2026-01-02/2026-01-03/Hour`, { method: 'POST', token: t.result, body: ids(MP_HOUSEHOLD) });
          return quantities(entries(r)[0]!);
        };
        expect(await get(other)).toEqual(quantities(b!));
        expect(await get(otherSeed)).not.toEqual(quantities(b!));
      } finally {
        await other.stop();
        await otherSeed.stop();
      }
    });

    it('pattern profile: every day is the same 24 values (4.900 kWh), the DST hour repeated or left out', async () => {
      const [entry] = entries(await series('2025-10-26', '2025-10-27', 'Day', MP_PATTERN_FULL));
      expect(quantities(entry!)).toEqual(['5.000']);
      const [spring] = entries(await series('2026-03-28', '2026-03-30', 'Day', MP_PATTERN_FULL));
      expect(quantities(spring!)).toEqual(['4.900', '4.800']);
    });

    it('validates the request like the real API (400 "[code] Name") and reports per-id errors inside the 200', async () => {
      expect((await series('2026-04-01', '2026-04-01', 'Hour', MP_HOUSEHOLD)).body).toBe('[30002] ToDateCanNotBeEqualToFromDate');
      expect((await series('2026-04-02', '2026-04-01', 'Hour', MP_HOUSEHOLD)).body).toBe('[30001] FromDateIsGreaterThanToDate');
      expect((await series('2026-04-01', '2026-04-13', 'Hour', MP_HOUSEHOLD)).body).toBe('[30003] ToDateIsGreaterThanToday');
      expect((await series('2024-01-01', '2026-01-02', 'Day', MP_HOUSEHOLD)).body).toBe('[30014] PeriodNotAllowed');
      expect((await series('2026-4-1', '2026-04-02', 'Day', MP_HOUSEHOLD)).body).toBe('[30004] InvalidDateFormat');
      expect((await series('2026-04-01', '2026-04-02', 'Weekly', MP_HOUSEHOLD)).status).toBe(400);
      const [before, unknown] = entries(await series('2023-01-01', '2023-02-01', 'Day', MP_PATTERN_FULL, MP_UNKNOWN));
      expect(before).toMatchObject({ success: false, errorCode: 30018, MyEnergyData_MarketDocument: null });
      expect(unknown).toMatchObject({ success: false, errorCode: 20008, id: MP_UNKNOWN });
    });
  });

  describe('faults', () => {
    beforeEach(() => start());

    it('serves 429 bursts with Retry-After, then 503 bursts, then recovers; GET /sim/stats counts them', async () => {
      await call(`${sim.url}/sim/faults`, { method: 'POST', body: { tooManyRequests: 2, retryAfterSeconds: 7, unavailable: 1 } });
      const first = await call(`${api}/api/token`, { token: REFRESH_TOKEN });
      expect(first.status).toBe(429);
      expect(first.headers.get('retry-after')).toBe('7');
      expect((await call(`${api}/api/token`, { token: REFRESH_TOKEN })).status).toBe(429);
      expect((await call(`${api}/api/token`, { token: REFRESH_TOKEN })).status).toBe(503);
      expect((await call(`${api}/api/token`, { token: REFRESH_TOKEN })).status).toBe(200);
      expect((await call(`${sim.url}/sim/stats`)).body).toMatchObject({ tooManyRequests: 2, unavailable: 1, tokensIssued: 1 });
      expect((await call(`${sim.url}/sim/faults`, { method: 'POST', body: { bogus: 1 } })).status).toBe(400);
    });

    it('moves the virtual clock forward only', async () => {
      expect((await call(`${sim.url}/sim/clock`, { method: 'POST', body: { advanceSeconds: 86_400 } })).body).toMatchObject({ today: '2026-04-11' });
      expect((await call(`${sim.url}/sim/clock`, { method: 'POST', body: { now: NOW } })).status).toBe(400);
    });
  });
});
