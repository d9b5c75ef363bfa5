/**
 * @dh/eloverblik-client against the simulator over real HTTP (random port). The tests live here because a
 * type:platform lib may not import a type:tool project; the client's own unit tests are in libs/eloverblik-client.
 */
import {
  EloverblikAccessDeniedError,
  EloverblikAuthError,
  EloverblikClient,
  EloverblikInsufficientDataError,
  EloverblikNotFoundError,
  EloverblikUnavailableError,
  type ConsumptionPoint,
  type EloverblikClientOptions,
} from '@dh/eloverblik-client';
import { InvalidIdError } from '@dh/market-ids';
import { startEloverblikSimulator, type RunningEloverblikSimulator } from './index';
import {
  CURRENT_SUPPLIER_GLN,
  GRID_OPERATOR_GLN,
  MP_BAD_CHECK_DIGIT,
  MP_HOUSEHOLD,
  MP_NEW,
  MP_NEW_NO_EAV,
  MP_NO_CONSENT,
  MP_PATTERN_FULL,
  MP_PATTERN_SHORT,
  MP_SOLAR,
  MP_UNKNOWN,
  REFRESH_TOKEN,
  TODAY,
  testScenario,
  type TestScenarioOptions,
} from './testing/scenarios';

const HOUR_MS = 3_600_000;

/** Hours between two local midnights that are both in Copenhagen summer time (UTC+2), computed without dk-time. */
function summerHoursBetween(from: string, to: string): number {
  return (Date.parse(`${to}T00:00:00+02:00`) - Date.parse(`${from}T00:00:00+02:00`)) / HOUR_MS;
}

/** Local (Copenhagen) date of a UTC instant, via Intl rather than dk-time. */
const copenhagenDate = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Copenhagen', year: 'numeric', month: '2-digit', day: '2-digit' });

function pointsPerLocalDay(points: readonly ConsumptionPoint[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of points) {
    const d = copenhagenDate.format(p.start);
    out.set(d, (out.get(d) ?? 0) + 1);
  }
  return out;
}

function expectContiguousHours(points: readonly ConsumptionPoint[], from: Date, to: Date): void {
  expect(points[0]?.start).toEqual(from);
  expect(points[points.length - 1]?.end).toEqual(to);
  // Collected, then asserted once: thousands of expect() calls are slow on a shared CI core.
  const notOneHour = points.filter((p) => p.end.getTime() - p.start.getTime() !== HOUR_MS);
  const gaps = points.filter((p, i) => i > 0 && p.start.getTime() !== points[i - 1]!.end.getTime());
  expect(notOneHour).toEqual([]);
  expect(gaps).toEqual([]);
}

describe('EloverblikClient against the simulator', () => {
  let sim: RunningEloverblikSimulator;
  let requests: string[];
  let sleeps: number[];

  async function start(options: TestScenarioOptions = {}): Promise<void> {
    sim = await startEloverblikSimulator({ port: 0, scenario: testScenario(options) });
    requests = [];
    sleeps = [];
  }

  function client(overrides: Partial<EloverblikClientOptions> = {}): EloverblikClient {
    return new EloverblikClient({
      baseUrl: sim.apiBaseUrl,
      refreshToken: REFRESH_TOKEN,
      // Records every request the client makes, then really sends it.
      fetch: (input, init) => {
        requests.push(`${init?.method ?? 'GET'} ${String(input).slice(sim.apiBaseUrl.length)}`);
        return fetch(input, init);
      },
      now: () => sim.control.now().getTime(),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
      retry: { baseDelayMs: 100, maxDelayMs: 1_000 },
      ...overrides,
    });
  }

  afterEach(async () => {
    await sim.stop();
  });

  describe('token flow', () => {
    beforeEach(() => start({ accessTokenLifetimeSeconds: 3600 }));

    it('exchanges the refresh token once and reuses the data access token', async () => {
      const c = client();
      await c.getMeteringPointDetails(MP_HOUSEHOLD);
      await c.getMeteringPointDetails(MP_HOUSEHOLD);
      expect(requests).toEqual(['GET /api/token', 'POST /api/meteringpoint/getdetails', 'POST /api/meteringpoint/getdetails']);
      expect(sim.control.stats()).toMatchObject({ tokensIssued: 1, unauthorized: 0 });
    });

    it('renews the token before it expires (5-minute margin) without meeting a 401', async () => {
      const c = client();
      await c.getMeteringPointDetails(MP_HOUSEHOLD);
      sim.control.advanceBy(3600_000 - 6 * 60_000); // 6 minutes left: still reused
      await c.getMeteringPointDetails(MP_HOUSEHOLD);
      expect(sim.control.stats().tokensIssued).toBe(1);
      sim.control.advanceBy(2 * 60_000); // 4 minutes left: renewed first
      await c.getMeteringPointDetails(MP_HOUSEHOLD);
      sim.control.advanceBy(2 * 3600_000); // long past expiry of the second token
      await c.getMeteringPointDetails(MP_HOUSEHOLD);
      expect(sim.control.stats()).toMatchObject({ tokensIssued: 3, unauthorized: 0 });
    });

    it('a token the server no longer accepts (401) is renewed and the call retried once', async () => {
      const c = client();
      await c.getMeteringPointDetails(MP_HOUSEHOLD);
      sim.control.setFaults({ expireAccessTokens: true });
      const details = await c.getMeteringPointDetails(MP_HOUSEHOLD);
      expect(details.gsrn).toBe(MP_HOUSEHOLD);
      expect(requests).toEqual(['GET /api/token', 'POST /api/meteringpoint/getdetails', 'POST /api/meteringpoint/getdetails', 'GET /api/token', 'POST /api/meteringpoint/getdetails']);
      expect(sim.control.stats()).toMatchObject({ tokensIssued: 2, unauthorized: 1 });
    });

    it('an unknown refresh token is a typed auth error, not retried', async () => {
      const error = await client({ refreshToken: 'revoked-or-mistyped' })
        .getMeteringPointDetails(MP_HOUSEHOLD)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EloverblikAuthError);
      expect(error).toMatchObject({ status: 401 });
      expect(requests).toEqual(['GET /api/token']);
    });
  });

  describe('metering point details', () => {
    beforeEach(() => start());

    it('maps the details of a known GSRN', async () => {
      const d = await client().getMeteringPointDetails(MP_HOUSEHOLD);
      expect(d).toMatchObject({
        gsrn: MP_HOUSEHOLD,
        type: 'E17',
        settlementMethod: 'D01',
        gridArea: '344',
        gridOperator: { gln: GRID_OPERATOR_GLN, name: 'Sim Net A/S' },
        priceArea: 'DK1',
        balanceSupplier: { gln: CURRENT_SUPPLIER_GLN, name: 'Nuværende El A/S', startDate: '2023-04-30T22:00:00.000Z' },
        address: { streetName: 'Simulatorvej', buildingNumber: '7', floorId: '2', roomId: 'tv', postcode: '8000', cityName: 'Aarhus C', municipalityCode: '751' },
        consumerName: 'Jens Jensen',
        physicalStatus: 'E22',
        meterReadingOccurrence: 'PT1H',
        estimatedAnnualVolumeKwh: '4000.000',
        consent: { present: true, from: '2025-12-31T23:00:00.000Z', to: undefined },
        linkedProductionGsrn: MP_SOLAR,
      });
      const solar = await client().getMeteringPointDetails(MP_SOLAR);
      expect([solar.type, solar.settlementMethod, solar.linkedProductionGsrn]).toEqual(['E18', undefined, undefined]);
    });

    it('unknown GSRN → EloverblikNotFoundError with the per-id code; no consent → EloverblikAccessDeniedError', async () => {
      const c = client();
      const unknown = await c.getMeteringPointDetails(MP_UNKNOWN).catch((e: unknown) => e);
      expect(unknown).toBeInstanceOf(EloverblikNotFoundError);
      expect(unknown).toMatchObject({ code: 20008, text: 'MeteringPointNotFound', status: 200, gsrn: MP_UNKNOWN });
      const denied = await c.getMeteringPointDetails(MP_NO_CONSENT).catch((e: unknown) => e);
      expect(denied).toBeInstanceOf(EloverblikAccessDeniedError);
      expect(denied).toMatchObject({ code: 20012 });
    });

    it('a GSRN with a wrong GS1 check digit is rejected before any request', async () => {
      const c = client();
      const error = await c.getMeteringPointDetails(MP_BAD_CHECK_DIGIT).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidIdError);
      expect(error).toMatchObject({ kind: 'GSRN', problem: { code: 'check_digit', expected: 7, actual: 8 } });
      await expect(c.getConsumptionHistory(MP_BAD_CHECK_DIGIT, { from: '2026-01-01', to: '2026-02-01' })).rejects.toBeInstanceOf(InvalidIdError);
      await expect(c.estimateAnnualConsumption(MP_BAD_CHECK_DIGIT, TODAY)).rejects.toBeInstanceOf(InvalidIdError);
      expect(requests).toEqual([]);
      expect(sim.control.stats().requests).toBe(0);
    });
  });

  describe('consumption history', () => {
    beforeEach(() => start());

    it('the last 12 months hourly: one value per hour of the span (8760), 23 and 25 on the DST days, contiguous', async () => {
      const from = '2025-04-10';
      const series = await client().getConsumptionHistory(MP_HOUSEHOLD, { from, to: TODAY });
      const hours = summerHoursBetween(from, TODAY);
      expect(hours).toBe(8760);
      expect(series.points).toHaveLength(hours);
      expectContiguousHours(series.points, new Date('2025-04-09T22:00:00Z'), new Date('2026-04-09T22:00:00Z'));
      const perDay = pointsPerLocalDay(series.points);
      expect(perDay.size).toBe(365);
      expect(perDay.get('2025-10-26')).toBe(25);
      expect(perDay.get('2026-03-29')).toBe(23);
      expect([...perDay.values()].filter((n) => n !== 24)).toHaveLength(2);
      expect(series.points.filter((p) => !/^\d+\.\d{3}$/.test(p.kwh))).toEqual([]);
      // Split into two requests (365-day chunks would be one; force 200) and the same points come back.
      requests = [];
      const split = await client({ maxDaysPerRequest: 200 }).getConsumptionHistory(MP_HOUSEHOLD, { from, to: TODAY });
      expect(requests.filter((r) => r.includes('gettimeseries'))).toEqual([`POST /api/meterdata/gettimeseries/2025-04-10/2025-10-27/Hour`, `POST /api/meterdata/gettimeseries/2025-10-27/2026-04-10/Hour`]);
      expect(split.points.map((p) => p.kwh)).toEqual(series.points.map((p) => p.kwh));
      expect(split.totalKwh).toBe(series.totalKwh);
    }, 30_000);

    it('a 12-month span holding 29 February has 8784 hourly values', async () => {
      const series = await client().getConsumptionHistory(MP_HOUSEHOLD, { from: '2023-06-01', to: '2024-06-01', aggregation: 'Hour' });
      expect(summerHoursBetween('2023-06-01', '2024-06-01')).toBe(8784);
      expect(series.points).toHaveLength(8784);
      expectContiguousHours(series.points, new Date('2023-05-31T22:00:00Z'), new Date('2024-05-31T22:00:00Z'));
      expect(pointsPerLocalDay(series.points).get('2024-02-29')).toBe(24);
    }, 30_000);

    it('monthly aggregation: 13 clipped months whose exact total equals the hourly total', async () => {
      const c = client();
      const hourly = await c.getConsumptionHistory(MP_HOUSEHOLD, { from: '2025-04-10', to: TODAY, aggregation: 'Hour' });
      const monthly = await c.getConsumptionHistory(MP_HOUSEHOLD, { from: '2025-04-10', to: TODAY, aggregation: 'Month' });
      expect(monthly.points).toHaveLength(13);
      expect(monthly.points.every((p) => p.resolution === 'P1M')).toBe(true);
      expect(monthly.points[1]).toMatchObject({ start: new Date('2025-04-30T22:00:00Z'), end: new Date('2025-05-31T22:00:00Z') });
      expect(monthly.totalKwh).toBe(hourly.totalKwh);
    }, 30_000);
  });

  describe('annual consumption estimate (hand-summed pattern: 4.900 kWh a day, 0.100 in the DST hour)', () => {
    beforeEach(() => start());

    it('a full year of data: the exact sum, 365 × 4.900 = 1788.500 (the DST hours cancel)', async () => {
      await expect(client().estimateAnnualConsumption(MP_PATTERN_FULL, TODAY)).resolves.toEqual({
        kwh: '1788.500',
        basis: 'measured-12-months',
        window: { from: '2025-04-10', to: '2026-04-10' },
        daysInWindow: 365,
        daysWithData: 365,
        measuredKwh: '1788.500',
      });
    });

    it('40 days of data (1 March – 9 April, spring DST inside): 40 × 4.900 − 0.100 = 195.900, × 365 / 40 = 1787.5875 → 1787.588', async () => {
      await expect(client().estimateAnnualConsumption(MP_PATTERN_SHORT, TODAY)).resolves.toEqual({
        kwh: '1787.588',
        basis: 'scaled-to-365-days',
        window: { from: '2025-04-10', to: '2026-04-10' },
        daysInWindow: 365,
        daysWithData: 40,
        measuredKwh: '195.900',
      });
    });

    it('9 days of data (< 30): the metering point’s estimatedAnnualVolume, 4321.5 → 4321.500', async () => {
      const estimate = await client().estimateAnnualConsumption(MP_NEW, TODAY);
      expect(estimate).toMatchObject({ kwh: '4321.500', basis: 'estimated-annual-volume', daysWithData: 9, measuredKwh: '44.100' });
      // With the threshold lowered the 9 days are scaled instead: 44.100 × 365 / 9 = 1788.5 exactly.
      expect(await client().estimateAnnualConsumption(MP_NEW, TODAY, { minDaysForScaling: 7 })).toMatchObject({ kwh: '1788.500', basis: 'scaled-to-365-days' });
    });

    it('no data and no estimatedAnnualVolume: EloverblikInsufficientDataError', async () => {
      await expect(client().estimateAnnualConsumption(MP_NEW_NO_EAV, TODAY)).rejects.toBeInstanceOf(EloverblikInsufficientDataError);
    });
  });

  describe('429/503 bursts', () => {
    beforeEach(() => start());

    it('survives a 429 burst (waiting at least Retry-After) followed by a 503 burst', async () => {
      const c = client({ retry: { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 1_000 } });
      await c.getMeteringPointDetails(MP_HOUSEHOLD); // token cached
      const faults = await fetch(`${sim.url}/sim/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ tooManyRequests: 2, retryAfterSeconds: 3, unavailable: 3 }) });
      expect(faults.status).toBe(200);
      const series = await c.getConsumptionHistory(MP_PATTERN_FULL, { from: '2026-04-01', to: TODAY, aggregation: 'Day' });
      expect(series.totalKwh).toBe('44.100');
      expect(sim.control.stats()).toMatchObject({ tooManyRequests: 2, unavailable: 3 });
      expect(sleeps).toHaveLength(5);
      expect(sleeps[0]).toBeGreaterThanOrEqual(3_000);
      expect(sleeps[1]).toBeGreaterThanOrEqual(3_000);
      // Back-off with equal jitter (random 0.5): 75 % of 100·2^(attempt−1) ms for attempts 3, 4, 5.
      expect(sleeps.slice(2)).toEqual([300, 600, 750]);
    });

    it('really waits the Retry-After seconds with the default sleep', async () => {
      const c = client({ sleep: undefined });
      sim.control.setFaults({ tooManyRequests: 1, retryAfterSeconds: 1 });
      const started = Date.now();
      await c.getMeteringPointDetails(MP_HOUSEHOLD);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
      expect(requests).toEqual(['GET /api/token', 'GET /api/token', 'POST /api/meteringpoint/getdetails']);
    });

    it('gives up after maxAttempts with EloverblikUnavailableError, and does not wait for an excessive Retry-After', async () => {
      const c = client({ retry: { maxAttempts: 3, baseDelayMs: 10, maxRetryAfterMs: 120_000 } });
      sim.control.setFaults({ unavailable: 10 });
      const error = await c.getMeteringPointDetails(MP_HOUSEHOLD).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EloverblikUnavailableError);
      expect(error).toMatchObject({ attempts: 3, status: 503 });
      expect(sim.control.faults().unavailable).toBe(7);
      sim.control.setFaults({ unavailable: 0, tooManyRequests: 1, retryAfterSeconds: 600 });
      sleeps = [];
      await expect(c.getMeteringPointDetails(MP_HOUSEHOLD)).rejects.toBeInstanceOf(EloverblikUnavailableError);
      expect(sleeps).toEqual([]);
    });
  });
});
