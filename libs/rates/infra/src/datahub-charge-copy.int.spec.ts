import { Pool } from 'pg';
import { monthPeriod } from '@dh/dk-time';
import { createPostgresEventStore, type JsonObject, type PostgresEventStore } from '@dh/event-store';
import { toEnvelope, type EventEnvelope } from '@dh/messaging';
import { createTestDatabase, type TestDatabase } from '@dh/testing';
import { DataHubChargeCopy } from '@dh/rates-application';
import { chargeDataRejectionsStreamId, recordDataHubChargeMessage } from './index';

const GSRN = '571313180400000018';
const OTHER = '571313180400000025';
const N1 = '5790001089030';
const ENERGINET = '5790000432752';
const now = new Date('2026-10-01T06:00:00Z');

let sequence = 0;
/** An inbound event of the datahub context, as datahub-integration publishes it. */
function inbound(type: 'ChargeLinksReceived' | 'PriceListReceived', data: JsonObject): EventEnvelope {
  sequence++;
  return {
    eventId: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
    type,
    streamId: `datahub-document-doc-${sequence}`,
    streamRevision: '0',
    globalPosition: String(sequence),
    occurredAt: now.toISOString(),
    recordedAt: now.toISOString(),
    data: { documentId: `doc-${sequence}`, messageId: `m-${sequence}`, category: 'masterdata', receivedAt: now.toISOString(), recordId: 'r-1', ...data },
    metadata: { correlationId: `doc-${sequence}`, causationId: null, actor: 'datahub', schemaVersion: 1, context: 'datahub' },
  };
}

const link = (ownerGln: string, chargeType: string, chargeCode: string, effectiveDate: string, terminationDate: string | null = null, factor = '1') => ({ ownerGln, chargeType, chargeCode, factor, effectiveDate, terminationDate });
const information = (ownerGln: string, chargeType: string, chargeCode: string, priceResolution: string, taxIndicator = false) => ({
  processType: 'D18',
  ownerGln,
  chargeType,
  chargeCode,
  name: chargeCode,
  description: null,
  priceResolution,
  effectiveDate: '2026-01-01T00:00:00Z',
  terminationDate: null,
  vatPayer: 'D01',
  transparentInvoicing: false,
  taxIndicator,
  prices: null,
});
const prices = (ownerGln: string, chargeType: string, chargeCode: string, resolution: string, start: string, end: string, values: string[]) => ({
  processType: 'D08',
  ownerGln,
  chargeType,
  chargeCode,
  priceResolution: null,
  effectiveDate: start,
  terminationDate: null,
  prices: { resolution, start, end, points: values.map((price, i) => ({ position: i + 1, price })) },
});

describe(DataHubChargeCopy.name, () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: PostgresEventStore;
  const sut = new DataHubChargeCopy('charges_copy');
  const october = monthPeriod(2026, 10);

  /** Rates records every inbound message; the copy applies every rates event, twice (at-least-once delivery). */
  async function deliver(messages: EventEnvelope[]): Promise<void> {
    for (const m of messages) await recordDataHubChargeMessage(store, m, now);
    // Read by stream: the global log hides events behind any transaction still open in the cluster.
    const streams = await pool.query<{ stream_id: string }>(`SELECT DISTINCT stream_id FROM event_store.events WHERE metadata->>'context' = 'rates'`);
    const events = (await Promise.all(streams.rows.map((r) => store.readStream(r.stream_id)))).flat().map(toEnvelope);
    for (const round of [1, 2]) {
      for (const e of round === 1 ? events : [...events].reverse()) {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await sut.apply(e, client);
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      }
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase('rates_charge_copy');
    pool = new Pool({ connectionString: db.url });
    store = await createPostgresEventStore({ pool });
    await sut.migrate(pool);
    await deliver([
      inbound('ChargeLinksReceived', {
        processType: 'D17',
        gsrn: GSRN,
        links: [
          link(N1, 'D03', 'CD', '2026-01-01T00:00:00Z'),
          link(ENERGINET, 'D03', '40000', '2026-01-01T00:00:00Z'),
          link(N1, 'D01', 'ABON', '2026-01-01T00:00:00Z', null, '1'),
          link(N1, 'D02', 'GEBYR', '2026-10-14T22:00:00Z', '2026-10-15T22:00:00Z', '2'),
        ],
      }),
      inbound('ChargeLinksReceived', { processType: 'D17', gsrn: OTHER, links: [link(N1, 'D03', 'CD', '2026-01-01T00:00:00Z')] }),
      // The grid tariff C link stops mid-month and a B-low tariff starts.
      inbound('ChargeLinksReceived', { processType: 'D17', gsrn: GSRN, links: [link(N1, 'D03', 'CD', '2026-01-01T00:00:00Z', '2026-10-15T22:00:00Z'), link(N1, 'D03', 'BL', '2026-10-15T22:00:00Z')] }),
      inbound('PriceListReceived', information(N1, 'D03', 'CD', 'PT1H')),
      inbound('PriceListReceived', prices(N1, 'D03', 'CD', 'PT1H', '2026-01-01T00:00:00Z', '2100-01-01T00:00:00Z', Array.from({ length: 24 }, (_, h) => (h >= 17 && h < 21 ? '0.6' : '0.2')))),
      inbound('PriceListReceived', information(ENERGINET, 'D03', '40000', 'PT1H', false)),
      inbound('PriceListReceived', prices(ENERGINET, 'D03', '40000', 'PT1H', '2026-01-01T00:00:00Z', '2100-01-01T00:00:00Z', Array.from({ length: 24 }, () => '0.043'))),
      inbound('PriceListReceived', information(N1, 'D01', 'ABON', 'P1M')),
      inbound('PriceListReceived', prices(N1, 'D01', 'ABON', 'P1M', '2026-09-30T22:00:00Z', '2026-10-31T23:00:00Z', ['21.25'])),
      inbound('PriceListReceived', prices(N1, 'D02', 'GEBYR', 'P1M', '2026-09-30T22:00:00Z', '2026-10-31T23:00:00Z', ['150'])),
      // A correction of the grid tariff for one day: it wins for that day only.
      inbound('PriceListReceived', prices(N1, 'D03', 'CD', 'PT1H', '2026-10-09T22:00:00Z', '2026-10-10T22:00:00Z', Array.from({ length: 24 }, () => '0.3'))),
      // Data rates cannot use is kept with its reason.
      inbound('ChargeLinksReceived', { processType: 'D17', gsrn: '571313180400000019', links: [link(N1, 'D03', 'CD', '2026-01-01T00:00:00Z')] }),
    ]);
  });

  afterAll(async () => {
    await store.close();
    await pool.end();
    await db.drop();
  });

  it('gives a metering point its links in the period, clamped, with a link that ends and one that starts mid-month', async () => {
    const charges = await sut.chargesOfMeteringPoint(pool, GSRN, october);
    expect(charges.period).toEqual({ start: '2026-09-30T22:00:00.000Z', end: '2026-10-31T23:00:00.000Z' });
    expect(charges.links.map((l) => [l.chargeId, l.from, l.to, l.factor])).toEqual([
      [`${ENERGINET}:D03:40000`, '2026-09-30T22:00:00.000Z', '2026-10-31T23:00:00.000Z', '1'],
      [`${N1}:D01:ABON`, '2026-09-30T22:00:00.000Z', '2026-10-31T23:00:00.000Z', '1'],
      [`${N1}:D02:GEBYR`, '2026-10-14T22:00:00.000Z', '2026-10-15T22:00:00.000Z', '2'],
      [`${N1}:D03:BL`, '2026-10-15T22:00:00.000Z', '2026-10-31T23:00:00.000Z', '1'],
      [`${N1}:D03:CD`, '2026-09-30T22:00:00.000Z', '2026-10-15T22:00:00.000Z', '1'],
    ]);
  });

  it('gives every linked charge its prices in the period: 745 hours in October 2026, a corrected day, monthly prices', async () => {
    const { charges } = await sut.chargesOfMeteringPoint(pool, GSRN, october);
    const byId = new Map(charges.map((c) => [c.chargeId, c]));
    const tariff = byId.get(`${N1}:D03:CD`)!;
    expect(tariff.information).toEqual([expect.objectContaining({ resolution: 'PT1H', taxIndicator: false, from: '2026-09-30T22:00:00.000Z', to: '2026-10-31T23:00:00.000Z' })]);
    expect(tariff.prices).toHaveLength(745);
    expect(tariff.prices.find((p) => p.time === '2026-10-01T15:00:00.000Z')!.price).toBe('0.6');
    expect(tariff.prices.find((p) => p.time === '2026-10-10T15:00:00.000Z')!.price).toBe('0.3');
    expect(tariff.prices.find((p) => p.time === '2026-10-11T15:00:00.000Z')!.price).toBe('0.6');
    expect(byId.get(`${N1}:D01:ABON`)!.prices).toEqual([{ time: '2026-09-30T22:00:00.000Z', price: '21.25' }]);
    expect(byId.get(`${N1}:D02:GEBYR`)!.prices).toEqual([{ time: '2026-09-30T22:00:00.000Z', price: '150' }]);
    // DataHub sent nothing about the B-low tariff: the link is there, its prices are missing.
    expect(byId.get(`${N1}:D03:BL`)).toEqual({ chargeId: `${N1}:D03:BL`, owner: N1, chargeType: 'D03', code: 'BL', information: [], prices: [] });
  });

  it('reads links of many metering points at once', async () => {
    const links = await sut.linksOf(pool, [GSRN, OTHER, '571313180400000032'], october);
    expect([...links.keys()].sort()).toEqual([GSRN, OTHER]);
    expect(links.get(OTHER)!.map((l) => l.chargeId)).toEqual([`${N1}:D03:CD`]);
  });

  it('keeps what it cannot record with the field and the reason', async () => {
    const streams = await pool.query<{ stream_id: string }>(`SELECT DISTINCT stream_id FROM event_store.events WHERE type = 'ChargeDataRejected'`);
    const rejected = (await Promise.all(streams.rows.map((r) => store.readStream(r.stream_id)))).flat();
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.streamId).toBe(chargeDataRejectionsStreamId(String(rejected[0]!.data.documentId)));
    expect(rejected[0]!.data).toMatchObject({ inboundType: 'ChargeLinksReceived', field: 'gsrn' });
  });
});
