import { Pool } from 'pg';
import { createPostgresEventStore, type EventStore } from '@dh/event-store';
import { AmqpConnection, CommandClient, CommandRejectedError, CommandServer, silentMessagingLogger } from '@dh/messaging';
import { toExactScaled } from '@dh/money';
import {
  chargePriceVersions,
  correctChargePrices,
  correctSpotPrices,
  defineProduct,
  EdsClient,
  InvalidRatesCommandError,
  ingestCharges,
  ingestSpotPrices,
  MalformedEdsDataError,
  RATES_CONTEXT,
  RATES_SERVICE,
  ratesCommandHandlers,
  spotPriceVersions,
  type RatesCommandContext,
} from '@dh/rates-application';
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from '@dh/testing';
import { startEdsSimulator, type RunningEdsSimulator } from './index';

jest.setTimeout(60_000);

let db: TestDatabase;
let store: EventStore;
let pool: Pool;
/** Every committed event, whether or not another transaction on the cluster still holds back its visibility to readers of the global log. */
const eventCount = async (): Promise<number> => Number((await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM event_store.events')).rows[0]!.n);
let sim: RunningEdsSimulator;
let eds: EdsClient;
const waits: number[] = [];

beforeAll(async () => {
  db = await createTestDatabase('rates_ingest');
  pool = new Pool({ connectionString: db.url });
  store = await createPostgresEventStore({ pool });
  sim = await startEdsSimulator({ scenario: { seed: 2026 } });
  eds = new EdsClient({
    baseUrl: sim.url,
    pageSize: 1000,
    initialBackoffMs: 10,
    sleep: (ms) => {
      waits.push(ms);
      return new Promise((resolve) => setTimeout(resolve, Math.min(ms, 20)));
    },
  });
});

afterAll(async () => {
  await sim.stop();
  await store.close();
  await pool.end();
  await db.drop();
});

let tick = 0;
function ctx(): RatesCommandContext {
  tick++;
  return { correlationId: `corr-${tick}`, causationId: null, actor: 'test', now: new Date(Date.UTC(2026, 11, 1, 12, 0, tick)) };
}

/** The raw number texts the simulator publishes for one area and day (the "as published" reference). */
async function publishedTexts(dataset: 'DayAheadPrices' | 'Elspotprices', area: string, from: string, to: string): Promise<string[]> {
  const field = dataset === 'DayAheadPrices' ? 'DayAheadPriceDKK' : 'SpotPriceDKK';
  const time = dataset === 'DayAheadPrices' ? 'TimeUTC' : 'HourUTC';
  const text = await fetch(`${sim.url}/dataset/${dataset}?${new URLSearchParams({ start: from, end: to, filter: JSON.stringify({ PriceArea: [area] }), sort: `${time} ASC`, limit: '0' })}`).then((r) => r.text());
  return [...text.matchAll(new RegExp(`"${field}":(-?[0-9.]+)`, 'g'))].map((m) => m[1]!);
}

/** dkkPerKwh × 1000 = dkkPerMwh, compared as exact integers. */
function isThousandth(kwh: string, mwh: string): boolean {
  const k = toExactScaled(kwh);
  const m = toExactScaled(mwh);
  return k.units * 1000n * 10n ** BigInt(m.scale) === m.units * 10n ** BigInt(k.scale);
}

describe('ingesting spot prices from Energi Data Service', () => {
  it('stores a DST day at PT15M with 92 and 100 quarter-hours, prices exactly as published', async () => {
    const result = await ingestSpotPrices({ store, eds }, { priceArea: 'DK1', from: '2026-03-29', to: '2026-03-30' }, ctx());
    expect(result.days).toEqual([expect.objectContaining({ deliveryDate: '2026-03-29', outcome: 'appended', version: 1, intervals: 92 })]);
    await ingestSpotPrices({ store, eds }, { priceArea: 'DK1', from: '2026-10-25', to: '2026-10-26' }, ctx());
    for (const [day, next, count, firstUtc] of [['2026-03-29', '2026-03-30', 92, '2026-03-28T23:00:00.000Z'], ['2026-10-25', '2026-10-26', 100, '2026-10-24T22:00:00.000Z']] as const) {
      const [v1, ...rest] = await spotPriceVersions(store, 'DK1', day);
      expect(rest).toHaveLength(0);
      expect(v1).toMatchObject({ priceArea: 'DK1', deliveryDate: day, resolution: 'PT15M', source: 'DayAheadPrices', version: 1 });
      expect(v1!.prices).toHaveLength(count);
      expect(v1!.prices[0]!.start).toBe(firstUtc);
      expect(v1!.prices.map((p) => p.dkkPerMwh)).toEqual(await publishedTexts('DayAheadPrices', 'DK1', day, next));
      expect(v1!.prices.every((p) => isThousandth(p.dkkPerKwh, p.dkkPerMwh))).toBe(true);
      const stream = await store.readStream(`spot-prices-DK1-${day}`);
      expect(stream[0]!.metadata.context).toBe(RATES_CONTEXT);
      expect(stream[0]!.type).toBe('SpotPricesPublished');
    }
  });

  it('stores hourly Elspotprices before 2025-10-01 (25-hour day included) and switches to PT15M on 2025-10-01', async () => {
    const result = await ingestSpotPrices({ store, eds }, { priceArea: 'DK2', from: '2024-10-27', to: '2024-10-28' }, ctx());
    expect(result.days[0]).toMatchObject({ outcome: 'appended', intervals: 25 });
    const [long] = await spotPriceVersions(store, 'DK2', '2024-10-27');
    expect(long).toMatchObject({ resolution: 'PT1H', source: 'Elspotprices', version: 1 });
    expect(long!.prices.map((p) => p.dkkPerMwh)).toEqual(await publishedTexts('Elspotprices', 'DK2', '2024-10-27', '2024-10-28'));

    const across = await ingestSpotPrices({ store, eds }, { priceArea: 'DK2', from: '2025-09-30', to: '2025-10-02' }, ctx());
    expect(across.days.map((d) => [d.deliveryDate, d.intervals])).toEqual([['2025-09-30', 24], ['2025-10-01', 96]]);
    expect((await spotPriceVersions(store, 'DK2', '2025-09-30'))[0]).toMatchObject({ resolution: 'PT1H', source: 'Elspotprices' });
    expect((await spotPriceVersions(store, 'DK2', '2025-10-01'))[0]).toMatchObject({ resolution: 'PT15M', source: 'DayAheadPrices' });
  });

  it('appends nothing when the same prices are ingested again', async () => {
    await ingestSpotPrices({ store, eds }, { priceArea: 'DK2', from: '2026-05-04', to: '2026-05-06' }, ctx());
    const before = (await eventCount());
    const again = await ingestSpotPrices({ store, eds }, { priceArea: 'DK2', from: '2026-05-04', to: '2026-05-06' }, ctx());
    expect(again.days.map((d) => [d.outcome, d.version])).toEqual([['unchanged', 1], ['unchanged', 1]]);
    expect((await eventCount())).toBe(before);
    expect(await store.readStream('spot-prices-DK2-2026-05-04')).toHaveLength(1);
  });

  it('turns a corrected price into version 2 and keeps version 1 readable', async () => {
    const first = ctx();
    await ingestSpotPrices({ store, eds }, { priceArea: 'DK1', from: '2026-02-10', to: '2026-02-11' }, first);
    const [v1] = await spotPriceVersions(store, 'DK1', '2026-02-10');
    const corrected = v1!.prices[33]!;
    sim.control.publishCorrection({ dataset: 'DayAheadPrices', priceArea: 'DK1', timeUtc: corrected.start, priceDkk: '-1234.567891' });
    const second = ctx();
    const r = await ingestSpotPrices({ store, eds }, { priceArea: 'DK1', from: '2026-02-10', to: '2026-02-11' }, second);
    expect(r.days[0]).toMatchObject({ outcome: 'appended', version: 2 });
    const versions = await spotPriceVersions(store, 'DK1', '2026-02-10');
    expect(versions.map((v) => v.version)).toEqual([1, 2]);
    expect(versions[0]!.prices[33]!.dkkPerMwh).toBe(corrected.dkkPerMwh);
    expect(versions[1]!.prices[33]).toEqual({ start: corrected.start, dkkPerMwh: '-1234.567891', dkkPerKwh: '-1.234567891' });
    expect(versions[1]!.prices.filter((p, i) => p.dkkPerMwh !== versions[0]!.prices[i]!.dkkPerMwh)).toHaveLength(1);
    expect(versions[1]!.publishedAt).toBe(second.now.toISOString());
    // Re-ingesting the corrected day again changes nothing.
    const again = await ingestSpotPrices({ store, eds }, { priceArea: 'DK1', from: '2026-02-10', to: '2026-02-11' }, ctx());
    expect(again.days[0]).toMatchObject({ outcome: 'unchanged', version: 2 });
  });

  it('rejects a malformed record naming dataset, index and field, and appends nothing for any day', async () => {
    sim.control.corruptRecord({ dataset: 'DayAheadPrices', match: { TimeUTC: '2026-07-02T10:15:00', PriceArea: 'DK1' }, field: 'DayAheadPriceDKK', value: '12,5' });
    try {
      const before = await eventCount();
      const error = await ingestSpotPrices({ store, eds }, { priceArea: 'DK1', from: '2026-07-01', to: '2026-07-04' }, ctx()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MalformedEdsDataError);
      const problems = (error as MalformedEdsDataError).problems;
      // 2026-07-01 has 96 quarters (index 0..95); 2026-07-02T10:15Z is 12:15 local, quarter 49 of day two.
      expect(problems).toEqual([expect.objectContaining({ dataset: 'DayAheadPrices', index: 96 + 49, field: 'DayAheadPriceDKK' })]);
      expect((error as Error).message).toContain('DayAheadPrices record 145: field DayAheadPriceDKK');
      expect(await eventCount()).toBe(before);
      for (const day of ['2026-07-01', '2026-07-02', '2026-07-03']) expect(await store.readStream(`spot-prices-DK1-${day}`)).toHaveLength(0);
    } finally {
      sim.control.clearCorruptions();
    }
    sim.control.corruptRecord({ dataset: 'DayAheadPrices', match: { TimeUTC: '2026-07-01T00:00:00', PriceArea: 'DK1' }, field: 'TimeUTC', value: null });
    try {
      const error = await ingestSpotPrices({ store, eds }, { priceArea: 'DK1', from: '2026-07-01', to: '2026-07-02' }, ctx()).catch((e: unknown) => e);
      expect((error as MalformedEdsDataError).problems[0]).toMatchObject({ field: 'TimeUTC', problem: 'is missing' });
    } finally {
      sim.control.clearCorruptions();
    }
  });

  it('survives a 503 burst and 429 with Retry-After, and pages through large answers', async () => {
    sim.control.resetStats();
    waits.length = 0;
    sim.control.setFaults({ unavailable: 3, rateLimited: 2, retryAfterSeconds: 1 });
    const r = await ingestSpotPrices({ store, eds }, { priceArea: 'DK2', from: '2026-08-01', to: '2026-08-21' }, ctx());
    expect(r.days).toHaveLength(20);
    expect(r.days.every((d) => d.outcome === 'appended' && d.intervals === 96)).toBe(true);
    const stats = sim.control.stats();
    expect(stats.byStatus['503']).toBe(3);
    expect(stats.byStatus['429']).toBe(2);
    // 1 920 records in pages of 1 000: two successful requests.
    expect(stats.byStatus['200']).toBe(2);
    expect(waits.filter((w) => w === 1000)).toHaveLength(2);
    expect(r.requests).toBe(7);
  });

  it('leaves a day that is not fully published alone', async () => {
    sim.control.publishThrough('2026-09-10');
    try {
      const r = await ingestSpotPrices({ store, eds }, { priceArea: 'DK1', from: '2026-09-10', to: '2026-09-12' }, ctx());
      expect(r.days.map((d) => [d.deliveryDate, d.outcome])).toEqual([['2026-09-10', 'appended'], ['2026-09-11', 'incomplete']]);
      expect(await store.readStream('spot-prices-DK1-2026-09-11')).toHaveLength(0);
    } finally {
      sim.control.publishThrough(undefined);
    }
  });
});

describe('ingesting charges from DatahubPricelist', () => {
  const n1Tariff = '5790001089030:D03:CD';

  it('stores each charge with its rows as published, idempotently, and a changed row as version 2', async () => {
    const r = await ingestCharges({ store, eds }, { from: '2025-01-01', to: '2027-01-01' }, ctx());
    expect(r.charges.map((c) => [c.chargeId, c.outcome, c.version])).toEqual(
      expect.arrayContaining([[n1Tariff, 'appended', 1], ['5790000432752:D03:40000', 'appended', 1], ['5790000432752:D01:41004', 'appended', 1]]),
    );
    const [tariff] = await chargePriceVersions(store, n1Tariff);
    expect(tariff).toMatchObject({ chargeId: n1Tariff, gln: '5790001089030', chargeType: 'D03', code: 'CD', description: 'Nettarif C', version: 1, owner: 'N1 A/S - 131' });
    expect(tariff!.rows.map((x) => x.validFrom)).toEqual(['2025-01-01', '2025-04-01', '2025-10-01', '2026-04-01']);
    expect(tariff!.rows[0]).toMatchObject({ validTo: '2025-04-01', resolution: 'PT1H' });
    expect(tariff!.rows[0]!.prices).toHaveLength(24);
    expect(tariff!.rows[0]!.prices[0]).toBe('0.1250');
    expect(tariff!.rows[0]!.prices[17]).toBe('0.9751');
    expect(tariff!.rows[3]!.validTo).toBeNull();
    const [transmission] = await chargePriceVersions(store, '5790000432752:D03:40000');
    expect(transmission!.rows[0]!.prices).toEqual(Array<string>(24).fill('0.061'));
    const [subscription] = await chargePriceVersions(store, '5790000432752:D01:41004');
    expect(subscription!.rows.map((x) => [x.resolution, x.prices])).toEqual([['P1M', ['15.166666']], ['P1M', ['15.583333']]]);
    expect((await store.readStream(`charge-${n1Tariff}`))[0]!.metadata.context).toBe('rates');

    const before = (await eventCount());
    const again = await ingestCharges({ store, eds }, { from: '2025-01-01', to: '2027-01-01' }, ctx());
    expect(again.charges.every((c) => c.outcome === 'unchanged' && c.version === 1)).toBe(true);
    expect((await eventCount())).toBe(before);

    const corrected = ['0.11', ...Array<string>(23).fill('0.2')];
    sim.control.publishCorrection({ dataset: 'DatahubPricelist', gln: '5790001089030', chargeType: 'D03', code: 'CD', validFrom: '2026-04-01', prices: corrected });
    // Only the corrected period is fetched; the other rows are kept from version 1.
    const narrow = await ingestCharges({ store, eds }, { from: '2026-04-01', to: '2026-04-02', filter: { GLN_Number: ['5790001089030'], ChargeType: ['D03'] } }, ctx());
    expect(narrow.charges).toEqual([expect.objectContaining({ chargeId: n1Tariff, outcome: 'appended', version: 2, rows: 4 })]);
    const versions = await chargePriceVersions(store, n1Tariff);
    expect(versions.map((v) => v.version)).toEqual([1, 2]);
    expect(versions[1]!.rows[3]!.prices).toEqual(corrected);
    expect(versions[1]!.rows.slice(0, 3)).toEqual(versions[0]!.rows.slice(0, 3));
    expect(versions[0]!.rows[3]!.prices[0]).toBe('0.125');
  });

  it('rejects a malformed price-list record and appends nothing', async () => {
    sim.control.corruptRecord({ dataset: 'DatahubPricelist', match: { ChargeTypeCode: '41000', ValidFrom: '2026-01-01T00:00:00' }, field: 'Price1', value: 'abc' });
    try {
      const before = (await eventCount());
      const error = await ingestCharges({ store, eds }, { from: '2014-01-01', to: '2030-01-01' }, ctx()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MalformedEdsDataError);
      expect((error as MalformedEdsDataError).problems).toEqual([expect.objectContaining({ dataset: 'DatahubPricelist', field: 'Price1' })]);
      expect((await eventCount())).toBe(before);
    } finally {
      sim.control.clearCorruptions();
    }
  });
});

describe('manual price corrections by staff', () => {
  it('corrects spot prices as a new version with the reason; a re-ingest keeps it until Energi Data Service publishes something new', async () => {
    await ingestSpotPrices({ store, eds }, { priceArea: 'DK2', from: '2026-06-01', to: '2026-06-02' }, ctx());
    const [v1] = await spotPriceVersions(store, 'DK2', '2026-06-01');
    const wrong = v1!.prices[40]!;
    const staff = { ...ctx(), actor: 'staff:employee-7' };
    const r = await correctSpotPrices({ store }, { priceArea: 'DK2', deliveryDate: '2026-06-01', prices: [{ start: wrong.start, dkkPerMwh: '450.5' }], reason: 'Nord Pool notice 2026-06-02' }, staff);
    expect(r).toEqual({ streamId: 'spot-prices-DK2-2026-06-01', appended: true, version: 2 });
    const [, v2] = await spotPriceVersions(store, 'DK2', '2026-06-01');
    expect(v2).toMatchObject({ source: 'manual', version: 2, publishedAt: staff.now.toISOString(), correction: { reason: 'Nord Pool notice 2026-06-02', actor: 'staff:employee-7', basedOnVersion: 1, intervals: [{ start: wrong.start, before: wrong.dkkPerMwh, after: '450.5' }] } });
    expect(v2!.prices[40]).toEqual({ start: wrong.start, dkkPerMwh: '450.5', dkkPerKwh: '0.4505' });
    expect(v2!.prices.filter((p, i) => p.dkkPerMwh !== v1!.prices[i]!.dkkPerMwh)).toHaveLength(1);
    // The same correction again appends nothing; Energi Data Service still publishing version 1 does not undo it.
    expect((await correctSpotPrices({ store }, { priceArea: 'DK2', deliveryDate: '2026-06-01', prices: [{ start: wrong.start, dkkPerMwh: '450.50' }], reason: 'again' }, ctx())).appended).toBe(false);
    expect((await ingestSpotPrices({ store, eds }, { priceArea: 'DK2', from: '2026-06-01', to: '2026-06-02' }, ctx())).days[0]).toMatchObject({ outcome: 'unchanged', version: 2 });
    // A correction published by Energi Data Service supersedes the manual one.
    sim.control.publishCorrection({ dataset: 'DayAheadPrices', priceArea: 'DK2', timeUtc: wrong.start, priceDkk: '451.000000' });
    expect((await ingestSpotPrices({ store, eds }, { priceArea: 'DK2', from: '2026-06-01', to: '2026-06-02' }, ctx())).days[0]).toMatchObject({ outcome: 'appended', version: 3 });
    const v3 = (await spotPriceVersions(store, 'DK2', '2026-06-01'))[2]!;
    expect([v3.source, Number(v3.prices[40]!.dkkPerMwh)]).toEqual(['DayAheadPrices', 451]);
  });

  it('corrects a charge row by hand, marked with the prices it replaced; the unchanged price list does not undo it', async () => {
    const chargeId = '5790000432752:D03:41000';
    await ingestCharges({ store, eds }, { from: '2025-01-01', to: '2027-01-01', filter: { ChargeTypeCode: ['41000'] } }, ctx());
    const before = (await chargePriceVersions(store, chargeId)).pop()!;
    const row = { validFrom: '2026-01-01', validTo: null, resolution: 'PT1H', prices: Array<string>(24).fill('0.0725') };
    const r = await correctChargePrices({ store }, { chargeId, rows: [row], reason: 'Energinet letter of 2025-12-20' }, { ...ctx(), actor: 'staff:employee-7' });
    expect(r).toMatchObject({ appended: true, version: before.version + 1 });
    const after = (await chargePriceVersions(store, chargeId)).pop()!;
    expect(after.correction).toEqual({ reason: 'Energinet letter of 2025-12-20', actor: 'staff:employee-7' });
    expect(after.rows.find((x) => x.validFrom === '2026-01-01')).toEqual({ ...row, manual: { reason: 'Energinet letter of 2025-12-20', actor: 'staff:employee-7', replaced: Array<string>(24).fill('0.072') } });
    expect(after.rows.find((x) => x.validFrom === '2025-01-01')).toEqual(before.rows.find((x) => x.validFrom === '2025-01-01'));
    const again = await ingestCharges({ store, eds }, { from: '2025-01-01', to: '2027-01-01', filter: { ChargeTypeCode: ['41000'] } }, ctx());
    expect(again.charges).toEqual([expect.objectContaining({ chargeId, outcome: 'unchanged', version: after.version })]);
  });

  it('refuses corrections without a reason, of unknown intervals or of days never published, naming the field', async () => {
    const refused = (payload: unknown) => correctSpotPrices({ store }, payload, ctx()).catch((e: unknown) => e);
    expect(await refused({ priceArea: 'DK2', deliveryDate: '2026-06-01', prices: [{ start: '2026-06-01T10:00:00Z', dkkPerMwh: '1' }] })).toMatchObject({ field: 'reason' });
    expect(await refused({ priceArea: 'DK2', deliveryDate: '2026-06-01', prices: [{ start: '2026-06-01T10:07:00Z', dkkPerMwh: '1' }], reason: 'x' })).toMatchObject({ field: 'prices' });
    expect(await refused({ priceArea: 'DK2', deliveryDate: '2031-01-01', prices: [{ start: '2031-01-01T10:00:00Z', dkkPerMwh: '1' }], reason: 'x' })).toMatchObject({ field: 'deliveryDate' });
    expect(await refused({ priceArea: 'DK2', deliveryDate: '2026-06-01', prices: [{ start: '2026-06-01T10:00:00Z', dkkPerMwh: 1 }], reason: 'x' })).toBeInstanceOf(InvalidRatesCommandError);
    const badRow = await correctChargePrices({ store }, { chargeId: '5790000432752:D03:41000', rows: [{ validFrom: '2026-01-01', validTo: null, resolution: 'PT1H', prices: ['1'] }], reason: 'x' }, ctx()).catch((e: unknown) => e);
    expect(badRow).toMatchObject({ field: 'rows[0].prices' });
  });

  it('keeps every product change as a version: billing frequencies, end of sale, and a return to an earlier price', async () => {
    const v = (margin: string) => ({ productId: 'green', name: 'Green', marginDkkPerKwh: margin, monthlySubscriptionDkk: '19', validFrom: '2026-01-01', billingFrequencies: ['quarterly', 'monthly'], validTo: '2027-01-01' });
    expect((await defineProduct({ store }, v('0.05'), ctx())).appended).toBe(true);
    expect((await defineProduct({ store }, v('0.06'), ctx())).appended).toBe(true);
    expect((await defineProduct({ store }, v('0.05'), ctx())).appended).toBe(true);
    expect((await defineProduct({ store }, v('0.05'), ctx())).appended).toBe(false);
    const versions = (await store.readStream('product-green')).map((e) => e.data);
    expect(versions.map((d) => d['marginDkkPerKwh'])).toEqual(['0.05', '0.06', '0.05']);
    expect(versions[0]).toMatchObject({ billingFrequencies: ['monthly', 'quarterly'], validTo: '2027-01-01' });
    await expect(defineProduct({ store }, { ...v('0.05'), billingFrequencies: ['weekly'] }, ctx())).rejects.toMatchObject({ field: 'billingFrequencies' });
    await expect(defineProduct({ store }, { ...v('0.05'), validTo: '2025-12-31' }, ctx())).rejects.toMatchObject({ field: 'validTo' });
  });
});

describe('rates commands over the command bus', () => {
  let vhost: TestVhost;
  let serviceConnection: AmqpConnection;
  let clientConnection: AmqpConnection;
  let server: CommandServer;
  let client: CommandClient;

  beforeAll(async () => {
    vhost = await createTestVhost('rates_commands');
    serviceConnection = new AmqpConnection({ url: vhost.url, connectionName: 'rates', logger: silentMessagingLogger });
    clientConnection = new AmqpConnection({ url: vhost.url, connectionName: 'gateway', logger: silentMessagingLogger });
    server = new CommandServer({ connection: serviceConnection, logger: silentMessagingLogger });
    await server.handle(RATES_SERVICE, ratesCommandHandlers({ store, eds }));
    client = new CommandClient({ connection: clientConnection, logger: silentMessagingLogger, defaultTimeoutMs: 20_000 });
    await client.start();
  });

  afterAll(async () => {
    await client.close();
    await server.close();
    await clientConnection.close();
    await serviceConnection.close();
    await vhost.drop();
  });

  it('ingests spot prices and charges on IngestSpotPrices / IngestCharges', async () => {
    const spot = await client.send('rates', 'IngestSpotPrices', { priceArea: 'DK2', from: '2026-10-25', to: '2026-10-26' }, { actor: 'backoffice', correlationId: 'c-1' });
    expect(spot).toMatchObject({ priceArea: 'DK2', days: [{ deliveryDate: '2026-10-25', outcome: 'appended', version: 1, intervals: 100 }] });
    const [event] = await store.readStream('spot-prices-DK2-2026-10-25');
    expect(event!.metadata).toMatchObject({ actor: 'backoffice', correlationId: 'c-1', context: 'rates' });
    const charges = await client.send('rates', 'IngestCharges', { from: '2025-01-01', to: '2025-01-02', filter: { ChargeTypeCode: ['EA-001'] } });
    expect(charges).toMatchObject({ charges: [{ chargeId: '5790000432752:D03:EA-001' }] });
  });

  it('records products, electricity tax rates and grid areas as configuration events, once', async () => {
    const rates = [
      { validFrom: '2024-01-01', validTo: '2025-01-01', normalDkkPerKwh: '0.761', reducedDkkPerKwh: '0.008' },
      { validFrom: '2025-01-01', validTo: '2026-01-01', normalDkkPerKwh: '0.720', reducedDkkPerKwh: '0.008' },
      { validFrom: '2026-01-01', validTo: '2028-01-01', normalDkkPerKwh: '0.008', reducedDkkPerKwh: '0.008' },
    ];
    for (const rate of rates) expect(await client.send('rates', 'SetElectricityTaxRate', rate)).toEqual({ streamId: 'electricity-tax-rates', appended: true });
    expect(await client.send('rates', 'SetElectricityTaxRate', rates[1]!)).toEqual({ streamId: 'electricity-tax-rates', appended: false });
    const taxEvents = await store.readStream('electricity-tax-rates');
    expect(taxEvents.map((e) => [e.type, e.data])).toEqual(rates.map((r) => ['ElectricityTaxRateSet', r]));

    const product = { productId: 'spot-basic', name: 'Spot Basis', marginDkkPerKwh: '0.05', monthlySubscriptionDkk: '29', exportFeeDkkPerKwh: '0.01', validFrom: '2026-01-01' };
    expect(await client.send('rates', 'DefineProduct', product)).toEqual({ streamId: 'product-spot-basic', appended: true });
    expect(await client.send('rates', 'DefineProduct', product)).toEqual({ streamId: 'product-spot-basic', appended: false });
    const mapping = { gridArea: '131', priceArea: 'DK1', gridCompanyGln: '5790001089030', gridTariffChargeId: '5790001089030:D03:CD', gridSubscriptionChargeId: '5790001089030:D01:CD' };
    expect(await client.send('rates', 'MapGridArea', mapping)).toEqual({ streamId: 'grid-area-131', appended: true });
    const [mapped] = await store.readStream('grid-area-131');
    expect(mapped).toMatchObject({ type: 'GridAreaMapped', data: mapping, metadata: { context: 'rates' } });
    expect((await store.readStream('product-spot-basic'))[0]).toMatchObject({ type: 'ProductDefined', data: product });
  });

  it('replies with typed errors: invalid payloads name the field, malformed EDS data names the record', async () => {
    const invalid = await client.send('rates', 'DefineProduct', { productId: 'x', name: 'X', marginDkkPerKwh: 0.05, monthlySubscriptionDkk: '1', validFrom: '2026-01-01' }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(CommandRejectedError);
    expect(invalid).toMatchObject({ type: 'InvalidCommand', details: { field: 'marginDkkPerKwh' } });
    const badArea = await client.send('rates', 'IngestSpotPrices', { priceArea: 'DK3', from: '2026-01-01', to: '2026-01-02' }).catch((e: unknown) => e);
    expect(badArea).toMatchObject({ type: 'InvalidCommand', details: { field: 'priceArea' } });
    // The local day starts at 2025-01-31T23:00Z, so 05:00Z is record 6.
    sim.control.corruptRecord({ dataset: 'Elspotprices', match: { HourUTC: '2025-02-01T05:00:00', PriceArea: 'DK1' }, field: 'SpotPriceDKK', value: { raw: '12.1234567' } });
    try {
      const malformed = await client.send('rates', 'IngestSpotPrices', { priceArea: 'DK1', from: '2025-02-01', to: '2025-02-02' }).catch((e: unknown) => e);
      expect(malformed).toMatchObject({ type: 'MalformedEdsData', details: [{ dataset: 'Elspotprices', index: 6, field: 'SpotPriceDKK' }] });
    } finally {
      sim.control.clearCorruptions();
    }
  });
});
